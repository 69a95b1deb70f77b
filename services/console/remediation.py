"""Unit heads' pages: their unit's findings and remediations with deadlines; progress reports with evidence."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile

from services.console.backend import BackendError
from services.console.fieldwork import today_in_vietnam, unit_names
from services.console.web import ConsoleDep, UserDep, back, failed, form_uuid, render

router = APIRouter()


def deadline_state(item: dict[str, Any], today: date) -> dict[str, Any]:
    """Days left (positive) or over (negative) for an open remediation; None once verified."""
    if item.get("status") == "verified" or not item.get("deadline"):
        return {"days": None, "overdue": False}
    days = (date.fromisoformat(str(item["deadline"])[:10]) - today).days
    return {"days": days, "overdue": days < 0 or item.get("status") == "overdue"}


@router.get("/remediations")
async def remediations_page(request: Request, user: UserDep, c: ConsoleDep):
    """Remediations by deadline (a unit head's own unit), with the unit's findings."""
    page, names = await c.backends.gather(c.backends.get("inspections", "/v1/remediations", token=user.token, limit=200),
                                          unit_names(c, user))
    today = today_in_vietnam()
    items = [{**r, **deadline_state(r, today)} for r in page["items"]]
    findings: list[dict[str, Any]] = []
    if user.unit_id:
        # The unit's findings come with its inspections (only those it may see: started ones, never embargoed).
        inspections = await c.backends.get("inspections", "/v1/inspections", token=user.token, unit_id=user.unit_id)
        lists = await c.backends.gather(*[c.backends.get("inspections", f"/v1/inspections/{i['id']}/findings",
                                                         token=user.token) for i in inspections["items"]])
        findings = [f for found in lists for f in found["items"]]
    return await render(request, "remediations.html", user, items=items, names=names, findings=findings,
                        unit_name=names.get(user.unit_id or "", ""))


@router.get("/remediations/{remediation_id}")
async def remediation_page(remediation_id: str, request: Request, user: UserDep, c: ConsoleDep):
    """One remediation: reports with evidence, history, and the forms the user may use."""
    item, names = await c.backends.gather(
        c.backends.get("inspections", f"/v1/remediations/{remediation_id}", token=user.token), unit_names(c, user))
    item.update(deadline_state(item, today_in_vietnam()))
    return await render(request, "remediation.html", user, item=item, names=names,
                        can_report=user.has("unit_head") and user.unit_id == str(item["unit_id"])
                        and item["status"] != "verified",
                        can_verify=user.has("team_leader") and item["status"] == "reported",
                        can_extend=user.has("team_leader") and item["status"] != "verified")


@router.post("/remediations/{remediation_id}/reports")
async def report(remediation_id: str, request: Request, user: UserDep, c: ConsoleDep):
    """The unit head's progress report with evidence files (multipart, forwarded as is)."""
    url = f"/remediations/{remediation_id}"
    form = await request.form()
    files = []
    for upload in form.getlist("files"):
        if isinstance(upload, UploadFile) or hasattr(upload, "read"):
            content = await upload.read()
            if content:
                files.append(("files", (upload.filename or "minh-chung", content,
                                        upload.content_type or "application/octet-stream")))
    data = {"id": form_uuid(form.get("id")), "progress": form.get("progress") or "in_progress",
            "note": form.get("note") or ""}
    try:
        await c.backends.send("inspections", "POST", f"/v1{url}/reports", token=user.token, data=data,
                              files=files or None)
    except BackendError as exc:
        return failed(url, exc)
    return back(url, ok="saved")


@router.post("/remediations/{remediation_id}/verification")
async def verify(remediation_id: str, user: UserDep, c: ConsoleDep, outcome: Annotated[str, Form()],
                 note: Annotated[str, Form()] = "", id: Annotated[str, Form()] = ""):
    """The team leader accepts or returns a reported remediation."""
    url = f"/remediations/{remediation_id}"
    try:
        await c.backends.send("inspections", "POST", f"/v1{url}/verification", token=user.token,
                              json={"id": form_uuid(id), "outcome": outcome, "note": note})
    except BackendError as exc:
        return failed(url, exc)
    return back(url, ok="saved")


@router.post("/remediations/{remediation_id}/extensions")
async def extend(remediation_id: str, user: UserDep, c: ConsoleDep, new_deadline: Annotated[date, Form()],
                 reason: Annotated[str, Form()], id: Annotated[str, Form()] = ""):
    """The team leader moves the deadline later, with a reason."""
    url = f"/remediations/{remediation_id}"
    try:
        await c.backends.send("inspections", "POST", f"/v1{url}/extensions", token=user.token,
                              json={"id": form_uuid(id), "new_deadline": new_deadline.isoformat(), "reason": reason})
    except BackendError as exc:
        return failed(url, exc)
    return back(url, ok="saved")
