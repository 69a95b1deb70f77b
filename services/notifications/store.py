"""SQL of the notifications service. Every function takes the caller's connection and filters by tenant too."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from services.notifications.domain import Directory, Person, Subscription


# -- local copies of reference data ------------------------------------------------------------------
def upsert_unit(conn: psycopg.Connection, tenant: str, d: dict[str, Any]) -> None:
    """Replace the local copy of a unit; a unit id owned by another tenant makes this raise."""
    row = conn.execute(
        "INSERT INTO units (unit_id, tenant, name, level, kind, parent_id, valid_to, successor_id, contacts) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (unit_id) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level, kind = EXCLUDED.kind, "
        "parent_id = EXCLUDED.parent_id, valid_to = EXCLUDED.valid_to, successor_id = EXCLUDED.successor_id, "
        "contacts = EXCLUDED.contacts, updated_at = now() WHERE units.tenant = EXCLUDED.tenant RETURNING unit_id",
        [d["unit_id"], tenant, d["name"], d["level"], d["kind"], d.get("parent_id"), d.get("valid_to"),
         d.get("successor_id"), Jsonb(d.get("contacts") or [])],
    ).fetchone()
    if row is None:
        raise ValueError(f"unit {d['unit_id']} belongs to another tenant")


def upsert_team(conn: psycopg.Connection, tenant: str, d: dict[str, Any]) -> None:
    """Replace the local copy of a team (its leader is who we tell)."""
    row = conn.execute(
        "INSERT INTO teams (team_id, tenant, name, leader) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (team_id) DO UPDATE SET name = EXCLUDED.name, leader = EXCLUDED.leader, updated_at = now() "
        "WHERE teams.tenant = EXCLUDED.tenant RETURNING team_id",
        [d["team_id"], tenant, d["name"], Jsonb(d["leader"])],
    ).fetchone()
    if row is None:
        raise ValueError(f"team {d['team_id']} belongs to another tenant")


def upsert_inspection(conn: psycopg.Connection, tenant: str, inspection_id: str, unit_id: str,
                      team_id: str | None) -> None:
    """Remember which unit and team an inspection concerns (a known team is never forgotten by a null)."""
    row = conn.execute(
        "INSERT INTO inspections (inspection_id, tenant, unit_id, team_id) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (inspection_id) DO UPDATE SET unit_id = EXCLUDED.unit_id, "
        "team_id = COALESCE(EXCLUDED.team_id, inspections.team_id), updated_at = now() "
        "WHERE inspections.tenant = EXCLUDED.tenant RETURNING inspection_id",
        [inspection_id, tenant, unit_id, team_id],
    ).fetchone()
    if row is None:
        raise ValueError(f"inspection {inspection_id} belongs to another tenant")


def inspection_team(conn: psycopg.Connection, tenant: str, inspection_id: str | None) -> str | None:
    if not inspection_id:
        return None
    row = conn.execute("SELECT team_id::text AS t FROM inspections WHERE tenant = %s AND inspection_id = %s",
                       [tenant, inspection_id]).fetchone()
    return row["t"] if row else None


def upsert_remediation(conn: psycopg.Connection, tenant: str, d: dict[str, Any], deadline: str,
                       status: str = "open") -> None:
    """Keep the remediation's deadline and status (reminders and escalation read them)."""
    row = conn.execute(
        "INSERT INTO remediations (remediation_id, tenant, inspection_id, unit_id, kind, text, deadline, status) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (remediation_id) DO UPDATE SET "
        "deadline = EXCLUDED.deadline, status = EXCLUDED.status, kind = COALESCE(EXCLUDED.kind, remediations.kind), "
        "text = COALESCE(EXCLUDED.text, remediations.text), updated_at = now() "
        "WHERE remediations.tenant = EXCLUDED.tenant RETURNING remediation_id",
        [d["remediation_id"], tenant, d["inspection_id"], d["unit_id"], d.get("kind"), d.get("text"), deadline, status],
    ).fetchone()
    if row is None:
        raise ValueError(f"remediation {d['remediation_id']} belongs to another tenant")


def get_remediation(conn: psycopg.Connection, tenant: str, remediation_id: str) -> dict | None:
    return conn.execute("SELECT * FROM remediations WHERE tenant = %s AND remediation_id = %s",
                        [tenant, remediation_id]).fetchone()


