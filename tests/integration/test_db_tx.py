"""Database.tx: BEGIN and the tenant settings travel together; a pipelined transaction reads results
after its COMMIT and, when a statement fails, raises at the end and leaves nothing behind."""
from __future__ import annotations

import asyncio

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


# -- Database.atx: the same transaction for routes that run on the event loop -------------------------
async def _backend(db: Database, tenant: str = "*") -> int:
    async with db.atx(tenant) as conn:
        return (await (await conn.execute("SELECT pg_backend_pid() AS pid")).fetchone())["pid"]


def test_an_event_loop_transaction_sets_the_tenant_commits_and_reads_after_the_commit(db):
    async def scenario():
        async with db.atx("vinh-long", actor="Trần Văn Bình") as conn:
            got = await conn.execute("SELECT current_setting('app.tenant') AS t, current_setting('app.actor') AS a")
            inserted = await conn.execute("INSERT INTO t VALUES (7) RETURNING id")
        return await got.fetchone(), await inserted.fetchone()

    assert asyncio.run(scenario()) == ({"t": "vinh-long", "a": "Trần Văn Bình"}, {"id": 7})
    assert rows(db) == [7]


def test_an_event_loop_transaction_that_fails_leaves_nothing_and_its_connection_is_used_again(db):
    async def scenario():
        first = await _backend(db)
        with pytest.raises(psycopg.errors.UniqueViolation):
            async with db.atx("*") as conn:
                await conn.execute("INSERT INTO t VALUES (1)")
                await conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(RuntimeError):
            async with db.atx("*") as conn:
                await conn.execute("INSERT INTO t VALUES (2)")
                raise RuntimeError("the caller gave up")
        return first, await _backend(db)

    first, after = asyncio.run(scenario())
    assert rows(db) == [] and first == after


def test_idle_connections_serve_every_event_loop_and_a_broken_one_is_not_kept(db):
    first = asyncio.run(_backend(db))
    assert asyncio.run(_backend(db)) == first  # another loop (the test client runs one), the same connection
    with db.tx("*") as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", [first])
    with pytest.raises(psycopg.OperationalError):
        asyncio.run(_backend(db))
    assert asyncio.run(_backend(db)) not in (first, None)  # a new connection, without a restart


def test_at_most_max_size_connections_per_loop_the_others_wait(db):
    async def hold(n: int, log: list[str]):
        async with db.atx("*") as conn:
            log.append(f"in {n}")
            await conn.execute("SELECT pg_sleep(0.05)")
            await asyncio.sleep(0.05)
            log.append(f"out {n}")

    async def scenario():
        log: list[str] = []
        await asyncio.gather(hold(1, log), hold(2, log))
        return log

    assert asyncio.run(scenario()) == ["in 1", "out 1", "in 2", "out 2"]  # the fixture's pool has max_size=1
