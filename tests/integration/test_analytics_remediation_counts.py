"""Remediation counters per unit and month of deadline: any arrival order, each event once, equal to a
recount of the rows and after a rebuild, and every remediation figure as the rows give it on any day."""
from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from services.analytics import rebuild
from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.analytics.domain import OVERDUE_LISTED
from services.analytics.remediation_counts import RECOUNT
from shared.consumer import Raw
from shared.events import CATALOGUE

VN = timezone(timedelta(hours=7))
ASSIGNED = date(2025, 6, 2)


def ev(event_type, tenant, data, when: date | None = None):
    event = CATALOGUE.new_event(event_type, tenant=tenant, source="/inspection-platform/test", data=data)
    return replace(event, time=datetime(when.year, when.month, when.day, 9, tzinfo=VN).isoformat()) if when else event


def apply(svc, events):
    """Run events through the live consumer's applier; returns the dead letters' reasons."""
    raws = [Raw(CATALOGUE.topic(e.type), 0, i, CATALOGUE.key(e).encode(), e.value(), e.headers()) for i, e in enumerate(events)]
    with svc.runtime.db.pool.connection() as conn:
        return [reason for _raw, reason in rebuild._applier(svc.runtime).process(conn, raws)]


def province(tenant: str) -> tuple[str, list, dict]:
    """A unit with six remediations through their lives: its id, the events, and the final facts
    (deadline, accepted_on) per remediation."""
    unit, insp = str(uuid.uuid4()), str(uuid.uuid4())
    events = [ev("unit.changed", tenant, {"unit_id": unit, "change": "created", "name": "Sở Tư pháp", "level": 2,
                                          "kind": "department", "parent_id": None, "valid_from": "2020-01-01",
                                          "valid_to": None, "successor_id": None})]
    facts = {}

    def rem(deadline: str, *, extended_to: str | None = None, accepted: str | None = None, returned=False, overdue=False):
        rid = str(uuid.uuid4())
        ids = {"remediation_id": rid, "inspection_id": insp, "unit_id": unit}
        events.append(ev("remediation.assigned", tenant, {**ids, "recommendation_id": str(uuid.uuid4()), "finding_id": None,
                                                           "kind": "correction", "text": "Chấn chỉnh", "deadline": deadline},
                         when=ASSIGNED))
        final = extended_to or deadline
        if extended_to:
            events.append(ev("remediation.extended", tenant, {**ids, "old_deadline": deadline, "new_deadline": extended_to,
                                                               "reason": "Chờ ý kiến Sở Tài chính"}))
        if returned:
            events.append(ev("remediation.verified", tenant, {**ids, "outcome": "returned", "note": "Chưa đạt",
                                                               "verified_at": "2025-07-01T09:00:00+07:00", "deadline": final}))
        if overdue:
            events.append(ev("remediation.overdue", tenant, {**ids, "deadline": final, "days_overdue": 1,
                                                              "detected_at": "2025-08-06T00:05:00+07:00"}))
        if accepted:
            events.append(ev("remediation.reported", tenant, {**ids, "report_id": str(uuid.uuid4()), "progress": "done",
                                                               "note": "Đã khắc phục", "evidence_count": 1,
                                                               "reported_at": f"{accepted}T08:00:00+07:00"}))
            events.append(ev("remediation.verified", tenant, {**ids, "outcome": "accepted", "note": "Đạt",
                                                               "verified_at": f"{accepted}T10:00:00+07:00", "deadline": final}))
        facts[rid] = (date.fromisoformat(final), date.fromisoformat(accepted) if accepted else None)

    rem("2025-07-21", extended_to="2025-08-21", accepted="2025-08-01")  # moved to August, then on time
    rem("2025-07-10", accepted="2025-07-25")                            # late
    rem("2025-08-05", returned=True, overdue=True)                      # open
    rem("2025-06-30", extended_to="2025-09-15")                         # moved from June to September, open
    rem("2025-07-01", extended_to="2025-08-10", accepted="2025-07-20")  # accepted before the old deadline passed too
    rem("2025-08-12", accepted="2025-08-12")                            # on the day: on time
    return unit, events, facts


EXPECTED = {date(2025, 7, 1): (1, 0, 1), date(2025, 8, 1): (4, 3, 0), date(2025, 9, 1): (1, 0, 0)}  # total, on_time, late


def counters(conn, tenant) -> dict:
    """Non-empty counters (an extension leaves its old month at zero) and the recount of the rows."""
    kept = {r["month"]: (r["total"], r["on_time"], r["late"]) for r in conn.execute(
        "SELECT month, total, on_time, late FROM remediation_counts WHERE tenant = %s AND total <> 0", [tenant])}
    recount = {r["month"]: (r["total"], r["on_time"], r["late"]) for r in conn.execute(
        f"SELECT * FROM ({RECOUNT}) c WHERE tenant = %s", [tenant])}
    assert kept == recount
    return kept


