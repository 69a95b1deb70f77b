"""SQL for organisation units and the working calendar; every query filters by tenant as well as RLS."""
from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from services.plans.org.domain import Version, fold

# The columns of a unit version as the domain reads them.
_VERSION_COLUMNS = ("v.unit_id::text AS unit_id, v.valid_from, v.valid_to, v.code, v.name, v.level, v.kind, "
                    "v.parent_id::text AS parent_id, v.successor_id::text AS successor_id, v.contacts, v.change")


def units_as_of(conn: psycopg.Connection, tenant: str, as_of: date) -> list[dict[str, Any]]:
    """The units valid on ``as_of`` (id, code, name, level, kind, parent_id; ids as strings), ordered by level, name."""
    return conn.execute(
        "SELECT v.unit_id::text AS id, v.code, v.name, v.level, v.kind, v.parent_id::text AS parent_id "
        "FROM unit_versions v WHERE v.tenant = %(t)s AND v.valid_from <= %(d)s "
        "AND (v.valid_to IS NULL OR v.valid_to >= %(d)s) ORDER BY v.level, v.name, v.unit_id",
        {"t": tenant, "d": as_of},
    ).fetchall()


def _version(row: dict[str, Any]) -> Version:
    return Version(unit_id=row["unit_id"], valid_from=row["valid_from"], valid_to=row["valid_to"], name=row["name"],
                   level=row["level"], kind=row["kind"], code=row["code"], parent_id=row["parent_id"],
                   successor_id=row["successor_id"], contacts=tuple(row["contacts"] or ()), change=row["change"])


def history(conn: psycopg.Connection, tenant: str, unit_id: str, *, lock: bool = False) -> list[Version]:
    """All versions of a unit, oldest first ([] if it does not exist for this tenant); ``lock`` serialises changes."""
    if lock:
        if not conn.execute("SELECT 1 FROM units WHERE id = %s AND tenant = %s FOR UPDATE", [unit_id, tenant]).fetchone():
            return []
    rows = conn.execute(f"SELECT {_VERSION_COLUMNS} FROM unit_versions v WHERE v.unit_id = %s AND v.tenant = %s "
                        "ORDER BY v.valid_from", [unit_id, tenant]).fetchall()
    return [_version(r) for r in rows]


def ended(conn: psycopg.Connection, tenant: str, unit_id: str) -> str | None:
    row = conn.execute("SELECT ended FROM units WHERE id = %s AND tenant = %s", [unit_id, tenant]).fetchone()
    return row["ended"] if row else None


def version_as_of(conn: psycopg.Connection, tenant: str, unit_id: str, day: date) -> Version | None:
    """The version of ``unit_id`` in force on ``day``, or None."""
    row = conn.execute(f"SELECT {_VERSION_COLUMNS} FROM unit_versions v WHERE v.unit_id = %(u)s AND v.tenant = %(t)s "
                       "AND v.valid_from <= %(d)s AND (v.valid_to IS NULL OR v.valid_to >= %(d)s)",
                       {"u": unit_id, "t": tenant, "d": day}).fetchone()
    return _version(row) if row else None


def parent_of_as_of(conn: psycopg.Connection, tenant: str, day: date):
    """A lookup ``unit_id -> parent_id`` on ``day`` (for walking up the tree)."""
    def parent_of(unit_id: str) -> str | None:
        v = version_as_of(conn, tenant, unit_id, day)
        return v.parent_id if v else None
    return parent_of


def active_children(conn: psycopg.Connection, tenant: str, unit_id: str, day: date) -> list[str]:
    """Ids of units whose version in force on ``day`` (or starting later) sits under ``unit_id``."""
    rows = conn.execute("SELECT DISTINCT v.unit_id::text AS id FROM unit_versions v WHERE v.tenant = %(t)s "
                        "AND v.parent_id = %(u)s AND (v.valid_to IS NULL OR v.valid_to >= %(d)s) ORDER BY 1",
                        {"t": tenant, "u": unit_id, "d": day}).fetchall()
    return [r["id"] for r in rows]


