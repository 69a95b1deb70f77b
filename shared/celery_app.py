"""One Celery configuration for every service's workers (settings maintainers warn about, set once)."""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

from celery import Celery

from shared.runtime import Runtime
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
    if settings.redis_url.startswith("redis://"):
        # kombu's transport with a fix for a worker that exits when Redis goes away (shared/celery_redis.py).
        app.conf.broker_transport = "shared.celery_redis:Transport"
    return app


def every(seconds: float, task: str) -> dict:
    """A beat entry running ``task`` every ``seconds``; a run that waited longer than one interval is
    superseded by the next one (each task is idempotent and the next run does the same work)."""
    return {"task": task, "schedule": seconds, "options": {"expires": seconds}}


def worker_runtime(service: str, settings: ServiceSettings) -> Callable[[], Runtime]:
    """The runtime a worker process's tasks share: opened at the first task, in the pool process that
    runs it (not before Celery forks its pool), with a pool of 2 connections."""
    return lru_cache(maxsize=1)(lambda: Runtime.build(service, settings, pool_size=2).open())
