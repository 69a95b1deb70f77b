"""Database.tx: BEGIN and the tenant settings travel together; a pipelined transaction reads results
after its COMMIT and, when a statement fails, raises at the end and leaves nothing behind."""
from __future__ import annotations

import psycopg
import pytest

from shared.db import Database


@pytest.fixture
def db(make_database):
    database = Database(make_database("dbtx"), max_size=1).open()  # one connection: each test reuses it
    with database.tx("*") as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    yield database
    database.close()


def rows(db: Database) -> list[int]:
    with db.tx("*") as conn:
        return [r["id"] for r in conn.execute("SELECT id FROM t ORDER BY id")]


@pytest.mark.parametrize("pipeline", [False, True])
def test_settings_are_local_to_the_transaction(db, pipeline):
    with db.tx("vinh-long", actor="someone", pipeline=pipeline) as conn:
        got = conn.execute("SELECT current_setting('app.tenant') AS t, current_setting('app.actor') AS a").fetchone()
    assert got == {"t": "vinh-long", "a": "someone"}
    with db.tx(None) as conn:
        assert conn.execute("SELECT current_setting('app.tenant', true) AS t").fetchone()["t"] in ("", None)


def test_quotes_in_a_tenant_are_data_not_sql(db):
    with db.tx("x'); DROP TABLE t; --") as conn:
        assert conn.execute("SELECT current_setting('app.tenant') AS t").fetchone()["t"] == "x'); DROP TABLE t; --"
    assert rows(db) == []


@pytest.mark.parametrize("pipeline", [False, True])
def test_a_failure_rolls_everything_back_and_the_connection_stays_usable(db, pipeline):
    with pytest.raises(psycopg.errors.UniqueViolation):
        with db.tx("*", pipeline=pipeline) as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            conn.execute("INSERT INTO t VALUES (1)")
    assert rows(db) == []
    with pytest.raises(RuntimeError):
        with db.tx("*", pipeline=pipeline) as conn:
            conn.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("the caller gave up")
    assert rows(db) == []


def test_a_pipelined_result_is_read_after_the_commit(db):
    with db.tx("*", pipeline=True) as conn:
        inserted = conn.execute("INSERT INTO t VALUES (5) RETURNING id")
        conn.execute("INSERT INTO t VALUES (6)")
    assert inserted.fetchone() == {"id": 5}
    assert rows(db) == [5, 6]
