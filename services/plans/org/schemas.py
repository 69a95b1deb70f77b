"""Request models and response shapes of the org API."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from services.plans.org.domain import Version, version_as_of
from shared.runtime import Runtime

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

Text = Field(min_length=1, max_length=500)


def today(runtime: Runtime) -> date:
    """Today in Vietnam (a change made at 06:00 local time on 1 July belongs to 1 July, not 30 June UTC)."""
    now: datetime = runtime.clock()
    return now.astimezone(VIETNAM).date()


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contact(_Closed):
    role: Literal["head", "deputy", "office"]
    name: str = Text
    email: str | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(None, max_length=40)


class _WithContacts(_Closed):
    contacts: list[Contact] = Field(default_factory=list, max_length=50)

    def contact_dicts(self) -> list[dict[str, Any]]:
        return [c.model_dump() for c in self.contacts]


class UnitCreate(_WithContacts):
    name: str = Text
    level: int = Field(ge=1, le=10, description="1 = province; 2 = departments, districts (before 2025) or communes (after)")
    kind: str = Field(min_length=2, max_length=64, description="e.g. department, commune_committee, one_stop_desk")
    code: str | None = Field(None, min_length=1, max_length=20, description="Official code, where one exists")
    parent_id: UUID | None = None
    valid_from: date | None = Field(None, description="First day of existence (default today)")


class UnitRename(_Closed):
    name: str = Text
    code: str | None = Field(None, min_length=1, max_length=20, description="A new official code (kept if absent)")
    effective: date | None = Field(None, description="First day of the new name (default today)")


class UnitMove(_Closed):
    parent_id: UUID | None
    level: int | None = Field(None, ge=1, le=10, description="New level, if the move changes it")
    effective: date | None = None


class UnitDissolve(_Closed):
    effective: date = Field(description="First day the unit no longer exists")


class UnitMerge(_Closed):
    unit_ids: list[UUID] = Field(min_length=1, max_length=500)
    effective: date = Field(description="First day of the successor; the merged units' last day is the day before")
    successor_id: UUID | None = None
    successor: UnitCreate | None = Field(None, description="A new successor, created valid from the effective date")


class ContactsUpdate(_WithContacts):
    effective: date | None = None


class DayOff(_Closed):
    date: date
    name: str = Text


class CalendarWrite(_Closed):
    days_off: list[DayOff] = Field(default_factory=list, max_length=366)
    working_days: list[date] = Field(default_factory=list, max_length=366)


def _version_view(v: Version) -> dict[str, Any]:
    return {"valid_from": v.valid_from, "valid_to": v.valid_to, "code": v.code, "name": v.name, "level": v.level,
            "kind": v.kind, "parent_id": v.parent_id, "successor_id": v.successor_id, "contacts": list(v.contacts),
            "change": v.change}


def unit_view(history: list[Version], *, ended: str | None = None, predecessors: list[dict] | None = None,
              as_of: date | None = None) -> dict[str, Any]:
    """A unit: its newest state (or the one on ``as_of``), its lifetime and every version."""
    state = version_as_of(history, as_of) if as_of else history[-1]
    last = history[-1]
    view: dict[str, Any] = {
        "id": last.unit_id, **(_version_view(state) if state else {}),
        "valid_from": history[0].valid_from, "valid_to": last.valid_to, "successor_id": last.successor_id,
        "ended": ended or (("merged" if last.successor_id else "dissolved") if last.valid_to else None),
        "exists_on_as_of": state is not None if as_of else None,
        "history": [_version_view(v) for v in history],
    }
    view.pop("change", None)
    if predecessors is not None:
        view["predecessors"] = predecessors
    return view