def unit_mailbox(unit_id: str) -> str:
    """In-app address of a unit's head when the contact names no person: whoever holds the post reads it."""
    return f"unit:{unit_id}"


def _contact(contacts: list[dict], role: str, unit_id: str | None = None) -> Person | None:
    for c in contacts:
        if c.get("role") == role:
            return Person(c["name"], c.get("email"), c.get("person_id") or (unit_mailbox(unit_id) if unit_id else None))
    return None


def unit_name(conn: psycopg.Connection, tenant: str, unit_id: str | None) -> str | None:
    if not unit_id:
        return None
    row = conn.execute("SELECT name FROM units WHERE tenant = %s AND unit_id = %s", [tenant, unit_id]).fetchone()
    return row["name"] if row else None


def load_directory(conn: psycopg.Connection, tenant: str, *, unit_id: str | None, team_id: str | None,
                   home_affairs: dict | None, event_type: str | None) -> tuple[Directory, dict[str, str | None]]:
    """The people concerned by an event, plus names for templates (unit and team)."""
    directory = Directory()
    names: dict[str, str | None] = {"unit_name": None, "team_name": None}
    if unit_id:
        unit = conn.execute("SELECT name, contacts FROM units WHERE tenant = %s AND unit_id = %s",
                            [tenant, unit_id]).fetchone()
        if unit:
            names["unit_name"] = unit["name"]
            directory.unit_head = _contact(unit["contacts"], "head", unit_id) or Person(unit["name"], None, unit_mailbox(unit_id))
            directory.unit_deputy = _contact(unit["contacts"], "deputy")
            directory.unit_office = _contact(unit["contacts"], "office")
    if team_id:
        team = conn.execute("SELECT name, leader FROM teams WHERE tenant = %s AND team_id = %s",
                            [tenant, team_id]).fetchone()
        if team:
            names["team_name"] = team["name"]
            leader = team["leader"]
            directory.team_leader = Person(leader["name"], leader.get("email"), leader.get("person_id"))
    # The chairman heads the province-level unit: the current root of this tenant's tree.
    root = conn.execute(
        "SELECT contacts FROM units WHERE tenant = %s AND parent_id IS NULL AND valid_to IS NULL "
        "ORDER BY level, updated_at DESC LIMIT 1", [tenant]).fetchone()
    if root:
        directory.chairman = _contact(root["contacts"], "head")
    if home_affairs:
        directory.home_affairs = Person(home_affairs.get("name") or "Sở Nội vụ", home_affairs.get("email"),
                                        home_affairs.get("person_id"))
    if event_type:
        directory.webhooks = [
            Subscription(str(r["id"]), r["url"], tuple(r["event_types"]))
            for r in conn.execute(
                "SELECT id, url, event_types FROM webhooks WHERE tenant = %s AND active AND deleted_at IS NULL "
                "AND (%s = ANY(event_types) OR '*' = ANY(event_types)) ORDER BY created_at",
                [tenant, event_type]).fetchall()
        ]
    return directory, names


# -- tenant settings, rules, templates ----------------------------------------------------------------
def get_tenant_settings(conn: psycopg.Connection, tenant: str) -> dict | None:
    return conn.execute("SELECT * FROM tenant_settings WHERE tenant = %s", [tenant]).fetchone()


def put_tenant_settings(conn: psycopg.Connection, tenant: str, *, home_affairs: dict | None,
                        reminder_days: list[int] | None, escalation: list | None, by: str,
                        if_version: int | None) -> dict | None:
    """Upsert; returns None when ``if_version`` does not match the stored version."""
    current = get_tenant_settings(conn, tenant)
    if if_version is not None and (current["version"] if current else 0) != if_version:
        return None
    return conn.execute(
        "INSERT INTO tenant_settings (tenant, home_affairs, reminder_days, escalation, updated_by) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant) DO UPDATE SET home_affairs = EXCLUDED.home_affairs, "
        "reminder_days = EXCLUDED.reminder_days, escalation = EXCLUDED.escalation, updated_by = EXCLUDED.updated_by, "
        "version = tenant_settings.version + 1, updated_at = now() RETURNING *",
        [tenant, Jsonb(home_affairs) if home_affairs is not None else None, reminder_days,
         Jsonb(escalation) if escalation is not None else None, by],
    ).fetchone()


