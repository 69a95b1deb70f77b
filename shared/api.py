"""The FastAPI shell every service shares: auth, errors, limits, health, metrics, trace ids."""
from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import re
import time
import uuid
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated, Any, Callable, Iterable

import anyio.to_thread
import jwt
import psycopg
import pydantic
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.auth import Principal, Unauthorized
from shared.db import actor_var
from shared.errors import DomainError
from shared.kafka import broker_ready
from shared.logging import trace_id_var, new_trace_id
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS
from shared.request_counter import RequestCounter
from shared.runtime import Runtime

log = logging.getLogger(__name__)


# Both dependencies are coroutines: FastAPI runs a plain function dependency in the thread pool, and
# two thread hops per request cost more than the work they do.
async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    verifier = request.app.state.runtime.verifier
    token = token.strip()
    # A token seen before is answered from the verifier's cache; a new one is verified off the event
    # loop, since fetching an identity provider's JWKS blocks.
    principal = verifier.cached(token) or await run_in_threadpool(verifier.verify, token)
    request.state.principal = principal
    return principal


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _unverified_subject(header: str, verifier) -> str | None:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    known = verifier.cached(token.strip())
    if known is not None:
        return known.sub
    try:
        return str(jwt.decode(token.strip(), options={"verify_signature": False}).get("sub"))
    except jwt.PyJWTError:
        return None


