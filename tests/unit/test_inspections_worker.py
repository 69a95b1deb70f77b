"""The Celery app of the inspections service: beat schedules the overdue detection task it registers."""
from __future__ import annotations

from services.inspections import worker
from services.inspections.bootstrap import SERVICE


def test_beat_schedules_the_registered_overdue_task():
    entry = worker.app.conf.beat_schedule["detect-overdue-remediations"]
    assert entry["task"] == "inspections.detect_overdue" and entry["task"] in worker.app.tasks
    assert entry["schedule"] == worker.settings.overdue_interval_seconds
    # Late acks are safe only because the task is idempotent (the (remediation, deadline) key).
    assert worker.app.conf.task_acks_late is True
    assert SERVICE.celery == "services.inspections.worker:app"
