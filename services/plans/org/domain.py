"""Rules of the temporal unit tree (no I/O): versions, as-of lookup, rename, move, merge, dissolve.

A unit's history is a list of contiguous versions; each holds its attributes over [valid_from, valid_to]
(inclusive; valid_to None = still valid). Changes are effective-dated and only ever append to the end of
the timeline: a change dated before the last version began would rewrite history others may have acted on.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Callable, Iterable

from shared.errors import Conflict, Invalid

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
# Kinds the seeds and the CSV examples use; other kinds are allowed (they are data), these document the usual ones.
KNOWN_KINDS = (
    "province_committee", "department", "district_committee", "commune_committee", "state_enterprise",
    "special_association", "one_stop_desk", "public_service_unit",
)
CONTACT_ROLES = ("head", "deputy", "office")
MAX_LEVEL = 10


@dataclass(frozen=True)
class Version:
    """The attributes of one unit over [valid_from, valid_to]."""

    unit_id: str
    valid_from: date
    valid_to: date | None
    name: str
    level: int
    kind: str
    code: str | None = None
    parent_id: str | None = None
    successor_id: str | None = None
    contacts: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    change: str = "created"

    def covers(self, day: date) -> bool:
        """True if this version is the one in force on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


def version_as_of(history: list[Version], day: date) -> Version | None:
    """The version in force on ``day``, or None if the unit did not exist then."""
    return next((v for v in history if v.covers(day)), None)


def lifetime(history: list[Version]) -> tuple[date, date | None]:
    """The first and last day of the unit's existence (last None = still exists)."""
    return history[0].valid_from, history[-1].valid_to


def check_attributes(*, name: str, level: int, kind: str, code: str | None = None, prefix: str = "body.") -> None:
    """Refuse values the tree cannot hold, naming the field."""
    if not name or not name.strip():
        raise Invalid("name must not be empty", field=f"{prefix}name")
    if not 1 <= level <= MAX_LEVEL:
        raise Invalid(f"level must be between 1 and {MAX_LEVEL}", field=f"{prefix}level")
    if not KIND_PATTERN.match(kind or ""):
        raise Invalid("kind must be lower-case letters, digits and underscores, e.g. commune_committee",
                      field=f"{prefix}kind")
    if code is not None and not code.strip():
        raise Invalid("code must not be blank (leave it out instead)", field=f"{prefix}code")


def check_parent(level: int, parent: Version | None, parent_id: str | None, effective: date, *,
                 prefix: str = "body.") -> None:
    """A parent must exist on the effective date and sit on a higher level (a smaller number)."""
    if parent_id is None:
        return
    if parent is None:
        raise Invalid(f"parent unit {parent_id} does not exist on {effective.isoformat()}", field=f"{prefix}parent_id")
    if parent.level >= level:
        raise Invalid(f"a unit of level {level} cannot sit under a unit of level {parent.level}",
                      field=f"{prefix}level")


def new_unit(unit_id: str, effective: date, *, name: str, level: int, kind: str, code: str | None = None,
             parent: Version | None = None, parent_id: str | None = None, contacts: Iterable[dict] = (),
             valid_to: date | None = None) -> Version:
    """The first version of a new unit, after checking its attributes and parent."""
    check_attributes(name=name, level=level, kind=kind, code=code)
    check_parent(level, parent, parent_id, effective)
    if valid_to is not None and valid_to < effective:
        raise Invalid("valid_to is before valid_from", field="body.valid_to")
    return Version(unit_id=unit_id, valid_from=effective, valid_to=valid_to, name=name.strip(), level=level, kind=kind,
                   code=code.strip() if code else None, parent_id=parent_id, contacts=tuple(contacts))


def ensure_changeable(history: list[Version], effective: date, *, field_name: str = "body.effective") -> Version:
    """Return the last version if a change on ``effective`` may be appended; else say why not."""
    first, last = history[0], history[-1]
    if effective < first.valid_from:
        raise Invalid(f"effective date {effective.isoformat()} is before the unit exists "
                      f"(valid_from {first.valid_from.isoformat()})", field=field_name)
    if last.valid_to is not None:
        how = f"was merged into {last.successor_id}" if last.successor_id else "was dissolved"
        raise Conflict(f"the unit {how}; its last day was {last.valid_to.isoformat()}", reason="unit_ended")
    if effective < last.valid_from:
        raise Conflict(f"a later change already takes effect on {last.valid_from.isoformat()}; "
                       f"changes can only follow it", reason="later_change_exists")
    return last


def change(history: list[Version], effective: date, kind_of_change: str, **attributes: Any) -> list[Version]:
    """Append a version that differs in ``attributes`` from ``effective`` on; returns the new history.

    A change on the day the last version began replaces that version (a same-day correction).
    """
    last = ensure_changeable(history, effective)
    new = replace(last, valid_from=effective, valid_to=None, change=kind_of_change, **attributes)
    if effective == last.valid_from:
        return history[:-1] + [new]
    return history[:-1] + [replace(last, valid_to=effective - timedelta(days=1)), new]


