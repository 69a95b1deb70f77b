"""Celery worker of the analytics service: beat keeps the central view's figures ready every few seconds.

    celery -A services.analytics.worker worker --beat   (one beat per deployment; a second is harmless)
"""
from __future__ import annotations

from services.analytics import figures_keeper
from services.analytics.settings import AnalyticsSettings
from shared.celery_app import every, make_celery, worker_runtime
from shared.db import ALL_TENANTS

settings = AnalyticsSettings()
app = make_celery("analytics", settings, include=["services.analytics.worker"])
app.conf.beat_schedule = {"keep-central-figures": every(settings.figures_interval_seconds, "analytics.keep_central_figures")}
_runtime = worker_runtime("analytics", settings)


@app.task(name="analytics.keep_central_figures")
def keep_central_figures_task() -> int:
    """Idempotent: a province unchanged since its stored figures is skipped; returns provinces computed."""
    runtime = _runtime()
    with runtime.db.tx(ALL_TENANTS) as conn:
        return len(figures_keeper.keep(conn, runtime.clock()))
