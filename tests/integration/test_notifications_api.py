"""Notifications over HTTP and its event handlers on a real database (no broker, no workers: fast).

Events are applied through the real consumer (inbox + handlers, one transaction), fed directly.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.notifications.bootstrap import SERVICE
from shared.consumer import Raw
from shared.events import CATALOGUE

SNV_EMAIL = "vanphong@snv.vinhlong.gov.vn"


def new_id() -> str:
    return str(uuid.uuid4())


def event(event_type: str, tenant: str, data: dict):
    return CATALOGUE.new_event(event_type, tenant=tenant, source="/test/notifications", data=data)


def apply(svc, *events) -> None:
    """Run events through the service's real consumer (inbox, handlers) in one transaction."""
    consumer = SERVICE.consumer("main", svc.runtime)
    raws = [Raw(CATALOGUE.topic(e.type, svc.settings.topic_prefix), 0, i, e.value(), e.value(), e.headers())
            for i, e in enumerate(events)]
    with svc.runtime.db.pool.connection() as conn:
        dead = consumer.process(conn, raws)
    assert not dead, dead


def rows(svc, sql: str, params=()) -> list[dict]:
    with svc.runtime.db.tx("*") as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def svc(service_harness):
    return service_harness(SERVICE)


def unit_changed(unit_id: str, name: str, *, parent_id=None, level=2, head=None, office=None) -> dict:
    contacts = []
    if head:
        contacts.append({"role": "head", **head})
    if office:
        contacts.append({"role": "office", **office})
    return {"unit_id": unit_id, "change": "created", "name": name, "level": level, "kind": "commune" if level > 1 else "province",
            "parent_id": parent_id, "valid_from": "2025-07-01", "valid_to": None, "successor_id": None, "contacts": contacts}


