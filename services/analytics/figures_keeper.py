"""What the analytics worker keeps ready: the central view's figures of every province, for the question
asked by default (this year, on today; in the day's last minutes tomorrow's too), computed again only
for provinces whose read models changed.

The API keeps answers in memory too (kept_answers.py), but only those it was asked, per process, from
its start. These figures are there for any API process and after any pause: at 10 million findings
the view computed afresh takes over half a second; with the worker's figures, it computes only the
provinces changed since the worker's last pass (migration 010).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import psycopg

from services.analytics import queries, store
from services.analytics.domain import Period

# How long before the day changes a pass also keeps the next day's figures: "today" is part of the
# question, so without them the first views of each day would compute every province (half a second
# at 10 million findings) until the worker's first pass of the day.
AHEAD = timedelta(minutes=5)


def default_question(today: date) -> queries.Filters:
    """The central view's question when nothing else is chosen: this year's months, overdue on today."""
    return queries.Filters(Period(today.year), today)


def days_kept(now: datetime) -> list[date]:
    """The days whose question is kept at ``now`` (the clock the API asks with): today, and in the last
    ``AHEAD`` of the day tomorrow too."""
    today = now.date()
    tomorrow = today + timedelta(days=1)
    return [today, tomorrow] if datetime.combine(tomorrow, time(), now.tzinfo) - now <= AHEAD else [today]


def keep(conn: psycopg.Connection, now: datetime) -> list[str]:
    """Compute and store the figures of every province changed since they were stored (any API process
    then serves them while unchanged), for each of :func:`days_kept`; forget other days' figures.
    Returns the provinces computed. Run with every province in scope; overlapping runs are harmless
    (store.keep_province_figures)."""
    tenants = store.tenants(conn)
    # The change counts first: whatever is computed after them is at least that new.
    versions = store.read_model_versions(conn, tenants)
    computed: dict[str, None] = {}
    questions = []
    for day in days_kept(now):
        filters = default_question(day)
        question = queries.central_question(filters)
        assert question is not None
        questions.append(question)
        held = store.province_figures(conn, tenants, question, queries.FIGURES_CODE)
        stale = [t for t in tenants if t not in held or held[t][0] != versions[t]]
        if stale:
            rows = queries.province_rows(conn, stale, filters)
            store.keep_province_figures(conn, question, queries.FIGURES_CODE, [(t, versions[t], rows[t]) for t in stale])
            computed.update(dict.fromkeys(stale))
    store.forget_province_figures(conn, questions)
    return list(computed)
