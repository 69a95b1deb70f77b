"""What the analytics worker keeps ready: the central view's figures of every province, for the question
asked by default (this year, on today), computed again only for provinces whose read models changed.

The API keeps answers in memory too (kept_answers.py), but only those it was asked, per process, from
its start. These figures are there for any API process and after any pause: at 10 million findings
the view computed afresh takes over half a second; with the worker's figures, it computes only the
provinces changed since the worker's last pass (migration 010).
"""
from __future__ import annotations

from datetime import date

import psycopg

from services.analytics import queries, store
from services.analytics.domain import Period


def default_question(today: date) -> queries.Filters:
    """The central view's question when nothing else is chosen: this year's months, overdue on today."""
    return queries.Filters(Period(today.year), today)


def keep(conn: psycopg.Connection, today: date) -> list[str]:
    """Compute and store the figures of every province changed since they were stored (any API process
    then serves them while unchanged); forget other days' figures. Returns the provinces computed. Run
    with every province in scope; overlapping runs are harmless (store.keep_province_figures)."""
    filters = default_question(today)
    question = queries.central_question(filters)
    assert question is not None
    tenants = store.tenants(conn)
    # The change counts first: whatever is computed after them is at least that new.
    versions = store.read_model_versions(conn, tenants)
    held = store.province_figures(conn, tenants, question, queries.FIGURES_CODE)
    stale = [t for t in tenants if t not in held or held[t][0] != versions[t]]
    if stale:
        rows = queries.province_rows(conn, stale, filters)
        store.keep_province_figures(conn, question, queries.FIGURES_CODE, [(t, versions[t], rows[t]) for t in stale])
    store.forget_province_figures(conn, question)
    return stale
