"""With the relay running: plan.approved, inspection.scheduled/cancelled, plan.amended reach Kafka, schema-valid.

Also the demo plan (create_demo_plan) that the local-stack start script installs.
"""
from __future__ import annotations

from datetime import date

from services.plans.planning.demo import create_demo_plan
from services.plans.planning.service import install_default_checklist
from shared.events import CATALOGUE, Event
from tests.integration.plans_planning_support import (auth, ADMIN, PLANS, Tree, approve, create_plan, create_team, person,
                                                      schedule)
from tests.support.kafka import read_topic
from tests.support.waiting import wait_until


def _events(svc, topic_family: str, expect: int) -> list[Event]:
    messages = read_topic(svc.settings.kafka_bootstrap, svc.settings.topic_prefix + topic_family, expect=expect)
    events = [Event.from_kafka(m.headers(), m.value()) for m in messages]
    for e in events:
        CATALOGUE.validate(e)  # the schema version each event names
    return events


def test_approval_and_amendment_reach_kafka_and_the_demo_plan(service_harness, tenant):
    svc = service_harness(PLANS)
    # The demo province after the 2025 reform: two tiers, as of 2026-01-01.
    tree = Tree(svc, tenant)
    tree.add("Tỉnh Vĩnh Long", 1, "province_committee", valid_from="2025-07-01", code="86")
    for d in ("Sở Nội vụ", "Sở Tài chính", "Sở Tư pháp", "Sở Xây dựng", "Sở Nông nghiệp và Môi trường",
              "Sở Khoa học và Công nghệ", "Văn phòng UBND tỉnh"):
        tree.add(d, 2, "department", "Tỉnh Vĩnh Long", valid_from="2025-07-01")
    for c in ("Phường Trà Vinh", "Xã Cầu Kè", "Phường An Hội", "Xã Tiểu Cần", "Phường Long Châu", "Xã Hòa Minh"):
        tree.add(c, 2, "commune_committee", "Tỉnh Vĩnh Long", valid_from="2025-07-01")

    team = create_team(svc, tenant, "Đoàn kiểm tra đột xuất", tree["Sở Nội vụ"],
                       person("vl-1", "Nguyễn Thị Bé Mười", tree["Sở Nội vụ"], "Trưởng đoàn"), [])
    checklist_id = install_default_checklist(svc.runtime, tenant)
    assert install_default_checklist(svc.runtime, tenant) == checklist_id
    plan = create_plan(svc, tenant, year=2026, type="thematic", title="Kiểm tra đột xuất chấp hành Chỉ thị 02/CT-UBND",
                       checklist_id=checklist_id, focus_codes=["KLKC.01", "KLKC.02"], forms=["surprise"],
                       coverage_rules=[{"id": "xa", "description": "Ít nhất 2 xã, phường", "kind": "commune_committee",
                                        "min_count": 2}])
    pid = plan["id"]
    first = schedule(svc, tenant, pid, tree["Xã Cầu Kè"], "2026-02-02", "2026-02-03", "surprise", team["id"])
    second = schedule(svc, tenant, pid, tree["Phường An Hội"], "2026-02-09", "2026-02-10", "surprise", team["id"])
    approve(svc, tenant, pid, "210/QĐ-UBND", "2026-01-20", "Trần Văn Lâu")
    r = svc.client.post(f"/v1/plans/{pid}/amendments", headers=auth(svc, tenant, ADMIN), json={
        "reason": "Thay đơn vị theo phản ánh của người dân", "remove": [second],
        "add": [{"unit_id": tree["Xã Tiểu Cần"], "window_start": "2026-03-02", "window_end": "2026-03-03",
                 "form": "surprise", "team_id": team["id"]}]})
    assert r.status_code == 200, r.text
    added = next(p["id"] for p in r.json()["planned_inspections"] if p["unit_id"] == tree["Xã Tiểu Cần"])

    demo_id = create_demo_plan(svc.runtime, tenant)
    demo = svc.client.get(f"/v1/plans/{demo_id}", headers=auth(svc, tenant, "viewer")).json()
    assert (demo["status"], demo["year"], demo["decision"]["number"]) == ("approved", 2026, "125/QĐ-UBND")
    assert len(demo["planned_inspections"]) == 8 and demo["checklist_id"] == checklist_id
    coverage = svc.client.get(f"/v1/plans/{demo_id}/coverage", headers=auth(svc, tenant, "viewer")).json()
    assert coverage["satisfied"] is True, coverage
    assert svc.client.get(f"/v1/plans/{demo_id}/conflicts", headers=auth(svc, tenant, "viewer")).json()["conflicts"] == []

    svc.start_relay()
    with svc.runtime.db.tx("*") as conn:
        wait_until(lambda: conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"] == 0,
                   timeout=30, message="outbox drained")

    plans = [e for e in _events(svc, "plans.plans", expect=3) if e.tenant == tenant]
    # One plan's events keep their order (same key, same partition); two plans' events need not.
    ours = [e for e in plans if e.data["plan_id"] == pid]
    assert [(e.type, e.data["version"]) for e in ours] == [("plan.approved", 1), ("plan.amended", 2)]
    assert [(e.type, e.data["version"]) for e in plans if e.data["plan_id"] == demo_id] == [("plan.approved", 1)]
    assert ours[0].data["decision"] == {"number": "210/QĐ-UBND", "date": "2026-01-20", "signer": "Trần Văn Lâu"}
    assert ours[0].data["coverage_rules"][0]["description"] == "Ít nhất 2 xã, phường"
    assert ours[1].data["reason"] == "Thay đơn vị theo phản ánh của người dân"

    schedule_events = _events(svc, "plans.schedule", expect=12)
    mine = [(e.type, e.data["inspection_id"], e.data["plan_version"]) for e in schedule_events if e.data["plan_id"] == pid]
    assert sorted(mine) == sorted([("inspection.scheduled", first, 1), ("inspection.scheduled", second, 1),
                                   ("inspection.scheduled", added, 2), ("inspection.cancelled", second, 2)])
    scheduled = next(e for e in schedule_events if e.data["inspection_id"] == first)
    assert scheduled.data["unit_id"] == tree["Xã Cầu Kè"] and scheduled.data["window_start"] == "2026-02-02"
    assert scheduled.data["checklist_id"] == checklist_id and scheduled.subject == first
    assert sum(1 for e in schedule_events if e.data["plan_id"] == demo_id) == 8
    assert all(date.fromisoformat(e.data["window_start"]).year == 2026 for e in schedule_events if e.type.endswith("scheduled"))
