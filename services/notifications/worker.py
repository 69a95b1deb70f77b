"""Celery for the notifications service: the delivery task, the beat sweeper, and the dispatcher.

    celery -A services.notifications.worker:app worker     # sends (and runs the dispatcher)
    celery -A services.notifications.worker:app beat       # exactly one: the sweeper's clock

The dispatcher LISTENs for committed pending deliveries and enqueues their task at once (after commit,
by construction of NOTIFY); the beat sweeper re-enqueues whatever a lost Redis message or a dead worker
left behind, so Redis holds nothing that PostgreSQL does not also know.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Callable

import psycopg
from celery import Celery, bootsteps

from services.notifications.delivery import Deliverer
from services.notifications.settings import NotificationsSettings
from shared.celery_app import make_celery
from shared.runtime import Runtime

log = logging.getLogger(__name__)

DELIVER = "notifications.deliver"
SWEEP = "notifications.sweep"
DISPATCH_LOCK = 727101


class Dispatcher:
    """Enqueues a delivery task for each committed pending delivery (one leader per database)."""

    def __init__(self, url: str, enqueue: Callable[[str, str, float], None]):
        self.url = url
        self.enqueue = enqueue

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: hold the advisory lock, LISTEN, enqueue; reconnect after database outages."""
        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    while not stop.is_set() and not conn.execute("SELECT pg_try_advisory_lock(%s)", [DISPATCH_LOCK]).fetchone()[0]:
                        stop.wait(2.0)  # another dispatcher leads; the sweeper covers the gap if it dies
                    conn.execute("LISTEN notification_deliveries")
                    while not stop.is_set():
                        # Leave the notifies() generator before using the connection again.
                        for note in list(conn.notifies(timeout=0.5, stop_after=1)):
                            item = json.loads(note.payload)
                            self.enqueue(item["tenant"], item["id"], 0)
                            conn.execute("UPDATE deliveries SET enqueued_at = now() WHERE id = %s AND enqueued_at IS NULL",
                                         [item["id"]])
            except psycopg.OperationalError as exc:
                log.warning("dispatcher lost its database; retrying", extra={"fields": {"error": str(exc)}})
                stop.wait(1.0)
            except Exception:  # Redis away: the sweeper re-enqueues later; keep listening
                log.exception("dispatcher failed to enqueue; retrying")
                stop.wait(1.0)


class DispatcherStep(bootsteps.StartStopStep):
    """Runs the dispatcher in a thread of the worker's main process."""

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.halt = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, worker):
        app = worker.app
        dispatcher = Dispatcher(app.conf.notifications_database_url, app.notifications_enqueue)
        self.thread = threading.Thread(target=dispatcher.run, args=(self.halt,), daemon=True, name="dispatcher")
        self.thread.start()

    def stop(self, worker):
        self.halt.set()
        if self.thread is not None:
            self.thread.join(5)


def create_celery(settings: NotificationsSettings, runtime: Runtime | None = None, *,
                  deliverer_factory: Callable[[Runtime, Callable], Deliverer] | None = None) -> Celery:
    """A Celery app whose tasks use ``runtime`` (built and opened lazily in the worker when omitted)."""
    app = make_celery("notifications", settings, include=[])
    holder: dict[str, object] = {"runtime": runtime}

    def get_runtime() -> Runtime:
        if holder["runtime"] is None:
            from services.notifications.bootstrap import SERVICE

            holder["runtime"] = SERVICE.runtime(settings).open()
        return holder["runtime"]  # type: ignore[return-value]

    def enqueue(tenant: str, delivery_id: str, countdown: float) -> None:
        app.send_task(DELIVER, args=[tenant, delivery_id], countdown=countdown or None)

    def deliverer() -> Deliverer:
        factory = deliverer_factory or (lambda rt, enq: Deliverer(rt, enq))
        return factory(get_runtime(), enqueue)

    @app.task(name=DELIVER, shared=False)
    def deliver(tenant: str, delivery_id: str) -> str:
        return deliverer().deliver(tenant, delivery_id)

    @app.task(name=SWEEP, shared=False)
    def sweep() -> dict:
        return deliverer().sweep()

    app.conf.beat_schedule = {"notifications-sweep": {"task": SWEEP, "schedule": settings.sweep_seconds}}
    app.conf.notifications_database_url = settings.database_url
    app.notifications_enqueue = enqueue
    app.steps["worker"].add(DispatcherStep)
    return app


def _lazy() -> Celery:
    return create_celery(NotificationsSettings())


# The app the celery command loads (settings from NOTIFICATIONS_* variables).
app = _lazy()
