"""Event pipeline: outbox -> relay -> Kafka (Tansu) -> analytics read model, beside raw baselines.

The relay (inspections service) and the consumer (analytics service, its real handlers) run as their
own processes, started with the service CLI as the local stack starts them. The figure is the drain
rate of a backlog: the relay is paused (SIGSTOP) while the backlog is written with
``runtime.outbox.add`` in transactions, then resumed, and the clock runs until the last finding is in
the read model. Baselines on the same broker and database: raw confluent-kafka produce+consume of
the same messages, and raw psycopg inserts of the same outbox rows and of the same read-model rows.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from bench.common import Row, Stack, cpu_seconds, fmt_rate, machine_busy_seconds, wait_for
from bench.data import units_by_province, violations
from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.inspections.bootstrap import SERVICE as INSPECTIONS
from shared.events import CATALOGUE
from shared.kafka import consumer_config, ensure_topics, producer_config

TARGET = 5000.0


def profile(procs) -> list[subprocess.Popen]:
    """With BENCH_PROFILE=<dir>, sample the processes with py-spy while the backlog drains."""
    out = os.environ.get("BENCH_PROFILE")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not out or not Path(spy).exists():
        return []
    Path(out).mkdir(parents=True, exist_ok=True)
    idle = ["--idle"] if os.environ.get("BENCH_PROFILE_IDLE") else []
    gil = ["--gil"] if os.environ.get("BENCH_PROFILE_GIL") else []
    return [subprocess.Popen([spy, "record", "--nonblocking", *idle, *gil, "--format", "raw", "-p", str(p.pid), "-o",
                              f"{out}/{p.name}.txt"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p in procs]


def seed_units(url: str, units: dict[str, list[str]]) -> None:
    """Unit rows as ``unit.changed`` would have left them in a read model (communes of each province)."""
    rows = [(u, tenant, f"{i:05d}", f"UBND xã Số {i} ({tenant})", 2, "commune", "2025-07-01")
            for tenant, ids in units.items() for i, u in enumerate(ids)]
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT set_config('app.tenant', '*', true)")
        cur.executemany("INSERT INTO units (unit_id, tenant, code, name, level, kind, valid_from) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)


def group_members(settings) -> int:
    """Members of the analytics consumer group, as the broker reports them."""
    from confluent_kafka.admin import AdminClient

    group = f"{settings.topic_prefix}analytics.main"
    try:
        result = AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).describe_consumer_groups([group])[group].result(3)
        return len(result.members)
    except Exception:
        return 0


def count(url: str, sql: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT set_config('app.tenant', '*', false)")
        return conn.execute(sql).fetchone()[0]


def write_backlog(runtime, items: list[tuple[str, dict]], per_tx: int, threads: int = 2) -> float:
    """Write the events with ``runtime.outbox.add``, ``per_tx`` per transaction; returns seconds."""
    by_tenant: dict[str, list] = {}
    for item in items:
        by_tenant.setdefault(item[0], []).append(item)
    # One transaction holds one tenant (row-level security), as a service's request does.
    chunks = [mine[i:i + per_tx] for mine in by_tenant.values() for i in range(0, len(mine), per_tx)]

    def work(my: list):
        for chunk in my:
            with runtime.db.tx(chunk[0][0]) as conn:
                for tenant, data in chunk:
                    runtime.outbox.add(conn, "violation.recorded", tenant=tenant, data=data)

    t0 = time.perf_counter()
    workers = [threading.Thread(target=work, args=(chunks[i::threads],)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - t0


def group_by_tenant(items: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    # One transaction holds one tenant (RLS), as a service's request does: sort so chunks are single-tenant.
    return sorted(items, key=lambda it: it[0])


def raw_kafka(stack: Stack, settings, messages: list[tuple[str, bytes, bytes, list]]) -> float:
    """Produce and consume the same messages with bare confluent-kafka (same config); returns seconds."""
    topic = f"braw{uuid.uuid4().hex[:6]}.inspections.inspections"
    ensure_topics(settings, [topic])
    consumer = Consumer({**consumer_config(settings, f"raw-{uuid.uuid4().hex[:6]}"), "enable.auto.offset.store": True})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(settings.kafka_partitions)])
    got = 0
    done = threading.Event()

    def consume():
        nonlocal got
        while got < len(messages) and not done.is_set():
            for m in consumer.consume(500, timeout=0.2):
                if m.error() is None:
                    got += 1

    producer = Producer(producer_config(settings, "raw-bench"))
    reader = threading.Thread(target=consume)
    t0 = time.perf_counter()
    reader.start()
    for _t, key, value, headers in messages:
        while True:
            try:
                producer.produce(topic, key=key, value=value, headers=headers)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    reader.join(120)
    elapsed = time.perf_counter() - t0
    done.set()
    consumer.close()
    if got < len(messages):
        raise RuntimeError(f"raw consumer got {got} of {len(messages)}")
    return elapsed


def raw_pg(url: str, outbox_rows: list[list], finding_rows: list[list]) -> tuple[float, float]:
    """Insert the same outbox rows and read-model rows with executemany, 500 per transaction."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE raw_outbox (LIKE outbox INCLUDING DEFAULTS)")
        conn.execute("CREATE TABLE raw_findings (LIKE findings INCLUDING ALL)")
        times = []
        for sql, rows in (
            ("INSERT INTO raw_outbox (id, tenant, type, topic, key, headers, payload) VALUES (%s,%s,%s,%s,%s,%s,%s)", outbox_rows),
            ("INSERT INTO raw_findings (finding_id, tenant, inspection_id, unit_id, criterion_code, severity, recorded_on, "
             "officials_count) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)", finding_rows),
        ):
            t0 = time.perf_counter()
            for i in range(0, len(rows), 500):
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(sql, rows[i:i + 500])
            times.append(time.perf_counter() - t0)
    return times[0], times[1]


