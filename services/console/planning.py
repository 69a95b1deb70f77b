"""Planners' pages: plans, the editor over the unit tree with the live coverage check, approval, DOCX."""
from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from services.console.backend import BackendError
from services.console.session import User
from services.console.web import Console, ConsoleDep, UserDep, back, failed, render

router = APIRouter()
FORMS = ("on_site", "online", "periodic", "surprise", "self")
PLAN_TYPES = ("public_service", "administrative_reform", "thematic")


def _live(request: Request) -> bool:
    """Forms sent by app.js (fetch) get JSON back and refresh the live region; plain forms get a redirect."""
    return request.headers.get("x-live") == "1"


def _done(request: Request, url: str, exc: BackendError | None = None):
    if _live(request):
        if exc is None:
            return JSONResponse({"ok": True})
        return JSONResponse({"ok": False, "message": exc.message, "field": exc.field}, status_code=exc.status)
    return failed(url, exc) if exc else back(url, ok="saved")


def flatten(nodes: list[dict[str, Any]], depth: int = 0) -> list[dict[str, Any]]:
    """The nested tree as rows with their depth, in tree order (for the indented tree and the unit select)."""
    out = []
    for node in sorted(nodes, key=lambda n: (n["level"], n["name"])):
        out.append({**{k: v for k, v in node.items() if k != "children"}, "depth": depth})
        out.extend(flatten(node.get("children") or [], depth + 1))
    return out


async def _plan(c: Console, user: User, plan_id: str) -> tuple[dict[str, Any], str]:
    response = await c.backends.request("plans", "GET", f"/v1/plans/{plan_id}", token=user.token)
    return response.json(), response.headers.get("etag", "")


@router.get("/plans")
async def plans_page(request: Request, user: UserDep, c: ConsoleDep, year: int | None = None):
    """Plans of the province, newest year first, and the form for a new one."""
    page = await c.backends.get("plans", "/v1/plans", token=user.token, year=year)
    return await render(request, "plans.html", user, plans=page["items"], plan_types=PLAN_TYPES,
                        this_year=date.today().year)


@router.post("/plans")
async def create_plan(user: UserDep, c: ConsoleDep, year: Annotated[int, Form()], type: Annotated[str, Form()],
                      title: Annotated[str, Form()]):
    """Create a draft plan over the default checklist and open its editor."""
    try:
        # The default catalogue of inspection contents is the plan's checklist until the planner picks another.
        checklist = (await c.backends.send("plans", "POST", "/v1/checklists/default", token=user.token)).json()
        plan = (await c.backends.send("plans", "POST", "/v1/plans", token=user.token, json={
            "year": year, "type": type, "title": title, "checklist_id": checklist["id"]})).json()
    except BackendError as exc:
        return failed("/plans", exc)
    return back(f"/plans/{plan['id']}", ok="saved")


async def _editor_context(c: Console, user: User, plan_id: str) -> dict[str, Any]:
    plan, etag = await _plan(c, user, plan_id)
    as_of = f"{plan['year']}-01-01"
    coverage, conflicts, tree, teams = await c.backends.gather(
        c.backends.get("plans", f"/v1/plans/{plan_id}/coverage", token=user.token),
        c.backends.get("plans", f"/v1/plans/{plan_id}/conflicts", token=user.token),
        c.backends.get("plans", "/v1/units/tree", token=user.token, as_of=as_of),
        c.backends.get("plans", "/v1/teams", token=user.token))
    units = flatten(tree["units"])
    names = {u["id"]: u["name"] for u in units}
    scheduled = {p["unit_id"] for p in plan["planned_inspections"]}
    missing = {m["unit_id"] for rule in coverage["rules"] for m in rule["missing"]}
    teams_by_id = {t["id"]: t["name"] for t in teams["items"]}
    editable = plan["status"] == "draft" and user.has("planner", "province_admin")
    return {"plan": plan, "etag": etag, "coverage": coverage, "conflicts": conflicts["conflicts"], "units": units,
            "names": names, "scheduled": scheduled, "missing": missing, "teams": teams["items"], "team_names": teams_by_id,
            "editable": editable, "forms": FORMS, "can_approve": plan["status"] == "draft" and user.has("province_admin")}


@router.get("/plans/{plan_id}")
async def plan_editor(plan_id: str, request: Request, user: UserDep, c: ConsoleDep):
    """The plan editor: schedule, coverage, unit tree, rules, approval."""
    return await render(request, "plan.html", user, **await _editor_context(c, user, plan_id))


@router.get("/plans/{plan_id}/live")
async def plan_live(plan_id: str, request: Request, user: UserDep, c: ConsoleDep):
    """The schedule and coverage panel alone, fetched by app.js after each change."""
    return await render(request, "plan_live.html", user, **await _editor_context(c, user, plan_id))


