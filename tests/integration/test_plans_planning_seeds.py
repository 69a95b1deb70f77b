"""Each seed document (/work/shared/seeds) entered as data through the API, and what the service says about it.

Names are real units of the provinces before the 2025 reform; numbers and dates the seeds do not give
(decision numbers of plans whose number is not quoted, windows) are marked as assumed.
"""
from __future__ import annotations

from shared.documents import docx_text
from tests.integration.plans_planning_support import (auth, ADMIN, PLANNER, PLANS, approve, create_plan, create_team, outbox,
                                                      person, province, schedule)

DONG_THAP_DISTRICTS = {
    "Thành phố Cao Lãnh": "Xã Mỹ Trà", "Thành phố Sa Đéc": "Xã Tân Khánh Đông", "Thành phố Hồng Ngự": "Xã Bình Thạnh",
    "Huyện Tân Hồng": "Xã Tân Công Chí", "Huyện Hồng Ngự": "Xã Thường Thới Hậu A", "Huyện Tam Nông": "Xã Phú Đức",
    "Huyện Thanh Bình": "Xã Tân Thạnh", "Huyện Tháp Mười": "Xã Mỹ Đông", "Huyện Cao Lãnh": "Xã Mỹ Long",
    "Huyện Lấp Vò": "Xã Định Yên", "Huyện Lai Vung": "Xã Tân Thành", "Huyện Châu Thành": "Xã An Hiệp",
}
TEAM_DEPARTMENTS = ["Sở Nội vụ", "Sở Tài chính", "Sở Thông tin và Truyền thông", "Sở Khoa học và Công nghệ",
                    "Văn phòng UBND tỉnh", "Sở Tài nguyên và Môi trường", "Sở Tư pháp"]
OTHER_DEPARTMENTS = ["Sở Xây dựng", "Sở Y tế", "Sở Giáo dục và Đào tạo", "Sở Kế hoạch và Đầu tư", "Sở Công Thương",
                     "Sở Giao thông vận tải", "Sở Lao động - Thương binh và Xã hội"]


