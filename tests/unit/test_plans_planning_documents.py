"""The plan as a Decree 30/2020 document: parts, title, schedule table, team, defaults."""
from __future__ import annotations

from datetime import date

from services.plans.planning.catalogue import default_criteria
from services.plans.planning.documents import DEFAULT_RECIPIENTS, plan_document
from shared.documents import docx_text, render_docx

PLAN = {
    "id": "p", "year": 2026, "type": "public_service", "status": "approved", "title": "Kế hoạch kiểm tra công vụ năm 2026",
    "purpose": ["Ngăn ngừa vi phạm kỷ luật, kỷ cương hành chính."], "requirements": ["Khách quan, đúng quy định."],
    "targets": ["Các sở, ban, ngành; UBND các xã, phường."], "checklist_id": "c", "checklist_version": 1,
    "focus_codes": ["KLKC.02"], "forms": ["on_site", "surprise"],
    "coverage_rules": [{"id": "xa", "description": "Ít nhất 5 xã, phường", "kind": "commune_committee", "min_count": 5}],
    "issuer": {"authority": "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", "place": "Vĩnh Long", "number": "18", "symbol": "KH-UBND"},
    "decision": {"number": "125/QĐ-UBND", "date": "2026-01-15", "signer": "Trần Văn Lâu"},
    "planned_inspections": [{"id": "i1", "unit_id": "u1", "window_start": "2026-03-02", "window_end": "2026-03-06",
                             "form": "surprise", "team_id": "t1", "note": None}],
}
TEAM = {"id": "t1", "name": "Đoàn kiểm tra công vụ số 1", "lead_unit_id": "snv",
        "leader": {"person_id": "a", "name": "Nguyễn Văn Hùng", "role": "Phó Giám đốc Sở Nội vụ", "unit_id": "snv"},
        "members": [{"person_id": "b", "name": "Trần Thị Mai", "role": "Thành viên", "unit_id": "stc"}]}
UNITS = {"u1": "Phường Long Châu", "snv": "Sở Nội vụ", "stc": "Sở Tài chính"}


def test_plan_document_has_the_decree_parts_and_the_plan_body():
    doc = plan_document(PLAN, criteria=default_criteria(), units=UNITS, teams={"t1": TEAM}, today=date(2026, 5, 5))
    assert (doc.kind, doc.title, doc.number_line) == ("KẾ HOẠCH", "Kiểm tra công vụ năm 2026", "Số: 18/KH-UBND")
    assert doc.date == date(2026, 1, 15) and doc.signer_name == "Trần Văn Lâu" and doc.recipients == DEFAULT_RECIPIENTS
    table = next(b for b in doc.blocks if b[0] == "table")
    assert table[2] == [["1", "Phường Long Châu", "02/03/2026 - 06/03/2026", "Kiểm tra đột xuất", "Đoàn kiểm tra công vụ số 1"]]
    text = docx_text(render_docx(doc))
    for expected in ("ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", "Vĩnh Long, ngày 15 tháng 01 năm 2026", "I. MỤC ĐÍCH, YÊU CẦU",
                     "- Khách quan, đúng quy định.", "- Ít nhất 5 xã, phường", "1. Kỷ luật, kỷ cương hành chính",
                     "- Không uống rượu, bia trước, trong giờ làm việc và giờ nghỉ trưa (trọng tâm)", "- Kiểm tra trực tiếp",
                     "Đoàn kiểm tra công vụ số 1 (đơn vị chủ trì: Sở Nội vụ)", "- Trần Thị Mai, Thành viên (Sở Tài chính)",
                     "Nơi nhận:", "PHÓ CHỦ TỊCH"):
        assert expected in text, expected


def test_a_draft_without_issuer_still_renders_with_blank_number_and_today():
    draft = {**PLAN, "issuer": None, "decision": None, "checklist_id": None, "planned_inspections": []}
    doc = plan_document(draft, criteria=[], units={}, teams={}, today=date(2026, 2, 3))
    assert doc.issuing_authority == "ỦY BAN NHÂN DÂN TỈNH" and doc.date == date(2026, 2, 3) and doc.symbol == "KH-UBND"
    assert "KẾ HOẠCH" in docx_text(render_docx(doc))


def test_issuer_from_the_province_unit_name():
    from services.plans.planning.demo import issuer_of

    assert issuer_of("UBND tỉnh Vĩnh Long") == ("ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", "Vĩnh Long")
    assert issuer_of("UBND thành phố Hồ Chí Minh") == ("ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH", "Hồ Chí Minh")
    assert issuer_of("Đồng Tháp") == ("ỦY BAN NHÂN DÂN TỈNH ĐỒNG THÁP", "Đồng Tháp")
