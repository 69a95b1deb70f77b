"""Event handlers that keep the read models: state rows upserted, counters pre-aggregated on arrival.

Every handler runs in the consumer's transaction after the inbox row, so it is applied once per event
id. Facts with their own id (finding, dossier check, assessment, recommendation) are inserted once
even if re-sent under a new event id, and counters move only when the fact is new. Events of one
aggregate arrive in order, but topics do not order against each other, so handlers never assume a
row exists: they fill in what they know (e.g. a violation before its unit, a conclusion before the
schedule). A row owned by another tenant is refused: row-level security hides it, an upsert on it
raises, and an insert-once finds it "missing" and raises.
"""
from __future__ import annotations

import json
from typing import Any

import psycopg
import psycopg.errors

from services.analytics import violation_sums
from services.analytics.domain import contribution_delta, local_date
from services.analytics.remediation_counts import merge as merge_remediation
from shared.consumer import batch_handler
from shared.events import Event


class TenantMismatch(ValueError):
    """The event names a record that belongs to another tenant."""


def _insert_once(conn: psycopg.Connection, table: str, key: str, row: dict[str, Any]) -> bool:
    """Insert a fact unless its id is known; True when new. Raises if the id belongs to another tenant."""
    cols = list(row)
    inserted = conn.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
        f"ON CONFLICT ({key}) DO NOTHING RETURNING 1", [row[c] for c in cols]).fetchone()
    if inserted:
        return True
    if not conn.execute(f"SELECT 1 FROM {table} WHERE {key} = %s AND tenant = %s", [row[key], row["tenant"]]).fetchone():
        raise TenantMismatch(f"{table} {row[key]} belongs to another tenant")
    return False


def _insert_facts(conn: psycopg.Connection, table: str, key: str, tenant: str, columns: dict[str, str],
                  rows: list[dict[str, Any]], *, counters: dict[str, str]) -> None:
    """Insert facts unless their ids are known, in one statement, and count the new ones.

    ``columns`` maps each column of ``rows`` to its SQL type. ``counters`` are ``INSERT ... SELECT ...
    FROM new`` statements over the rows that were new, with ``%(tenant)s``, by name (one may read
    another's RETURNING). Raises if a known id belongs to another tenant.
    """
    unique = list({row[key]: row for row in reversed(rows)}.values())  # a fact re-sent in the same set counts once
    names = list(columns)
    # The set travels as one JSON document: json.dumps and PostgreSQL's parser cost a fraction of
    # adapting an array per column, value by value.
    params: dict[str, Any] = {"tenant": tenant, "rows": json.dumps(unique, ensure_ascii=False, default=str)}
    counted = "".join(f", {name} AS ({statement})" for name, statement in counters.items())
    inserted = conn.execute(
        f"WITH input AS (SELECT * FROM json_to_recordset(%(rows)s::json) AS i({', '.join(f'{n} {t}' for n, t in columns.items())})), "
        f"new AS (INSERT INTO {table} (tenant, {', '.join(names)}) SELECT %(tenant)s, {', '.join(names)} FROM input "
        f"ON CONFLICT ({key}) DO NOTHING RETURNING *){counted} "
        f"SELECT count(*) AS n FROM new", params).fetchone()["n"]
    if inserted == len(unique):
        return
    # Some were known: every id is in the table now, and each must be this tenant's.
    ours = conn.execute(f"SELECT count(*) AS n FROM {table} WHERE {key} = ANY(%s::{columns[key]}[]) AND tenant = %s",
                        [[row[key] for row in unique], tenant]).fetchone()["n"]
    if ours < len(unique):
        raise TenantMismatch(f"a {table} id belongs to another tenant")


