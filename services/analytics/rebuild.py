"""Rebuild the read models from scratch: empty them, then replay every event from the beginning.

Source: the topics, read from offset 0 with a fresh consumer group (partitions assigned directly, so
no group join), or the outboxes of the producing services when their database URLs are given.
Progress (events handled / events to handle) is kept in ``rebuild_runs`` and shown at
``GET /v1/rebuild/status``.

The live consumer may keep running: the rebuild applies events under the live consumer's inbox name,
so whichever of the two sees an event first applies it and the other skips it. The reset (TRUNCATE)
waits for the live consumer's open transaction, so no half-applied batch survives it. The replay's
handlers leave the per-unit violation sums out, and ``finish`` makes them from the counters at the
end (readmodel.REBUILD_HANDLERS); a live consumer applying meanwhile keeps them as usual, which the
end replaces.

    python -m services.analytics.rebuild [--outbox postgresql://.../plans --outbox ...]
"""
from __future__ import annotations

import argparse
import json
import logging
import queue
import sys
import threading
import uuid
from typing import Iterator

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from psycopg.rows import dict_row, tuple_row

from services.analytics import store, violation_sums
from services.analytics.readmodel import HANDLERS, READ_MODEL_TABLES, REBUILD_HANDLERS
from shared.consumer import Admission, EventConsumer, Raw
from shared.errors import Conflict
from shared.kafka import consumer_config
from shared.runtime import Runtime

log = logging.getLogger(__name__)

# A running rebuild writes progress at least every batch poll (0.5 s); silence this long means it died.
STALE_SECONDS = 300


def live_consumer_name(runtime: Runtime) -> str:
    """The inbox name of the main consumer group (what ServiceDefinition.consumer gives it)."""
    return f"{runtime.settings.topic_prefix}{runtime.service}.main"


def begin(runtime: Runtime, source: str) -> int:
    """Record a new run; 409 while another is running."""
    with runtime.db.tx("*") as conn:
        conn.execute("LOCK TABLE rebuild_runs IN EXCLUSIVE MODE")
        if conn.execute("SELECT 1 FROM rebuild_runs WHERE status = 'running' AND updated_at > now() - make_interval(secs => %s)",
                        [STALE_SECONDS]).fetchone():
            raise Conflict("a rebuild is already running")
        conn.execute("UPDATE rebuild_runs SET status = 'abandoned' WHERE status = 'running'")
        return conn.execute("INSERT INTO rebuild_runs (source, status) VALUES (%s, 'running') RETURNING id",
                            [source]).fetchone()["id"]


