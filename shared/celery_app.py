"""One Celery configuration for every service's workers (settings maintainers warn about, set once)."""
from __future__ import annotations

from celery import Celery

from shared.settings import ServiceSettings


def make_celery(service: str, settings: ServiceSettings, include: list[str]) -> Celery:
    app = Celery(service, broker=settings.redis_url, backend=None, include=include)
    app.conf.update(
        task_default_queue=f"{settings.topic_prefix}{service}",
        # Tasks are idempotent (state lives in PostgreSQL), so late acks make a killed worker's task run again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": 3600, "global_keyprefix": f"{settings.topic_prefix}{service}:"},
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        timezone="Asia/Ho_Chi_Minh",
        enable_utc=True,
        worker_hijack_root_logger=False,
    )
    return app