def _upsert(conn: psycopg.Connection, table: str, key: str, row: dict[str, Any], update: dict[str, str]) -> None:
    """Insert or update (``update`` maps column -> SQL expression using EXCLUDED/the table)."""
    cols = list(row)
    sets = ", ".join(f"{c} = {expr}" for c, expr in update.items())
    try:
        with conn.transaction():  # a savepoint, so the refusal below can be told apart
            done = conn.execute(
                f"INSERT INTO {table} AS t ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
                f"ON CONFLICT ({key}) DO UPDATE SET {sets} WHERE t.tenant = EXCLUDED.tenant RETURNING 1",
                [row[c] for c in cols],
            ).fetchone()
    except psycopg.errors.InsufficientPrivilege:  # row-level security: the row is another tenant's
        done = None
    if not done:
        raise TenantMismatch(f"{table} {row[key]} belongs to another tenant")


# -- reference data ---------------------------------------------------------------------------
def on_unit_changed(conn: psycopg.Connection, event: Event) -> None:
    """Latest state of a unit, and the version taking effect that day."""
    d = event.data
    row = {"unit_id": d["unit_id"], "tenant": event.tenant, "code": d.get("code"), "name": d["name"], "level": d["level"],
           "kind": d["kind"], "parent_id": d["parent_id"], "valid_from": d["valid_from"], "valid_to": d["valid_to"],
           "successor_id": d["successor_id"], "contacts": json.dumps(d.get("contacts") or [], ensure_ascii=False)}
    # Contacts are optional in the event: an update without them keeps those we know.
    update = {c: f"EXCLUDED.{c}" for c in row if c not in ("unit_id", "tenant", "contacts")}
    update["contacts"] = "EXCLUDED.contacts" if "contacts" in d else "t.contacts"
    _upsert(conn, "units", "unit_id", row, update)
    # The units row above already refused another tenant's unit, so this version is ours.
    conn.execute(
        "INSERT INTO unit_versions (unit_id, effective_from, tenant, name, level, kind, parent_id) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (unit_id, effective_from) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level, "
        "kind = EXCLUDED.kind, parent_id = EXCLUDED.parent_id",
        [d["unit_id"], d.get("effective_from") or d["valid_from"], event.tenant, d["name"], d["level"], d["kind"], d["parent_id"]],
    )


def on_team_changed(conn: psycopg.Connection, event: Event) -> None:
    """Team name, lead unit and size."""
    d = event.data
    row = {"team_id": d["team_id"], "tenant": event.tenant, "name": d["name"], "lead_unit_id": d["lead_unit_id"],
           "member_count": len(d["members"]) + 1}
    _upsert(conn, "teams", "team_id", row, {c: f"EXCLUDED.{c}" for c in ("name", "lead_unit_id", "member_count")})


def on_checklist_published(conn: psycopg.Connection, event: Event) -> None:
    """Titles of the checklist's criteria (labels of the violation dashboards)."""
    for c in event.data["criteria"]:
        conn.execute(
            "INSERT INTO criteria (tenant, code, title) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant, code) DO UPDATE SET title = EXCLUDED.title",
            [event.tenant, c["code"], c["title"]],
        )


def on_plan(conn: psycopg.Connection, event: Event) -> None:
    """plan.approved and plan.amended: the highest version wins, whatever the arrival order."""
    d = event.data
    row = {"plan_id": d["plan_id"], "tenant": event.tenant, "version": d["version"], "year": d["year"], "type": d["type"],
           "title": d["title"], "decision_number": d["decision"]["number"], "decision_date": d["decision"]["date"],
           "signer": d["decision"]["signer"], "coverage_rules": json.dumps(d["coverage_rules"], ensure_ascii=False),
           "planned_inspections": d["planned_inspections"]}
    newer = "CASE WHEN EXCLUDED.version >= t.version THEN EXCLUDED.{0} ELSE t.{0} END"
    _upsert(conn, "plans", "plan_id", row, {c: newer.format(c) for c in row if c not in ("plan_id", "tenant")})


def on_plan_closed(conn: psycopg.Connection, event: Event) -> None:
    """Mark the plan closed (refused if the plan is another province's)."""
    cur = conn.execute("UPDATE plans SET closed_on = %s WHERE plan_id = %s AND tenant = %s",
                       [event.data["closed_on"], event.data["plan_id"], event.tenant])
    if not cur.rowcount:
        _refuse_if_foreign(conn, "plans", "plan_id", event.data["plan_id"], event.tenant)


