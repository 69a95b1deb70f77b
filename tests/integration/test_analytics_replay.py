"""A realistic year replayed through the broker into the analytics read models, every figure checked.

Three provinces, 2024 and 2025, a merge of two communes on 1 July 2025 in the first province. The
events are produced onto the topics as the other services' relays would, the figures are computed
again here from the generated data (plain Python, no analytics code), then a rebuild from the topics
must give the same answers.
"""
from __future__ import annotations

import csv as csvlib
import io
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone

from confluent_kafka import Producer
from openpyxl import load_workbook

from services.analytics.bootstrap import SERVICE as ANALYTICS
from shared.documents import docx_text
from shared.events import CATALOGUE
from shared.kafka import ensure_topics
from tests.support.waiting import wait_until

YEAR, TODAY = 2025, date(2025, 12, 31)
MERGE = date(2025, 7, 1)
VN = timezone(timedelta(hours=7))
CRITERIA = {"GIO": "Chấp hành giờ giấc làm việc", "RUOU": "Không uống rượu, bia trong giờ làm việc",
            "VH": "Văn hóa công sở, không nhũng nhiễu", "TTHC": "Giải quyết thủ tục hành chính đúng hạn"}
FIELDS = ["Đất đai", "Xây dựng", "Đầu tư"]
GRADES = ["good", "satisfactory", "poor"]


def uid() -> str:
    return str(uuid.uuid4())


def stamp(day: date) -> str:
    return datetime(day.year, day.month, day.day, 9, 30, tzinfo=VN).isoformat()


