"""Idempotent event consumer: effect and inbox row commit together; offsets are stored after commit.

A batch of messages is applied in one database transaction: the inbox rows of the whole batch in one
statement, then the handlers in arrival order, where a run of consecutive events of one type whose
handler is set-based (``@batch_handler``) is handed over as one list per tenant. If anything in it
fails, the batch is rolled back and applied again message by message, each in its own savepoint, so a
poison message is rolled back alone and sent to ``<topic>.dlt`` while the rest of the batch commits.
A database or broker outage aborts the whole batch; the consumer is rebuilt and resumes from the last
committed offsets, and the inbox skips what was already applied.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator

import psycopg
from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, Message, TopicPartition
from psycopg.rows import dict_row, tuple_row

from shared.events import CATALOGUE, EnvelopeError, Event, SchemaError
from shared.kafka import DLT_SUFFIX, GONE, TopicLookup, ensure_topics, make_consumer, make_producer
from shared.logging import event_id_var, tenant_var, trace_id_var
from shared.metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_CONSUMED, EVENTS_DUPLICATE
from shared.settings import ServiceSettings
from shared.tracing import adopt

log = logging.getLogger(__name__)

Handler = Callable[[psycopg.Connection, Event], None]
BatchHandler = Callable[[psycopg.Connection, list[Event]], None]
# How often the consumer loop commits the offsets it stored (what auto-commit did in the background).
COMMIT_SECONDS = 1.0
# After every broker was down, partitions of a topic found gone or made again that are assigned within
# this time are read again from the beginning.
RESYNC_WINDOW_SECONDS = 120.0
# How often a consumer looks up the ids of its topics while the broker is up (what it compares them with
# after an outage), and how long a look must stand with no outage reported before it counts.
NOTE_TOPICS_SECONDS = 10.0
NOTE_CONFIRM_SECONDS = 1.0
# Errors that say "the infrastructure is down", not "this message is bad": retry, never dead-letter.
TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError)


class _HandlerFailed(Exception):
    """A handler failed in a batch applied without savepoints: apply it again, message by message."""


def batch_handler(fn: BatchHandler) -> BatchHandler:
    """Mark a handler as set-based: it takes a list of events of one type and one tenant, in arrival order.

    Such a handler must give the same effect as applying the events one by one (the consumer calls it
    with a single event when it isolates a failing batch), and must not depend on the order of its
    events against events of the same type from other tenants.
    """
    fn.takes_batch = True  # type: ignore[attr-defined]
    return fn


def _takes_batch(handler) -> bool:
    return getattr(handler, "takes_batch", False)


@dataclass
class Raw:
    """The parts of a Kafka message we keep (also rebuilt from a stored dead letter)."""
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    @classmethod
    def of(cls, msg: Message) -> "Raw":
        return cls(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(), list(msg.headers() or []))


@dataclass
class Admission:
    """A decoded batch: the events to apply, in order, and the poison messages with their reasons."""
    events: list[Event] = field(default_factory=list)
    dead: list[tuple[Raw, str]] = field(default_factory=list)


class EventConsumer:
    def __init__(self, *, name: str, service: str, settings: ServiceSettings, handlers: dict[str, Handler],
                 url: str | None = None):
        self.name = name
        self.service = service
        self.settings = settings
        self.url = url or settings.database_url
        self.handlers = handlers
        self.topics = sorted({CATALOGUE.topic(t, settings.topic_prefix) for t in handlers})
        self.applied_total = 0
        self.outages_total = 0  # times every broker was down
        self.reread_topics_total = 0  # topics read again from the beginning after an outage
        self._producer = None
        self._topic_lookup = TopicLookup(settings)
        self._known: dict[str, str] = {}  # topic -> id, seen while the broker was up
        self._noted: tuple[float, dict[str, str]] | None = None  # the last look, until it stands
        self._remade: dict[str, float] = {}  # topic -> when it was found gone or made again

    # -- applying one event -------------------------------------------------------------------
    def _decode(self, raw: Raw) -> Event:
        event = Event.from_kafka(raw.headers, raw.value)
        CATALOGUE.validate(event)
        return event

    def _apply(self, conn: psycopg.Connection, event: Event) -> bool:
        """Apply inside the caller's transaction; False when the inbox says it was already applied."""
        # One round trip: the settings are made in the FROM clause, before the inbox row and the handler.
        inserted = conn.execute(
            "INSERT INTO processed_events (consumer, event_id, tenant, type) SELECT %s, %s, %s, %s "
            "FROM (SELECT set_config('app.tenant', %s, true) AS t, set_config('app.actor', %s, true) AS a) AS cfg "
            "WHERE cfg.t IS NOT NULL AND cfg.a IS NOT NULL ON CONFLICT DO NOTHING RETURNING 1",
            [self.name, event.id, event.tenant, event.type, event.tenant, f"event:{event.type}:{event.id}"],
        ).fetchone()
        if not inserted:
            return False
        self._call(conn, [event])
        return True

    def _handle(self, conn: psycopg.Connection, raw: Raw) -> tuple[str, str | None]:
        """Apply one message in its own savepoint; returns (outcome, reason): applied, duplicate, ignored or dead."""
        event, refusal = self._admit(raw)
        if refusal is not None:
            return "dead", refusal
        if event is None:
            return "ignored", None
        event_id_var.set(event.id)
        tenant_var.set(event.tenant)
        adopt(event.traceparent)
        try:
            with conn.transaction():  # a savepoint: a failing handler undoes only its own message
                applied = self._apply(conn, event)
        except TRANSIENT:
            raise
        except Exception as exc:
            log.exception("handler failed; message goes to the dead-letter topic")
            return "dead", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        finally:
            event_id_var.set(None)
        return ("applied" if applied else "duplicate"), event.type

    def _admit(self, raw: Raw) -> tuple[Event | None, str | None]:
        """(event, None) to apply; (None, reason) for a poison message; (None, None) when no handler wants it."""
        if raw.value is not None and len(raw.value) > self.settings.max_event_bytes:
            return None, f"OversizedEvent: {len(raw.value)} bytes, the limit is {self.settings.max_event_bytes}"
        try:
            event = self._decode(raw)
        except (EnvelopeError, SchemaError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return (event, None) if event.type in self.handlers else (None, None)

    def _record_dead(self, conn: psycopg.Connection, raw: Raw, reason: str) -> None:
        conn.execute(
            "INSERT INTO dead_letters (consumer, topic, kafka_partition, kafka_offset, key, value, headers, reason) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [self.name, raw.topic, raw.partition, raw.offset, raw.key, raw.value,
             json.dumps([[k, (v or b"").decode("utf-8", "replace")] for k, v in raw.headers], ensure_ascii=False), reason[:4000]],
        )

    def _send_dead(self, dead: list[tuple[Raw, str]]) -> None:
        if not dead:
            return
        if self._producer is None:
            self._producer = make_producer(self.settings, f"{self.name}-dlt")
        for raw, reason in dead:
            headers = list(raw.headers) + [
                ("dlt_reason", reason[:1000].encode("utf-8")),
                ("dlt_consumer", self.name.encode()),
                ("dlt_original_topic", raw.topic.encode()),
                ("dlt_original_partition", str(raw.partition).encode()),
                ("dlt_original_offset", str(raw.offset).encode()),
            ]
            self._producer.produce(raw.topic + DLT_SUFFIX, key=raw.key, value=raw.value, headers=headers)
        if self._producer.flush(15):
            self._producer = None
            raise psycopg.OperationalError("dead-letter topic did not acknowledge")  # transient: retry the batch
        DEAD_LETTERS.labels(self.service, self.name).inc(len(dead))

    # -- the batch loop -----------------------------------------------------------------------
    def admit(self, raws: list[Raw]) -> "Admission":
        """Decode and check a batch, without the database (a rebuild does it ahead, in another thread)."""
        admission = Admission()
        for raw in raws:
            event, refusal = self._admit(raw)
            if refusal is not None:
                admission.dead.append((raw, refusal))
            elif event is not None:
                admission.events.append(event)
        return admission

    def process(self, conn: psycopg.Connection, raws: list[Raw], admission: "Admission | None" = None) -> list[tuple[Raw, str]]:
        """Apply a batch in one transaction; returns the dead letters it recorded.

        The batch is first applied set-based, without savepoints; only when something fails is it rolled
        back and applied again with one savepoint per message, which isolates the poison message.
        ``admission`` is ``admit(raws)`` when the caller already has it.
        """
        try:
            return self._process_set(conn, admission or self.admit(raws))
        except _HandlerFailed:
            return self._process_isolated(conn, raws)

    def _process_set(self, conn: psycopg.Connection, admission: "Admission") -> list[tuple[Raw, str]]:
        try:
            with conn.transaction():
                for raw, refusal in admission.dead:
                    self._record_dead(conn, raw, refusal)
                fresh = self._claim(conn, admission.events)
                for event_type, tenant, events in self._runs(fresh):
                    self._apply_run(conn, event_type, tenant, events)
        except TRANSIENT:
            raise
        except Exception as exc:
            raise _HandlerFailed() from exc
        finally:
            event_id_var.set(None)
        # Counted once the batch committed (a batch rolled back for a retry is not counted twice).
        self.applied_total += len(fresh)
        for event_type, n in Counter(e.type for e in fresh).items():
            EVENTS_CONSUMED.labels(self.service, self.name, event_type).inc(n)
        if len(admission.events) > len(fresh):
            EVENTS_DUPLICATE.labels(self.service, self.name).inc(len(admission.events) - len(fresh))
        return list(admission.dead)

    def _claim(self, conn: psycopg.Connection, events: list[Event]) -> list[Event]:
        """Insert the inbox rows of a batch in one statement; returns the events not applied before, in order."""
        fresh, seen = [], set()
        for event in events:
            if event.id not in seen:  # ids are canonical (Event.from_kafka): the same id twice is a duplicate
                seen.add(event.id)
                fresh.append(event)
        if not fresh:
            return []
        # Only the ids already in the inbox come back: usually none, so nothing to transfer.
        with conn.cursor(row_factory=tuple_row) as cur:
            # One JSON document for the batch: cheaper to send than three arrays adapted value by value.
            rows = json.dumps([{"id": e.id, "tenant": e.tenant, "type": e.type} for e in fresh], ensure_ascii=False)
            known = {row[0] for row in cur.execute(
                "WITH e AS (SELECT * FROM json_to_recordset(%s::json) AS e(id uuid, tenant text, type text)), "
                "ins AS (INSERT INTO processed_events (consumer, event_id, tenant, type) SELECT %s, id, tenant, type FROM e "
                "ON CONFLICT DO NOTHING RETURNING event_id) "
                "SELECT id::text FROM e WHERE id NOT IN (SELECT event_id FROM ins)", [rows, self.name])}
        return [e for e in fresh if e.id not in known] if known else fresh

    def _runs(self, events: list[Event]) -> Iterator[tuple[str, str, list[Event]]]:
        """(type, tenant, events) in arrival order: one event each, or a run of one set-based type per tenant."""
        i = 0
        while i < len(events):
            event_type = events[i].type
            if not _takes_batch(self.handlers[event_type]):
                yield event_type, events[i].tenant, [events[i]]
                i += 1
                continue
            j = i
            by_tenant: dict[str, list[Event]] = {}
            while j < len(events) and events[j].type == event_type:
                by_tenant.setdefault(events[j].tenant, []).append(events[j])
                j += 1
            for tenant, run in by_tenant.items():
                yield event_type, tenant, run
            i = j

    def _apply_run(self, conn: psycopg.Connection, event_type: str, tenant: str, events: list[Event]) -> None:
        first = events[0]
        # The audit trail names the event that made a change; a set names its first event and its size.
        actor = f"event:{event_type}:{first.id}" + (f"+{len(events) - 1}" if len(events) > 1 else "")
        conn.execute("SELECT set_config('app.tenant', %s, true), set_config('app.actor', %s, true)", [tenant, actor])
        event_id_var.set(first.id)
        tenant_var.set(tenant)
        if len(events) == 1:
            adopt(first.traceparent)
        self._call(conn, events)

    def _call(self, conn: psycopg.Connection, events: list[Event]) -> None:
        """Hand events of one type and tenant to their handler: all at once if set-based, else the one event."""
        handler = self.handlers[events[0].type]
        handler(conn, events) if _takes_batch(handler) else handler(conn, *events)

    def _process_isolated(self, conn: psycopg.Connection, raws: list[Raw]) -> list[tuple[Raw, str]]:
        dead: list[tuple[Raw, str]] = []
        outcomes: list[tuple[str, str | None]] = []
        with conn.transaction():
            for raw in raws:
                outcome, reason = self._handle(conn, raw)
                if outcome == "dead":
                    self._record_dead(conn, raw, reason or "")
                    dead.append((raw, reason or ""))
                outcomes.append((outcome, reason))
        for outcome, event_type in outcomes:
            if outcome == "applied":
                self.applied_total += 1
                EVENTS_CONSUMED.labels(self.service, self.name, event_type).inc()
            elif outcome == "duplicate":
                EVENTS_DUPLICATE.labels(self.service, self.name).inc()
        return dead

    def run(self, stop: threading.Event, on_batch: Callable[[int], None] | None = None) -> None:
        """Consume until ``stop`` is set, rebuilding the consumer and connection after outages."""
        ensure_topics(self.settings, self.topics + [t + DLT_SUFFIX for t in self.topics])
        backoff = 0.5
        while not stop.is_set():
            broker_lost = threading.Event()
            lost_at = [float("-inf")]

            def on_error(err: KafkaError) -> None:
                if err.code() == KafkaError._ALL_BROKERS_DOWN:
                    broker_lost.set()
                    lost_at[0] = time.monotonic()
                    self.outages_total += 1

            def on_assign(_consumer, _partitions) -> None:
                # A broker that forgot the group forms it again: partitions assigned then start from
                # offsets it may have from before (see _resync), so they are read again too.
                if time.monotonic() - lost_at[0] < RESYNC_WINDOW_SECONDS:
                    broker_lost.set()

            consumer = make_consumer(self.settings, self.name, error_cb=on_error)
            try:
                with psycopg.connect(self.url, autocommit=True, row_factory=dict_row) as conn:
                    consumer.subscribe(self.topics, on_assign=on_assign)
                    log.info("consumer started", extra={"fields": {"consumer": self.name, "topics": self.topics}})
                    committed_at = time.monotonic()
                    noted_at = float("-inf")
                    unread: dict[tuple[str, int], int] = {}  # first offset fetched and dropped since the outage
                    while not stop.is_set():
                        msgs = consumer.consume(self.settings.consumer_batch_size, timeout=0.5)
                        # The last batch's tenant and trace are not this iteration's: logs name no event now.
                        tenant_var.set(None)
                        trace_id_var.set(None)
                        if broker_lost.is_set():
                            self._noted = None  # a look taken around an outage may have seen the broker after it
                            # Whatever was fetched is read again from where the resync points.
                            for msg in msgs:
                                if msg.error() is None:
                                    key = (msg.topic(), msg.partition())
                                    unread[key] = min(unread.get(key, msg.offset()), msg.offset())
                            if self._resync(consumer, unread):
                                broker_lost.clear()
                                unread.clear()
                            continue
                        if time.monotonic() - noted_at >= NOTE_TOPICS_SECONDS:
                            self._note_topics()
                            noted_at = time.monotonic()
                        raws = []
                        for msg in msgs:
                            err = msg.error()
                            if err is None:
                                raws.append(Raw.of(msg))
                            elif err.code() != KafkaError._PARTITION_EOF:
                                log.warning("kafka error", extra={"fields": {"error": str(err)}})
                        if raws:
                            dead = self.process(conn, raws)
                            self._send_dead(dead)
                            last: dict[tuple[str, int], int] = {}
                            for raw in raws:
                                last[(raw.topic, raw.partition)] = raw.offset
                            consumer.store_offsets(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()])
                            self._report_lag(consumer, last)
                            if on_batch:
                                on_batch(len(raws))
                            backoff = 0.5
                        if time.monotonic() - committed_at >= COMMIT_SECONDS:
                            self._commit(consumer)
                            committed_at = time.monotonic()
                    self._commit(consumer, asynchronous=False)
            except TRANSIENT as exc:
                log.warning("consumer lost the database or broker; rebuilding", extra={"fields": {"error": str(exc)}})
                stop.wait(backoff)
                backoff = min(backoff * 2, 10)
            finally:
                try:
                    consumer.close()
                except Exception:
                    pass

    @staticmethod
    def _commit(consumer, asynchronous: bool = True) -> None:
        try:
            consumer.commit(asynchronous=asynchronous)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:  # nothing stored since the last commit
                log.info("offset commit failed; the next one carries them", extra={"fields": {"error": str(exc)}})

    def _note_topics(self) -> None:
        """Look up the ids of this consumer's topics; the previous look counts once it has stood a while.

        An outage that happens while a look is in flight is reported by the next poll, and a look taken
        around an outage is dropped, so the ids kept are those of the broker before any outage since.
        """
        if self._noted is not None and time.monotonic() - self._noted[0] >= NOTE_CONFIRM_SECONDS:
            self._known.update(self._noted[1])
            self._noted = None
        if self._noted is None:
            found = self._topic_lookup.describe(self.topics)
            self._noted = (time.monotonic(), {t: i.topic_id for t, i in found.items() if i is not GONE and i.topic_id})

    def _resync(self, consumer, unread: dict[tuple[str, int], int]) -> bool:
        """After every broker was down: read again from the beginning the topics the broker lost.

        A broker may come back without its log and its groups (Tansu's memory storage, a lost disk): its
        topics are gone or made again, with new ids. The positions this process holds then point into a
        new log that may already have grown past them, and so may the offsets the broker shows as
        committed (a commit queued while the broker was away is sent when it is back); neither can be
        checked against the log's end (Tansu answers 1 for every partition). So such a topic is read
        again from the beginning, at every assignment within RESYNC_WINDOW_SECONDS; the inbox skips
        what was applied. A topic with the id it had before the outage kept its log: its partitions go
        on from where they were (``unread``: the first message fetched and dropped since). A topic whose id
        is unknown (no look stood before the outage, or a broker without topic ids) is read again.
        False until every assigned topic could be checked (the broker may not be back yet, or the group
        may be forming again after the broker forgot it).
        """
        try:
            assignment = consumer.assignment()
            if not assignment:
                return False
            topics = sorted({tp.topic for tp in assignment})
            found = self._topic_lookup.describe(topics)
            if any(t not in found for t in topics):
                return False
            now = time.monotonic()
            for topic in topics:
                incarnation = found[topic]
                kept = incarnation is not GONE and incarnation.topic_id is not None \
                    and self._known.get(topic) == incarnation.topic_id
                if not kept and now - self._remade.get(topic, float("-inf")) >= RESYNC_WINDOW_SECONDS:
                    self._remade[topic] = now
                    self.reread_topics_total += 1
            again = {t for t in topics if now - self._remade.get(t, float("-inf")) < RESYNC_WINDOW_SECONDS}
            for tp in assignment:
                if tp.topic in again:
                    consumer.seek(TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING))
                elif (tp.topic, tp.partition) in unread:
                    consumer.seek(TopicPartition(tp.topic, tp.partition, unread[(tp.topic, tp.partition)]))
        except KafkaException as exc:
            log.info("broker not back yet", extra={"fields": {"error": str(exc)}})
            return False
        if again:
            log.warning("every broker was down, and it lost topics: reading them again from the beginning",
                        extra={"fields": {"topics": sorted(again), "partitions": sum(tp.topic in again for tp in assignment)}})
        else:
            log.info("every broker was down; it kept its topics: reading on", extra={"fields": {"topics": len(topics)}})
        return True

    def _report_lag(self, consumer, last: dict[tuple[str, int], int]) -> None:
        for (topic, partition), offset in last.items():
            try:
                _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            except Exception:
                continue
            if high >= 0:
                CONSUMER_LAG.labels(self.service, self.name, topic, str(partition)).set(max(0, high - offset - 1))

    # -- dead-letter replay -------------------------------------------------------------------
    def replay_dead_letters(self, ids: list[int] | None = None) -> dict[str, int]:
        """Run stored dead letters through the handlers again (after a fix); returns counts."""
        counts = {"applied": 0, "duplicate": 0, "ignored": 0, "dead": 0}
        with psycopg.connect(self.url, autocommit=True, row_factory=dict_row) as conn:
            rows = conn.execute(
                "SELECT * FROM dead_letters WHERE consumer = %s AND replayed_at IS NULL"
                + (" AND id = ANY(%s)" if ids else "") + " ORDER BY id",
                [self.name, ids] if ids else [self.name],
            ).fetchall()
            for row in rows:
                raw = Raw(row["topic"], row["kafka_partition"], row["kafka_offset"], row["key"], row["value"],
                          [(k, v.encode("utf-8")) for k, v in row["headers"]])
                with conn.transaction():
                    outcome, reason = self._handle(conn, raw)
                    if outcome == "dead":
                        conn.execute("UPDATE dead_letters SET reason = %s WHERE id = %s", [(reason or "")[:4000], row["id"]])
                    else:
                        conn.execute("UPDATE dead_letters SET replayed_at = now() WHERE id = %s", [row["id"]])
                counts[outcome] += 1
                if outcome == "applied":
                    EVENTS_CONSUMED.labels(self.service, self.name, reason).inc()
        return counts
