"""Planning use cases: each runs inside the caller's transaction and stages its events in the outbox there."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import psycopg

from services.plans.org.store import units_as_of
from services.plans.planning import domain, store
from services.plans.planning.catalogue import DEFAULT_KEY, DEFAULT_TITLE, default_criteria
from shared.coverage import CoverageRule, Unit, evaluate
from shared.errors import Invalid, NotFound
from shared.runtime import Runtime

BODY_KEYS = ("title", "purpose", "requirements", "targets", "checklist_id", "checklist_version", "focus_codes", "forms",
             "coverage_rules", "issuer")
_LIST_KEYS = ("purpose", "requirements", "targets", "focus_codes", "forms", "coverage_rules")


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


# -- checklists ------------------------------------------------------------------------------------
def _publish_event(runtime: Runtime, conn, tenant: str, checklist_id: str, version: int, title: str, criteria: list[dict]):
    runtime.outbox.add(conn, "checklist.published", tenant=tenant,
                       data={"checklist_id": checklist_id, "version": version, "title": title, "criteria": criteria})


def create_checklist(runtime: Runtime, conn, *, tenant: str, title: str, criteria: list[dict], publish: bool,
                     key: str | None = None) -> str:
    """A new checklist with its version 1 (published at once unless ``publish`` is false)."""
    criteria = domain.validate_criteria(criteria)
    checklist_id = str(uuid.uuid4())
    store.insert_checklist(conn, tenant=tenant, checklist_id=checklist_id, title=title, key=key)
    store.insert_checklist_version(conn, tenant=tenant, checklist_id=checklist_id, version=1, title=title, criteria=criteria,
                                   published_at=runtime.clock() if publish else None)
    if publish:
        _publish_event(runtime, conn, tenant, checklist_id, 1, title, criteria)
    return checklist_id


def add_checklist_version(runtime: Runtime, conn, *, tenant: str, checklist_id: str, title: str | None,
                          criteria: list[dict], publish: bool) -> int:
    """A new version of a checklist; earlier versions stay as they were."""
    checklist = _checklist(conn, tenant, checklist_id)
    criteria = domain.validate_criteria(criteria)
    version = store.next_checklist_version(conn, tenant=tenant, checklist_id=checklist_id)
    title = title or checklist["title"]
    store.insert_checklist_version(conn, tenant=tenant, checklist_id=checklist_id, version=version, title=title,
                                   criteria=criteria, published_at=runtime.clock() if publish else None)
    if publish:
        _publish_event(runtime, conn, tenant, checklist_id, version, title, criteria)
    return version


def update_checklist_version(conn, *, tenant: str, checklist_id: str, version: int, title: str | None,
                             criteria: list[dict]) -> None:
    """Rewrite a draft version; a published one answers 409."""
    row = _version(conn, tenant, checklist_id, version, lock=True)
    domain.ensure_draft_version(row["published_at"] is not None, checklist_id, version)
    store.update_checklist_version(conn, tenant=tenant, checklist_id=checklist_id, version=version, title=title,
                                   criteria=domain.validate_criteria(criteria))


def publish_checklist_version(runtime: Runtime, conn, *, tenant: str, checklist_id: str, version: int) -> None:
    """Publish a draft version (it becomes immutable); publishing twice is 409."""
    row = _version(conn, tenant, checklist_id, version, lock=True)
    domain.ensure_draft_version(row["published_at"] is not None, checklist_id, version)
    store.update_checklist_version(conn, tenant=tenant, checklist_id=checklist_id, version=version,
                                   published_at=runtime.clock())
    _publish_event(runtime, conn, tenant, checklist_id, version, row["title"], row["criteria"])


def install_default(runtime: Runtime, conn, *, tenant: str) -> tuple[str, bool]:
    """Install the default catalogue in the caller's transaction; (checklist id, whether it was created now)."""
    # Serialise concurrent installs of one tenant: the unique (tenant, key) would otherwise fail one of them.
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('plans.default_checklist:' || %s))", [tenant])
    existing = store.get_checklist_by_key(conn, tenant=tenant, key=DEFAULT_KEY)
    if existing:
        return str(existing["id"]), False
    return create_checklist(runtime, conn, tenant=tenant, title=DEFAULT_TITLE, criteria=default_criteria(), publish=True,
                            key=DEFAULT_KEY), True