class Observe:
    """Trace id, audit actor and request metrics, as a plain ASGI middleware (Starlette's
    BaseHTTPMiddleware runs every request in an extra task with memory streams around it)."""

    def __init__(self, app, service: str, verifier):
        self.app = app
        self.service = service
        self.verifier = verifier

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        trace_id_var.set(headers.get("x-trace-id") or new_trace_id())
        # The audit trail's actor; the token itself is verified by the route's dependency.
        actor_var.set(_unverified_subject(headers.get("authorization", ""), self.verifier))
        started = time.perf_counter()
        status = 500

        async def send_observed(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-trace-id", (trace_id_var.get() or "").encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, path).observe(time.perf_counter() - started)


# The types a row holds most often, converted as jsonable_encoder converts them; anything else goes to it.
_LEAVES: dict[type, Callable[[Any], Any]] = {date: date.isoformat, datetime: datetime.isoformat, uuid.UUID: str}


def _leaf(value: Any) -> Any:
    convert = _LEAVES.get(type(value))
    return convert(value) if convert is not None else jsonable_encoder(value)


def json_bytes(body: Any) -> bytes:
    """``body`` as ``JSONResponse(jsonable_encoder(body))`` writes it, byte for byte, in a fraction of the time.

    jsonable_encoder walks and copies every value in Python before json.dumps walks them again; here
    json's C encoder walks once and asks :func:`_leaf` only about what JSON has no type for (dates, UUIDs,
    decimals, models), each converted by jsonable_encoder's own rules. Under the dashboard load the walk
    was 29 % of the analytics API's CPU. A key JSON cannot hold as it is (a date, a UUID) makes the C encoder
    refuse: such a body takes the old road.
    """
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_leaf).encode("utf-8")
    except TypeError:
        return json.dumps(jsonable_encoder(body), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class JSONBody(JSONResponse):
    """A JSONResponse of any body jsonable_encoder accepts (rows with dates, UUIDs, dataclasses), see :func:`json_bytes`."""

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


def _error(status: int, code: str, message: str, **extra) -> JSONResponse:
    body = {"error": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse(body, status_code=status, headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


class BodyLimit:
    """Rejects bodies above the limit with 413, also when no Content-Length is sent (chunked)."""

    def __init__(self, app, max_bytes: int, overrides: Callable[[str], int | None] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = (self.overrides(scope["path"]) if self.overrides else None) or self.max_bytes
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return await _error(413, "too_large", f"request body exceeds {limit} bytes")(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await _error(413, "too_large", f"request body exceeds {limit} bytes")(scope, receive, send)


class _TooLarge(Exception):
    pass


def _bad_text(value, path: str, found: list[str]) -> None:
    """Collect paths of strings PostgreSQL cannot store: NUL characters and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            found.append(path)
        else:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                found.append(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _bad_text(key, f"{path}.{key}", found)
            _bad_text(item, f"{path}.{key}", found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _bad_text(item, f"{path}.{i}", found)


_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class TextGuard:
    """422 for text no database can hold (NUL, lone surrogates) in a JSON body, query or path."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        found: list[str] = []
        from urllib.parse import parse_qsl, unquote

        if "\x00" in unquote(scope.get("path", "")):
            found.append("path")
        for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
            _bad_text(key + value, f"query.{key}", found)
        headers = dict(scope.get("headers") or [])
        body_messages = []
        if headers.get(b"content-type", b"").startswith(b"application/json"):
            body = b""
            while True:
                message = await receive()
                body_messages.append(message)
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            # JSON can carry NUL or a lone surrogate only as a \u escape (raw, they are not valid JSON or
            # UTF-8), or in a UTF-16/32 body, which has NUL bytes: other bodies need no second parse.
            if b"\x00" in body or _SUSPECT_ESCAPE.search(body):
                try:
                    _bad_text(json.loads(body), "body", found)
                except ValueError:
                    pass  # not JSON: FastAPI answers 422 itself
        if found:
            return await _error(422, "validation", f"invalid text (NUL or unpaired surrogate) in: {', '.join(found)}",
                                fields=[{"field": f, "message": "text contains a character that cannot be stored"} for f in found])(scope, receive, send)
        if not body_messages:
            return await self.app(scope, receive, send)

        async def replay():
            if body_messages:
                return body_messages.pop(0)
            return await receive()

        return await self.app(scope, replay, send)


class RateLimit:
    """Fixed one-minute window per bearer token, counted in Redis; fails open if Redis is away."""

    def __init__(self, app, redis_url: str, per_minute: int, service: str):
        self.app = app
        self.per_minute = per_minute
        self.service = service
        self.counter = RequestCounter(redis_url) if per_minute else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.counter is None:
            return await self.app(scope, receive, send)
        auth = dict(scope.get("headers") or []).get(b"authorization", b"")
        if auth:
            key = f"rl:{self.service}:{hashlib.sha1(auth).hexdigest()}:{int(time.time() // 60)}"
            if (await self.counter.count(key, 90) or 0) > self.per_minute:
                return await _error(429, "rate_limited", f"more than {self.per_minute} requests per minute")(scope, receive, send)
        return await self.app(scope, receive, send)


class _Backlog:
    """The outbox backlog as read by this scrape (a collector, so several workers never report stale copies)."""

    def __init__(self, service: str, value: int):
        self.service, self.value = service, value

    def collect(self):
        family = GaugeMetricFamily("outbox_backlog", "Outbox events not yet published", labels=["service"])
        family.add_metric([self.service], self.value)
        yield family


def render_metrics(service: str, backlog: int | None) -> bytes:
    """Prometheus text of this process, or of every API worker when they share a multiprocess directory."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        if backlog is not None:
            from shared.metrics import OUTBOX_BACKLOG

            OUTBOX_BACKLOG.labels(service).set(backlog)
        return generate_latest()
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    if backlog is not None:
        registry.register(_Backlog(service, backlog))
    return generate_latest(registry)


# Collector thresholds of an API process once started (CPython's default is 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 10)


def settle_heap() -> None:
    """Set the garbage collector for serving, once the process is up."""
    # What exists once the app is up (modules, routes, models, the pool) lives as long as the process:
    # frozen, it is no longer walked by the collector's full passes, each of which took 50-100 ms of
    # held GIL here, stalling every request in flight (the API's p99).
    gc.collect()
    gc.freeze()
    # Then collect young objects every 50,000 allocations net of frees instead of 700: most of what a
    # request makes is freed by reference counting and never reaches the collector, and each pass
    # walks what requests in flight hold (tens of thousands of rows for a dashboard). With the
    # default, recording 6,000 findings cost one API process 680 young, 60 middle and 5 full passes
    # (pauses up to 26 ms on a busy machine), 1,500 dashboards 950, 86 and 7; with these, none.
    # Cyclic garbage waits longer: a few MiB.
    gc.set_threshold(*GC_THRESHOLDS)


def limit_threads(tokens: int) -> None:
    """Run at most ``tokens`` blocking routes at once in this event loop's thread pool (anyio's default is 40).

    Only one thread runs Python at a time, and every thread that runs competes for the GIL with the
    event loop that serves all requests: each time a thread or the loop waits for a socket it lets the
    GIL go, and getting it back from a busy thread can take the interpreter's 5 ms switch interval. A few
    threads overlap their database waits; more make every request slower. Dashboards computed by one
    analytics API process, 8 readers always waiting: 40 threads 216/s, p99 80 ms; 10 202-234/s, p99 70-85 ms;
    4 threads 229-259/s, p99 53-58 ms; 3 222-257/s, p99 47-58 ms; 2 237-245/s, p99 47-52 ms; 1 152-172/s, p99
    67-76 ms. Requests beyond the limit wait in the event loop, which costs nothing.
    """
    anyio.to_thread.current_default_thread_limiter().total_tokens = max(1, tokens)


def create_app(runtime: Runtime, routers: Iterable[APIRouter], *, title: str, description: str = "",
               body_limit_overrides: Callable[[str], int | None] | None = None, manage_runtime: bool = True) -> FastAPI:
    """Build a service's app. ``manage_runtime`` opens and closes the runtime with the app's lifespan."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if manage_runtime:
            runtime.open()
        settle_heap()
        limit_threads(runtime.settings.api_threads)
        try:
            yield
        finally:
            if manage_runtime:
                runtime.close()

    # Tracing and metrics are our own (trace ids in logs and Kafka headers, Prometheus); FastAPI's
    # OpenTelemetry bridge would otherwise ask on every request whether a provider was configured.
    app = FastAPI(title=title, description=description, version="1.0", lifespan=lifespan,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    app.state.runtime = runtime
    service = runtime.service

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError):
        return _error(exc.status, exc.code, exc.message, field=exc.field, **exc.detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError):
        fields = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        names = ", ".join(f["field"] for f in fields)
        return _error(422, "validation", f"invalid: {names}", fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, "http", str(exc.detail))

    @app.exception_handler(pydantic.ValidationError)
    async def model_error(_request: Request, exc: pydantic.ValidationError):
        fields = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        return _error(422, "validation", f"invalid: {', '.join(f['field'] for f in fields)}", fields=fields)

    # Safety nets: the database refused a value or a reference the domain should have caught first.
    # The transaction rolled back, so nothing is half-written; the client gets a 4xx, not a 500.
    @app.exception_handler(psycopg.errors.DataError)
    async def data_error(_request: Request, exc: psycopg.errors.DataError):
        return _error(422, "invalid", f"a value is out of range or malformed: {exc.diag.message_primary}")

    @app.exception_handler(psycopg.errors.IntegrityError)
    async def integrity_error(_request: Request, exc: psycopg.errors.IntegrityError):
        if isinstance(exc, psycopg.errors.CheckViolation | psycopg.errors.NotNullViolation):
            return _error(422, "invalid", f"a value breaks a rule: {exc.diag.message_primary}")
        return _error(409, "conflict", f"conflicts with existing data: {exc.diag.message_primary}")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception):
        log.exception("unhandled error")
        return _error(500, "internal", "internal error; the trace id identifies it in the logs", trace_id=trace_id_var.get())

    app.add_middleware(Observe, service=service, verifier=runtime.verifier)
    app.add_middleware(TextGuard)
    app.add_middleware(RateLimit, redis_url=runtime.settings.redis_url, per_minute=runtime.settings.rate_limit_per_minute, service=service)
    app.add_middleware(BodyLimit, max_bytes=runtime.settings.max_body_bytes, overrides=body_limit_overrides)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    def healthz():
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["operations"], summary="The database and the broker answer")
    def readyz():
        checks = {"database": runtime.db.ping(), "broker": broker_ready(runtime.settings)}
        return JSONResponse({"ready": all(checks.values()), "checks": checks}, status_code=200 if all(checks.values()) else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse)
    def metrics():
        try:
            with runtime.db.tx("*") as conn:
                backlog = conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"]
        except Exception:
            backlog = None
        return PlainTextResponse(render_metrics(service, backlog), media_type=CONTENT_TYPE_LATEST)

    from shared.audit_api import router as audit_router

    for router in [*routers, audit_router]:
        app.include_router(router)
    return app
