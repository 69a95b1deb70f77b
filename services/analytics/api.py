"""HTTP routes of the analytics service: thin, they parse, authorise, and call queries/exports/charts."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.analytics import charts, exports, queries, rebuild, report, store
from services.analytics.domain import Period
from services.analytics.summary_cache import SummaryCache
from shared.api import JSONBody, PrincipalDep, RuntimeDep
from shared.api import create_app as create_shell
from shared.auth import Principal
from shared.db import ALL_TENANTS
from shared.errors import Invalid, NotFound
from shared.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["analytics"])

GROUPINGS = {"violations": {"criterion", "unit", "level", "severity", "month"}, "dossiers": {"field", "unit"}}
DASHBOARD_NAMES = sorted([*queries.DASHBOARDS, "provinces"])


class AskParams(BaseModel):
    """Query parameters every dashboard takes."""
    year: int = Field(ge=2000, le=2100)
    month_from: int = Field(1, ge=1, le=12)
    month_to: int = Field(12, ge=1, le=12)
    as_of: date | None = Field(None, description="attribute to the unit tree valid on this day; default: the current tree")
    level: int | None = Field(None, ge=1, description="only units of this level of the tree")
    group_by: str | None = Field(None, description="violations: criterion|unit|level|severity|month; dossiers: field|unit")
    rollup: int | None = Field(None, ge=1, description="count each unit under its ancestor at this level of the tree")
    today: date | None = Field(None, description="the day overdue is measured on; default: today")
    tenant: str | None = Field(None, description="central roles: the province to look at")


AskDep = Annotated[AskParams, Query()]


def _filters(runtime: Runtime, params: AskParams, name: str | None = None) -> queries.Filters:
    if params.month_to < params.month_from:
        raise Invalid("month_to is before month_from", field="query.month_to")
    if params.group_by is not None and params.group_by not in GROUPINGS.get(name or "", set()):
        raise Invalid(f"group_by {params.group_by!r} is not offered here", field="query.group_by")
    return queries.Filters(Period(params.year, params.month_from, params.month_to), params.today or runtime.clock().date(),
                           params.as_of, params.level, params.group_by, params.rollup)


def _one_tenant(principal: Principal, params: AskParams) -> str:
    tenant = principal.require("read").read_scope(params.tenant)
    if tenant == ALL_TENANTS:
        raise Invalid("choose a province with ?tenant= (or ask the provinces dashboard)", field="query.tenant")
    return tenant


def _summaries(runtime: Runtime) -> SummaryCache:
    """The API process's central-view figures (one per runtime: tests run several services in one process)."""
    cache = runtime.extras.get("summaries")
    if cache is None:
        cache = runtime.extras.setdefault("summaries", SummaryCache(runtime.settings.summary_cache_entries))
    return cache


def _answer(runtime: Runtime, principal: Principal, name: str, params: AskParams) -> queries.Answer:
    if name not in DASHBOARD_NAMES:
        raise NotFound(f"no dashboard {name!r}; there are {', '.join(DASHBOARD_NAMES)}")
    filters = _filters(runtime, params, name)
    if name == "provinces":
        scope = principal.require("read").read_scope(params.tenant)
        with runtime.db.tx(scope) as conn:
            return queries.provinces(conn, store.tenants(conn) if scope == ALL_TENANTS else [scope], filters,
                                     _summaries(runtime))
    tenant = _one_tenant(principal, params)
    with runtime.db.tx(tenant) as conn:
        return queries.DASHBOARDS[name](queries.Context(conn, tenant, filters))


def _download(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/dashboards/{name}", summary="One dashboard answer as JSON, CSV or XLSX")
def dashboard(name: str, params: AskDep, principal: PrincipalDep, runtime: RuntimeDep,
              format: Literal["json", "csv", "xlsx"] = "json") -> Any:
    """One dashboard answer as JSON, CSV or XLSX."""
    answer = _answer(runtime, principal, name, params)
    stem = f"{name}-{params.year}"
    if format == "csv":
        return _download(exports.to_csv(answer), exports.CSV_TYPE, f"{stem}.csv")
    if format == "xlsx":
        return _download(exports.to_xlsx(answer), exports.XLSX_TYPE, f"{stem}.xlsx")
    return JSONBody({"dashboard": name, **answer.to_json()})


@router.get("/dashboards/{name}/chart.svg", summary="The dashboard's chart, to embed")
def dashboard_chart(name: str, params: AskDep, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    """The dashboard's chart as SVG."""
    answer = _answer(runtime, principal, name, params)
    return Response(charts.answer_chart(answer), media_type="image/svg+xml; charset=utf-8")


@router.get("/scorecards/{unit_id}", summary="One unit's scorecard with its facts; head and deputies for those allowed")
def unit_scorecard(unit_id: str, params: AskDep, principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    """One unit's scorecard; officials (logged) for roles allowed to read them."""
    tenant = _one_tenant(principal, params)
    with runtime.db.tx(tenant) as conn:
        ctx = queries.Context(conn, tenant, _filters(runtime, params))
        if unit_id not in ctx.units:
            raise NotFound(f"unit {unit_id} not found")
        card = queries.scorecard(ctx, unit_id, with_officials=principal.can("officials:read"))
        if card.get("officials"):
            store.log_personal_read(conn, tenant, principal.sub, unit_id, [o["official_ref"] for o in card["officials"]],
                                    ctx.f.period.label(), runtime.clock())
    return JSONBody(card)


@router.get("/reports/{year}/annual.docx", summary="BÁO CÁO Kết quả kiểm tra công vụ năm N (Decree 30/2020 DOCX)")
def annual_report(year: int, principal: PrincipalDep, runtime: RuntimeDep, tenant: str | None = None,
                  number: str = "...", signer_name: str = "", issued_on: date | None = None) -> Response:
    """The year's report as DOCX."""
    params = AskParams(year=year, tenant=tenant)
    scope = _one_tenant(principal, params)
    settings = runtime.settings
    header = report.ReportHeader(number=number, signer_name=signer_name,
                                 issuing_body=getattr(settings, "report_issuing_body", "SỞ NỘI VỤ"),
                                 signer_title=getattr(settings, "report_signer_title", "GIÁM ĐỐC"))
    with runtime.db.tx(scope) as conn:
        ctx = queries.Context(conn, scope, _filters(runtime, params))
        body = report.annual_report(ctx, header, issued_on or runtime.clock().date())
    return _download(body, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                     f"bao-cao-kiem-tra-cong-vu-{year}.docx")


class RebuildRequest(BaseModel):
    outbox_urls: list[str] = Field(default_factory=list, max_length=10,
                                   description="replay these services' outboxes instead of the topics")


@router.post("/rebuild", status_code=202, summary="Empty the read models and replay every event (operators)")
def start_rebuild(principal: PrincipalDep, runtime: RuntimeDep, body: RebuildRequest | None = None) -> Any:
    """Start a rebuild in the background; 202 with its first status."""
    principal.require("operate")
    run_id = rebuild.start(runtime, (body.outbox_urls if body else None) or None)
    return JSONBody(rebuild.status(runtime) | {"id": run_id}, status_code=202)


@router.get("/rebuild/status", summary="Progress of the latest rebuild: events applied / total")
def rebuild_status(principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    """The latest rebuild and its progress."""
    principal.require("operate")
    current = rebuild.status(runtime)
    if current is None:
        raise NotFound("no rebuild has run")
    return JSONBody(current)


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    """The analytics service's FastAPI app."""
    return create_shell(runtime, [router], title="Analytics service", manage_runtime=manage_runtime)