def insert_unit(conn: psycopg.Connection, tenant: str, version: Version) -> None:
    """Create the identity row and the first version of a new unit."""
    conn.execute("INSERT INTO units (id, tenant) VALUES (%s, %s)", [version.unit_id, tenant])
    _insert_version(conn, tenant, version)


def unit_exists(conn: psycopg.Connection, tenant: str, unit_id: str) -> bool:
    return conn.execute("SELECT 1 FROM units WHERE id = %s AND tenant = %s", [unit_id, tenant]).fetchone() is not None


def _insert_version(conn: psycopg.Connection, tenant: str, v: Version) -> None:
    conn.execute(
        "INSERT INTO unit_versions (unit_id, tenant, valid_from, valid_to, code, name, level, kind, parent_id, "
        "successor_id, contacts, change, search_name) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [v.unit_id, tenant, v.valid_from, v.valid_to, v.code, v.name, v.level, v.kind, v.parent_id, v.successor_id,
         Jsonb(list(v.contacts)), v.change, fold(v.name)],
    )


def save_history(conn: psycopg.Connection, tenant: str, old: list[Version], new: list[Version],
                 *, ended_as: str | None = None) -> None:
    """Write the versions that differ between ``old`` and ``new`` (the domain only touches the tail)."""
    unit_id = new[0].unit_id
    keep = 0
    while keep < min(len(old), len(new)) and old[keep] == new[keep]:
        keep += 1
    if keep < len(old):
        conn.execute("DELETE FROM unit_versions WHERE unit_id = %s AND tenant = %s AND valid_from >= %s",
                     [unit_id, tenant, old[keep].valid_from])
    for v in new[keep:]:
        _insert_version(conn, tenant, v)
    if ended_as:
        conn.execute("UPDATE units SET ended = %s WHERE id = %s AND tenant = %s", [ended_as, unit_id, tenant])


def predecessors(conn: psycopg.Connection, tenant: str, unit_id: str) -> list[dict[str, Any]]:
    """Units merged into ``unit_id`` (their last version names it as successor)."""
    return conn.execute("SELECT v.unit_id::text AS id, v.code, v.name, v.valid_to AS last_day FROM unit_versions v "
                        "WHERE v.tenant = %s AND v.successor_id = %s ORDER BY v.name", [tenant, unit_id]).fetchall()


