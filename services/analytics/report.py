"""The year's results as one administrative report (BÁO CÁO, Decree 30/2020 layout) in DOCX."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.analytics import queries
from services.analytics.domain import units_existing
from shared.documents import AdministrativeDocument, render_docx


@dataclass
class ReportHeader:
    """Who issues the report; unset parts are taken from the province's root unit and the settings."""
    number: str = "..."
    issuing_body: str = "SỞ NỘI VỤ"
    signer_title: str = "GIÁM ĐỐC"
    signer_name: str = ""
    place: str | None = None
    authority: str | None = None


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%".replace(".", ",")


def _cells(answer: queries.Answer, keys: list[str], rates: tuple[str, ...] = (), limit: int = 30) -> list[list[str]]:
    return [[_percent(r.get(k)) if k in rates else ("" if r.get(k) is None else str(r.get(k))) for k in keys]
            for r in answer.rows[:limit]]


def annual_report(ctx: queries.Context, header: ReportHeader, issued_on: date) -> bytes:
    """BÁO CÁO Kết quả kiểm tra công vụ năm N: coverage, violations, remediation, dossiers, comparison, risk."""
    year = ctx.f.period.year
    roots = sorted((u for u in units_existing(ctx.units, None) if u.parent_id is None), key=lambda u: u.name)
    province = roots[0].name if roots else ctx.tenant
    place = header.place or province.removeprefix("Tỉnh ").removeprefix("Thành phố ")
    cov, vio, rep = queries.coverage(ctx), queries.violations(ctx), queries.repeats(ctx)
    rem, dos, yoy, rsk = queries.remediation(ctx), queries.dossiers(ctx), queries.year_over_year(ctx), queries.risk(ctx)
    blocks: list = [
        ("paragraph", f"Thực hiện Kế hoạch kiểm tra công vụ năm {year}, {header.issuing_body.lower().capitalize()} "
                      f"báo cáo kết quả kiểm tra công vụ năm {year} như sau:"),
        ("heading", "I. KẾT QUẢ THỰC HIỆN KẾ HOẠCH"),
        ("paragraph", f"Tổng số cuộc kiểm tra theo kế hoạch: {cov.details['totals']['planned']}; "
                      f"đã thực hiện: {cov.details['totals']['done']}."),
        ("table", ["Tháng", "Kế hoạch", "Đã kiểm tra"], _cells(cov, ["month", "planned", "done"])),
    ]
    for plan in cov.details["plans"]:
        blocks.append(("paragraph", f"{plan['title']} (Quyết định số {plan['decision']}):"))
        blocks.append(("bullets", [f"{r['description']}: đạt {r['covered']}/{r['required']}"
                                   + ("" if r["satisfied"] else f", còn thiếu {r['shortfall']}") for r in plan["rules"]]))
    blocks += [
        ("heading", "II. TỒN TẠI, HẠN CHẾ, VI PHẠM"),
        ("paragraph", f"Tổng số tồn tại, vi phạm đã phát hiện: {vio.details['total']}."),
        ("table", ["Nội dung kiểm tra", "Số vi phạm"], _cells(vio, ["label", "violations"])),
        ("paragraph", f"Số đơn vị vi phạm lặp lại cùng một nội dung: {len(rep.rows)}."),
        ("heading", "III. KẾT QUẢ KHẮC PHỤC"),
        ("paragraph", f"Tỷ lệ khắc phục đúng hạn: {_percent(rem.details['totals']['on_time_rate'])}; "
                      f"chưa hoàn thành: {rem.details['totals']['open']}; quá hạn: {rem.details['totals']['overdue']}."),
        ("table", ["Đơn vị", "Đến hạn", "Đúng hạn", "Quá hạn"], _cells(rem, ["name", "due", "on_time", "overdue"])),
        ("heading", "IV. GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"),
        ("paragraph", f"Tỷ lệ hồ sơ trễ hẹn: {_percent(dos.details['totals']['late_rate'])} "
                      f"({dos.details['totals']['late']}/{dos.details['totals']['checked']} hồ sơ được kiểm tra)."),
        ("table", ["Lĩnh vực", "Hồ sơ", "Trễ hẹn", "Tỷ lệ"], _cells(dos, ["label", "checked", "late", "late_rate"], ("late_rate",))),
        ("heading", f"V. SO SÁNH VỚI NĂM {year - 1}"),
        ("table", ["Chỉ tiêu", f"Năm {year}", f"Năm {year - 1}", "Gấp (lần)"],
         _cells(yoy, ["label", "this_period", "last_period", "ratio"], limit=20)),
        ("heading", "VI. ĐƠN VỊ CẦN KIỂM TRA ĐỘT XUẤT"),
        ("table", ["Thứ hạng", "Đơn vị", "Điểm rủi ro"], _cells(rsk, ["rank", "name", "risk"], limit=10)),
    ]
    doc = AdministrativeDocument(
        issuing_authority=header.authority or f"ỦY BAN NHÂN DÂN {province.upper()}", issuing_body=header.issuing_body,
        number=header.number, symbol="BC-SNV", place=place, date=issued_on, kind="BÁO CÁO",
        title=f"Kết quả kiểm tra công vụ năm {year}", blocks=blocks,
        recipients=["Bộ Nội vụ", f"Chủ tịch UBND {province}", "Lưu: VT"], signer_title=header.signer_title,
        signer_name=header.signer_name)
    return render_docx(doc)
