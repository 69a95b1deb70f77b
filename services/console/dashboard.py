"""Leaders' dashboard: the analytics service's charts (proxied SVG) and tables; provinces compared for the centre."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.backend import BackendError, ServiceUnavailable
from services.console.web import Console, ConsoleDep, UserDep, render

router = APIRouter()

# (section id, analytics dashboard, extra query, title key)
PROVINCE_SECTIONS = [
    ("coverage", "coverage", {}, "dash.coverage"),
    ("violations", "violations", {"group_by": "criterion"}, "dash.violations"),
    ("violations-unit", "violations", {"group_by": "unit"}, "dash.violations_unit"),
    ("remediation", "remediation", {}, "dash.remediation"),
    ("dossiers", "dossiers", {"group_by": "field"}, "dash.dossiers"),
    ("year-over-year", "year-over-year", {}, "dash.year-over-year"),
]
CHARTS = {"coverage", "violations", "remediation", "dossiers", "year-over-year", "provinces", "repeat-violations", "risk"}
# Code columns (ids, keys) are for machines; the tables show names.
HIDDEN_COLUMNS = {"unit_id", "key", "tenant", "metric"}


async def _section(c: Console, token: str, dashboard: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        answer = await c.backends.get("analytics", f"/v1/dashboards/{dashboard}", token=token, **params)
    except (BackendError, ServiceUnavailable) as exc:
        return {"failed": getattr(exc, "message", None) or str(exc)}
    answer["columns"] = [col for col in answer["columns"] if col["key"] not in HIDDEN_COLUMNS]
    return answer


def _query(params: dict[str, Any]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items() if v not in (None, ""))


@router.get("/dashboard")
async def dashboard_page(request: Request, user: UserDep, c: ConsoleDep, year: int | None = None,
                         tenant: str | None = None):
    """The leaders' dashboard; central viewers first compare provinces, then open one."""
    year = year or date.today().year
    sections = []
    if user.central:
        params = {"year": year}
        sections.append({"id": "provinces", "title_key": "dash.provinces", "chart": f"/charts/provinces.svg?{_query(params)}",
                         "export": "/dashboards/provinces", "query": _query(params),
                         **await _section(c, user.token, "provinces", params)})
    if not user.central or tenant:
        scope = {"year": year, "tenant": tenant if user.central else None}
        answers = await c.backends.gather(*[_section(c, user.token, name, {**scope, **extra})
                                            for _id, name, extra, _k in PROVINCE_SECTIONS])
        for (sid, name, extra, key), answer in zip(PROVINCE_SECTIONS, answers):
            sections.append({"id": sid, "title_key": key, "chart": f"/charts/{name}.svg?{_query({**scope, **extra})}",
                             "export": f"/dashboards/{name}", "query": _query({**scope, **extra}),
                             **answer})
    provinces = []
    if user.central and sections and sections[0].get("rows"):
        provinces = [(r.get("tenant"), r.get("province")) for r in sections[0]["rows"]]
    return await render(request, "dashboard.html", user, year=year, tenant=tenant, sections=sections,
                        provinces=provinces, years=list(range(date.today().year + 1, date.today().year - 5, -1)))


@router.get("/charts/{name}.svg")
async def chart(name: str, request: Request, user: UserDep, c: ConsoleDep):
    """The analytics service's SVG chart, fetched with the user's token (the browser never holds it)."""
    if name not in CHARTS:
        return Response(status_code=404)
    params = {k: request.query_params.get(k) for k in ("year", "group_by", "tenant", "month_from", "month_to", "level")}
    response = await c.backends.request("analytics", "GET", f"/v1/dashboards/{name}/chart.svg", token=user.token,
                                        params=params)
    return Response(response.content, media_type="image/svg+xml; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=60"})


@router.get("/dashboards/{name}.{fmt}")
async def export(name: str, fmt: str, request: Request, user: UserDep, c: ConsoleDep):
    """A dashboard's table as CSV or XLSX, straight from the analytics service."""
    if fmt not in ("csv", "xlsx") or not re.fullmatch(r"[a-z-]{1,40}", name):
        return Response(status_code=404)
    params = {k: request.query_params.get(k) for k in ("year", "group_by", "tenant")}
    response = await c.backends.request("analytics", "GET", f"/v1/dashboards/{name}", token=user.token,
                                        params={**params, "format": fmt})
    return _download(response)


@router.get("/reports/{year}/annual.docx")
async def annual_report(year: int, user: UserDep, c: ConsoleDep, tenant: str | None = None):
    """BÁO CÁO kết quả kiểm tra công vụ năm N, the Decree 30 DOCX the analytics service writes."""
    response = await c.backends.request("analytics", "GET", f"/v1/reports/{year}/annual.docx", token=user.token,
                                        params={"tenant": tenant})
    return _download(response)


def _download(response) -> Response:
    return Response(response.content, media_type=response.headers.get("content-type"),
                    headers={"Content-Disposition": response.headers.get("content-disposition", "attachment")})
