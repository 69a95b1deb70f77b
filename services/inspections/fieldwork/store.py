"""SQL for the visit: checklist results, findings with officials and evidence, assessments, minutes."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from services.inspections import store
from shared.errors import Conflict, Invalid
from shared.outbox import Outbox


def add_result(conn: psycopg.Connection, tenant: str, inspection: dict[str, Any], d: dict[str, Any], *, by: str,
               now: datetime) -> None:
    taken = conn.execute("SELECT id FROM checklist_results WHERE inspection_id = %s AND criterion_code = %s",
                         [inspection["id"], d["criterion_code"]]).fetchone()
    if taken:
        raise Conflict(f"criterion {d['criterion_code']} already has result {taken['id']}", field="body.criterion_code")
    conn.execute(
        "INSERT INTO checklist_results (id, tenant, inspection_id, criterion_code, result, note, recorded_by, recorded_at) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
        [d["id"], tenant, inspection["id"], d["criterion_code"], d["result"], d["note"], by, now],
    )


def result(conn: psycopg.Connection, result_id: str) -> dict[str, Any] | None:
    return conn.execute("SELECT id, inspection_id, criterion_code, result, note, recorded_by, recorded_at "
                        "FROM checklist_results WHERE id = %s", [result_id]).fetchone()


def results(conn: psycopg.Connection, inspection_id: str) -> list[dict[str, Any]]:
    return conn.execute("SELECT id, inspection_id, criterion_code, result, note, recorded_by, recorded_at "
                        "FROM checklist_results WHERE inspection_id = %s ORDER BY criterion_code", [inspection_id]).fetchall()


# -- findings ------------------------------------------------------------------------------------
# The inspection, and whether a criterion is on its checklist: NULL when it has none or the checklist
# has not been replicated yet (then any code is accepted, as before the checklist arrives).
_INSPECTION_WITH_CRITERION = (
    "SELECT i.*, CASE WHEN c.criteria IS NULL THEN NULL "
    "ELSE c.criteria @> jsonb_build_array(jsonb_build_object('code', %s::text)) END AS criterion_listed "
    "FROM inspections i LEFT JOIN LATERAL (SELECT criteria FROM checklists WHERE tenant = i.tenant "
    "AND id = i.checklist_id AND (i.checklist_version IS NULL OR version = i.checklist_version) "
    "ORDER BY version DESC LIMIT 1) c ON true WHERE i.id = %s AND i.tenant = %s"
)


async def claim_finding(conn: psycopg.AsyncConnection, tenant: str, finding_id: str, payload: Any, inspection_id: str,
                        criterion_code: str) -> tuple[bool, dict[str, Any] | None]:
    """Claim the finding's client id and read its inspection (with ``criterion_listed``); in the pipelined
    transaction of ``Database.atx`` both go in one round trip.

    Returns (new, inspection); the inspection is None when this tenant has none with that id.
    """
    outcome = await store.asend_claim(conn, tenant, "finding", finding_id, payload)
    inspection = await conn.execute(_INSPECTION_WITH_CRITERION, [criterion_code, inspection_id, tenant])
    return await outcome(), await inspection.fetchone()


async def add_finding(conn: psycopg.AsyncConnection, outbox: Outbox, tenant: str, inspection: dict[str, Any],
                      d: dict[str, Any], *, by: str, now: datetime, reader: Reader | None = None) -> psycopg.AsyncCursor:
    """Record a finding and publish violation.recorded (the event carries how many officials, never names).

    Returns the cursor of the stored row, to be read once sent: in a pipelined transaction nothing here
    waits for the server, so these statements travel with the COMMIT. With ``reader``, who will be
    shown the officials' names in the answer, that read is logged too.
    """
    row = await conn.execute(
        "INSERT INTO findings (id, tenant, inspection_id, unit_id, criterion_code, severity, description, recorded_by, "
        "recorded_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING *",
        [d["id"], tenant, inspection["id"], d["unit_id"], d["criterion_code"], d["severity"], d["description"], by, now],
    )
    for n, official in enumerate(d["officials"]):
        await conn.execute("INSERT INTO finding_officials (finding_id, position_no, tenant, name, position) VALUES (%s,%s,%s,%s,%s)",
                           [d["id"], n, tenant, official["name"], official["position"]])
    if d["officials"] and reader is not None:
        await conn.execute(*_officials_read(tenant, str(d["id"]), reader, now))
    await outbox.aadd(conn, "violation.recorded", tenant=tenant, data={
        "finding_id": str(d["id"]), "inspection_id": str(inspection["id"]), "unit_id": str(d["unit_id"]),
        "plan_id": str(inspection["plan_id"]) if inspection["plan_id"] else None,
        "criterion_code": d["criterion_code"], "severity": d["severity"], "description": d["description"],
        "officials_count": len(d["officials"]), "recorded_by": by, "recorded_at": now.isoformat(),
    })
    return row


def finding(conn: psycopg.Connection, tenant_where: str, params: list, finding_id: str) -> dict[str, Any] | None:
    return conn.execute(f"SELECT * FROM findings WHERE id = %s AND {tenant_where}", [finding_id, *params]).fetchone()


def findings(conn: psycopg.Connection, inspection_id: str) -> list[dict[str, Any]]:
    return conn.execute("SELECT * FROM findings WHERE inspection_id = %s ORDER BY recorded_at, id", [inspection_id]).fetchall()


def officials(conn: psycopg.Connection, finding_ids: list[str], *, reader: str, roles: str, route: str,
              now: datetime) -> dict[str, list[dict[str, str]]]:
    """Officials named in the findings; each finding whose names are returned leaves an access-log row."""
    rows = conn.execute("SELECT finding_id, tenant, name, position FROM finding_officials WHERE finding_id = ANY(%s) "
                        "ORDER BY finding_id, position_no", [finding_ids]).fetchall()
    out: dict[str, list[dict[str, str]]] = {}
    tenants: dict[str, str] = {}
    for r in rows:
        out.setdefault(str(r["finding_id"]), []).append({"name": r["name"], "position": r["position"]})
        tenants[str(r["finding_id"])] = r["tenant"]
    for fid, tenant in tenants.items():
        _log_officials_read(conn, tenant, fid, Reader(reader, roles, route), now)
    return out


@dataclass(frozen=True)
class Reader:
    """Who reads officials' names, and through which route (for the access log)."""
    subject: str
    roles: str
    route: str