@router.get("/api/plans/{plan_id}/coverage")
async def plan_coverage(plan_id: str, user: UserDep, c: ConsoleDep):
    """The coverage report as JSON (for scripts and tests)."""
    return await c.backends.get("plans", f"/v1/plans/{plan_id}/coverage", token=user.token)


@router.post("/plans/{plan_id}/inspections")
async def add_inspection(plan_id: str, request: Request, user: UserDep, c: ConsoleDep, unit_id: Annotated[str, Form()],
                         window_start: Annotated[date, Form()], window_end: Annotated[date, Form()],
                         form: Annotated[str, Form()], team_id: Annotated[str, Form()] = "",
                         note: Annotated[str, Form()] = ""):
    """Schedule a unit in the draft, with the plan's current ETag."""
    url = f"/plans/{plan_id}"
    try:
        _plan_body, etag = await _plan(c, user, plan_id)
        await c.backends.send("plans", "POST", f"/v1/plans/{plan_id}/inspections", token=user.token,
                              headers={"If-Match": etag}, json={
                                  "unit_id": unit_id, "window_start": window_start.isoformat(),
                                  "window_end": window_end.isoformat(), "form": form, "team_id": team_id or None,
                                  "note": note or None})
    except BackendError as exc:
        return _done(request, url, exc)
    return _done(request, url)


@router.post("/plans/{plan_id}/inspections/{inspection_id}/delete")
async def remove_inspection(plan_id: str, inspection_id: str, request: Request, user: UserDep, c: ConsoleDep):
    """Remove a scheduled unit from the draft."""
    url = f"/plans/{plan_id}"
    try:
        _plan_body, etag = await _plan(c, user, plan_id)
        await c.backends.send("plans", "DELETE", f"/v1/plans/{plan_id}/inspections/{inspection_id}", token=user.token,
                              headers={"If-Match": etag})
    except BackendError as exc:
        return _done(request, url, exc)
    return _done(request, url)


def _rule_id(description: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", description.lower()).strip("-")[:40] or "rule"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@router.post("/plans/{plan_id}/rules")
async def add_rule(plan_id: str, request: Request, user: UserDep, c: ConsoleDep, description: Annotated[str, Form()],
                   level: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "",
                   min_count: Annotated[str, Form()] = "", per_level: Annotated[str, Form()] = ""):
    """Add a coverage rule (by kind and/or level, a minimum, per unit of a level)."""
    url = f"/plans/{plan_id}"
    try:
        plan, etag = await _plan(c, user, plan_id)
        rules = list(plan.get("coverage_rules") or [])
        rules.append({"id": _rule_id(description, {r["id"] for r in rules}), "description": description,
                      "level": int(level) if level else None, "kind": kind or None,
                      "min_count": int(min_count) if min_count else None, "per_level": int(per_level) if per_level else None})
        await c.backends.send("plans", "PATCH", f"/v1/plans/{plan_id}", token=user.token, headers={"If-Match": etag},
                              json={"coverage_rules": rules})
    except BackendError as exc:
        return _done(request, url, exc)
    return _done(request, url)


@router.post("/plans/{plan_id}/rules/{rule_id}/delete")
async def remove_rule(plan_id: str, rule_id: str, request: Request, user: UserDep, c: ConsoleDep):
    """Remove a coverage rule."""
    url = f"/plans/{plan_id}"
    try:
        plan, etag = await _plan(c, user, plan_id)
        rules = [r for r in plan.get("coverage_rules") or [] if r["id"] != rule_id]
        await c.backends.send("plans", "PATCH", f"/v1/plans/{plan_id}", token=user.token, headers={"If-Match": etag},
                              json={"coverage_rules": rules})
    except BackendError as exc:
        return _done(request, url, exc)
    return _done(request, url)


@router.post("/plans/{plan_id}/approve")
async def approve(plan_id: str, user: UserDep, c: ConsoleDep, etag: Annotated[str, Form()],
                  number: Annotated[str, Form()], decision_date: Annotated[date, Form()], signer: Annotated[str, Form()]):
    """Approve the draft by decision (province admins)."""
    url = f"/plans/{plan_id}"
    try:
        # The ETag the approver saw: approving a plan that changed meanwhile is refused (412), not silently done.
        await c.backends.send("plans", "POST", f"/v1/plans/{plan_id}/approve", token=user.token,
                              headers={"If-Match": etag}, json={"decision": {
                                  "number": number, "date": decision_date.isoformat(), "signer": signer}})
    except BackendError as exc:
        return failed(url, exc)
    return back(url, ok="saved")


@router.get("/plans/{plan_id}/document.docx")
async def plan_docx(plan_id: str, user: UserDep, c: ConsoleDep):
    """The plan as the service's Decree 30 DOCX."""
    response = await c.backends.request("plans", "GET", f"/v1/plans/{plan_id}/document.docx", token=user.token)
    return Response(response.content, media_type=response.headers.get("content-type"),
                    headers={"Content-Disposition": response.headers.get("content-disposition", "attachment")})
