"""Pure rules of the analytics service: attribution across merges, rates, repeats, ranking, scorecards.

Attribution across the 2025 merges (the rule every figure follows):
  * Counters and facts are stored against the unit named in the event (the *original* unit), never
    rewritten when a unit later merges.
  * Asked for the *current tree* (no ``as_of``), a unit is replaced by its successor, repeatedly,
    until a unit without successor is reached: a violation of a commune merged on 1 July 2025 is
    shown under the new commune.
  * Asked *as of a date* D, a unit is replaced by its successor only if it had already ceased to
    exist at D, i.e. ``valid_to`` (the unit's last valid day, inclusive) is before D; so as of a date
    before the merge the original unit keeps its history.
  * A unit the read model does not know yet (its event has not arrived) is attributed to itself.
  * Repeats are counted after attribution: two merged communes that each broke the same criterion
    once make a repeat of their successor in the current tree, but not as of a date before the merge.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping, NamedTuple

VIETNAM = timezone(timedelta(hours=7))  # no daylight saving time in Vietnam


def local_date(value: str) -> date:
    """The Vietnamese calendar day of an ISO date or timestamp (a naive timestamp is taken as local)."""
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(VIETNAM).date() if moment.tzinfo else moment.date()


def month_of(day: date) -> date:
    """The first day of the month of ``day`` (the key of every monthly counter)."""
    return day.replace(day=1)


@dataclass(frozen=True)
class Period:
    """Months ``month_from``..``month_to`` of ``year`` (inclusive)."""
    year: int
    month_from: int = 1
    month_to: int = 12

    @property
    def first(self) -> date:
        return date(self.year, self.month_from, 1)

    @property
    def last_month(self) -> date:
        return date(self.year, self.month_to, 1)

    @property
    def last_day(self) -> date:
        nxt = date(self.year + (self.month_to == 12), self.month_to % 12 + 1, 1)
        return nxt - timedelta(days=1)

    def previous_year(self) -> "Period":
        return Period(self.year - 1, self.month_from, self.month_to)

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last_day

    def label(self) -> str:
        if (self.month_from, self.month_to) == (1, 12):
            return f"năm {self.year}"
        return f"tháng {self.month_from}–{self.month_to}/{self.year}"


# -- attribution --------------------------------------------------------------------------------
class UnitInfo(NamedTuple):
    """A unit of a tenant's tree as the dashboards see it (immutable; a tuple because the central view
    makes every province's 3,400 of them per question: a frozen dataclass cost 1.6 µs each, this 0.4)."""
    unit_id: str
    name: str
    level: int | None
    kind: str | None
    parent_id: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    successor_id: str | None = None
    code: str | None = None
    contacts: tuple = ()


def attribute(units: Mapping[str, UnitInfo], unit_id: str, as_of: date | None = None) -> str:
    """The unit a record of ``unit_id`` counts for: in the current tree, or as of a date (see module doc)."""
    seen = {unit_id}
    current = unit_id
    while True:
        info = units.get(current)
        if info is None or not info.successor_id:
            return current
        if as_of is not None and (info.valid_to is None or info.valid_to >= as_of):
            return current
        if info.successor_id in seen:  # a cycle in bad reference data: stop rather than loop
            return current
        seen.add(info.successor_id)
        current = info.successor_id


def units_existing(units: Mapping[str, UnitInfo], as_of: date | None) -> list[UnitInfo]:
    """Units of the tree asked for: the current tree (no successor, not ended) or the tree valid at a date."""
    out = []
    for u in units.values():
        if as_of is None:
            if u.successor_id is None and u.valid_to is None:
                out.append(u)
        elif (u.valid_from is None or u.valid_from <= as_of) and (u.valid_to is None or u.valid_to >= as_of):
            out.append(u)
    return out


def unit_label(units: Mapping[str, UnitInfo], unit_id: str) -> str:
    """A unit's name, or a placeholder for a unit not known yet."""
    info = units.get(unit_id)
    return info.name if info else f"(đơn vị chưa biết {unit_id[:8]})"


def unit_level(units: Mapping[str, UnitInfo], unit_id: str) -> int | None:
    """A unit's level, None if not known yet."""
    info = units.get(unit_id)
    return info.level if info else None


# -- violations ---------------------------------------------------------------------------------
class ViolationCount(NamedTuple):
    """A sum of violation counters (a dashboard reads thousands: a tuple is built several times faster
    than a frozen dataclass)."""
    unit_id: str
    month: date | None
    criterion_code: str | None
    severity: str | None
    n: int
    tenant: str = ""


