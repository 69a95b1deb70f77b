"""The audit trail's Python side: sealing the hash chain and verifying it (routes: shared/audit_api.py).

Entries are written by triggers (shared/migrations/002_audit.sql) on every tenant table, with the
actor taken from ``app.actor`` (the token's subject, or the event being applied).
"""
from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

def seal(conn: psycopg.Connection, batch: int = 5000) -> int:
    """Chain the entries written since the last seal; returns how many were sealed."""
    with conn.transaction():
        conn.execute("SELECT set_config('app.tenant', '*', true)")
        row = conn.execute("SELECT audit_seal(%s)", [batch]).fetchone()
    return row["audit_seal"] if isinstance(row, dict) else row[0]


def verify(url: str) -> dict:
    """Seal what is pending, then walk the whole chain; ``ok`` is False if any entry was edited or deleted."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        while seal(conn):
            pass
        with conn.transaction():
            conn.execute("SELECT set_config('app.tenant', '*', true)")
            return dict(conn.execute("SELECT * FROM audit_verify()").fetchone())
