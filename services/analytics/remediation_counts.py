"""Remediation rows, and their counters per responsible unit and month of deadline moved by difference.

Events of a remediation come from several topics in any order (a verification may precede the
assignment, an extension may come last and move the deadline to another month), so a counter is
never "incremented on event X": the row is locked, merged, and the counters move by what the row
contributed before and after (domain.remediation_contributions). Whatever the order, the counters
equal RECOUNT of the rows.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import psycopg

from services.analytics.domain import contribution_delta, remediation_contributions

COLUMNS = ("total", "on_time", "late")

# The counters summed from the rows with the handlers' rule: what the migration and the benchmark's
# fill insert, and what the tests compare the handlers' counters with.
RECOUNT = ("SELECT tenant, unit_id, date_trunc('month', deadline)::date AS month, count(*)::int AS total, "
           "(count(*) FILTER (WHERE accepted_on <= deadline))::int AS on_time, "
           "(count(*) FILTER (WHERE accepted_on > deadline))::int AS late "
           "FROM remediations WHERE deadline IS NOT NULL GROUP BY 1, 2, 3")


def merge(conn: psycopg.Connection, row: dict[str, Any], update: dict[str, str]) -> bool:
    """Merge ``row`` into the remediation (``update``: column -> SQL expression on EXCLUDED/t) and move
    the counters; False when the remediation belongs to another tenant (nothing changed)."""
    key, tenant = row["remediation_id"], row["tenant"]
    # A blank row first (no deadline: it counts for nothing), so two writers of a new remediation (the
    # live consumer and a rebuild) queue on its lock instead of one failing on the primary key, and
    # the row read below is the one the update changes.
    conn.execute("INSERT INTO remediations (remediation_id, tenant, inspection_id, unit_id) VALUES (%s, %s, %s, %s) "
                 "ON CONFLICT DO NOTHING", [key, tenant, row["inspection_id"], row["unit_id"]])
    before = conn.execute("SELECT unit_id, deadline, accepted_on FROM remediations WHERE remediation_id = %s "
                          "AND tenant = %s FOR UPDATE", [key, tenant]).fetchone()
    if before is None:  # row-level security hides another tenant's row
        return False
    cols = list(row)
    after = conn.execute(
        f"INSERT INTO remediations AS t ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
        f"ON CONFLICT (remediation_id) DO UPDATE SET {', '.join(f'{c} = {e}' for c, e in update.items())} "
        f"RETURNING unit_id, deadline, accepted_on", [row[c] for c in cols]).fetchone()
    _move(conn, tenant, contribution_delta(before, after, remediation_contributions))
    return True


def _move(conn: psycopg.Connection, tenant: str, delta: dict[tuple, int]) -> None:
    """Add ``delta`` ({(unit, month, column): n}) to the counters in one statement."""
    if not delta:
        return
    rows: dict[tuple, dict[str, int]] = defaultdict(dict)
    for (unit, month, column), n in delta.items():
        rows[(unit, month)][column] = n
    # One row per key (an upsert may not touch a row twice), in key order so that concurrent writers
    # lock counters in the same order.
    values = [[tenant, unit, month, *(per.get(c, 0) for c in COLUMNS)] for (unit, month), per in sorted(rows.items())]
    conn.execute(
        f"INSERT INTO remediation_counts AS c (tenant, unit_id, month, {', '.join(COLUMNS)}) VALUES "
        + ", ".join(["(%s, %s::uuid, %s::date, %s, %s, %s)"] * len(values))
        + " ON CONFLICT (tenant, month, unit_id) DO UPDATE SET "
        + ", ".join(f"{c} = c.{c} + EXCLUDED.{c}" for c in COLUMNS),
        [v for row in values for v in row])
