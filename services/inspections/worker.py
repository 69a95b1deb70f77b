"""Celery worker of the inspections service: beat runs the overdue detection every few seconds/minutes.

    celery -A services.inspections.worker worker --beat   (exactly one beat per deployment)
"""
from __future__ import annotations

from services.inspections.remediation.overdue import detect_overdue
from services.inspections.settings import InspectionsSettings
from shared.celery_app import every, make_celery, worker_runtime

settings = InspectionsSettings()
app = make_celery("inspections", settings, include=["services.inspections.worker"])
app.conf.beat_schedule = {"detect-overdue-remediations": every(settings.overdue_interval_seconds, "inspections.detect_overdue")}
_runtime = worker_runtime("inspections", settings)


@app.task(name="inspections.detect_overdue")
def detect_overdue_task() -> int:
    """Idempotent: the (remediation, deadline) key makes re-runs and concurrent runs publish nothing twice."""
    return detect_overdue(_runtime())