def _refuse_if_foreign(conn: psycopg.Connection, table: str, key: str, value: str | list[str], tenant: str) -> None:
    """Raise if the row ``value`` (or any of a list of them) belongs to another tenant."""
    # Under row-level security another tenant's row is invisible; we look as the system to tell
    # "unknown yet" (fine: it may arrive later) from "someone else's" (refused).
    values = value if isinstance(value, list) else [value]
    conn.execute("SELECT set_config('app.tenant', '*', true)")
    try:
        # The key compared as uuid, not as text: a cast on the column would scan the whole table.
        foreign = conn.execute(f"SELECT {key}::text AS id FROM {table} WHERE {key} = ANY(%s::uuid[]) AND tenant <> %s LIMIT 1",
                               [values, tenant]).fetchone()
    finally:
        conn.execute("SELECT set_config('app.tenant', %s, true)", [tenant])
    if foreign:
        raise TenantMismatch(f"{table} {foreign['id']} belongs to another tenant")


# unit id -> tenant, for units seen in the database. A unit never changes province, so a positive
# answer stays true (also across rebuilds); it saves a query per event on the hot path.
_UNIT_TENANT: dict[str, str] = {}
_UNIT_CACHE_SIZE = 200_000


def _unit_of_tenant(conn: psycopg.Connection, unit_id: str | None, tenant: str) -> None:
    """Refuse an event naming a unit another tenant owns (a unit not known yet is fine: it may come later)."""
    if unit_id:
        _units_of_tenant(conn, {unit_id}, tenant)


def _units_of_tenant(conn: psycopg.Connection, unit_ids: set[str], tenant: str) -> None:
    """The same for a set of units, in at most two queries whatever its size."""
    unknown = [u for u in unit_ids if _UNIT_TENANT.get(u) != tenant]
    if not unknown:
        return
    ours = {r["unit_id"] for r in conn.execute(
        "SELECT unit_id::text AS unit_id FROM units WHERE unit_id = ANY(%s::uuid[]) AND tenant = %s", [unknown, tenant])}
    if len(_UNIT_TENANT) + len(ours) >= _UNIT_CACHE_SIZE:
        _UNIT_TENANT.clear()
    _UNIT_TENANT.update(dict.fromkeys(ours, tenant))
    rest = [u for u in unknown if u not in ours]
    if rest:
        _refuse_if_foreign(conn, "units", "unit_id", rest, tenant)


# -- inspections ------------------------------------------------------------------------------
_INSPECTION_COLS = ("plan_id", "unit_id", "year", "window_start", "form", "scheduled", "cancelled", "surprise",
                    "started_on", "concluded_on", "closed_on")


