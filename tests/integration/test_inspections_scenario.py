"""A whole inspection through the real broker and database: from the plans service's inspection.scheduled
to closure, with overdue detection run twice at once under a controllable clock, and after an extension."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timezone

from services.inspections.bootstrap import SERVICE
from services.inspections.remediation.overdue import detect_overdue
from shared.documents import docx_text
from shared.events import CATALOGUE, Event
from shared.kafka import ensure_topics, make_producer
from tests.integration.test_inspections_http import PNG, scheduled_event, uid, unit_event
from tests.support.kafka import read_topic
from tests.support.waiting import wait_until


def publish_as_plans(settings, tenant: str, items: list[tuple[str, dict]]) -> None:
    """Produce plans-service events (CloudEvents headers, catalogue topics and keys) to the real broker."""
    producer = make_producer(settings, "plans-under-test")
    for event_type, data in items:
        event = CATALOGUE.new_event(event_type, tenant=tenant, source="/inspection-platform/plans", data=data)
        producer.produce(CATALOGUE.topic(event_type, settings.topic_prefix), key=CATALOGUE.key(event).encode(),
                         value=event.value(), headers=event.headers())
    assert producer.flush(15) == 0


def types_on(settings, family: str, expect: int) -> Counter:
    messages = read_topic(settings.kafka_bootstrap, settings.topic_prefix + family, expect=expect)
    return Counter(Event.from_kafka(m.headers(), m.value()).type for m in messages)


def at(day: str, hour: int = 1) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=timezone.utc)


def test_scheduled_inspection_runs_to_closure_with_overdue_detection(service_harness, tenant):
    svc = service_harness(SERVICE)
    clock = {"now": at("2026-03-10")}
    svc.runtime.clock = lambda: clock["now"]
    s = svc.settings
    ensure_topics(s, [s.topic_prefix + f for f in CATALOGUE.families()])
    svc.start_workers()
    c = svc.client

    unit_id, team_id, checklist_id, iid = uid(), uid(), uid(), uid()
    publish_as_plans(s, tenant, [
        ("unit.changed", unit_event(unit_id, "UBND phường Phước Hậu", contacts=[{"role": "head", "name": "Phạm Quốc Hùng"}])),
        ("team.changed", {"team_id": team_id, "name": "Đoàn kiểm tra công vụ số 1", "lead_unit_id": uid(),
                          "leader": {"person_id": "lttthu", "name": "Lê Thị Thu"}, "members": []}),
        ("checklist.published", {"checklist_id": checklist_id, "version": 1, "title": "Nội dung kiểm tra công vụ 2026",
                                 "criteria": [{"code": "1", "title": "Kỷ luật, kỷ cương hành chính", "parent_code": None},
                                              {"code": "1.2", "title": "Không uống rượu bia trong giờ làm việc", "parent_code": "1"},
                                              {"code": "2.1", "title": "Giải quyết hồ sơ đúng hạn", "parent_code": None}]}),
        ("calendar.changed", {"year": 2026, "days_off": [{"date": "2026-03-09", "name": "Ngày nghỉ bù của tỉnh"}],
                              "working_days": []}),
        ("inspection.scheduled", scheduled_event(iid, unit_id, team_id=team_id, checklist_id=checklist_id, checklist_version=1)),
    ])
    member = svc.auth(tenant, "team_member", name="Trần Văn Bình")
    leader = svc.auth(tenant, "team_leader", name="Lê Thị Thu")
    head = svc.auth(tenant, "unit_head", unit_id=unit_id, name="Phạm Quốc Hùng")
    wait_until(lambda: c.get(f"/v1/inspections/{iid}", headers=member).status_code == 200, message="inspection replicated")
    wait_until(lambda: c.get(f"/v1/units/{unit_id}/dossiers", headers=member).status_code == 200)

    assert c.post(f"/v1/inspections/{iid}/start", headers=member).json()["status"] == "in_progress"
    shown = wait_until(lambda: (lambda b: b["team"] and b)(c.get(f"/v1/inspections/{iid}", headers=head).json()))
    assert shown["unit"]["name"] == "UBND phường Phước Hậu" and shown["team"] == {
        "name": "Đoàn kiểm tra công vụ số 1", "leader": "Lê Thị Thu"}
    # The replicated checklist is enforced: an unknown criterion is refused.
    assert wait_until(lambda: c.post(f"/v1/inspections/{iid}/findings", headers=member, json={
        "id": uid(), "criterion_code": "9.9", "severity": "minor", "description": "x"}).status_code == 422)
    f1 = c.post(f"/v1/inspections/{iid}/findings", headers=member, json={
        "id": uid(), "criterion_code": "1.2", "severity": "serious", "description": "Cán bộ uống rượu bia trong giờ làm việc",
        "officials": [{"name": "Đỗ Văn Khánh", "position": "Công chức địa chính"}]}).json()["id"]
    f2 = c.post(f"/v1/inspections/{iid}/findings", headers=member, json={
        "id": uid(), "criterion_code": "2.1", "severity": "moderate", "description": "Hồ sơ đất đai trễ hẹn"}).json()["id"]
    assert c.post(f"/v1/inspections/{iid}/checklist-results", headers=member,
                  json={"id": uid(), "criterion_code": "1", "result": "not_met", "note": "Vi phạm giờ giấc"}).status_code == 201
    assert c.post(f"/v1/units/{unit_id}/dossiers", headers=head, json={"dossiers": [
        {"code": "HS-001", "field": "đất đai", "received_on": "2026-02-25", "due_on": "2026-03-06", "resolved_on": "2026-03-10"}]}
    ).status_code == 200
    assert c.post(f"/v1/inspections/{iid}/dossier-sample", headers=member, json={"id": uid(), "size": 1}).status_code == 201
    check = c.post(f"/v1/inspections/{iid}/dossier-checks", headers=member, json={"id": uid(), "dossier_code": "HS-001"}).json()
    assert check["days_late"] == 1  # 9 March is the province's declared day off (from calendar.changed)
    assert c.post(f"/v1/inspections/{iid}/assessments", headers=member, json={
        "id": uid(), "official_ref": "CB-0001", "position": "head", "task_execution": "satisfactory",
        "processing_time": "poor", "quality": "satisfactory", "notes": "Chưa chủ động tham mưu"}).status_code == 201
    assert c.post(f"/v1/inspections/{iid}/minutes", headers=member, json={
        "id": uid(), "held_on": "2026-03-10", "place": "Trụ sở UBND phường Phước Hậu",
        "team_summary": "Đoàn ghi nhận 2 tồn tại", "unit_response": "Đơn vị thống nhất một phần",
        "disagreements": [{"finding_id": f2, "text": "Hồ sơ trễ do hệ thống một cửa lỗi"}]}).status_code == 201
    disputed = {f["id"]: f["unit_disagreements"] for f in c.get(f"/v1/inspections/{iid}/findings", headers=head).json()["items"]}
    assert disputed == {f1: [], f2: ["Hồ sơ trễ do hệ thống một cửa lỗi"]}

    rec_a, rec_b = uid(), uid()
    concluded = c.post(f"/v1/inspections/{iid}/conclusion", headers=leader, json={
        "id": uid(), "summary": "Đoàn kiểm tra đã làm việc tại UBND phường Phước Hậu ngày 10/3/2026.",
        "document": {"kind": "notice", "number": "12/TB-SNV", "date": "2026-03-20", "place": "Vĩnh Long",
                     "issuing_authority": "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", "signer_title": "GIÁM ĐỐC",
                     "signer_name": "Nguyễn Thị Hồng", "recipients": ["UBND phường Phước Hậu", "Lưu: VT, TTr"]},
        "recommendations": [
            {"id": uid(), "finding_id": f1, "kind": "reminder", "text": "Nhắc nhở tập thể lãnh đạo"},
            {"id": rec_a, "finding_id": f1, "kind": "disciplinary", "text": "Xem xét xử lý kỷ luật công chức vi phạm",
             "discipline_level": "reprimand", "official_ref": "CB-0042", "deadline": "2026-04-10"},
            {"id": rec_b, "finding_id": f2, "kind": "procedure_change", "text": "Sửa đổi quy trình tiếp nhận hồ sơ",
             "deadline_working_days": 20},
        ]})
    assert concluded.status_code == 201, concluded.text
    recs = {r["id"]: r for r in concluded.json()["recommendations"]}
    assert recs[rec_a]["deadline"] == "2026-04-10" and recs[rec_b]["deadline"] == "2026-04-17"
    rem_a, rem_b = recs[rec_a]["remediation_id"], recs[rec_b]["remediation_id"]
    docx = c.get(f"/v1/inspections/{iid}/conclusion.docx", headers=head)
    text = docx_text(docx.content)
    assert "Số: 12/TB-SNV" in text and "Kết luận kiểm tra công vụ tại UBND phường Phước Hậu" in text
    assert "Đỗ Văn Khánh" not in text  # officials stay out of the distributed document

    # Overdue: two runs at once on 13 April publish A once; a re-run publishes nothing.
    clock["now"] = at("2026-04-13")
    results: list[int] = []
    runs = [threading.Thread(target=lambda: results.append(detect_overdue(svc.runtime))) for _ in range(2)]
    for t in runs:
        t.start()
    for t in runs:
        t.join(30)
    assert sorted(results) == [0, 1]
    assert detect_overdue(svc.runtime) == 0

    # B: reported with evidence, sent back, reported again, accepted. Only the unit's head may report.
    stranger = svc.auth(tenant, "unit_head", unit_id=uid())
    assert c.get("/v1/remediations", headers=stranger).json()["items"] == []
    assert c.get(f"/v1/remediations/{rem_b}", headers=stranger).status_code == 404
    assert len(c.get("/v1/remediations", headers=head).json()["items"]) == 2
    early = c.post(f"/v1/remediations/{rem_b}/verification", headers=leader, json={"id": uid(), "outcome": "accepted"})
    assert early.status_code == 409 and "assigned" in early.json()["message"]
    assert c.post(f"/v1/remediations/{rem_b}/reports", headers=stranger, data={"id": uid(), "progress": "done"}).status_code == 403
    report = {"id": uid(), "progress": "done", "note": "Đã ban hành quy trình mới"}
    first = c.post(f"/v1/remediations/{rem_b}/reports", headers=head, data=report,
                   files=[("files", ("quyết định.png", PNG, "image/png"))])
    assert first.status_code == 201, first.text
    evidence_id = first.json()["reports"][0]["evidence"][0]["id"]
    assert c.get(f"/v1/evidence/{evidence_id}", headers=leader).content == PNG
    assert c.get(f"/v1/evidence/{evidence_id}", headers=stranger).status_code == 404
    assert c.post(f"/v1/remediations/{rem_b}/reports", headers=head, data=report,
                  files=[("files", ("quyết định.png", PNG, "image/png"))]).status_code == 200  # a resend
    assert c.post(f"/v1/remediations/{rem_b}/verification", headers=member,
                  json={"id": uid(), "outcome": "accepted"}).status_code == 403
    assert c.post(f"/v1/remediations/{rem_b}/verification", headers=leader,
                  json={"id": uid(), "outcome": "returned", "note": "Thiếu văn bản"}).json()["status"] == "returned"
    c.post(f"/v1/remediations/{rem_b}/reports", headers=head, data={"id": uid(), "progress": "done", "note": "Bổ sung văn bản"})
    assert c.post(f"/v1/remediations/{rem_b}/verification", headers=leader,
                  json={"id": uid(), "outcome": "accepted"}).json()["status"] == "verified"

    # A: extended; the new deadline can go overdue again, once.
    assert c.post(f"/v1/remediations/{rem_a}/extensions", headers=member,
                  json={"id": uid(), "new_deadline": "2026-05-08", "reason": "x"}).status_code == 403
    backwards = c.post(f"/v1/remediations/{rem_a}/extensions", headers=leader,
                       json={"id": uid(), "new_deadline": "2026-04-01", "reason": "Nhầm"})
    assert backwards.status_code == 422 and backwards.json()["field"] == "body.new_deadline"
    ext = c.post(f"/v1/remediations/{rem_a}/extensions", headers=leader,
                 json={"id": uid(), "new_deadline": "2026-05-08", "reason": "Chờ Hội đồng kỷ luật họp"})
    assert ext.status_code == 201 and ext.json()["deadline"] == "2026-05-08"
    assert detect_overdue(svc.runtime) == 0
    clock["now"] = at("2026-05-11")
    assert detect_overdue(svc.runtime) == 1 and detect_overdue(svc.runtime) == 0
    c.post(f"/v1/remediations/{rem_a}/reports", headers=head, data={"id": uid(), "progress": "done", "note": "Đã kỷ luật khiển trách"})
    assert c.get(f"/v1/inspections/{iid}", headers=head).json()["status"] == "concluded"
    c.post(f"/v1/remediations/{rem_a}/verification", headers=leader, json={"id": uid(), "outcome": "accepted"})
    assert c.get(f"/v1/inspections/{iid}", headers=head).json()["status"] == "closed"
    history = [h["action"] for h in c.get(f"/v1/remediations/{rem_a}", headers=head).json()["history"]]
    assert history == ["assigned", "overdue", "extended", "overdue", "reported", "verified"]

    # What outside subscribers saw, exactly once each.
    assert types_on(s, "inspections.inspections", 7) == Counter({
        "inspection.started": 1, "violation.recorded": 2, "dossier.checked": 1, "head.assessed": 1,
        "inspection.concluded": 1, "inspection.closed": 1})
    remediations = read_topic(s.kafka_bootstrap, s.topic_prefix + "inspections.remediations", expect=11)
    events = [Event.from_kafka(m.headers(), m.value()) for m in remediations]
    assert Counter(e.type for e in events) == Counter({
        "remediation.assigned": 2, "remediation.overdue": 2, "remediation.extended": 1, "remediation.reported": 3,
        "remediation.verified": 3})
    overdue = sorted((e.data["remediation_id"], e.data["deadline"], e.data["days_overdue"]) for e in events
                     if e.type == "remediation.overdue")
    assert overdue == [(rem_a, "2026-04-10", 3), (rem_a, "2026-05-08", 3)]
    assert all(e.tenant == tenant for e in events)
