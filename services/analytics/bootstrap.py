"""The composition root of the analytics service."""
from __future__ import annotations

from pathlib import Path

from services.analytics import api, events
from services.analytics.settings import AnalyticsSettings
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="analytics",
    settings_cls=AnalyticsSettings,
    migrations=Path(__file__).parent / "migrations",
    create_app=api.create_app,
    consumers={"main": events.handlers},
    celery="services.analytics.worker:app",
)
