"""SQL for checklists, teams, plans, their schedule and frozen versions. Every query names the tenant."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

# A read scope of '*' (central viewers) matches every tenant; RLS applies the same rule underneath.
_T = "(%(tenant)s = '*' OR tenant = %(tenant)s)"


# -- checklists ------------------------------------------------------------------------------------
def insert_checklist(conn: psycopg.Connection, *, tenant: str, checklist_id: str, title: str, key: str | None = None) -> None:
    conn.execute("INSERT INTO checklists (id, tenant, title, key) VALUES (%s, %s, %s, %s)",
                 [checklist_id, tenant, title, key])


def get_checklist(conn, *, tenant: str, checklist_id: str) -> dict | None:
    return conn.execute(f"SELECT * FROM checklists WHERE id = %(id)s AND {_T}",
                        {"id": checklist_id, "tenant": tenant}).fetchone()


def get_checklist_by_key(conn, *, tenant: str, key: str, lock: bool = False) -> dict | None:
    return conn.execute("SELECT * FROM checklists WHERE tenant = %s AND key = %s" + (" FOR UPDATE" if lock else ""),
                        [tenant, key]).fetchone()


def list_checklists(conn, *, tenant: str) -> list[dict]:
    return conn.execute(
        f"SELECT c.id, c.tenant, c.title, c.key, c.created_at, "
        f"(SELECT max(version) FROM checklist_versions v WHERE v.checklist_id = c.id) AS latest_version, "
        f"(SELECT max(version) FROM checklist_versions v WHERE v.checklist_id = c.id AND v.published_at IS NOT NULL) "
        f"AS published_version FROM checklists c WHERE (%(tenant)s = '*' OR c.tenant = %(tenant)s) ORDER BY c.created_at, c.id",
        {"tenant": tenant}).fetchall()


def insert_checklist_version(conn, *, tenant: str, checklist_id: str, version: int, title: str, criteria: list[dict],
                             published_at: datetime | None) -> None:
    conn.execute(
        "INSERT INTO checklist_versions (tenant, checklist_id, version, title, criteria, published_at) "
        "VALUES (%s, %s, %s, %s, %s, %s)", [tenant, checklist_id, version, title, Jsonb(criteria), published_at])


def next_checklist_version(conn, *, tenant: str, checklist_id: str) -> int:
    # Locks the checklist so two concurrent new versions do not take the same number.
    conn.execute("SELECT 1 FROM checklists WHERE id = %s AND tenant = %s FOR UPDATE", [checklist_id, tenant])
    row = conn.execute("SELECT coalesce(max(version), 0) + 1 AS n FROM checklist_versions WHERE checklist_id = %s AND tenant = %s",
                       [checklist_id, tenant]).fetchone()
    return row["n"]


def get_checklist_version(conn, *, tenant: str, checklist_id: str, version: int | None = None,
                          published_only: bool = False, lock: bool = False) -> dict | None:
    """One version, or the latest (published, if asked) when ``version`` is None."""
    clauses = [f"checklist_id = %(id)s", _T]
    if version is not None:
        clauses.append("version = %(version)s")
    if published_only:
        clauses.append("published_at IS NOT NULL")
    sql = f"SELECT * FROM checklist_versions WHERE {' AND '.join(clauses)} ORDER BY version DESC LIMIT 1"
    return conn.execute(sql + (" FOR UPDATE" if lock else ""),
                        {"id": checklist_id, "tenant": tenant, "version": version}).fetchone()


def list_checklist_versions(conn, *, tenant: str, checklist_id: str) -> list[dict]:
    return conn.execute(f"SELECT version, title, published_at, created_at, jsonb_array_length(criteria) AS criteria "
                        f"FROM checklist_versions WHERE checklist_id = %(id)s AND {_T} ORDER BY version",
                        {"id": checklist_id, "tenant": tenant}).fetchall()


def update_checklist_version(conn, *, tenant: str, checklist_id: str, version: int, title: str | None = None,
                             criteria: list[dict] | None = None, published_at: datetime | None = None) -> None:
    conn.execute(
        "UPDATE checklist_versions SET title = coalesce(%s, title), criteria = coalesce(%s, criteria), "
        "published_at = coalesce(%s, published_at) WHERE checklist_id = %s AND version = %s AND tenant = %s",
        [title, Jsonb(criteria) if criteria is not None else None, published_at, checklist_id, version, tenant])


# -- teams -------------------------------------------------------------------------------------------
def insert_team(conn, *, tenant: str, team_id: str, name: str, lead_unit_id: str, leader: dict, members: list[dict],
                now: datetime) -> None:
    conn.execute(
        "INSERT INTO teams (id, tenant, name, lead_unit_id, leader, members, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [team_id, tenant, name, lead_unit_id, Jsonb(leader), Jsonb(members), now, now])


def update_team(conn, *, tenant: str, team_id: str, name: str, lead_unit_id: str, leader: dict, members: list[dict],
                now: datetime) -> None:
    conn.execute(
        "UPDATE teams SET name = %s, lead_unit_id = %s, leader = %s, members = %s, revision = revision + 1, "
        "updated_at = %s WHERE id = %s AND tenant = %s",
        [name, lead_unit_id, Jsonb(leader), Jsonb(members), now, team_id, tenant])


def get_team(conn, *, tenant: str, team_id: str, lock: bool = False) -> dict | None:
    return conn.execute(f"SELECT * FROM teams WHERE id = %(id)s AND {_T}" + (" FOR UPDATE" if lock else ""),
                        {"id": team_id, "tenant": tenant}).fetchone()


def get_teams(conn, *, tenant: str, team_ids: list[str]) -> dict[str, dict]:
    rows = conn.execute(f"SELECT * FROM teams WHERE id = ANY(%(ids)s::uuid[]) AND {_T}",
                        {"ids": list(team_ids), "tenant": tenant}).fetchall()
    return {str(r["id"]): r for r in rows}


def list_teams(conn, *, tenant: str, limit: int, offset: int = 0) -> list[dict]:
    return conn.execute(f"SELECT * FROM teams WHERE {_T} ORDER BY name, id LIMIT %(limit)s OFFSET %(offset)s",
                        {"tenant": tenant, "limit": limit, "offset": offset}).fetchall()


# -- plans -------------------------------------------------------------------------------------------
def insert_plan(conn, *, tenant: str, plan_id: str, year: int, type: str, body: dict, now: datetime) -> None:
    conn.execute("INSERT INTO plans (id, tenant, year, type, body, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                 [plan_id, tenant, year, type, Jsonb(body), now, now])


def get_plan(conn, *, tenant: str, plan_id: str, lock: bool = False) -> dict | None:
    return conn.execute(f"SELECT * FROM plans WHERE id = %(id)s AND {_T}" + (" FOR UPDATE" if lock else ""),
                        {"id": plan_id, "tenant": tenant}).fetchone()


def list_plans(conn, *, tenant: str, year: int | None, status: str | None, limit: int, offset: int = 0) -> list[dict]:
    return conn.execute(
        f"SELECT * FROM plans WHERE {_T} AND (%(year)s::int IS NULL OR year = %(year)s) "
        f"AND (%(status)s::text IS NULL OR status = %(status)s) ORDER BY year DESC, created_at, id "
        f"LIMIT %(limit)s OFFSET %(offset)s",
        {"tenant": tenant, "year": year, "status": status, "limit": limit, "offset": offset}).fetchall()


def update_plan(conn, *, tenant: str, plan_id: str, now: datetime, **changes: Any) -> None:
    """Set the given columns (year, type, status, version, body, decision, closed_on) and bump the revision."""
    allowed = {"year", "type", "status", "version", "body", "decision", "closed_on"}
    assert set(changes) <= allowed, set(changes) - allowed
    sets = ", ".join(f"{k} = %({k})s" for k in changes)
    params = {k: Jsonb(v) if k in ("body", "decision") and v is not None else v for k, v in changes.items()}
    conn.execute(f"UPDATE plans SET {sets + ', ' if sets else ''}revision = revision + 1, updated_at = %(now)s "
                 f"WHERE id = %(id)s AND tenant = %(tenant)s", {**params, "now": now, "id": plan_id, "tenant": tenant})


def insert_inspection(conn, *, tenant: str, plan_id: str, inspection_id: str, unit_id: str, window_start: date,
                      window_end: date, form: str, team_id: str | None, note: str | None) -> None:
    conn.execute(
        "INSERT INTO planned_inspections (id, tenant, plan_id, unit_id, window_start, window_end, form, team_id, note) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [inspection_id, tenant, plan_id, unit_id, window_start, window_end, form, team_id, note])


def delete_inspection(conn, *, tenant: str, plan_id: str, inspection_id: str) -> bool:
    cur = conn.execute("DELETE FROM planned_inspections WHERE id = %s AND plan_id = %s AND tenant = %s",
                       [inspection_id, plan_id, tenant])
    return cur.rowcount == 1


def list_inspections(conn, *, tenant: str, plan_id: str) -> list[dict]:
    return conn.execute(
        f"SELECT id, unit_id, window_start, window_end, form, team_id, note FROM planned_inspections "
        f"WHERE plan_id = %(id)s AND {_T} ORDER BY window_start, created_at, id",
        {"id": plan_id, "tenant": tenant}).fetchall()


def insert_plan_version(conn, *, tenant: str, plan_id: str, version: int, status: str, decision: dict,
                        reason: str | None, snapshot: dict, now: datetime) -> None:
    conn.execute(
        "INSERT INTO plan_versions (tenant, plan_id, version, status, decision, reason, snapshot, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        [tenant, plan_id, version, status, Jsonb(decision), reason, Jsonb(snapshot), now])


def list_plan_versions(conn, *, tenant: str, plan_id: str) -> list[dict]:
    return conn.execute(f"SELECT version, status, decision, reason, snapshot, created_at FROM plan_versions "
                        f"WHERE plan_id = %(id)s AND {_T} ORDER BY version", {"id": plan_id, "tenant": tenant}).fetchall()


def schedule_counts(conn, *, tenant: str, start: date, end: date) -> list[dict]:
    """Inspections of approved (or amended, closed) plans whose window starts in [start, end], by form."""
    return conn.execute(
        f"SELECT i.form, count(*) AS inspections, count(DISTINCT i.unit_id) AS units, "
        f"array_agg(DISTINCT i.unit_id::text) AS unit_ids FROM planned_inspections i JOIN plans p ON p.id = i.plan_id "
        f"WHERE (%(tenant)s = '*' OR i.tenant = %(tenant)s) AND p.status <> 'draft' "
        f"AND i.window_start BETWEEN %(start)s AND %(end)s GROUP BY i.form ORDER BY i.form",
        {"tenant": tenant, "start": start, "end": end}).fetchall()


def find_plan(conn, *, tenant: str, year: int, title: str) -> dict | None:
    """The plan of ``year`` with exactly this title (the demo plan is found again rather than made twice)."""
    return conn.execute("SELECT * FROM plans WHERE tenant = %s AND year = %s AND body->>'title' = %s ORDER BY created_at LIMIT 1",
                        [tenant, year, title]).fetchone()


def find_team(conn, *, tenant: str, name: str) -> dict | None:
    return conn.execute("SELECT * FROM teams WHERE tenant = %s AND name = %s ORDER BY created_at LIMIT 1",
                        [tenant, name]).fetchone()
