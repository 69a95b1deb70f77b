"""The composition root of the notifications service."""
from __future__ import annotations

from pathlib import Path

from services.notifications import api, events
from services.notifications.settings import NotificationsSettings
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="notifications",
    settings_cls=NotificationsSettings,
    migrations=Path(__file__).parent / "migrations",
    create_app=api.create_app,
    consumers={"main": events.handlers},
    celery="services.notifications.worker:app",
)
