"""Routes for checklists, teams and annual plans (coverage, conflicts, workflow, documents)."""
from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.plans.org.store import units_as_of
from services.plans.planning import domain, service, store
from services.plans.planning.documents import plan_document
from services.plans.planning.schemas import (Amendment, Approval, ChecklistCreate, ChecklistVersionCreate,
                                             ChecklistVersionUpdate, Closing, PlanCreate, PlanFields,
                                             PlannedInspectionCreate, PlanReplace, TeamWrite)
from shared.api import PrincipalDep, RuntimeDep
from shared.documents import render_docx
from shared.errors import NotFound

router = APIRouter(prefix="/v1", tags=["plans"])
IfMatch = Annotated[str | None, Header(alias="If-Match")]
# Bounds keep out-of-range numbers a 422 rather than a database overflow.
VersionPath = Annotated[int, Path(ge=1, le=100_000)]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _json(body, status: int = 200, etag: int | None = None) -> JSONResponse:
    headers = {"ETag": domain.etag(etag)} if etag is not None else None
    return JSONResponse(jsonable_encoder(body), status_code=status, headers=headers)


def _plan(conn, plan: dict, status: int = 200) -> JSONResponse:
    return _json(service.plan_view(conn, plan), status, plan["revision"])


def _limit(runtime, limit: int) -> int:
    return max(1, min(limit, runtime.settings.max_page_size))


# -- checklists ------------------------------------------------------------------------------------
@router.post("/checklists", status_code=201, summary="Create a checklist (a tree of criteria) with its version 1")
def create_checklist(body: ChecklistCreate, principal: PrincipalDep, runtime: RuntimeDep):
    tenant = principal.require("plans:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        checklist_id = service.create_checklist(runtime, conn, tenant=tenant, title=body.title, publish=body.publish,
                                                criteria=[c.model_dump() for c in body.criteria])
        return _json(service.checklist_view(conn, tenant=tenant, checklist_id=checklist_id, version=1), 201)


