"""Planning over HTTP without workers: checklists, teams, plan workflow, ETags, coverage, conflicts, DOCX, isolation."""
from __future__ import annotations

import uuid

from shared.documents import docx_text
from tests.integration.plans_planning_support import (auth, ADMIN, PLANNER, PLANS, approve, create_plan, create_team, outbox,
                                                      person, province, schedule)


def test_checklists_default_catalogue_versions_and_immutability(service_harness, tenant):
    svc = service_harness(PLANS)
    h = auth(svc, tenant, PLANNER)
    first = svc.client.post("/v1/checklists/default", headers=h)
    assert first.status_code == 201, first.text
    again = svc.client.post("/v1/checklists/default", headers=h)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    default = first.json()
    assert default["version"] == 1 and default["published"] is True
    codes = {c["code"]: c["title"] for c in default["criteria"]}
    assert codes["KLKC.02"] == "Không uống rượu, bia trước, trong giờ làm việc và giờ nghỉ trưa"
    assert len(outbox(svc, tenant, "checklist.published")) == 1  # the second install published nothing

    body = {"title": "Kiểm tra chuyên đề văn hóa công sở", "publish": False, "criteria": [
        {"code": "VH", "title": "Văn hóa công sở"}, {"code": "VH.01", "title": "Đeo thẻ công chức", "parent_code": "VH"}]}
    created = svc.client.post("/v1/checklists", headers=h, json=body)
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert created.json()["published"] is False
    # A draft may be rewritten, then published once; after that it is immutable.
    fixed = svc.client.put(f"/v1/checklists/{cid}/versions/1", headers=h, json={"criteria": body["criteria"] + [
        {"code": "VH.02", "title": "Trang phục công sở", "parent_code": "VH"}]})
    assert fixed.status_code == 200 and len(fixed.json()["criteria"]) == 3
    assert svc.client.post(f"/v1/checklists/{cid}/versions/1/publish", headers=h).status_code == 200
    again = svc.client.put(f"/v1/checklists/{cid}/versions/1", headers=h, json={"criteria": body["criteria"]})
    assert again.status_code == 409 and "cannot change" in again.json()["message"]
    assert svc.client.post(f"/v1/checklists/{cid}/versions/1/publish", headers=h).status_code == 409
    v2 = svc.client.post(f"/v1/checklists/{cid}/versions", headers=h, json={"criteria": [
        {"code": "VH", "title": "Văn hóa công sở, giao tiếp ứng xử"}]})
    assert v2.status_code == 201 and v2.json()["version"] == 2
    old = svc.client.get(f"/v1/checklists/{cid}?version=1", headers=auth(svc, tenant, "viewer")).json()
    assert [c["code"] for c in old["criteria"]] == ["VH", "VH.01", "VH.02"]
    assert [v["version"] for v in old["versions"]] == [1, 2]
    latest = svc.client.get(f"/v1/checklists/{cid}", headers=h).json()
    assert latest["version"] == 2 and latest["criteria"][0]["title"] == "Văn hóa công sở, giao tiếp ứng xử"
    published = outbox(svc, tenant, "checklist.published")
    assert [(p["checklist_id"], p["version"]) for p in published[1:]] == [(cid, 1), (cid, 2)]

    bad = svc.client.post("/v1/checklists", headers=h, json={"title": "Sai", "criteria": [
        {"code": "A", "title": "Một", "parent_code": "KHÔNG-CÓ"}]})
    assert bad.status_code == 422 and bad.json()["field"] == "body.criteria[0].parent_code"
    assert svc.client.post("/v1/checklists", headers=auth(svc, tenant, "viewer"), json=body).status_code == 403
    assert svc.client.get(f"/v1/checklists/{cid}", headers=auth(svc, "another-" + tenant, "viewer")).status_code == 404


