"""CSV import and export of units (UTF-8, Vietnamese names): validate every row first, write all or nothing."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from services.plans.org.domain import KIND_PATTERN, MAX_LEVEL, Version

COLUMNS = ("code", "name", "level", "kind", "parent_code", "valid_from", "valid_to", "head_name", "head_email")
REQUIRED_COLUMNS = ("name", "level", "kind", "valid_from")


@dataclass
class Row:
    """One data row, its spreadsheet row number (the header is row 1) and its parsed values."""

    number: int
    code: str | None
    name: str
    level: int
    kind: str
    parent_code: str | None
    valid_from: date
    valid_to: date | None
    head_name: str | None
    head_email: str | None
    parent_id: str | None = None  # filled when the parent already exists
    parent_row: "Row | None" = None  # filled when the parent is in the same file

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def contacts(self) -> list[dict[str, Any]]:
        return [{"role": "head", "name": self.head_name, "email": self.head_email}] if self.head_name else []


@dataclass
class Report:
    rows: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, row: int, column: str, reason: str) -> None:
        self.rejected.append({"row": row, "column": column, "reason": reason})

    def as_dict(self, created: int = 0) -> dict[str, Any]:
        return {"rows": self.rows, "created": created, "rejected": self.rejected}


def decode(body: bytes) -> str:
    """UTF-8 text (a byte-order mark from spreadsheet programs is dropped); raises ValueError otherwise."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the file is not UTF-8 (byte {exc.start})") from None


def _date(text: str) -> date:
    return date.fromisoformat(text)


def parse(text: str, report: Report) -> list[Row]:
    """Rows whose cells parse; every cell problem goes into ``report`` (row, column, reason)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    for column in missing:
        report.reject(1, column, "required column missing from the header")
    for column in header:
        if column not in COLUMNS:
            report.reject(1, column, f"unknown column; expected {', '.join(COLUMNS)}")
    if missing:
        return []
    rows: list[Row] = []
    for raw in reader:
        number = reader.line_num  # the physical line, so blank lines keep spreadsheet row numbers right
        cells = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(cells.values()):
            continue  # a row of empty cells is not a row
        report.rows += 1
        before = len(report.rejected)
        if None in raw:
            report.reject(number, "(row)", "more cells than columns")
        name = cells.get("name", "")
        if not name:
            report.reject(number, "name", "required")
        level = 0
        try:
            level = int(cells.get("level", ""))
            if not 1 <= level <= MAX_LEVEL:
                raise ValueError
        except ValueError:
            report.reject(number, "level", f"must be a whole number from 1 to {MAX_LEVEL}")
        kind = cells.get("kind", "")
        if not KIND_PATTERN.match(kind):
            report.reject(number, "kind", "must be lower-case letters, digits and underscores, e.g. commune_committee")
        valid_from = valid_to = None
        try:
            valid_from = _date(cells.get("valid_from", ""))
        except ValueError:
            report.reject(number, "valid_from", "required, as YYYY-MM-DD")
        if cells.get("valid_to"):
            try:
                valid_to = _date(cells["valid_to"])
                if valid_from and valid_to < valid_from:
                    report.reject(number, "valid_to", "is before valid_from")
            except ValueError:
                report.reject(number, "valid_to", "must be YYYY-MM-DD or empty")
        head_name, head_email = cells.get("head_name") or None, cells.get("head_email") or None
        if head_email and "@" not in head_email:
            report.reject(number, "head_email", "is not an e-mail address")
        if head_email and not head_name:
            report.reject(number, "head_name", "required when head_email is given")
        if len(report.rejected) == before:
            rows.append(Row(number, cells.get("code") or None, name, level, kind, cells.get("parent_code") or None,
                            valid_from, valid_to, head_name, head_email))
    return rows


def resolve(rows: list[Row], report: Report, *, existing_by_code: Callable[[str, date], Version | None],
            code_periods: dict[str, list[tuple[date, date | None]]]) -> list[Row]:
    """Check codes and parents against the file and the stored tree; returns rows parents-first.

    ``existing_by_code(code, day)`` finds a stored unit; ``code_periods`` holds the stored periods of the
    file's codes. A code names one unit at a time, so overlapping periods are refused.
    """
    by_code: dict[str, list[Row]] = {}
    for row in rows:
        if row.code:
            by_code.setdefault(row.code, []).append(row)
    for row in rows:
        if not row.code:
            continue
        for other in by_code[row.code]:
            if other is not row and _overlap(row.valid_from, row.valid_to, other.valid_from, other.valid_to):
                report.reject(row.number, "code", f"also used on row {other.number} for an overlapping period")
                break
        for start, end in code_periods.get(row.code, []):
            if _overlap(row.valid_from, row.valid_to, start, end):
                report.reject(row.number, "code", f"already used by an existing unit from {start.isoformat()}")
                break
    for row in rows:
        if not row.parent_code:
            continue
        in_file = [r for r in by_code.get(row.parent_code, []) if r.covers(row.valid_from)]
        if in_file:
            row.parent_row = in_file[0]
            parent_level = in_file[0].level
        else:
            stored = existing_by_code(row.parent_code, row.valid_from)
            if stored is None:
                report.reject(row.number, "parent_code",
                              f"no unit with code {row.parent_code} exists on {row.valid_from.isoformat()}")
                continue
            row.parent_id = stored.unit_id
            parent_level = stored.level
        if parent_level >= row.level:
            report.reject(row.number, "level", f"a unit of level {row.level} cannot sit under one of level {parent_level}")
    rejected_rows = {r["row"] for r in report.rejected}
    # A parent's level is smaller than its children's, so sorting by level puts parents first.
    return sorted((r for r in rows if r.number not in rejected_rows), key=lambda r: (r.level, r.number))


def _overlap(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


def render(rows: list[dict[str, Any]]) -> str:
    """The export as CSV text with the import's columns, so an export can be imported again."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r.get("code") or "", r["name"], r["level"], r["kind"], r.get("parent_code") or "",
                         r["valid_from"].isoformat(), r["valid_to"].isoformat() if r.get("valid_to") else "",
                         r.get("head_name") or "", r.get("head_email") or ""])
    return out.getvalue()
