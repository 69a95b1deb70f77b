"""Inspectors' pages: today's inspections, the checklist, findings (also offline), dossier checks, conclusion."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from services.console.backend import BackendError
from services.console.i18n import VIETNAM
from services.console.session import User
from services.console.web import Console, ConsoleDep, UserDep, back, failed, form_uuid, render

router = APIRouter()
RATINGS = ("good", "satisfactory", "poor")
REC_KINDS = ("reminder", "correction", "self_criticism", "disciplinary", "procedure_change")


def today_in_vietnam() -> date:
    """Today's date in Vietnam (the date on the inspector's calendar)."""
    return datetime.now(VIETNAM).date()


async def unit_names(c: Console, user: User) -> dict[str, str]:
    """Unit id -> name from the plans service's tree (ids stay visible if it is away)."""
    try:
        tree = await c.backends.get("plans", "/v1/units/tree", token=user.token, shape="flat")
    except BackendError:
        return {}
    return {u["id"]: u["name"] for u in tree["units"]}


def is_today(item: dict[str, Any], today: date) -> bool:
    """On today's list: under way, or scheduled with today inside its window."""
    if item["status"] == "in_progress":
        return True
    start, end = item.get("window_start"), item.get("window_end")
    return item["status"] == "scheduled" and bool(start and end) and start <= today.isoformat() <= end


@router.get("/inspections")
async def inspections_page(request: Request, user: UserDep, c: ConsoleDep):
    """Today's inspections first, then the other scheduled ones, then the finished ones."""
    page, names = await c.backends.gather(c.backends.get("inspections", "/v1/inspections", token=user.token, limit=200),
                                          unit_names(c, user))
    today = today_in_vietnam()
    items = sorted(page["items"], key=lambda i: (i.get("window_start") or "", i["id"]))
    todays = [i for i in items if is_today(i, today)]
    others = [i for i in items if not is_today(i, today) and i["status"] in ("scheduled", "in_progress")]
    done = [i for i in items if i["status"] not in ("scheduled", "in_progress")]
    units = sorted(({"id": k, "name": v} for k, v in names.items()), key=lambda u: u["name"])
    return await render(request, "inspections.html", user, todays=todays, others=others, done=done, names=names,
                        today=today, units=units, can_create=user.has("team_leader", "team_member"))


async def _published_checklist(c: Console, user: User) -> tuple[str | None, int | None]:
    """The province's first published checklist: a surprise inspection's findings are recorded against it."""
    try:
        items = (await c.backends.get("plans", "/v1/checklists", token=user.token))["items"]
    except BackendError:
        return None, None
    published = [i for i in items if i.get("published_version")]
    return (str(published[0]["id"]), published[0]["published_version"]) if published else (None, None)


@router.post("/inspections")
async def create_surprise(user: UserDep, c: ConsoleDep, unit_id: Annotated[str, Form()], reason: Annotated[str, Form()],
                          citizen_report_ref: Annotated[str, Form()] = "", id: Annotated[str, Form()] = ""):
    """A surprise inspection (đột xuất), often on a citizen's report; embargoed from the unit until it starts."""
    checklist_id, version = await _published_checklist(c, user)
    body = {"id": form_uuid(id), "unit_id": unit_id, "reason": reason, "citizen_report_ref": citizen_report_ref or None,
            "checklist_id": checklist_id, "checklist_version": version}
    try:
        created = (await c.backends.send("inspections", "POST", "/v1/inspections", token=user.token, json=body)).json()
    except BackendError as exc:
        return failed("/inspections", exc)
    return back(f"/inspections/{created['id']}", ok="saved")


async def _checklist(c: Console, user: User, inspection: dict[str, Any]) -> list[dict[str, Any]]:
    if not inspection.get("checklist_id"):
        return []
    try:
        checklist = await c.backends.get("plans", f"/v1/checklists/{inspection['checklist_id']}", token=user.token,
                                         version=inspection.get("checklist_version"))
    except BackendError:
        return []
    return checklist.get("criteria") or []