def test_plan_workflow_etags_versions_and_tenant_isolation(service_harness, tenant):
    svc = service_harness(PLANS)
    tree = province(svc, tenant, "Tỉnh Vĩnh Long", departments=["Sở Nội vụ", "Sở Tài chính", "Sở Tư pháp"],
                    districts={})
    team = create_team(svc, tenant, "Đoàn kiểm tra công vụ số 1", tree["Sở Nội vụ"],
                       person("cb-01", "Nguyễn Thị Thu Hà", tree["Sở Nội vụ"], "Trưởng đoàn"),
                       [person("cb-02", "Đặng Quốc Việt", tree["Sở Tài chính"], "Thành viên", "viet.dq@stc.vinhlong.gov.vn")])
    assert outbox(svc, tenant, "team.changed")[0]["members"][0]["name"] == "Đặng Quốc Việt"
    checklist = svc.client.post("/v1/checklists/default", headers=auth(svc, tenant, PLANNER)).json()
    created = svc.client.post("/v1/plans", headers=auth(svc, tenant, PLANNER), json={
        "year": 2026, "type": "public_service", "title": "Kế hoạch kiểm tra công vụ năm 2026",
        "purpose": ["Ngăn ngừa vi phạm kỷ luật, kỷ cương hành chính"], "checklist_id": checklist["id"],
        "forms": ["on_site", "surprise"]})
    assert created.status_code == 201, created.text
    plan = created.json()
    pid, etag = plan["id"], created.headers["etag"]
    assert plan["status"] == "draft" and plan["checklist_version"] == 1 and plan["version"] == 0
    url, h = f"/v1/plans/{pid}", auth(svc, tenant, PLANNER)

    # Edits need If-Match (428 without), refuse a stale one (412), and move the ETag on.
    assert svc.client.patch(url, headers=h, json={"title": "Kế hoạch mới"}).status_code == 428
    ok = svc.client.patch(url, headers={**h, "If-Match": etag}, json={"title": "Kế hoạch kiểm tra công vụ năm 2026 (sửa)"})
    assert ok.status_code == 200 and ok.headers["etag"] != etag and ok.json()["purpose"] == plan["purpose"]
    stale = svc.client.patch(url, headers={**h, "If-Match": etag}, json={"title": "Ghi đè"})
    assert stale.status_code == 412 and stale.json()["etag"] == ok.headers["etag"]
    put = svc.client.put(url, headers={**h, "If-Match": ok.headers["etag"]}, json={
        "year": 2026, "type": "public_service", "title": "Kế hoạch kiểm tra công vụ năm 2026", "forms": ["on_site", "surprise"],
        "checklist_id": checklist["id"], "focus_codes": ["NDD.05"]})
    assert put.status_code == 200 and put.json()["purpose"] == [] and put.json()["focus_codes"] == ["NDD.05"]
    bad_focus = svc.client.patch(url, headers={**h, "If-Match": put.headers["etag"]}, json={"focus_codes": ["XX.99"]})
    assert bad_focus.status_code == 422 and bad_focus.json()["field"] == "body.focus_codes[0]"
    assert svc.client.patch(url, headers={**h, "If-Match": put.headers["etag"]}, json={"year": 1999}).status_code == 422
    untitled = svc.client.patch(url, headers={**h, "If-Match": put.headers["etag"]}, json={"title": None})
    assert untitled.status_code == 422 and untitled.json()["field"] == "body.title"
    rule = {"id": "xa", "description": "Mỗi huyện một xã", "level": 3, "per_level": 2}
    no_count = svc.client.patch(url, headers={**h, "If-Match": put.headers["etag"]}, json={"coverage_rules": [rule]})
    assert no_count.status_code == 422 and no_count.json()["field"] == "body.coverage_rules[0].min_count"
    assert svc.client.get("/v1/plans?year=99999999999", headers=h).status_code == 422
    cleared = svc.client.patch(url, headers={**h, "If-Match": put.headers["etag"]}, json={"checklist_id": None})
    assert cleared.status_code == 200 and (cleared.json()["checklist_version"], cleared.json()["focus_codes"]) == (None, [])
    put = svc.client.patch(url, headers={**h, "If-Match": cleared.headers["etag"]}, json={
        "checklist_id": checklist["id"], "focus_codes": ["NDD.05", "NDD.05"], "forms": ["on_site", "surprise", "on_site"]})
    assert (put.json()["checklist_version"], put.json()["focus_codes"], put.json()["forms"]) == (
        1, ["NDD.05"], ["on_site", "surprise"])

    # Schedule: validation names the field; another tenant's unit does not exist here.
    i1 = schedule(svc, tenant, pid, tree["Sở Tài chính"], "2026-03-02", "2026-03-06", team_id=team["id"])
    i2 = schedule(svc, tenant, pid, tree["Sở Tư pháp"], "2026-04-06", "2026-04-10", "surprise", team["id"])
    wrong = svc.client.post(f"{url}/inspections", headers=h, json={
        "unit_id": tree["Sở Tư pháp"], "window_start": "2026-05-04", "window_end": "2026-05-08", "form": "online"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "body.form"
    wrong = svc.client.post(f"{url}/inspections", headers=h, json={
        "unit_id": str(uuid.uuid4()), "window_start": "2026-05-04", "window_end": "2026-05-08", "form": "on_site"})
    assert wrong.status_code == 422 and wrong.json()["field"] == "body.unit_id"
    assert svc.client.delete(f"{url}/inspections/{i2}", headers=h).status_code == 204
    i2 = schedule(svc, tenant, pid, tree["Sở Tư pháp"], "2026-04-06", "2026-04-10", "surprise", team["id"])

    # Conflict of interest: the Finance member would inspect Finance.
    conflicts = svc.client.get(f"{url}/conflicts", headers=h).json()["conflicts"]
    assert [(c["person_id"], c["unit_name"], c["reason"]) for c in conflicts] == [("cb-02", "Sở Tài chính", "works_in_unit")]

    # Approval needs plans:approve and a decision number.
    decision = {"number": "125/QĐ-UBND", "date": "2026-01-15", "signer": "Lữ Quang Ngời"}
    assert svc.client.post(f"{url}/approve", headers=h, json={"decision": decision}).status_code == 403
    bad = svc.client.post(f"{url}/approve", headers=auth(svc, tenant, ADMIN), json={"decision": {**decision, "number": "125"}})
    assert bad.status_code == 422 and bad.json()["field"] == "body.decision.number"
    approved = approve(svc, tenant, pid, **{"number": "125/QĐ-UBND", "on": "2026-01-15", "signer": "Lữ Quang Ngời"})
    assert approved["status"] == "approved" and approved["version"] == 1 and approved["decision"]["signer"] == "Lữ Quang Ngời"
    again = svc.client.post(f"{url}/approve", headers=auth(svc, tenant, ADMIN), json={"decision": decision})
    assert again.status_code == 409 and "only a draft can be approved" in again.json()["message"]
    edit = svc.client.patch(url, headers={**h, "If-Match": svc.client.get(url, headers=h).headers["etag"]}, json={"title": "x"})
    assert edit.status_code == 409 and "amendment" in edit.json()["message"]
    assert svc.client.post(f"{url}/inspections", headers=h, json={
        "unit_id": tree["Sở Nội vụ"], "window_start": "2026-05-04", "window_end": "2026-05-08", "form": "on_site"}).status_code == 409

    # Amendment: a new version, the old one kept; removed and added inspections.
    amended = svc.client.post(f"{url}/amendments", headers=auth(svc, tenant, ADMIN), json={
        "reason": "Điều chỉnh theo Chỉ thị 02/CT-UBND", "decision": {"number": "890/QĐ-UBND", "date": "2026-06-01",
                                                                     "signer": "Lữ Quang Ngời"},
        "remove": [i1], "add": [{"unit_id": tree["Sở Nội vụ"], "window_start": "2026-07-06", "window_end": "2026-07-10",
                                 "form": "surprise"}]})
    assert amended.status_code == 200, amended.text
    assert amended.json()["status"] == "amended" and amended.json()["version"] == 2
    assert [p["unit_id"] for p in amended.json()["planned_inspections"]] == [tree["Sở Tư pháp"], tree["Sở Nội vụ"]]
    versions = svc.client.get(f"{url}/versions", headers=auth(svc, tenant, "viewer")).json()["items"]
    assert [(v["version"], v["status"], v["decision"]["number"]) for v in versions] == [
        (1, "approved", "125/QĐ-UBND"), (2, "amended", "890/QĐ-UBND")]
    assert len(versions[0]["snapshot"]["planned_inspections"]) == 2 and versions[1]["reason"].startswith("Điều chỉnh")
    one = svc.client.get(f"{url}/versions/1", headers=auth(svc, tenant, "viewer")).json()
    assert [p["id"] for p in one["snapshot"]["planned_inspections"]] == [i1, i2]
    assert svc.client.get(f"{url}/versions/3", headers=auth(svc, tenant, "viewer")).status_code == 404
    stale = svc.client.post(f"{url}/close", headers={**auth(svc, tenant, ADMIN), "If-Match": etag}, json={})
    assert stale.status_code == 412
    early = svc.client.post(f"{url}/close", headers=auth(svc, tenant, ADMIN), json={"closed_on": "2026-01-10"})
    assert early.status_code == 422 and early.json()["field"] == "body.closed_on"
    closed = svc.client.post(f"{url}/close", headers=auth(svc, tenant, ADMIN), json={"closed_on": "2026-12-31"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    late = svc.client.post(f"{url}/amendments", headers=auth(svc, tenant, ADMIN), json={"reason": "Muộn"})
    assert late.status_code == 409 and "the plan is closed" in late.json()["message"]

    # Events staged with the state changes.
    assert [p["version"] for p in outbox(svc, tenant, "plan.approved")] == [1]
    scheduled = outbox(svc, tenant, "inspection.scheduled")
    assert [(s["inspection_id"], s["plan_version"]) for s in scheduled[:2]] == [(i1, 1), (i2, 1)]
    assert len(scheduled) == 3 and scheduled[2]["plan_version"] == 2 and scheduled[2]["form"] == "surprise"
    assert [(c["inspection_id"], c["reason"]) for c in outbox(svc, tenant, "inspection.cancelled")] == [
        (i1, "Điều chỉnh theo Chỉ thị 02/CT-UBND")]
    assert outbox(svc, tenant, "plan.amended")[0]["planned_inspections"] == 2
    assert outbox(svc, tenant, "plan.closed") == [{"plan_id": pid, "version": 2, "year": 2026, "closed_on": "2026-12-31"}]

    # Another province sees none of it.
    other = auth(svc, "other-" + tenant, ADMIN)
    for path in (url, f"{url}/coverage", f"{url}/versions", f"{url}/document.docx", f"/v1/teams/{team['id']}"):
        assert svc.client.get(path, headers=other).status_code == 404, path
    assert svc.client.patch(url, headers={**other, "If-Match": "*"}, json={"title": "x"}).status_code == 404
    assert svc.client.get("/v1/plans", headers=other).json()["items"] == []
    central = svc.client.get("/v1/plans?year=2026", headers=auth(svc, "*", "central_viewer")).json()["items"]
    assert pid in [p["id"] for p in central]


def test_teams_validation_and_if_match(service_harness, tenant):
    svc = service_harness(PLANS)
    tree = province(svc, tenant, "Tỉnh Trà Vinh", departments=["Sở Nội vụ", "Sở Tư pháp"], districts={})
    leader = person("tv-01", "Thạch Thị Sô Phi", tree["Sở Nội vụ"], "Trưởng đoàn")
    dup = svc.client.post("/v1/teams", headers=auth(svc, tenant, PLANNER), json={
        "name": "Đoàn kiểm tra", "lead_unit_id": tree["Sở Nội vụ"], "leader": leader, "members": [leader]})
    assert dup.status_code == 422 and dup.json()["field"] == "body.members[0].person_id"
    team = create_team(svc, tenant, "Đoàn kiểm tra công vụ tỉnh Trà Vinh", tree["Sở Nội vụ"], leader, [])
    url = f"/v1/teams/{team['id']}"
    body = {"name": "Đoàn kiểm tra công vụ tỉnh Trà Vinh", "lead_unit_id": tree["Sở Nội vụ"], "leader": leader,
            "members": [person("tv-02", "Kim Ngọc Sang", tree["Sở Tư pháp"], "Thành viên")]}
    r = svc.client.put(url, headers={**auth(svc, tenant, PLANNER), "If-Match": '"1"'}, json=body)
    assert r.status_code == 200 and r.json()["revision"] == 2 and r.json()["members"][0]["name"] == "Kim Ngọc Sang"
    assert svc.client.put(url, headers={**auth(svc, tenant, PLANNER), "If-Match": '"1"'}, json=body).status_code == 412
    assert svc.client.put(url, headers=auth(svc, tenant, "viewer"), json=body).status_code == 403
    assert [t["revision"] for t in svc.client.get("/v1/teams", headers=auth(svc, tenant, "viewer")).json()["items"]] == [2]
    assert len(outbox(svc, tenant, "team.changed")) == 2


def test_coverage_gaps_conflicts_and_docx(service_harness, tenant):
    svc = service_harness(PLANS)
    tree = province(svc, tenant, "Tỉnh Trà Vinh", departments=["Sở Nội vụ", "Sở Tài chính", "Sở Xây dựng"], districts={
        "Huyện Cầu Kè": ["Xã An Phú Tân", "Xã Hòa Ân"], "Huyện Tiểu Cần": ["Thị trấn Tiểu Cần"],
        "Thành phố Trà Vinh": ["Phường 1"]})
    tree.add("Bộ phận Một cửa xã Hòa Ân", 4, "one_stop_desk", "Xã Hòa Ân")
    team = create_team(svc, tenant, "Đoàn kiểm tra công vụ", tree["Sở Nội vụ"],
                       person("a", "Nguyễn Văn Ân", tree["Sở Nội vụ"], "Phó Giám đốc Sở Nội vụ"),
                       [person("b", "Sơn Thị Kim Liên", tree["Bộ phận Một cửa xã Hòa Ân"], "Công chức một cửa")])
    plan = create_plan(svc, tenant, year=2023, type="public_service", title="Kế hoạch kiểm tra công vụ năm 2023",
                       forms=["on_site", "online"], targets=["UBND các huyện, thị xã, thành phố; UBND các xã"],
                       issuer={"authority": "ỦY BAN NHÂN DÂN TỈNH TRÀ VINH", "place": "Trà Vinh", "number": "12",
                               "signer_title": "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH", "signer_name": "Nguyễn Trung Hoàng",
                               "recipients": ["Bộ Nội vụ (b/c)", "Lưu: VT, NC"]},
                       coverage_rules=[
                           {"id": "huyen", "description": "Tất cả huyện, thị xã, thành phố", "level": 2,
                            "kind": "district_committee"},
                           {"id": "xa", "description": "Ít nhất 1 xã mỗi huyện", "level": 3, "min_count": 1, "per_level": 2},
                           {"id": "so", "description": "Ít nhất 2 sở", "kind": "department", "min_count": 2}])
    pid = plan["id"]
    schedule(svc, tenant, pid, tree["Huyện Cầu Kè"], "2023-03-06", "2023-03-10", team_id=team["id"])
    schedule(svc, tenant, pid, tree["Xã Hòa Ân"], "2023-03-13", "2023-03-14", team_id=team["id"])
    schedule(svc, tenant, pid, tree["Thành phố Trà Vinh"], "2023-04-03", "2023-04-07", "online", team["id"])
    schedule(svc, tenant, pid, tree["Sở Xây dựng"], "2023-05-08", "2023-05-12", team_id=team["id"])
    report = svc.client.get(f"/v1/plans/{pid}/coverage", headers=auth(svc, tenant, "viewer")).json()
    assert report["as_of"] == "2023-01-01" and report["satisfied"] is False
    rules = {r["rule_id"]: r for r in report["rules"]}
    assert (rules["huyen"]["required"], rules["huyen"]["covered"], rules["huyen"]["shortfall"]) == (3, 2, 1)
    assert [m["name"] for m in rules["huyen"]["missing"]] == ["Huyện Tiểu Cần"]
    assert (rules["xa"]["shortfall"], [m["name"] for m in rules["xa"]["missing"]]) == (2, sorted(
        ["Huyện Tiểu Cần", "Thành phố Trà Vinh"], key=lambda n: tree[n]))
    assert (rules["so"]["covered"], rules["so"]["shortfall"]) == (1, 1)
    assert {c["name"] for c in rules["so"]["candidates"]} == {"Sở Nội vụ", "Sở Tài chính"}
    # The one-stop officer would inspect her own commune, and the district it belongs to.
    conflicts = svc.client.get(f"/v1/plans/{pid}/conflicts", headers=auth(svc, tenant, "viewer")).json()["conflicts"]
    assert [(c["name"], c["unit_name"], c["reason"]) for c in conflicts] == [
        ("Sơn Thị Kim Liên", "Huyện Cầu Kè", "works_in_subunit"), ("Sơn Thị Kim Liên", "Xã Hòa Ân", "works_in_subunit")]

    approve(svc, tenant, pid, "86/QĐ-UBND", "2023-01-30", "Nguyễn Trung Hoàng")
    r = svc.client.get(f"/v1/plans/{pid}/document.docx", headers=auth(svc, tenant, "viewer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    text = docx_text(r.content)
    for expected in ("ỦY BAN NHÂN DÂN TỈNH TRÀ VINH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Số: 12/KH-UBND",
                     "Trà Vinh, ngày 30 tháng 01 năm 2023", "KẾ HOẠCH", "Kiểm tra công vụ năm 2023",
                     "Tất cả huyện, thị xã, thành phố", "Kiểm tra trực tuyến", "Huyện Cầu Kè", "Xã Hòa Ân",
                     "06/03/2023 - 10/03/2023", "Nguyễn Văn Ân, Phó Giám đốc Sở Nội vụ - Trưởng đoàn", "Nơi nhận:",
                     "Bộ Nội vụ (b/c)", "PHÓ CHỦ TỊCH", "Nguyễn Trung Hoàng"):
        assert expected in text, expected


def test_demo_plan_on_the_seeded_demo_province_is_idempotent(service_harness, tenant):
    from services.plans.org.seed import seed_province
    from services.plans.planning.demo import create_demo_plan, install_default_checklist

    svc = service_harness(PLANS)
    seed_province(svc.runtime, tenant, "86")  # Vĩnh Long, as the start script does
    checklist_id = install_default_checklist(svc.runtime, tenant)
    plan_id = create_demo_plan(svc.runtime, tenant)
    assert create_demo_plan(svc.runtime, tenant) == plan_id
    viewer = auth(svc, tenant, "viewer")
    plan = svc.client.get(f"/v1/plans/{plan_id}", headers=viewer).json()
    assert (plan["status"], plan["checklist_id"], len(plan["planned_inspections"])) == ("approved", checklist_id, 8)
    assert svc.client.get(f"/v1/plans/{plan_id}/coverage", headers=viewer).json()["satisfied"] is True
    assert svc.client.get(f"/v1/plans/{plan_id}/conflicts", headers=viewer).json()["conflicts"] == []
    assert len(svc.client.get("/v1/teams", headers=viewer).json()["items"]) == 1
    text = docx_text(svc.client.get(f"/v1/plans/{plan_id}/document.docx", headers=viewer).content)
    assert "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG" in text and "Vĩnh Long, ngày 15 tháng 01 năm 2026" in text
    assert "Số: 18/KH-UBND" in text and "Sở Nội vụ" in text
