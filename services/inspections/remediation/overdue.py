"""Overdue detection: the function the Celery task runs, also callable directly (tests, operators)."""
from __future__ import annotations

import logging

from services.inspections.domain import local_date
from services.inspections.remediation import store as rs
from shared.runtime import Runtime

log = logging.getLogger(__name__)


def detect_overdue(runtime: Runtime) -> int:
    """Publish remediation.overdue once per (remediation, deadline) now past; returns how many this run published."""
    now = runtime.clock()
    today = local_date(now, getattr(runtime.settings, "local_timezone", "Asia/Ho_Chi_Minh"))
    with runtime.db.tx("*") as conn:
        candidates = rs.overdue_candidates(conn, today)
    published = 0
    for row in candidates:
        # One transaction per remediation: one failure does not hold back the others.
        with runtime.db.tx(row["tenant"]) as conn:
            if rs.mark_overdue(conn, runtime.outbox, row, today=today, now=now):
                published += 1
    if published:
        log.info("remediations overdue", extra={"fields": {"published": published}})
    return published
