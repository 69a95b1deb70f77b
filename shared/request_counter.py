"""Requests counted per key and time window in Redis, for the rate limit of every API.

Every request waits for one count, so its cost is paid per request: redis-py's asyncio client spent
about 140 µs of CPU per INCR+EXPIRE (and the blocking client held the event loop for the round trip).
Counting needs two commands with integer replies only, so this speaks them directly: one connection
per event loop, the commands of concurrent requests pipelined on it, replies matched in order.
Anything unexpected (Redis away, slow, an error reply) answers None, and for a second after it every
count does at once, without trying: the caller lets the request through, since a rate limit must never
be the reason an API is down or slow.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from urllib.parse import unquote, urlsplit

TIMEOUT = 0.2  # seconds: longer and the limit costs more latency than it protects
RETRY_AFTER = 1.0  # seconds without counting after a failure: an unreachable Redis would cost every request the timeout


def _command(*args: str | bytes | int) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Replies(asyncio.Protocol):
    """Integer and status replies, in the order the commands were written; None for a reply nobody awaits."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending: deque[asyncio.Future | None] = deque()
        self.buffer = b""
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.pending:
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
            waiter = self.pending.popleft()
            kind = line[:1]
            if kind not in (b":", b"+"):  # an error, or a reply these commands never get: start again
                self.close()
                if waiter is not None and not waiter.done():
                    waiter.set_exception(ConnectionError(line.decode("utf-8", "replace")))
                return
            if waiter is not None and not waiter.done():
                waiter.set_result(int(line[1:]) if kind == b":" else line[1:])

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self.pending:
            waiter = self.pending.popleft()
            if waiter is not None and not waiter.done():
                waiter.set_exception(ConnectionError("redis connection lost"))

    def send(self, commands: bytes, replies: int) -> asyncio.Future:
        """Write commands; the future gets the first reply, the others are read and dropped."""
        waiter = asyncio.get_running_loop().create_future()
        self.pending.append(waiter)
        self.pending.extend([None] * (replies - 1))
        self.transport.write(commands)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class RequestCounter:
    """``await count(key, ttl)``: the key's count after this request, or None when Redis did not answer."""

    def __init__(self, redis_url: str, timeout: float = TIMEOUT, retry_after: float = RETRY_AFTER):
        parts = urlsplit(redis_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 6379
        self.tls = parts.scheme == "rediss"
        self.db = int(parts.path.strip("/") or 0)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout, self.retry_after = timeout, retry_after
        self._retry_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: _Replies | None = None
        self._connecting: asyncio.Future | None = None

    async def _connection(self) -> _Replies:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a connection belongs to its event loop (a test client may run several)
            self._loop, self._conn, self._connecting = loop, None, None
        if self._conn is not None and not self._conn.closed:
            return self._conn
        if self._connecting is None:  # one connect for all the requests waiting on it
            self._connecting = loop.create_task(self._connect(loop))
        try:
            return await asyncio.shield(self._connecting)
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Replies:
        _, conn = await loop.create_connection(_Replies, self.host, self.port, ssl=self.tls or None)
        hello = []
        if self.password is not None:
            hello.append(_command("AUTH", *([self.username] if self.username else []), self.password))
        if self.db:
            hello.append(_command("SELECT", self.db))
        if hello:
            await conn.send(b"".join(hello), len(hello))  # both answer +OK; an error reply closes the connection
        self._conn = conn
        return conn

    async def count(self, key: str, ttl_seconds: int) -> int | None:
        now = time.monotonic()
        if now < self._retry_at:
            return None
        try:
            async with asyncio.timeout(self.timeout):
                conn = await self._connection()
                return await conn.send(_command("INCR", key) + _command("EXPIRE", key, ttl_seconds), 2)
        except (OSError, ConnectionError, TimeoutError, ValueError):
            self._retry_at = time.monotonic() + self.retry_after
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            return None