def install_default_checklist(runtime: Runtime, tenant: str) -> str:
    """Install the default checklist for ``tenant`` (idempotent); returns its id."""
    with runtime.db.tx(tenant) as conn:
        return install_default(runtime, conn, tenant=tenant)[0]


def _checklist(conn, tenant: str, checklist_id: str) -> dict:
    row = store.get_checklist(conn, tenant=tenant, checklist_id=checklist_id)
    if row is None:
        raise NotFound(f"checklist {checklist_id} not found")
    return row


def _version(conn, tenant: str, checklist_id: str, version: int, lock: bool = False) -> dict:
    _checklist(conn, tenant, checklist_id)
    row = store.get_checklist_version(conn, tenant=tenant, checklist_id=checklist_id, version=version, lock=lock)
    if row is None:
        raise NotFound(f"checklist {checklist_id} has no version {version}")
    return row


def checklist_view(conn, *, tenant: str, checklist_id: str, version: int | None) -> dict:
    """A checklist with one version's criteria (the latest when no version is asked) and its version list."""
    checklist = _checklist(conn, tenant, checklist_id)
    row = (_version(conn, tenant, checklist_id, version) if version is not None
           else store.get_checklist_version(conn, tenant=tenant, checklist_id=checklist_id))
    return {"id": str(checklist["id"]), "title": row["title"], "key": checklist["key"], "version": row["version"],
            "published": row["published_at"] is not None, "published_at": row["published_at"], "criteria": row["criteria"],
            "versions": store.list_checklist_versions(conn, tenant=tenant, checklist_id=checklist_id)}


# -- teams -------------------------------------------------------------------------------------------
def _person(p: dict) -> dict:
    return {"person_id": p["person_id"], "name": p["name"], "unit_id": _s(p.get("unit_id")), "email": p.get("email"),
            "role": p.get("role")}


def team_view(row: dict) -> dict:
    return {"id": str(row["id"]), "name": row["name"], "lead_unit_id": str(row["lead_unit_id"]), "leader": row["leader"],
            "members": row["members"], "revision": row["revision"], "updated_at": row["updated_at"]}


def save_team(runtime: Runtime, conn, *, tenant: str, team: dict, team_id: str | None = None,
              if_match: str | None = None) -> dict:
    """Create (no ``team_id``) or replace a team; publishes ``team.changed``."""
    leader, members = _person(team["leader"]), [_person(m) for m in team["members"]]
    domain.validate_team(leader, members)
    now = runtime.clock()
    fields = dict(name=team["name"], lead_unit_id=str(team["lead_unit_id"]), leader=leader, members=members, now=now)
    if team_id is None:
        team_id = str(uuid.uuid4())
        store.insert_team(conn, tenant=tenant, team_id=team_id, **fields)
    else:
        current = store.get_team(conn, tenant=tenant, team_id=team_id, lock=True)
        if current is None:
            raise NotFound(f"team {team_id} not found")
        domain.check_if_match(if_match, current["revision"], required=False)
        store.update_team(conn, tenant=tenant, team_id=team_id, **fields)
    runtime.outbox.add(conn, "team.changed", tenant=tenant,
                       data={"team_id": team_id, "name": team["name"], "lead_unit_id": fields["lead_unit_id"],
                             "leader": leader, "members": members})
    return team_view(store.get_team(conn, tenant=tenant, team_id=team_id))


def get_team(conn, *, tenant: str, team_id: str) -> dict:
    row = store.get_team(conn, tenant=tenant, team_id=team_id)
    if row is None:
        raise NotFound(f"team {team_id} not found")
    return row


# -- plans: reading ----------------------------------------------------------------------------------
def _inspection_view(r: dict) -> dict:
    return {"id": str(r["id"]), "unit_id": str(r["unit_id"]), "window_start": r["window_start"].isoformat(),
            "window_end": r["window_end"].isoformat(), "form": r["form"], "team_id": _s(r["team_id"]), "note": r["note"]}


def plan_view(conn, plan: dict) -> dict:
    """The plan as the API shows it, with its current schedule."""
    inspections = store.list_inspections(conn, tenant=plan["tenant"], plan_id=str(plan["id"]))
    return {"id": str(plan["id"]), "year": plan["year"], "type": plan["type"], "status": plan["status"],
            "version": plan["version"], "revision": plan["revision"], **plan["body"], "decision": plan["decision"],
            "closed_on": plan["closed_on"].isoformat() if plan["closed_on"] else None,
            "planned_inspections": [_inspection_view(r) for r in inspections]}


