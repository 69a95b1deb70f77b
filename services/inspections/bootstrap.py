"""The composition root of the inspections service."""
from __future__ import annotations

from pathlib import Path

from services.inspections import api, events
from services.inspections.settings import InspectionsSettings
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="inspections",
    settings_cls=InspectionsSettings,
    migrations=Path(__file__).parent / "migrations",
    create_app=api.create_app,
    consumers={"main": events.handlers},
    celery="services.inspections.worker:app",
)
