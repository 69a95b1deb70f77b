"""Inspections over HTTP against real PostgreSQL (no consumers): resends, 409s, evidence limits, embargo,
personal data of officials, dossier sampling, remediation permissions, tenant isolation."""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

import psycopg
import pytest

from services.inspections.bootstrap import SERVICE
from services.inspections.events import handlers
from shared.events import CATALOGUE

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def uid() -> str:
    return str(uuid.uuid4())


def feed(svc, tenant: str, event_type: str, data: dict) -> None:
    """Apply a plans-service event through our consumer handler, as the consumer would."""
    event = CATALOGUE.new_event(event_type, tenant=tenant, source="/inspection-platform/plans", data=data)
    with svc.runtime.db.tx(tenant) as conn:
        handlers(svc.runtime)[event_type](conn, event)


def unit_event(unit_id: str, name: str = "UBND xã Long Hồ", **extra) -> dict:
    return {"unit_id": unit_id, "change": "created", "code": "29101", "name": name, "level": 2, "kind": "commune",
            "parent_id": None, "valid_from": "2025-07-01", "valid_to": None, "successor_id": None, **extra}


def scheduled_event(inspection_id: str, unit_id: str, **extra) -> dict:
    return {"inspection_id": inspection_id, "plan_id": uid(), "plan_version": 1, "year": 2026, "unit_id": unit_id,
            "window_start": "2026-03-02", "window_end": "2026-03-31", "form": "on_site", "team_id": None, **extra}


def outbox(svc, event_type: str) -> list[dict]:
    with svc.runtime.db.tx("*") as conn:
        return [r["payload"] for r in conn.execute("SELECT payload FROM outbox WHERE type = %s ORDER BY seq", [event_type])]


def count(svc, sql: str, params=()) -> int:
    with svc.runtime.db.tx("*") as conn:
        return conn.execute(sql, params).fetchone()["n"]


class World:
    """One tenant with a unit, the people who act on it, and a service whose clock the test sets."""

    def __init__(self, svc, tenant: str):
        self.svc, self.tenant = svc, tenant
        self.now = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
        svc.runtime.clock = lambda: self.now
        self.unit_id = uid()
        feed(svc, tenant, "unit.changed", unit_event(self.unit_id))
        self.member = svc.auth(tenant, "team_member", name="Trần Văn Bình")
        self.leader = svc.auth(tenant, "team_leader", name="Lê Thị Thu")
        self.head = svc.auth(tenant, "unit_head", unit_id=self.unit_id, name="Phạm Quốc Hùng")
        self.viewer = svc.auth(tenant, "viewer")

    def scheduled(self, started: bool = True) -> str:
        iid = uid()
        feed(self.svc, self.tenant, "inspection.scheduled", scheduled_event(iid, self.unit_id))
        if started:
            assert self.svc.client.post(f"/v1/inspections/{iid}/start", headers=self.member).status_code == 200
        return iid

    def finding(self, iid: str, **extra) -> dict:
        body = {"id": uid(), "criterion_code": "1.2", "severity": "serious",
                "description": "Công chức uống rượu bia trong giờ làm việc", **extra}
        r = self.svc.client.post(f"/v1/inspections/{iid}/findings", headers=self.member, json=body)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture
def world(service_harness, tenant):
    return World(service_harness(SERVICE, evidence_max_bytes=1000), tenant)


def test_scheduled_event_creates_one_inspection_and_cancel_stops_only_unstarted(world):
    iid = uid()
    for _ in range(2):  # a replayed event changes nothing
        feed(world.svc, world.tenant, "inspection.scheduled", scheduled_event(iid, world.unit_id))
    assert count(world.svc, "SELECT count(*) AS n FROM inspections WHERE id = %s", [iid]) == 1
    feed(world.svc, world.tenant, "inspection.cancelled",
         {"inspection_id": iid, "plan_id": uid(), "plan_version": 2, "reason": "Đơn vị sáp nhập"})
    r = world.svc.client.get(f"/v1/inspections/{iid}", headers=world.viewer)
    assert r.json()["status"] == "cancelled" and r.json()["cancel_reason"] == "Đơn vị sáp nhập"
    started = world.scheduled()
    feed(world.svc, world.tenant, "inspection.cancelled",
         {"inspection_id": started, "plan_id": uid(), "plan_version": 2, "reason": "Thay đổi kế hoạch"})
    assert world.svc.client.get(f"/v1/inspections/{started}", headers=world.viewer).json()["status"] == "in_progress"