def get_rules(conn: psycopg.Connection, tenant: str) -> dict | None:
    return conn.execute("SELECT rules, version, updated_at, updated_by FROM routing_rules WHERE tenant = %s",
                        [tenant]).fetchone()


def put_rules(conn: psycopg.Connection, tenant: str, rules: dict, by: str, if_version: int | None) -> dict | None:
    current = get_rules(conn, tenant)
    if if_version is not None and (current["version"] if current else 0) != if_version:
        return None
    return conn.execute(
        "INSERT INTO routing_rules (tenant, rules, updated_by) VALUES (%s, %s, %s) ON CONFLICT (tenant) DO UPDATE "
        "SET rules = EXCLUDED.rules, updated_by = EXCLUDED.updated_by, version = routing_rules.version + 1, "
        "updated_at = now() RETURNING rules, version, updated_at, updated_by",
        [tenant, Jsonb(rules), by],
    ).fetchone()


def get_template(conn: psycopg.Connection, tenant: str, event_type: str, channel: str) -> dict | None:
    return conn.execute("SELECT source, version, updated_at, updated_by FROM templates "
                        "WHERE tenant = %s AND event_type = %s AND channel = %s",
                        [tenant, event_type, channel]).fetchone()


def put_template(conn: psycopg.Connection, tenant: str, event_type: str, channel: str, source: str, by: str) -> dict:
    return conn.execute(
        "INSERT INTO templates (tenant, event_type, channel, source, updated_by) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (tenant, event_type, channel) DO UPDATE SET source = EXCLUDED.source, "
        "updated_by = EXCLUDED.updated_by, version = templates.version + 1, updated_at = now() "
        "RETURNING source, version, updated_at, updated_by",
        [tenant, event_type, channel, source, by],
    ).fetchone()


def delete_template(conn: psycopg.Connection, tenant: str, event_type: str, channel: str) -> bool:
    return conn.execute("DELETE FROM templates WHERE tenant = %s AND event_type = %s AND channel = %s",
                        [tenant, event_type, channel]).rowcount > 0


# -- webhooks -----------------------------------------------------------------------------------------
WEBHOOK_COLUMNS = ("id::text AS id, url, event_types, description, owner_sub, owner_email, active, "
                   "consecutive_failures, disabled_at, disabled_reason, created_at")


def create_webhook(conn: psycopg.Connection, tenant: str, *, url: str, event_types: list[str], secret: str,
                   description: str | None, owner_sub: str, owner_email: str | None) -> dict:
    """A subscription; its secret goes to a table the audit trail does not copy."""
    row = conn.execute(
        f"INSERT INTO webhooks (id, tenant, url, event_types, description, owner_sub, owner_email) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {WEBHOOK_COLUMNS}",
        [uuid.uuid4(), tenant, url, event_types, description, owner_sub, owner_email],
    ).fetchone()
    conn.execute("INSERT INTO webhook_secrets (webhook_id, tenant, secret) VALUES (%s, %s, %s)",
                 [row["id"], tenant, secret])
    return row


def list_webhooks(conn: psycopg.Connection, tenant: str, owner_sub: str | None) -> list[dict]:
    return conn.execute(
        f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE tenant = %s AND deleted_at IS NULL "
        "AND (%s::text IS NULL OR owner_sub = %s) ORDER BY created_at",
        [tenant, owner_sub, owner_sub]).fetchall()


def get_webhook(conn: psycopg.Connection, tenant: str, webhook_id: str, owner_sub: str | None,
                *, for_update: bool = False) -> dict | None:
    return conn.execute(
        f"SELECT {WEBHOOK_COLUMNS}, (SELECT secret FROM webhook_secrets s WHERE s.webhook_id = webhooks.id "
        "AND s.tenant = webhooks.tenant) AS secret FROM webhooks WHERE tenant = %s AND id = %s AND deleted_at IS NULL "
        "AND (%s::text IS NULL OR owner_sub = %s)" + (" FOR UPDATE" if for_update else ""),
        [tenant, webhook_id, owner_sub, owner_sub]).fetchone()


