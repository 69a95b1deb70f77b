"""The read-model handlers against PostgreSQL, without a broker: any arrival order, each fact once, tenants apart."""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

from services.analytics import rebuild
from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.analytics.readmodel import READ_MODEL_TABLES
from shared.consumer import Raw
from shared.events import CATALOGUE


def ev(event_type, tenant, data):
    return CATALOGUE.new_event(event_type, tenant=tenant, source="/inspection-platform/test", data=data)


def apply(svc, events):
    """Run events through the live consumer's applier; returns the dead letters' reasons."""
    raws = [Raw(CATALOGUE.topic(e.type), 0, i, CATALOGUE.key(e).encode(), e.value(), e.headers()) for i, e in enumerate(events)]
    with svc.runtime.db.pool.connection() as conn:
        return [reason for _raw, reason in rebuild._applier(svc.runtime).process(conn, raws)]


def test_handlers_take_events_in_any_order_once_and_refuse_other_tenants(service_harness, tenant):
    svc = service_harness(ANALYTICS)
    other = tenant + "-khac"
    unit, plan, insp, rem, fid = (str(uuid.uuid4()) for _ in range(5))
    violation = ev("violation.recorded", tenant, {
        "finding_id": fid, "inspection_id": insp, "unit_id": unit, "plan_id": plan, "criterion_code": "RUOU",
        "severity": "serious", "description": "Uống rượu trong giờ nghỉ trưa", "officials_count": 1,
        "recorded_by": "Đặng Văn Lâm", "recorded_at": "2025-05-20T10:00:00+07:00"})
    concluded = ev("inspection.concluded", tenant, {
        "inspection_id": insp, "unit_id": unit, "plan_id": plan, "document": {"kind": "notice", "number": "12/TB-SNV", "date": "2025-05-22"},
        "findings_count": 1, "recommendations": [], "concluded_at": "2025-05-22T15:00:00+07:00"})
    scheduled = ev("inspection.scheduled", tenant, {
        "inspection_id": insp, "plan_id": plan, "plan_version": 1, "year": 2025, "unit_id": unit, "window_start": "2025-04-28",
        "window_end": "2025-05-30", "form": "on_site", "team_id": None})
    verified = ev("remediation.verified", tenant, {
        "remediation_id": rem, "inspection_id": insp, "unit_id": unit, "outcome": "accepted", "note": "Đạt",
        "verified_at": "2025-08-01T09:00:00+07:00", "deadline": "2025-08-21"})
    extended = ev("remediation.extended", tenant, {
        "remediation_id": rem, "inspection_id": insp, "unit_id": unit, "old_deadline": "2025-07-21", "new_deadline": "2025-08-21",
        "reason": "Chờ ý kiến Sở Tư pháp"})
    assigned = ev("remediation.assigned", tenant, {
        "remediation_id": rem, "inspection_id": insp, "unit_id": unit, "recommendation_id": str(uuid.uuid4()), "finding_id": fid,
        "kind": "correction", "text": "Chấn chỉnh kỷ luật", "deadline": "2025-07-21"})
    unit_created = ev("unit.changed", tenant, {
        "unit_id": unit, "change": "created", "name": "Phường Thới Sơn", "level": 3, "kind": "commune", "parent_id": None,
        "valid_from": "2025-07-01", "valid_to": None, "successor_id": None})
    # Everything before the unit and the schedule; the finding re-sent under a new event id.
    resent = replace(violation, id=str(uuid.uuid4()))
    assert apply(svc, [violation, concluded, verified, extended, resent, assigned, scheduled, unit_created]) == []
    with svc.runtime.db.tx(tenant) as conn:
        counts = conn.execute("SELECT month, planned, done FROM inspection_counts WHERE tenant = %s ORDER BY month", [tenant]).fetchall()
        assert [(r["month"], r["planned"], r["done"]) for r in counts] == [(date(2025, 4, 1), 1, 0), (date(2025, 5, 1), 0, 1)]
        assert conn.execute("SELECT n FROM violation_counts WHERE tenant = %s", [tenant]).fetchone()["n"] == 1
        r = conn.execute("SELECT deadline, accepted_on, kind FROM remediations WHERE remediation_id = %s", [rem]).fetchone()
        assert (r["deadline"], r["accepted_on"], r["kind"]) == (date(2025, 8, 21), date(2025, 8, 1), "correction")
    # A cancellation after the fact moves the planned count out again.
    cancelled = ev("inspection.cancelled", tenant, {"inspection_id": insp, "plan_id": plan, "plan_version": 2, "reason": "Trùng lịch"})
    assert apply(svc, [cancelled]) == []
    with svc.runtime.db.tx(tenant) as conn:
        assert conn.execute("SELECT sum(planned) AS n FROM inspection_counts WHERE tenant = %s", [tenant]).fetchone()["n"] == 0

    # Another province naming this province's unit, inspection or finding is refused.
    foreign = [
        ev("violation.recorded", other, {**violation.data, "finding_id": str(uuid.uuid4())}),
        ev("inspection.started", other, {"inspection_id": insp, "unit_id": str(uuid.uuid4()), "plan_id": None, "form": "surprise",
                                         "surprise": True, "started_at": "2025-06-01T08:00:00+07:00"}),
        ev("violation.recorded", other, {**violation.data, "unit_id": str(uuid.uuid4()), "inspection_id": str(uuid.uuid4())}),
        ev("remediation.reported", other, {"remediation_id": rem, "inspection_id": insp, "unit_id": str(uuid.uuid4()),
                                           "report_id": str(uuid.uuid4()), "progress": "done", "note": "x", "evidence_count": 0,
                                           "reported_at": "2025-06-01T08:00:00+07:00"}),
    ]
    reasons = apply(svc, foreign)
    with svc.runtime.db.tx("*") as conn:  # read models are derived: no audit trail rows for them
        audited = conn.execute("SELECT tgrelid::regclass::text AS t FROM pg_trigger WHERE tgname = 'audit_row'").fetchall()
        assert not {r["t"] for r in audited} & set(READ_MODEL_TABLES)
    assert len(reasons) == 4 and all("another tenant" in r for r in reasons), reasons
    with svc.runtime.db.tx("*") as conn:
        assert conn.execute("SELECT count(*) AS n FROM violation_counts WHERE tenant = %s", [other]).fetchone()["n"] == 0


