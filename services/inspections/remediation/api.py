"""Routes for remediations: list and read (with history), reports from the unit head, verification, extensions."""
from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field

from services.inspections import store
from services.inspections.access import require_unit_head_of, unit_scope
from services.inspections.fieldwork import store as fw
from services.inspections.fieldwork.api import read_upload
from services.inspections.remediation import store as rs
from services.inspections.web import actor, created, page, unique_ids
from shared.api import PrincipalDep, RuntimeDep
from shared.auth import Principal
from shared.errors import NotFound

router = APIRouter(prefix="/v1", tags=["remediation"])


class Verification(BaseModel):
    id: uuid.UUID
    outcome: Literal["accepted", "returned"]
    note: Annotated[str, Field(max_length=20000)] = ""


class Extension(BaseModel):
    id: uuid.UUID
    new_deadline: date
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


def _view(conn, row: dict[str, Any], *, detail: bool = False) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "tenant"}
    if detail:
        reports = rs.reports(conn, str(row["id"]))
        evidence = fw.evidence_of(conn, "remediation_report", [str(r["id"]) for r in reports])
        out["reports"] = [{**r, "evidence": evidence.get(str(r["id"]), [])} for r in reports]
        out["history"] = rs.history(conn, str(row["id"]))
    return out


def _visible(principal: Principal, row: dict[str, Any] | None) -> dict[str, Any]:
    scope = unit_scope(principal)
    if row is None or (scope is not None and str(row["unit_id"]) != scope):
        raise NotFound("remediation not found")
    return row


@router.get("/remediations", summary="Remediations by deadline (unit heads: their unit's)")
def list_remediations(principal: PrincipalDep, runtime: RuntimeDep, inspection_id: uuid.UUID | None = None,
                      unit_id: uuid.UUID | None = None, status: str | None = None, limit: int = 100, offset: int = 0):
    principal.require("read")
    scope = principal.read_scope()
    own = unit_scope(principal)
    if own is not None:
        unit_id = uuid.UUID(own) if unit_id is None or str(unit_id) == own else uuid.UUID(int=0)
    limit, offset = page(limit, offset, runtime.settings.max_page_size)
    with runtime.db.tx(scope) as conn:
        rows = rs.list_(conn, scope, inspection_id=str(inspection_id) if inspection_id else None,
                        unit_id=str(unit_id) if unit_id else None, status=status, limit=limit, offset=offset)
        return {"items": [_view(conn, r) for r in rows], "limit": limit, "offset": offset}


@router.get("/remediations/{remediation_id}", summary="One remediation with its reports and full history")
def get_remediation(remediation_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("read")
    scope = principal.read_scope()
    with runtime.db.tx(scope) as conn:
        row = _visible(principal, rs.get(conn, scope, str(remediation_id)))
        return _view(conn, row, detail=True)


@router.post("/remediations/{remediation_id}/reports", status_code=201,
             summary="The unit head reports progress, with evidence files (publishes remediation.reported)")
async def report(remediation_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep,
                 id: Annotated[uuid.UUID, Form()], progress: Annotated[Literal["in_progress", "done"], Form()],
                 note: Annotated[str, Form(max_length=20000)] = "",
                 files: Annotated[list[UploadFile], File()] = []):
    tenant = principal.write_scope()
    uploads = [(await read_upload(f, runtime), f.filename or "evidence") for f in files]
    payload = {"remediation_id": str(remediation_id), "id": str(id), "progress": progress, "note": note,
               "files": [hashlib.sha256(content).hexdigest() for (content, _t), _n in uploads]}
    now = runtime.clock()
    with runtime.db.tx(tenant) as conn, unique_ids("remediation report"):
        row = rs.require(conn, tenant, str(remediation_id), lock=True)
        require_unit_head_of(principal, str(row["unit_id"]))
        new = store.claim_client_id(conn, tenant, "remediation_report", str(id), payload)
        if new:
            rs.report(conn, runtime.outbox, tenant, row, {"id": id, "progress": progress, "note": note},
                      evidence_count=len(uploads), by=actor(principal), now=now)
            for n, ((content, content_type), filename) in enumerate(uploads):
                fw.store_evidence(conn, tenant, evidence_id=str(uuid.uuid5(id, str(n))), owner_kind="remediation_report",
                                  owner_id=str(id), filename=filename, content_type=content_type, content=content,
                                  by=actor(principal), now=now)
        body = _view(conn, rs.require(conn, tenant, str(remediation_id)), detail=True)
    return created(body, new)


@router.post("/remediations/{remediation_id}/verification", status_code=201,
             summary="The team leader accepts or returns a reported remediation (publishes remediation.verified)")
def verify(remediation_id: uuid.UUID, body: Verification, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("remediation:verify")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        new = store.claim_client_id(conn, tenant, "verification", str(body.id),
                                    {"remediation_id": str(remediation_id), **body.model_dump(mode="json")})
        if new:
            rs.verify(conn, runtime.outbox, tenant, str(remediation_id), body.model_dump(), by=actor(principal),
                      now=runtime.clock())
        return created(_view(conn, rs.require(conn, tenant, str(remediation_id)), detail=True), new)


@router.post("/remediations/{remediation_id}/extensions", status_code=201,
             summary="Extend the deadline with a reason (publishes remediation.extended)")
def extend(remediation_id: uuid.UUID, body: Extension, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("inspections:lead")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        new = store.claim_client_id(conn, tenant, "extension", str(body.id),
                                    {"remediation_id": str(remediation_id), **body.model_dump(mode="json")})
        if new:
            rs.extend(conn, runtime.outbox, tenant, str(remediation_id), body.model_dump(), by=actor(principal),
                      now=runtime.clock())
        return created(_view(conn, rs.require(conn, tenant, str(remediation_id)), detail=True), new)
