"""Transactional outbox: events are written with the state change, then a relay publishes them.

The relay holds a PostgreSQL advisory lock so exactly one relay per service database publishes at a
time (events of one aggregate keep their order); the others wait as hot standbys. It wakes on
LISTEN/NOTIFY and polls as a fallback. A row is marked published only after Kafka acknowledged it.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import psycopg
from confluent_kafka import KafkaException
from psycopg.rows import dict_row

from shared.audit import seal as seal_audit
from shared.events import CATALOGUE, Event
from shared.kafka import make_producer
from shared.metrics import EVENTS_PRODUCED, OUTBOX_BACKLOG
from shared.settings import ServiceSettings
from shared.tracing import traceparent

log = logging.getLogger(__name__)

RELAY_LOCK = 727002


class Outbox:
    """Writes events into the outbox of the transaction the caller is in."""

    def __init__(self, service: str, topic_prefix: str = ""):
        self.service = service
        self.source = f"/inspection-platform/{service}"
        self.topic_prefix = topic_prefix

    def add(self, conn: psycopg.Connection, event_type: str, *, tenant: str, data: dict[str, Any],
            subject: str | None = None) -> Event:
        """Validate and stage one event; it is published only if the caller's transaction commits."""
        event = CATALOGUE.new_event(event_type, tenant=tenant, source=self.source, data=data,
                                    subject=subject, traceparent=traceparent())
        self.add_event(conn, event)
        return event

    def add_event(self, conn: psycopg.Connection, event: Event) -> None:
        conn.execute(
            "INSERT INTO outbox (id, tenant, type, topic, key, headers, payload) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                event.id, event.tenant, event.type, CATALOGUE.topic(event.type, self.topic_prefix),
                CATALOGUE.key(event), json.dumps([[k, v.decode("utf-8")] for k, v in event.headers()]),
                json.dumps(event.data, ensure_ascii=False),
            ],
        )


def replay(url: str, *, from_seq: int | None = None, to_seq: int | None = None, since: str | None = None,
           until: str | None = None, types: list[str] | None = None, tenant: str | None = None) -> int:
    """Mark a range of published events for re-publication; the relay sends them again in order."""
    clauses, params = ["published_at IS NOT NULL"], []
    for column, op, value in (("seq", ">=", from_seq), ("seq", "<=", to_seq), ("created_at", ">=", since),
                              ("created_at", "<=", until), ("tenant", "=", tenant)):
        if value is not None:
            clauses.append(f"{column} {op} %s")
            params.append(value)
    if types:
        clauses.append("type = ANY(%s)")
        params.append(types)
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(f"UPDATE outbox SET published_at = NULL WHERE {' AND '.join(clauses)}", params)
        return cur.rowcount


class OutboxRelay:
    def __init__(self, settings: ServiceSettings, service: str, *, url: str | None = None):
        self.settings = settings
        self.service = service
        self.url = url or settings.database_url
        self.batch_size = settings.relay_batch_size
        self._producer = None
        self.published_total = 0

    def _get_producer(self):
        if self._producer is None:
            self._producer = make_producer(self.settings, f"{self.service}-relay")
        return self._producer

    def _reset_producer(self) -> None:
        # An idempotent producer that lost its broker may never deliver again (INFRA_NOTES): start afresh.
        if self._producer is not None:
            try:
                self._producer.purge()
                self._producer.flush(0)
            except Exception:
                pass
        self._producer = None

    def publish_batch(self, conn: psycopg.Connection) -> int:
        """Publish up to one batch of pending rows; returns how many Kafka acknowledged."""
        with conn.transaction():
            rows = conn.execute(
                "SELECT seq, topic, key, headers, payload::text AS payload, type FROM outbox WHERE published_at IS NULL "
                "ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED",
                [self.batch_size],
            ).fetchall()
            if not rows:
                return 0
            producer = self._get_producer()
            delivered: list[int] = []
            failed: dict[int, str] = {}

            def on_delivery(seq: int):
                def callback(err, _msg):
                    if err is None:
                        delivered.append(seq)
                    else:
                        failed[seq] = str(err)
                return callback

            fatal = None
            try:
                for row in rows:
                    headers = [(k, v.encode("utf-8")) for k, v in row["headers"]]
                    while True:
                        try:
                            producer.produce(row["topic"], key=row["key"].encode("utf-8"), value=row["payload"].encode("utf-8"),
                                             headers=headers, on_delivery=on_delivery(row["seq"]))
                            break
                        except BufferError:
                            producer.poll(0.1)
                remaining = producer.flush(self.settings.relay_poll_seconds + 15)
            except KafkaException as exc:
                # A fatal producer error (a restarted broker forgot our idempotent producer id) is raised
                # here rather than reported per message; it must not end the relay: rows not acknowledged
                # stay unpublished and go again with a new producer.
                fatal, remaining = str(exc), 0
            if delivered:
                conn.execute("UPDATE outbox SET published_at = now() WHERE seq = ANY(%s)", [delivered])
                counts: dict[str, int] = {}
                acked = set(delivered)
                for row in rows:
                    if row["seq"] in acked:  # count what the broker acknowledged, not what was tried
                        counts[row["type"]] = counts.get(row["type"], 0) + 1
                for event_type, n in counts.items():
                    EVENTS_PRODUCED.labels(self.service, event_type).inc(n)
            if failed or remaining or fatal:
                conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ANY(%s)",
                             [[r["seq"] for r in rows if r["seq"] not in set(delivered)]])
                log.warning("outbox delivery failed; producer rebuilt",
                            extra={"fields": {"failed": len(rows) - len(delivered),
                                              "reason": fatal or next(iter(failed.values()), "timeout")}})
                self._reset_producer()
        self.published_total += len(delivered)
        return len(delivered)

    def backlog(self, conn: psycopg.Connection) -> int:
        return conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL").fetchone()["n"]

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set; survives database and broker outages by retrying."""
        backoff = 0.5
        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, row_factory=dict_row) as conn:
                    self._lead(conn, stop)
                backoff = 0.5
            except psycopg.OperationalError as exc:
                log.warning("relay lost its database; retrying", extra={"fields": {"error": str(exc)}})
                stop.wait(backoff)
                backoff = min(backoff * 2, 10)
        self._reset_producer()

    def _lead(self, conn: psycopg.Connection, stop: threading.Event) -> None:
        while not stop.is_set():
            if conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", [RELAY_LOCK]).fetchone()["ok"]:
                break
            stop.wait(2.0)  # another relay leads; stand by
        if stop.is_set():
            return
        log.info("relay leading")
        conn.execute("LISTEN outbox")
        failures = 0
        while not stop.is_set():
            n = self.publish_batch(conn)
            seal_audit(conn)  # the relay leader is also the one sealer of the audit chain
            OUTBOX_BACKLOG.labels(self.service).set(self.backlog(conn))
            if n == self.batch_size:
                continue  # more is waiting
            if n == 0 and self.backlog(conn) > 0:
                failures += 1
                stop.wait(min(0.2 * 2 ** failures, 5))  # the broker is failing: back off, then retry
                continue
            failures = 0
            # Sleep until a commit notifies us, or the poll interval passes.
            for _ in conn.notifies(timeout=self.settings.relay_poll_seconds, stop_after=1):
                pass