def get_plan(conn, *, tenant: str, plan_id: str, lock: bool = False) -> dict:
    plan = store.get_plan(conn, tenant=tenant, plan_id=plan_id, lock=lock)
    if plan is None:
        raise NotFound(f"plan {plan_id} not found")
    return plan


# -- plans: drafting ---------------------------------------------------------------------------------
def _check_body(conn, tenant: str, body: dict) -> dict:
    """Resolve and validate references in a plan body: the checklist version, focus codes, coverage rules."""
    if body.get("checklist_id"):
        version = store.get_checklist_version(conn, tenant=tenant, checklist_id=body["checklist_id"],
                                              version=body.get("checklist_version"), published_only=True)
        if version is None:
            field = "body.checklist_version" if body.get("checklist_version") else "body.checklist_id"
            raise Invalid("the plan's contents must be a published checklist version of this province", field=field)
        body["checklist_version"] = version["version"]
        codes = {c["code"] for c in version["criteria"]}
        for i, code in enumerate(body.get("focus_codes") or []):
            if code not in codes:
                raise Invalid(f"criterion {code!r} is not in checklist version {version['version']}",
                              field=f"body.focus_codes[{i}]")
    elif body.get("checklist_version") or body.get("focus_codes"):
        raise Invalid("name the checklist (checklist_id) the version and focus codes belong to", field="body.checklist_id")
    domain.validate_coverage_rules(body.get("coverage_rules") or [])
    return body


def _normalise(fields: dict) -> dict:
    body = {k: fields.get(k) for k in BODY_KEYS}
    for k in _LIST_KEYS:
        body[k] = body[k] or []
    for k in ("forms", "focus_codes"):
        body[k] = list(dict.fromkeys(body[k]))  # repeated entries say nothing more
    body["checklist_id"] = _s(body["checklist_id"])
    return body


def _check_schedule(conn, tenant: str, plan: dict, year: int, forms: list[str]) -> None:
    for i, r in enumerate(store.list_inspections(conn, tenant=tenant, plan_id=str(plan["id"]))):
        domain.validate_inspection(window_start=r["window_start"], window_end=r["window_end"], form=r["form"], year=year,
                                   forms=forms, field=f"planned_inspections[{i}]")


def create_plan(runtime: Runtime, conn, *, tenant: str, fields: dict) -> dict:
    """A draft plan."""
    body = _check_body(conn, tenant, _normalise(fields))
    plan_id = str(uuid.uuid4())
    store.insert_plan(conn, tenant=tenant, plan_id=plan_id, year=fields["year"], type=fields["type"], body=body,
                      now=runtime.clock())
    return get_plan(conn, tenant=tenant, plan_id=plan_id)


def edit_plan(runtime: Runtime, conn, *, tenant: str, plan_id: str, fields: dict, if_match: str | None,
              replace: bool) -> dict:
    """PUT (``replace``) or PATCH a draft; needs If-Match."""
    plan = get_plan(conn, tenant=tenant, plan_id=plan_id, lock=True)
    domain.check_if_match(if_match, plan["revision"], required=True)
    domain.transition(plan["status"], "edit")
    year, type_ = fields.get("year") or plan["year"], fields.get("type") or plan["type"]
    merged = fields if replace else {**plan["body"], **fields}
    if not replace and "checklist_id" in fields and "checklist_version" not in fields:
        merged["checklist_version"] = None  # another checklist: take its latest published version
        if fields["checklist_id"] is None and "focus_codes" not in fields:
            merged["focus_codes"] = []  # no checklist, nothing to focus on
    body = _check_body(conn, tenant, _normalise(merged))
    if not body["title"]:
        raise Invalid("a plan needs a title", field="body.title")
    _check_schedule(conn, tenant, plan, year, body["forms"])
    store.update_plan(conn, tenant=tenant, plan_id=plan_id, now=runtime.clock(), year=year, type=type_, body=body)
    return get_plan(conn, tenant=tenant, plan_id=plan_id)