def test_resends_make_one_record_and_a_different_body_is_409(world):
    c = world.svc.client
    body = {"id": uid(), "form": "surprise", "unit_id": world.unit_id,
            "reason": "Phản ánh của công dân về việc gây phiền hà", "citizen_report_ref": "PA-2026-0042"}
    first = c.post("/v1/inspections", headers=world.member, json=body)
    again = c.post("/v1/inspections", headers=world.member, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["reason"] == "Phản ánh của công dân về việc gây phiền hà"
    other = c.post("/v1/inspections", headers=world.member, json={**body, "reason": "Lý do khác"})
    assert other.status_code == 409 and other.json()["field"] == "body.id"
    assert count(world.svc, "SELECT count(*) AS n FROM inspections WHERE tenant = %s", [world.tenant]) == 1

    iid = world.scheduled()
    finding = {"id": uid(), "criterion_code": "2.1", "severity": "moderate", "description": "Hồ sơ trễ hẹn không có thư xin lỗi",
               "officials": [{"name": "Nguyễn Văn An", "position": "Công chức một cửa"}]}
    answers = [c.post(f"/v1/inspections/{iid}/findings", headers=world.member, json=finding) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 200] and answers[0].json() == answers[1].json()
    assert len(outbox(world.svc, "violation.recorded")) == 1
    changed = c.post(f"/v1/inspections/{iid}/findings", headers=world.member, json={**finding, "severity": "minor"})
    assert changed.status_code == 409

    result = {"id": uid(), "criterion_code": "1.1", "result": "not_met", "note": "Không niêm yết thủ tục"}
    assert [c.post(f"/v1/inspections/{iid}/checklist-results", headers=world.member, json=result).status_code
            for _ in range(2)] == [201, 200]
    assert len(c.get(f"/v1/inspections/{iid}/checklist-results", headers=world.viewer).json()["items"]) == 1


def test_illegal_transitions_are_409_with_the_reason(world):
    c = world.svc.client
    iid = world.scheduled(started=False)
    r = c.post(f"/v1/inspections/{iid}/findings", headers=world.member,
               json={"id": uid(), "criterion_code": "1", "severity": "minor", "description": "x"})
    assert r.status_code == 409 and "scheduled" in r.json()["message"]
    conclusion = {"id": uid(), "summary": "Kết luận", "document": {
        "kind": "notice", "number": "12/TB-SNV", "date": "2026-03-20", "place": "Vĩnh Long",
        "signer_title": "GIÁM ĐỐC", "signer_name": "Nguyễn Thị Hồng"}}
    r = c.post(f"/v1/inspections/{iid}/conclusion", headers=world.leader, json=conclusion)
    assert r.status_code == 409 and "cannot conclude an inspection that is scheduled" in r.json()["message"]
    assert c.post(f"/v1/inspections/{iid}/start", headers=world.member).status_code == 200
    r = c.post(f"/v1/inspections/{iid}/start", headers=world.member)
    assert r.status_code == 409 and "in_progress" in r.json()["message"]
    assert c.post(f"/v1/inspections/{iid}/conclusion", headers=world.member, json=conclusion).status_code == 403
    assert c.post(f"/v1/inspections/{iid}/conclusion", headers=world.leader, json=conclusion).status_code == 201
    r = c.post(f"/v1/inspections/{iid}/start", headers=world.member)
    assert r.status_code == 409 and "closed" in r.json()["message"]  # nothing to remediate: closed at once
    assert [e["inspection_id"] for e in outbox(world.svc, "inspection.closed")] == [iid]


def test_evidence_size_and_type_limits_and_content_hash(world):
    c = world.svc.client
    iid = world.scheduled()
    fid = world.finding(iid)["id"]
    big = c.post(f"/v1/findings/{fid}/evidence", headers=world.member, data={"id": uid()},
                 files={"file": ("anh.png", b"\x89PNG" + b"0" * 2000, "image/png")})
    assert big.status_code == 413 and big.json()["error"] == "too_large"
    text = c.post(f"/v1/findings/{fid}/evidence", headers=world.member, data={"id": uid()},
                  files={"file": ("ghi-chú.txt", "biên bản".encode(), "text/plain")})
    assert text.status_code == 415 and "text/plain" in text.json()["message"]
    eid = uid()
    ok = [c.post(f"/v1/findings/{fid}/evidence", headers=world.member, data={"id": eid},
                 files={"file": ("ảnh hiện trường.png", PNG, "image/png")}) for _ in range(2)]
    assert [r.status_code for r in ok] == [201, 200] and ok[0].json() == ok[1].json()
    assert ok[0].json()["sha256"] == hashlib.sha256(PNG).hexdigest() and ok[0].json()["filename"] == "ảnh hiện trường.png"
    # The same bytes under another id: a second attachment, one stored blob.
    assert c.post(f"/v1/findings/{fid}/evidence", headers=world.member, data={"id": uid()},
                  files={"file": ("copy.png", PNG, "image/png")}).status_code == 201
    assert count(world.svc, "SELECT count(*) AS n FROM evidence_blobs") == 1
    # Audited through the attachment row (who attached which hash), the bytes are not copied into the log.
    assert count(world.svc, "SELECT count(*) AS n FROM audit_log WHERE table_name = 'evidence'") == 2
    assert count(world.svc, "SELECT count(*) AS n FROM audit_log WHERE table_name = 'evidence_blobs'") == 0
    assert len(c.get(f"/v1/findings/{fid}", headers=world.viewer).json()["evidence"]) == 2
    download = c.get(f"/v1/evidence/{eid}", headers=world.viewer)
    assert download.status_code == 200 and download.content == PNG


def test_surprise_inspection_is_embargoed_until_it_starts(world):
    c = world.svc.client
    iid = uid()
    r = c.post("/v1/inspections", headers=world.member, json={
        "id": iid, "unit_id": world.unit_id, "reason": "Phản ánh về thái độ nhũng nhiễu tại bộ phận một cửa",
        "citizen_report_ref": "PA-0007", "citizen_contact": "Bà Võ Thị Lan, 0909 000 111"})
    assert r.status_code == 201 and r.json()["surprise"] is True
    assert c.get("/v1/inspections", headers=world.head).json()["items"] == []
    assert c.get(f"/v1/inspections/{iid}", headers=world.head).status_code == 404
    assert count(world.svc, "SELECT count(*) AS n FROM outbox") == 0
    assert "citizen_contact" not in c.get(f"/v1/inspections/{iid}", headers=world.viewer).json()
    assert c.get(f"/v1/inspections/{iid}", headers=world.member).json()["citizen_contact"] == "Bà Võ Thị Lan, 0909 000 111"

    assert c.post(f"/v1/inspections/{iid}/start", headers=world.member).status_code == 200
    started = outbox(world.svc, "inspection.started")
    assert len(started) == 1 and started[0]["surprise"] is True and started[0]["inspection_id"] == iid
    assert [i["id"] for i in c.get("/v1/inspections", headers=world.head).json()["items"]] == [iid]
    assert c.get(f"/v1/inspections/{iid}", headers=world.head).status_code == 200
    # A head of another unit never sees it.
    stranger = world.svc.auth(world.tenant, "unit_head", unit_id=uid())
    assert c.get(f"/v1/inspections/{iid}", headers=stranger).status_code == 404

    reply = {"id": uid(), "replied_on": "2026-03-20", "channel": "letter",
             "outcome": "Đã kiểm tra, xác minh phản ánh đúng; đã nhắc nhở công chức"}
    assert [c.post(f"/v1/inspections/{iid}/citizen-reply", headers=world.member, json=reply).status_code
            for _ in range(2)] == [201, 200]
    assert c.get(f"/v1/inspections/{iid}", headers=world.viewer).json()["citizen_replies"][0]["outcome"] == reply["outcome"]
    plain = world.scheduled()
    assert c.post(f"/v1/inspections/{plain}/citizen-reply", headers=world.member, json={**reply, "id": uid()}).status_code == 409


def test_surprise_inspection_of_a_merged_unit_names_the_successor(world):
    successor, old = uid(), uid()
    feed(world.svc, world.tenant, "unit.changed",
         unit_event(old, "UBND huyện Long Hồ", change="merged", level=2, kind="district", valid_to="2025-06-30",
                    successor_id=successor))
    r = world.svc.client.post("/v1/inspections", headers=world.member,
                              json={"id": uid(), "unit_id": old, "reason": "Phản ánh"})
    assert r.status_code == 422 and r.json()["field"] == "body.unit_id" and successor in r.json()["message"]


def test_officials_are_shown_only_to_those_who_may_read_them_and_each_read_is_logged(world, tenant):
    c = world.svc.client
    iid = world.scheduled()
    fid = world.finding(iid, officials=[{"name": "Đặng Văn Tú", "position": "Phó Chủ tịch UBND xã"}])["id"]
    event = outbox(world.svc, "violation.recorded")[0]
    assert event["officials_count"] == 1 and "Đặng Văn Tú" not in str(event)
    assert c.get(f"/v1/findings/{fid}", headers=world.member).json()["officials"] == [
        {"name": "Đặng Văn Tú", "position": "Phó Chủ tịch UBND xã"}]
    for who in (world.viewer, world.head):
        body = c.get(f"/v1/inspections/{iid}/findings", headers=who).json()["items"][0]
        assert "officials" not in body and body["description"] == "Công chức uống rượu bia trong giờ làm việc"
    admin = world.svc.auth(tenant, "province_admin")
    log = c.get(f"/v1/findings/{fid}/officials-access", headers=admin).json()["items"]
    # The create answer (team member) and the read (team member): two reads, none by the viewer or the head.
    assert len(log) == 2 and all("team_member" in row["roles"] for row in log)
    assert c.get(f"/v1/findings/{fid}/officials-access", headers=world.member).status_code == 403


def test_dossier_sample_is_reproducible_and_days_late_are_computed(world):
    c = world.svc.client
    iid = world.scheduled()
    lines = ["code,field,received_on,due_on,resolved_on"] + [
        f"HS-{n:03d},đất đai,2026-01-05,2026-02-13,{'2026-02-23' if n % 2 else ''}" for n in range(40)]
    r = c.post(f"/v1/units/{world.unit_id}/dossiers", headers={**world.member, "content-type": "text/csv"},
               content="\n".join(lines).encode())
    assert r.status_code == 200 and r.json()["received"] == 40
    pushed = c.post(f"/v1/units/{world.unit_id}/dossiers", headers=world.head, json={"dossiers": [
        {"code": "HS-900", "field": "xây dựng", "received_on": "2026-02-02", "due_on": "2026-02-27", "resolved_on": "2026-02-26"}]})
    assert pushed.status_code == 200
    bad = c.post(f"/v1/units/{world.unit_id}/dossiers", headers={**world.member, "content-type": "text/csv"},
                 content=b"code,field,received_on,due_on\nHS-1,land,2026-13-01,2026-02-01\n")
    assert bad.status_code == 422 and "line 2" in bad.json()["message"]
    legacy = c.post(f"/v1/units/{world.unit_id}/dossiers", headers={**world.member, "content-type": "text/csv"},
                    content="code,field,received_on,due_on\nHS-1,đất đai,2026-01-05,2026-01-20\n".encode("utf-16"))
    assert legacy.status_code == 422 and "UTF-8" in legacy.json()["message"]

    sample = {"id": uid(), "size": 5, "seed": "Sở Nội vụ 2026"}
    drawn = c.post(f"/v1/inspections/{iid}/dossier-sample", headers=world.member, json=sample)
    assert drawn.status_code == 201 and len(drawn.json()["drawn"]) == 5 and drawn.json()["seed"] == "Sở Nội vụ 2026"
    assert c.post(f"/v1/inspections/{iid}/dossier-sample", headers=world.member, json=sample).json() == drawn.json()
    verify = c.get(f"/v1/inspections/{iid}/dossier-sample/verify", headers=world.head).json()
    assert verify["matches"] and verify["redrawn"] == drawn.json()["drawn"] and verify["population_size"] == 41

    code = drawn.json()["drawn"][0]
    check = c.post(f"/v1/inspections/{iid}/dossier-checks", headers=world.member,
                   json={"id": uid(), "dossier_code": code, "note": "Không có văn bản xin lỗi", "days_late": 0})
    assert check.status_code == 201, check.text
    # Due Friday 13 Feb (before Tết); resolved 23 Feb = 1 working day late; open until Tuesday 10 March = 12.
    expected = 1 if int(code[3:]) % 2 else 12
    assert check.json()["days_late"] == expected and check.json()["late"] is True
    event = outbox(world.svc, "dossier.checked")[0]
    assert event["days_late"] == expected and event["sample_seed"] == "Sở Nội vụ 2026" and event["field"] == "đất đai"
    outside = c.post(f"/v1/inspections/{iid}/dossier-checks", headers=world.member,
                     json={"id": uid(), "dossier_code": "HS-900"})
    assert outside.status_code == 422 and outside.json()["field"] == "body.dossier_code"


def test_another_tenants_records_are_404(world, service_harness):
    c = world.svc.client
    iid = world.scheduled()
    fid = world.finding(iid)["id"]
    intruder = world.svc.auth(f"other-{uuid.uuid4().hex[:6]}", "team_leader")
    assert c.get(f"/v1/inspections/{iid}", headers=intruder).status_code == 404
    assert c.get(f"/v1/findings/{fid}", headers=intruder).status_code == 404
    assert c.post(f"/v1/inspections/{iid}/start", headers=intruder).status_code == 404
    assert c.post(f"/v1/inspections/{iid}/findings", headers=intruder,
                  json={"id": uid(), "criterion_code": "1", "severity": "minor", "description": "x"}).status_code == 404
    assert c.get("/v1/inspections", headers=intruder).json()["items"] == []
    # Reusing another tenant's record id is refused, not merged.
    r = c.post("/v1/inspections", headers=intruder, json={"id": iid, "unit_id": world.unit_id, "reason": "x"})
    assert r.status_code in (409, 422)
    # An event of another tenant that names this tenant's records is refused (it goes to the dead letters).
    with pytest.raises(psycopg.Error):
        feed(world.svc, "tenant-intruder", "inspection.scheduled", scheduled_event(iid, world.unit_id))
    with pytest.raises(psycopg.Error):
        feed(world.svc, "tenant-intruder", "unit.changed", unit_event(world.unit_id, "Tên giả mạo"))
    assert c.get(f"/v1/inspections/{iid}", headers=world.viewer).json()["unit_id"] == world.unit_id
    central = world.svc.auth("*", "central_viewer")
    assert c.get(f"/v1/inspections/{iid}", headers=central).status_code == 200


def test_a_finding_is_checked_against_its_inspections_checklist_version(world):
    c = world.svc.client
    checklist = uid()
    pinned, latest = uid(), uid()
    for iid, version in ((pinned, 1), (latest, None)):
        feed(world.svc, world.tenant, "inspection.scheduled",
             scheduled_event(iid, world.unit_id, checklist_id=checklist, checklist_version=version))
        assert c.post(f"/v1/inspections/{iid}/start", headers=world.member).status_code == 200

    def post(iid: str, code: str):
        return c.post(f"/v1/inspections/{iid}/findings", headers=world.member,
                      json={"id": uid(), "criterion_code": code, "severity": "minor", "description": "x"})

    assert post(pinned, "7.7").status_code == 201  # the checklist is not replicated yet: any code is taken
    for version, codes in ((1, ["1", "1.2"]), (2, ["1", "2.1"])):
        feed(world.svc, world.tenant, "checklist.published", {
            "checklist_id": checklist, "version": version, "title": f"Nội dung kiểm tra {version}",
            "criteria": [{"code": code, "title": code, "parent_code": None} for code in codes]})
    assert post(pinned, "1.2").status_code == 201
    refused = post(pinned, "2.1")
    assert refused.status_code == 422 and refused.json()["field"] == "body.criterion_code"
    assert post(latest, "2.1").status_code == 201 and post(latest, "1.2").status_code == 422
    # What the create answers is what a later read shows.
    made = world.finding(latest, criterion_code="1", officials=[{"name": "Võ Văn Tâm", "position": "Văn thư"}])
    assert c.get(f"/v1/findings/{made['id']}", headers=world.member).json() == made