def _log_officials_read(conn: psycopg.Connection, tenant: str, finding_id: str, reader: Reader, now: datetime) -> None:
    conn.execute(*_officials_read(tenant, finding_id, reader, now))


def _officials_read(tenant: str, finding_id: str, reader: Reader, now: datetime) -> tuple[str, list[Any]]:
    return ("INSERT INTO officials_access_log (tenant, finding_id, subject, roles, route, read_at) VALUES (%s,%s,%s,%s,%s,%s)",
            [tenant, finding_id, reader.subject, reader.roles, reader.route, now])


def officials_access_log(conn: psycopg.Connection, finding_id: str) -> list[dict[str, Any]]:
    return conn.execute("SELECT subject, roles, route, read_at FROM officials_access_log WHERE finding_id = %s ORDER BY id",
                        [finding_id]).fetchall()


# -- evidence ------------------------------------------------------------------------------------
def store_evidence(conn: psycopg.Connection, tenant: str, *, evidence_id: str, owner_kind: str, owner_id: str,
                   filename: str, content_type: str, content: bytes, by: str, now: datetime) -> str:
    """Keep the bytes once per SHA-256 and attach them to the owner; returns the hash."""
    digest = hashlib.sha256(content).hexdigest()
    conn.execute("INSERT INTO evidence_blobs (tenant, sha256, content_type, size, content) VALUES (%s,%s,%s,%s,%s) "
                 "ON CONFLICT DO NOTHING", [tenant, digest, content_type, len(content), content])
    conn.execute(
        "INSERT INTO evidence (id, tenant, owner_kind, owner_id, sha256, filename, content_type, size, uploaded_by, uploaded_at) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        [evidence_id, tenant, owner_kind, owner_id, digest, filename, content_type, len(content), by, now],
    )
    return digest


