"""Events the inspections service consumes: handlers run inside the consumer's transaction (inbox + effect)."""
from __future__ import annotations

import logging

import psycopg

from services.inspections import replicas, store
from shared.consumer import Handler
from shared.events import Event
from shared.runtime import Runtime

log = logging.getLogger(__name__)


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """Replicas of the plans service's reference data, and the inspections it schedules or cancels."""

    def on_unit(conn: psycopg.Connection, event: Event) -> None:
        replicas.upsert_unit(conn, event.tenant, event.data)

    def on_team(conn: psycopg.Connection, event: Event) -> None:
        replicas.upsert_team(conn, event.tenant, event.data)

    def on_checklist(conn: psycopg.Connection, event: Event) -> None:
        replicas.upsert_checklist(conn, event.tenant, event.data)

    def on_calendar(conn: psycopg.Connection, event: Event) -> None:
        replicas.upsert_calendar(conn, event.tenant, event.data)

    def on_scheduled(conn: psycopg.Connection, event: Event) -> None:
        store.create_scheduled(conn, event.tenant, event.data, runtime.clock())

    def on_cancelled(conn: psycopg.Connection, event: Event) -> None:
        if not store.cancel(conn, event.tenant, event.data["inspection_id"], event.data["reason"]):
            # Already under way (or unknown): the visit record stands; the plan's change is noted in the log.
            log.warning("inspection.cancelled ignored: inspection not scheduled here",
                        extra={"fields": {"inspection_id": event.data["inspection_id"]}})

    return {
        "unit.changed": on_unit,
        "team.changed": on_team,
        "checklist.published": on_checklist,
        "calendar.changed": on_calendar,
        "inspection.scheduled": on_scheduled,
        "inspection.cancelled": on_cancelled,
    }
