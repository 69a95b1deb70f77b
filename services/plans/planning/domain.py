"""Planning rules without I/O: checklist trees, plan workflow, ETags, schedule checks, conflicts of interest."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Mapping

from shared.errors import Conflict, DomainError, Invalid, PreconditionFailed

PLAN_TYPES = ("public_service", "administrative_reform", "thematic")
FORMS = ("on_site", "online", "periodic", "surprise", "self")
PLAN_TYPE_TITLES = {
    "public_service": "Kiểm tra công vụ",
    "administrative_reform": "Kiểm tra công tác cải cách hành chính",
    "thematic": "Kiểm tra chuyên đề",
}
FORM_TITLES = {
    "on_site": "Kiểm tra trực tiếp",
    "online": "Kiểm tra trực tuyến",
    "periodic": "Kiểm tra định kỳ",
    "surprise": "Kiểm tra đột xuất",
    "self": "Tự kiểm tra",
}


class PreconditionRequired(DomainError):
    """An edit came without If-Match; blind overwrites of a plan are refused."""
    status = 428
    code = "precondition_required"


# -- checklists ------------------------------------------------------------------------------------
def validate_criteria(criteria: list[Mapping], field: str = "body.criteria") -> list[dict]:
    """Check a criteria list forms a tree (unique codes, known parents, no cycles); return it normalised."""
    if not criteria:
        raise Invalid("a checklist needs at least one criterion", field=field)
    out, codes = [], {}
    for i, c in enumerate(criteria):
        code = (c.get("code") or "").strip()
        if code in codes:
            raise Invalid(f"criterion code {code!r} appears twice", field=f"{field}[{i}].code")
        codes[code] = i
        out.append({"code": code, "title": c["title"].strip(), "parent_code": c.get("parent_code") or None,
                    "description": c.get("description") or None})
    parents = {c["code"]: c["parent_code"] for c in out}
    for i, c in enumerate(out):
        if c["parent_code"] is not None and c["parent_code"] not in parents:
            raise Invalid(f"parent {c['parent_code']!r} of {c['code']!r} is not in the checklist",
                          field=f"{field}[{i}].parent_code")
        seen, node = {c["code"]}, c["parent_code"]
        while node is not None:
            if node in seen:
                raise Invalid(f"criterion {c['code']!r} is its own ancestor", field=f"{field}[{i}].parent_code")
            seen.add(node)
            node = parents[node]
    return out


def ensure_draft_version(published: bool, checklist_id: str, version: int) -> None:
    """Published checklist versions are immutable: findings refer to them."""
    if published:
        raise Conflict(f"version {version} of checklist {checklist_id} is published and cannot change; create a new version")


# -- plan workflow -----------------------------------------------------------------------------------
# action -> (statuses it is allowed from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "edit": (frozenset({"draft"}), None),
    "approve": (frozenset({"draft"}), "approved"),
    "amend": (frozenset({"approved", "amended"}), "amended"),
    "close": (frozenset({"approved", "amended"}), "closed"),
}
_WHY = {
    "edit": "only a draft can be edited; an approved plan changes by amendment",
    "approve": "only a draft can be approved",
    "amend": "only an approved (or already amended) plan can be amended",
    "close": "only an approved or amended plan can be closed",
}


def transition(status: str, action: str) -> str:
    """The status after ``action``; 409 with the reason when the action is illegal in ``status``."""
    allowed, target = TRANSITIONS[action]
    if status not in allowed:
        raise Conflict(f"the plan is {status}: {_WHY[action]}", plan_status=status, action=action)
    return target or status


def etag(revision: int) -> str:
    return f'"{revision}"'


def check_if_match(if_match: str | None, revision: int, *, required: bool) -> None:
    """412 when If-Match names another revision; 428 when it is required and missing."""
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequired("this edit needs an If-Match header with the plan's ETag")
        return
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if "*" not in tags and etag(revision) not in tags:
        raise PreconditionFailed(f"the plan changed: its ETag is now {etag(revision)}", etag=etag(revision))


_DECISION_NUMBER = re.compile(r"^\d+/QĐ-[A-ZĐ0-9]+(?:-[A-ZĐ0-9]+)*$")


def validate_decision(number: str, decided_on: date, year: int, field: str = "body") -> None:
    """A decision number looks like '1732/QĐ-UBND' and the decision is not dated after the plan's year."""
    if not _DECISION_NUMBER.match(number.strip()):
        raise Invalid(f"{number!r} is not a decision number such as '1732/QĐ-UBND'", field=f"{field}.number")
    if decided_on.year > year:
        raise Invalid(f"a plan for {year} cannot be approved in {decided_on.year}", field=f"{field}.date")


