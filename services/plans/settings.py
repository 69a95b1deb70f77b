"""Settings of the plans service, read from PLANS_* environment variables."""
from __future__ import annotations

from shared.settings import ServiceSettings, service_config


class PlansSettings(ServiceSettings):
    model_config = service_config("PLANS_")