def test_counters_are_the_same_in_any_arrival_order_once_each_and_after_a_rebuild(service_harness, tenant):
    svc = service_harness(ANALYTICS)
    rng = random.Random(8)
    orders = {"as emitted": lambda e: e, "reversed": lambda e: e[:1] + e[:0:-1],
              "verifications first": lambda e: sorted(e, key=lambda x: x.type != "remediation.verified"),
              "shuffled": lambda e: rng.sample(e, len(e))}
    sent = {}
    for i, (name, order) in enumerate(orders.items()):
        t = f"{tenant}-{i}"
        _unit, events, _facts = province(t)
        sent[t] = events
        assert apply(svc, order(events)) == [], name
    with svc.runtime.db.tx("*") as conn:
        assert {t: counters(conn, t) for t in sent} == {t: EXPECTED for t in sent}

    # Each event again under a new event id (a producer retry), and another province naming one of
    # these remediations: nothing moves, the stranger is refused.
    first = next(iter(sent))
    again = [replace(e, id=str(uuid.uuid4())) for events in sent.values() for e in events]
    stranger = replace(next(e for e in sent[first] if e.type == "remediation.extended"), id=str(uuid.uuid4()),
                       tenant=tenant + "-khac")
    reasons = apply(svc, again + [stranger])
    assert len(reasons) == 1 and "another tenant" in reasons[0], reasons
    with svc.runtime.db.tx("*") as conn:
        assert {t: counters(conn, t) for t in sent} == {t: EXPECTED for t in sent}
        assert not conn.execute("SELECT 1 FROM remediation_counts WHERE tenant = %s", [tenant + "-khac"]).fetchone()

    # A rebuild empties the counters with the rows and replays (here every province shuffled together).
    rebuild.reset(svc.runtime)
    with svc.runtime.db.tx("*") as conn:
        assert not conn.execute("SELECT 1 FROM remediation_counts").fetchone()
    everything = [e for events in sent.values() for e in events]
    assert apply(svc, random.Random(3).sample(everything, len(everything))) == []
    with svc.runtime.db.tx("*") as conn:
        assert {t: counters(conn, t) for t in sent} == {t: EXPECTED for t in sent}


def expected(facts: dict, today: date, first: date, last: date) -> dict:
    """The remediation figures straight from the facts (deadlines in [first, last])."""
    due = on_time = open_ = overdue = oldest = max_over = 0
    for deadline, accepted in facts.values():
        if not first <= deadline <= last:
            continue
        if accepted is None:
            open_ += 1
            oldest = max(oldest, (today - ASSIGNED).days)
            if deadline < today:
                overdue += 1
                max_over = max(max_over, (today - deadline).days)
        if accepted is not None or deadline < today:
            due += 1
            on_time += int(accepted is not None and accepted <= deadline)
    return {"due": due, "on_time": on_time, "open": open_, "overdue": overdue, "oldest_open_days": oldest,
            "max_days_overdue": max_over}