def test_the_tree_of_a_past_date_keeps_districts_that_ended_on_1_july_2025(service_harness, tenant):
    svc = service_harness(ANALYTICS)
    province, district, commune = (str(uuid.uuid4()) for _ in range(3))

    def unit(unit_id, name, level, kind, parent, **kw):
        return ev("unit.changed", tenant, {"unit_id": unit_id, "change": kw.pop("change", "created"), "name": name, "level": level,
                                           "kind": kind, "parent_id": parent, "valid_from": "2020-01-01", "valid_to": None,
                                           "successor_id": None, **kw})
    events = [
        unit(province, "Tỉnh Vĩnh Long", 1, "province", None),
        unit(district, "Huyện Long Hồ", 2, "district", province),
        unit(commune, "Xã Long Phước", 3, "commune", district),
        unit(district, "Huyện Long Hồ", 2, "district", province, change="dissolved", valid_to="2025-06-30",
             effective_from="2025-07-01"),
        unit(commune, "Xã Long Phước", 3, "commune", province, change="moved", effective_from="2025-07-01"),
        ev("violation.recorded", tenant, {"finding_id": str(uuid.uuid4()), "inspection_id": str(uuid.uuid4()), "unit_id": commune,
                                          "plan_id": None, "criterion_code": "TTHC", "severity": "minor",
                                          "description": "Hồ sơ đất đai trễ hẹn", "officials_count": 0,
                                          "recorded_by": "Võ Minh Tâm", "recorded_at": "2025-03-03T09:00:00+07:00"}),
    ]
    assert apply(svc, events) == []
    h = svc.auth(tenant, "viewer")
    ask = {"year": 2025, "group_by": "unit", "rollup": 2}
    then = svc.client.get("/v1/dashboards/violations", params={**ask, "as_of": "2025-05-01"}, headers=h).json()
    assert [(r["label"], r["violations"]) for r in then["rows"]] == [("Huyện Long Hồ", 1)]
    now = svc.client.get("/v1/dashboards/violations", params=ask, headers=h).json()
    assert [(r["label"], r["violations"]) for r in now["rows"]] == [("Xã Long Phước", 1)]  # no district level any more
    to_province = svc.client.get("/v1/dashboards/violations", params={**ask, "rollup": 1}, headers=h).json()
    assert [(r["label"], r["violations"]) for r in to_province["rows"]] == [("Tỉnh Vĩnh Long", 1)]


