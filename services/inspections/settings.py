"""Settings of the inspections service, read from INSPECTIONS_* environment variables."""
from __future__ import annotations

from shared.settings import ServiceSettings, service_config


class InspectionsSettings(ServiceSettings):
    model_config = service_config("INSPECTIONS_")