def run(stack: Stack, n: int, n_consumers: int = 1) -> tuple[list[Row], dict]:
    """Measure the pipeline and its baselines with ``n`` events."""
    insp_url, an_url = stack.database("inspections"), stack.database("analytics")
    insp_settings = stack.settings(INSPECTIONS, insp_url)
    an_settings = stack.settings(ANALYTICS, an_url)
    INSPECTIONS.migrate(insp_settings)
    ANALYTICS.migrate(an_settings)
    ensure_topics(insp_settings, INSPECTIONS.produced_topics(insp_settings))
    relay = stack.spawn("pipeline-inspections-relay", ["-m", "services.inspections", "relay"], stack.env(INSPECTIONS, insp_url))
    consumers = [stack.spawn(f"pipeline-analytics-consume-{i}", ["-m", "services.analytics", "consume", "main"],
                             stack.env(ANALYTICS, an_url)) for i in range(n_consumers)]
    consumer = consumers[0]
    runtime = INSPECTIONS.runtime(insp_settings).open()
    rnd = random.Random(3)
    units = units_by_province(60)
    seed_units(an_url, units)  # the read model knows the units already (unit.changed came long before)
    try:
        # Warm-up: a few events through, so the consumer has joined its group before the clock starts.
        warm = list(violations(34, units, seed=rnd.randrange(1 << 30)))
        write_backlog(runtime, group_by_tenant(warm), per_tx=1, threads=1)
        wait_for(lambda: count(an_url, "SELECT count(*) FROM findings") >= len(warm), timeout=90, what="warm-up events")
        if n_consumers > 1:
            # Tansu does not answer DescribeGroups; then give the later members a join round (~3 s each) to settle.
            if group_members(an_settings):
                wait_for(lambda: group_members(an_settings) >= n_consumers, timeout=60, what="every consumer in the group")
            else:
                time.sleep(4.0 * n_consumers)

        items = group_by_tenant(list(violations(n, units, seed=rnd.randrange(1 << 30))))
        os.kill(relay.pid, signal.SIGSTOP)
        try:
            write_single = write_backlog(runtime, items[: max(1, n // 10)], per_tx=1)
            write_batched = write_backlog(runtime, items[max(1, n // 10):], per_tx=50)
        finally:
            os.kill(relay.pid, signal.SIGCONT)
        profilers = profile([relay, *consumers])
        expected = len(warm) + n
        watched = {"consumer": [c.pid for c in consumers], "relay": [relay.pid], "broker": [stack.broker.proc.pid]}
        cpu0 = {k: sum(cpu_seconds(p) for p in pids) for k, pids in watched.items()}
        busy0 = machine_busy_seconds()
        t0 = time.perf_counter()
        while True:
            got = count(an_url, "SELECT count(*) FROM findings")
            relay.sample(), [c.sample() for c in consumers]
            if got >= expected:
                break
            if time.perf_counter() - t0 > max(120, n / 200):
                raise TimeoutError(f"pipeline applied {got} of {expected}")
            time.sleep(0.1)  # the count itself costs the database: not too often
        drain = time.perf_counter() - t0
        cpu = {k: sum(cpu_seconds(p) for p in pids) - cpu0[k] for k, pids in watched.items()}
        cpu["everything else (PostgreSQL, the driver, other work)"] = machine_busy_seconds() - busy0 - sum(cpu.values())
        for p in profilers:
            p.send_signal(signal.SIGINT)
            p.wait(30)
        relay.sample(), consumer.sample()
        dupes = count(an_url, "SELECT count(*) - count(DISTINCT finding_id) FROM findings")
        counted = count(an_url, "SELECT coalesce(sum(n), 0) FROM violation_counts")
        dead = count(an_url, "SELECT count(*) FROM dead_letters")

        with runtime.db.tx("*") as conn:
            rows = conn.execute("SELECT id, tenant, type, topic, key, headers, payload::text AS payload FROM outbox "
                                "ORDER BY seq").fetchall()
        outbox_rows = [[uuid.uuid4(), r["tenant"], r["type"], r["topic"], r["key"], json.dumps(r["headers"]), r["payload"]]
                       for r in rows]
        messages = [(r["topic"], r["key"].encode(), r["payload"].encode(), [(k, v.encode()) for k, v in r["headers"]])
                     for r in rows]
        finding_rows = []
        for r in rows:
            d = json.loads(r["payload"])
            finding_rows.append([uuid.uuid4(), r["tenant"], d["inspection_id"], d["unit_id"], d["criterion_code"],
                                 d["severity"], d["recorded_at"][:10], d["officials_count"]])
    finally:
        runtime.close()
    relay.stop(), [c.stop() for c in consumers]
    kafka_s = raw_kafka(stack, insp_settings, messages)
    pg_outbox_s, pg_findings_s = raw_pg(an_url, outbox_rows, finding_rows)

    total = len(messages)
    rate = n / drain
    k_rate, pg_rate, pgf_rate = total / kafka_s, total / pg_outbox_s, total / pg_findings_s
    rows_out = [
        Row("1 pipeline", f"outbox → relay → Kafka → analytics read model ({n:,} events backlog, "
            f"{n_consumers} consumer process{'es' if n_consumers > 1 else ''})", fmt_rate(rate),
            f"raw Kafka produce+consume {fmt_rate(k_rate)}", f"{rate / k_rate:.2f}× Kafka", "≥ 5,000/s", rate >= TARGET),
        Row("1 pipeline", f"CPU seconds during the drain ({drain:.1f} s × {os.cpu_count()} cores)",
            ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())),
        Row("1 pipeline", "same, against raw psycopg inserts of the read-model rows", fmt_rate(rate),
            f"raw INSERT findings {fmt_rate(pgf_rate)}", f"{rate / pgf_rate:.2f}× PG", "", None),
        Row("1 pipeline", "outbox writes, runtime.outbox.add, 1 event/tx, 2 threads", fmt_rate((n // 10 or 1) / write_single),
            f"raw INSERT outbox rows {fmt_rate(pg_rate)}", f"{(n // 10 or 1) / write_single / pg_rate:.2f}×", "", None),
        Row("1 pipeline", "outbox writes, runtime.outbox.add, 50 events/tx, 2 threads",
            fmt_rate((n - max(1, n // 10)) / write_batched), f"raw INSERT outbox rows {fmt_rate(pg_rate)}",
            f"{(n - max(1, n // 10)) / write_batched / pg_rate:.2f}×", "", None),
        Row("1 pipeline", "effects: findings duplicated / counter total / dead letters", f"{dupes} / {counted:,} / {dead}",
            f"expected 0 / {expected:,} / 0", "", "no loss, no double", dupes == 0 and counted == expected and dead == 0),
    ]
    memory = {"inspections relay": relay.peak_mib, "analytics consumer": max(c.peak_mib for c in consumers)}
    return rows_out, memory
