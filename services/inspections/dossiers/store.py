"""SQL for dossier lists, reproducible samples and dossier checks (days late computed, never typed)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg

from services.inspections import domain, replicas
from shared.errors import Conflict, Invalid, NotFound
from shared.outbox import Outbox


def upsert(conn: psycopg.Connection, tenant: str, unit_id: str, dossiers: list[dict[str, Any]], now: datetime) -> int:
    """Import or re-push a unit's dossier list; a code already known is updated (re-imports are harmless)."""
    for d in dossiers:
        conn.execute(
            "INSERT INTO dossiers (tenant, unit_id, code, field, received_on, due_on, resolved_on, imported_at) "
            "VALUES (%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (tenant, unit_id, code) DO UPDATE SET field = excluded.field, "
            "received_on = excluded.received_on, due_on = excluded.due_on, resolved_on = excluded.resolved_on, "
            "imported_at = excluded.imported_at",
            [tenant, unit_id, d["code"], d["field"], d["received_on"], d["due_on"], d.get("resolved_on"), now],
        )
    return len(dossiers)


def list_(conn: psycopg.Connection, tenant: str, unit_id: str, field: str | None = None) -> list[dict[str, Any]]:
    return conn.execute("SELECT code, field, received_on, due_on, resolved_on FROM dossiers WHERE tenant = %s AND unit_id = %s "
                        "AND (%s::text IS NULL OR field = %s) ORDER BY code", [tenant, unit_id, field, field]).fetchall()


def draw(conn: psycopg.Connection, tenant: str, inspection: dict[str, Any], d: dict[str, Any], *, by: str,
         now: datetime) -> None:
    """Draw and record the sample with its seed and the population it was drawn from."""
    if conn.execute("SELECT 1 FROM dossier_samples WHERE inspection_id = %s", [inspection["id"]]).fetchone():
        raise Conflict("a dossier sample was already drawn for this inspection")
    population = [r["code"] for r in list_(conn, tenant, str(inspection["unit_id"]), d.get("field"))]
    if not population:
        raise Invalid("the unit has no dossiers to draw from; import its dossier list first", field="body.size")
    drawn = domain.draw_sample(population, d["size"], d["seed"])
    conn.execute(
        "INSERT INTO dossier_samples (id, tenant, inspection_id, seed, size, field, population, drawn, drawn_by, drawn_at) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        [d["id"], tenant, inspection["id"], d["seed"], d["size"], d.get("field"), json.dumps(population, ensure_ascii=False),
         json.dumps(drawn, ensure_ascii=False), by, now],
    )


def sample(conn: psycopg.Connection, inspection_id: str) -> dict[str, Any] | None:
    return conn.execute("SELECT id, inspection_id, seed, size, field, population, drawn, drawn_by, drawn_at "
                        "FROM dossier_samples WHERE inspection_id = %s", [inspection_id]).fetchone()


def check(conn: psycopg.Connection, outbox: Outbox, tenant: str, inspection: dict[str, Any], d: dict[str, Any], *,
          by: str, now: datetime) -> None:
    """Check one sampled dossier: lateness in working days from the tenant's calendar; publishes dossier.checked."""
    drawn = sample(conn, str(inspection["id"]))
    if drawn is None:
        raise Conflict("draw the dossier sample first")
    if d["dossier_code"] not in drawn["drawn"]:
        raise Invalid("this dossier is not in the drawn sample", field="body.dossier_code")
    unit_id = str(inspection["unit_id"])
    dossier = conn.execute("SELECT * FROM dossiers WHERE tenant = %s AND unit_id = %s AND code = %s",
                           [tenant, unit_id, d["dossier_code"]]).fetchone()
    if dossier is None:
        raise NotFound("the dossier is no longer in the unit's list")
    today = domain.local_date(now)
    cal = replicas.calendar(conn, tenant, *domain.calendar_years_for(dossier["due_on"], dossier["resolved_on"], today))
    lateness = domain.dossier_lateness(cal, due=dossier["due_on"], resolved=dossier["resolved_on"], today=today)
    conn.execute(
        "INSERT INTO dossier_checks (id, tenant, inspection_id, unit_id, dossier_code, field, received_on, due_on, resolved_on, "
        "days_late, late, note, checked_by, checked_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        [d["id"], tenant, inspection["id"], unit_id, dossier["code"], dossier["field"], dossier["received_on"],
         dossier["due_on"], dossier["resolved_on"], lateness.days_late, lateness.late, d["note"], by, now],
    )
    outbox.add(conn, "dossier.checked", tenant=tenant, data={
        "check_id": str(d["id"]), "inspection_id": str(inspection["id"]), "unit_id": unit_id,
        "dossier_code": dossier["code"], "field": dossier["field"], "received_on": dossier["received_on"].isoformat(),
        "due_on": dossier["due_on"].isoformat(),
        "resolved_on": dossier["resolved_on"].isoformat() if dossier["resolved_on"] else None,
        "days_late": lateness.days_late, "late": lateness.late, "sample_seed": drawn["seed"],
    })


def check_row(conn: psycopg.Connection, check_id: str) -> dict[str, Any] | None:
    return conn.execute("SELECT id, inspection_id, unit_id, dossier_code, field, received_on, due_on, resolved_on, days_late, "
                        "late, note, checked_by, checked_at FROM dossier_checks WHERE id = %s", [check_id]).fetchone()


def checks(conn: psycopg.Connection, inspection_id: str) -> list[dict[str, Any]]:
    return conn.execute("SELECT id, inspection_id, unit_id, dossier_code, field, received_on, due_on, resolved_on, days_late, "
                        "late, note, checked_by, checked_at FROM dossier_checks WHERE inspection_id = %s ORDER BY dossier_code",
                        [inspection_id]).fetchall()