def test_a_set_of_findings_is_applied_at_once_each_once_and_a_foreign_one_alone_goes_to_dead_letters(service_harness, tenant):
    """violation.recorded and dossier.checked are set-based: a run of them is one statement per tenant."""
    svc = service_harness(ANALYTICS)
    other = tenant + "-khac"
    units = {tenant: str(uuid.uuid4()), other: str(uuid.uuid4())}
    insp = str(uuid.uuid4())

    def finding(t, fid=None, day=20, severity="minor"):
        return ev("violation.recorded", t, {
            "finding_id": fid or str(uuid.uuid4()), "inspection_id": insp, "unit_id": units[t], "plan_id": None,
            "criterion_code": "DI_MUON", "severity": severity, "description": "Đi muộn 15 phút", "officials_count": 1,
            "recorded_by": "Trần Thị Hà", "recorded_at": f"2025-05-{day:02d}T10:00:00+07:00"})

    def check(t, late):
        return ev("dossier.checked", t, {
            "check_id": str(uuid.uuid4()), "inspection_id": insp, "unit_id": units[t], "dossier_code": "H12.34",
            "field": "Hộ tịch", "received_on": "2025-06-02", "due_on": "2025-06-05", "resolved_on": "2025-06-09", "sample_seed": "7",
            "days_late": 2 if late else 0, "late": late})

    mine = [finding(tenant, day=1 + i % 28) for i in range(40)] + [finding(tenant, day=31, severity="serious")]
    theirs = [finding(other) for _ in range(5)]
    batch = mine[:20] + theirs + mine[20:]
    batch.insert(10, mine[3])  # the same event twice in one batch
    batch.insert(30, replace(mine[4], id=str(uuid.uuid4())))  # the same finding re-sent under a new event id
    batch += [check(tenant, late=i % 3 == 0) for i in range(9)]
    assert apply(svc, batch) == []
    with svc.runtime.db.tx("*") as conn:
        counts = {(r["tenant"], r["severity"]): r["n"] for r in conn.execute(
            "SELECT tenant, severity, sum(n)::int AS n FROM violation_counts GROUP BY 1, 2")}
        assert counts == {(tenant, "minor"): 40, (tenant, "serious"): 1, (other, "minor"): 5}
        assert conn.execute("SELECT count(*) AS n FROM findings").fetchone()["n"] == 46
        d = conn.execute("SELECT checked, late, days_late_sum FROM dossier_counts WHERE tenant = %s", [tenant]).fetchone()
        assert (d["checked"], d["late"], d["days_late_sum"]) == (9, 3, 6)
    # The same batch again changes nothing.
    assert apply(svc, batch) == []
    with svc.runtime.db.tx("*") as conn:
        assert conn.execute("SELECT sum(n)::int AS n FROM violation_counts").fetchone()["n"] == 46

    # A finding naming another province's finding id, amid good ones: it alone is refused.
    stolen = replace(mine[0], id=str(uuid.uuid4()), tenant=other)
    fresh = [finding(tenant) for _ in range(6)]
    reasons = apply(svc, fresh[:3] + [stolen] + fresh[3:])
    assert len(reasons) == 1 and "another tenant" in reasons[0], reasons
    with svc.runtime.db.tx("*") as conn:
        assert conn.execute("SELECT sum(n)::int AS n FROM violation_counts WHERE tenant = %s", [tenant]).fetchone()["n"] == 47
        assert conn.execute("SELECT sum(n)::int AS n FROM violation_counts WHERE tenant = %s", [other]).fetchone()["n"] == 5