@router.post("/checklists/default", summary="Install the default catalogue of inspection contents (idempotent)")
def install_default_checklist(principal: PrincipalDep, runtime: RuntimeDep):
    tenant = principal.require("plans:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        checklist_id, created = service.install_default(runtime, conn, tenant=tenant)
        return _json(service.checklist_view(conn, tenant=tenant, checklist_id=checklist_id, version=None),
                     201 if created else 200)


@router.get("/checklists", summary="Checklists with their latest and latest published versions")
def list_checklists(principal: PrincipalDep, runtime: RuntimeDep, tenant: str | None = None):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        return _json({"items": store.list_checklists(conn, tenant=scope)})


@router.get("/checklists/{checklist_id}", summary="A checklist and the criteria of one version (default: the latest)")
def get_checklist(checklist_id: UUID, principal: PrincipalDep, runtime: RuntimeDep,
                  version: Annotated[int | None, Query(ge=1, le=100_000)] = None, tenant: str | None = None):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        return _json(service.checklist_view(conn, tenant=scope, checklist_id=str(checklist_id), version=version))


@router.post("/checklists/{checklist_id}/versions", status_code=201, summary="Add a version (published unless publish=false)")
def add_checklist_version(checklist_id: UUID, body: ChecklistVersionCreate, principal: PrincipalDep, runtime: RuntimeDep):
    tenant = principal.require("plans:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        version = service.add_checklist_version(runtime, conn, tenant=tenant, checklist_id=str(checklist_id), title=body.title,
                                                criteria=[c.model_dump() for c in body.criteria], publish=body.publish)
        return _json(service.checklist_view(conn, tenant=tenant, checklist_id=str(checklist_id), version=version), 201)


@router.put("/checklists/{checklist_id}/versions/{version}", summary="Rewrite a draft version (published ones are immutable)")
def update_checklist_version(checklist_id: UUID, version: VersionPath, body: ChecklistVersionUpdate, principal: PrincipalDep,
                             runtime: RuntimeDep):
    tenant = principal.require("plans:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        service.update_checklist_version(conn, tenant=tenant, checklist_id=str(checklist_id), version=version,
                                         title=body.title, criteria=[c.model_dump() for c in body.criteria])
        return _json(service.checklist_view(conn, tenant=tenant, checklist_id=str(checklist_id), version=version))


@router.post("/checklists/{checklist_id}/versions/{version}/publish", summary="Publish a draft version")
def publish_checklist_version(checklist_id: UUID, version: VersionPath, principal: PrincipalDep, runtime: RuntimeDep):
    tenant = principal.require("plans:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        service.publish_checklist_version(runtime, conn, tenant=tenant, checklist_id=str(checklist_id), version=version)
        return _json(service.checklist_view(conn, tenant=tenant, checklist_id=str(checklist_id), version=version))


# -- teams -------------------------------------------------------------------------------------------
@router.post("/teams", status_code=201, summary="Create an inspection team (lead unit, leader, members)")
def create_team(body: TeamWrite, principal: PrincipalDep, runtime: RuntimeDep):
    tenant = principal.require("teams:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        team = service.save_team(runtime, conn, tenant=tenant, team=body.model_dump())
        return _json(team, 201, team["revision"])


@router.get("/teams", summary="Inspection teams")
def list_teams(principal: PrincipalDep, runtime: RuntimeDep, tenant: str | None = None, limit: Limit = 100, offset: Offset = 0):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        rows = store.list_teams(conn, tenant=scope, limit=_limit(runtime, limit), offset=max(0, offset))
        return _json({"items": [service.team_view(r) for r in rows]})


@router.get("/teams/{team_id}", summary="One inspection team")
def get_team(team_id: UUID, principal: PrincipalDep, runtime: RuntimeDep, tenant: str | None = None):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        row = service.get_team(conn, tenant=scope, team_id=str(team_id))
        return _json(service.team_view(row), etag=row["revision"])


@router.put("/teams/{team_id}", summary="Replace a team's name, lead unit, leader and members")
def replace_team(team_id: UUID, body: TeamWrite, principal: PrincipalDep, runtime: RuntimeDep, if_match: IfMatch = None):
    tenant = principal.require("teams:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        team = service.save_team(runtime, conn, tenant=tenant, team=body.model_dump(), team_id=str(team_id),
                                 if_match=if_match)
        return _json(team, etag=team["revision"])


# -- plans -------------------------------------------------------------------------------------------
@router.post("/plans", status_code=201, summary="Create a draft plan")
def create_plan(body: PlanCreate, principal: PrincipalDep, runtime: RuntimeDep):
    tenant = principal.require("plans:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        return _plan(conn, service.create_plan(runtime, conn, tenant=tenant, fields=body.model_dump(mode="json")), 201)


@router.get("/plans", summary="Plans, newest year first")
def list_plans(principal: PrincipalDep, runtime: RuntimeDep, year: YearQuery = None,
               status: Annotated[str | None, Query(pattern='^(draft|approved|amended|closed)$')] = None,
               tenant: str | None = None, limit: Limit = 100, offset: Offset = 0):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        rows = store.list_plans(conn, tenant=scope, year=year, status=status, limit=_limit(runtime, limit),
                                offset=max(0, offset))
        return _json({"items": [{"id": str(r["id"]), "year": r["year"], "type": r["type"], "status": r["status"],
                                 "version": r["version"], "title": r["body"]["title"], "decision": r["decision"]}
                                for r in rows]})


@router.get("/schedule/summary", summary="Approved inspections in a period against the same period a year earlier")
def schedule_summary(start: date, end: date, principal: PrincipalDep, runtime: RuntimeDep, tenant: str | None = None):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        return _json(service.schedule_summary(conn, tenant=scope, start=start, end=end))


@router.get("/plans/{plan_id}", summary="A plan with its schedule; the ETag is its revision")
def get_plan(plan_id: UUID, principal: PrincipalDep, runtime: RuntimeDep, tenant: str | None = None):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        return _plan(conn, service.get_plan(conn, tenant=scope, plan_id=str(plan_id)))


@router.put("/plans/{plan_id}", summary="Replace a draft (If-Match required)")
def replace_plan(plan_id: UUID, body: PlanReplace, principal: PrincipalDep, runtime: RuntimeDep, if_match: IfMatch = None):
    tenant = principal.require("plans:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        plan = service.edit_plan(runtime, conn, tenant=tenant, plan_id=str(plan_id), fields=body.model_dump(mode="json"),
                                 if_match=if_match, replace=True)
        return _plan(conn, plan)


@router.patch("/plans/{plan_id}", summary="Change some fields of a draft (If-Match required)")
def patch_plan(plan_id: UUID, body: PlanFields, principal: PrincipalDep, runtime: RuntimeDep, if_match: IfMatch = None):
    tenant = principal.require("plans:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        plan = service.edit_plan(runtime, conn, tenant=tenant, plan_id=str(plan_id), if_match=if_match, replace=False,
                                 fields=body.model_dump(mode="json", exclude_unset=True))
        return _plan(conn, plan)


@router.post("/plans/{plan_id}/inspections", status_code=201, summary="Schedule an inspection in a draft")
def add_inspection(plan_id: UUID, body: PlannedInspectionCreate, principal: PrincipalDep, runtime: RuntimeDep,
                   if_match: IfMatch = None):
    tenant = principal.require("plans:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        inspection_id = service.add_inspection(runtime, conn, tenant=tenant, plan_id=str(plan_id), item=body.model_dump(),
                                               if_match=if_match)
        plan = service.get_plan(conn, tenant=tenant, plan_id=str(plan_id))
        return _json({"id": inspection_id, **body.model_dump(mode="json")}, 201, plan["revision"])


@router.delete("/plans/{plan_id}/inspections/{inspection_id}", status_code=204, summary="Remove an inspection from a draft")
def remove_inspection(plan_id: UUID, inspection_id: UUID, principal: PrincipalDep, runtime: RuntimeDep,
                      if_match: IfMatch = None):
    tenant = principal.require("plans:write").write_scope()
    with runtime.db.tx(tenant) as conn:
        service.remove_inspection(runtime, conn, tenant=tenant, plan_id=str(plan_id), inspection_id=str(inspection_id),
                                  if_match=if_match)
        plan = service.get_plan(conn, tenant=tenant, plan_id=str(plan_id))
    return Response(status_code=204, headers={"ETag": domain.etag(plan["revision"])})


@router.post("/plans/{plan_id}/approve", summary="Approve a draft by decision; schedules its inspections")
def approve_plan(plan_id: UUID, body: Approval, principal: PrincipalDep, runtime: RuntimeDep, if_match: IfMatch = None):
    tenant = principal.require("plans:approve").write_scope()
    with runtime.db.tx(tenant) as conn:
        return _plan(conn, service.approve_plan(runtime, conn, tenant=tenant, plan_id=str(plan_id),
                                                decision=body.decision.model_dump(), if_match=if_match))


@router.post("/plans/{plan_id}/amendments", summary="Amend an approved plan (a new version; the old one is kept)")
def amend_plan(plan_id: UUID, body: Amendment, principal: PrincipalDep, runtime: RuntimeDep, if_match: IfMatch = None):
    tenant = principal.require("plans:approve").write_scope()
    amendment = body.model_dump()
    amendment["changes"] = body.changes.model_dump(mode="json", exclude_unset=True) if body.changes else None
    with runtime.db.tx(tenant) as conn:
        return _plan(conn, service.amend_plan(runtime, conn, tenant=tenant, plan_id=str(plan_id), amendment=amendment,
                                              if_match=if_match))


@router.post("/plans/{plan_id}/close", summary="Close an approved or amended plan")
def close_plan(plan_id: UUID, principal: PrincipalDep, runtime: RuntimeDep, body: Closing | None = None,
               if_match: IfMatch = None):
    tenant = principal.require("plans:approve").write_scope()
    with runtime.db.tx(tenant) as conn:
        return _plan(conn, service.close_plan(runtime, conn, tenant=tenant, plan_id=str(plan_id),
                                              closed_on=body.closed_on if body else None, if_match=if_match))


@router.get("/plans/{plan_id}/versions", summary="Every approved and amended version of a plan, as approved")
def plan_versions(plan_id: UUID, principal: PrincipalDep, runtime: RuntimeDep, tenant: str | None = None):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        service.get_plan(conn, tenant=scope, plan_id=str(plan_id))
        return _json({"items": store.list_plan_versions(conn, tenant=scope, plan_id=str(plan_id))})


@router.get("/plans/{plan_id}/versions/{version}", summary="One approved or amended version, as approved")
def plan_version(plan_id: UUID, version: VersionPath, principal: PrincipalDep, runtime: RuntimeDep,
                 tenant: str | None = None):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        service.get_plan(conn, tenant=scope, plan_id=str(plan_id))
        found = [v for v in store.list_plan_versions(conn, tenant=scope, plan_id=str(plan_id)) if v["version"] == version]
        if not found:
            raise NotFound(f"plan {plan_id} has no version {version}")
        return _json(found[0])


@router.get("/plans/{plan_id}/coverage", summary="Which coverage rule the schedule does not yet meet, and by how much")
def plan_coverage(plan_id: UUID, principal: PrincipalDep, runtime: RuntimeDep, as_of: date | None = None,
                  tenant: str | None = None):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        plan = service.get_plan(conn, tenant=scope, plan_id=str(plan_id))
        return _json(service.coverage_report(conn, tenant=scope, plan=plan, as_of=as_of))


@router.get("/plans/{plan_id}/conflicts", summary="Team members who work in the unit they would inspect")
def plan_conflicts(plan_id: UUID, principal: PrincipalDep, runtime: RuntimeDep, as_of: date | None = None,
                   tenant: str | None = None):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        plan = service.get_plan(conn, tenant=scope, plan_id=str(plan_id))
        return _json(service.conflicts_report(conn, tenant=scope, plan=plan, as_of=as_of))


@router.get("/plans/{plan_id}/document.docx", summary="The plan as a DOCX document (Decree 30/2020 layout)",
            response_class=Response, responses={200: {"content": {DOCX: {}}}})
def plan_docx(plan_id: UUID, principal: PrincipalDep, runtime: RuntimeDep, tenant: str | None = None):
    scope = principal.require("read").read_scope(tenant)
    with runtime.db.tx(scope) as conn:
        plan = service.get_plan(conn, tenant=scope, plan_id=str(plan_id))
        view = service.plan_view(conn, plan)
        criteria = []
        if view.get("checklist_id"):
            version = store.get_checklist_version(conn, tenant=plan["tenant"], checklist_id=view["checklist_id"],
                                                  version=view["checklist_version"])
            criteria = version["criteria"] if version else []
        team_ids = sorted({p["team_id"] for p in view["planned_inspections"] if p["team_id"]})
        teams = {k: service.team_view(v) for k, v in store.get_teams(conn, tenant=plan["tenant"], team_ids=team_ids).items()}
        units = {u["id"]: u["name"] for u in units_as_of(conn, plan["tenant"], date(plan["year"], 1, 1))}
    data = render_docx(plan_document(view, criteria=criteria, units=units, teams=teams, today=runtime.clock().date()))
    filename = f"ke-hoach-{plan['year']}-{plan_id}.docx"
    return Response(data, media_type=DOCX, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