def test_dong_thap_2022_administrative_reform_plan_team_forms_and_exact_coverage(service_harness, tenant):
    """Seed 003: Sở Nội vụ leads a team of eight bodies; 12 districts, ≥1 commune each, ≥8 departments."""
    svc = service_harness(PLANS)
    tree = province(svc, tenant, "Tỉnh Đồng Tháp", departments=TEAM_DEPARTMENTS + OTHER_DEPARTMENTS,
                    districts={d: [c] for d, c in DONG_THAP_DISTRICTS.items()})
    tree.add("Đài Phát thanh và Truyền hình Đồng Tháp", 2, "public_service_unit", "Tỉnh Đồng Tháp")
    tree.add("Báo Đồng Tháp", 2, "public_service_unit", "Tỉnh Đồng Tháp")
    members = [person(f"dt-{i}", name, tree[unit], "Thành viên") for i, (name, unit) in enumerate([
        ("Lê Thị Thanh Thảo", "Sở Tài chính"), ("Võ Minh Trí", "Sở Thông tin và Truyền thông"),
        ("Huỳnh Văn Nghĩa", "Sở Khoa học và Công nghệ"), ("Trần Ngọc Hân", "Văn phòng UBND tỉnh"),
        ("Nguyễn Hữu Phước", "Sở Tài nguyên và Môi trường"), ("Phan Thị Diễm", "Sở Tư pháp"),
        ("Đoàn Quốc Khánh", "Đài Phát thanh và Truyền hình Đồng Tháp"), ("Bùi Thị Ngọc Ánh", "Báo Đồng Tháp")], 1)]
    team = create_team(svc, tenant, "Đoàn kiểm tra công tác CCHC tỉnh Đồng Tháp năm 2022", tree["Sở Nội vụ"],
                       person("dt-0", "Nguyễn Văn Dũng", tree["Sở Nội vụ"], "Phó Giám đốc Sở Nội vụ, Trưởng đoàn"), members)
    assert len({m["unit_id"] for m in team["members"]}) == 8  # eight bodies besides the lead department

    checklist = svc.client.post("/v1/checklists/default", headers=auth(svc, tenant, PLANNER)).json()
    plan = create_plan(svc, tenant, year=2022, type="administrative_reform", title="Kế hoạch kiểm tra công tác CCHC năm 2022",
                       purpose=["Kịp thời phát hiện, nhân rộng các nhân tố mới, điển hình tiên tiến trong thực hiện CCHC; "
                                "chỉ rõ những nơi có khuyết điểm, yếu kém để chấn chỉnh và tìm nguyên nhân để có biện pháp khắc phục."],
                       targets=["Các sở, ngành tỉnh, UBND cấp huyện, cấp xã."],
                       checklist_id=checklist["id"],
                       focus_codes=["TTHC.01", "TCTC.01", "TCCB.01", "TCCB.02", "TCCB.03", "TCTC.02", "CQS.01"],
                       forms=["on_site", "online", "surprise", "self"],
                       coverage_rules=[
                           {"id": "huyen", "description": "12 huyện, thành phố", "level": 2, "kind": "district_committee"},
                           {"id": "xa", "description": "Ít nhất 1 đơn vị hành chính cấp xã của mỗi huyện, thành phố",
                            "level": 3, "kind": "commune_committee", "min_count": 1, "per_level": 2},
                           {"id": "so", "description": "Ít nhất 8 sở, ngành tỉnh", "kind": "department", "min_count": 8}],
                       issuer={"authority": "ỦY BAN NHÂN DÂN TỈNH ĐỒNG THÁP", "place": "Đồng Tháp", "number": "15"})
    pid = plan["id"]
    # Windows are assumed (the seed gives none): a week per district, from March.
    for week, (district, commune) in enumerate(DONG_THAP_DISTRICTS.items()):
        if district == "Huyện Tháp Mười":
            continue
        start = f"2022-{3 + week // 4:02d}-{1 + 7 * (week % 4):02d}"
        end = f"2022-{3 + week // 4:02d}-{5 + 7 * (week % 4):02d}"
        schedule(svc, tenant, pid, tree[district], start, end, "on_site", team["id"])
        schedule(svc, tenant, pid, tree[commune], start, end, "online", team["id"])
    for dept in OTHER_DEPARTMENTS:
        schedule(svc, tenant, pid, tree[dept], "2022-09-05", "2022-09-09", "on_site", team["id"])

    rules = {r["rule_id"]: r for r in svc.client.get(f"/v1/plans/{pid}/coverage", headers=auth(svc, tenant, "viewer")).json()["rules"]}
    assert [(r["required"], r["covered"], r["shortfall"], r["satisfied"]) for r in rules.values()] == [
        (12, 11, 1, False), (12, 11, 1, False), (8, 7, 1, False)]
    assert rules["huyen"]["missing"] == [{"unit_id": tree["Huyện Tháp Mười"], "name": "Huyện Tháp Mười"}]
    assert rules["xa"]["missing"] == [{"unit_id": tree["Huyện Tháp Mười"], "name": "Huyện Tháp Mười"}]
    assert rules["xa"]["candidates"] == [{"unit_id": tree["Xã Mỹ Đông"], "name": "Xã Mỹ Đông"}]
    assert {c["name"] for c in rules["so"]["candidates"]} == set(TEAM_DEPARTMENTS)

    schedule(svc, tenant, pid, tree["Huyện Tháp Mười"], "2022-10-03", "2022-10-07", "on_site", team["id"])
    schedule(svc, tenant, pid, tree["Xã Mỹ Đông"], "2022-10-10", "2022-10-11", "surprise", team["id"])
    schedule(svc, tenant, pid, tree["Sở Tài chính"], "2022-10-17", "2022-10-21", "on_site", team["id"])
    report = svc.client.get(f"/v1/plans/{pid}/coverage", headers=auth(svc, tenant, "viewer")).json()
    assert report["satisfied"] is True and [r["shortfall"] for r in report["rules"]] == [0, 0, 0]
    # The Finance member would inspect her own department.
    conflicts = svc.client.get(f"/v1/plans/{pid}/conflicts", headers=auth(svc, tenant, "viewer")).json()["conflicts"]
    assert [(c["name"], c["unit_name"]) for c in conflicts] == [("Lê Thị Thanh Thảo", "Sở Tài chính")]

    approve(svc, tenant, pid, "46/QĐ-UBND", "2022-01-17", "Phạm Thiện Nghĩa")  # decision number assumed
    approved = outbox(svc, tenant, "plan.approved")[0]
    assert approved["planned_inspections"] == 32 and approved["type"] == "administrative_reform"
    assert [r["id"] for r in approved["coverage_rules"]] == ["huyen", "xa", "so"]
    assert {s["form"] for s in outbox(svc, tenant, "inspection.scheduled")} == {"on_site", "online", "surprise"}
    text = docx_text(svc.client.get(f"/v1/plans/{pid}/document.docx", headers=auth(svc, tenant, "viewer")).content)
    for expected in ("Kiểm tra công tác cải cách hành chính năm 2022", "Tự kiểm tra", "Báo Đồng Tháp",
                     "Ít nhất 8 sở, ngành tỉnh", "Đoàn Quốc Khánh, Thành viên (Đài Phát thanh và Truyền hình Đồng Tháp)"):
        assert expected in text, expected