def group_violations(counts: Iterable[ViolationCount], units: Mapping[str, UnitInfo], by: str,
                     as_of: date | None = None, level: int | None = None,
                     owner: Callable[[str], str] | None = None) -> dict[Any, int]:
    """Sum violation counters by criterion, unit, level, severity or month, after attribution (or ``owner``)."""
    owner = owner or (lambda u: attribute(units, u, as_of))
    out: Counter = Counter()
    for c in counts:
        unit = owner(c.unit_id)
        if level is not None and unit_level(units, unit) != level:
            continue
        key = {"criterion": c.criterion_code, "unit": unit, "level": unit_level(units, unit),
               "severity": c.severity, "month": c.month}[by]
        out[key] += c.n
    return dict(out)


def repeat_violations(counts: Iterable[ViolationCount], units: Mapping[str, UnitInfo], as_of: date | None = None,
                      owner: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """Units that broke the same criterion more than once, most repeated first."""
    owner = owner or (lambda u: attribute(units, u, as_of))
    per: Counter = Counter()
    for c in counts:
        per[(owner(c.unit_id), c.criterion_code)] += c.n
    by_unit: dict[str, dict[str, int]] = defaultdict(dict)
    for (unit, code), n in per.items():
        if n > 1:
            by_unit[unit][code] = n
    rows = [{"unit_id": u, "repeated_criteria": len(codes), "repeat_violations": sum(codes.values()),
             "criteria": dict(sorted(codes.items()))} for u, codes in by_unit.items()]
    rows.sort(key=lambda r: (-r["repeat_violations"], -r["repeated_criteria"], r["unit_id"]))
    return rows


# -- inspections --------------------------------------------------------------------------------
def inspection_contributions(row: Mapping[str, Any] | None) -> Counter:
    """What one inspection adds to the monthly counters: {(unit_id, month, 'planned'|'done'|'reports'): 1}.

    ``reports``: a surprise inspection (started on a citizen's or business's report), in its start month.
    """
    out: Counter = Counter()
    if not row or not row.get("unit_id"):
        return out
    unit = str(row["unit_id"])
    if row.get("scheduled") and not row.get("cancelled") and row.get("window_start"):
        out[(unit, month_of(row["window_start"]), "planned")] += 1
    if row.get("concluded_on"):
        out[(unit, month_of(row["concluded_on"]), "done")] += 1
    if row.get("surprise") and row.get("started_on"):
        out[(unit, month_of(row["started_on"]), "reports")] += 1
    return out


def contribution_delta(before: Mapping[str, Any] | None, after: Mapping[str, Any],
                       contributions: Callable[[Mapping[str, Any] | None], Counter] = inspection_contributions,
                       ) -> dict[tuple, int]:
    """Counter changes that turn ``before``'s contributions into ``after``'s (order-tolerant upserts)."""
    delta: Counter = Counter(contributions(after))
    delta.subtract(contributions(before))
    return {k: v for k, v in delta.items() if v}


# -- remediation --------------------------------------------------------------------------------
class Remediation(NamedTuple):  # one per remediation of a unit's scorecard
    remediation_id: str
    unit_id: str
    deadline: date | None
    accepted_on: date | None
    assigned_on: date | None = None


def remediation_contributions(row: Mapping[str, Any] | None) -> Counter:
    """What one remediation adds to the counters of its deadline's month: {(unit_id, month, column): 1}.

    ``total`` once its deadline is known (before that it is not countable, as in remediation_summary),
    and ``on_time`` or ``late`` once accepted; what is left open is total - on_time - late.
    """
    out: Counter = Counter()
    if not row or row.get("deadline") is None or not row.get("unit_id"):
        return out
    key = (str(row["unit_id"]), month_of(row["deadline"]))
    out[(*key, "total")] += 1
    if row.get("accepted_on") is not None:
        out[(*key, "on_time" if row["accepted_on"] <= row["deadline"] else "late")] += 1
    return out


def remediation_totals(total: int = 0, on_time: int = 0, late: int = 0, overdue: int = 0) -> dict[str, Any]:
    """remediation_summary's counts from counters: accepted ones are always due, open ones once overdue."""
    due = on_time + late + overdue
    return {"due": due, "on_time": on_time, "on_time_rate": rate(on_time, due), "open": total - on_time - late,
            "overdue": overdue}


def remediation_summary(items: Iterable[Remediation], today: date, accepted_on_time: int = 0,
                        accepted_late: int = 0) -> dict[str, Any]:
    """On-time rate (accepted by the deadline among those due by today), open (age: days since
    assignment), overdue (age: days past the deadline).

    ``accepted_on_time``/``accepted_late``: accepted remediations counted elsewhere (the counters), when
    ``items`` holds only the open ones.
    """
    due, on_time, open_, oldest_open = accepted_on_time + accepted_late, accepted_on_time, 0, 0
    overdue: list[dict[str, Any]] = []
    for r in items:
        if r.deadline is None:  # only a report or verification arrived so far: not yet countable
            continue
        if r.accepted_on is None:
            open_ += 1
            if r.assigned_on is not None:
                oldest_open = max(oldest_open, (today - r.assigned_on).days)
            if r.deadline < today:
                overdue.append({"remediation_id": r.remediation_id, "deadline": r.deadline,
                                "days_overdue": (today - r.deadline).days})
        if r.deadline < today or r.accepted_on is not None:
            due += 1
            if r.accepted_on is not None and r.accepted_on <= r.deadline:
                on_time += 1
    overdue.sort(key=lambda o: (-o["days_overdue"], o["remediation_id"]))
    return {"due": due, "on_time": on_time, "on_time_rate": rate(on_time, due), "open": open_,
            "oldest_open_days": oldest_open, "overdue": len(overdue), "max_days_overdue": max((o["days_overdue"] for o in overdue), default=0),
            "overdue_items": overdue}


# The remediation dashboard lists at most this many overdue remediations per unit, most overdue first
# (the row keeps the full count; the whole list: the unit's scorecard, or queries.remediation(listed=None)).
OVERDUE_LISTED = 20


class OpenRemediations(NamedTuple):
    """The open remediations of one unit with a deadline in the period, summed in SQL: how many, how many
    overdue on the day asked, the earliest assignment and overdue deadline, and the most overdue ones
    ((remediation_id, deadline), most overdue first, as many as asked)."""
    unit_id: str
    open: int
    overdue: int
    first_assigned: date | None
    first_overdue: date | None
    most_overdue: tuple[tuple[str, date], ...] = ()


def open_summary(parts: Iterable[OpenRemediations], today: date, accepted_on_time: int = 0, accepted_late: int = 0,
                 listed: int | None = OVERDUE_LISTED) -> dict[str, Any]:
    """remediation_summary of the open remediations of several units (e.g. merged into one) from their
    sums, the overdue list cut to the ``listed`` most overdue (the same as remediation_summary's first
    ``listed``, provided each part lists at least that many)."""
    parts = list(parts)
    overdue = sum(p.overdue for p in parts)
    assigned = [p.first_assigned for p in parts if p.first_assigned is not None]
    deadlines = [p.first_overdue for p in parts if p.first_overdue is not None]
    items = sorted((deadline, rid) for p in parts for rid, deadline in p.most_overdue)[:listed]
    due = accepted_on_time + accepted_late + overdue
    return {"due": due, "on_time": accepted_on_time, "on_time_rate": rate(accepted_on_time, due),
            "open": sum(p.open for p in parts), "oldest_open_days": max(0, (today - min(assigned)).days) if assigned else 0,
            "overdue": overdue, "max_days_overdue": (today - min(deadlines)).days if deadlines else 0,
            "overdue_items": [{"remediation_id": rid, "deadline": deadline, "days_overdue": (today - deadline).days}
                              for deadline, rid in items]}


def combined_summary(summaries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """remediation_summary of the remediations of several summaries (each its own), without the overdue list."""
    parts = list(summaries)
    due, on_time = sum(s["due"] for s in parts), sum(s["on_time"] for s in parts)
    return {"due": due, "on_time": on_time, "on_time_rate": rate(on_time, due), "open": sum(s["open"] for s in parts),
            "oldest_open_days": max((s["oldest_open_days"] for s in parts), default=0),
            "overdue": sum(s["overdue"] for s in parts),
            "max_days_overdue": max((s["max_days_overdue"] for s in parts), default=0)}


def rate(part: int, whole: int) -> float | None:
    """part/whole rounded to 4 places; None when nothing was counted (not 0: nothing is not bad)."""
    return round(part / whole, 4) if whole else None


def ratio(this: float | int | None, last: float | int | None) -> float | None:
    """This period against last ("3 times as many"): None when last is 0 or unknown."""
    if this is None or not last:
        return None
    return round(this / last, 2)


# -- risk ---------------------------------------------------------------------------------------
# Risk of a unit for choosing surprise inspections, 0..100. Each count is capped (RISK_CAPS) so no
# single signal drowns the others; the weights say what the inspectorate fears most: late dossiers
# hurt citizens directly; repeats and overdue remediation show conclusions were ignored; surprise
# inspections started on a citizen's or business's report (phản ánh) stand in for complaints, which
# reach us no other way.
RISK_WEIGHTS = {"late_dossier_rate": 35.0, "repeated_criteria": 25.0, "overdue_remediations": 25.0, "reports": 15.0}
RISK_CAPS = {"repeated_criteria": 3, "overdue_remediations": 3, "reports": 3}


def risk_score(late_dossier_rate: float | None, repeated_criteria: int, overdue_remediations: int, reports: int = 0) -> float:
    """Weighted risk score, 0..100 (see RISK_WEIGHTS and RISK_CAPS)."""
    score = RISK_WEIGHTS["late_dossier_rate"] * (late_dossier_rate or 0.0)
    for name, count in (("repeated_criteria", repeated_criteria), ("overdue_remediations", overdue_remediations),
                        ("reports", reports)):
        score += RISK_WEIGHTS[name] * min(count, RISK_CAPS[name]) / RISK_CAPS[name]
    return round(score, 2)


def rank_by_risk(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``risk`` and ``rank`` to rows carrying the signals; highest risk first, ties by unit id."""
    for r in rows:
        r["risk"] = risk_score(r.get("late_dossier_rate"), r.get("repeated_criteria", 0), r.get("overdue_remediations", 0),
                               r.get("reports", 0))
    rows.sort(key=lambda r: (-r["risk"], r["unit_id"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return rows


# -- scorecards (Decree 335/2025/NĐ-CP) ----------------------------------------------------------
# Decree 335 scores tasks on output, quality and timeliness; we map the inspection's assessment of a
# head or deputy onto those three (task execution -> output, quality -> quality, processing time ->
# timeliness), each graded good=100, satisfactory=70, poor=40, and average them. The bands follow the
# decree's four ratings. Discipline at reprimand level or above in the year caps the rating at
# "not completed" whatever the score ("other" levels are shown but do not cap: their weight is unknown).
GRADE_POINTS = {"good": 100, "satisfactory": 70, "poor": 40}
DISCIPLINE_CAPPING = {"reprimand", "warning", "demotion", "dismissal"}
RATINGS = (
    (90, "excellent", "Hoàn thành xuất sắc nhiệm vụ"),
    (70, "good", "Hoàn thành tốt nhiệm vụ"),
    (50, "completed", "Hoàn thành nhiệm vụ"),
    (0, "not_completed", "Không hoàn thành nhiệm vụ"),
)


@dataclass(frozen=True)
class Assessment:
    assessment_id: str
    official_ref: str
    position: str
    task_execution: str
    processing_time: str
    quality: str


@dataclass(frozen=True)
class Discipline:
    recommendation_id: str
    official_ref: str
    level: str | None


@dataclass
class OfficialScore:
    official_ref: str
    position: str | None
    name: str | None
    output: float | None
    quality: float | None
    timeliness: float | None
    score: float | None
    rating: str | None
    rating_vi: str | None
    capped_by_discipline: bool
    assessment_ids: list[str] = field(default_factory=list)
    discipline_recommendation_ids: list[str] = field(default_factory=list)


def _rating(score: float) -> tuple[str, str]:
    for floor, code, vi in RATINGS:
        if score >= floor:
            return code, vi
    return RATINGS[-1][1], RATINGS[-1][2]


def score_official(official_ref: str, assessments: list[Assessment], disciplines: list[Discipline],
                   position: str | None = None, name: str | None = None) -> OfficialScore:
    """One head's or deputy's year: the three Decree 335 criteria, the score, the rating and its facts."""
    mine = sorted((a for a in assessments if a.official_ref == official_ref), key=lambda a: a.assessment_id)
    disc = sorted((d for d in disciplines if d.official_ref == official_ref), key=lambda d: d.recommendation_id)

    def avg(attr: str) -> float | None:
        return round(sum(GRADE_POINTS[getattr(a, attr)] for a in mine) / len(mine), 2) if mine else None

    output, quality, timeliness = avg("task_execution"), avg("quality"), avg("processing_time")
    score = round((output + quality + timeliness) / 3, 2) if mine else None
    capped = any(d.level in DISCIPLINE_CAPPING for d in disc)
    rating = rating_vi = None
    if score is not None:
        rating, rating_vi = _rating(score)
    if capped:
        rating, rating_vi = RATINGS[-1][1], RATINGS[-1][2]
    return OfficialScore(official_ref, position or (mine[0].position if mine else None), name, output, quality,
                         timeliness, score, rating, rating_vi, capped, [a.assessment_id for a in mine],
                         [d.recommendation_id for d in disc])