@dataclass
class Province:
    """Generated events of one tenant and the facts the figures are computed from."""
    tenant: str
    name: str
    rng: random.Random
    events: list = field(default_factory=list)
    units: dict = field(default_factory=dict)           # id -> {name, level, kind, parent}
    successor: dict = field(default_factory=dict)       # merged id -> successor id
    plan: dict = field(default_factory=dict)            # year -> plan id
    inspections: dict = field(default_factory=dict)     # id -> facts
    violations: list = field(default_factory=list)
    dossiers: list = field(default_factory=list)
    remediations: dict = field(default_factory=dict)
    assessments: list = field(default_factory=list)
    disciplines: list = field(default_factory=list)
    heads: dict = field(default_factory=dict)           # unit -> {head: ref, deputy: ref}

    def emit(self, event_type: str, data: dict, when: date | None = None) -> None:
        event = CATALOGUE.new_event(event_type, tenant=self.tenant, source="/inspection-platform/test", data=data)
        if when is not None:
            event = replace(event, time=stamp(when))
        self.events.append(event)

    def unit(self, name: str, level: int, kind: str, parent: str | None, valid_from=date(2020, 1, 1), contacts=True) -> str:
        unit_id = uid()
        self.units[unit_id] = {"name": name, "level": level, "kind": kind, "parent": parent}
        people = []
        if contacts and level == 2:
            head, deputy = f"cb-{unit_id[:8]}-h", f"cb-{unit_id[:8]}-d"
            self.heads[unit_id] = {"head": head, "deputy": deputy}
            people = [{"role": "head", "name": f"Giám đốc {name}", "person_id": head},
                      {"role": "deputy", "name": f"Phó Giám đốc {name}", "person_id": deputy}]
        self.emit("unit.changed", {"unit_id": unit_id, "change": "created", "code": None, "name": name, "level": level,
                                   "kind": kind, "parent_id": parent, "valid_from": valid_from.isoformat(), "valid_to": None,
                                   "successor_id": None, "contacts": people})
        return unit_id

    def merge(self, merged: list[str], successor: str) -> None:
        for m in merged:
            self.successor[m] = successor
            u = self.units[m]
            self.emit("unit.changed", {"unit_id": m, "change": "merged", "name": u["name"], "level": u["level"],
                                       "kind": u["kind"], "parent_id": u["parent"], "valid_from": "2020-01-01",
                                       "valid_to": (MERGE - timedelta(days=1)).isoformat(), "successor_id": successor})

    def approve_plan(self, year: int) -> None:
        plan_id = self.plan[year] = uid()
        self.emit("plan.approved", {
            "plan_id": plan_id, "version": 1, "year": year, "type": "public_service",
            "title": f"Kế hoạch kiểm tra công vụ năm {year}", "decision": {"number": f"17{year % 100}/QĐ-UBND",
                                                                            "date": f"{year}-01-10", "signer": "Trần Văn Minh"},
            "coverage_rules": [
                {"id": "so", "description": "Tất cả các sở, ban, ngành", "level": 2, "kind": "department"},
                {"id": "xa", "description": "Ít nhất 3 xã, phường", "level": 3, "kind": "commune", "min_count": 3}],
            "planned_inspections": 10})

    def inspect(self, unit: str, year: int, month: int, *, cancel=False, conclude=True, surprise=False) -> None:
        rng = self.rng
        iid = uid()
        start = date(year, month, rng.randint(1, 20))
        facts = {"unit": unit, "year": year, "plan": self.plan[year], "window_start": None if surprise else start,
                 "cancelled": cancel, "concluded_on": None, "surprise": surprise, "started_on": None if cancel else start}
        self.inspections[iid] = facts
        if not surprise:
            self.emit("inspection.scheduled", {"inspection_id": iid, "plan_id": self.plan[year], "plan_version": 1, "year": year,
                                               "unit_id": unit, "window_start": start.isoformat(),
                                               "window_end": (start + timedelta(days=10)).isoformat(), "form": "on_site",
                                               "team_id": None})
        if cancel:
            self.emit("inspection.cancelled", {"inspection_id": iid, "plan_id": self.plan[year], "plan_version": 1,
                                               "reason": "Đơn vị đã được thanh tra trong năm"})
            return
        self.emit("inspection.started", {"inspection_id": iid, "unit_id": unit, "plan_id": self.plan[year],
                                         "form": "surprise" if surprise else "on_site", "surprise": surprise,
                                         "reason": "Phản ánh của người dân" if surprise else None, "started_at": stamp(start)})
        if not conclude:
            return
        day = start + timedelta(days=rng.randint(2, 8))
        recs = []
        for _ in range(rng.randint(0, 3)):
            fid = uid()
            code = rng.choice(list(CRITERIA))
            severity = rng.choice(["minor", "moderate", "serious"])
            self.violations.append({"id": fid, "unit": unit, "code": code, "severity": severity, "on": day})
            self.emit("violation.recorded", {"finding_id": fid, "inspection_id": iid, "unit_id": unit, "plan_id": self.plan[year],
                                             "criterion_code": code, "severity": severity,
                                             "description": f"Vi phạm: {CRITERIA[code]}", "officials_count": 1,
                                             "recorded_by": "Lê Thị Hoa", "recorded_at": stamp(day)})
            recs.append({"recommendation_id": uid(), "finding_id": fid, "kind": "correction",
                         "text": "Chấn chỉnh, khắc phục ngay", "needs_action": True})
        for _ in range(rng.randint(1, 4)):
            check = uid()
            late = rng.random() < 0.35
            days_late = rng.randint(1, 15) if late else 0
            received = day - timedelta(days=rng.randint(20, 60))
            received = max(received, date(year, 1, 2))
            f = rng.choice(FIELDS)
            self.dossiers.append({"id": check, "unit": unit, "field": f, "late": late, "days_late": days_late, "on": received})
            self.emit("dossier.checked", {"check_id": check, "inspection_id": iid, "unit_id": unit,
                                          "dossier_code": f"H{rng.randint(1000, 9999)}", "field": f,
                                          "received_on": received.isoformat(), "due_on": (received + timedelta(days=15)).isoformat(),
                                          "resolved_on": (received + timedelta(days=15 + days_late)).isoformat(),
                                          "days_late": days_late, "late": late, "sample_seed": "42"})
        if unit in self.heads:
            for position, ref in self.heads[unit].items():
                aid = uid()
                grades = [rng.choice(GRADES) for _ in range(3)]
                self.assessments.append({"id": aid, "unit": unit, "ref": ref, "year": year, "grades": grades})
                self.emit("head.assessed", {"assessment_id": aid, "inspection_id": iid, "unit_id": unit, "official_ref": ref,
                                            "position": position, "task_execution": grades[0], "processing_time": grades[1],
                                            "quality": grades[2], "assessed_at": stamp(day)})
            if rng.random() < 0.3:
                rid = uid()
                level = rng.choice(["reprimand", "warning", "other"])
                self.disciplines.append({"id": rid, "ref": self.heads[unit]["head"], "level": level, "year": year})
                recs.append({"recommendation_id": rid, "finding_id": None, "kind": "disciplinary", "text": "Xem xét xử lý kỷ luật",
                             "needs_action": True, "official_ref": self.heads[unit]["head"], "discipline_level": level})
        facts["concluded_on"] = day
        self.emit("inspection.concluded", {"inspection_id": iid, "unit_id": unit, "plan_id": self.plan[year],
                                           "document": {"kind": "notice", "number": f"{rng.randint(100, 999)}/TB-SNV",
                                                        "date": day.isoformat()},
                                           "findings_count": len([r for r in recs if r["finding_id"]]), "recommendations": recs,
                                           "concluded_at": stamp(day)})
        for rec in recs:
            rem = uid()
            deadline = day + timedelta(days=60)
            self.emit("remediation.assigned", {"remediation_id": rem, "inspection_id": iid, "unit_id": unit,
                                               "recommendation_id": rec["recommendation_id"], "finding_id": rec["finding_id"],
                                               "kind": rec["kind"], "text": rec["text"], "deadline": deadline.isoformat()}, when=day)
            if rng.random() < 0.2:
                new = deadline + timedelta(days=30)
                self.emit("remediation.extended", {"remediation_id": rem, "inspection_id": iid, "unit_id": unit,
                                                   "old_deadline": deadline.isoformat(), "new_deadline": new.isoformat(),
                                                   "reason": "Cần thêm thời gian sửa đổi quy trình"})
                deadline = new
            accepted = None
            roll = rng.random()
            if roll < 0.7:
                accepted = deadline + timedelta(days=rng.choice([-20, -5, 0, 3, 12]))
                self.emit("remediation.reported", {"remediation_id": rem, "inspection_id": iid, "unit_id": unit,
                                                   "report_id": uid(), "progress": "done", "note": "Đã khắc phục xong",
                                                   "evidence_count": 2, "reported_at": stamp(accepted - timedelta(days=1))})
                self.emit("remediation.verified", {"remediation_id": rem, "inspection_id": iid, "unit_id": unit,
                                                   "outcome": "accepted", "note": "Đạt yêu cầu", "verified_at": stamp(accepted),
                                                   "deadline": deadline.isoformat()})
            self.remediations[rem] = {"unit": unit, "deadline": deadline, "accepted": accepted, "assigned": day}


