"""SQL for remediations: assignment, reports from the unit, verification, extensions, history, overdue."""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import psycopg

from services.inspections import domain, store
from shared.errors import Conflict, Invalid, NotFound
from shared.outbox import Outbox

ASSIGNED, REPORTED, RETURNED, VERIFIED = "assigned", "reported", "returned", "verified"


def _history(conn: psycopg.Connection, tenant: str, remediation_id: str, action: str, actor: str, now: datetime,
             detail: dict[str, Any]) -> None:
    conn.execute("INSERT INTO remediation_history (tenant, remediation_id, action, actor, at, detail) VALUES (%s,%s,%s,%s,%s,%s)",
                 [tenant, remediation_id, action, actor, now, json.dumps(detail, ensure_ascii=False, default=str)])


def _base(row: dict[str, Any]) -> dict[str, str]:
    return {"remediation_id": str(row["id"]), "inspection_id": str(row["inspection_id"]), "unit_id": str(row["unit_id"])}


def assign(conn: psycopg.Connection, outbox: Outbox, tenant: str, d: dict[str, Any], *, by: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO remediations (id, tenant, inspection_id, recommendation_id, finding_id, unit_id, kind, text, deadline, "
        "status, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        [d["id"], tenant, d["inspection_id"], d["recommendation_id"], d["finding_id"], d["unit_id"], d["kind"], d["text"],
         d["deadline"], ASSIGNED, now],
    )
    _history(conn, tenant, d["id"], "assigned", by, now, {"unit_id": d["unit_id"], "deadline": d["deadline"]})
    outbox.add(conn, "remediation.assigned", tenant=tenant, data={
        "remediation_id": d["id"], "inspection_id": d["inspection_id"], "unit_id": d["unit_id"],
        "recommendation_id": d["recommendation_id"], "finding_id": d["finding_id"], "kind": d["kind"], "text": d["text"],
        "deadline": d["deadline"].isoformat(),
    })


