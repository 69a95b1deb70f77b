"""CSV and XLSX exports of an Answer's table (Vietnamese text kept: CSV carries a UTF-8 BOM for Excel)."""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from services.analytics.queries import Answer

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if value is None or isinstance(value, (int, float, str)):
        return value
    return str(value)


def to_csv(answer: Answer) -> bytes:
    """The table as CSV with a header row of Vietnamese column names."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([h for _, h in answer.columns])
    for row in answer.rows:
        writer.writerow(["" if row.get(k) is None else _cell(row.get(k)) for k, _ in answer.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(answer: Answer) -> bytes:
    """The table as one worksheet: title, header row, rows."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Số liệu"
    ws.append([answer.title])
    ws["A1"].font = Font(bold=True)
    ws.append([h for _, h in answer.columns])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in answer.rows:
        ws.append([_cell(row.get(k)) for k, _ in answer.columns])
    for i, (key, header) in enumerate(answer.columns, 1):
        width = max([len(str(header))] + [len(str(r.get(key) or "")) for r in answer.rows[:200]])
        ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = min(60, width + 2)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