def build_province(tenant: str, name: str, seed: int, merge: bool) -> Province:
    p = Province(tenant, name, random.Random(seed))
    root = p.unit(name, 1, "province", None)
    p.emit("checklist.published", {"checklist_id": uid(), "version": 1, "title": "Nội dung kiểm tra công vụ",
                                   "criteria": [{"code": c, "title": t, "parent_code": None} for c, t in CRITERIA.items()]})
    depts = [p.unit(n, 2, "department", root) for n in ("Sở Tài chính", "Sở Tư pháp", "Sở Xây dựng", "Sở Nội vụ")]
    communes = [p.unit(n, 3, "commune", root) for n in ("Xã Long Hồ", "Xã Phú Đức", "Phường 1", "Xã Tân Hạnh", "Xã Hòa Ninh")]
    p.approve_plan(2024)
    p.approve_plan(2025)
    # 2024: a few inspections only (the comparison year).
    for month in (3, 10):
        p.inspect(depts[0], 2024, month)
    p.inspect(depts[1], 2024, 5, cancel=True)
    # 2025: every department but "Sở Xây dựng" (cancelled), some twice; communes.
    for unit in depts:
        p.inspect(unit, 2025, p.rng.randint(1, 11), cancel=unit == depts[2])
    for unit in (depts[0], depts[3]):
        p.inspect(unit, 2025, p.rng.randint(1, 11))
    p.inspect(depts[1], 2025, 12, conclude=False)  # started, not concluded
    p.inspect(communes[3], 2025, p.rng.randint(1, 11), surprise=True)
    p.inspect(communes[2], 2025, 9)
    if merge:
        # Two communes inspected before the merge, each with the same criterion: a repeat only in the current tree.
        for unit in communes[:2]:
            p.inspect(unit, 2025, 3)
            day = date(2025, 3, 25)
            fid = uid()
            p.violations.append({"id": fid, "unit": unit, "code": "RUOU", "severity": "serious", "on": day})
            iid = next(i for i, f in p.inspections.items() if f["unit"] == unit)
            p.emit("violation.recorded", {"finding_id": fid, "inspection_id": iid, "unit_id": unit, "plan_id": p.plan[2025],
                                          "criterion_code": "RUOU", "severity": "serious",
                                          "description": "Uống rượu bia trong giờ làm việc", "officials_count": 2,
                                          "recorded_by": "Lê Thị Hoa", "recorded_at": stamp(day)})
        new = p.unit("Xã Long Hồ", 3, "commune", root, valid_from=MERGE)
        p.merge(communes[:2], new)
        p.inspect(new, 2025, 10)
    else:
        p.inspect(communes[0], 2025, 4)
    return p