def test_tra_vinh_2023_public_service_plan_and_letter_5712_on_heads_and_deputies(service_harness, tenant):
    """Seeds 000 and 004: the 2023 plan's purposes and targets; from 2024 heads and deputies in depth."""
    svc = service_harness(PLANS)
    tree = province(svc, tenant, "Tỉnh Trà Vinh", departments=["Sở Nội vụ", "Sở Tư pháp", "Sở Xây dựng"],
                    districts={"Huyện Cầu Kè": ["Xã Phong Thạnh", "Thị trấn Cầu Kè"], "Thị xã Duyên Hải": ["Phường 1"]})
    tree.add("Công ty TNHH MTV Cấp thoát nước Trà Vinh", 2, "state_enterprise", "Tỉnh Trà Vinh")
    tree.add("Hội Chữ thập đỏ tỉnh", 2, "special_association", "Tỉnh Trà Vinh")
    team = create_team(svc, tenant, "Đoàn Kiểm tra công vụ tỉnh Trà Vinh", tree["Sở Nội vụ"],
                       person("tv-1", "Kim Thị Sa Rươl", tree["Sở Nội vụ"], "Trưởng đoàn"),
                       [person("tv-2", "Thạch Sô Phanh", tree["Sở Tư pháp"], "Thành viên")])
    checklist = svc.client.post("/v1/checklists/default", headers=auth(svc, tenant, PLANNER)).json()
    purposes = [
        "Góp phần ngăn ngừa hành vi vi phạm kỷ luật, kỷ cương hành chính; đánh giá những ưu điểm.",
        "Đôn đốc, kiểm tra việc thực hiện các nhiệm vụ của Tỉnh ủy, UBND tỉnh giao.",
        "Tạo chuyển biến mạnh mẽ trong lề lối, tác phong làm việc của CBCCVC; nhất là vai trò nêu gương của người đứng đầu.",
        "Nâng cao hiệu quả công tác tiếp nhận và giải quyết thủ tục hành chính của tổ chức, công dân."]
    targets = ["Các sở, ban, ngành thuộc UBND tỉnh", "Các doanh nghiệp nhà nước thuộc tỉnh (có liên quan đến nhiệm vụ giải quyết TTHC)",
               "UBND các huyện, thị xã, thành phố, UBND các xã, phường, thị trấn", "Các Hội có tính chất đặc thù (có giao biên chế)"]
    rules = [{"id": "so", "description": "Sở, ban, ngành", "kind": "department", "min_count": 1},
             {"id": "dnnn", "description": "Doanh nghiệp nhà nước", "kind": "state_enterprise", "min_count": 1},
             {"id": "huyen", "description": "UBND huyện, thị xã", "kind": "district_committee", "min_count": 1},
             {"id": "xa", "description": "UBND xã, phường, thị trấn", "kind": "commune_committee", "min_count": 1},
             {"id": "hoi", "description": "Hội có tính chất đặc thù", "kind": "special_association", "min_count": 1}]
    plan = create_plan(svc, tenant, year=2023, type="public_service", title="Kế hoạch kiểm tra công vụ năm 2023",
                       purpose=purposes, targets=targets, checklist_id=checklist["id"], forms=["on_site", "surprise"],
                       coverage_rules=rules)
    pid = plan["id"]
    got = svc.client.get(f"/v1/plans/{pid}", headers=auth(svc, tenant, "viewer")).json()
    assert got["purpose"] == purposes and got["targets"] == targets  # Vietnamese text survives the round trip
    for unit in ("Sở Xây dựng", "Công ty TNHH MTV Cấp thoát nước Trà Vinh", "Huyện Cầu Kè", "Xã Phong Thạnh"):
        schedule(svc, tenant, pid, tree[unit], "2023-05-08", "2023-05-12", "on_site", team["id"])
    report = svc.client.get(f"/v1/plans/{pid}/coverage", headers=auth(svc, tenant, "viewer")).json()
    assert [(r["rule_id"], r["shortfall"]) for r in report["rules"] if not r["satisfied"]] == [("hoi", 1)]
    schedule(svc, tenant, pid, tree["Hội Chữ thập đỏ tỉnh"], "2023-06-05", "2023-06-06", "surprise", team["id"])
    assert svc.client.get(f"/v1/plans/{pid}/coverage", headers=auth(svc, tenant, "viewer")).json()["satisfied"] is True
    approve(svc, tenant, pid, "187/QĐ-UBND", "2023-01-30", "Lê Văn Hẳn")  # issued 30/1/2023; number assumed

    # Letter 5712/UBND-NC (18/12/2023) is an official letter, not a decision: it cannot approve a plan ...
    plan24 = create_plan(svc, tenant, year=2024, type="public_service", title="Kế hoạch kiểm tra công vụ năm 2024",
                         purpose=["Thực hiện Công văn số 5712/UBND-NC ngày 18/12/2023 của Chủ tịch UBND tỉnh: kiểm tra sâu "
                                  "việc thực hiện chức trách, nhiệm vụ của người đứng đầu, cấp phó của người đứng đầu; "
                                  "kết quả làm cơ sở đánh giá chất lượng cán bộ cuối năm và quy hoạch cán bộ."],
                         checklist_id=checklist["id"], forms=["on_site"],
                         # ... it sets the plan's focus: heads' and deputies' tasks, processing time, quality,
                         # proactive advice and a random check of concrete dossiers in each field.
                         focus_codes=["NDD.01", "NDD.02", "NDD.03", "NDD.04", "NDD.05"],
                         issuer={"authority": "ỦY BAN NHÂN DÂN TỈNH TRÀ VINH", "place": "Trà Vinh", "number": "20",
                                 "signer_title": "CHỦ TỊCH", "signer_name": "Lê Văn Hẳn",
                                 "recipients": ["Giám đốc Sở Nội vụ", "Thủ trưởng các sở, ban, ngành thuộc UBND tỉnh",
                                                "Chủ tịch UBND các huyện, thị xã, thành phố", "Lưu: VT, NC"]})
    schedule(svc, tenant, plan24["id"], tree["Sở Xây dựng"], "2024-04-01", "2024-04-05", "on_site", team["id"],
             note="Kiểm tra ngẫu nhiên hồ sơ cụ thể trên từng lĩnh vực, kể cả nội dung trình Kỳ họp HĐND tỉnh")
    letter = svc.client.post(f"/v1/plans/{plan24['id']}/approve", headers=auth(svc, tenant, ADMIN),
                             json={"decision": {"number": "5712/UBND-NC", "date": "2023-12-18", "signer": "Lê Văn Hẳn"}})
    assert letter.status_code == 422 and letter.json()["field"] == "body.decision.number"
    approve(svc, tenant, plan24["id"], "35/QĐ-UBND", "2024-01-10", "Lê Văn Hẳn")  # number assumed
    text = docx_text(svc.client.get(f"/v1/plans/{plan24['id']}/document.docx", headers=auth(svc, tenant, "viewer")).content)
    for expected in ("Số: 20/KH-UBND", "Trà Vinh, ngày 10 tháng 01 năm 2024", "Kiểm tra công vụ năm 2024",
                     "Trách nhiệm của người đứng đầu và cấp phó của người đứng đầu",
                     "Kiểm tra ngẫu nhiên hồ sơ cụ thể trên từng lĩnh vực (trọng tâm)", "5712/UBND-NC",
                     "Chủ tịch UBND các huyện, thị xã, thành phố", "CHỦ TỊCH", "Lê Văn Hẳn"):
        assert expected in text, expected
    assert [p["year"] for p in svc.client.get("/v1/plans", headers=auth(svc, tenant, "viewer")).json()["items"]] == [2024, 2023]