@router.get("/inspections/{inspection_id}")
async def inspection_page(inspection_id: str, request: Request, user: UserDep, c: ConsoleDep):
    """One inspection: checklist, findings, dossiers, assessments, minutes, conclusion."""
    base = f"/v1/inspections/{inspection_id}"
    inspection = await c.backends.get("inspections", base, token=user.token)
    results, findings, sample, checks, conclusion, names, criteria, assessments, minutes = await c.backends.gather(
        c.backends.get("inspections", f"{base}/checklist-results", token=user.token),
        c.backends.get("inspections", f"{base}/findings", token=user.token),
        c.backends.optional("inspections", f"{base}/dossier-sample", token=user.token),
        c.backends.get("inspections", f"{base}/dossier-checks", token=user.token),
        c.backends.optional("inspections", f"{base}/conclusion", token=user.token),
        unit_names(c, user), _checklist(c, user, inspection),
        c.backends.get("inspections", f"{base}/assessments", token=user.token),
        c.backends.optional("inspections", f"{base}/minutes", token=user.token))
    by_code = {r["criterion_code"]: r for r in results["items"]}
    checked = {x["dossier_code"] for x in checks["items"]}
    return await render(request, "inspection.html", user, inspection=inspection, criteria=criteria, results=by_code,
                        findings=findings["items"], sample=sample, checks=checks["items"], checked=checked,
                        conclusion=conclusion, names=names, rec_kinds=REC_KINDS, assessments=assessments["items"],
                        ratings=RATINGS, minutes=minutes,
                        writable=user.has("team_leader", "team_member") and inspection["status"] == "in_progress",
                        can_start=user.has("team_leader", "team_member") and inspection["status"] == "scheduled",
                        can_conclude=user.has("team_leader") and inspection["status"] == "in_progress",
                        today=today_in_vietnam())


@router.post("/inspections/{inspection_id}/start")
async def start(inspection_id: str, user: UserDep, c: ConsoleDep):
    """Start the visit (the service publishes inspection.started)."""
    url = f"/inspections/{inspection_id}"
    try:
        await c.backends.send("inspections", "POST", f"/v1{url}/start", token=user.token)
    except BackendError as exc:
        return failed(url, exc)
    return back(url, ok="saved")


@router.post("/inspections/{inspection_id}/results")
async def record_result(inspection_id: str, user: UserDep, c: ConsoleDep, criterion_code: Annotated[str, Form()],
                        result: Annotated[str, Form()], note: Annotated[str, Form()] = "", id: Annotated[str, Form()] = ""):
    """Record one checklist criterion's result."""
    url = f"/inspections/{inspection_id}"
    try:
        await c.backends.send("inspections", "POST", f"/v1{url}/checklist-results", token=user.token, json={
            "id": form_uuid(id), "criterion_code": criterion_code, "result": result, "note": note})
    except BackendError as exc:
        return failed(url + "#checklist", exc)
    return back(url + "#checklist", ok="saved")


# -- findings: JSON for the offline queue (app.js), a plain form for browsers without JS ---------------
@router.post("/api/inspections/{inspection_id}/findings")
async def finding_json(inspection_id: str, request: Request, user: UserDep, c: ConsoleDep):
    """Forwards the queued finding as is: its client-generated id makes a resend a harmless 200."""
    body = await request.json()
    response = await c.backends.send("inspections", "POST", f"/v1/inspections/{inspection_id}/findings",
                                     token=user.token, json=body)
    return JSONResponse(response.json(), status_code=response.status_code)


@router.post("/api/findings/{finding_id}/evidence")
async def evidence_json(finding_id: str, user: UserDep, c: ConsoleDep, file: UploadFile, id: Annotated[str, Form()]):
    """Forwards a queued photo with its client-generated id (a resend is a harmless 200)."""
    content = await file.read()
    response = await c.backends.send("inspections", "POST", f"/v1/findings/{finding_id}/evidence", token=user.token,
                                     data={"id": id}, files={"file": (file.filename or "anh.jpg", content,
                                                                      file.content_type or "image/jpeg")})
    return JSONResponse(response.json(), status_code=response.status_code)


