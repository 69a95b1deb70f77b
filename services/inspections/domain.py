"""Pure rules of the inspections service: lifecycle, sampling, lateness, deadlines, resends. No I/O."""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from shared.calendar import WorkingCalendar

SCHEDULED, IN_PROGRESS, CONCLUDED, CLOSED, CANCELLED = "scheduled", "in_progress", "concluded", "closed", "cancelled"

# action -> (states it may start from, state it leads to)
_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({SCHEDULED}), IN_PROGRESS),
    "conclude": (frozenset({IN_PROGRESS}), CONCLUDED),
    "close": (frozenset({CONCLUDED}), CLOSED),
    "cancel": (frozenset({SCHEDULED}), CANCELLED),
}
# Work recorded during the visit (findings, results, dossier checks, assessments, minutes).
FIELDWORK_STATES = frozenset({IN_PROGRESS})

RECOMMENDATION_KINDS = ("reminder", "correction", "self_criticism", "disciplinary", "procedure_change")
# A reminder is said once in the conclusion; every other kind asks the unit to do something.
ACTION_KINDS = frozenset(RECOMMENDATION_KINDS) - {"reminder"}


class IllegalTransition(Exception):
    """The inspection's state forbids the action; the message says why."""


def next_status(status: str, action: str) -> str:
    """The status after ``action``, or IllegalTransition naming the current status."""
    sources, target = _TRANSITIONS[action]
    if status not in sources:
        allowed = ", ".join(sorted(sources))
        raise IllegalTransition(f"cannot {action} an inspection that is {status}; only from {allowed}")
    return target


def require_fieldwork(status: str, what: str) -> None:
    """Findings and other visit records need an inspection in progress."""
    if status not in FIELDWORK_STATES:
        raise IllegalTransition(f"cannot record {what} on an inspection that is {status}; it must be in_progress")


def visible_to_unit_head(*, surprise: bool, status: str) -> bool:
    """A surprise inspection is embargoed from the inspected unit until it starts."""
    return not (surprise and status == SCHEDULED)


def needs_action(kind: str, explicit: bool | None = None) -> bool:
    """Whether a recommendation becomes a remediation (explicit choice wins over the kind's default)."""
    return explicit if explicit is not None else kind in ACTION_KINDS


def fingerprint(payload: Any) -> str:
    """A stable hash of a create request, to tell a resend from a different request with the same id."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- dossier sampling ----------------------------------------------------------------------------
def draw_sample(codes: Iterable[str], size: int, seed: str) -> list[str]:
    """Draw ``size`` codes reproducibly: random.Random(seed) over the codes sorted, sample order kept."""
    population = sorted(set(codes))
    return random.Random(seed).sample(population, min(size, len(population)))


@dataclass(frozen=True)
class SampleVerification:
    matches: bool
    redrawn: list[str]


def verify_sample(population: Sequence[str], size: int, seed: str, drawn: Sequence[str]) -> SampleVerification:
    """Re-draw from the recorded population and seed and compare with what was recorded."""
    redrawn = draw_sample(population, size, seed)
    return SampleVerification(matches=list(drawn) == redrawn, redrawn=redrawn)


# -- dates ---------------------------------------------------------------------------------------
def local_date(now: datetime, tz: str = "Asia/Ho_Chi_Minh") -> date:
    """The calendar date at the inspected units (deadlines are dates there, not in UTC)."""
    return now.astimezone(ZoneInfo(tz)).date()


@dataclass(frozen=True)
class Lateness:
    days_late: int
    late: bool


def dossier_lateness(calendar: WorkingCalendar, *, due: date, resolved: date | None, today: date) -> Lateness:
    """Working days a dossier ran past its due date (computed, never typed by the inspector)."""
    days = calendar.days_late(due, resolved, today)
    return Lateness(days_late=days, late=days > 0)


def remediation_deadline(calendar: WorkingCalendar, *, conclusion_date: date, given: date | None,
                         working_days: int) -> date:
    """The given deadline, or ``working_days`` working days after the conclusion date."""
    return given if given is not None else calendar.add_working_days(conclusion_date, working_days)


def days_overdue(deadline: date, today: date) -> int:
    """Calendar days past the deadline at the units' local date; 0 when not overdue."""
    return max(0, (today - deadline).days)


def is_overdue(*, status: str, deadline: date, today: date) -> bool:
    """A remediation not yet verified whose deadline lies before today is overdue."""
    return status != "verified" and today > deadline


def calendar_years_for(*dates: date | None) -> set[int]:
    return {d.year for d in dates if d is not None}
