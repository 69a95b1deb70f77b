"""Transactional outbox: events are written with the state change, then a relay publishes them.

The relay holds a PostgreSQL advisory lock so exactly one relay per service database publishes at a
time (events of one aggregate keep their order); the others wait as hot standbys. It wakes on
LISTEN/NOTIFY and polls as a fallback. A row is marked published only after Kafka acknowledged it,
with the partition and offset the broker gave it; every few seconds, and after a failed delivery,
the relay checks that the broker still has those topics -- the same incarnation of each, by topic id --
and partitions, and queues again what it lost (``requeue_lost``).
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
from shared.kafka import GONE, TopicLookup, ensure_topics, make_producer
from shared.metrics import EVENTS_PRODUCED, EVENTS_REPUBLISHED, OUTBOX_BACKLOG
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
        event = self.new_event(event_type, tenant=tenant, data=data, subject=subject)
        self.add_event(conn, event)
        return event

    async def aadd(self, conn: psycopg.AsyncConnection, event_type: str, *, tenant: str, data: dict[str, Any],
                   subject: str | None = None) -> Event:
        """:meth:`add` in a transaction on the event loop (``Database.atx``)."""
        event = self.new_event(event_type, tenant=tenant, data=data, subject=subject)
        await conn.execute(*self._insert(event))
        return event

    def add_event(self, conn: psycopg.Connection, event: Event) -> None:
        conn.execute(*self._insert(event))

    def new_event(self, event_type: str, *, tenant: str, data: dict[str, Any], subject: str | None = None) -> Event:
        return CATALOGUE.new_event(event_type, tenant=tenant, source=self.source, data=data, subject=subject,
                                   traceparent=traceparent())

    def _insert(self, event: Event) -> tuple[str, list[Any]]:
        return (
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


# Every (topic, partition) the relay has published to, by a skip scan of the outbox_placed index
# (one index probe per pair, however many rows the outbox keeps).
_PLACED_PARTITIONS = """
WITH RECURSIVE placed AS (
    (SELECT topic, kafka_partition FROM outbox WHERE published_at IS NOT NULL AND kafka_partition IS NOT NULL
     ORDER BY topic, kafka_partition LIMIT 1)
    UNION ALL
    SELECT next.topic, next.kafka_partition FROM placed, LATERAL (
        SELECT topic, kafka_partition FROM outbox WHERE published_at IS NOT NULL AND kafka_partition IS NOT NULL
        AND (topic, kafka_partition) > (placed.topic, placed.kafka_partition) ORDER BY topic, kafka_partition LIMIT 1) AS next
)
SELECT topic, kafka_partition FROM placed
"""


def _unpublish(conn: psycopg.Connection, topic: str, partitions: list[int] | None = None) -> int:
    """Mark what was published to ``topic`` (or to those of its partitions) as not published; returns how many."""
    return conn.execute(
        "UPDATE outbox SET published_at = NULL, kafka_partition = NULL, kafka_offset = NULL "
        "WHERE topic = %s AND published_at IS NOT NULL" + (" AND kafka_partition = ANY(%s)" if partitions is not None else ""),
        [topic] if partitions is None else [topic, partitions]).rowcount


class OutboxRelay:
    def __init__(self, settings: ServiceSettings, service: str, *, url: str | None = None):
        self.settings = settings
        self.service = service
        self.url = url or settings.database_url
        self.batch_size = settings.relay_batch_size
        self._producer = None
        self._topics = TopicLookup(settings)
        self._check_soon = False
        self._recorded: set[str] = set()  # topics whose incarnation outbox_topics holds
        self.published_total = 0
        self.requeued_total = 0

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
            placed: list[tuple[int, int]] = []
            failed: dict[int, str] = {}

            def on_delivery(seq: int):
                def callback(err, msg):
                    if err is None:
                        delivered.append(seq)
                        placed.append((msg.partition(), msg.offset()))
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
                topics = {r["seq"]: r["topic"] for r in rows}
                # Before marking this batch: an earlier event placed at or after an offset the broker
                # just gave out again was lost with the log it was in (a broker restarted without
                # storage, a truncated partition). This relay is the topic's only producer, so the
                # first delivery after such a loss tells exactly where the log now ends.
                lost = conn.execute(
                    "UPDATE outbox o SET published_at = NULL, kafka_partition = NULL, kafka_offset = NULL FROM ("
                    "SELECT topic, p, min(off) AS first FROM unnest(%s::text[], %s::integer[], %s::bigint[]) AS d(topic, p, off) "
                    "GROUP BY topic, p) AS d WHERE o.topic = d.topic AND o.kafka_partition = d.p AND o.kafka_offset >= d.first "
                    "AND o.published_at IS NOT NULL",
                    [[topics[seq] for seq in delivered], [p for p, _ in placed], [o for _, o in placed]]).rowcount
                if lost:
                    self._requeued(lost, "offsets given out again")
                conn.execute(
                    "UPDATE outbox o SET published_at = now(), kafka_partition = d.p, kafka_offset = d.o "
                    "FROM unnest(%s::bigint[], %s::integer[], %s::bigint[]) AS d(seq, p, o) WHERE o.seq = d.seq",
                    [delivered, [p for p, _ in placed], [o for _, o in placed]])
                if not self._recorded.issuperset(topics[seq] for seq in delivered):
                    self._check_soon = True  # a topic published to for the first time: record its incarnation
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
                self._check_soon = True  # a failing broker may have restarted without its log
        self.published_total += len(delivered)
        return len(delivered)

    def requeue_lost(self, conn: psycopg.Connection) -> int:
        """Queue again the published events the broker no longer has; returns how many.

        A topic gone, or made again (a new topic id: Tansu's memory storage on every start, a topic
        deleted by mistake), lost everything published to it; a partition gone lost what was placed in
        it. Loss inside a partition that still exists shows at the next delivery to it
        (``publish_batch``); the broker's end offsets would tell sooner, but Tansu answers 1 for every
        partition. Consumers skip what they already applied, so publishing too much is harmless; too
        little is not.
        """
        placed = [(r["topic"], r["kafka_partition"]) for r in conn.execute(_PLACED_PARTITIONS)]
        if not placed:
            return 0
        topics = sorted({topic for topic, _ in placed})
        found = self._topics.describe(topics)
        recorded = {r["topic"]: r["topic_id"] for r in conn.execute(
            "SELECT topic, topic_id FROM outbox_topics WHERE topic = ANY(%s)", [topics])}
        requeued, gone = 0, []
        with conn.transaction():
            for topic in topics:
                now = found.get(topic)
                if now is None:
                    continue  # no answer about it this time
                if now is GONE or (now.topic_id and recorded.get(topic, now.topic_id) != now.topic_id):
                    n = _unpublish(conn, topic)
                    why = "topic gone" if now is GONE else "topic made again"
                else:
                    missing = sorted({p for t, p in placed if t == topic} - now.partitions)
                    n = _unpublish(conn, topic, missing) if missing else 0
                    why = "partitions gone"
                if n:
                    self._requeued(n, why, topic)
                    requeued += n
                if now is GONE:
                    gone.append(topic)
                elif now.topic_id:
                    self._record(conn, topic, now.topic_id)
        if gone:
            # Created on the next produce they would get the broker's default partitions, not ours. The
            # incarnation made now is recorded before anything is published to it: otherwise a second loss
            # before the next check would find no record to differ from.
            ensure_topics(self.settings, gone)
            made = self._topics.describe(gone)
            for topic in gone:
                now = made.get(topic)
                if now is not None and now is not GONE and now.topic_id:
                    self._record(conn, topic, now.topic_id)
                else:
                    self._check_soon = True
        return requeued

    def _record(self, conn: psycopg.Connection, topic: str, topic_id: str) -> None:
        conn.execute("INSERT INTO outbox_topics (topic, topic_id) VALUES (%s, %s) ON CONFLICT (topic) DO UPDATE "
                     "SET topic_id = EXCLUDED.topic_id, seen_at = now() WHERE outbox_topics.topic_id <> EXCLUDED.topic_id",
                     [topic, topic_id])
        self._recorded.add(topic)

    def _requeued(self, n: int, why: str, topic: str | None = None) -> None:
        log.warning("the broker lost published events; publishing them again",
                    extra={"fields": {"events": n, "why": why, "topic": topic}})
        EVENTS_REPUBLISHED.labels(self.service).inc(n)
        self.requeued_total += n

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
        check_every = self.settings.relay_broker_check_seconds
        next_check = time.monotonic()
        while not stop.is_set():
            if check_every and (time.monotonic() >= next_check or self._check_soon):
                self._check_soon = False
                self.requeue_lost(conn)
                next_check = time.monotonic() + check_every
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
