"""Settings of the analytics service, read from ANALYTICS_* environment variables."""
from __future__ import annotations

from shared.settings import ServiceSettings, service_config


class AnalyticsSettings(ServiceSettings):
    model_config = service_config("ANALYTICS_")
