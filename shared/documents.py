"""Administrative documents in the Decree 30/2020/NĐ-CP layout, rendered as DOCX.

The parts the decree makes mandatory: the national motto block, the issuing authority, the number and
symbol ("Số: 1732/QĐ-UBND"), place and date, the document kind and title (or "V/v" excerpt for an
official letter), the body, the recipients (Nơi nhận) and the signer.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from typing import Union

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

Block = Union[tuple[str, str], tuple[str, list[str]], tuple[str, list[str], list[list[str]]]]

FONT = "Times New Roman"
# Abbreviations of document kinds (Decree 30/2020, appendix III); an official letter has none.
KIND_ABBREVIATIONS = {"KẾ HOẠCH": "KH", "QUYẾT ĐỊNH": "QĐ", "BIÊN BẢN": "BB", "BÁO CÁO": "BC", "THÔNG BÁO": "TB"}


@dataclass
class AdministrativeDocument:
    issuing_authority: str          # the governing authority, e.g. "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG"
    issuing_body: str | None        # the body that issues under it, e.g. "SỞ NỘI VỤ"; None when the authority issues
    number: str                     # "1732"
    symbol: str                     # "KH-UBND"
    place: str                      # "Vĩnh Long"
    date: date
    kind: str | None                # "KẾ HOẠCH", "THÔNG BÁO", "BÁO CÁO" ...; None for an official letter (công văn)
    title: str                      # the title under the kind, or the letter's subject
    blocks: list[Block] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    signer_title: str = ""          # "CHỦ TỊCH", or "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH"
    signer_name: str = ""
    excerpt: str | None = None      # "V/v nâng cao chất lượng kiểm tra công vụ" (official letters)

    @property
    def number_line(self) -> str:
        return f"Số: {self.number}/{self.symbol}"


def vietnamese_date_line(place: str, day: date) -> str:
    """'Vĩnh Long, ngày 05 tháng 01 năm 2026': days below 10 and months below 3 take a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def _run(paragraph, text: str, *, bold=False, italic=False, size=13, underline=False):
    run = paragraph.add_run(text)
    run.bold, run.italic, run.underline = bold, italic, underline
    run.font.size = Pt(size)
    run.font.name = FONT
    run._element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    return run


def _para(cell_or_doc, text: str = "", *, align=WD_ALIGN_PARAGRAPH.CENTER, **kw):
    p = cell_or_doc.add_paragraph()
    p.alignment = align
    p.paragraph_format.space_after = Pt(0)
    if text:
        _run(p, text, **kw)
    return p


def _borderless(table) -> None:
    borders = table._tbl.tblPr.first_child_found_in("w:tblBorders")
    if borders is not None:
        table._tbl.tblPr.remove(borders)


def render_docx(doc: AdministrativeDocument) -> bytes:
    """The document as DOCX bytes (A4, Times New Roman, the decree's margins)."""
    document = Document()
    section = document.sections[0]
    section.page_height, section.page_width = Mm(297), Mm(210)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(14)

    header = document.add_table(rows=1, cols=2)
    header.alignment = WD_TABLE_ALIGNMENT.CENTER
    _borderless(header)
    left, right = header.rows[0].cells
    left.width, right.width = Mm(70), Mm(95)
    left.paragraphs[0].text = ""
    if doc.issuing_body:
        _para(left, doc.issuing_authority.upper(), size=12)
        _para(left, doc.issuing_body.upper(), bold=True, size=12)
    else:
        _para(left, doc.issuing_authority.upper(), bold=True, size=12)
    _para(left, "_______", size=12)
    _para(left, doc.number_line, size=13)
    if doc.kind is None and doc.excerpt:
        _para(left, doc.excerpt, size=12)
    right.paragraphs[0].text = ""
    _para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=12)
    _para(right, "Độc lập - Tự do - Hạnh phúc", bold=True, size=13)
    _para(right, "_______________", size=12)
    _para(right, vietnamese_date_line(doc.place, doc.date), italic=True, size=13)

    _para(document, "")
    if doc.kind:
        _para(document, doc.kind.upper(), bold=True, size=14)
        _para(document, doc.title, bold=True, size=14)
        _para(document, "_______", size=12)
    _para(document, "")

    for block in doc.blocks:
        kind = block[0]
        if kind == "heading":
            _para(document, block[1], align=WD_ALIGN_PARAGRAPH.LEFT, bold=True, size=14)
        elif kind == "paragraph":
            p = _para(document, block[1], align=WD_ALIGN_PARAGRAPH.JUSTIFY, size=14)
            p.paragraph_format.first_line_indent = Mm(10)
        elif kind == "bullets":
            for item in block[1]:
                _para(document, f"- {item}", align=WD_ALIGN_PARAGRAPH.JUSTIFY, size=14)
        elif kind == "table":
            _, head, rows = block
            table = document.add_table(rows=1, cols=len(head))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, head):
                cell.paragraphs[0].text = ""
                _run(cell.paragraphs[0], str(text), bold=True, size=12)
            for row in rows:
                cells = table.add_row().cells
                for cell, text in zip(cells, row):
                    cell.paragraphs[0].text = ""
                    _run(cell.paragraphs[0], "" if text is None else str(text), size=12)
        else:
            raise ValueError(f"unknown block kind {kind!r}")

    _para(document, "")
    footer = document.add_table(rows=1, cols=2)
    _borderless(footer)
    left, right = footer.rows[0].cells
    left.paragraphs[0].text = ""
    _para(left, "Nơi nhận:", align=WD_ALIGN_PARAGRAPH.LEFT, bold=True, italic=True, size=12)
    for recipient in doc.recipients:
        _para(left, f"- {recipient};", align=WD_ALIGN_PARAGRAPH.LEFT, size=11)
    right.paragraphs[0].text = ""
    for line in doc.signer_title.split("\n"):
        _para(right, line.upper(), bold=True, size=14)
    for _ in range(3):
        _para(right, "")
    _para(right, doc.signer_name, bold=True, size=14)

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_text(data: bytes) -> str:
    """All text of a DOCX (paragraphs and table cells), for checks and search."""
    document = Document(io.BytesIO(data))
    parts: list[str] = []

    def walk(container):
        for p in container.paragraphs:
            parts.append(p.text)
        for table in container.tables:
            for row in table.rows:
                for cell in row.cells:
                    walk(cell)

    walk(document)
    return "\n".join(parts)
