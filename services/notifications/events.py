"""Events the notifications service consumes: handlers run inside the consumer's transaction (inbox + effect).

Handlers only write rows (local copies, timers, pending deliveries, inbox items); the pending
deliveries' NOTIFY reaches the dispatcher at commit, and workers send them.
"""
from __future__ import annotations

from datetime import date
from typing import Callable

import psycopg

from services.notifications import store, timers
from services.notifications.fanout import fan_out
from shared.consumer import Handler
from shared.events import Event
from shared.runtime import Runtime

NOTIFIED_EVENTS = (
    "plan.approved", "inspection.scheduled", "inspection.started", "violation.recorded", "inspection.concluded",
    "remediation.assigned", "remediation.extended", "remediation.reported", "remediation.verified",
    "remediation.overdue",
)


def handlers(runtime: Runtime) -> dict[str, Handler]:
    """{event type: handler} for the consumer group 'main'."""

    def notify(conn: psycopg.Connection, event: Event, *, team_id: str | None = None) -> list[str]:
        d = event.data
        if team_id is None:
            team_id = d.get("team_id") or store.inspection_team(conn, event.tenant, d.get("inspection_id"))
        return fan_out(conn, runtime, tenant=event.tenant, source_id=event.id, source_type=event.type, data=d,
                       unit_id=d.get("unit_id"), team_id=team_id, cloud_event=event.to_record())

    def unit_changed(conn: psycopg.Connection, event: Event) -> None:
        store.upsert_unit(conn, event.tenant, event.data)

    def team_changed(conn: psycopg.Connection, event: Event) -> None:
        store.upsert_team(conn, event.tenant, event.data)

    def inspection_event(conn: psycopg.Connection, event: Event) -> None:
        d = event.data
        store.upsert_inspection(conn, event.tenant, d["inspection_id"], d["unit_id"], d.get("team_id"))
        notify(conn, event)

    def plain(conn: psycopg.Connection, event: Event) -> None:
        notify(conn, event)

    def assigned(conn: psycopg.Connection, event: Event) -> None:
        d = event.data
        store.upsert_remediation(conn, event.tenant, d, d["deadline"])
        timers.schedule_reminders(conn, runtime, event.tenant, d, date.fromisoformat(d["deadline"]))
        notify(conn, event)

    def extended(conn: psycopg.Connection, event: Event) -> None:
        d = event.data
        known = _known_remediation(conn, event)
        store.upsert_remediation(conn, event.tenant, {**d, "kind": None, "text": None}, d["new_deadline"])
        data = {**d, "kind": known["kind"] if known else None, "text": known["text"] if known else None}
        timers.schedule_reminders(conn, runtime, event.tenant, data, date.fromisoformat(d["new_deadline"]))
        notify(conn, event)

    def verified(conn: psycopg.Connection, event: Event) -> None:
        d = event.data
        if d["outcome"] == "accepted":
            _known_remediation(conn, event)
            store.upsert_remediation(conn, event.tenant, d, d["deadline"], status="verified")
            store.cancel_timers(conn, event.tenant, d["remediation_id"])
        notify(conn, event)

    def overdue(conn: psycopg.Connection, event: Event) -> None:
        d = event.data
        known = _known_remediation(conn, event)
        if known and known["status"] == "verified":
            return  # verified after the check ran: nobody is chased for a settled remediation
        store.upsert_remediation(conn, event.tenant, d, d["deadline"])
        notify(conn, event)  # team leader and subscribers hear of the event itself
        timers.start_escalation(conn, runtime, event.tenant, d)

    table: dict[str, Callable[[psycopg.Connection, Event], None]] = {
        "unit.changed": unit_changed,
        "team.changed": team_changed,
        "inspection.scheduled": inspection_event,
        "inspection.started": inspection_event,
        "plan.approved": plain,
        "violation.recorded": plain,
        "inspection.concluded": plain,
        "remediation.assigned": assigned,
        "remediation.extended": extended,
        "remediation.reported": plain,
        "remediation.verified": verified,
        "remediation.overdue": overdue,
    }
    return table


def _known_remediation(conn: psycopg.Connection, event: Event) -> dict | None:
    """The local remediation, refusing an event whose unit or inspection contradicts it."""
    row = store.get_remediation(conn, event.tenant, event.data["remediation_id"])
    if row and (str(row["unit_id"]) != event.data["unit_id"] or str(row["inspection_id"]) != event.data["inspection_id"]):
        raise ValueError(f"remediation {event.data['remediation_id']} belongs to another unit or inspection")
    return row
