from datetime import date

from shared.documents import AdministrativeDocument, docx_text, render_docx, vietnamese_date_line


def test_date_line_uses_leading_zeros_for_small_days_and_months():
    assert vietnamese_date_line("Trà Vinh", date(2023, 12, 18)) == "Trà Vinh, ngày 18 tháng 12 năm 2023"
    assert vietnamese_date_line("Vĩnh Long", date(2026, 1, 5)) == "Vĩnh Long, ngày 05 tháng 01 năm 2026"
    assert vietnamese_date_line("Vĩnh Long", date(2026, 3, 5)) == "Vĩnh Long, ngày 05 tháng 3 năm 2026"


def test_official_letter_5712_has_every_mandatory_part():
    letter = AdministrativeDocument(
        issuing_authority="ỦY BAN NHÂN DÂN TỈNH TRÀ VINH", issuing_body=None, number="5712", symbol="UBND-NC",
        place="Trà Vinh", date=date(2023, 12, 18), kind=None, title="", excerpt="V/v nâng cao chất lượng kiểm tra công vụ",
        blocks=[("paragraph", "Kính gửi: Giám đốc Sở Nội vụ"),
                ("table", ["Nội dung", "Đơn vị"], [["Kiểm tra ngẫu nhiên hồ sơ", "Sở Nội vụ"]])],
        recipients=["Như trên", "Lưu: VT, NC"], signer_title="CHỦ TỊCH", signer_name="Lê Văn Hân")
    text = docx_text(render_docx(letter))
    for part in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "ỦY BAN NHÂN DÂN TỈNH TRÀ VINH",
                 "Số: 5712/UBND-NC", "V/v nâng cao chất lượng kiểm tra công vụ", "Trà Vinh, ngày 18 tháng 12 năm 2023",
                 "Nơi nhận:", "- Lưu: VT, NC;", "CHỦ TỊCH", "Lê Văn Hân", "Kiểm tra ngẫu nhiên hồ sơ"):
        assert part in text, part


def test_plan_has_kind_and_title():
    plan = AdministrativeDocument(
        issuing_authority="ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", issuing_body=None, number="25", symbol="KH-UBND",
        place="Vĩnh Long", date=date(2026, 1, 30), kind="Kế hoạch", title="Kiểm tra công vụ năm 2026",
        blocks=[("heading", "I. MỤC ĐÍCH, YÊU CẦU"), ("bullets", ["Ngăn ngừa vi phạm kỷ luật, kỷ cương hành chính"])],
        recipients=["Sở Nội vụ"], signer_title="KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH", signer_name="Nguyễn Văn A")
    text = docx_text(render_docx(plan))
    assert "KẾ HOẠCH" in text and "Kiểm tra công vụ năm 2026" in text and "Số: 25/KH-UBND" in text
    assert "KT. CHỦ TỊCH" in text and "PHÓ CHỦ TỊCH" in text
    assert "- Ngăn ngừa vi phạm kỷ luật, kỷ cương hành chính" in text