# -- the figures, computed independently from the generated facts -------------------------------
def now(p: Province, unit: str) -> str:
    while unit in p.successor:
        unit = p.successor[unit]
    return unit


def in_year(day: date | None, year: int = YEAR) -> bool:
    return day is not None and day.year == year


def expected_violations(p: Province, by: str, as_before_merge: bool = False) -> dict:
    out: Counter = Counter()
    for v in p.violations:
        if not in_year(v["on"]):
            continue
        unit = v["unit"] if as_before_merge else now(p, v["unit"])
        key = {"criterion": v["code"], "severity": v["severity"], "unit": unit,
               "level": p.units[unit]["level"]}[by]
        out[key] += 1
    return dict(out)


def expected_repeats(p: Province) -> dict:
    per = Counter((now(p, v["unit"]), v["code"]) for v in p.violations if in_year(v["on"]))
    out: dict = defaultdict(dict)
    for (unit, code), n in per.items():
        if n > 1:
            out[unit][code] = n
    return dict(out)


def expected_remediation(p: Province) -> dict:
    out: dict = defaultdict(lambda: {"due": 0, "on_time": 0, "open": 0, "oldest_open_days": 0, "overdue": 0, "max_days_overdue": 0})
    for r in p.remediations.values():
        if not in_year(r["deadline"]):
            continue
        e = out[now(p, r["unit"])]
        if r["accepted"] is None:
            e["open"] += 1
            e["oldest_open_days"] = max(e["oldest_open_days"], (TODAY - r["assigned"]).days)
            if r["deadline"] < TODAY:
                e["overdue"] += 1
                e["max_days_overdue"] = max(e["max_days_overdue"], (TODAY - r["deadline"]).days)
        if r["deadline"] < TODAY or r["accepted"] is not None:
            e["due"] += 1
            e["on_time"] += int(r["accepted"] is not None and r["accepted"] <= r["deadline"])
    return dict(out)


def expected_dossiers(p: Province, by: str) -> dict:
    out: dict = defaultdict(lambda: [0, 0])
    for d in p.dossiers:
        if in_year(d["on"]):
            key = d["field"] if by == "field" else now(p, d["unit"])
            out[key][0] += 1
            out[key][1] += int(d["late"])
    return {k: (c, l) for k, (c, l) in out.items()}


