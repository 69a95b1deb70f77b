"""SQL for inspections: client-id resends, creation (scheduled or surprise), lifecycle, citizen replies."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Awaitable, Callable

import psycopg

from services.inspections import domain
from shared.db import ALL_TENANTS
from shared.errors import Conflict, NotFound
from shared.outbox import Outbox


def tenant_filter(tenant: str, column: str = "tenant") -> tuple[str, list[str]]:
    """SQL and params restricting to one tenant, or to none for central readers ('*')."""
    if tenant == ALL_TENANTS:
        return "TRUE", []
    return f"{column} = %s", [tenant]


def claim_client_id(conn: psycopg.Connection, tenant: str, kind: str, record_id: str, payload: Any) -> bool:
    """True for a new id; False for a resend of the same request; Conflict for the same id with another body.

    The row is inserted first: a concurrent resend waits on the key until this transaction ends.
    """
    return send_claim(conn, tenant, kind, record_id, payload)()


_CLAIM = "INSERT INTO client_ids (kind, id, tenant, fingerprint) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1"
# A statement of its own: it must see the row of a concurrent claim that committed meanwhile.
_CLAIMED = "SELECT fingerprint FROM client_ids WHERE kind = %s AND id = %s AND tenant = %s"


def send_claim(conn: psycopg.Connection, tenant: str, kind: str, record_id: str, payload: Any) -> Callable[[], bool]:
    """Send the claim of :func:`claim_client_id` and return what reads its outcome, so that in a pipeline
    the claim shares its round trip with the statements sent after it."""
    fp = domain.fingerprint(payload)
    inserted = conn.execute(_CLAIM, [kind, record_id, tenant, fp])

    def outcome() -> bool:
        if inserted.fetchone():
            return True
        return _resent(conn.execute(_CLAIMED, [kind, record_id, tenant]).fetchone(), fp, kind, record_id)
    return outcome


async def asend_claim(conn: psycopg.AsyncConnection, tenant: str, kind: str, record_id: str,
                      payload: Any) -> Callable[[], Awaitable[bool]]:
    """:func:`send_claim` in a transaction on the event loop (``Database.atx``)."""
    fp = domain.fingerprint(payload)
    inserted = await conn.execute(_CLAIM, [kind, record_id, tenant, fp])

    async def outcome() -> bool:
        if await inserted.fetchone():
            return True
        return _resent(await (await conn.execute(_CLAIMED, [kind, record_id, tenant])).fetchone(), fp, kind, record_id)
    return outcome


def _resent(claimed: dict[str, Any] | None, fp: str, kind: str, record_id: str) -> bool:
    """False (a resend) when the id was claimed with the same content; Conflict otherwise."""
    if claimed is None or claimed["fingerprint"] != fp:
        raise Conflict(f"{kind} {record_id} already exists with different content", field="body.id")
    return False


def get(conn: psycopg.Connection, tenant: str, inspection_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    where, params = tenant_filter(tenant)
    return conn.execute(f"SELECT * FROM inspections WHERE id = %s AND {where}{' FOR UPDATE' if lock else ''}",
                        [inspection_id, *params]).fetchone()


def require(conn: psycopg.Connection, tenant: str, inspection_id: str, *, lock: bool = False) -> dict[str, Any]:
    row = get(conn, tenant, inspection_id, lock=lock)
    if row is None:
        raise NotFound("inspection not found")
    return row


def list_(conn: psycopg.Connection, tenant: str, *, unit_id: str | None, unit_only: str | None, status: str | None,
          limit: int, offset: int) -> list[dict[str, Any]]:
    """Inspections, newest first; ``unit_only`` limits a unit head to its unit and hides embargoed ones."""
    where, params = tenant_filter(tenant)
    clauses = [where]
    for column, value in (("unit_id", unit_id), ("status", status), ("unit_id", unit_only)):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if unit_only is not None:
        clauses.append("NOT (surprise AND status = 'scheduled')")
    return conn.execute(f"SELECT * FROM inspections WHERE {' AND '.join(clauses)} ORDER BY created_at DESC, id "
                        "LIMIT %s OFFSET %s", [*params, limit, offset]).fetchall()


def create_scheduled(conn: psycopg.Connection, tenant: str, d: dict[str, Any], now: datetime) -> bool:
    """Create from inspection.scheduled; a redelivered or replayed event changes nothing."""
    row = conn.execute("SELECT tenant FROM inspections WHERE id = %s", [d["inspection_id"]]).fetchone()
    if row is not None:
        if row["tenant"] != tenant:
            raise ValueError(f"inspection {d['inspection_id']} belongs to another tenant")
        return False
    conn.execute(
        "INSERT INTO inspections (id, tenant, unit_id, plan_id, plan_version, year, form, surprise, team_id, checklist_id, "
        "checklist_version, window_start, window_end, status, created_by, created_at) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,'scheduled','plans',%s)",
        [d["inspection_id"], tenant, d["unit_id"], d["plan_id"], d["plan_version"], d["year"], d["form"],
         d["form"] == "surprise", d.get("team_id"), d.get("checklist_id"), d.get("checklist_version"),
         d["window_start"], d["window_end"], now],
    )
    return True


def cancel(conn: psycopg.Connection, tenant: str, inspection_id: str, reason: str) -> bool:
    """Cancel a not-yet-started inspection; one already under way is left as it is (False)."""
    row = get(conn, tenant, inspection_id, lock=True)
    if row is None or row["status"] != domain.SCHEDULED:
        return False
    conn.execute("UPDATE inspections SET status = %s, cancel_reason = %s WHERE id = %s",
                 [domain.next_status(row["status"], "cancel"), reason, inspection_id])
    return True


def create_surprise(conn: psycopg.Connection, tenant: str, d: dict[str, Any], *, by: str, now: datetime) -> None:
    """A surprise inspection: stored only; no event leaves the service before it starts (embargo)."""
    conn.execute(
        "INSERT INTO inspections (id, tenant, unit_id, year, form, surprise, reason, citizen_report_ref, citizen_contact, "
        "team_id, checklist_id, checklist_version, status, created_by, created_at) "
        "VALUES (%s,%s,%s,%s,'surprise',true,%s,%s,%s,%s,%s,%s,'scheduled',%s,%s)",
        [d["id"], tenant, d["unit_id"], domain.local_date(now).year, d["reason"], d.get("citizen_report_ref"),
         d.get("citizen_contact"), d.get("team_id"), d.get("checklist_id"), d.get("checklist_version"), by, now],
    )


def transition(conn: psycopg.Connection, row: dict[str, Any], action: str) -> str:
    """Move the inspection on; 409 naming the reason when the lifecycle forbids it."""
    try:
        status = domain.next_status(row["status"], action)
    except domain.IllegalTransition as exc:
        raise Conflict(str(exc), current_status=row["status"]) from None
    return status


def start(conn: psycopg.Connection, outbox: Outbox, tenant: str, inspection_id: str, now: datetime) -> dict[str, Any]:
    """Start the visit and announce it; for a surprise inspection this lifts the embargo."""
    row = require(conn, tenant, inspection_id, lock=True)
    status = transition(conn, row, "start")
    conn.execute("UPDATE inspections SET status = %s, started_at = %s WHERE id = %s", [status, now, inspection_id])
    outbox.add(conn, "inspection.started", tenant=tenant, data={
        "inspection_id": str(row["id"]), "unit_id": str(row["unit_id"]),
        "plan_id": str(row["plan_id"]) if row["plan_id"] else None,
        "team_id": str(row["team_id"]) if row["team_id"] else None,
        "form": row["form"], "surprise": row["surprise"], "reason": row["reason"], "started_at": now.isoformat(),
    })
    return require(conn, tenant, inspection_id)


def close_if_remediated(conn: psycopg.Connection, outbox: Outbox, tenant: str, inspection_id: str, now: datetime) -> bool:
    """Close a concluded inspection once every remediation of it is verified accepted."""
    row = require(conn, tenant, inspection_id, lock=True)
    if row["status"] != domain.CONCLUDED:
        return False
    open_ = conn.execute("SELECT count(*) AS n FROM remediations WHERE inspection_id = %s AND status <> 'verified'",
                         [inspection_id]).fetchone()["n"]
    if open_:
        return False
    status = transition(conn, row, "close")
    conn.execute("UPDATE inspections SET status = %s, closed_at = %s WHERE id = %s", [status, now, inspection_id])
    outbox.add(conn, "inspection.closed", tenant=tenant, data={
        "inspection_id": str(row["id"]), "unit_id": str(row["unit_id"]), "closed_at": now.isoformat()})
    return True


def add_citizen_reply(conn: psycopg.Connection, tenant: str, inspection: dict[str, Any], d: dict[str, Any], *, by: str,
                      now: datetime) -> None:
    if not inspection["citizen_report_ref"]:
        raise Conflict("this inspection was not triggered by a citizen's report; there is no one to reply to")
    conn.execute(
        "INSERT INTO citizen_replies (id, tenant, inspection_id, replied_on, channel, outcome, recorded_by, recorded_at) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
        [d["id"], tenant, inspection["id"], d["replied_on"], d["channel"], d["outcome"], by, now],
    )


def citizen_replies(conn: psycopg.Connection, inspection_id: str) -> list[dict[str, Any]]:
    return conn.execute("SELECT id, replied_on, channel, outcome, recorded_by, recorded_at FROM citizen_replies "
                        "WHERE inspection_id = %s ORDER BY recorded_at, id", [inspection_id]).fetchall()


def citizen_reply(conn: psycopg.Connection, reply_id: str) -> dict[str, Any] | None:
    return conn.execute("SELECT id, inspection_id, replied_on, channel, outcome, recorded_by, recorded_at "
                        "FROM citizen_replies WHERE id = %s", [reply_id]).fetchone()