@router.post("/inspections/{inspection_id}/findings")
async def finding_form(inspection_id: str, user: UserDep, c: ConsoleDep, id: Annotated[str, Form()],
                       criterion_code: Annotated[str, Form()], severity: Annotated[str, Form()],
                       description: Annotated[str, Form()], photo: UploadFile | None = None,
                       photo_id: Annotated[str, Form()] = "", official_name: Annotated[str, Form()] = "",
                       official_position: Annotated[str, Form()] = ""):
    """The finding form without JavaScript: the finding, then its photo."""
    url = f"/inspections/{inspection_id}"
    try:
        finding = (await c.backends.send("inspections", "POST", f"/v1{url}/findings", token=user.token, json={
            "id": form_uuid(id), "criterion_code": criterion_code, "severity": severity, "description": description,
            "officials": [{"name": official_name, "position": official_position or "—"}] if official_name else []})).json()
        content = await photo.read() if photo is not None else b""
        if content:
            await c.backends.send("inspections", "POST", f"/v1/findings/{finding['id']}/evidence", token=user.token,
                                  data={"id": form_uuid(photo_id)},
                                  files={"file": (photo.filename or "anh.jpg", content, photo.content_type or "image/jpeg")})
    except BackendError as exc:
        return failed(url + "#findings", exc)
    return back(url + "#findings", ok="saved")


@router.get("/evidence/{evidence_id}")
async def evidence(evidence_id: str, user: UserDep, c: ConsoleDep):
    """An evidence file, fetched with the user's token."""
    response = await c.backends.request("inspections", "GET", f"/v1/evidence/{evidence_id}", token=user.token)
    return Response(response.content, media_type=response.headers.get("content-type"),
                    headers={"Cache-Control": "private, max-age=3600"})


@router.post("/inspections/{inspection_id}/assessments")
async def assess(inspection_id: str, user: UserDep, c: ConsoleDep, official_ref: Annotated[str, Form()],
                 position: Annotated[str, Form()], task_execution: Annotated[str, Form()],
                 processing_time: Annotated[str, Form()], quality: Annotated[str, Form()],
                 notes: Annotated[str, Form()] = "", id: Annotated[str, Form()] = ""):
    """The head's or a deputy's assessment: execution of tasks, processing time, quality of work."""
    url = f"/inspections/{inspection_id}"
    try:
        await c.backends.send("inspections", "POST", f"/v1{url}/assessments", token=user.token, json={
            "id": form_uuid(id), "official_ref": official_ref, "position": position, "task_execution": task_execution,
            "processing_time": processing_time, "quality": quality, "notes": notes})
    except BackendError as exc:
        return failed(url + "#assessments", exc)
    return back(url + "#assessments", ok="saved")


@router.post("/inspections/{inspection_id}/minutes")
async def record_minutes(inspection_id: str, user: UserDep, c: ConsoleDep, held_on: Annotated[date, Form()],
                         place: Annotated[str, Form()], team_summary: Annotated[str, Form()],
                         unit_response: Annotated[str, Form()] = "", disagreement: Annotated[str, Form()] = "",
                         id: Annotated[str, Form()] = ""):
    """The minutes (biên bản làm việc): what the team found, what the unit answered, where they disagree."""
    url = f"/inspections/{inspection_id}"
    body = {"id": form_uuid(id), "held_on": held_on.isoformat(), "place": place, "team_summary": team_summary,
            "unit_response": unit_response, "disagreements": [{"text": disagreement}] if disagreement.strip() else []}
    try:
        await c.backends.send("inspections", "POST", f"/v1{url}/minutes", token=user.token, json=body)
    except BackendError as exc:
        return failed(url + "#minutes", exc)
    return back(url + "#minutes", ok="saved")


