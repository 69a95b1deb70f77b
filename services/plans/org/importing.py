"""CSV import as one unit of work: parse and check every row, then create all units or none."""
from __future__ import annotations

import uuid
from typing import Any

from services.plans.org import commands, csv_io, store
from shared.errors import Invalid
from shared.runtime import Runtime


def import_csv(runtime: Runtime, tenant: str, text: str) -> dict[str, Any]:
    """Create every row's unit in one transaction with its event; 422 with the report if any row is rejected."""
    report = csv_io.Report()
    rows = csv_io.parse(text, report)
    with runtime.db.tx(tenant) as conn:
        codes = sorted({r.code for r in rows if r.code})
        periods: dict[str, list] = {}
        for hit in store.codes_in_use(conn, tenant, codes) if codes else []:
            periods.setdefault(hit["code"], []).append((hit["valid_from"], hit["valid_to"]))
        ordered = csv_io.resolve(rows, report, code_periods=periods,
                                 existing_by_code=lambda code, day: store.find_by_code(conn, tenant, code, day))
        if report.rejected:
            report.rejected.sort(key=lambda r: (r["row"], r["column"]))
            raise Invalid(f"{len({r['row'] for r in report.rejected})} row(s) rejected; nothing was imported",
                          field="body.file", report=report.as_dict())
        if not ordered:
            raise Invalid("the file holds no rows", field="body.file", report=report.as_dict())
        ids: dict[int, str] = {}
        for row in ordered:
            parent_id = ids[row.parent_row.number] if row.parent_row else row.parent_id
            ids[row.number] = str(uuid.uuid4())
            commands.create_unit(runtime.outbox, conn, tenant, unit_id=ids[row.number], effective=row.valid_from,
                                 valid_to=row.valid_to, name=row.name, level=row.level, kind=row.kind, code=row.code,
                                 parent_id=parent_id, contacts=row.contacts())
    return {**report.as_dict(created=len(ordered)), "ids": {str(n): i for n, i in sorted(ids.items())}}
