"""Routing, reminder schedule, escalation chain and backoff of the notifications service (pure)."""
from __future__ import annotations

from datetime import date

import pytest

from services.notifications import domain
from services.notifications.domain import Directory, Person, Subscription
from shared.errors import Invalid

HEAD = Person("Nguyễn Văn Hùng", "chu.tich.xa@longhuu.vn", "u-head")
OFFICE = Person("Văn phòng UBND xã", "vanphong@longhuu.vn", None)
LEADER = Person("Trần Thị Mai", "mai.tt@snv.vinhlong.gov.vn", "u-leader")
SNV = Person("Sở Nội vụ tỉnh Vĩnh Long", "snv@vinhlong.gov.vn", None)
CHAIR = Person("Lê Quang Đạo", "chutich@vinhlong.gov.vn", "u-chair")


def directory(**kw) -> Directory:
    base = dict(unit_head=HEAD, unit_office=OFFICE, team_leader=LEADER, home_affairs=SNV, chairman=CHAIR,
                webhooks=[Subscription("w1", "https://qlvb.vinhlong.gov.vn/hook", ("remediation.overdue",)),
                          Subscription("w2", "https://csdl.example.vn/hook", ("violation.recorded",))])
    base.update(kw)
    return Directory(**base)


def addresses(recipients) -> set[tuple[str, str]]:
    return {(r.channel, r.address) for r in recipients}


def test_every_domain_event_has_a_default_rule():
    for event_type in domain.ROUTED_EVENTS:
        assert event_type in domain.DEFAULT_RULES
    assert domain.validate_rules(domain.DEFAULT_RULES) == domain.DEFAULT_RULES


def test_remediation_assigned_goes_to_the_unit_head_and_office_and_subscribers():
    d = directory(webhooks=[Subscription("w3", "https://x.vn/h", ("*",))])
    got = domain.route("remediation.assigned", {}, domain.DEFAULT_RULES, d)
    assert addresses(got) == {("email", HEAD.email), ("inapp", "u-head"), ("email", OFFICE.email),
                              ("webhook", "https://x.vn/h")}


def test_webhooks_receive_only_the_event_types_they_subscribed():
    got = domain.route("violation.recorded", {}, domain.DEFAULT_RULES, directory())
    assert addresses(got) == {("inapp", "u-leader"), ("webhook", "https://csdl.example.vn/hook")}


def test_overdue_expands_escalation_roles_of_the_due_step():
    step0 = domain.route("remediation.overdue", {}, domain.DEFAULT_RULES, directory(), ["unit_head"])
    assert ("email", HEAD.email) in addresses(step0) and ("email", CHAIR.email) not in addresses(step0)
    step2 = domain.route("remediation.overdue", {}, domain.DEFAULT_RULES, directory(), ["chairman"])
    assert ("email", CHAIR.email) in addresses(step2) and ("inapp", "u-chair") in addresses(step2)
    assert ("email", HEAD.email) not in addresses(step2)


def test_people_without_an_address_for_a_channel_are_skipped():
    got = domain.route("plan.approved", {}, domain.DEFAULT_RULES, directory(webhooks=[]))
    # Sở Nội vụ has an e-mail but no user id: no in-app message, no error.
    assert addresses(got) == {("email", SNV.email)}
    assert domain.route("plan.approved", {}, domain.DEFAULT_RULES, directory(home_affairs=None, webhooks=[])) == []


def test_a_surprise_inspection_is_announced_to_nobody_before_it_starts():
    assert domain.route("inspection.scheduled", {"form": "surprise"}, domain.DEFAULT_RULES, directory()) == []
    assert domain.route("inspection.scheduled", {"form": "on_site"}, domain.DEFAULT_RULES, directory())


def test_same_person_in_two_roles_gets_one_message_per_channel():
    d = directory(unit_office=HEAD, webhooks=[])
    got = domain.route("remediation.assigned", {}, domain.DEFAULT_RULES, d)
    assert sorted((r.channel, r.address) for r in got) == [("email", HEAD.email), ("inapp", "u-head")]