# -- routing rules, settings, templates ---------------------------------------------------------------
def test_routing_rules_defaults_tenant_override_validation_and_versions(svc, tenant):
    admin = svc.auth(tenant, "province_admin")
    r = svc.client.get("/v1/routing-rules", headers=svc.auth(tenant, "viewer"))
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 0 and body["customised"] == []
    assert {"role": "escalation", "channels": ["email", "inapp"]} in body["rules"]["remediation.overdue"]

    new = {"rules": {"violation.recorded": [{"role": "home_affairs", "channels": ["email"]},
                                            {"role": "webhooks", "channels": ["webhook"]}]}}
    assert svc.client.put("/v1/routing-rules", json=new, headers=svc.auth(tenant, "planner")).status_code == 403
    r = svc.client.put("/v1/routing-rules", json=new, headers={**admin, "If-Match": '"0"'})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.headers["ETag"] == '"1"'
    assert r.json()["rules"]["violation.recorded"][0] == {"role": "home_affairs", "channels": ["email"]}
    assert r.json()["rules"]["plan.approved"][0]["role"] == "home_affairs"  # untouched default
    stale = svc.client.put("/v1/routing-rules", json=new, headers={**admin, "If-Match": '"0"'})
    assert stale.status_code == 412
    bad = svc.client.put("/v1/routing-rules", json={"rules": {"plan.approved": [{"role": "giám đốc", "channels": ["email"]}]}},
                         headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "body.rules.plan.approved.0.role"
    # Another province still has the defaults.
    other = svc.client.get("/v1/routing-rules", headers=svc.auth(f"{tenant}-khac", "viewer")).json()
    assert other["customised"] == []


def test_settings_home_affairs_reminders_and_escalation(svc, tenant):
    admin = svc.auth(tenant, "province_admin")
    got = svc.client.get("/v1/settings", headers=admin).json()
    assert got["reminder_days"] == [7, 3, 1]
    assert [s["roles"] for s in got["escalation"]] == [["unit_head"], ["home_affairs"], ["chairman"]]
    body = {"home_affairs": {"name": "Sở Nội vụ tỉnh Vĩnh Long", "email": SNV_EMAIL},
            "reminder_days": [1, 14, 3], "escalation": [{"after_days": 0, "roles": ["unit_head", "home_affairs"]},
                                                        {"after_days": 10, "roles": ["chairman"]}]}
    r = svc.client.put("/v1/settings", json=body, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["reminder_days"] == [14, 3, 1] and r.json()["home_affairs"]["name"] == "Sở Nội vụ tỉnh Vĩnh Long"
    bad = svc.client.put("/v1/settings", json={"escalation": [{"after_days": 0, "roles": ["webhooks"]}]}, headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "body.escalation.0.roles"
    assert svc.client.put("/v1/settings", json=body, headers={**admin, "If-Match": '"0"'}).status_code == 412


def test_templates_edit_preview_refuse_broken_and_reset(svc, tenant):
    admin = svc.auth(tenant, "province_admin")
    r = svc.client.get("/v1/templates/remediation.overdue/email", headers=admin)
    assert r.status_code == 200 and r.json()["customised"] is False
    assert "Quá hạn khắc phục" in r.json()["preview"]["subject"]
    source = ("{% block subject %}Khẩn: {{ unit_name }} quá hạn {{ data.days_overdue }} ngày{% endblock %}"
              "{% block text %}Kính gửi {{ recipient_name }}.{% endblock %}{% block html %}<b>Khẩn</b>{% endblock %}")
    r = svc.client.put("/v1/templates/remediation.overdue/email", json={"source": source}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["preview"]["subject"] == "Khẩn: UBND xã Long Hữu quá hạn 3 ngày"
    broken = svc.client.put("/v1/templates/remediation.overdue/email",
                            json={"source": "{% block subject %}{{ data.days_overdue }{% endblock %}"}, headers=admin)
    assert broken.status_code == 422 and broken.json()["field"] == "body.source"
    assert svc.client.get("/v1/templates/remediation.overdue/email", headers=admin).json()["source"] == source
    listing = svc.client.get("/v1/templates", headers=admin).json()["items"]
    assert {"event_type": "remediation.overdue", "channel": "email", "customised": True,
            "blocks": ["subject", "text", "html"]} in listing
    assert svc.client.get("/v1/templates/no.such/email", headers=admin).status_code == 404
    assert svc.client.get("/v1/templates/remediation.overdue/sms", headers=admin).status_code == 404
    assert svc.client.delete("/v1/templates/remediation.overdue/email", headers=admin).status_code == 204
    assert svc.client.get("/v1/templates/remediation.overdue/email", headers=admin).json()["customised"] is False


# -- webhooks -----------------------------------------------------------------------------------------
def test_webhook_subscriptions_are_per_tenant_and_per_owner(svc, tenant):
    sub_a = svc.auth(tenant, "event_subscriber", sub="qlvb-vinhlong", email="it@vinhlong.gov.vn")
    sub_b = svc.auth(tenant, "event_subscriber", sub="csdl-canbo")
    r = svc.client.post("/v1/webhooks", json={"url": "https://qlvb.vinhlong.gov.vn/hook",
                                              "event_types": ["remediation.overdue", "violation.recorded"],
                                              "description": "Hệ thống quản lý văn bản"}, headers=sub_a)
    assert r.status_code == 201, r.text
    hook = r.json()
    assert len(hook["secret"]) >= 32 and hook["owner_email"] == "it@vinhlong.gov.vn" and hook["active"]
    assert svc.client.get(f"/v1/webhooks/{hook['id']}", headers=sub_a).json().get("secret") is None
    # Creating it is audited, with its creator, but the audit trail never holds the signing secret.
    audited = rows(svc, "SELECT actor, after::text AS after FROM audit_log WHERE table_name = 'webhooks'")
    assert [a["actor"] for a in audited] == ["qlvb-vinhlong"] and "Hệ thống quản lý văn bản" in audited[0]["after"]
    assert rows(svc, "SELECT count(*) AS n FROM audit_log WHERE strpos(coalesce(after::text, ''), %s) > 0",
                [hook["secret"]])[0]["n"] == 0
    assert svc.client.get(f"/v1/webhooks/{hook['id']}", headers=sub_b).status_code == 404
    assert svc.client.get(f"/v1/webhooks/{hook['id']}", headers=svc.auth(f"{tenant}-x", "province_admin")).status_code == 404
    assert [h["id"] for h in svc.client.get("/v1/webhooks", headers=svc.auth(tenant, "province_admin")).json()["items"]] == [hook["id"]]
    assert svc.client.get("/v1/webhooks", headers=sub_b).json()["items"] == []
    assert svc.client.get("/v1/webhooks", headers=svc.auth(tenant, "viewer")).status_code == 403
    bad = svc.client.post("/v1/webhooks", json={"url": "https://x.vn", "event_types": ["remediation.reminder"]}, headers=sub_a)
    assert bad.status_code == 422 and bad.json()["field"] == "body.event_types.0"
    assert svc.client.post("/v1/webhooks", json={"url": "ftp://x.vn", "event_types": ["*"]}, headers=sub_a).status_code == 422
    log = svc.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=sub_a)
    assert log.status_code == 200 and log.json()["items"] == []
    assert svc.client.delete(f"/v1/webhooks/{hook['id']}", headers=sub_b).status_code == 404
    assert svc.client.delete(f"/v1/webhooks/{hook['id']}", headers=sub_a).status_code == 204
    assert svc.client.get(f"/v1/webhooks/{hook['id']}", headers=sub_a).status_code == 404
    assert svc.client.get("/v1/webhooks/khong-phai-uuid", headers=sub_a).status_code == 404


# -- handlers: local copies, deliveries, inbox, reminders ---------------------------------------------
def seed_unit(svc, tenant) -> dict:
    province, commune, team, inspection = new_id(), new_id(), new_id(), new_id()
    apply(svc,
          event("unit.changed", tenant, unit_changed(province, "UBND tỉnh Vĩnh Long", level=1,
                                                     head={"name": "Lê Văn Chủ Tịch", "email": "chutich@vinhlong.gov.vn",
                                                           "person_id": "u-chutich"})),
          event("unit.changed", tenant, unit_changed(commune, "UBND xã Long Hữu", parent_id=province,
                                                     head={"name": "Nguyễn Văn Hùng", "email": "hung@longhuu.vn",
                                                           "person_id": "u-hung"},
                                                     office={"name": "Văn phòng xã", "email": "vp@longhuu.vn"})),
          event("team.changed", tenant, {"team_id": team, "name": "Đoàn kiểm tra số 1", "lead_unit_id": province,
                                         "leader": {"person_id": "u-mai", "name": "Trần Thị Mai", "email": "mai@snv.vn"},
                                         "members": []}),
          event("inspection.started", tenant, {"inspection_id": inspection, "unit_id": commune, "plan_id": None,
                                               "team_id": team, "form": "on_site", "surprise": False,
                                               "started_at": "2026-04-06T08:00:00+07:00"}))
    return {"province": province, "commune": commune, "team": team, "inspection": inspection}


def test_assigned_remediation_writes_pending_mail_inbox_items_and_reminders_once(svc, tenant):
    ids = seed_unit(svc, tenant)
    remediation = new_id()
    deadline = (date.today() + timedelta(days=20)).isoformat()
    assigned = event("remediation.assigned", tenant, {
        "remediation_id": remediation, "inspection_id": ids["inspection"], "unit_id": ids["commune"],
        "recommendation_id": new_id(), "kind": "correction", "text": "Chấn chỉnh việc tiếp nhận hồ sơ trễ hẹn",
        "deadline": deadline})
    apply(svc, assigned)
    apply(svc, assigned)  # the same event again: the inbox skips it
    got = rows(svc, "SELECT channel, recipient, state, subject FROM deliveries WHERE source_id = %s ORDER BY channel, recipient",
               [assigned.id])
    assert [(r["channel"], r["recipient"], r["state"]) for r in got] == [
        ("email", "hung@longhuu.vn", "pending"), ("email", "vp@longhuu.vn", "pending"), ("inapp", "u-hung", "sent")]
    assert got[0]["subject"].startswith("Yêu cầu khắc phục: hạn ")
    listed = svc.client.get(f"/v1/deliveries?source_id={assigned.id}&state=pending", headers=svc.auth(tenant, "province_admin"))
    assert listed.status_code == 200, listed.text
    assert sorted(i["recipient"] for i in listed.json()["items"]) == ["hung@longhuu.vn", "vp@longhuu.vn"]
    assert svc.client.get("/v1/deliveries", headers=svc.auth(f"{tenant}-x", "province_admin")).json()["items"] == []
    assert svc.client.get("/v1/deliveries?state=lost", headers=svc.auth(tenant, "province_admin")).status_code == 422
    reminders = rows(svc, "SELECT seq, due_on FROM timers WHERE remediation_id = %s AND kind = 'reminder' ORDER BY seq DESC",
                     [remediation])
    assert [(r["seq"], r["due_on"]) for r in reminders] == [
        (d, date.fromisoformat(deadline) - timedelta(days=d)) for d in (7, 3, 1)]

    # The unit head reads the inbox; another user and another province see nothing.
    head = svc.auth(tenant, "unit_head", sub="u-hung", unit_id=ids["commune"])
    assert svc.client.get("/v1/inbox/unread-count", headers=head).json() == {"unread": 1}
    page = svc.client.get("/v1/inbox", headers=head).json()
    assert page["total"] == 1 and "Chấn chỉnh việc tiếp nhận hồ sơ trễ hẹn" in page["items"][0]["body"]
    item = page["items"][0]["id"]
    assert svc.client.post(f"/v1/inbox/{item}/read", headers=svc.auth(tenant, "viewer", sub="u-khac")).status_code == 404
    assert svc.client.post(f"/v1/inbox/{item}/read", headers=svc.auth(f"{tenant}-x", "unit_head", sub="u-hung")).status_code == 404
    r = svc.client.post(f"/v1/inbox/{item}/read", headers=head)
    assert r.status_code == 200 and r.json()["read_at"]
    assert svc.client.get("/v1/inbox/unread-count", headers=head).json() == {"unread": 0}
    assert svc.client.get("/v1/inbox?unread=true", headers=head).json()["items"] == []
    delivered = rows(svc, "SELECT payload FROM outbox WHERE type = 'notification.delivered' ORDER BY seq")
    # The team leader heard of the start in the inbox; the unit head of the remediation (once).
    assert [r["payload"]["recipient"] for r in delivered] == ["u-mai", "u-hung"]

    # Extended: reminders move to the new deadline; verified (accepted): they are cancelled.
    new_deadline = (date.today() + timedelta(days=40)).isoformat()
    apply(svc, event("remediation.extended", tenant, {
        "remediation_id": remediation, "inspection_id": ids["inspection"], "unit_id": ids["commune"],
        "old_deadline": deadline, "new_deadline": new_deadline, "reason": "Chờ ý kiến Sở Tư pháp"}))
    states = rows(svc, "SELECT deadline::text AS d, state, count(*) AS n FROM timers WHERE remediation_id = %s "
                       "GROUP BY 1, 2 ORDER BY 1", [remediation])
    assert [(r["d"], r["state"], r["n"]) for r in states] == [(deadline, "cancelled", 3), (new_deadline, "scheduled", 3)]
    apply(svc, event("remediation.verified", tenant, {
        "remediation_id": remediation, "inspection_id": ids["inspection"], "unit_id": ids["commune"],
        "outcome": "accepted", "note": "Đạt", "verified_at": "2026-05-01T09:00:00+07:00", "deadline": new_deadline}))
    assert rows(svc, "SELECT count(*) AS n FROM timers WHERE remediation_id = %s AND state = 'scheduled'",
                [remediation])[0]["n"] == 0


def test_surprise_schedule_is_silent_and_foreign_records_are_refused(svc, tenant):
    ids = seed_unit(svc, tenant)
    scheduled = event("inspection.scheduled", tenant, {
        "inspection_id": new_id(), "plan_id": new_id(), "plan_version": 1, "year": 2026, "unit_id": ids["commune"],
        "window_start": "2026-05-04", "window_end": "2026-05-08", "form": "surprise", "team_id": ids["team"]})
    apply(svc, scheduled)
    assert rows(svc, "SELECT count(*) AS n FROM deliveries WHERE source_id = %s", [scheduled.id])[0]["n"] == 0
    # Another province cannot overwrite this province's unit through its own event: dead-lettered.
    consumer = SERVICE.consumer("main", svc.runtime)
    foreign = event("unit.changed", f"{tenant}-khac", unit_changed(ids["commune"], "Tên giả mạo"))
    with svc.runtime.db.pool.connection() as conn:
        dead = consumer.process(conn, [Raw("t", 0, 99, b"", foreign.value(), foreign.headers())])
    assert len(dead) == 1
    assert rows(svc, "SELECT name FROM units WHERE unit_id = %s", [ids["commune"]])[0]["name"] == "UBND xã Long Hữu"


def test_reminders_fire_from_the_sweeper_once_and_only_the_nearest_after_a_gap(svc, tenant):
    from services.notifications.delivery import Deliverer
    from services.notifications.timers import today

    ids = seed_unit(svc, tenant)
    remediation = new_id()
    deadline = today(svc.runtime) + timedelta(days=10)
    apply(svc, event("remediation.assigned", tenant, {
        "remediation_id": remediation, "inspection_id": ids["inspection"], "unit_id": ids["commune"],
        "recommendation_id": new_id(), "kind": "reminder", "text": "Niêm yết công khai thủ tục hành chính",
        "deadline": deadline.isoformat()}))
    enqueued: list[str] = []
    sweeper = Deliverer(svc.runtime, lambda t, i, c: enqueued.append(i))
    real_clock = svc.runtime.clock
    reminders = lambda: rows(svc, "SELECT channel, recipient, subject FROM deliveries "  # noqa: E731
                                  "WHERE source_type = 'remediation.reminder' ORDER BY created_at, channel")

    assert sweeper.sweep()["timers"] == 0 and reminders() == []
    # The sweeper did not run for days: the 7- and 3-day reminders are both due; only the 3-day one goes out.
    svc.runtime.clock = lambda: real_clock() + timedelta(days=8)
    sweeper.sweep()
    sweeper.sweep()
    got = reminders()
    assert [(r["channel"], r["recipient"]) for r in got] == [("email", "hung@longhuu.vn"), ("inapp", "u-hung")]
    assert got[0]["subject"] == "Nhắc hạn khắc phục: còn 2 ngày"
    head = svc.auth(tenant, "unit_head", sub="u-hung")
    titles = [i["title"] for i in svc.client.get("/v1/inbox", headers=head).json()["items"]]
    assert titles.count("Nhắc hạn khắc phục: còn 2 ngày") == 1
    # Verified and accepted: the 1-day reminder never fires.
    apply(svc, event("remediation.verified", tenant, {
        "remediation_id": remediation, "inspection_id": ids["inspection"], "unit_id": ids["commune"],
        "outcome": "accepted", "note": "Đã niêm yết", "verified_at": "2026-05-01T09:00:00+07:00",
        "deadline": deadline.isoformat()}))
    svc.runtime.clock = lambda: real_clock() + timedelta(days=9)
    sweeper.sweep()
    assert len(reminders()) == 2
    assert set(enqueued) >= {r["id"] for r in rows(svc, "SELECT id::text AS id FROM deliveries WHERE state = 'pending'")}


def test_a_unit_head_without_a_person_id_reads_the_units_mailbox(svc, tenant):
    # The plans service often knows a head only by name and e-mail: in-app messages go to the unit's mailbox.
    province, commune, inspection = new_id(), new_id(), new_id()
    apply(svc,
          event("unit.changed", tenant, unit_changed(province, "UBND tỉnh Vĩnh Long", level=1)),
          event("unit.changed", tenant, unit_changed(commune, "UBND phường Phước Hậu", parent_id=province,
                                                     head={"name": "Phạm Quốc Hùng", "email": "hung@phuochau.vn"})),
          event("inspection.started", tenant, {"inspection_id": inspection, "unit_id": commune, "plan_id": None,
                                               "team_id": None, "form": "on_site", "surprise": False,
                                               "started_at": "2026-04-06T08:00:00+07:00"}),
          event("remediation.assigned", tenant, {
              "remediation_id": new_id(), "inspection_id": inspection, "unit_id": commune, "recommendation_id": new_id(),
              "kind": "correction", "text": "Chấn chỉnh giờ giấc làm việc", "deadline": "2026-05-29"}))
    head = svc.auth(tenant, "unit_head", unit_id=commune, sub="whoever-holds-the-post")
    assert svc.client.get("/v1/inbox/unread-count", headers=head).json() == {"unread": 1}
    item = svc.client.get("/v1/inbox", headers=head).json()["items"][0]
    assert "Chấn chỉnh giờ giấc làm việc" in item["body"] or "khắc phục" in item["title"].lower()
    # The head of another unit, and a viewer, do not read this mailbox.
    other = svc.auth(tenant, "unit_head", unit_id=new_id(), sub="someone-else")
    assert svc.client.get("/v1/inbox/unread-count", headers=other).json() == {"unread": 0}
    assert svc.client.post(f"/v1/inbox/{item['id']}/read", headers=other).status_code == 404
    assert svc.client.post(f"/v1/inbox/{item['id']}/read", headers=head).status_code == 200
    assert svc.client.get("/v1/inbox/unread-count", headers=head).json() == {"unread": 0}
