"""Routes for the conclusion: conclude (publishes inspection.concluded, assigns remediations), read, DOCX."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator

from services.inspections.reading import visible_inspection
from services.inspections import replicas, store
from services.inspections.conclusion import document, store as cs
from services.inspections.fieldwork import store as fw
from services.inspections.web import actor, created, unique_ids
from shared.api import PrincipalDep, RuntimeDep
from shared.documents import render_docx
from shared.errors import NotFound

router = APIRouter(prefix="/v1", tags=["conclusion"])
Name = Annotated[str, Field(min_length=1, max_length=500)]


class DocumentInfo(BaseModel):
    kind: Literal["notice", "report"]
    number: Annotated[str, Field(min_length=3, max_length=100, pattern=r"^[^/\s]+/\S+$",
                                 description="number and symbol, e.g. 12/TB-SNV")]
    date: date
    place: Name
    issuing_authority: Name = "ỦY BAN NHÂN DÂN TỈNH"
    issuing_body: Name = "SỞ NỘI VỤ"
    signer_title: Name
    signer_name: Name
    recipients: Annotated[list[Name], Field(max_length=50)] = []


class RecommendationIn(BaseModel):
    id: uuid.UUID
    finding_id: uuid.UUID | None = None
    kind: Literal["reminder", "correction", "self_criticism", "disciplinary", "procedure_change"]
    text: Annotated[str, Field(min_length=1, max_length=20000)]
    needs_action: bool | None = None
    discipline_level: Literal["reprimand", "warning", "demotion", "dismissal", "other"] | None = None
    official_ref: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    responsible_unit_id: uuid.UUID | None = None
    deadline: date | None = None
    deadline_working_days: Annotated[int, Field(ge=1, le=365)] | None = None

    @model_validator(mode="after")
    def _one_deadline(self):
        if self.deadline is not None and self.deadline_working_days is not None:
            raise ValueError("give either deadline or deadline_working_days, not both")
        return self


class ConclusionCreate(BaseModel):
    id: uuid.UUID
    document: DocumentInfo
    summary: Annotated[str, Field(min_length=1, max_length=50000)]
    recommendations: Annotated[list[RecommendationIn], Field(max_length=500)] = []


@router.post("/inspections/{inspection_id}/conclusion", status_code=201,
             summary="Conclude the inspection (publishes inspection.concluded and remediation.assigned)")
def conclude(inspection_id: uuid.UUID, body: ConclusionCreate, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("inspections:lead")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn, unique_ids("conclusion"):
        new = store.claim_client_id(conn, tenant, "conclusion", str(body.id),
                                    {"inspection_id": str(inspection_id), **body.model_dump(mode="json")})
        if new:
            cs.conclude(conn, runtime.outbox, tenant, str(inspection_id), body.model_dump(), by=actor(principal),
                        now=runtime.clock(), default_working_days=runtime.settings.remediation_working_days)
        row = cs.conclusion(conn, str(inspection_id))
    return created(row, new)


@router.get("/inspections/{inspection_id}/conclusion", summary="The conclusion with its recommendations")
def get_conclusion(inspection_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    with visible_inspection(runtime, principal, inspection_id) as (conn, _inspection):
        row = cs.conclusion(conn, str(inspection_id))
    if row is None:
        raise NotFound("not concluded yet")
    return row


@router.get("/inspections/{inspection_id}/conclusion.docx", summary="The conclusion as a Decree 30/2020 DOCX",
            response_class=Response)
def conclusion_docx(inspection_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    with visible_inspection(runtime, principal, inspection_id) as (conn, inspection):
        row = cs.conclusion(conn, str(inspection_id))
        if row is None:
            raise NotFound("not concluded yet")
        unit = replicas.unit(conn, inspection["tenant"], str(inspection["unit_id"]))
        findings = fw.findings(conn, str(inspection_id))
    data = render_docx(document.build(row, inspection, unit["name"] if unit else str(inspection["unit_id"]), findings))
    filename = f"ket-luan-{inspection_id}.docx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
