"""Routes for the visit: checklist results, findings (officials shown only to those who may read them),
evidence uploads, assessment of the head and deputies, minutes."""
from __future__ import annotations

import hashlib
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from services.inspections.reading import visible_inspection
from services.inspections import domain, replicas, store
from services.inspections.access import check_visible, unit_scope
from services.inspections.fieldwork import store as fw
from services.inspections.web import actor, created, unique_ids
from shared.api import PrincipalDep, RuntimeDep
from shared.auth import Principal
from shared.errors import Conflict, Invalid, NotFound, TooLarge, UnsupportedType

router = APIRouter(prefix="/v1", tags=["fieldwork"])
Text = Annotated[str, Field(min_length=1, max_length=20000)]
Code = Annotated[str, Field(min_length=1, max_length=200)]
Rating = Literal["good", "satisfactory", "poor"]


class ResultCreate(BaseModel):
    id: uuid.UUID
    criterion_code: Code
    result: Literal["met", "not_met", "not_applicable"]
    note: Annotated[str, Field(max_length=20000)] = ""


class Official(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    position: Annotated[str, Field(min_length=1, max_length=200)]


class FindingCreate(BaseModel):
    id: uuid.UUID
    criterion_code: Code
    severity: Literal["minor", "moderate", "serious"]
    description: Text
    unit_id: uuid.UUID | None = None
    officials: Annotated[list[Official], Field(max_length=50)] = []


class AssessmentCreate(BaseModel):
    id: uuid.UUID
    official_ref: Code
    position: Literal["head", "deputy"]
    task_execution: Rating
    processing_time: Rating
    quality: Rating
    notes: Annotated[str, Field(max_length=20000)] = ""


class Disagreement(BaseModel):
    finding_id: uuid.UUID | None = None
    text: Text


class MinutesCreate(BaseModel):
    id: uuid.UUID
    held_on: date
    place: Annotated[str, Field(min_length=1, max_length=500)]
    team_summary: Text
    unit_response: Annotated[str, Field(max_length=20000)]
    disagreements: Annotated[list[Disagreement], Field(max_length=200)] = []


def _fieldwork(conn, tenant: str, inspection_id: uuid.UUID, what: str) -> dict[str, Any]:
    return _in_fieldwork(store.get(conn, tenant, str(inspection_id)), what)


def _in_fieldwork(inspection: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """The inspection, if it exists for this tenant (404) and is being visited (409)."""
    if inspection is None:
        raise NotFound("inspection not found")
    try:
        domain.require_fieldwork(inspection["status"], what)
    except domain.IllegalTransition as exc:
        raise Conflict(str(exc), current_status=inspection["status"]) from None
    return inspection


def _check_criterion(conn, tenant: str, inspection: dict[str, Any], code: str) -> None:
    if inspection["checklist_id"]:
        codes = replicas.checklist_codes(conn, tenant, str(inspection["checklist_id"]), inspection["checklist_version"])
        _require_listed(None if codes is None else code in codes, code)


def _require_listed(listed: bool | None, code: str) -> None:
    """A code off the checklist is refused; without a (replicated) checklist any code is accepted."""
    if listed is False:
        raise Invalid(f"criterion {code} is not in the inspection's checklist", field="body.criterion_code")


def _officials_reader(principal: Principal, route: str) -> fw.Reader | None:
    """The reader to log when officials' names are shown to this principal; None when they are not."""
    if not principal.can("officials:read"):
        return None
    return fw.Reader(principal.sub, ",".join(sorted(principal.roles)), route)


def new_finding_view(row: dict[str, Any], officials: list[dict[str, str]] | None) -> dict[str, Any]:
    """What :func:`finding_views` shows of a finding recorded in this very transaction, without reading it
    back: nothing can refer to it yet (evidence and minutes name only findings that exist), and its
    officials are the ones just stored, in order."""
    view = {k: v for k, v in row.items() if k != "tenant"}
    view["evidence"] = []
    view["unit_disagreements"] = []
    if officials is not None:
        view["officials"] = [{"name": o["name"], "position": o["position"]} for o in officials]
    return view


def finding_views(conn, principal: Principal, rows: list[dict[str, Any]], route: str, now) -> list[dict[str, Any]]:
    """Findings with evidence; officials' names only for officials:read, and each such read is logged."""
    ids = [str(r["id"]) for r in rows]
    evidence = fw.evidence_of(conn, "finding", ids)
    names = fw.officials(conn, ids, reader=principal.sub, roles=",".join(sorted(principal.roles)), route=route, now=now) \
        if principal.can("officials:read") and ids else None
    # The unit's disagreements from the minutes are shown beside the finding they dispute.
    disputes: dict[str, list[str]] = {}
    for inspection_id in {str(r["inspection_id"]) for r in rows}:
        recorded = fw.minutes(conn, inspection_id)
        for item in (recorded or {}).get("disagreements", []):
            if item.get("finding_id"):
                disputes.setdefault(str(item["finding_id"]), []).append(item["text"])
    out = []
    for r in rows:
        view = {k: v for k, v in r.items() if k != "tenant"}
        view["evidence"] = evidence.get(str(r["id"]), [])
        view["unit_disagreements"] = disputes.get(str(r["id"]), [])
        if names is not None:
            view["officials"] = names.get(str(r["id"]), [])
        out.append(view)
    return out


@router.post("/inspections/{inspection_id}/checklist-results", status_code=201, summary="Record a checklist result")
def add_result(inspection_id: uuid.UUID, body: ResultCreate, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("inspections:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn, unique_ids("checklist result"):
        new = store.claim_client_id(conn, tenant, "checklist_result", str(body.id),
                                    {"inspection_id": str(inspection_id), **body.model_dump(mode="json")})
        if new:
            inspection = _fieldwork(conn, tenant, inspection_id, "checklist results")
            _check_criterion(conn, tenant, inspection, body.criterion_code)
            fw.add_result(conn, tenant, inspection, body.model_dump(), by=actor(principal), now=runtime.clock())
        row = fw.result(conn, str(body.id))
    return created(row, new)


@router.get("/inspections/{inspection_id}/checklist-results", summary="Checklist results of an inspection")
def list_results(inspection_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    with visible_inspection(runtime, principal, inspection_id) as (conn, _inspection):
        return {"items": fw.results(conn, str(inspection_id))}


@router.post("/inspections/{inspection_id}/findings", status_code=201, summary="Record a finding (publishes violation.recorded)")
async def add_finding(inspection_id: uuid.UUID, body: FindingCreate, request: Request, principal: PrincipalDep,
                      runtime: RuntimeDep):
    # The busiest write of the platform runs on the event loop, not in a thread (shared.db.AsyncConnections
    # says why): one API process records 846-1,040 findings/s in the benchmark instead of 533-735/s.
    principal.require("inspections:write")
    tenant = principal.write_scope()
    now = runtime.clock()
    # Pipelined: the claim and the inspection go in one round trip, the finding, its outbox event and
    # the COMMIT in another. The unique-id guard is outside, because errors arrive with the COMMIT.
    with unique_ids("finding"):
        async with runtime.db.atx(tenant) as conn:
            new, inspection = await fw.claim_finding(conn, tenant, str(body.id),
                                                     {"inspection_id": str(inspection_id), **body.model_dump(mode="json")},
                                                     str(inspection_id), body.criterion_code)
            if new:
                inspection = _in_fieldwork(inspection, "findings")
                _require_listed(inspection.pop("criterion_listed"), body.criterion_code)
                data = body.model_dump()
                data["unit_id"] = data["unit_id"] or inspection["unit_id"]
                reader = _officials_reader(principal, request.url.path)
                stored = await fw.add_finding(conn, runtime.outbox, tenant, inspection, data, by=actor(principal), now=now,
                                              reader=reader)
    if not new:  # a resend: answer with the finding as it is now, by the blocking code every read shares
        return await run_in_threadpool(_finding_now, runtime, principal, tenant, body.id, request.url.path, now)
    return created(new_finding_view(await stored.fetchone(), data["officials"] if reader else None), True)


def _finding_now(runtime, principal: Principal, tenant: str, finding_id: uuid.UUID, route: str, now):
    with runtime.db.tx(tenant) as conn:
        row = fw.finding(conn, "tenant = %s", [tenant], str(finding_id))
        return created(finding_views(conn, principal, [row], route, now)[0], False)


@router.get("/inspections/{inspection_id}/findings", summary="Findings of an inspection")
def list_findings(inspection_id: uuid.UUID, request: Request, principal: PrincipalDep, runtime: RuntimeDep):
    with visible_inspection(runtime, principal, inspection_id) as (conn, _inspection):
        rows = fw.findings(conn, str(inspection_id))
        return {"items": finding_views(conn, principal, rows, request.url.path, runtime.clock())}


def _visible_finding(conn, principal: Principal, scope: str, finding_id: uuid.UUID) -> dict[str, Any]:
    where, params = store.tenant_filter(scope)
    row = fw.finding(conn, where, params, str(finding_id))
    if row is None:
        raise NotFound("finding not found")
    check_visible(principal, store.get(conn, scope, str(row["inspection_id"])))
    return row


@router.get("/findings/{finding_id}", summary="One finding")
def get_finding(finding_id: uuid.UUID, request: Request, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("read")
    scope = principal.read_scope()
    with runtime.db.tx(scope) as conn:
        row = _visible_finding(conn, principal, scope, finding_id)
        return finding_views(conn, principal, [row], request.url.path, runtime.clock())[0]


@router.get("/findings/{finding_id}/officials-access", summary="Who read the officials named in a finding, and when")
def officials_access(finding_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("audit:read")
    scope = principal.read_scope()
    with runtime.db.tx(scope) as conn:
        where, params = store.tenant_filter(scope)
        if fw.finding(conn, where, params, str(finding_id)) is None:
            raise NotFound("finding not found")
        return {"items": fw.officials_access_log(conn, str(finding_id))}


async def read_upload(file: UploadFile, runtime) -> tuple[bytes, str]:
    """The file's bytes and type, within the size limit (413) and the allowed types (415)."""
    content_type = (file.content_type or "").split(";")[0].strip().lower()
    allowed = runtime.settings.evidence_type_set
    if content_type not in allowed:
        raise UnsupportedType(f"evidence of type {content_type or 'unknown'} is not accepted; allowed: {', '.join(sorted(allowed))}",
                              field="file")
    limit = runtime.settings.evidence_max_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"evidence files may be at most {limit} bytes", field="file")
    if not content:
        raise Invalid("the file is empty", field="file")
    return content, content_type


@router.post("/findings/{finding_id}/evidence", status_code=201, summary="Attach an evidence file (stored by SHA-256)")
async def add_evidence(finding_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep,
                       file: Annotated[UploadFile, File()], id: Annotated[uuid.UUID, Form()]):
    principal.require("inspections:write")
    tenant = principal.write_scope()
    content, content_type = await read_upload(file, runtime)
    filename = file.filename or "evidence"
    payload = {"finding_id": str(finding_id), "sha256": hashlib.sha256(content).hexdigest(), "filename": filename}
    with runtime.db.tx(tenant) as conn, unique_ids("evidence"):
        new = store.claim_client_id(conn, tenant, "evidence", str(id), payload)
        if new:
            row = fw.finding(conn, "tenant = %s", [tenant], str(finding_id))
            if row is None:
                raise NotFound("finding not found")
            inspection = store.require(conn, tenant, str(row["inspection_id"]))
            if inspection["status"] not in (domain.IN_PROGRESS, domain.CONCLUDED):
                raise Conflict(f"cannot add evidence to an inspection that is {inspection['status']}")
            fw.store_evidence(conn, tenant, evidence_id=str(id), owner_kind="finding", owner_id=str(finding_id),
                              filename=filename, content_type=content_type, content=content, by=actor(principal),
                              now=runtime.clock())
        item = fw.evidence_item(conn, str(id), tenant)
    return created(item, new)


@router.get("/evidence/{evidence_id}", summary="Download an evidence file")
def download_evidence(evidence_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("read")
    scope = principal.read_scope()
    with runtime.db.tx(scope) as conn:
        item = fw.evidence_item(conn, str(evidence_id), scope)
        if item is None:
            raise NotFound("evidence not found")
        if item["owner_kind"] == "finding":
            _visible_finding(conn, principal, scope, item["owner_id"])
        else:  # a remediation report's evidence: the unit head of another unit must not reach it
            owner = conn.execute("SELECT m.unit_id FROM remediation_reports r JOIN remediations m ON m.id = r.remediation_id "
                                 "WHERE r.id = %s", [item["owner_id"]]).fetchone()
            limited = unit_scope(principal)
            if owner is None or (limited is not None and str(owner["unit_id"]) != limited):
                raise NotFound("evidence not found")
        tenant = conn.execute("SELECT tenant FROM evidence WHERE id = %s", [evidence_id]).fetchone()["tenant"]
        content = fw.evidence_content(conn, tenant, item["sha256"])
    return Response(content, media_type=item["content_type"], headers={"ETag": f'"{item["sha256"]}"'})


@router.post("/inspections/{inspection_id}/assessments", status_code=201,
             summary="Assess the head or a deputy (publishes head.assessed)")
def add_assessment(inspection_id: uuid.UUID, body: AssessmentCreate, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("inspections:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn, unique_ids("assessment"):
        new = store.claim_client_id(conn, tenant, "assessment", str(body.id),
                                    {"inspection_id": str(inspection_id), **body.model_dump(mode="json")})
        if new:
            inspection = _fieldwork(conn, tenant, inspection_id, "assessments")
            fw.add_assessment(conn, runtime.outbox, tenant, inspection, body.model_dump(), by=actor(principal),
                              now=runtime.clock())
        row = fw.assessment(conn, str(body.id))
    row.pop("tenant", None)
    return created(row, new)


@router.get("/inspections/{inspection_id}/assessments", summary="Assessments of the head and deputies")
def list_assessments(inspection_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    with visible_inspection(runtime, principal, inspection_id) as (conn, _inspection):
        rows = fw.assessments(conn, str(inspection_id))
    return {"items": [{k: v for k, v in r.items() if k != "tenant"} for r in rows]}


@router.post("/inspections/{inspection_id}/minutes", status_code=201,
             summary="Record the minutes (biên bản) with the unit's response and disagreements")
def add_minutes(inspection_id: uuid.UUID, body: MinutesCreate, principal: PrincipalDep, runtime: RuntimeDep):
    principal.require("inspections:write")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn, unique_ids("minutes"):
        new = store.claim_client_id(conn, tenant, "minutes", str(body.id),
                                    {"inspection_id": str(inspection_id), **body.model_dump(mode="json")})
        if new:
            inspection = _fieldwork(conn, tenant, inspection_id, "minutes")
            fw.add_minutes(conn, tenant, inspection, body.model_dump(mode="json"), by=actor(principal), now=runtime.clock())
        row = fw.minutes(conn, str(inspection_id))
    row.pop("tenant", None)
    return created(row, new)


@router.get("/inspections/{inspection_id}/minutes", summary="The minutes of an inspection")
def get_minutes(inspection_id: uuid.UUID, principal: PrincipalDep, runtime: RuntimeDep):
    with visible_inspection(runtime, principal, inspection_id) as (conn, _inspection):
        row = fw.minutes(conn, str(inspection_id))
    if row is None:
        raise NotFound("no minutes recorded yet")
    row.pop("tenant", None)
    return row