def delete_webhook(conn: psycopg.Connection, tenant: str, webhook_id: str) -> None:
    """Soft delete (the delivery log stays readable to operators); pending deliveries are cancelled."""
    conn.execute("UPDATE webhooks SET deleted_at = now(), active = false WHERE tenant = %s AND id = %s",
                 [tenant, webhook_id])
    cancel_subscription_deliveries(conn, tenant, webhook_id, "subscription deleted")


def cancel_subscription_deliveries(conn: psycopg.Connection, tenant: str, webhook_id: str, reason: str) -> int:
    return conn.execute(
        "UPDATE deliveries SET state = 'cancelled', last_error = %s, updated_at = now() "
        "WHERE tenant = %s AND subscription_id = %s AND state = 'pending'", [reason, tenant, webhook_id]).rowcount


def webhook_attempts(conn: psycopg.Connection, tenant: str, webhook_id: str, limit: int, before: int | None) -> list[dict]:
    return conn.execute(
        "SELECT id, delivery_id::text AS delivery_id, event_id::text AS event_id, event_type, attempt, status_code, ok, "
        "error, duration_ms, at FROM webhook_attempts WHERE tenant = %s AND subscription_id = %s "
        "AND (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
        [tenant, webhook_id, before, before, limit]).fetchall()


def record_attempt(conn: psycopg.Connection, delivery: dict, *, ok: bool, status_code: int | None,
                   error: str | None, duration_ms: int) -> None:
    conn.execute(
        "INSERT INTO webhook_attempts (tenant, subscription_id, delivery_id, event_id, event_type, attempt, "
        "status_code, ok, error, duration_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [delivery["tenant"], delivery["subscription_id"], delivery["id"], delivery["source_id"],
         delivery["source_type"], delivery["attempts"], status_code, ok, (error or "")[:2000] or None, duration_ms])


# -- deliveries ---------------------------------------------------------------------------------------
def insert_delivery(conn: psycopg.Connection, *, tenant: str, key: str, source_id: str, source_type: str,
                    channel: str, recipient: str, recipient_name: str | None, role: str | None,
                    subscription_id: str | None = None, subject: str | None = None, body_text: str | None = None,
                    body_html: str | None = None, payload: dict | None = None, message_id_domain: str = "",
                    state: str = "pending") -> str | None:
    """Insert one delivery; None when its idempotency key exists already (the same event seen again)."""
    delivery_id = uuid.uuid4()
    # Decided before any attempt, so a resend after a crash carries the same Message-ID.
    message_id = f"<{delivery_id}@{message_id_domain}>" if channel == "email" else None
    row = conn.execute(
        "INSERT INTO deliveries (id, tenant, idempotency_key, source_id, source_type, channel, recipient, "
        "recipient_name, role, subscription_id, subject, body_text, body_html, payload, message_id, state, sent_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "CASE WHEN %s = 'sent' THEN now() END) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id::text AS id",
        [delivery_id, tenant, key, source_id, source_type, channel, recipient, recipient_name, role, subscription_id,
         subject, body_text, body_html, Jsonb(payload) if payload is not None else None, message_id, state, state],
    ).fetchone()
    return row["id"] if row else None


def list_deliveries(conn: psycopg.Connection, tenant: str, *, state: str | None, source_id: str | None,
                    limit: int, before: str | None) -> list[dict]:
    """Deliveries newest first (without bodies), for the province's administrators."""
    return conn.execute(
        "SELECT id::text AS id, source_id::text AS source_id, source_type, channel, recipient, role, state, attempts, "
        "last_error, created_at, sent_at, next_attempt_at FROM deliveries WHERE tenant = %s "
        "AND (%s::text IS NULL OR state = %s) AND (%s::uuid IS NULL OR source_id = %s::uuid) "
        "AND (%s::timestamptz IS NULL OR created_at < %s::timestamptz) ORDER BY created_at DESC, id LIMIT %s",
        [tenant, state, state, source_id, source_id, before, before, limit]).fetchall()


def get_delivery(conn: psycopg.Connection, delivery_id: str) -> dict | None:
    return conn.execute("SELECT * FROM deliveries WHERE id = %s", [delivery_id]).fetchone()


def claim(conn: psycopg.Connection, delivery_id: str, lease_seconds: float) -> dict | None:
    """pending → sending with a lease, counting the attempt; None if it is not ours to send now."""
    return conn.execute(
        "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, lease_until = now() + make_interval(secs => %s), "
        "updated_at = now() WHERE id = (SELECT id FROM deliveries WHERE id = %s AND state = 'pending' "
        "AND next_attempt_at <= now() FOR UPDATE SKIP LOCKED) RETURNING *",
        [lease_seconds, delivery_id],
    ).fetchone()


