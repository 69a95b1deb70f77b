"""Routes for dossier lists (CSV or JSON), the reproducible sample and its verification, dossier checks."""
from __future__ import annotations

import csv
import io
import secrets
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError, model_validator

from services.inspections.reading import visible_inspection
from services.inspections import domain, replicas, store
from services.inspections.access import unit_scope
from services.inspections.dossiers import store as ds
from services.inspections.web import actor, created, unique_ids
from shared.api import PrincipalDep, RuntimeDep
from shared.errors import Conflict, Invalid, NotFound

router = APIRouter(prefix="/v1", tags=["dossier checks"])
Code = Annotated[str, Field(min_length=1, max_length=200)]


class Dossier(BaseModel):
    code: Code
    field: Annotated[str, Field(min_length=1, max_length=100)]
    received_on: date
    due_on: date
    resolved_on: date | None = None

    @model_validator(mode="after")
    def _dates(self):
        if self.due_on < self.received_on:
            raise ValueError("due_on is before received_on")
        if self.resolved_on is not None and self.resolved_on < self.received_on:
            raise ValueError("resolved_on is before received_on")
        return self


class DossierList(BaseModel):
    dossiers: Annotated[list[Dossier], Field(max_length=100_000)]


class SampleCreate(BaseModel):
    id: uuid.UUID
    size: Annotated[int, Field(ge=1, le=1000)]
    seed: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    field: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class CheckCreate(BaseModel):
    id: uuid.UUID
    dossier_code: Code
    note: Annotated[str, Field(max_length=20000)] = ""


def _parse_csv(text: str) -> list[dict[str, Any]]:
    """CSV with a header row: code, field, received_on, due_on, resolved_on (ISO dates; blank = unresolved)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = {"code", "field", "received_on", "due_on"} - set(reader.fieldnames or [])
    if missing:
        raise Invalid(f"CSV header lacks {', '.join(sorted(missing))}", field="body")
    rows = []
    for n, row in enumerate(reader, start=2):
        item = {k: (row.get(k) or "").strip() or None for k in ("code", "field", "received_on", "due_on", "resolved_on")}
        try:
            rows.append(Dossier.model_validate(item).model_dump())
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "row"
            raise Invalid(f"line {n}: {where}: {first['msg']}", field=f"body.line{n}.{where}") from None
    return rows


@router.post("/units/{unit_id}/dossiers", summary="Import (CSV) or push (JSON) a unit's dossier list")
async def push_dossiers(unit_id: uuid.UUID, request: Request, principal: PrincipalDep, runtime: RuntimeDep):
    # The unit's one-stop system pushes with a unit_head token for its own unit; the team may import too.
    if not (principal.can("inspections:write") or (principal.can("remediation:report") and principal.unit_id == str(unit_id))):
        principal.require("inspections:write")
    tenant = principal.write_scope()
    try:
        raw = (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("the body is not UTF-8 text (save the CSV as UTF-8)", field="body") from None
    if "\x00" in raw:
        raise Invalid("the body contains a NUL character", field="body")
    if request.headers.get("content-type", "").startswith("text/csv"):
        dossiers = _parse_csv(raw)
    else:
        try:
            dossiers = [d.model_dump() for d in DossierList.model_validate_json(raw).dossiers]
        except ValidationError as exc:
            first = exc.errors()[0]
            raise Invalid(first["msg"], field="body." + ".".join(str(p) for p in first["loc"])) from None
    with runtime.db.tx(tenant) as conn:
        if replicas.unit(conn, tenant, str(unit_id)) is None:
            raise NotFound("unit not found")
        n = ds.upsert(conn, tenant, str(unit_id), dossiers, runtime.clock())
    return {"unit_id": str(unit_id), "received": n}


@router.get("/units/{unit_id}/dossiers", summary="A unit's dossier list")
def list_dossiers(unit_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep, field: str | None = None):
    principal.require("read")
    scope = unit_scope(principal)
    if scope is not None and scope != str(unit_id):
        raise NotFound("unit not found")
    tenant = principal.read_scope()
    with runtime.db.tx(tenant) as conn:
        if tenant != "*" and replicas.unit(conn, tenant, str(unit_id)) is None:
            raise NotFound("unit not found")  # another province's unit looks like no unit at all
        return {"items": ds.list_(conn, tenant, str(unit_id), field)}


@router.post("/inspections/{inspection_id}/dossier-sample", status_code=201,
             summary="Draw the dossier sample with a recorded seed (anyone can re-draw it)")
def draw_sample(inspection_id: uuid.UUID, body: SampleCreate, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("inspections:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn, unique_ids("dossier sample"):
        new = store.claim_client_id(conn, tenant, "dossier_sample", str(body.id),
                                    {"inspection_id": str(inspection_id), **body.model_dump(mode="json")})
        if new:
            inspection = store.require(conn, tenant, str(inspection_id))
            try:
                domain.require_fieldwork(inspection["status"], "a dossier sample")
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc)) from None
            data = body.model_dump()
            # Without a seed from the team the system picks one; either way it is recorded with the sample.
            data["seed"] = data["seed"] or secrets.token_hex(16)
            ds.draw(conn, tenant, inspection, data, by=actor(principal), now=runtime.clock())
        row = ds.sample(conn, str(inspection_id))
    return created(row, new)


@router.get("/inspections/{inspection_id}/dossier-sample", summary="The drawn sample, its seed and population")
def get_sample(inspection_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    with visible_inspection(runtime, principal, inspection_id) as (conn, _inspection):
        row = ds.sample(conn, str(inspection_id))
    if row is None:
        raise NotFound("no sample drawn yet")
    return row


@router.get("/inspections/{inspection_id}/dossier-sample/verify", summary="Re-draw the sample from its seed and compare")
def verify_sample(inspection_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    with visible_inspection(runtime, principal, inspection_id) as (conn, _inspection):
        row = ds.sample(conn, str(inspection_id))
    if row is None:
        raise NotFound("no sample drawn yet")
    result = domain.verify_sample(row["population"], row["size"], row["seed"], row["drawn"])
    return {"seed": row["seed"], "size": row["size"], "population_size": len(row["population"]),
            "drawn": row["drawn"], "redrawn": result.redrawn, "matches": result.matches}


@router.post("/inspections/{inspection_id}/dossier-checks", status_code=201,
             summary="Check a sampled dossier (days late computed in working days; publishes dossier.checked)")
def check_dossier(inspection_id: uuid.UUID, body: CheckCreate, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("inspections:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn, unique_ids("dossier check"):
        new = store.claim_client_id(conn, tenant, "dossier_check", str(body.id),
                                    {"inspection_id": str(inspection_id), **body.model_dump(mode="json")})
        if new:
            inspection = store.require(conn, tenant, str(inspection_id))
            try:
                domain.require_fieldwork(inspection["status"], "dossier checks")
            except domain.IllegalTransition as exc:
                raise Conflict(str(exc)) from None
            ds.check(conn, runtime.outbox, tenant, inspection, body.model_dump(), by=actor(principal), now=runtime.clock())
        row = ds.check_row(conn, str(body.id))
    return created(row, new)


@router.get("/inspections/{inspection_id}/dossier-checks", summary="Dossier checks of an inspection")
def list_checks(inspection_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    with visible_inspection(runtime, principal, inspection_id) as (conn, _inspection):
        return {"items": ds.checks(conn, str(inspection_id))}