def test_ben_tre_surprise_inspections_and_ba_ria_vung_tau_decision_1732_three_times(service_harness, tenant):
    """Seeds 001 and 002 (two provinces, two tenants): surprise inspections on Directive 02/CT-UBND; Decision
    1732/QĐ-UBND, late land dossiers, and "3 times as many as the same period last year"."""
    svc = service_harness(PLANS)
    ben_tre, brvt = f"{tenant}-bentre", f"{tenant}-brvt"

    # Bến Tre 2022: a thematic plan of surprise inspections only, on working hours, alcohol and harassment.
    bt = province(svc, ben_tre, "Tỉnh Bến Tre", departments=["Sở Nội vụ"],
                  districts={"Thành phố Bến Tre": ["Phường An Hội", "Phường Phú Khương"]})
    team = create_team(svc, ben_tre, "Đoàn kiểm tra đột xuất việc chấp hành KLKCHC của CBCCVC", bt["Sở Nội vụ"],
                       person("bt-1", "Đặng Văn Cường", bt["Sở Nội vụ"], "Trưởng đoàn"), [])
    checklist = svc.client.post("/v1/checklists/default", headers=auth(svc, ben_tre, PLANNER)).json()
    plan = create_plan(svc, ben_tre, year=2022, type="thematic",
                       title="Kiểm tra đột xuất việc chấp hành kỷ luật, kỷ cương hành chính năm 2022",
                       purpose=["Thực hiện Chỉ thị số 02/CT-UBND về nâng cao hiệu quả sử dụng thời gian làm việc, "
                                "không uống rượu, bia trong giờ làm việc đối với CBCCVC trên địa bàn tỉnh."],
                       checklist_id=checklist["id"], focus_codes=["KLKC.01", "KLKC.02", "VHCS.03"], forms=["surprise"])
    wrong = svc.client.post(f"/v1/plans/{plan['id']}/inspections", headers=auth(svc, ben_tre, PLANNER), json={
        "unit_id": bt["Phường An Hội"], "window_start": "2022-03-07", "window_end": "2022-03-07", "form": "periodic"})
    assert wrong.status_code == 422 and "not among the plan's forms" in wrong.json()["message"]
    schedule(svc, ben_tre, plan["id"], bt["Phường An Hội"], "2022-03-07", "2022-03-07", "surprise", team["id"])
    approve(svc, ben_tre, plan["id"], "512/QĐ-UBND", "2022-02-21", "Trần Ngọc Tam")  # number assumed
    [scheduled] = outbox(svc, ben_tre, "inspection.scheduled")
    assert (scheduled["form"], scheduled["unit_id"]) == ("surprise", bt["Phường An Hội"])

    # Bà Rịa–Vũng Tàu: first half of 2022 (assumed: 3 surprise inspections), then 2023 under Decision 1732/QĐ-UBND:
    # 5 provincial agencies; surprise inspections of 7 communes and 2 units with late land dossiers.
    communes = [f"Xã {n}" for n in ("Long Sơn", "Phước Hưng", "Tân Hải", "Bàu Chinh", "Hòa Long", "Long Phước", "Châu Pha")]
    vt = province(svc, brvt, "Tỉnh Bà Rịa - Vũng Tàu",
                  departments=["Sở Nội vụ", "Thanh tra tỉnh", "Sở Tư pháp", "Sở Xây dựng", "Sở Kế hoạch và Đầu tư", "Sở Y tế"],
                  districts={"Thành phố Bà Rịa": communes[:4], "Thị xã Phú Mỹ": communes[4:]})
    vt.add("Chi nhánh Văn phòng Đăng ký đất đai thành phố Bà Rịa", 3, "public_service_unit", "Thành phố Bà Rịa")
    vt.add("Chi nhánh Văn phòng Đăng ký đất đai thị xã Phú Mỹ", 3, "public_service_unit", "Thị xã Phú Mỹ")
    vt_team = create_team(svc, brvt, "Đoàn kiểm tra CCHC tỉnh", vt["Sở Nội vụ"],
                          person("vt-1", "Nguyễn Thị Huệ", vt["Sở Nội vụ"], "Trưởng Phòng CCHC và Văn thư lưu trữ"), [])
    vt_checklist = svc.client.post("/v1/checklists/default", headers=auth(svc, brvt, PLANNER)).json()
    p22 = create_plan(svc, brvt, year=2022, type="administrative_reform", title="Kế hoạch kiểm tra CCHC năm 2022",
                      forms=["surprise", "periodic"])
    for c in communes[:3]:
        schedule(svc, brvt, p22["id"], vt[c], "2022-04-04", "2022-04-05", "surprise", vt_team["id"])
    approve(svc, brvt, p22["id"], "98/QĐ-UBND", "2022-01-14", "Nguyễn Văn Thọ")
    p23 = create_plan(svc, brvt, year=2023, type="administrative_reform",
                      title="Kế hoạch cải thiện, nâng cao chỉ số hiệu quả quản trị và hành chính công cấp tỉnh năm 2023",
                      checklist_id=vt_checklist["id"], forms=["on_site", "surprise", "periodic"],
                      focus_codes=["KLKC.03", "DVCTT.01", "TTHC.02.01", "TTHC.02.02", "TTHC.02.03", "VHCS.03"])
    for dept in ("Thanh tra tỉnh", "Sở Tư pháp", "Sở Xây dựng", "Sở Kế hoạch và Đầu tư", "Sở Y tế"):
        schedule(svc, brvt, p23["id"], vt[dept], "2023-03-06", "2023-03-10", "periodic", vt_team["id"])
    for c in communes:
        schedule(svc, brvt, p23["id"], vt[c], "2023-04-03", "2023-04-04", "surprise", vt_team["id"])
    for office in ("Chi nhánh Văn phòng Đăng ký đất đai thành phố Bà Rịa", "Chi nhánh Văn phòng Đăng ký đất đai thị xã Phú Mỹ"):
        schedule(svc, brvt, p23["id"], vt[office], "2023-05-15", "2023-05-16", "surprise", vt_team["id"],
                 note="Hồ sơ trễ hẹn trong lĩnh vực đất đai")
    # A draft counts for nothing until the decision approves it.
    before = svc.client.get("/v1/schedule/summary?start=2023-01-01&end=2023-06-30", headers=auth(svc, brvt, "viewer")).json()
    assert before["inspections"] == 0
    approved = approve(svc, brvt, p23["id"], "1732/QĐ-UBND", "2023-08-10", "Nguyễn Văn Thọ")
    assert approved["decision"]["number"] == "1732/QĐ-UBND"
    summary = svc.client.get("/v1/schedule/summary?start=2023-01-01&end=2023-06-30", headers=auth(svc, brvt, "viewer")).json()
    assert (summary["inspections"], summary["units"], summary["previous_year"]["units"]) == (14, 14, 3)
    assert summary["by_form"] == {"periodic": {"inspections": 5, "units": 5}, "surprise": {"inspections": 9, "units": 9}}
    assert summary["ratio"]["by_form"]["surprise"] == 3.0  # 9 surprise inspections against 3: "tăng gấp 3 lần"
    # Bến Tre's inspections are not Bà Rịa–Vũng Tàu's.
    bt_summary = svc.client.get("/v1/schedule/summary?start=2022-01-01&end=2022-06-30", headers=auth(svc, ben_tre, "viewer")).json()
    assert bt_summary["units"] == 1
    assert svc.client.get(f"/v1/plans/{p23['id']}", headers=auth(svc, ben_tre, "viewer")).status_code == 404