def mark_sent(conn: psycopg.Connection, delivery_id: str) -> dict | None:
    return conn.execute(
        "UPDATE deliveries SET state = 'sent', sent_at = now(), lease_until = NULL, last_error = NULL, updated_at = now() "
        "WHERE id = %s AND state = 'sending' RETURNING *", [delivery_id]).fetchone()


def mark_retry(conn: psycopg.Connection, delivery_id: str, error: str, delay_seconds: float) -> dict | None:
    return conn.execute(
        "UPDATE deliveries SET state = 'pending', lease_until = NULL, last_error = %s, "
        "next_attempt_at = now() + make_interval(secs => %s), enqueued_at = now() + make_interval(secs => %s), "
        "updated_at = now() WHERE id = %s AND state = 'sending' RETURNING *",
        [error[:4000], delay_seconds, delay_seconds, delivery_id]).fetchone()


def mark_failed(conn: psycopg.Connection, delivery_id: str, error: str, *, from_states=("sending",)) -> dict | None:
    return conn.execute(
        "UPDATE deliveries SET state = 'failed', lease_until = NULL, last_error = %s, updated_at = now() "
        "WHERE id = %s AND state = ANY(%s) RETURNING *", [error[:4000], delivery_id, list(from_states)]).fetchone()


def due_for_enqueue(conn: psycopg.Connection, requeue_after: float, limit: int = 500) -> list[str]:
    """Pending deliveries never enqueued or enqueued long ago (a lost Redis message); marks them enqueued."""
    rows = conn.execute(
        "UPDATE deliveries SET enqueued_at = now() WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' "
        "AND next_attempt_at <= now() AND (enqueued_at IS NULL OR enqueued_at < now() - make_interval(secs => %s)) "
        "ORDER BY next_attempt_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id::text AS id",
        [requeue_after, limit]).fetchall()
    return [r["id"] for r in rows]


def stale_sending(conn: psycopg.Connection, limit: int = 500) -> list[dict]:
    """Claimed deliveries whose lease ran out: their worker died somewhere around the send."""
    return conn.execute(
        "SELECT * FROM deliveries WHERE state = 'sending' AND lease_until < now() ORDER BY lease_until LIMIT %s "
        "FOR UPDATE SKIP LOCKED", [limit]).fetchall()


def release_stale(conn: psycopg.Connection, delivery_id: str) -> None:
    conn.execute("UPDATE deliveries SET state = 'pending', lease_until = NULL, next_attempt_at = now(), "
                 "enqueued_at = NULL, last_error = 'worker lost during send; sent again', updated_at = now() "
                 "WHERE id = %s AND state = 'sending'", [delivery_id])


def mark_enqueued(conn: psycopg.Connection, ids: list[str]) -> None:
    if ids:
        conn.execute("UPDATE deliveries SET enqueued_at = now() WHERE id = ANY(%s::uuid[])", [ids])


def webhook_result(conn: psycopg.Connection, tenant: str, webhook_id: str, ok: bool) -> dict | None:
    """Reset or count consecutive failures of a subscription; returns its row after the change."""
    if ok:
        return conn.execute("UPDATE webhooks SET consecutive_failures = 0 WHERE tenant = %s AND id = %s "
                            f"RETURNING {WEBHOOK_COLUMNS}", [tenant, webhook_id]).fetchone()
    return conn.execute("UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE tenant = %s AND id = %s "
                        f"RETURNING {WEBHOOK_COLUMNS}", [tenant, webhook_id]).fetchone()


def disable_webhook(conn: psycopg.Connection, tenant: str, webhook_id: str, reason: str) -> bool:
    """Active → disabled once; True only for the call that disabled it."""
    return conn.execute("UPDATE webhooks SET active = false, disabled_at = now(), disabled_reason = %s "
                        "WHERE tenant = %s AND id = %s AND active", [reason, tenant, webhook_id]).rowcount > 0