def _add_inspection(conn, *, tenant: str, plan: dict, body: dict, item: dict, field: str) -> str:
    domain.validate_inspection(window_start=item["window_start"], window_end=item["window_end"], form=item["form"],
                               year=plan["year"], forms=body["forms"], field=field)
    unit_id = str(item["unit_id"])
    if unit_id not in {u["id"] for u in units_as_of(conn, tenant, item["window_start"])}:
        raise Invalid(f"unit {unit_id} does not exist on {item['window_start']}", field=f"{field}.unit_id")
    team_id = _s(item.get("team_id"))
    if team_id and store.get_team(conn, tenant=tenant, team_id=team_id) is None:
        raise Invalid(f"team {team_id} not found", field=f"{field}.team_id")
    inspection_id = str(uuid.uuid4())
    store.insert_inspection(conn, tenant=tenant, plan_id=str(plan["id"]), inspection_id=inspection_id, unit_id=unit_id,
                            window_start=item["window_start"], window_end=item["window_end"], form=item["form"],
                            team_id=team_id, note=item.get("note"))
    return inspection_id


def add_inspection(runtime: Runtime, conn, *, tenant: str, plan_id: str, item: dict, if_match: str | None) -> str:
    """Schedule an inspection in a draft; returns its id (the inspection_id it keeps for life)."""
    plan = get_plan(conn, tenant=tenant, plan_id=plan_id, lock=True)
    domain.check_if_match(if_match, plan["revision"], required=False)
    domain.transition(plan["status"], "edit")
    inspection_id = _add_inspection(conn, tenant=tenant, plan=plan, body=plan["body"], item=item, field="body")
    store.update_plan(conn, tenant=tenant, plan_id=plan_id, now=runtime.clock())
    return inspection_id


def remove_inspection(runtime: Runtime, conn, *, tenant: str, plan_id: str, inspection_id: str,
                      if_match: str | None) -> None:
    """Take an inspection out of a draft's schedule."""
    plan = get_plan(conn, tenant=tenant, plan_id=plan_id, lock=True)
    domain.check_if_match(if_match, plan["revision"], required=False)
    domain.transition(plan["status"], "edit")
    if not store.delete_inspection(conn, tenant=tenant, plan_id=plan_id, inspection_id=inspection_id):
        raise NotFound(f"planned inspection {inspection_id} not found in plan {plan_id}")
    store.update_plan(conn, tenant=tenant, plan_id=plan_id, now=runtime.clock())


# -- plans: workflow ---------------------------------------------------------------------------------
def _decision(d: dict) -> dict:
    return {"number": d["number"].strip(), "date": d["date"].isoformat() if isinstance(d["date"], date) else d["date"],
            "signer": d["signer"].strip()}


def _rules_payload(rules: list[dict]) -> list[dict]:
    keys = ("id", "description", "level", "kind", "min_count", "per_level")
    return [{k: r.get(k) for k in keys} for r in rules]


def _plan_payload(plan: dict, version: int, decision: dict, count: int) -> dict:
    body = plan["body"]
    return {"plan_id": str(plan["id"]), "version": version, "year": plan["year"], "type": plan["type"],
            "title": body["title"], "decision": decision, "checklist_id": body.get("checklist_id"),
            "checklist_version": body.get("checklist_version"), "coverage_rules": _rules_payload(body["coverage_rules"]),
            "planned_inspections": count}


def _scheduled(runtime: Runtime, conn, plan: dict, version: int, inspection: dict) -> None:
    runtime.outbox.add(conn, "inspection.scheduled", tenant=plan["tenant"], data={
        "inspection_id": str(inspection["id"]), "plan_id": str(plan["id"]), "plan_version": version, "year": plan["year"],
        "unit_id": str(inspection["unit_id"]), "window_start": inspection["window_start"].isoformat(),
        "window_end": inspection["window_end"].isoformat(), "form": inspection["form"],
        "team_id": _s(inspection["team_id"]), "checklist_id": plan["body"].get("checklist_id"),
        "checklist_version": plan["body"].get("checklist_version")})


def _freeze(runtime: Runtime, conn, plan_id: str, tenant: str, reason: str | None) -> dict:
    plan = get_plan(conn, tenant=tenant, plan_id=plan_id)
    store.insert_plan_version(conn, tenant=tenant, plan_id=plan_id, version=plan["version"], status=plan["status"],
                              decision=plan["decision"], reason=reason, snapshot=plan_view(conn, plan), now=runtime.clock())
    return plan


