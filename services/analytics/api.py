"""HTTP routes of the analytics service: thin, they parse, authorise, and call queries/exports/charts."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Callable, Literal

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import Response
from prometheus_client import Counter
from pydantic import BaseModel, Field

from services.analytics import charts, exports, queries, rebuild, report, store
from services.analytics.domain import Period
from services.analytics.kept_answers import KeptAnswers
from shared.api import JSONBody, PrincipalDep, RuntimeDep, json_bytes
from shared.api import create_app as create_shell
from shared.auth import Principal
from shared.db import ALL_TENANTS
from shared.errors import Invalid, NotFound
from shared.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["analytics"])
# How well the kept answers serve (a low share kept: a province changing between most questions, or
# ANALYTICS_ANSWER_CACHE_MB too small for the questions asked).
ANSWERS = Counter("analytics_answers_total", "Province dashboard answers served, kept or computed", ["outcome"])

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


def _kept(runtime: Runtime) -> KeptAnswers:
    """The API process's kept answers (one per runtime: tests run several services in one process)."""
    kept = runtime.extras.get("kept_answers")
    if kept is None:
        kept = runtime.extras.setdefault("kept_answers", KeptAnswers(runtime.settings.answer_cache_mb * 2**20))
    return kept


# format -> (media type, the answer rendered)
RENDERINGS: dict[str, tuple[str, Callable[[str, queries.Answer], bytes]]] = {
    "json": ("application/json", lambda name, answer: json_bytes({"dashboard": name, **answer.to_json()})),
    "csv": (exports.CSV_TYPE, lambda _name, answer: exports.to_csv(answer)),
    "xlsx": (exports.XLSX_TYPE, lambda _name, answer: exports.to_xlsx(answer)),
    "svg": ("image/svg+xml; charset=utf-8", lambda _name, answer: charts.answer_chart(answer).encode("utf-8")),
}


def _rendered(runtime: Runtime, principal: Principal, name: str, params: AskParams, fmt: str) -> bytes:
    """The dashboard rendered in ``fmt``; kept while the province's read models are unchanged."""
    if name not in DASHBOARD_NAMES:
        raise NotFound(f"no dashboard {name!r}; there are {', '.join(DASHBOARD_NAMES)}")
    filters, render, kept = _filters(runtime, params, name), RENDERINGS[fmt][1], _kept(runtime)
    if name == "provinces":  # keeps each province's figures itself, and takes the worker's
        scope = principal.require("read").read_scope(params.tenant)
        with runtime.db.tx(scope) as conn:
            answer = queries.provinces(conn, store.tenants(conn) if scope == ALL_TENANTS else [scope], filters,
                                       kept if kept.max_bytes else None, stored=True)
        return render(name, answer)
    tenant, question = _one_tenant(principal, params), (name, filters, fmt)
    with runtime.db.tx(tenant) as conn:
        # The change count first: whatever is computed after it is at least that new.
        version = store.read_model_versions(conn, [tenant])[tenant] if kept.max_bytes else 0
        body = kept.get(tenant, question, version)
        if body is not None:
            ANSWERS.labels("kept").inc()
            return body
        ANSWERS.labels("computed").inc()
        answer = queries.DASHBOARDS[name](queries.Context(conn, tenant, filters))
    body = render(name, answer)
    kept.put(tenant, question, version, body, len(body))
    return body


def _download(body: bytes, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/dashboards/{name}", summary="One dashboard answer as JSON, CSV or XLSX")
def dashboard(name: str, params: AskDep, principal: PrincipalDep, runtime: RuntimeDep,
              format: Literal["json", "csv", "xlsx"] = "json") -> Any:
    """One dashboard answer as JSON, CSV or XLSX."""
    body = _rendered(runtime, principal, name, params, format)
    if format == "json":
        return Response(body, media_type=RENDERINGS["json"][0])
    return _download(body, RENDERINGS[format][0], f"{name}-{params.year}.{format}")


@router.get("/dashboards/{name}/chart.svg", summary="The dashboard's chart, to embed")
def dashboard_chart(name: str, params: AskDep, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    """The dashboard's chart as SVG."""
    return Response(_rendered(runtime, principal, name, params, "svg"), media_type=RENDERINGS["svg"][0])


@router.get("/scorecards/{unit_id}", summary="One unit's scorecard with its facts; head and deputies for those allowed")
def unit_scorecard(unit_id: str, params: AskDep, principal: PrincipalDep, runtime: RuntimeDep) -> Any:
    """One unit's scorecard; officials (logged) for roles allowed to read them."""
    tenant = _one_tenant(principal, params)
    with runtime.db.tx(tenant) as conn:
        officials = principal.can("officials:read")
        ctx = queries.Context(conn, tenant, _filters(runtime, params), contacts=officials)
        if unit_id not in ctx.units:
            raise NotFound(f"unit {unit_id} not found")
        card = queries.scorecard(ctx, unit_id, with_officials=officials)
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
