"""HTTP routes of the inspections service: thin, they parse, authorise, and call store/domain functions."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from services.inspections.reading import visible_inspection
from services.inspections import replicas, store
from services.inspections.access import unit_scope
from services.inspections.conclusion.api import router as conclusion_router
from services.inspections.domain import local_date
from services.inspections.dossiers.api import router as dossiers_router
from services.inspections.fieldwork.api import router as fieldwork_router
from services.inspections.remediation.api import router as remediation_router
from services.inspections.web import actor, created, page, unique_ids
from shared.api import PrincipalDep, RuntimeDep
from shared.api import create_app as create_shell
from shared.auth import Principal
from shared.errors import Invalid
from shared.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["inspections"])
Text = Annotated[str, Field(min_length=1, max_length=20000)]


class SurpriseCreate(BaseModel):
    id: uuid.UUID
    form: Literal["surprise"] = "surprise"
    unit_id: uuid.UUID
    reason: Text
    team_id: uuid.UUID | None = None
    checklist_id: uuid.UUID | None = None
    checklist_version: int | None = None
    citizen_report_ref: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    citizen_contact: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class CitizenReplyCreate(BaseModel):
    id: uuid.UUID
    replied_on: date
    channel: Literal["letter", "email", "phone", "portal", "in_person"]
    outcome: Text


def inspection_view(row: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """An inspection as readers see it; the citizen's contact is personal data like officials' names."""
    out = dict(row)
    out.pop("tenant", None)
    if not principal.can("officials:read"):
        out.pop("citizen_contact", None)
    return out


@router.post("/inspections", status_code=201, summary="Record a surprise inspection (embargoed until it starts)")
def create_surprise(body: SurpriseCreate, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("inspections:write")
    tenant = principal.write_scope()
    now = runtime.clock()
    with runtime.db.tx(tenant) as conn, unique_ids("inspection"):
        new = store.claim_client_id(conn, tenant, "inspection", str(body.id), body.model_dump(mode="json"))
        if new:
            unit = replicas.unit(conn, tenant, str(body.unit_id))
            if unit is None:
                raise Invalid("unknown unit", field="body.unit_id")
            if unit["valid_to"] is not None and unit["valid_to"] < local_date(now):
                successor = f"; its successor is {unit['successor_id']}" if unit["successor_id"] else ""
                raise Invalid(f"the unit ceased to exist on {unit['valid_to']}{successor}", field="body.unit_id")
            store.create_surprise(conn, tenant, body.model_dump(), by=actor(principal), now=now)
        row = store.require(conn, tenant, str(body.id))
    return created(inspection_view(row, principal), new)


@router.get("/inspections", summary="Inspections, newest first (unit heads: their unit's, once started if surprise)")
def list_inspections(principal: PrincipalDep, runtime: RuntimeDep, unit_id: uuid.UUID | None = None,
                     status: str | None = None, tenant: str | None = None, limit: int = 100, offset: int = 0):
    principal.require("read")
    scope = principal.read_scope(tenant)
    limit, offset = page(limit, offset, runtime.settings.max_page_size)
    with runtime.db.tx(scope) as conn:
        rows = store.list_(conn, scope, unit_id=str(unit_id) if unit_id else None, unit_only=unit_scope(principal),
                           status=status, limit=limit, offset=offset)
    return {"items": [inspection_view(r, principal) for r in rows], "limit": limit, "offset": offset}


@router.get("/inspections/{inspection_id}", summary="One inspection with its citizen replies")
def get_inspection(inspection_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    with visible_inspection(runtime, principal, inspection_id) as (conn, row):
        replies = store.citizen_replies(conn, str(inspection_id))
        unit = replicas.unit(conn, row["tenant"], str(row["unit_id"]))
        team = replicas.team(conn, row["tenant"], str(row["team_id"])) if row["team_id"] else None
    # Names from the replicas; a merged unit shows its successor so readers can follow the reorganisation.
    return {**inspection_view(row, principal), "citizen_replies": replies,
            "unit": unit and {k: unit[k] for k in ("name", "code", "level", "kind", "valid_to", "successor_id")},
            "team": team and {"name": team["name"], "leader": team["leader"].get("name")}}


@router.post("/inspections/{inspection_id}/start", summary="Start the visit (publishes inspection.started)")
def start_inspection(inspection_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("inspections:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        row = store.start(conn, runtime.outbox, tenant, str(inspection_id), runtime.clock())
    return inspection_view(row, principal)


@router.post("/inspections/{inspection_id}/citizen-reply", status_code=201,
             summary="Record the outcome reported back to the citizen whose report triggered the inspection")
def citizen_reply(inspection_id: uuid.UUID, body: CitizenReplyCreate, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("inspections:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn, unique_ids("citizen reply"):
        inspection = store.require(conn, tenant, str(inspection_id))
        payload = {"inspection_id": str(inspection_id), **body.model_dump(mode="json")}
        new = store.claim_client_id(conn, tenant, "citizen_reply", str(body.id), payload)
        if new:
            store.add_citizen_reply(conn, tenant, inspection, body.model_dump(), by=actor(principal), now=runtime.clock())
        reply = store.citizen_reply(conn, str(body.id))
    return created(reply, new)


def _body_limit(runtime: Runtime):
    """Evidence uploads may be larger than ordinary JSON bodies (multipart overhead on top of the file)."""
    limit = getattr(runtime.settings, "evidence_max_bytes", 0) + 65536

    def override(path: str) -> int | None:
        return limit if path.endswith("/evidence") or path.endswith("/reports") else None
    return override


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    return create_shell(runtime, [router, fieldwork_router, dossiers_router, conclusion_router, remediation_router],
                        title="Inspections service",
                        description="Field inspections, findings, dossier checks, conclusions, remediation and overdue detection.",
                        body_limit_overrides=_body_limit(runtime), manage_runtime=manage_runtime)