def list_units(conn: psycopg.Connection, tenant: str, as_of: date, *, level: int | None = None,
               kind: str | None = None, q: str | None = None, limit: int = 100, offset: int = 0
               ) -> tuple[list[dict[str, Any]], int]:
    """One page of units valid on ``as_of`` matching the filters, and the total count ('*' = every tenant)."""
    clauses = ["(%(t)s = '*' OR v.tenant = %(t)s)", "v.valid_from <= %(d)s", "(v.valid_to IS NULL OR v.valid_to >= %(d)s)"]
    params: dict[str, Any] = {"t": tenant, "d": as_of, "limit": limit, "offset": offset}
    if level is not None:
        clauses.append("v.level = %(level)s")
        params["level"] = level
    if kind:
        clauses.append("v.kind = %(kind)s")
        params["kind"] = kind
    if q:
        # With or without diacritics: the folded name matches the folded query.
        clauses.append("(v.name ILIKE %(q)s OR v.search_name LIKE %(qfold)s OR v.code = %(qexact)s)")
        params["q"] = "%" + _like(q) + "%"
        params["qfold"] = "%" + _like(fold(q)) + "%"
        params["qexact"] = q
    where = " AND ".join(clauses)
    total = conn.execute(f"SELECT count(*) AS n FROM unit_versions v WHERE {where}", params).fetchone()["n"]
    rows = conn.execute(
        f"SELECT v.tenant, v.unit_id::text AS id, v.code, v.name, v.level, v.kind, v.parent_id::text AS parent_id, "
        f"v.valid_from AS version_from, v.valid_to AS version_to FROM unit_versions v WHERE {where} "
        "ORDER BY v.level, v.name, v.unit_id LIMIT %(limit)s OFFSET %(offset)s", params).fetchall()
    return rows, total


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def export_rows(conn: psycopg.Connection, tenant: str, as_of: date) -> list[dict[str, Any]]:
    """Units valid on ``as_of`` with their parent's code, lifetime and head, parents before children."""
    return conn.execute(
        """
        WITH cur AS (
            SELECT v.* FROM unit_versions v WHERE v.tenant = %(t)s AND v.valid_from <= %(d)s
              AND (v.valid_to IS NULL OR v.valid_to >= %(d)s)
        ), life AS (
            SELECT unit_id, min(valid_from) AS valid_from,
                   CASE WHEN bool_or(valid_to IS NULL) THEN NULL ELSE max(valid_to) END AS valid_to
            FROM unit_versions WHERE tenant = %(t)s GROUP BY unit_id
        )
        SELECT cur.code, cur.name, cur.level, cur.kind, p.code AS parent_code, life.valid_from, life.valid_to,
               (SELECT c->>'name' FROM jsonb_array_elements(cur.contacts) c WHERE c->>'role' = 'head' LIMIT 1) AS head_name,
               (SELECT c->>'email' FROM jsonb_array_elements(cur.contacts) c WHERE c->>'role' = 'head' LIMIT 1) AS head_email
        FROM cur JOIN life ON life.unit_id = cur.unit_id
        LEFT JOIN cur p ON p.unit_id = cur.parent_id
        ORDER BY cur.level, cur.code NULLS LAST, cur.name
        """, {"t": tenant, "d": as_of}).fetchall()


def find_by_code(conn: psycopg.Connection, tenant: str, code: str, day: date) -> Version | None:
    """The unit carrying official ``code`` on ``day`` (codes are reused over time, never at the same time)."""
    row = conn.execute(f"SELECT {_VERSION_COLUMNS} FROM unit_versions v WHERE v.tenant = %(t)s AND v.code = %(c)s "
                       "AND v.valid_from <= %(d)s AND (v.valid_to IS NULL OR v.valid_to >= %(d)s) LIMIT 1",
                       {"t": tenant, "c": code, "d": day}).fetchone()
    return _version(row) if row else None


def codes_in_use(conn: psycopg.Connection, tenant: str, codes: list[str]) -> list[dict[str, Any]]:
    """Existing versions carrying any of ``codes`` (with their periods), for import checks."""
    return conn.execute("SELECT v.code, v.valid_from, v.valid_to, v.unit_id::text AS unit_id FROM unit_versions v "
                        "WHERE v.tenant = %s AND v.code = ANY(%s)", [tenant, codes]).fetchall()


# -- the working calendar ------------------------------------------------------------------------------
def calendar_year(conn: psycopg.Connection, tenant: str, year: int) -> dict[str, Any] | None:
    return conn.execute("SELECT year, days_off, working_days, version, updated_at FROM calendar_years "
                        "WHERE tenant = %s AND year = %s", [tenant, year]).fetchone()


def put_calendar_year(conn: psycopg.Connection, tenant: str, year: int, days_off: list[dict], working_days: list[str]
                      ) -> dict[str, Any]:
    """Replace a year's declarations; returns the stored row (version incremented)."""
    return conn.execute(
        "INSERT INTO calendar_years (tenant, year, days_off, working_days) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (tenant, year) DO UPDATE SET days_off = EXCLUDED.days_off, working_days = EXCLUDED.working_days, "
        "version = calendar_years.version + 1, updated_at = now() "
        "RETURNING year, days_off, working_days, version, updated_at",
        [tenant, year, Jsonb(days_off), Jsonb(working_days)]).fetchone()