def expected_units_inspected(p: Province, year: int) -> int:
    return len({now(p, f["unit"]) for f in p.inspections.values() if in_year(f["concluded_on"], year)})


def expected_rating(p: Province, ref: str) -> str | None:
    points = {"good": 100, "satisfactory": 70, "poor": 40}
    mine = [a for a in p.assessments if a["ref"] == ref and a["year"] == YEAR]
    if any(d["ref"] == ref and d["year"] == YEAR and d["level"] in ("reprimand", "warning") for d in p.disciplines):
        return "not_completed"
    if not mine:
        return None
    score = sum(points[g] for a in mine for g in a["grades"]) / (3 * len(mine))
    return "excellent" if score >= 90 else "good" if score >= 70 else "completed" if score >= 50 else "not_completed"


# -- the test -----------------------------------------------------------------------------------
def produce(settings, events) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True, "linger.ms": 5})
    # The inspections service's topics first: violations and conclusions arrive before their units
    # and schedules are known, which the handlers must tolerate.
    ordered = sorted(events, key=lambda e: 0 if CATALOGUE.latest(e.type).producer == "inspections" else 1)
    for event in ordered:
        producer.produce(CATALOGUE.topic(event.type, settings.topic_prefix), key=CATALOGUE.key(event).encode(),
                         value=event.value(), headers=event.headers())
        producer.poll(0)
    assert producer.flush(30) == 0


