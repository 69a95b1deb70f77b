"""Settings of the notifications service, read from NOTIFICATIONS_* environment variables."""
from __future__ import annotations

from shared.settings import ServiceSettings, service_config


class NotificationsSettings(ServiceSettings):
    model_config = service_config("NOTIFICATIONS_")
