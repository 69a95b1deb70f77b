"""Inspection teams (Đoàn kiểm tra): list and create, for planners; person ids are the users' token subjects."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request

from services.console.backend import BackendError
from services.console.fieldwork import unit_names
from services.console.planning import flatten
from services.console.web import ConsoleDep, UserDep, back, failed, render

router = APIRouter()


def parse_members(text: str) -> list[dict[str, Any]]:
    """One member a line: 'person id; full name; e-mail (optional)'. Blank lines are skipped."""
    members = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(";")]
        if not parts[0]:
            continue
        person_id, name = parts[0], (parts[1] if len(parts) > 1 and parts[1] else parts[0])
        email = parts[2] if len(parts) > 2 and parts[2] else None
        members.append({"person_id": person_id, "name": name, "email": email, "role": "Thành viên"})
    return members


@router.get("/teams")
async def teams_page(request: Request, user: UserDep, c: ConsoleDep):
    """The province's inspection teams and the form for a new one."""
    teams, names, tree = await c.backends.gather(c.backends.get("plans", "/v1/teams", token=user.token),
                                                 unit_names(c, user),
                                                 c.backends.get("plans", "/v1/units/tree", token=user.token))
    return await render(request, "teams.html", user, teams=teams["items"], names=names, units=flatten(tree["units"]),
                        editable=user.has("planner", "province_admin"))


@router.post("/teams")
async def create_team(user: UserDep, c: ConsoleDep, name: Annotated[str, Form()], lead_unit_id: Annotated[str, Form()],
                      leader_id: Annotated[str, Form()], leader_name: Annotated[str, Form()],
                      leader_email: Annotated[str, Form()] = "", members: Annotated[str, Form()] = ""):
    """Create a team."""
    body = {"name": name, "lead_unit_id": lead_unit_id, "members": parse_members(members),
            "leader": {"person_id": leader_id, "name": leader_name, "email": leader_email or None,
                       "role": "Trưởng đoàn"}}
    try:
        await c.backends.send("plans", "POST", "/v1/teams", token=user.token, json=body)
    except BackendError as exc:
        return failed("/teams", exc)
    return back("/teams", ok="saved")
