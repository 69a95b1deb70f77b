"""Celery worker of the inspections service: beat runs the overdue detection every few seconds/minutes.

    celery -A services.inspections.worker worker --beat   (exactly one beat per deployment)
"""
from __future__ import annotations

from functools import lru_cache

from services.inspections.remediation.overdue import detect_overdue
from services.inspections.settings import InspectionsSettings
from shared.celery_app import make_celery
from shared.runtime import Runtime

settings = InspectionsSettings()
app = make_celery("inspections", settings, include=["services.inspections.worker"])
app.conf.beat_schedule = {
    "detect-overdue-remediations": {
        "task": "inspections.detect_overdue",
        "schedule": settings.overdue_interval_seconds,
        # A run that waited longer than one interval is superseded by the next one.
        "options": {"expires": settings.overdue_interval_seconds},
    },
}


@lru_cache(maxsize=1)
def _runtime() -> Runtime:
    return Runtime.build("inspections", settings, pool_size=2).open()


@app.task(name="inspections.detect_overdue")
def detect_overdue_task() -> int:
    """Idempotent: the (remediation, deadline) key makes re-runs and concurrent runs publish nothing twice."""
    return detect_overdue(_runtime())
