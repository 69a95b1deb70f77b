"""PostgreSQL access: a pool whose transactions are scoped to one tenant, migrations, provisioning."""
from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import weakref
from collections import deque
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import AsyncIterator, Iterator

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

# Who is acting, for the audit trail: set per request (token subject) or per consumed event.
actor_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("actor", default=None)

BACKBONE_MIGRATIONS = Path(__file__).parent / "migrations"
# The tenant value that lets system processes (relay, central read-only views) see every tenant.
ALL_TENANTS = "*"


_BEGIN = sql.SQL("BEGIN; SELECT set_config('app.tenant', {}, true), set_config('app.actor', {}, true)")
_SET_CONTEXT = "SELECT set_config('app.tenant', %s, true), set_config('app.actor', %s, true)"


def _rollback_quietly(conn: psycopg.Connection) -> None:
    """End a failed transaction; a broken connection is left for the pool to discard."""
    try:
        conn.execute("ROLLBACK")
    except psycopg.Error:
        pass


async def _arollback_quietly(conn: psycopg.AsyncConnection) -> None:
    try:
        await conn.execute("ROLLBACK")
    except psycopg.Error:
        pass


class AsyncConnections:
    """Connections for routes that run on the event loop, at most ``max_size`` in use per loop.

    A route that does its database work in a thread costs the API process a thread hop, and every
    thread that runs competes with the event loop for the GIL: the loop, which serves every request,
    lets go of the GIL each time it waits for sockets and then waits for a running thread to give it
    back. The hottest write route runs on the loop instead (see ``Database.atx``).

    Not psycopg_pool's AsyncConnectionPool: that one belongs to the event loop it was opened in, and an
    app may be served from several (the test client runs one, the console's tests call a service's app
    from their own). An idle psycopg AsyncConnection belongs to no loop, so idle ones are shared and
    only the limit is kept per loop. Connections are opened when needed and kept while idle; a broken
    one, or one left inside a transaction, is closed instead of kept.
    """

    def __init__(self, url: str, max_size: int):
        self.url, self.max_size = url, max_size
        self._idle: deque[psycopg.AsyncConnection] = deque()
        self._limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
        self._closed = False

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        loop = asyncio.get_running_loop()
        limit = self._limits.get(loop)
        if limit is None:
            limit = self._limits[loop] = asyncio.Semaphore(self.max_size)
        async with limit:
            conn = await self._take()
            try:
                yield conn
            finally:
                if self._closed or conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.pgconn.finish()
                else:
                    self._idle.append(conn)

    async def _take(self) -> psycopg.AsyncConnection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        return await psycopg.AsyncConnection.connect(self.url, autocommit=True, row_factory=dict_row)

    def close(self) -> None:
        """Close the idle connections (those in use are closed when given back after this)."""
        self._closed = True
        while self._idle:
            self._idle.pop().pgconn.finish()


class Database:
    """A connection pool; every unit of work is one transaction with ``app.tenant`` set for RLS."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, name: str = "db"):
        self.url = url
        # For the routes that run on the event loop; opens nothing until one asks.
        self.aio = AsyncConnections(url, max_size)
        self.pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True, "row_factory": dict_row},
            open=False,
            name=name,
        )

    def open(self, wait: bool = True, timeout: float = 30.0) -> "Database":
        self.pool.open(wait=wait, timeout=timeout)
        return self

    def close(self) -> None:
        self.pool.close()
        self.aio.close()

    @contextmanager
    def tx(self, tenant: str | None, actor: str | None = None, *, pipeline: bool = False) -> Iterator[psycopg.Connection]:
        """One transaction; row-level security sees only ``tenant`` (``'*'`` for system work).

        ``actor`` (default: the current request's token subject) is what the audit trail records.
        With ``pipeline`` the whole transaction runs in psycopg's pipeline mode: statements are sent
        when a result is first read, and the rest with the COMMIT, so a hot path written as "queue,
        then read" costs one round trip per read. Errors then surface at that read or at the end of
        the block, not at the statement that caused them.
        """
        if pipeline:
            with self._pipelined(tenant, actor) as conn:
                yield conn
            return
        with self.pool.connection() as conn:
            # BEGIN and the settings go in one round trip (a simple query may hold several statements;
            # the values are quoted by the driver): every request saves one trip to the server.
            conn.execute(_BEGIN.format(sql.Literal(tenant or ""), sql.Literal(actor or actor_var.get() or "system")))
            try:
                yield conn
            except BaseException:
                _rollback_quietly(conn)
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _pipelined(self, tenant: str | None, actor: str | None) -> Iterator[psycopg.Connection]:
        with self.pool.connection() as conn:
            try:
                with conn.pipeline():
                    conn.execute("BEGIN")
                    conn.execute(_SET_CONTEXT, [tenant or "", actor or actor_var.get() or "system"])
                    yield conn
                    conn.execute("COMMIT")
            except BaseException:
                _rollback_quietly(conn)
                raise

    @asynccontextmanager
    async def atx(self, tenant: str | None, actor: str | None = None) -> AsyncIterator[psycopg.AsyncConnection]:
        """``tx(tenant, actor, pipeline=True)`` for a route that runs on the event loop: the same
        pipelined transaction on an :class:`AsyncConnections` connection, every statement awaited."""
        async with self.aio.connection() as conn:
            try:
                async with conn.pipeline():
                    await conn.execute("BEGIN")
                    await conn.execute(_SET_CONTEXT, [tenant or "", actor or actor_var.get() or "system"])
                    yield conn
                    await conn.execute("COMMIT")
            except BaseException:
                await _arollback_quietly(conn)
                raise

    def ping(self) -> bool:
        try:
            with self.pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:  # readiness answers no, it does not raise
            return False


def migrate(url: str, migration_dirs: list[Path]) -> list[str]:
    """Apply the backbone's and the service's ``NNN_name.sql`` files once each, in order."""
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(727001)")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            for directory in migration_dirs:
                for path in sorted(directory.glob("*.sql")):
                    name = f"{directory.parent.name}/{directory.name}/{path.name}"
                    if name in done:
                        continue
                    with conn.transaction():
                        conn.execute(path.read_text(encoding="utf-8"))
                        conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", [name])
                    applied.append(name)
                    log.info("migration applied", extra={"fields": {"migration": name}})
        finally:
            conn.execute("SELECT pg_advisory_unlock(727001)")
    return applied


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def provision(admin_url: str, database: str, role: str) -> str:
    """Create a login role and a database it owns (idempotent); return the role's URL.

    Services connect as a role that is not a superuser, because superusers bypass row-level security.
    """
    for ident in (database, role):
        if not _IDENT.match(ident):
            raise ValueError(f"not a plain identifier: {ident!r}")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            try:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(sql.Identifier(role)))
            except psycopg.errors.DuplicateObject:
                pass
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            try:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                        sql.Identifier(database), sql.Identifier(role)
                    )
                )
            except psycopg.errors.DuplicateDatabase:
                pass
    params = conninfo_to_dict(admin_url)
    params.update(dbname=database, user=role)
    params.pop("password", None)
    return make_conninfo(**params)


def drop_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
