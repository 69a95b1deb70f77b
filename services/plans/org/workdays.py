"""The per-tenant working calendar: national holidays (shared.calendar) plus the province's declarations."""
from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from fastapi import Path

from services.plans.org import store
from shared.calendar import WorkingCalendar
from shared.errors import Invalid
from shared.outbox import Outbox

YearPath = Path(ge=2000, le=2100, description="Calendar year")


def _declared(conn: psycopg.Connection, tenant: str, year: int) -> dict[str, Any]:
    row = store.calendar_year(conn, tenant, year) if tenant != "*" else None
    return row or {"year": year, "days_off": [], "working_days": [], "version": 0, "updated_at": None}


def calendar_for(conn: psycopg.Connection, tenant: str, years: list[int]) -> WorkingCalendar:
    """The tenant's working calendar over ``years`` (holidays of the neighbouring years come with it)."""
    days_off: list[date] = []
    working: list[date] = []
    for year in range(min(years) - 1, max(years) + 2):
        declared = _declared(conn, tenant, year)
        days_off += [date.fromisoformat(d["date"]) for d in declared["days_off"]]
        working += [date.fromisoformat(d) for d in declared["working_days"]]
    return WorkingCalendar.vietnam(years, days_off=days_off, working_days=working)


def view(conn: psycopg.Connection, tenant: str, year: int) -> dict[str, Any]:
    """The year's national holidays and the province's declared days off and working days."""
    declared = _declared(conn, tenant, year)
    national = WorkingCalendar.vietnam([year]).holiday_names
    return {
        "year": year,
        "holidays": [{"date": d, "name": n} for d, n in sorted(national.items()) if d.year == year],
        "days_off": declared["days_off"], "working_days": declared["working_days"], "version": declared["version"],
    }


def declare(outbox: Outbox, conn: psycopg.Connection, tenant: str, year: int, body) -> dict[str, Any]:
    """Replace the year's declared days and publish calendar.changed."""
    days_off = sorted(({"date": d.date.isoformat(), "name": d.name} for d in body.days_off), key=lambda d: d["date"])
    working = sorted({d.isoformat() for d in body.working_days})
    for i, d in enumerate(days_off):
        if not d["date"].startswith(f"{year}-"):
            raise Invalid(f"{d['date']} is not in {year}", field=f"body.days_off.{i}.date")
    for i, d in enumerate(working):
        if not d.startswith(f"{year}-"):
            raise Invalid(f"{d} is not in {year}", field=f"body.working_days.{i}")
    clash = set(working) & {d["date"] for d in days_off}
    if clash:
        raise Invalid(f"{sorted(clash)[0]} is declared both a day off and a working day", field="body.working_days")
    if len({d["date"] for d in days_off}) != len(days_off):
        raise Invalid("a day off is declared twice", field="body.days_off")
    store.put_calendar_year(conn, tenant, year, days_off, working)
    outbox.add(conn, "calendar.changed", tenant=tenant, data={"year": year, "days_off": days_off, "working_days": working})
    return view(conn, tenant, year)


def deadline(conn: psycopg.Connection, tenant: str, start: date, days: int) -> dict[str, Any]:
    """The date ``days`` working days after ``start`` (start itself never counts), with the days skipped."""
    cal = calendar_for(conn, tenant, [start.year, start.year + days // 200 + 1])
    due = cal.add_working_days(start, days)
    skipped = []
    day = start
    while day < due:
        day = date.fromordinal(day.toordinal() + 1)
        if not cal.is_working_day(day) and day.weekday() < 5:
            skipped.append({"date": day, "name": cal.holiday_names.get(day, "ngày nghỉ do tỉnh công bố")})
    return {"start": start, "working_days": days, "deadline": due, "holidays_skipped": skipped}