def _change_inspection(conn: psycopg.Connection, event: Event, changes: dict[str, Any]) -> None:
    """Merge ``changes`` into the inspection row and move the monthly counters by the difference."""
    inspection_id = event.data["inspection_id"]
    _unit_of_tenant(conn, changes.get("unit_id"), event.tenant)
    # Insert a blank row first (it contributes nothing) so two writers of a new inspection (the live
    # consumer and a rebuild) queue on the row lock instead of one failing on the primary key.
    conn.execute("INSERT INTO inspections (inspection_id, tenant) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                 [inspection_id, event.tenant])
    before = conn.execute("SELECT * FROM inspections WHERE inspection_id = %s AND tenant = %s FOR UPDATE",
                          [inspection_id, event.tenant]).fetchone()
    if before is None:
        raise TenantMismatch(f"inspection {inspection_id} belongs to another tenant")
    after = {c: before[c] for c in _INSPECTION_COLS}
    for column, value in changes.items():
        if value is not None:
            after[column] = value
    for c in ("window_start", "started_on", "concluded_on", "closed_on"):
        if isinstance(after[c], str):
            after[c] = local_date(after[c])
    if after.get("unit_id") is not None:
        after["unit_id"] = str(after["unit_id"])
    conn.execute(
        f"UPDATE inspections SET {', '.join(f'{c} = %s' for c in _INSPECTION_COLS)} WHERE inspection_id = %s",
        [after[c] for c in _INSPECTION_COLS] + [inspection_id],
    )
    old = {c: before[c] for c in _INSPECTION_COLS}
    if old.get("unit_id") is not None:
        old["unit_id"] = str(old["unit_id"])
    for (unit, month, column), n in contribution_delta(old, after).items():
        conn.execute(
            f"INSERT INTO inspection_counts (tenant, unit_id, month, {column}) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (tenant, month, unit_id) DO UPDATE SET {column} = inspection_counts.{column} + EXCLUDED.{column}",
            [event.tenant, unit, month, n],
        )


def on_inspection_scheduled(conn: psycopg.Connection, event: Event) -> None:
    """Planned in the month its window starts."""
    d = event.data
    _change_inspection(conn, event, {"plan_id": d["plan_id"], "unit_id": d["unit_id"], "year": d["year"],
                                     "window_start": d["window_start"], "form": d["form"], "scheduled": True})


def on_inspection_cancelled(conn: psycopg.Connection, event: Event) -> None:
    """No longer planned."""
    _change_inspection(conn, event, {"plan_id": event.data["plan_id"], "cancelled": True})


def on_inspection_started(conn: psycopg.Connection, event: Event) -> None:
    """Started; a surprise inspection counts as a report in its start month."""
    d = event.data
    _change_inspection(conn, event, {"plan_id": d["plan_id"], "unit_id": d["unit_id"], "form": d["form"],
                                     "surprise": d["surprise"] or None, "started_on": d["started_at"]})


def on_inspection_concluded(conn: psycopg.Connection, event: Event) -> None:
    """Done in the month of conclusion; its recommendations kept (discipline included)."""
    d = event.data
    concluded_on = local_date(d["concluded_at"])
    _change_inspection(conn, event, {"plan_id": d["plan_id"], "unit_id": d["unit_id"], "concluded_on": concluded_on})
    for r in d["recommendations"]:
        _insert_once(conn, "recommendations", "recommendation_id", {
            "recommendation_id": r["recommendation_id"], "tenant": event.tenant, "inspection_id": d["inspection_id"],
            "unit_id": d["unit_id"], "finding_id": r["finding_id"], "kind": r["kind"],
            "official_ref": r.get("official_ref"), "discipline_level": r.get("discipline_level"),
            "concluded_on": concluded_on})


def on_inspection_closed(conn: psycopg.Connection, event: Event) -> None:
    """Closed when every remediation is verified."""
    _change_inspection(conn, event, {"unit_id": event.data["unit_id"], "closed_on": event.data["closed_at"]})


# -- findings and checks ----------------------------------------------------------------------
# domain.month_of in SQL: the key of the monthly counters.
_MONTH_OF = "date_trunc('month', {})::date"


@batch_handler
def on_violation_recorded(conn: psycopg.Connection, events: list[Event]) -> None:
    """Each finding once, its counter per unit/month/criterion/severity, and the per-unit sums
    (violation_sums.py), a set of findings at a time."""
    _record_findings(conn, events, violation_sums.HANDLER_STATEMENTS)


@batch_handler
def on_violation_recorded_sums_deferred(conn: psycopg.Connection, events: list[Event]) -> None:
    """on_violation_recorded without the per-unit sums, which a rebuild makes once at its end
    (violation_sums.recount): kept per finding they made the rebuild a third slower."""
    _record_findings(conn, events, {})


def _record_findings(conn: psycopg.Connection, events: list[Event], sums: dict[str, str]) -> None:
    tenant = events[0].tenant
    _units_of_tenant(conn, {e.data["unit_id"] for e in events}, tenant)
    rows = []
    for e in events:
        d = e.data
        rows.append({"finding_id": d["finding_id"], "inspection_id": d["inspection_id"], "unit_id": d["unit_id"],
                     "criterion_code": d["criterion_code"], "severity": d["severity"],
                     "recorded_on": local_date(d["recorded_at"]).isoformat(), "officials_count": d["officials_count"]})
    _insert_facts(conn, "findings", "finding_id", tenant, {
        "finding_id": "uuid", "inspection_id": "uuid", "unit_id": "uuid", "criterion_code": "text", "severity": "text",
        "recorded_on": "date", "officials_count": "integer"}, rows,
        counters={"counted": (
            "INSERT INTO violation_counts (tenant, unit_id, month, criterion_code, severity, n) "
            f"SELECT %(tenant)s, unit_id, {_MONTH_OF.format('recorded_on')}, criterion_code, severity, count(*) FROM new "
            "GROUP BY 2, 3, 4, 5 "
            "ON CONFLICT (tenant, month, unit_id, criterion_code, severity) DO UPDATE SET n = violation_counts.n + EXCLUDED.n"),
            **sums})


@batch_handler
def on_dossier_checked(conn: psycopg.Connection, events: list[Event]) -> None:
    """Each check once, and its counter per unit/month of receipt/field (a set of checks at a time)."""
    tenant = events[0].tenant
    _units_of_tenant(conn, {e.data["unit_id"] for e in events}, tenant)
    rows = []
    for e in events:
        d = e.data
        rows.append({"check_id": d["check_id"], "inspection_id": d["inspection_id"], "unit_id": d["unit_id"],
                     "dossier_code": d["dossier_code"], "field": d["field"],
                     "received_on": local_date(d["received_on"]).isoformat(), "days_late": d["days_late"], "late": d["late"]})
    _insert_facts(conn, "dossier_checks", "check_id", tenant, {
        "check_id": "uuid", "inspection_id": "uuid", "unit_id": "uuid", "dossier_code": "text", "field": "text",
        "received_on": "date", "days_late": "integer", "late": "boolean"}, rows,
        counters={"counted": (
            "INSERT INTO dossier_counts (tenant, unit_id, month, field, checked, late, days_late_sum) "
            f"SELECT %(tenant)s, unit_id, {_MONTH_OF.format('received_on')}, field, count(*), count(*) FILTER (WHERE late), "
            "coalesce(sum(days_late) FILTER (WHERE late), 0) FROM new GROUP BY 2, 3, 4 "
            "ON CONFLICT (tenant, month, unit_id, field) DO UPDATE SET checked = dossier_counts.checked + EXCLUDED.checked, "
            "late = dossier_counts.late + EXCLUDED.late, days_late_sum = dossier_counts.days_late_sum + EXCLUDED.days_late_sum")})


def on_head_assessed(conn: psycopg.Connection, event: Event) -> None:
    """A head's or deputy's assessment (input of the Decree 335 scorecard)."""
    d = event.data
    _unit_of_tenant(conn, d["unit_id"], event.tenant)
    _insert_once(conn, "head_assessments", "assessment_id", {
        "assessment_id": d["assessment_id"], "tenant": event.tenant, "inspection_id": d["inspection_id"],
        "unit_id": d["unit_id"], "official_ref": d["official_ref"], "position": d["position"],
        "task_execution": d["task_execution"], "processing_time": d["processing_time"], "quality": d["quality"],
        "assessed_on": local_date(d["assessed_at"])})


# -- remediation ------------------------------------------------------------------------------
def _remediation(conn: psycopg.Connection, event: Event, extra: dict[str, Any], update: dict[str, str]) -> None:
    d = event.data
    _unit_of_tenant(conn, d["unit_id"], event.tenant)
    row = {"remediation_id": d["remediation_id"], "tenant": event.tenant, "inspection_id": d["inspection_id"],
           "unit_id": d["unit_id"], **extra}
    # The row and its counters per unit and month of deadline (remediation_counts.py).
    if not merge_remediation(conn, row, update):
        raise TenantMismatch(f"remediations {d['remediation_id']} belongs to another tenant")


# Deadlines only move later (extensions), so the latest deadline known wins in any arrival order.
_LATER_DEADLINE = "GREATEST(t.deadline, EXCLUDED.deadline)"


def on_remediation_assigned(conn: psycopg.Connection, event: Event) -> None:
    """Responsible unit, kind and deadline (a later extension keeps its deadline)."""
    d = event.data
    _remediation(conn, event, {"recommendation_id": d["recommendation_id"], "finding_id": d.get("finding_id"),
                               "kind": d["kind"], "deadline": d["deadline"], "assigned_on": local_date(event.time)},
                 {"recommendation_id": "EXCLUDED.recommendation_id", "finding_id": "EXCLUDED.finding_id",
                  "kind": "EXCLUDED.kind", "deadline": _LATER_DEADLINE, "assigned_on": "EXCLUDED.assigned_on"})


def on_remediation_extended(conn: psycopg.Connection, event: Event) -> None:
    """The deadline moves later."""
    _remediation(conn, event, {"deadline": event.data["new_deadline"]}, {"deadline": _LATER_DEADLINE})


def on_remediation_reported(conn: psycopg.Connection, event: Event) -> None:
    """The unit reports it done (or in progress)."""
    done = event.data["progress"] == "done"
    _remediation(conn, event, {"reported_done": done}, {"reported_done": "t.reported_done OR EXCLUDED.reported_done"})


def on_remediation_verified(conn: psycopg.Connection, event: Event) -> None:
    """Accepted: resolved that day; returned: open again."""
    d = event.data
    if d["outcome"] == "accepted":
        _remediation(conn, event, {"deadline": d["deadline"], "accepted_on": local_date(d["verified_at"])},
                     {"deadline": _LATER_DEADLINE, "accepted_on": "EXCLUDED.accepted_on"})
    else:  # returned: the unit must report again
        _remediation(conn, event, {"deadline": d["deadline"], "reported_done": False},
                     {"deadline": _LATER_DEADLINE, "reported_done": "false"})


def on_remediation_overdue(conn: psycopg.Connection, event: Event) -> None:
    """The inspections service flagged it overdue."""
    _remediation(conn, event, {"deadline": event.data["deadline"], "overdue_signalled": True},
                 {"deadline": _LATER_DEADLINE, "overdue_signalled": "true"})


def ignore(_conn: psycopg.Connection, _event: Event) -> None:
    """Events with nothing to count here (calendar, notification delivery): taken and dropped."""


HANDLERS = {
    "unit.changed": on_unit_changed,
    "team.changed": on_team_changed,
    "checklist.published": on_checklist_published,
    "plan.approved": on_plan,
    "plan.amended": on_plan,
    "plan.closed": on_plan_closed,
    "inspection.scheduled": on_inspection_scheduled,
    "inspection.cancelled": on_inspection_cancelled,
    "inspection.started": on_inspection_started,
    "inspection.concluded": on_inspection_concluded,
    "inspection.closed": on_inspection_closed,
    "violation.recorded": on_violation_recorded,
    "dossier.checked": on_dossier_checked,
    "head.assessed": on_head_assessed,
    "remediation.assigned": on_remediation_assigned,
    "remediation.extended": on_remediation_extended,
    "remediation.reported": on_remediation_reported,
    "remediation.verified": on_remediation_verified,
    "remediation.overdue": on_remediation_overdue,
    "calendar.changed": ignore,
    "notification.delivered": ignore,
    "notification.failed": ignore,
}

# What a rebuild applies events with: the same, but the per-unit violation sums are made from the
# counters at its end (rebuild.run), not kept finding by finding.
REBUILD_HANDLERS = {**HANDLERS, "violation.recorded": on_violation_recorded_sums_deferred}

# Tables the handlers write: what a rebuild empties.
READ_MODEL_TABLES = ("units", "unit_versions", "teams", "criteria", "plans", "inspections", "inspection_counts", "findings",
                     "violation_counts", "violation_unit_counts", "violation_pairs", "violation_repeats", "dossier_checks",
                     "dossier_counts", "recommendations", "head_assessments", "remediations", "remediation_counts")