# -- schedule ----------------------------------------------------------------------------------------
def validate_inspection(*, window_start: date, window_end: date, form: str, year: int, forms: Iterable[str],
                        field: str = "body") -> None:
    """A planned inspection lies in the plan's year, its window is ordered, its form is one the plan uses."""
    if window_end < window_start:
        raise Invalid("the window ends before it starts", field=f"{field}.window_end")
    if window_start.year != year or window_end.year != year:
        raise Invalid(f"the window must lie within {year}", field=f"{field}.window_start")
    forms = list(forms)
    if forms and form not in forms:
        raise Invalid(f"form {form!r} is not among the plan's forms ({', '.join(forms)})", field=f"{field}.form")


def validate_coverage_rules(rules: list[Mapping], field: str = "body.coverage_rules") -> None:
    """Rule ids are unique and each rule says what it counts (a level or a kind)."""
    seen = set()
    for i, r in enumerate(rules):
        if r["id"] in seen:
            raise Invalid(f"coverage rule id {r['id']!r} appears twice", field=f"{field}[{i}].id")
        seen.add(r["id"])
        if r.get("level") is None and r.get("kind") is None:
            raise Invalid("a coverage rule needs a level or a kind", field=f"{field}[{i}]")
        if r.get("per_level") is not None and r.get("min_count") is None:
            raise Invalid("a per_level rule needs min_count (how many under each unit of that level)",
                          field=f"{field}[{i}].min_count")
        if r.get("per_level") is not None and r.get("level") is not None and r["per_level"] >= r["level"]:
            raise Invalid("per_level must be a level above the counted units", field=f"{field}[{i}].per_level")


def validate_team(leader: Mapping, members: list[Mapping], field: str = "body") -> None:
    """A person appears once in a team (the leader is not also listed as a member)."""
    seen = {leader["person_id"]}
    for i, m in enumerate(members):
        if m["person_id"] in seen:
            raise Invalid(f"person {m['person_id']!r} is listed twice in the team", field=f"{field}.members[{i}].person_id")
        seen.add(m["person_id"])


# -- conflicts of interest ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ConflictOfInterest:
    inspection_id: str
    unit_id: str
    team_id: str
    person_id: str
    name: str
    member_unit_id: str
    reason: str  # "works_in_unit" or "works_in_subunit"


def _ancestors(unit_id: str, parent_of: Mapping[str, str | None]) -> list[str]:
    out, node, seen = [], parent_of.get(unit_id), {unit_id}
    while node is not None and node not in seen:
        out.append(node)
        seen.add(node)
        node = parent_of.get(node)
    return out


def conflicts_of_interest(inspections: Iterable[Mapping], teams: Mapping[str, Mapping],
                          parent_of: Mapping[str, str | None]) -> list[ConflictOfInterest]:
    """Team people who work in the unit they would inspect, or in a unit under it (its one-stop desk, ...)."""
    out = []
    for insp in inspections:
        team = teams.get(str(insp.get("team_id"))) if insp.get("team_id") else None
        if team is None:
            continue
        target = str(insp["unit_id"])
        for person in [team["leader"], *team["members"]]:
            home = person.get("unit_id")
            if not home:
                continue
            home = str(home)
            if home == target:
                reason = "works_in_unit"
            elif target in _ancestors(home, parent_of):
                reason = "works_in_subunit"
            else:
                continue
            out.append(ConflictOfInterest(str(insp["id"]), target, str(team["id"]), person["person_id"], person["name"],
                                          home, reason))
    return out


def schedule_changes(before: Iterable[str], after: Iterable[str]) -> tuple[list[str], list[str]]:
    """Inspection ids added and removed between two versions of a schedule, in a stable order."""
    b, a = list(before), list(after)
    return [i for i in a if i not in set(b)], [i for i in b if i not in set(a)]
