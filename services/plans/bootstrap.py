"""The composition root of the plans service."""
from __future__ import annotations

from pathlib import Path

from services.plans import api
from services.plans.settings import PlansSettings
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    name="plans",
    settings_cls=PlansSettings,
    migrations=Path(__file__).parent / "migrations",
    create_app=api.create_app,
    consumers={},  # plans is the source of reference data and schedules; it consumes no events
)