def get(conn: psycopg.Connection, tenant: str, remediation_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    where, params = store.tenant_filter(tenant)
    return conn.execute(f"SELECT * FROM remediations WHERE id = %s AND {where}{' FOR UPDATE' if lock else ''}",
                        [remediation_id, *params]).fetchone()


def require(conn: psycopg.Connection, tenant: str, remediation_id: str, *, lock: bool = False) -> dict[str, Any]:
    row = get(conn, tenant, remediation_id, lock=lock)
    if row is None:
        raise NotFound("remediation not found")
    return row


def list_(conn: psycopg.Connection, tenant: str, *, inspection_id: str | None, unit_id: str | None, status: str | None,
          limit: int, offset: int) -> list[dict[str, Any]]:
    where, params = store.tenant_filter(tenant)
    clauses = [where]
    for column, value in (("inspection_id", inspection_id), ("unit_id", unit_id), ("status", status)):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    return conn.execute(f"SELECT * FROM remediations WHERE {' AND '.join(clauses)} ORDER BY deadline, id LIMIT %s OFFSET %s",
                        [*params, limit, offset]).fetchall()


def history(conn: psycopg.Connection, remediation_id: str) -> list[dict[str, Any]]:
    return conn.execute("SELECT action, actor, at, detail FROM remediation_history WHERE remediation_id = %s ORDER BY seq",
                        [remediation_id]).fetchall()


def reports(conn: psycopg.Connection, remediation_id: str) -> list[dict[str, Any]]:
    return conn.execute("SELECT id, progress, note, reported_by, reported_at FROM remediation_reports WHERE remediation_id = %s "
                        "ORDER BY reported_at, id", [remediation_id]).fetchall()


def report(conn: psycopg.Connection, outbox: Outbox, tenant: str, row: dict[str, Any], d: dict[str, Any], *,
           evidence_count: int, by: str, now: datetime) -> None:
    """The unit reports progress; 'done' puts the remediation up for verification."""
    if row["status"] == VERIFIED:
        raise Conflict("this remediation is already verified; no more reports are taken")
    conn.execute("INSERT INTO remediation_reports (id, tenant, remediation_id, progress, note, reported_by, reported_at) "
                 "VALUES (%s,%s,%s,%s,%s,%s,%s)", [d["id"], tenant, row["id"], d["progress"], d["note"], by, now])
    if d["progress"] == "done":
        conn.execute("UPDATE remediations SET status = %s WHERE id = %s", [REPORTED, row["id"]])
    _history(conn, tenant, str(row["id"]), "reported", by, now,
             {"report_id": str(d["id"]), "progress": d["progress"], "evidence_count": evidence_count})
    outbox.add(conn, "remediation.reported", tenant=tenant, data={
        **_base(row), "report_id": str(d["id"]), "progress": d["progress"], "note": d["note"],
        "evidence_count": evidence_count, "reported_at": now.isoformat(),
    })


def verify(conn: psycopg.Connection, outbox: Outbox, tenant: str, remediation_id: str, d: dict[str, Any], *, by: str,
           now: datetime) -> dict[str, Any]:
    """Accept or send back a reported remediation; closing the inspection when the last one is accepted."""
    row = require(conn, tenant, remediation_id, lock=True)
    if row["status"] != REPORTED:
        raise Conflict(f"cannot verify a remediation that is {row['status']}; the unit must report it done first",
                       current_status=row["status"])
    status = VERIFIED if d["outcome"] == "accepted" else RETURNED
    conn.execute("UPDATE remediations SET status = %s, verified_at = %s WHERE id = %s",
                 [status, now if status == VERIFIED else None, remediation_id])
    _history(conn, tenant, remediation_id, "verified" if status == VERIFIED else "returned", by, now,
             {"outcome": d["outcome"], "note": d["note"]})
    outbox.add(conn, "remediation.verified", tenant=tenant, data={
        **_base(row), "outcome": d["outcome"], "note": d["note"], "verified_at": now.isoformat(),
        "deadline": row["deadline"].isoformat(),
    })
    if status == VERIFIED:
        store.close_if_remediated(conn, outbox, tenant, str(row["inspection_id"]), now)
    return require(conn, tenant, remediation_id)


def extend(conn: psycopg.Connection, outbox: Outbox, tenant: str, remediation_id: str, d: dict[str, Any], *, by: str,
           now: datetime) -> dict[str, Any]:
    row = require(conn, tenant, remediation_id, lock=True)
    if row["status"] == VERIFIED:
        raise Conflict("a verified remediation has no deadline to extend", current_status=row["status"])
    if d["new_deadline"] <= row["deadline"]:
        raise Invalid(f"the new deadline must be after the current one ({row['deadline']})", field="body.new_deadline")
    conn.execute("UPDATE remediations SET deadline = %s WHERE id = %s", [d["new_deadline"], remediation_id])
    _history(conn, tenant, remediation_id, "extended", by, now,
             {"old_deadline": row["deadline"], "new_deadline": d["new_deadline"], "reason": d["reason"]})
    outbox.add(conn, "remediation.extended", tenant=tenant, data={
        **_base(row), "old_deadline": row["deadline"].isoformat(), "new_deadline": d["new_deadline"].isoformat(),
        "reason": d["reason"],
    })
    return require(conn, tenant, remediation_id)


def overdue_candidates(conn: psycopg.Connection, today: date) -> list[dict[str, Any]]:
    """Open remediations whose deadline lies before today and whose deadline was not yet reported overdue."""
    return conn.execute(
        "SELECT r.* FROM remediations r WHERE r.status <> 'verified' AND r.deadline < %s AND NOT EXISTS "
        "(SELECT 1 FROM remediation_overdue o WHERE o.remediation_id = r.id AND o.deadline = r.deadline) ORDER BY r.deadline, r.id",
        [today]).fetchall()


def mark_overdue(conn: psycopg.Connection, outbox: Outbox, row: dict[str, Any], *, today: date, now: datetime) -> bool:
    """Record (remediation, deadline) as overdue and publish once; False when another run got there first.

    The insert and the outbox row share one transaction; a concurrent run blocks on the key, then skips.
    """
    current = conn.execute("SELECT deadline, status FROM remediations WHERE id = %s FOR UPDATE", [row["id"]]).fetchone()
    if current is None or not domain.is_overdue(status=current["status"], deadline=current["deadline"], today=today):
        return False
    inserted = conn.execute(
        "INSERT INTO remediation_overdue (remediation_id, deadline, tenant, detected_at) VALUES (%s,%s,%s,%s) "
        "ON CONFLICT DO NOTHING RETURNING 1", [row["id"], current["deadline"], row["tenant"], now]).fetchone()
    if not inserted:
        return False
    _history(conn, row["tenant"], str(row["id"]), "overdue", "system", now, {"deadline": current["deadline"]})
    outbox.add(conn, "remediation.overdue", tenant=row["tenant"], data={
        **_base(row), "deadline": current["deadline"].isoformat(), "detected_at": now.isoformat(),
        "days_overdue": domain.days_overdue(current["deadline"], today),
    })
    return True
