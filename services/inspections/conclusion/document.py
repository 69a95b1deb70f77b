"""The conclusion as an administrative document (Decree 30/2020): a notice or a report of conclusions."""
from __future__ import annotations

from typing import Any

from shared.documents import AdministrativeDocument

KIND_TITLES = {"notice": "THÔNG BÁO", "report": "BÁO CÁO"}
SEVERITY = {"minor": "nhẹ", "moderate": "trung bình", "serious": "nghiêm trọng"}
RECOMMENDATION = {"reminder": "Nhắc nhở", "correction": "Chấn chỉnh", "self_criticism": "Kiểm điểm",
                  "disciplinary": "Xử lý kỷ luật", "procedure_change": "Sửa đổi, bổ sung quy trình"}


def split_number(number: str) -> tuple[str, str]:
    """'12/TB-SNV' -> ('12', 'TB-SNV')."""
    head, _, symbol = number.partition("/")
    return head, symbol


def build(conclusion: dict[str, Any], inspection: dict[str, Any], unit_name: str,
          findings: list[dict[str, Any]]) -> AdministrativeDocument:
    """The document's parts from the stored conclusion; officials are named only by reference, never by name."""
    number, symbol = split_number(conclusion["number"])
    blocks: list = [("paragraph", conclusion["summary"])]
    if findings:
        blocks.append(("heading", "I. KẾT QUẢ KIỂM TRA"))
        blocks.append(("table", ["TT", "Tiêu chí", "Mức độ", "Nội dung tồn tại, hạn chế"],
                       [[str(n), f["criterion_code"], SEVERITY[f["severity"]], f["description"]]
                        for n, f in enumerate(findings, start=1)]))
    recs = conclusion["recommendations"]
    if recs:
        blocks.append(("heading", "II. KIẾN NGHỊ"))
        lines = []
        for r in recs:
            line = f"{RECOMMENDATION[r['kind']]}: {r['text']}"
            if r.get("deadline"):
                line += f" (thời hạn: {r['deadline'].strftime('%d/%m/%Y')})"
            lines.append(line)
        blocks.append(("bullets", lines))
    return AdministrativeDocument(
        issuing_authority=conclusion["issuing_authority"], issuing_body=conclusion["issuing_body"], number=number,
        symbol=symbol, place=conclusion["place"], date=conclusion["doc_date"], kind=KIND_TITLES[conclusion["kind"]],
        title=f"Kết luận kiểm tra công vụ tại {unit_name}", blocks=blocks, recipients=list(conclusion["recipients"]),
        signer_title=conclusion["signer_title"], signer_name=conclusion["signer_name"],
    )