def status(runtime: Runtime) -> dict | None:
    """The latest run with its progress."""
    with runtime.db.tx("*") as conn:
        row = conn.execute("SELECT * FROM rebuild_runs ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    row["progress"] = round(row["applied"] / row["total"], 4) if row["total"] else (1.0 if row["status"] == "done" else 0.0)
    return row


def _progress(runtime: Runtime, run_id: int, **values) -> None:
    sets = ", ".join([f"{k} = %s" for k in values] + ["updated_at = now()"])
    with runtime.db.tx("*") as conn:
        conn.execute(f"UPDATE rebuild_runs SET {sets} WHERE id = %s", [*values.values(), run_id])


def reset(runtime: Runtime) -> None:
    """Empty every read model and the live consumer's inbox, in one transaction."""
    with runtime.db.tx("*") as conn:
        conn.execute(f"TRUNCATE {', '.join(READ_MODEL_TABLES)}")
        conn.execute("DELETE FROM processed_events WHERE consumer = %s", [live_consumer_name(runtime)])


def _applier(runtime: Runtime, handlers: dict = HANDLERS) -> EventConsumer:
    """An applier under the live consumer's inbox name (with the live consumer's handlers unless told)."""
    return EventConsumer(name=live_consumer_name(runtime), service=runtime.service, settings=runtime.settings,
                         handlers=dict(handlers))


def _read_ahead(batches: Iterator[list[Raw]], applier: EventConsumer, depth: int = 2) -> Iterator[tuple[list[Raw], Admission]]:
    """Read and decode the next batches in a thread while the current one is applied.

    Decoding is Python work and applying is mostly PostgreSQL's: the thread takes the GIL while the
    applier waits on the database, so the two overlap instead of taking turns. (Applying on several
    connections at once was tried: it lets another tenant's claim on an id win a race the original
    order would have refused.)
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    done = threading.Event()

    def put(item) -> bool:
        while not done.is_set():
            try:
                ready.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def fill() -> None:
        try:
            for raws in batches:
                if not put((raws, applier.admit(raws))):
                    return
            put(None)
        except BaseException as exc:  # handed over: the applier raises it
            put(exc)

    thread = threading.Thread(target=fill, daemon=True, name="rebuild-read-ahead")
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        done.set()
        thread.join(timeout=30)


def _replay_topics(runtime: Runtime, run_id: int, stop: threading.Event) -> int:
    applier = _applier(runtime, REBUILD_HANDLERS)
    # The shared configuration plus end-of-partition events: the replay stops where each partition
    # ended when it got there (a high watermark alone is not enough: some brokers, Tansu among them,
    # report it wrong for multi-partition topics, so it only seeds the progress estimate).
    config = consumer_config(runtime.settings, f"{live_consumer_name(runtime)}.rebuild-{run_id}-{uuid.uuid4().hex[:6]}")
    consumer = Consumer({**config, "enable.partition.eof": True})
    handled = 0
    try:
        metadata = consumer.list_topics(timeout=10)
        starts: dict[tuple[str, int], int] = {}
        ends: dict[tuple[str, int], int] = {}
        for topic in applier.topics:
            for partition in (metadata.topics[topic].partitions if topic in metadata.topics else {}):
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
                starts[(topic, partition)], ends[(topic, partition)] = low, max(low, high)
        _progress(runtime, run_id, total=sum(ends[k] - starts[k] for k in ends))
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in ends])
        remaining = set(ends)

        def batches() -> Iterator[list[Raw]]:
            while remaining and not stop.is_set():
                raws = []
                for msg in consumer.consume(runtime.settings.rebuild_batch_size, timeout=0.5):
                    key = (msg.topic(), msg.partition())
                    if msg.error() is not None:
                        if msg.error().code() == KafkaError._PARTITION_EOF:
                            remaining.discard(key)
                            ends[key] = msg.offset()
                        else:
                            log.warning("kafka error during rebuild", extra={"fields": {"error": str(msg.error())}})
                        continue
                    if key in remaining:
                        raws.append(Raw.of(msg))
                        ends[key] = max(ends[key], msg.offset() + 1)
                yield raws

        with psycopg.connect(runtime.settings.database_url, autocommit=True, row_factory=dict_row) as conn:
            for raws, admission in _read_ahead(batches(), applier):
                if raws:
                    applier.process(conn, raws, admission)
                    handled += len(raws)
                _progress(runtime, run_id, applied=handled, total=sum(ends[k] - starts[k] for k in ends))
    finally:
        consumer.close()
    return handled


def _outbox_batches(url: str, size: int, stop: threading.Event) -> Iterator[list[Raw]]:
    """An outbox in order of commit sequence, as Kafka messages would carry it."""
    # Headers as text and tuples, not dicts: psycopg's jsonb loader and dict rows cost this thread, which
    # holds the GIL against the applier, about three times what json.loads of the text does.
    with psycopg.connect(url, autocommit=True, row_factory=tuple_row) as src:
        last = 0
        while not stop.is_set():
            rows = src.execute("SELECT seq, topic, key, headers::text, payload::text FROM outbox "
                               "WHERE seq > %s ORDER BY seq LIMIT %s", [last, size]).fetchall()
            if not rows:
                return
            yield [Raw(topic, 0, seq, key.encode("utf-8"), payload.encode("utf-8"),
                       [(k, v.encode("utf-8")) for k, v in json.loads(headers)]) for seq, topic, key, headers, payload in rows]
            last = rows[-1][0]


def _replay_outboxes(runtime: Runtime, run_id: int, urls: list[str], stop: threading.Event) -> int:
    applier = _applier(runtime, REBUILD_HANDLERS)
    total = 0
    for url in urls:
        with psycopg.connect(url, autocommit=True) as src:
            total += src.execute("SELECT count(*) FROM outbox").fetchone()[0]
    _progress(runtime, run_id, total=total)
    handled = 0
    with psycopg.connect(runtime.settings.database_url, autocommit=True, row_factory=dict_row) as conn:
        for url in urls:
            for raws, admission in _read_ahead(_outbox_batches(url, runtime.settings.rebuild_batch_size, stop), applier):
                applier.process(conn, raws, admission)
                handled += len(raws)
                _progress(runtime, run_id, applied=handled)
    return handled


def run(runtime: Runtime, run_id: int, outbox_urls: list[str] | None = None, stop: threading.Event | None = None) -> None:
    """Reset, replay, and record the outcome of run ``run_id``."""
    stop = stop or threading.Event()
    try:
        reset(runtime)
        if outbox_urls:
            _replay_outboxes(runtime, run_id, outbox_urls, stop)
        else:
            _replay_topics(runtime, run_id, stop)
        finish(runtime)
        _progress(runtime, run_id, status="stopped" if stop.is_set() else "done", finished_at=runtime.clock())
    except Exception as exc:
        log.exception("rebuild failed")
        _progress(runtime, run_id, status="failed", error=str(exc)[:2000], finished_at=runtime.clock())


def finish(runtime: Runtime) -> None:
    """What the rebuild's handlers left for the end (REBUILD_HANDLERS): the per-unit violation sums,
    made from the counters in one transaction (also after a stopped run: they then match what was
    replayed)."""
    with runtime.db.tx("*") as conn:
        violation_sums.recount(conn)
        # Figures kept from the sums as they were (kept_answers.py, province_figures) are not served again.
        store.count_change_everywhere(conn)


def start(runtime: Runtime, outbox_urls: list[str] | None = None) -> int:
    """Begin a run and carry it out in a background thread of this process; returns the run id."""
    run_id = begin(runtime, "outboxes" if outbox_urls else "topics")
    threading.Thread(target=run, args=(runtime, run_id, outbox_urls), daemon=True, name=f"rebuild-{run_id}").start()
    return run_id


def main(argv: list[str] | None = None) -> int:
    """Command line: rebuild synchronously and print the outcome."""
    from services.analytics.bootstrap import SERVICE
    from shared.logging import configure_logging

    parser = argparse.ArgumentParser(prog="python -m services.analytics.rebuild", description=__doc__.split("\n")[0])
    parser.add_argument("--outbox", action="append", dest="outboxes", help="database URL of a producing service (repeat)")
    args = parser.parse_args(argv)
    settings = SERVICE.settings()
    configure_logging(SERVICE.name, settings.log_level)
    runtime = SERVICE.runtime(settings).open()
    try:
        run_id = begin(runtime, "outboxes" if args.outboxes else "topics")
        run(runtime, run_id, args.outboxes)
        print(json.dumps(status(runtime), default=str, ensure_ascii=False))
        return 0 if status(runtime)["status"] == "done" else 1
    finally:
        runtime.close()


if __name__ == "__main__":
    sys.exit(main())