# -- inbox --------------------------------------------------------------------------------------------
def add_inbox_item(conn: psycopg.Connection, *, tenant: str, user_sub: str, event_type: str, title: str, body: str,
                   source_id: str, delivery_id: str) -> None:
    conn.execute("INSERT INTO inbox_items (id, tenant, user_sub, event_type, title, body, source_id, delivery_id) "
                 "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (delivery_id) DO NOTHING",
                 [uuid.uuid4(), tenant, user_sub, event_type, title, body, source_id, delivery_id])


def inbox_page(conn: psycopg.Connection, tenant: str, user_sub: list[str], *, limit: int, offset: int,
               unread_only: bool) -> tuple[list[dict], int]:
    """``user_sub``: the addresses the reader answers for (their own, and their unit's mailbox)."""
    where = "tenant = %s AND user_sub = ANY(%s)" + (" AND read_at IS NULL" if unread_only else "")
    total = conn.execute(f"SELECT count(*) AS n FROM inbox_items WHERE {where}", [tenant, user_sub]).fetchone()["n"]
    rows = conn.execute(
        f"SELECT id::text AS id, event_type, title, body, source_id::text AS source_id, created_at, read_at "
        f"FROM inbox_items WHERE {where} ORDER BY created_at DESC, id LIMIT %s OFFSET %s",
        [tenant, user_sub, limit, offset]).fetchall()
    return rows, total


def unread_count(conn: psycopg.Connection, tenant: str, user_sub: list[str]) -> int:
    return conn.execute("SELECT count(*) AS n FROM inbox_items WHERE tenant = %s AND user_sub = ANY(%s) AND read_at IS NULL",
                        [tenant, user_sub]).fetchone()["n"]


def mark_read(conn: psycopg.Connection, tenant: str, user_sub: list[str], item_id: str) -> dict | None:
    return conn.execute(
        "UPDATE inbox_items SET read_at = COALESCE(read_at, now()) WHERE tenant = %s AND user_sub = ANY(%s) AND id = %s "
        "RETURNING id::text AS id, event_type, title, body, source_id::text AS source_id, created_at, read_at",
        [tenant, user_sub, item_id]).fetchone()


# -- timers: reminders and escalation steps -----------------------------------------------------------
def add_timer(conn: psycopg.Connection, tenant: str, remediation_id: str, deadline: date, kind: str, seq: int,
              due_on: date, roles: list[str], payload: dict) -> None:
    conn.execute(
        "INSERT INTO timers (tenant, remediation_id, deadline, kind, seq, due_on, roles, payload) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        [tenant, remediation_id, deadline, kind, seq, due_on, roles, Jsonb(payload)])


def cancel_timers(conn: psycopg.Connection, tenant: str, remediation_id: str, kind: str | None = None,
                  except_deadline: date | None = None) -> int:
    """Cancel scheduled timers of a remediation (all, or those of deadlines other than ``except_deadline``)."""
    return conn.execute(
        "UPDATE timers SET state = 'cancelled' WHERE tenant = %s AND remediation_id = %s AND state = 'scheduled' "
        "AND (%s::text IS NULL OR kind = %s) AND (%s::date IS NULL OR deadline <> %s)",
        [tenant, remediation_id, kind, kind, except_deadline, except_deadline]).rowcount


def due_timers(conn: psycopg.Connection, today: date, limit: int = 500) -> list[dict]:
    return conn.execute(
        "SELECT * FROM timers WHERE state = 'scheduled' AND due_on <= %s ORDER BY due_on LIMIT %s FOR UPDATE SKIP LOCKED",
        [today, limit]).fetchall()


def fire_timer(conn: psycopg.Connection, timer: dict) -> None:
    conn.execute("UPDATE timers SET state = 'fired', fired_at = now() WHERE remediation_id = %s AND deadline = %s "
                 "AND kind = %s AND seq = %s", [timer["remediation_id"], timer["deadline"], timer["kind"], timer["seq"]])


def timers_of(conn: psycopg.Connection, tenant: str, remediation_id: str) -> list[dict]:
    return conn.execute("SELECT kind, seq, deadline, due_on, roles, state FROM timers WHERE tenant = %s "
                        "AND remediation_id = %s ORDER BY kind, deadline, seq", [tenant, remediation_id]).fetchall()


def to_json(value: Any) -> Any:
    """Rows → JSON-able values (dates as ISO text)."""
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, (date, datetime)) else str(v)))
