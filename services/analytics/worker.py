"""Celery worker of the analytics service: beat keeps the central view's figures ready every few seconds.

    celery -A services.analytics.worker worker --beat   (one beat per deployment; a second is harmless)
"""
from __future__ import annotations

from functools import lru_cache

from services.analytics import figures_keeper
from services.analytics.settings import AnalyticsSettings
from shared.celery_app import make_celery
from shared.db import ALL_TENANTS
from shared.runtime import Runtime

settings = AnalyticsSettings()
app = make_celery("analytics", settings, include=["services.analytics.worker"])
app.conf.beat_schedule = {
    "keep-central-figures": {
        "task": "analytics.keep_central_figures",
        "schedule": settings.figures_interval_seconds,
        # A run that waited longer than one interval is superseded by the next one.
        "options": {"expires": settings.figures_interval_seconds},
    },
}


@lru_cache(maxsize=1)
def _runtime() -> Runtime:
    return Runtime.build("analytics", settings, pool_size=2).open()


@app.task(name="analytics.keep_central_figures")
def keep_central_figures_task() -> int:
    """Idempotent: a province unchanged since its stored figures is skipped; returns provinces computed."""
    runtime = _runtime()
    with runtime.db.tx(ALL_TENANTS) as conn:
        return len(figures_keeper.keep(conn, runtime.clock().date()))