def rename(history: list[Version], effective: date, *, name: str, code: str | None = None,
           keep_code: bool = True) -> list[Version]:
    """The unit carries a new name (and optionally a new official code) from ``effective`` on."""
    last = history[-1]
    check_attributes(name=name, level=last.level, kind=last.kind, code=code)
    new_code = last.code if keep_code and code is None else code
    return change(history, effective, "renamed", name=name.strip(), code=new_code)


def move(history: list[Version], effective: date, *, parent: Version | None, parent_id: str | None,
         ancestors_of_parent: list[str], level: int | None = None) -> list[Version]:
    """The unit sits under ``parent_id`` from ``effective`` on (optionally at a new level).

    ``ancestors_of_parent`` is the chain from the new parent up to the root as of ``effective``; the unit
    itself being in it means the move would put the unit under its own descendant.
    """
    last = ensure_changeable(history, effective)
    if parent_id == last.unit_id or last.unit_id in ancestors_of_parent:
        raise Conflict("a unit cannot be moved under itself or one of its descendants", reason="cycle")
    new_level = level if level is not None else last.level
    check_attributes(name=last.name, level=new_level, kind=last.kind)
    check_parent(new_level, parent, parent_id, effective)
    return change(history, effective, "moved", parent_id=parent_id, level=new_level)


def update_contacts(history: list[Version], effective: date, contacts: Iterable[dict]) -> list[Version]:
    """New head/deputy/office contacts from ``effective`` on."""
    contacts = tuple(contacts)
    for i, c in enumerate(contacts):
        if c.get("role") not in CONTACT_ROLES:
            raise Invalid(f"contact role must be one of {', '.join(CONTACT_ROLES)}", field=f"body.contacts.{i}.role")
    return change(history, effective, "updated", contacts=contacts)


def end(history: list[Version], effective: date, *, successor_id: str | None = None) -> list[Version]:
    """The unit stops existing on ``effective`` (its last day is the day before); merged if it has a successor."""
    ensure_changeable(history, effective)
    last_day = effective - timedelta(days=1)
    if last_day < history[0].valid_from:
        raise Invalid("a unit cannot end on the day it begins", field="body.effective")
    if successor_id == history[0].unit_id:
        raise Invalid("a unit cannot be merged into itself", field="body.successor_id")
    # A change that would have started on the effective day never takes effect.
    kept = [v for v in history if v.valid_from <= last_day]
    return kept[:-1] + [replace(kept[-1], valid_to=last_day, successor_id=successor_id)]


def check_merge(unit_ids: list[str], successor_id: str) -> None:
    """A merge needs at least one unit, no repeats, and a successor that is not among the merged."""
    if not unit_ids:
        raise Invalid("name at least one unit to merge", field="body.unit_ids")
    if len(set(unit_ids)) != len(unit_ids):
        raise Invalid("a unit is named twice", field="body.unit_ids")
    if successor_id in unit_ids:
        raise Invalid("the successor cannot be one of the merged units", field="body.successor_id")


def check_dissolvable(unit_id: str, active_children: list[str], effective: date) -> None:
    """A unit with children still valid on the effective date cannot be dissolved (they would be orphans)."""
    if active_children:
        raise Conflict(f"the unit still has {len(active_children)} unit(s) under it on {effective.isoformat()}; "
                       "move, merge or dissolve them first", reason="has_children", children=active_children[:20])


def event_data(history: list[Version], change_name: str) -> dict[str, Any]:
    """The unit.changed payload: the unit's newest state, its lifetime, and when that state takes effect."""
    last = history[-1]
    valid_from, valid_to = lifetime(history)
    return {
        "unit_id": last.unit_id, "change": change_name, "code": last.code, "name": last.name, "level": last.level,
        "kind": last.kind, "parent_id": last.parent_id, "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat() if valid_to else None, "successor_id": last.successor_id,
        "contacts": [dict(c) for c in last.contacts], "effective_from": last.valid_from.isoformat(),
    }


def ancestors(start_id: str | None, parent_of: Callable[[str], str | None], *, limit: int = MAX_LEVEL * 4) -> list[str]:
    """The chain ``start_id``, its parent, ... up to the root (bounded, in case stored data has a cycle)."""
    chain: list[str] = []
    current = start_id
    while current is not None and len(chain) < limit:
        chain.append(current)
        current = parent_of(current)
    return chain


def nest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn a flat as-of list (id, parent_id, ...) into roots with ``children``; orphans become roots."""
    by_id = {r["id"]: {**r, "children": []} for r in rows}
    roots = []
    for node in by_id.values():
        parent = by_id.get(node["parent_id"]) if node["parent_id"] else None
        (parent["children"] if parent else roots).append(node)
    return roots


def fold(text: str) -> str:
    """Lower case without diacritics ('UBND xã Đại Phước' → 'ubnd xa dai phuoc'), for search."""
    text = text.replace("đ", "d").replace("Đ", "D")
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())
