"""Reminders before a remediation deadline and escalation steps after it: scheduled as rows, fired when due."""
from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from services.notifications import domain, store
from services.notifications.fanout import fan_out, tenant_config
from shared.runtime import Runtime

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def today(runtime: Runtime) -> date:
    """Deadlines are Vietnamese calendar days."""
    return runtime.clock().astimezone(VIETNAM).date()


def schedule_reminders(conn: psycopg.Connection, runtime: Runtime, tenant: str, data: dict[str, Any],
                       deadline: date) -> int:
    """Reminders for this deadline (those of any earlier deadline are cancelled); returns how many."""
    store.cancel_timers(conn, tenant, data["remediation_id"], except_deadline=deadline)
    offsets = tenant_config(conn, runtime, tenant)["reminder_days"]
    payload = {k: data.get(k) for k in ("remediation_id", "inspection_id", "unit_id", "kind", "text")}
    payload["deadline"] = deadline.isoformat()
    schedule = domain.reminder_schedule(deadline, offsets, today(runtime))
    for offset, due_on in schedule:
        store.add_timer(conn, tenant, data["remediation_id"], deadline, "reminder", offset, due_on, [], payload)
    return len(schedule)


def start_escalation(conn: psycopg.Connection, runtime: Runtime, tenant: str, data: dict[str, Any]) -> list[str]:
    """Schedule the chain for this overdue deadline and fire the steps already due; returns pending ids."""
    deadline = date.fromisoformat(data["deadline"])
    store.cancel_timers(conn, tenant, data["remediation_id"], kind="reminder")
    chain = tenant_config(conn, runtime, tenant)["escalation"]
    payload = {k: data.get(k) for k in ("remediation_id", "inspection_id", "unit_id", "deadline")}
    for step, due_on, roles in domain.escalation_schedule(deadline, chain):
        store.add_timer(conn, tenant, data["remediation_id"], deadline, "escalation", step, due_on, roles, payload)
    return fire_due(conn, runtime, tenant=tenant, remediation_id=data["remediation_id"])


def fire_due(conn: psycopg.Connection, runtime: Runtime, *, tenant: str | None = None,
             remediation_id: str | None = None) -> list[str]:
    """Turn due timers into deliveries (once each: the timer row and the idempotency key both say so)."""
    day = today(runtime)
    pending: list[str] = []
    due = [t for t in store.due_timers(conn, day)
           if not (tenant and t["tenant"] != tenant) and not (remediation_id and str(t["remediation_id"]) != remediation_id)]
    # After an outage several reminders of one deadline may be due at once: only the nearest is sent.
    nearest: dict[tuple, int] = {}
    for t in due:
        if t["kind"] == "reminder":
            k = (t["remediation_id"], t["deadline"])
            nearest[k] = min(nearest.get(k, t["seq"]), t["seq"])
    for timer in due:
        store.fire_timer(conn, timer)
        if timer["kind"] == "reminder" and nearest[(timer["remediation_id"], timer["deadline"])] != timer["seq"]:
            continue
        remediation = store.get_remediation(conn, timer["tenant"], str(timer["remediation_id"]))
        if remediation and (remediation["status"] == "verified" or remediation["deadline"] != timer["deadline"]):
            continue  # settled or moved since it was scheduled
        pending += _fire(conn, runtime, timer, day)
    return pending


def _fire(conn: psycopg.Connection, runtime: Runtime, timer: dict, day: date) -> list[str]:
    t, p = timer["tenant"], dict(timer["payload"])
    team_id = store.inspection_team(conn, t, p.get("inspection_id"))
    if timer["kind"] == "reminder":
        source = domain.reminder_source_id(t, p["remediation_id"], timer["deadline"], timer["seq"])
        return fan_out(conn, runtime, tenant=t, source_id=source, source_type="remediation.reminder", data=p,
                       unit_id=p["unit_id"], team_id=team_id,
                       extra={"days_left": (timer["deadline"] - day).days})
    source = domain.escalation_source_id(t, p["remediation_id"], timer["deadline"], timer["seq"])
    p["days_overdue"] = max(1, (day - timer["deadline"]).days)
    return fan_out(conn, runtime, tenant=t, source_id=source, source_type="remediation.overdue", data=p,
                   unit_id=p["unit_id"], team_id=team_id, escalation_roles=timer["roles"], only_escalation=True,
                   extra={"step": timer["seq"]})