# -- dossier checks ------------------------------------------------------------------------------------
@router.post("/inspections/{inspection_id}/dossiers")
async def import_dossiers(inspection_id: str, user: UserDep, c: ConsoleDep, file: UploadFile):
    """The unit's one-stop dossier list as CSV (code, field, received_on, due_on, resolved_on), for the sample."""
    url = f"/inspections/{inspection_id}"
    try:
        inspection = await c.backends.get("inspections", f"/v1{url}", token=user.token)
        await c.backends.send("inspections", "POST", f"/v1/units/{inspection['unit_id']}/dossiers", token=user.token,
                              data=None, headers={"Content-Type": "text/csv; charset=utf-8"},
                              files=None, json=None, raw=await file.read())
    except BackendError as exc:
        return failed(url + "#dossiers", exc)
    return back(url + "#dossiers", ok="saved")


@router.post("/inspections/{inspection_id}/dossier-sample")
async def draw_sample(inspection_id: str, user: UserDep, c: ConsoleDep, size: Annotated[int, Form()],
                      id: Annotated[str, Form()] = ""):
    """Draw the random dossier sample (the service records the seed)."""
    url = f"/inspections/{inspection_id}"
    try:
        await c.backends.send("inspections", "POST", f"/v1{url}/dossier-sample", token=user.token,
                              json={"id": form_uuid(id), "size": size})
    except BackendError as exc:
        return failed(url + "#dossiers", exc)
    return back(url + "#dossiers", ok="saved")


@router.post("/inspections/{inspection_id}/dossier-checks")
async def check_dossier(inspection_id: str, user: UserDep, c: ConsoleDep, dossier_code: Annotated[str, Form()],
                        note: Annotated[str, Form()] = "", id: Annotated[str, Form()] = ""):
    """Check one sampled dossier (the service counts the working days late)."""
    url = f"/inspections/{inspection_id}"
    try:
        await c.backends.send("inspections", "POST", f"/v1{url}/dossier-checks", token=user.token,
                              json={"id": form_uuid(id), "dossier_code": dossier_code, "note": note})
    except BackendError as exc:
        return failed(url + "#dossiers", exc)
    return back(url + "#dossiers", ok="saved")


# -- conclusion ----------------------------------------------------------------------------------------
@router.post("/inspections/{inspection_id}/conclusion")
async def conclude(inspection_id: str, request: Request, user: UserDep, c: ConsoleDep):
    """Issue the conclusion with one recommendation per finding (and remediations where needed)."""
    url = f"/inspections/{inspection_id}"
    form = await request.form()
    recommendations = []
    for n in range(int(form.get("rec_count") or 0)):
        text = str(form.get(f"rec_text_{n}") or "").strip()
        if not text:
            continue
        days = str(form.get(f"rec_days_{n}") or "").strip()
        recommendations.append({"id": form_uuid(form.get(f"rec_id_{n}")), "kind": form.get(f"rec_kind_{n}"),
                                "text": text, "finding_id": form.get(f"rec_finding_{n}") or None,
                                "deadline_working_days": int(days) if days.isdigit() else None})
    body = {"id": form_uuid(form.get("id")), "summary": form.get("summary"), "recommendations": recommendations,
            "document": {"kind": "notice", "number": form.get("number"), "date": form.get("doc_date"),
                         "place": form.get("place"), "signer_title": form.get("signer_title"),
                         "signer_name": form.get("signer_name")}}
    try:
        await c.backends.send("inspections", "POST", f"/v1{url}/conclusion", token=user.token, json=body)
    except BackendError as exc:
        return failed(url + "#conclusion", exc)
    return back(url + "#conclusion", ok="saved")


@router.get("/inspections/{inspection_id}/conclusion.docx")
async def conclusion_docx(inspection_id: str, user: UserDep, c: ConsoleDep):
    """The conclusion as the service's Decree 30 DOCX."""
    response = await c.backends.request("inspections", "GET", f"/v1/inspections/{inspection_id}/conclusion.docx",
                                        token=user.token)
    return Response(response.content, media_type=response.headers.get("content-type"),
                    headers={"Content-Disposition": response.headers.get("content-disposition", "attachment")})
