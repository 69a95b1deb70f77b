"""Remediation counters (pure rules): what a remediation contributes, and that counters give remediation_summary's figures."""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from services.analytics.domain import (
    OVERDUE_LISTED, OpenRemediations, Remediation, combined_summary, contribution_delta, open_summary,
    remediation_contributions, remediation_summary, remediation_totals,
)


def row(deadline, accepted_on=None, unit="u1"):
    return {"unit_id": unit, "deadline": deadline, "accepted_on": accepted_on}


def test_a_remediation_counts_in_its_deadline_month_once_the_deadline_is_known():
    assert remediation_contributions(None) == Counter()
    assert remediation_contributions(row(None, date(2025, 8, 1))) == Counter()  # a verification before the assignment
    assert remediation_contributions(row(date(2025, 8, 21))) == {("u1", date(2025, 8, 1), "total"): 1}
    assert remediation_contributions(row(date(2025, 8, 21), date(2025, 8, 21))) == {
        ("u1", date(2025, 8, 1), "total"): 1, ("u1", date(2025, 8, 1), "on_time"): 1}
    assert remediation_contributions(row(date(2025, 8, 21), date(2025, 8, 22))) == {
        ("u1", date(2025, 8, 1), "total"): 1, ("u1", date(2025, 8, 1), "late"): 1}


def test_an_extension_moves_the_remediation_to_its_new_month_and_can_make_it_on_time():
    before, after = row(date(2025, 7, 21), date(2025, 8, 1)), row(date(2025, 8, 21), date(2025, 8, 1))
    assert contribution_delta(before, after, remediation_contributions) == {
        ("u1", date(2025, 7, 1), "total"): -1, ("u1", date(2025, 7, 1), "late"): -1,
        ("u1", date(2025, 8, 1), "total"): 1, ("u1", date(2025, 8, 1), "on_time"): 1}
    assert contribution_delta(after, after, remediation_contributions) == {}  # the same event again moves nothing


def test_counters_and_open_rows_give_the_figures_of_every_row():
    rng = random.Random(4)
    for _ in range(200):
        today = date(2025, 1, 1) + timedelta(days=rng.randrange(400))
        items = []
        for i in range(rng.randrange(12)):
            deadline = date(2025, 1, 1) + timedelta(days=rng.randrange(365))
            accepted = deadline + timedelta(days=rng.randrange(-30, 30)) if rng.random() < 0.6 else None
            items.append(Remediation(f"r{i}", "u1", deadline, accepted, deadline - timedelta(days=rng.randrange(90))))
        counts: Counter = Counter()
        for r in items:
            for (_unit, _month, column), n in remediation_contributions(row(r.deadline, r.accepted_on)).items():
                counts[column] += n
        overdue = sum(1 for r in items if r.accepted_on is None and r.deadline < today)
        whole = remediation_summary(items, today)
        assert remediation_totals(**counts, overdue=overdue) == {k: whole[k] for k in ("due", "on_time", "on_time_rate", "open", "overdue")}
        still_open = [r for r in items if r.accepted_on is None]
        assert remediation_summary(still_open, today, counts["on_time"], counts["late"]) == whole
        cut = rng.randrange(len(items) + 1)
        parts = [remediation_summary(items[:cut], today), remediation_summary(items[cut:], today)]
        assert combined_summary(parts) == {k: v for k, v in whole.items() if k != "overdue_items"}


def sums(items, today, listed):
    """What store.open_remediations gives for the open ``items`` of one unit."""
    still_open = sorted((r for r in items if r.accepted_on is None and r.deadline is not None), key=lambda r: (r.deadline, r.remediation_id))
    overdue = [r for r in still_open if r.deadline < today]
    assigned = [r.assigned_on for r in still_open if r.assigned_on is not None]
    return OpenRemediations(items[0].unit_id if items else "u", len(still_open), len(overdue), min(assigned, default=None),
                            overdue[0].deadline if overdue else None,
                            tuple((r.remediation_id, r.deadline) for r in overdue[:listed]))


def test_sums_of_open_remediations_per_unit_give_the_figures_and_the_most_overdue_of_every_row():
    rng = random.Random(8)
    for _ in range(300):
        today = date(2025, 1, 1) + timedelta(days=rng.randrange(400))
        listed = rng.choice([1, 3, OVERDUE_LISTED, None])
        items = []
        for i in range(rng.randrange(60)):
            deadline = date(2025, 1, 1) + timedelta(days=rng.randrange(365)) if rng.random() < 0.95 else None
            accepted = deadline + timedelta(days=rng.randrange(-30, 30)) if deadline and rng.random() < 0.4 else None
            assigned = deadline - timedelta(days=rng.randrange(-10, 90)) if deadline and rng.random() < 0.9 else None
            items.append(Remediation(f"r{rng.randrange(10**6):06d}", f"u{rng.randrange(3)}", deadline, accepted, assigned))
        counts: Counter = Counter()
        for r in items:
            for (_unit, _month, column), n in remediation_contributions(row(r.deadline, r.accepted_on)).items():
                counts[column] += n
        whole = remediation_summary(items, today)
        # Three units merged into one: each summed apart, as SQL sums them per original unit.
        parts = [sums([r for r in items if r.unit_id == u], today, listed) for u in ("u0", "u1", "u2")]
        got = open_summary(parts, today, counts["on_time"], counts["late"], listed)
        assert got == {**whole, "overdue_items": whole["overdue_items"][:listed]}
        assert len(got["overdue_items"]) == min(got["overdue"], listed if listed is not None else got["overdue"])
    many = [Remediation(f"r{i:02d}", "u", date(2025, 1, 1) + timedelta(days=i % 7), None) for i in range(30)]
    got = open_summary([sums(many, date(2025, 6, 1), OVERDUE_LISTED)], date(2025, 6, 1))
    assert (got["overdue"], len(got["overdue_items"]), got["max_days_overdue"]) == (30, OVERDUE_LISTED, 151)
    assert [o["remediation_id"] for o in got["overdue_items"]][:5] == ["r00", "r07", "r14", "r21", "r28"]
