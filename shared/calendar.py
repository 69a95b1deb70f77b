"""Working days: weekends and Vietnamese public holidays (Tết included) plus what a province declares.

Deadlines for remediation and for administrative dossiers count working days, never calendar days.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable

import holidays


@dataclass
class WorkingCalendar:
    """``days_off`` are extra non-working days; ``working_days`` are compensating Saturdays or Sundays."""

    days_off: set[date] = field(default_factory=set)
    working_days: set[date] = field(default_factory=set)
    holiday_names: dict[date, str] = field(default_factory=dict)

    @classmethod
    def vietnam(cls, years: Iterable[int], days_off: Iterable[date] = (), working_days: Iterable[date] = ()) -> "WorkingCalendar":
        """National public holidays (from the ``holidays`` package, names in Vietnamese) plus declared days."""
        years = sorted(set(years))
        names: dict[date, str] = {}
        if years:
            # A year either side, so deadlines that cross New Year or Tết still see the holidays.
            span = range(years[0] - 1, years[-1] + 2)
            national = holidays.country_holidays("VN", years=span, language="vi")
            names = {d: n for d, n in national.items()}
        off = set(names) | set(days_off)
        return cls(days_off=off, working_days=set(working_days), holiday_names=names)

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def add_working_days(self, start: date, n: int) -> date:
        """The date ``n`` working days after ``start`` (``start`` itself never counts)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        left = n
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def days_late(self, due: date, resolved: date | None, today: date) -> int:
        """Working days a dossier or task ran past ``due``: until resolution, or until today if still open."""
        finished = resolved if resolved is not None else today
        return max(0, self.working_days_between(due, finished))
