"""Local copies of the plans service's reference data: units, teams, checklists, the tenant calendar."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

import psycopg

from shared.calendar import WorkingCalendar


class TenantMismatch(ValueError):
    """An event would touch a record that belongs to another tenant."""


def _guard_tenant(conn: psycopg.Connection, table: str, key: str, value: Any, tenant: str) -> None:
    # Row-level security already hides other tenants' rows and makes an upsert onto them fail; this
    # check names the reason when the caller runs with wider visibility (system work, '*').
    row = conn.execute(f"SELECT tenant FROM {table} WHERE {key} = %s", [value]).fetchone()
    if row is not None and row["tenant"] != tenant:
        raise TenantMismatch(f"{table} {value} belongs to another tenant")


def upsert_unit(conn: psycopg.Connection, tenant: str, d: dict[str, Any]) -> None:
    """Keep the latest state of a unit, with its validity and successor (merges keep both ends)."""
    _guard_tenant(conn, "units", "id", d["unit_id"], tenant)
    conn.execute(
        "INSERT INTO units (id, tenant, code, name, level, kind, parent_id, valid_from, valid_to, successor_id, last_change, contacts) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO UPDATE SET code = excluded.code, name = excluded.name, "
        "level = excluded.level, kind = excluded.kind, parent_id = excluded.parent_id, valid_from = excluded.valid_from, "
        "valid_to = excluded.valid_to, successor_id = excluded.successor_id, last_change = excluded.last_change, "
        "contacts = excluded.contacts, updated_at = now()",
        [d["unit_id"], tenant, d.get("code"), d["name"], d["level"], d["kind"], d["parent_id"], d["valid_from"],
         d["valid_to"], d["successor_id"], d["change"], json.dumps(d.get("contacts") or [], ensure_ascii=False)],
    )


def upsert_team(conn: psycopg.Connection, tenant: str, d: dict[str, Any]) -> None:
    _guard_tenant(conn, "teams", "id", d["team_id"], tenant)
    conn.execute(
        "INSERT INTO teams (id, tenant, name, lead_unit_id, leader, members) VALUES (%s,%s,%s,%s,%s,%s) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, lead_unit_id = excluded.lead_unit_id, "
        "leader = excluded.leader, members = excluded.members, updated_at = now()",
        [d["team_id"], tenant, d["name"], d["lead_unit_id"], json.dumps(d["leader"], ensure_ascii=False),
         json.dumps(d["members"], ensure_ascii=False)],
    )


def upsert_checklist(conn: psycopg.Connection, tenant: str, d: dict[str, Any]) -> None:
    _guard_tenant(conn, "checklists", "id", d["checklist_id"], tenant)
    conn.execute(
        "INSERT INTO checklists (id, version, tenant, title, criteria) VALUES (%s,%s,%s,%s,%s) "
        "ON CONFLICT (id, version) DO UPDATE SET title = excluded.title, criteria = excluded.criteria",
        [d["checklist_id"], d["version"], tenant, d["title"], json.dumps(d["criteria"], ensure_ascii=False)],
    )


def upsert_calendar(conn: psycopg.Connection, tenant: str, d: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO calendars (tenant, year, days_off, working_days) VALUES (%s,%s,%s,%s) "
        "ON CONFLICT (tenant, year) DO UPDATE SET days_off = excluded.days_off, working_days = excluded.working_days",
        [tenant, d["year"], json.dumps(d["days_off"], ensure_ascii=False), json.dumps(d["working_days"])],
    )


def unit(conn: psycopg.Connection, tenant: str, unit_id: str) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM units WHERE tenant = %s AND id = %s", [tenant, unit_id]).fetchone()


def team(conn: psycopg.Connection, tenant: str, team_id: str) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM teams WHERE tenant = %s AND id = %s", [tenant, team_id]).fetchone()


def checklist_codes(conn: psycopg.Connection, tenant: str, checklist_id: str, version: int | None) -> set[str] | None:
    """Criterion codes of a checklist version (latest when no version), None when not replicated yet."""
    row = conn.execute(
        "SELECT criteria FROM checklists WHERE tenant = %s AND id = %s AND (%s::int IS NULL OR version = %s) "
        "ORDER BY version DESC LIMIT 1", [tenant, checklist_id, version, version],
    ).fetchone()
    return None if row is None else {c["code"] for c in row["criteria"]}


def calendar(conn: psycopg.Connection, tenant: str, *years: int) -> WorkingCalendar:
    """National holidays plus the days the province declared off or working (from calendar.changed)."""
    rows = conn.execute("SELECT year, days_off, working_days FROM calendars WHERE tenant = %s", [tenant]).fetchall()
    days_off = [date.fromisoformat(x["date"]) for r in rows for x in r["days_off"]]
    working = [date.fromisoformat(x) for r in rows for x in r["working_days"]]
    span = set(years) | {r["year"] for r in rows}
    return WorkingCalendar.vietnam(span or {date.today().year}, days_off=days_off, working_days=working)
