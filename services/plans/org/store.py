"""SQL for organisation units and the working calendar; every query filters by tenant as well as RLS."""
from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

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