def ask(svc, headers, name, **params):
    r = svc.client.get(f"/v1/dashboards/{name}", params={"year": YEAR, "today": TODAY.isoformat(), **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_year_of_events_gives_every_figure_and_a_rebuild_gives_the_same(service_harness, tenant):
    svc = service_harness(ANALYTICS)
    provinces = [build_province(f"{tenant}-vl", "Tỉnh Vĩnh Long", 1, merge=True),
                 build_province(f"{tenant}-dt", "Tỉnh Đồng Tháp", 2, merge=False),
                 build_province(f"{tenant}-hcm", "Thành phố Hồ Chí Minh", 3, merge=False)]
    events = [e for p in provinces for e in p.events]
    # A unit of Vĩnh Long claimed by another province: refused, it goes to the dead letters.
    vl = provinces[0]
    stolen = next(iter(vl.units))
    foreign = CATALOGUE.new_event("unit.changed", tenant=provinces[1].tenant, source="/inspection-platform/test", data={
        "unit_id": stolen, "change": "renamed", "name": "Tên giả mạo", "level": 1, "kind": "province", "parent_id": None,
        "valid_from": "2020-01-01", "valid_to": None, "successor_id": None})
    ensure_topics(svc.settings, [svc.settings.topic_prefix + f for f in CATALOGUE.families()])
    produce(svc.settings, events + [foreign, events[0]])  # and one duplicate delivery
    svc.start_consumers()

    def applied():
        with svc.runtime.db.tx("*") as conn:
            n = conn.execute("SELECT count(*) AS n FROM processed_events").fetchone()["n"]
            dead = conn.execute("SELECT count(*) AS n FROM dead_letters").fetchone()["n"]
        return n >= len(events) and dead >= 1 and (n, dead)
    wait_until(applied, timeout=60, message="every event applied")
    with svc.runtime.db.tx("*") as conn:
        assert conn.execute("SELECT name FROM units WHERE unit_id = %s", [stolen]).fetchone()["name"] == "Tỉnh Vĩnh Long"
        assert "another tenant" in conn.execute("SELECT reason FROM dead_letters").fetchone()["reason"]

    h = svc.auth(vl.tenant, "planner")
    answers = check_figures(svc, h, vl)
    for p in provinces[1:]:
        check_figures(svc, svc.auth(p.tenant, "planner"), p)
    check_central_and_exports(svc, provinces)

    # Rebuild from the topics: the same answers.
    op = svc.auth("*", "system_operator")
    r = svc.client.post("/v1/rebuild", headers=op)
    assert r.status_code == 202, r.text
    assert svc.client.post("/v1/rebuild", headers=h).status_code == 403
    status = wait_until(lambda: (s := svc.client.get("/v1/rebuild/status", headers=op).json())["status"] != "running" and s,
                        timeout=60, message="rebuild finished")
    assert status["status"] == "done", status
    assert status["applied"] == status["total"] == len(events) + 2 and status["progress"] == 1.0
    assert answers == check_figures(svc, h, vl)


def check_figures(svc, h, p: Province) -> dict:
    """Every dashboard of one province against the figures computed here; returns the answers."""
    out = {}
    # Plan coverage: planned vs done by month, and each rule with its missing units.
    cov = out["coverage"] = ask(svc, h, "coverage")
    planned = Counter(f["window_start"].month for f in p.inspections.values()
                      if in_year(f["window_start"]) and not f["cancelled"])
    done = Counter(f["concluded_on"].month for f in p.inspections.values() if in_year(f["concluded_on"]))
    assert [(r["planned"], r["done"]) for r in cov["rows"]] == [(planned[m], done[m]) for m in range(1, 13)]
    plan = next(x for x in cov["plans"] if x["plan_id"] == p.plan[YEAR])
    rules = {r["rule_id"]: r for r in plan["rules"]}
    covered = {now(p, f["unit"]) for f in p.inspections.values() if f["plan"] == p.plan[YEAR] and f["concluded_on"]}
    depts = {u for u, x in p.units.items() if x["level"] == 2}
    assert rules["so"]["required"] == 4 and rules["so"]["covered"] == len(depts & covered)
    assert {m["name"] for m in rules["so"]["missing_units"]} == {p.units[u]["name"] for u in depts - covered} == {"Sở Xây dựng"}
    current_communes = {u for u, x in p.units.items() if x["level"] == 3 and u not in p.successor}
    assert rules["xa"]["covered"] == min(3, len(current_communes & covered))
    assert rules["xa"]["satisfied"] == (len(current_communes & covered) >= 3)

    # Violations by criterion, severity, unit (current tree and before the merge), level; repeats.
    v = out["violations"] = ask(svc, h, "violations")
    assert {r["key"]: r["violations"] for r in v["rows"]} == expected_violations(p, "criterion")
    assert {r["label"] for r in v["rows"]} <= set(CRITERIA.values())
    for by in ("severity", "unit", "level"):
        got = ask(svc, h, "violations", group_by=by)
        assert {str(r["key"]): r["violations"] for r in got["rows"]} == {str(k): n for k, n in expected_violations(p, by).items()}
    before = ask(svc, h, "violations", group_by="unit", as_of="2025-06-30")
    assert {r["key"]: r["violations"] for r in before["rows"]} == expected_violations(p, "unit", as_before_merge=True)
    root = next(iter(p.units))
    rolled = ask(svc, h, "violations", group_by="unit", rollup=1)
    assert {r["key"]: r["violations"] for r in rolled["rows"]} == {root: sum(expected_violations(p, "criterion").values())}
    rep = out["repeats"] = ask(svc, h, "repeat-violations")
    assert {r["unit_id"]: r["criteria"] for r in rep["rows"]} == expected_repeats(p)
    if p.successor:
        new = next(iter(p.successor.values()))
        assert expected_repeats(p)[new]["RUOU"] >= 2
        old_units = {r["unit_id"] for r in ask(svc, h, "repeat-violations", as_of="2025-06-30")["rows"]}
        assert new not in old_units and not old_units & set(p.successor)

    # Remediation by responsible unit.
    rem = out["remediation"] = ask(svc, h, "remediation")
    got = {r["unit_id"]: {k: r[k] for k in ("due", "on_time", "open", "oldest_open_days", "overdue", "max_days_overdue")}
           for r in rem["rows"]}
    assert got == expected_remediation(p)
    exp = expected_remediation(p).values()
    due, on_time = sum(e["due"] for e in exp), sum(e["on_time"] for e in exp)
    assert rem["totals"]["on_time_rate"] == (round(on_time / due, 4) if due else None)

    # Late dossiers by field and by unit.
    for by in ("field", "unit"):
        d = out[f"dossiers-{by}"] = ask(svc, h, "dossiers", group_by=by)
        assert {r["key"]: (r["checked"], r["late"]) for r in d["rows"]} == expected_dossiers(p, by)
        for r in d["rows"]:
            assert r["late_rate"] == round(r["late"] / r["checked"], 4)

    # Year over year.
    yoy = out["yoy"] = ask(svc, h, "year-over-year")
    units_row = next(r for r in yoy["rows"] if r["metric"] == "units_inspected")
    this, last = expected_units_inspected(p, YEAR), expected_units_inspected(p, YEAR - 1)
    assert (units_row["this_period"], units_row["last_period"], units_row["ratio"]) == (this, last, round(this / last, 2))
    assert this >= 3 * last  # the seeds' "3 times as many units inspected"

    # Risk ranking (weights documented in domain.RISK_WEIGHTS: 35 late rate, 25 repeats, 25 overdue,
    # 15 surprise inspections on reports; counts capped at 3).
    risk = out["risk"] = ask(svc, h, "risk")
    dossiers, repeats, rems = expected_dossiers(p, "unit"), expected_repeats(p), expected_remediation(p)
    reports = Counter(now(p, f["unit"]) for f in p.inspections.values() if f["surprise"] and in_year(f["started_on"]))
    assert sum(reports.values()) == 1
    for r in risk["rows"]:
        c, late = dossiers.get(r["unit_id"], (0, 0))
        score = 35 * (late / c if c else 0) + 25 * min(len(repeats.get(r["unit_id"], {})), 3) / 3 \
            + 25 * min(rems.get(r["unit_id"], {}).get("overdue", 0), 3) / 3 + 15 * min(reports[r["unit_id"]], 3) / 3
        assert r["reports"] == reports[r["unit_id"]]
        assert abs(r["risk"] - score) < 0.02, r
    assert [r["risk"] for r in risk["rows"]] == sorted((r["risk"] for r in risk["rows"]), reverse=True)

    # Scorecard of a department with its head and deputy (officials need officials:read).
    dept = next(u for u, x in p.units.items() if x["name"] == "Sở Tài chính")
    card = out["card"] = svc.client.get(f"/v1/scorecards/{dept}", params={"year": YEAR, "today": TODAY.isoformat()},
                                        headers=svc.auth(p.tenant, "team_leader", sub="truong-doan-1")).json()
    with svc.runtime.db.tx(p.tenant) as conn:  # officials are personal data: the read is logged
        reads = conn.execute("SELECT reader, official_refs FROM personal_data_reads WHERE tenant = %s AND unit_id = %s",
                             [p.tenant, dept]).fetchall()
    assert ("truong-doan-1", sorted(p.heads[dept].values())) in [(r["reader"], sorted(r["official_refs"])) for r in reads]
    mine = [v for v in p.violations if v["unit"] == dept and in_year(v["on"])]
    assert sorted(card["facts"]["finding_ids"]) == sorted(v["id"] for v in mine) and card["findings"] == len(mine)
    assert sorted(card["facts"]["late_dossier_check_ids"]) == sorted(d["id"] for d in p.dossiers
                                                                     if d["unit"] == dept and d["late"] and in_year(d["on"]))
    officials = {o["official_ref"]: o for o in card["officials"]}
    assert set(officials) == set(p.heads[dept].values())
    for ref, o in officials.items():
        assert o["rating"] == expected_rating(p, ref), o
        assert sorted(o["assessment_ids"]) == sorted(a["id"] for a in p.assessments if a["ref"] == ref and a["year"] == YEAR)
    assert officials[p.heads[dept]["head"]]["name"] == "Giám đốc Sở Tài chính"
    plain = svc.client.get(f"/v1/scorecards/{dept}", params={"year": YEAR, "today": TODAY.isoformat()}, headers=h).json()
    assert "officials" not in plain and plain["facts"] == card["facts"]
    listed = out["scorecards"] = ask(svc, h, "scorecards")
    rows = {r["unit_id"]: r for r in listed["rows"]}
    assert set(rows) == {u for u in p.units if u not in p.successor}
    for key in ("findings", "serious_findings", "inspections_done", "dossiers_checked", "dossiers_late", "recommendations",
                "remediations_due", "remediations_on_time", "remediations_overdue", "late_dossier_rate"):
        assert rows[dept][key] == card[key], key
    assert rows[dept]["repeated_criteria"] == len(card["repeated_criteria"])
    assert card["recommendations"] == len(card["facts"]["recommendation_ids"])
    for unit, row in rows.items():
        assert row["findings"] == sum(1 for v in p.violations if now(p, v["unit"]) == unit and in_year(v["on"]))
        assert row["inspections_done"] == sum(1 for f in p.inspections.values()
                                              if now(p, f["unit"]) == unit and in_year(f["concluded_on"]))
    return out


def check_central_and_exports(svc, provinces: list[Province]) -> None:
    central = svc.auth("*", "central_viewer")
    side = ask(svc, central, "provinces")
    rows = {r["tenant"]: r for r in side["rows"] if r["tenant"] in {p.tenant for p in provinces}}
    assert set(rows) == {p.tenant for p in provinces}
    for p in provinces:
        assert rows[p.tenant]["province"] == p.name
        assert rows[p.tenant]["violations"] == sum(expected_violations(p, "criterion").values())
        assert rows[p.tenant]["units_inspected"] == expected_units_inspected(p, YEAR)
    # A province user sees only their own row; a central viewer must pick a province elsewhere.
    own = ask(svc, svc.auth(provinces[1].tenant, "viewer"), "provinces")
    assert [r["tenant"] for r in own["rows"]] == [provinces[1].tenant]
    assert svc.client.get("/v1/dashboards/violations", params={"year": YEAR}, headers=central).status_code == 422
    one = ask(svc, central, "violations", tenant=provinces[2].tenant)
    assert one["total"] == sum(expected_violations(provinces[2], "criterion").values())
    other_unit = next(iter(provinces[0].units))
    assert svc.client.get(f"/v1/scorecards/{other_unit}", params={"year": YEAR},
                          headers=svc.auth(provinces[1].tenant, "planner")).status_code == 404

    vl, h = provinces[0], svc.auth(provinces[0].tenant, "planner")
    csv = svc.client.get("/v1/dashboards/violations", params={"year": YEAR, "format": "csv"}, headers=h)
    assert csv.headers["content-type"].startswith("text/csv")
    table = list(csvlib.reader(io.StringIO(csv.content.decode("utf-8-sig"))))
    assert table[0] == ["Mã", "Nội dung kiểm tra", "Số vi phạm"]
    assert ["RUOU", CRITERIA["RUOU"], str(expected_violations(vl, "criterion")["RUOU"])] in table
    xlsx = svc.client.get("/v1/dashboards/dossiers", params={"year": YEAR, "format": "xlsx"}, headers=h)
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    sheet = {row[0]: (row[2], row[3]) for row in ws.iter_rows(min_row=3, values_only=True)}
    assert sheet == expected_dossiers(vl, "field")
    svg = svc.client.get("/v1/dashboards/coverage/chart.svg", params={"year": YEAR}, headers=h)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.count('class="bar"') == 24 and "Kế hoạch và kết quả kiểm tra" in svg.text
    docx = svc.client.get(f"/v1/reports/{YEAR}/annual.docx", params={"number": "25"}, headers=h)
    assert docx.status_code == 200, docx.text
    body = docx_text(docx.content)
    for text in ("BÁO CÁO", "Kết quả kiểm tra công vụ năm 2025", "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", "Số: 25/BC-SNV",
                 "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Nơi nhận", CRITERIA["RUOU"], "Xã Long Hồ"):
        assert text in body, text
    bad = svc.client.get("/v1/dashboards/violations", params={"year": YEAR, "group_by": "weather"}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "query.group_by"
