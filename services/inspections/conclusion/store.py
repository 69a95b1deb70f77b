"""SQL for the conclusion: document data, recommendations, and the remediations they create."""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import psycopg

from services.inspections import domain, replicas, store
from services.inspections.remediation import store as rs
from shared.errors import Invalid
from shared.outbox import Outbox

# Remediation ids derive from recommendation ids, so a resent conclusion never makes a second one.
REMEDIATION_NS = uuid.UUID("6f1d4a2e-8c55-4f7e-9a43-0d2b7c1e5a90")


def remediation_id(recommendation_id: str) -> str:
    return str(uuid.uuid5(REMEDIATION_NS, str(recommendation_id)))


def conclude(conn: psycopg.Connection, outbox: Outbox, tenant: str, inspection_id: str, d: dict[str, Any], *, by: str,
             now: datetime, default_working_days: int) -> None:
    """Conclude: store the document and recommendations, assign remediations, publish, close if nothing is due."""
    inspection = store.require(conn, tenant, inspection_id, lock=True)
    status = store.transition(conn, inspection, "conclude")
    finding_ids = {str(r["id"]) for r in conn.execute("SELECT id FROM findings WHERE inspection_id = %s", [inspection_id])}
    doc = d["document"]
    for n, rec in enumerate(d["recommendations"]):
        where = f"body.recommendations.{n}"
        if rec.get("finding_id") and str(rec["finding_id"]) not in finding_ids:
            raise Invalid("not a finding of this inspection", field=f"{where}.finding_id")
        if rec["kind"] == "disciplinary" and not (rec.get("discipline_level") and rec.get("official_ref")):
            raise Invalid("disciplinary handling names the discipline level and the official", field=f"{where}.discipline_level")
        if rec.get("responsible_unit_id") and replicas.unit(conn, tenant, str(rec["responsible_unit_id"])) is None:
            raise Invalid("unknown unit", field=f"{where}.responsible_unit_id")
    conn.execute(
        "INSERT INTO conclusions (id, tenant, inspection_id, kind, number, doc_date, place, issuing_authority, issuing_body, "
        "signer_title, signer_name, summary, recipients, concluded_by, concluded_at) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        [d["id"], tenant, inspection_id, doc["kind"], doc["number"], doc["date"], doc["place"], doc["issuing_authority"],
         doc["issuing_body"], doc["signer_title"], doc["signer_name"], d["summary"],
         json.dumps(doc["recipients"], ensure_ascii=False), by, now],
    )
    conn.execute("UPDATE inspections SET status = %s, concluded_at = %s WHERE id = %s", [status, now, inspection_id])
    cal = replicas.calendar(conn, tenant, doc["date"].year)
    events = []
    for n, rec in enumerate(d["recommendations"]):
        action = domain.needs_action(rec["kind"], rec.get("needs_action"))
        conn.execute(
            "INSERT INTO recommendations (id, tenant, inspection_id, finding_id, position_no, kind, text, needs_action, "
            "discipline_level, official_ref) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            [rec["id"], tenant, inspection_id, rec.get("finding_id"), n, rec["kind"], rec["text"], action,
             rec.get("discipline_level"), rec.get("official_ref")],
        )
        events.append({"recommendation_id": str(rec["id"]), "finding_id": str(rec["finding_id"]) if rec.get("finding_id") else None,
                       "kind": rec["kind"], "text": rec["text"], "needs_action": action,
                       "official_ref": rec.get("official_ref"), "discipline_level": rec.get("discipline_level")})
    findings_count = len(finding_ids)
    outbox.add(conn, "inspection.concluded", tenant=tenant, data={
        "inspection_id": inspection_id, "unit_id": str(inspection["unit_id"]),
        "plan_id": str(inspection["plan_id"]) if inspection["plan_id"] else None,
        "document": {"kind": doc["kind"], "number": doc["number"], "date": doc["date"].isoformat()},
        "findings_count": findings_count, "recommendations": events, "concluded_at": now.isoformat(),
    })
    for rec, event in zip(d["recommendations"], events):
        if not event["needs_action"]:
            continue
        deadline = domain.remediation_deadline(cal, conclusion_date=doc["date"], given=rec.get("deadline"),
                                               working_days=rec.get("deadline_working_days") or default_working_days)
        rs.assign(conn, outbox, tenant, {
            "id": remediation_id(rec["id"]), "inspection_id": inspection_id, "recommendation_id": str(rec["id"]),
            "finding_id": event["finding_id"], "unit_id": str(rec.get("responsible_unit_id") or inspection["unit_id"]),
            "kind": rec["kind"], "text": rec["text"], "deadline": deadline,
        }, by=by, now=now)
    store.close_if_remediated(conn, outbox, tenant, inspection_id, now)


def conclusion(conn: psycopg.Connection, inspection_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM conclusions WHERE inspection_id = %s", [inspection_id]).fetchone()
    if row is None:
        return None
    row.pop("tenant", None)
    row["recommendations"] = conn.execute(
        "SELECT r.id, r.finding_id, r.kind, r.text, r.needs_action, r.discipline_level, r.official_ref, m.id AS remediation_id, "
        "m.unit_id AS responsible_unit_id, m.deadline FROM recommendations r LEFT JOIN remediations m ON m.recommendation_id = r.id "
        "WHERE r.inspection_id = %s ORDER BY r.position_no", [inspection_id]).fetchall()
    return row
