"""Routes for organisation units, the unit tree as of a date, CSV import/export, the working calendar."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from services.plans.org import commands, csv_io, store, workdays
from services.plans.org.domain import nest
from services.plans.org.importing import import_csv
from services.plans.org.schemas import (
    CalendarWrite, ContactsUpdate, UnitCreate, UnitDissolve, UnitMerge, UnitMove, UnitRename, today, unit_view,
)
from shared.api import PrincipalDep, RuntimeDep
from shared.errors import Invalid, NotFound, UnsupportedType

router = APIRouter(prefix="/v1", tags=["organisation units"])

AsOf = Annotated[date | None, Query(description="The day whose tree to show (default: today in Vietnam)")]
TenantQuery = Annotated[str | None, Query(description="For central roles: the province to read (default: all)")]


# -- reads -----------------------------------------------------------------------------------------------
@router.get("/units/tree", summary="The unit tree in force on a date")
def unit_tree(principal: PrincipalDep, runtime: RuntimeDep, as_of: AsOf = None,
              shape: Literal["nested", "flat"] = "nested", tenant: TenantQuery = None):
    principal.require("read")
    scope = principal.read_scope(tenant)
    day = as_of or today(runtime)
    with runtime.db.tx(scope) as conn:
        rows, _ = store.list_units(conn, scope, day, limit=1_000_000)
    flat = [{k: r[k] for k in ("id", "code", "name", "level", "kind", "parent_id")} for r in rows]
    return {"as_of": day, "count": len(flat), "units": flat if shape == "flat" else nest(flat)}


@router.get("/units/export", summary="Units in force on a date as CSV (the import's columns)")
def export_units(principal: PrincipalDep, runtime: RuntimeDep, as_of: AsOf = None, tenant: TenantQuery = None):
    principal.require("read")
    scope = principal.read_scope(tenant)
    if scope == "*":
        raise Invalid("name the province to export (tenant=...)", field="query.tenant")
    day = as_of or today(runtime)
    with runtime.db.tx(scope) as conn:
        rows = store.export_rows(conn, scope, day)
    return Response(csv_io.render(rows), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="units-{day.isoformat()}.csv"'})


@router.get("/units", summary="Units in force on a date, filtered and paged")
def list_units(principal: PrincipalDep, runtime: RuntimeDep, as_of: AsOf = None,
               level: Annotated[int | None, Query(ge=1, le=10)] = None, kind: str | None = None,
               q: Annotated[str | None, Query(max_length=200, description="Part of the name, or the exact code")] = None,
               page: Annotated[int, Query(ge=1)] = 1, page_size: Annotated[int, Query(ge=1)] = 50,
               tenant: TenantQuery = None):
    principal.require("read")
    page_size = min(page_size, runtime.settings.max_page_size)
    scope = principal.read_scope(tenant)
    day = as_of or today(runtime)
    with runtime.db.tx(scope) as conn:
        rows, total = store.list_units(conn, scope, day, level=level, kind=kind, q=q, limit=page_size,
                                       offset=(page - 1) * page_size)
    return {"as_of": day, "page": page, "page_size": page_size, "total": total, "items": rows}


@router.get("/units/{unit_id}", summary="A unit with its history, predecessors and successor")
def get_unit(unit_id: UUID, principal: PrincipalDep, runtime: RuntimeDep, as_of: AsOf = None):
    principal.require("read")
    scope = principal.read_scope()
    with runtime.db.tx(scope) as conn:
        tenant = scope if scope != "*" else _tenant_of(conn, str(unit_id))
        history = store.history(conn, tenant, str(unit_id))
        if not history:
            raise NotFound(f"unit {unit_id} not found")
        return unit_view(history, ended=store.ended(conn, tenant, str(unit_id)),
                         predecessors=store.predecessors(conn, tenant, str(unit_id)), as_of=as_of)


def _tenant_of(conn, unit_id: str) -> str:
    row = conn.execute("SELECT tenant FROM units WHERE id = %s", [unit_id]).fetchone()
    return row["tenant"] if row else ""


# -- changes ---------------------------------------------------------------------------------------------
@router.post("/units", status_code=201, summary="Create a unit")
def create_unit(body: UnitCreate, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("units:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        history = commands.create_unit(runtime.outbox, conn, tenant, effective=body.valid_from or today(runtime),
                                       name=body.name, level=body.level, kind=body.kind, code=body.code,
                                       parent_id=_str(body.parent_id), contacts=body.contact_dicts())
    return unit_view(history)


@router.post("/units/merge", summary="Merge units into a successor (existing, or created by this request)")
def merge_units(body: UnitMerge, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("units:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        successor_id = _str(body.successor_id)
        if body.successor is not None:
            if body.successor_id is not None:
                raise Invalid("give successor_id or successor, not both", field="body.successor")
            s = body.successor
            successor_id = commands.create_unit(runtime.outbox, conn, tenant, effective=body.effective, name=s.name,
                                                level=s.level, kind=s.kind, code=s.code, parent_id=_str(s.parent_id),
                                                contacts=s.contact_dicts())[0].unit_id
        elif successor_id is None:
            raise Invalid("give the successor_id of an existing unit or a new successor", field="body.successor_id")
        result = commands.merge_units(runtime.outbox, conn, tenant, [str(u) for u in body.unit_ids],
                                      effective=body.effective, successor_id=successor_id)
        successor = store.history(conn, tenant, successor_id)
    return {"successor": unit_view(successor), "merged": [unit_view(h) for h in result["merged"]],
            "moved": [unit_view(h) for h in result["moved"]]}


@router.post("/units/{unit_id}/rename", summary="Rename a unit from an effective date")
def rename_unit(unit_id: UUID, body: UnitRename, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("units:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        history = commands.rename_unit(runtime.outbox, conn, tenant, str(unit_id), name=body.name, code=body.code,
                                       effective=body.effective or today(runtime))
    return unit_view(history)


@router.post("/units/{unit_id}/move", summary="Move a unit under another parent from an effective date")
def move_unit(unit_id: UUID, body: UnitMove, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("units:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        history = commands.move_unit(runtime.outbox, conn, tenant, str(unit_id), parent_id=_str(body.parent_id),
                                     level=body.level, effective=body.effective or today(runtime))
    return unit_view(history)


@router.post("/units/{unit_id}/dissolve", summary="Dissolve a unit (its last day is the day before the effective date)")
def dissolve_unit(unit_id: UUID, body: UnitDissolve, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("units:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        history = commands.dissolve_unit(runtime.outbox, conn, tenant, str(unit_id), effective=body.effective)
    return unit_view(history, ended="dissolved")


@router.put("/units/{unit_id}/contacts", summary="Replace a unit's contacts from an effective date")
def update_contacts(unit_id: UUID, body: ContactsUpdate, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("units:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        history = commands.update_contacts(runtime.outbox, conn, tenant, str(unit_id), contacts=body.contact_dicts(),
                                           effective=body.effective or today(runtime))
    return unit_view(history)


@router.post("/units/import", summary="Import units from CSV (multipart 'file' or a text/csv body); all or nothing",
             openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def import_units(request: Request, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("units:write")
    tenant = principal.write_scope()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise Invalid("send the CSV as the form field 'file'", field="body.file")
        raw = await upload.read()
    elif content_type.startswith(("text/csv", "text/plain", "application/csv")):
        raw = await request.body()
    else:
        raise UnsupportedType("send text/csv or multipart/form-data with a 'file' field")
    try:
        text = csv_io.decode(raw)
    except ValueError as exc:
        raise Invalid(str(exc), field="body.file") from None
    return await run_in_threadpool(import_csv, runtime, tenant, text)


# -- the working calendar -------------------------------------------------------------------------------
@router.get("/calendar/{year}", tags=["working calendar"], summary="National holidays and the province's declared days")
def get_calendar(year: Annotated[int, workdays.YearPath], principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("read")
    scope = principal.read_scope()
    with runtime.db.tx(scope) as conn:
        return workdays.view(conn, scope, year)


@router.put("/calendar/{year}", tags=["working calendar"], summary="Declare the province's days off and working days")
def put_calendar(year: Annotated[int, workdays.YearPath], body: CalendarWrite, principal: PrincipalDep,
                 runtime: RuntimeDep):
    principal.require("units:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        return workdays.declare(runtime.outbox, conn, tenant, year, body)


@router.get("/calendar/{year}/add-working-days", tags=["working calendar"],
            summary="The date a given number of working days after a start date")
def add_working_days(year: Annotated[int, workdays.YearPath], start: date,
                     days: Annotated[int, Query(ge=0, le=2000)], principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("read")
    scope = principal.read_scope()
    if start.year != year:
        raise Invalid(f"start must fall in {year}", field="query.start")
    with runtime.db.tx(scope) as conn:
        return workdays.deadline(conn, scope, start, days)


def _str(value: UUID | None) -> str | None:
    return str(value) if value is not None else None