def test_tenant_rules_override_defaults_per_event_only():
    rules = domain.effective_rules(domain.validate_rules({"violation.recorded": [
        {"role": "home_affairs", "channels": ["email"]}]}))
    assert rules["violation.recorded"] == [{"role": "home_affairs", "channels": ["email"]}]
    assert rules["remediation.overdue"] == domain.DEFAULT_RULES["remediation.overdue"]


@pytest.mark.parametrize("rules, field", [
    ({"no.such": []}, "body.rules.no.such"),
    ({"plan.approved": [{"role": "mayor", "channels": ["email"]}]}, "body.rules.plan.approved.0.role"),
    ({"plan.approved": [{"role": "unit_head", "channels": ["sms"]}]}, "body.rules.plan.approved.0.channels"),
    ({"plan.approved": [{"role": "unit_head", "channels": ["webhook"]}]}, "body.rules.plan.approved.0.channels"),
    ({"plan.approved": [{"role": "webhooks", "channels": ["email"]}]}, "body.rules.plan.approved.0.channels"),
    ({"remediation.reminder": [{"role": "webhooks", "channels": ["webhook"]}]}, "body.rules.remediation.reminder.0.role"),
])
def test_invalid_rules_name_the_field(rules, field):
    with pytest.raises(Invalid) as err:
        domain.validate_rules(rules)
    assert err.value.field == field


def test_reminders_7_3_1_days_before_and_none_in_the_past():
    deadline = date(2026, 6, 30)
    assert domain.reminder_schedule(deadline, [1, 7, 3], date(2026, 6, 1)) == [
        (7, date(2026, 6, 23)), (3, date(2026, 6, 27)), (1, date(2026, 6, 29))]
    # Assigned four days before the deadline: the 7-day reminder is not sent late.
    assert domain.reminder_schedule(deadline, [7, 3, 1], date(2026, 6, 26)) == [(3, date(2026, 6, 27)), (1, date(2026, 6, 29))]


def test_reminder_and_escalation_ids_are_stable_per_remediation_deadline_and_offset():
    a = domain.reminder_source_id("vinh-long", "r1", date(2026, 6, 30), 3)
    assert a == domain.reminder_source_id("vinh-long", "r1", date(2026, 6, 30), 3)
    assert a != domain.reminder_source_id("vinh-long", "r1", date(2026, 7, 31), 3)
    assert a != domain.reminder_source_id("vinh-long", "r1", date(2026, 6, 30), 1)
    assert domain.escalation_source_id("t", "r1", date(2026, 6, 30), 0) != domain.escalation_source_id("t", "r1", date(2026, 6, 30), 1)


def test_escalation_chain_unit_head_then_home_affairs_then_chairman():
    chain = domain.default_escalation([0, 7, 14])
    assert domain.escalation_schedule(date(2026, 6, 30), chain) == [
        (0, date(2026, 6, 30), ["unit_head"]), (1, date(2026, 7, 7), ["home_affairs"]), (2, date(2026, 7, 14), ["chairman"])]


def test_escalation_and_offsets_validation():
    with pytest.raises(Invalid) as err:
        domain.validate_escalation([{"after_days": 3, "roles": ["unit_head"]}, {"after_days": 3, "roles": ["chairman"]}], "body.escalation")
    assert err.value.field == "body.escalation.1.after_days"
    with pytest.raises(Invalid):
        domain.validate_escalation([{"after_days": 0, "roles": ["webhooks"]}], "body.escalation")
    assert domain.validate_offsets([1, 14, 3], "x") == [14, 3, 1]
    with pytest.raises(Invalid):
        domain.validate_offsets([0], "x")


def test_idempotency_key_ignores_the_case_of_mail_addresses():
    assert domain.idempotency_key("e1", "email", "A@B.vn") == domain.idempotency_key("e1", "email", "a@b.vn")
    assert domain.idempotency_key("e1", "email", "a@b.vn") != domain.idempotency_key("e1", "inapp", "a@b.vn")


def test_backoff_doubles_and_is_capped():
    assert [domain.backoff_seconds(n, 30, 300) for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]