def test_every_remediation_figure_on_any_day_and_period(service_harness, tenant):
    """Overdue is counted from the counters for past months and exactly in the month of the day asked."""
    svc = service_harness(ANALYTICS)
    tenants = [f"{tenant}-a", f"{tenant}-b"]
    built = {t: province(t) for t in tenants}
    assert apply(svc, [e for _u, events, _f in built.values() for e in events]) == []
    central = svc.auth("*", "central_viewer")
    days = [date(2025, 7, 1), date(2025, 8, 5), date(2025, 8, 6), date(2025, 8, 21), date(2025, 8, 22), date(2025, 9, 15),
            date(2025, 9, 16), date(2025, 12, 31), date(2026, 2, 1), date(2025, 1, 1)]
    for today in days:
        for months in ((1, 12), (8, 8), (7, 8), (9, 12)):
            params = {"year": 2025, "month_from": months[0], "month_to": months[1], "today": today.isoformat()}
            first = date(2025, months[0], 1)
            last = (date(2025, months[1], 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            t = tenants[0]
            unit, _events, facts = built[t]
            want = expected(facts, today, first, last)
            h = svc.auth(t, "viewer")
            rem = svc.client.get("/v1/dashboards/remediation", params=params, headers=h).json()
            if want["due"] or want["open"]:
                [row] = rem["rows"]
                assert {k: row[k] for k in want} == want, (today, months)
                overdue = sorted((d, rid) for rid, (d, a) in facts.items() if a is None and d < today and first <= d <= last)
                assert row["overdue_items"] == [{"remediation_id": rid, "deadline": d.isoformat(), "days_overdue": (today - d).days}
                                                for d, rid in overdue][:OVERDUE_LISTED]
                assert row["overdue"] == len(overdue) and row["details"] == f"/v1/scorecards/{unit}"
                card = svc.client.get(row["details"], params=params, headers=h).json()
                assert card["facts"]["overdue_remediation_ids"] == [rid for _d, rid in overdue]  # the whole list
            else:
                assert rem["rows"] == [], (today, months)
            assert {k: rem["totals"][k] for k in want} == want
            card = next(r for r in svc.client.get("/v1/dashboards/scorecards", params=params, headers=h).json()["rows"]
                        if r["unit_id"] == unit)
            assert (card["remediations_due"], card["remediations_on_time"], card["remediations_overdue"]) == \
                (want["due"], want["on_time"], want["overdue"]), (today, months)
            risk = {r["unit_id"]: r for r in svc.client.get("/v1/dashboards/risk", params=params, headers=h).json()["rows"]}
            assert risk.get(unit, {"overdue_remediations": 0})["overdue_remediations"] == want["overdue"]
            yoy = {r["metric"]: r["this_period"] for r in
                   svc.client.get("/v1/dashboards/year-over-year", params=params, headers=h).json()["rows"]}
            assert (yoy["remediations_due"], yoy["remediations_overdue"]) == (want["due"], want["overdue"])
            side = svc.client.get("/v1/dashboards/provinces", params=params, headers=central).json()
            for row in side["rows"]:
                assert (row["remediations_due"], row["remediations_overdue"]) == (want["due"], want["overdue"])
                assert row["remediation_on_time_rate"] == (round(want["on_time"] / want["due"], 4) if want["due"] else None)
            assert sorted(r["tenant"] for r in side["rows"]) == tenants


def test_each_row_lists_the_most_overdue_of_every_merged_unit_and_the_scorecard_all_of_them(service_harness, tenant):
    """Commune A merged into C: C's row counts the overdue of both and lists the most overdue of both."""
    svc = service_harness(ANALYTICS)
    a, c, insp = (str(uuid.uuid4()) for _ in range(3))
    events = [ev("unit.changed", tenant, {"unit_id": u, "change": "created", "name": name, "level": 2, "kind": "commune",
                                          "parent_id": None, "valid_from": "2020-01-01", "valid_to": valid_to, "successor_id": succ})
              for u, name, valid_to, succ in ((a, "Xã A", "2025-06-30", c), (c, "Xã C", None, None))]
    deadlines = {}
    for i in range(OVERDUE_LISTED + 8):
        rid, unit = str(uuid.uuid4()), (a, c)[i % 2]
        deadline = date(2025, 3, 1) + timedelta(days=(i * 7) % 90)  # ties on some days: then by id
        deadlines[rid] = (deadline, unit)
        events.append(ev("remediation.assigned", tenant, {
            "remediation_id": rid, "inspection_id": insp, "unit_id": unit, "recommendation_id": str(uuid.uuid4()),
            "finding_id": None, "kind": "correction", "text": "Chấn chỉnh", "deadline": deadline.isoformat()}, when=ASSIGNED))
    assert apply(svc, events) == []
    today = date(2025, 12, 31)
    params = {"year": 2025, "today": today.isoformat()}
    h = svc.auth(tenant, "viewer")
    [row] = svc.client.get("/v1/dashboards/remediation", params=params, headers=h).json()["rows"]
    every = sorted((d, rid) for rid, (d, _u) in deadlines.items())
    assert row["unit_id"] == c and row["overdue"] == row["open"] == len(every)
    assert row["max_days_overdue"] == (today - every[0][0]).days
    assert [(o["deadline"], o["remediation_id"]) for o in row["overdue_items"]] == [
        (d.isoformat(), rid) for d, rid in every[:OVERDUE_LISTED]]
    card = svc.client.get(row["details"], params=params, headers=h).json()
    assert card["facts"]["overdue_remediation_ids"] == [rid for _d, rid in every]
    # As of a date before the merge each commune has its own row, its own list.
    rows = svc.client.get("/v1/dashboards/remediation", params={**params, "as_of": "2025-06-01"}, headers=h).json()["rows"]
    assert {r["unit_id"]: [o["remediation_id"] for o in r["overdue_items"]] for r in rows} == {
        u: [rid for _d, rid in sorted((d, rid) for rid, (d, owner) in deadlines.items() if owner == u)] for u in (a, c)}