def evidence_of(conn: psycopg.Connection, owner_kind: str, owner_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    rows = conn.execute("SELECT id, owner_id, sha256, filename, content_type, size, uploaded_by, uploaded_at FROM evidence "
                        "WHERE owner_kind = %s AND owner_id = ANY(%s) ORDER BY uploaded_at, id", [owner_kind, owner_ids]).fetchall()
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(str(r.pop("owner_id")), []).append(r)
    return out


def evidence_item(conn: psycopg.Connection, evidence_id: str, tenant: str) -> dict[str, Any] | None:
    """One evidence file's record; ``tenant`` '*' only for central readers (RLS checks again)."""
    return conn.execute("SELECT id, owner_kind, owner_id, sha256, filename, content_type, size, uploaded_by, uploaded_at "
                        "FROM evidence WHERE id = %s AND (tenant = %s OR %s = '*')",
                        [evidence_id, tenant, tenant]).fetchone()


def evidence_content(conn: psycopg.Connection, tenant: str, sha256: str) -> bytes | None:
    row = conn.execute("SELECT content FROM evidence_blobs WHERE tenant = %s AND sha256 = %s", [tenant, sha256]).fetchone()
    return None if row is None else bytes(row["content"])


# -- assessment of the head and deputies; minutes --------------------------------------------------
def add_assessment(conn: psycopg.Connection, outbox: Outbox, tenant: str, inspection: dict[str, Any], d: dict[str, Any], *,
                   by: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO assessments (id, tenant, inspection_id, unit_id, official_ref, position, task_execution, processing_time, "
        "quality, notes, assessed_by, assessed_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        [d["id"], tenant, inspection["id"], inspection["unit_id"], d["official_ref"], d["position"], d["task_execution"],
         d["processing_time"], d["quality"], d["notes"], by, now],
    )
    outbox.add(conn, "head.assessed", tenant=tenant, data={
        "assessment_id": str(d["id"]), "inspection_id": str(inspection["id"]), "unit_id": str(inspection["unit_id"]),
        "official_ref": d["official_ref"], "position": d["position"], "task_execution": d["task_execution"],
        "processing_time": d["processing_time"], "quality": d["quality"], "assessed_at": now.isoformat(),
    })


def assessment(conn: psycopg.Connection, assessment_id: str) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM assessments WHERE id = %s", [assessment_id]).fetchone()


def assessments(conn: psycopg.Connection, inspection_id: str) -> list[dict[str, Any]]:
    return conn.execute("SELECT * FROM assessments WHERE inspection_id = %s ORDER BY assessed_at, id", [inspection_id]).fetchall()


def add_minutes(conn: psycopg.Connection, tenant: str, inspection: dict[str, Any], d: dict[str, Any], *, by: str,
                now: datetime) -> None:
    if conn.execute("SELECT 1 FROM minutes WHERE inspection_id = %s", [inspection["id"]]).fetchone():
        raise Conflict("the minutes of this inspection are already recorded")
    known = {str(r["id"]) for r in findings(conn, inspection["id"])}
    for n, item in enumerate(d["disagreements"]):
        if item.get("finding_id") and str(item["finding_id"]) not in known:
            raise Invalid("not a finding of this inspection", field=f"body.disagreements.{n}.finding_id")
    conn.execute(
        "INSERT INTO minutes (id, tenant, inspection_id, held_on, place, team_summary, unit_response, disagreements, "
        "recorded_by, recorded_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        [d["id"], tenant, inspection["id"], d["held_on"], d["place"], d["team_summary"], d["unit_response"],
         json.dumps(d["disagreements"], ensure_ascii=False, default=str), by, now],
    )


def minutes(conn: psycopg.Connection, inspection_id: str) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM minutes WHERE inspection_id = %s", [inspection_id]).fetchone()