def approve_plan(runtime: Runtime, conn, *, tenant: str, plan_id: str, decision: dict, if_match: str | None) -> dict:
    """draft → approved (version 1): publishes plan.approved and one inspection.scheduled per planned inspection."""
    plan = get_plan(conn, tenant=tenant, plan_id=plan_id, lock=True)
    domain.check_if_match(if_match, plan["revision"], required=False)
    status = domain.transition(plan["status"], "approve")
    domain.validate_decision(decision["number"], decision["date"], plan["year"], field="body.decision")
    decision = _decision(decision)
    store.update_plan(conn, tenant=tenant, plan_id=plan_id, now=runtime.clock(), status=status, version=1, decision=decision)
    plan = _freeze(runtime, conn, plan_id, tenant, None)
    inspections = store.list_inspections(conn, tenant=tenant, plan_id=plan_id)
    runtime.outbox.add(conn, "plan.approved", tenant=tenant, data=_plan_payload(plan, 1, decision, len(inspections)))
    for inspection in inspections:
        _scheduled(runtime, conn, plan, 1, inspection)
    return plan


def amend_plan(runtime: Runtime, conn, *, tenant: str, plan_id: str, amendment: dict, if_match: str | None) -> dict:
    """approved/amended → amended (version + 1): changes, added and removed inspections, all in one step."""
    plan = get_plan(conn, tenant=tenant, plan_id=plan_id, lock=True)
    domain.check_if_match(if_match, plan["revision"], required=False)
    status = domain.transition(plan["status"], "amend")
    version = plan["version"] + 1
    decision = plan["decision"]
    if amendment.get("decision"):
        domain.validate_decision(amendment["decision"]["number"], amendment["decision"]["date"], plan["year"],
                                 field="body.decision")
        decision = _decision(amendment["decision"])
    changes = {k: v for k, v in (amendment.get("changes") or {}).items() if v is not None}
    if changes.get("year") not in (None, plan["year"]):
        raise Invalid("an amendment cannot move the plan to another year", field="body.changes.year")
    if "checklist_id" in changes and "checklist_version" not in changes:
        changes["checklist_version"] = None
    body = _check_body(conn, tenant, _normalise({**plan["body"], **changes}))
    removed = [str(i) for i in amendment.get("remove") or []]
    current = {str(r["id"]): r for r in store.list_inspections(conn, tenant=tenant, plan_id=plan_id)}
    for i, inspection_id in enumerate(removed):
        if inspection_id not in current:
            raise Invalid(f"planned inspection {inspection_id} is not in the plan", field=f"body.remove[{i}]")
        store.delete_inspection(conn, tenant=tenant, plan_id=plan_id, inspection_id=inspection_id)
    added = [_add_inspection(conn, tenant=tenant, plan=plan, body=body, item=item, field=f"body.add[{i}]")
             for i, item in enumerate(amendment.get("add") or [])]
    _check_schedule(conn, tenant, plan, plan["year"], body["forms"])
    store.update_plan(conn, tenant=tenant, plan_id=plan_id, now=runtime.clock(), status=status, version=version,
                      type=changes.get("type", plan["type"]), body=body, decision=decision)
    plan = _freeze(runtime, conn, plan_id, tenant, amendment["reason"])
    inspections = store.list_inspections(conn, tenant=tenant, plan_id=plan_id)
    runtime.outbox.add(conn, "plan.amended", tenant=tenant,
                       data={**_plan_payload(plan, version, decision, len(inspections)), "reason": amendment["reason"]})
    for inspection in inspections:
        if str(inspection["id"]) in added:
            _scheduled(runtime, conn, plan, version, inspection)
    for inspection_id in removed:
        runtime.outbox.add(conn, "inspection.cancelled", tenant=tenant, data={
            "inspection_id": inspection_id, "plan_id": plan_id, "plan_version": version, "reason": amendment["reason"]})
    return plan


def close_plan(runtime: Runtime, conn, *, tenant: str, plan_id: str, closed_on: date | None, if_match: str | None) -> dict:
    """approved/amended → closed: publishes plan.closed."""
    plan = get_plan(conn, tenant=tenant, plan_id=plan_id, lock=True)
    domain.check_if_match(if_match, plan["revision"], required=False)
    status = domain.transition(plan["status"], "close")
    closed_on = closed_on or runtime.clock().date()
    if closed_on.year < plan["year"] or (plan["decision"] and closed_on.isoformat() < plan["decision"]["date"]):
        raise Invalid("a plan cannot be closed before its year begins or before its approval", field="body.closed_on")
    store.update_plan(conn, tenant=tenant, plan_id=plan_id, now=runtime.clock(), status=status, closed_on=closed_on)
    runtime.outbox.add(conn, "plan.closed", tenant=tenant, data={
        "plan_id": plan_id, "version": plan["version"], "year": plan["year"], "closed_on": closed_on.isoformat()})
    return get_plan(conn, tenant=tenant, plan_id=plan_id)


# -- plans: checks -----------------------------------------------------------------------------------
def coverage_report(conn, *, tenant: str, plan: dict, as_of: date | None) -> dict:
    """Which coverage rule the schedule does not yet meet, and by how much, over the tree as of a date."""
    as_of = as_of or date(plan["year"], 1, 1)
    rows = units_as_of(conn, plan["tenant"], as_of)
    names = {r["id"]: r["name"] for r in rows}
    units = [Unit(r["id"], r["level"], r["kind"], r["parent_id"]) for r in rows]
    rules = [CoverageRule(**r) for r in _rules_payload(plan["body"]["coverage_rules"])]
    covered = [str(r["unit_id"]) for r in store.list_inspections(conn, tenant=plan["tenant"], plan_id=str(plan["id"]))]
    results = evaluate(rules, units, covered)
    return {"plan_id": str(plan["id"]), "as_of": as_of.isoformat(), "satisfied": all(r.satisfied for r in results),
            "rules": [{"rule_id": r.rule_id, "description": r.description, "required": r.required, "covered": r.covered,
                       "shortfall": r.shortfall, "satisfied": r.satisfied,
                       "missing": [{"unit_id": u, "name": names.get(u)} for u in r.missing],
                       "candidates": [{"unit_id": u, "name": names.get(u)} for u in r.candidates]} for r in results]}


def conflicts_report(conn, *, tenant: str, plan: dict, as_of: date | None) -> dict:
    """Team people who work in (or under) the unit they would inspect."""
    as_of = as_of or date(plan["year"], 1, 1)
    inspections = store.list_inspections(conn, tenant=plan["tenant"], plan_id=str(plan["id"]))
    teams = store.get_teams(conn, tenant=plan["tenant"], team_ids=sorted({str(i["team_id"]) for i in inspections if i["team_id"]}))
    rows = units_as_of(conn, plan["tenant"], as_of)
    parent_of = {r["id"]: r["parent_id"] for r in rows}
    names = {r["id"]: r["name"] for r in rows}
    found = domain.conflicts_of_interest(inspections, teams, parent_of)
    return {"plan_id": str(plan["id"]), "as_of": as_of.isoformat(), "conflicts": [
        {**c.__dict__, "unit_name": names.get(c.unit_id), "member_unit_name": names.get(c.member_unit_id)} for c in found]}


def _period(conn, tenant: str, start: date, end: date) -> dict:
    rows = store.schedule_counts(conn, tenant=tenant, start=start, end=end)
    units = set().union(*(set(r["unit_ids"]) for r in rows)) if rows else set()
    return {"start": start.isoformat(), "end": end.isoformat(), "inspections": sum(r["inspections"] for r in rows),
            "units": len(units), "by_form": {r["form"]: {"inspections": r["inspections"], "units": r["units"]} for r in rows}}


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def schedule_summary(conn, *, tenant: str, start: date, end: date) -> dict:
    """Approved inspections in a period and in the same period a year earlier, with the ratios ("3 times as many")."""
    if end < start:
        raise Invalid("the period ends before it starts", field="query.end")
    if start.year < 2000 or end.year > 2100:
        raise Invalid("the period must lie between 2000 and 2100", field="query.start")
    current = _period(conn, tenant, start, end)
    previous = _period(conn, tenant, _year_earlier(start), _year_earlier(end))

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 2) if b else None

    return {**current, "previous_year": previous,
            "ratio": {"inspections": ratio(current["inspections"], previous["inspections"]),
                      "units": ratio(current["units"], previous["units"]),
                      "by_form": {f: ratio(v["units"], previous["by_form"].get(f, {}).get("units", 0))
                                  for f, v in current["by_form"].items()}}}
