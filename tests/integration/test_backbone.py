"""The event backbone through a real broker and real PostgreSQL: outbox → relay → Kafka → inbox."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from confluent_kafka import Producer
from prometheus_client import REGISTRY

from infra import servers
from shared import consumer as consumer_module
from shared.db import Database
from shared.events import CATALOGUE
from shared.kafka import ensure_topics
from shared.logging import JsonFormatter
from shared.outbox import Outbox, OutboxRelay, replay
from shared.settings import ServiceSettings
from tests.support import backbone_app
from tests.support.kafka import read_topic
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bb(make_database, kafka_bootstrap, topic_prefix):
    url = make_database("backbone")
    backbone_app.setup(url)
    settings = ServiceSettings(database_url=url, kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                               consumer_batch_size=50, relay_poll_seconds=0.5)
    db = Database(url).open()
    yield settings, db, Outbox("backbone", topic_prefix)
    db.close()


def count(db: Database, sql: str, params=()) -> int:
    with db.tx("*") as conn:
        return conn.execute(sql, params).fetchone()["n"]


def effects_per_event(db: Database) -> dict[str, int]:
    with db.tx("*") as conn:
        rows = conn.execute("SELECT plan_id::text AS p, count(*) AS n FROM plans_closed GROUP BY plan_id").fetchall()
    return {r["p"]: r["n"] for r in rows}


class Threads:
    """Run backbone loops in threads of this process, stopped at the end of the test."""

    def __init__(self):
        self.stop = threading.Event()
        self.threads = []

    def start(self, target):
        t = threading.Thread(target=target, args=(self.stop,), daemon=True)
        t.start()
        self.threads.append(t)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)


@pytest.fixture
def threads():
    t = Threads()
    yield t
    t.close()


def child(role: str, settings: ServiceSettings, **env) -> subprocess.Popen:
    environment = {**os.environ, "BB_DATABASE_URL": settings.database_url, "BB_KAFKA": settings.kafka_bootstrap,
                   "BB_PREFIX": settings.topic_prefix, "PYTHONPATH": str(ROOT), **{k: str(v) for k, v in env.items()}}
    return subprocess.Popen([sys.executable, "-m", "tests.support.backbone_app", role], env=environment, cwd=ROOT)


def test_event_committed_with_state_is_published_as_cloudevent_and_applied_once(bb, threads):
    settings, db, outbox = bb
    tenant = "vinh-long"
    plan_ids = backbone_app.close_plans(db, outbox, tenant, 20)
    # A rolled-back state change publishes nothing.
    with pytest.raises(RuntimeError):
        with db.tx(tenant) as conn:
            outbox.add(conn, "plan.closed", tenant=tenant, data={"plan_id": "5d0f5a38-4c8e-4f38-9d7a-1b1b1b1b1b1b", "version": 1, "year": 2026, "closed_on": "2026-12-31"})
            raise RuntimeError("the state change failed")

    threads.start(OutboxRelay(settings, "backbone").run)
    threads.start(backbone_app.consumer(settings).run)
    wait_until(lambda: len(effects_per_event(db)) == 20, timeout=60, message="20 effects")

    assert set(effects_per_event(db)) == set(plan_ids)
    assert set(effects_per_event(db).values()) == {1}
    assert count(db, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL") == 0

    messages = read_topic(settings.kafka_bootstrap, CATALOGUE.topic("plan.closed", settings.topic_prefix), expect=20)
    assert len(messages) == 20
    headers = dict(messages[0].headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"plan.closed"
    assert headers["ce_tenant"] == tenant.encode()
    assert headers["ce_dataschema"] == b"urn:inspection-platform:events:plan.closed:v1"
    assert headers["content-type"] == b"application/json"
    assert headers["ce_traceparent"].startswith(b"00-")
    assert messages[0].key().decode() == json.loads(messages[0].value())["plan_id"]


def test_consumer_killed_mid_batch_applies_every_event_exactly_once(bb, threads):
    settings, db, outbox = bb
    plan_ids = backbone_app.close_plans(db, outbox, "dong-thap", 300)
    threads.start(OutboxRelay(settings, "backbone").run)

    proc = child("consume", settings, BB_SLOW_MS=10, BB_BATCH=100)
    try:
        # Let it commit at least one batch and be in the middle of another, then kill -9.
        wait_until(lambda: len(effects_per_event(db)) >= 100, timeout=60, message="first batch")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        partial = len(effects_per_event(db))
        assert 100 <= partial < 300
        proc = child("consume", settings, BB_SLOW_MS=0, BB_BATCH=100)
        wait_until(lambda: len(effects_per_event(db)) == 300, timeout=90, message="all 300 effects")
    finally:
        proc.kill()
        proc.wait(10)
    effects = effects_per_event(db)
    assert set(effects) == set(plan_ids)
    assert set(effects.values()) == {1}, "an effect was applied twice"
    assert count(db, "SELECT count(*) AS n FROM processed_events") == 300


def test_relay_killed_and_restarted_publishes_everything(bb, threads):
    settings, db, outbox = bb
    plan_ids = backbone_app.close_plans(db, outbox, "tra-vinh", 3000, per_tx=500)
    relay = child("relay", settings, BB_RELAY_BATCH=5)
    try:
        wait_until(lambda: count(db, "SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL") >= 10,
                   timeout=60, interval=0.01)
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
        assert count(db, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL") > 0
        relay = child("relay", settings)
        threads.start(backbone_app.consumer(settings).run)
        wait_until(lambda: len(effects_per_event(db)) == 3000, timeout=90, message="all 3000 effects")
    finally:
        relay.kill()
        relay.wait(10)
    assert set(effects_per_event(db)) == set(plan_ids)
    assert set(effects_per_event(db).values()) == {1}


def test_poison_messages_go_to_the_dead_letter_topic_and_the_rest_flow(bb, threads):
    settings, db, outbox = bb
    topic = CATALOGUE.topic("plan.closed", settings.topic_prefix)
    good = backbone_app.close_plans(db, outbox, "ben-tre", 5)
    # A bug: the handler raises for this payload (schema-valid).
    backbone_app.close_plans(db, outbox, "ben-tre", 1, year=backbone_app.POISON_YEAR)
    threads.start(OutboxRelay(settings, "backbone").run)
    wait_until(lambda: count(db, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL") == 0, timeout=30)
    # Malformed messages written straight to the topic by a misbehaving producer.
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    producer.produce(topic, key=b"x", value=b"not json", headers=[("ce_id", b"00000000-0000-0000-0000-000000000001")])
    valid_headers = [(k, v) for k, v in CATALOGUE.new_event("plan.closed", tenant="ben-tre", source="/x", data={
        "plan_id": "7e0f5a38-4c8e-4f38-9d7a-1b1b1b1b1b1b", "version": 1, "year": 2026, "closed_on": "2026-12-31"}).headers()]
    producer.produce(topic, key=b"y", value=json.dumps({"plan_id": "nope", "extra": 1}).encode(), headers=valid_headers)
    # Oversized: a valid envelope around a payload above the consumer's limit.
    big = {"plan_id": "7e0f5a38-4c8e-4f38-9d7a-1b1b1b1b1b1b", "version": 1, "year": 2026, "closed_on": "2026-12-31"}
    producer.produce(topic, key=b"z", value=json.dumps(big).encode() + b" " * 20_000, headers=valid_headers)
    producer.flush(10)
    more = backbone_app.close_plans(db, outbox, "ben-tre", 5)

    settings = settings.model_copy(update={"max_event_bytes": 10_000})
    threads.start(backbone_app.consumer(settings).run)
    wait_until(lambda: len(effects_per_event(db)) == 10, timeout=60, message="the 10 good events")
    assert set(effects_per_event(db)) == set(good + more)

    dead = read_topic(settings.kafka_bootstrap, topic + ".dlt", expect=4)
    assert len(dead) == 4
    reasons = sorted(dict(m.headers())["dlt_reason"].decode() for m in dead)
    assert any(r.startswith("EnvelopeError") for r in reasons)
    assert any(r.startswith("SchemaError") and "additional" in r.lower() for r in reasons)
    assert any(r.startswith("RuntimeError: cannot close a plan of year 2099") for r in reasons)
    assert any(r.startswith("OversizedEvent") for r in reasons)
    for m in dead:
        h = dict(m.headers())
        assert h["dlt_original_topic"].decode() == topic
        assert int(h["dlt_original_offset"]) >= 0
    assert count(db, "SELECT count(*) AS n FROM dead_letters") == 4

    # After the bug is fixed, replaying the dead letters applies the one that a fix can rescue.
    consumer = backbone_app.consumer(settings)
    original = backbone_app.POISON_YEAR
    backbone_app.POISON_YEAR = -1
    try:
        fixed = backbone_app.consumer(settings)
        counts = fixed.replay_dead_letters()
    finally:
        backbone_app.POISON_YEAR = original
    assert counts == {"applied": 1, "duplicate": 0, "ignored": 0, "dead": 3}
    assert len(effects_per_event(db)) == 11
    assert consumer.replay_dead_letters() == {"applied": 0, "duplicate": 0, "ignored": 0, "dead": 3}


def test_replay_republishes_a_range_and_consumers_ignore_the_repeats(bb, threads):
    settings, db, outbox = bb
    backbone_app.close_plans(db, outbox, "an-giang", 10)
    threads.start(OutboxRelay(settings, "backbone").run)
    threads.start(backbone_app.consumer(settings).run)
    wait_until(lambda: len(effects_per_event(db)) == 10, timeout=60)
    with db.tx("*") as conn:
        seqs = [r["seq"] for r in conn.execute("SELECT seq FROM outbox ORDER BY seq").fetchall()]
    assert replay(settings.database_url, from_seq=seqs[2], to_seq=seqs[5]) == 4
    topic = CATALOGUE.topic("plan.closed", settings.topic_prefix)
    assert len(read_topic(settings.kafka_bootstrap, topic, expect=14)) == 14
    wait_until(lambda: count(db, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL") == 0)
    assert set(effects_per_event(db).values()) == {1}


@pytest.fixture
def own_broker(make_database, topic_prefix):
    """A Tansu of the test alone (the test restarts it) behind a proxy (the test can cut the network),
    a backbone database, and settings for both."""
    proxy_port = servers.free_port()
    broker = servers.Tansu(advertised_port=proxy_port).start()
    proxy = TcpProxy(broker.port, proxy_port).start()
    db = None
    try:
        url = make_database("backbone")
        backbone_app.setup(url)
        settings = ServiceSettings(database_url=url, kafka_bootstrap=f"127.0.0.1:{proxy_port}", topic_prefix=topic_prefix,
                                   consumer_batch_size=50, relay_poll_seconds=0.2, relay_broker_check_seconds=0.5)
        db = Database(url).open()
        yield broker, settings, db, proxy
    finally:
        if db is not None:
            db.close()
        proxy.stop()
        broker.kill()


def test_after_a_broker_restart_without_its_log_relay_and_consumer_recover_by_themselves(own_broker, threads):
    """Tansu keeps nothing across a restart: topics, messages and consumer groups are gone.

    The relay sees its topic gone or made again and publishes those events again; the consumer, whose
    positions now point into a new log, reads its partitions again from the beginning. Nobody runs a
    replay. (Whether the new log outgrows the consumer's old positions before it reconnects is up to
    timing here; the fault-injection test, with a steady stream of events, is where skipping the new
    log's start showed up.)
    """
    broker, settings, db, _proxy = own_broker
    outbox = Outbox("backbone", settings.topic_prefix)
    before = backbone_app.close_plans(db, outbox, "soc-trang", 300, per_tx=50)
    relay = OutboxRelay(settings, "backbone")
    threads.start(relay.run)
    threads.start(backbone_app.consumer(settings).run)
    topic = CATALOGUE.topic("plan.closed", settings.topic_prefix)
    wait_until(lambda: len(effects_per_event(db)) == 300, timeout=60, message="300 effects before the restart")
    assert relay.requeued_total == 0  # the broker had everything: nothing sent twice

    broker.restart()  # memory storage: every topic, message and group is gone
    wait_until(lambda: relay.requeued_total >= 300, timeout=60, message="the relay to notice the loss")
    after = backbone_app.close_plans(db, outbox, "soc-trang", 60, per_tx=5)
    wait_until(lambda: len(effects_per_event(db)) == 360, timeout=60,
               message=f"every effect after the restart (have {len(effects_per_event(db))})")
    assert set(effects_per_event(db)) == set(before + after)
    assert set(effects_per_event(db).values()) == {1}
    got = read_topic(broker.bootstrap, topic, expect=360, timeout=60)
    assert sorted(json.loads(m.value())["plan_id"] for m in got) == sorted(before + after)
    # The topic came back with our partitions, not the broker's default.
    assert len(read_partitions(broker.bootstrap, topic)) == settings.kafka_partitions


def test_a_broker_back_with_its_log_is_not_read_again(own_broker, threads, monkeypatch):
    """Every broker away for a few seconds (the network, or a broker restarted with its log): the topics
    keep their ids, so the consumer reads on from where it was and the relay publishes nothing again.
    (Before, any outage of every broker made every consumer read all its partitions from the beginning:
    the whole history, on a real Kafka keeping it.)"""
    monkeypatch.setattr(consumer_module, "NOTE_TOPICS_SECONDS", 0.5)
    broker, settings, db, proxy = own_broker
    outbox = Outbox("backbone", settings.topic_prefix)
    relay = OutboxRelay(settings, "backbone")
    consumer = backbone_app.consumer(settings)
    threads.start(relay.run)
    threads.start(consumer.run)
    first = backbone_app.close_plans(db, outbox, "soc-trang", 100, per_tx=20)
    wait_until(lambda: len(effects_per_event(db)) == 100, timeout=60, message="100 effects before the outage")
    wait_until(lambda: set(consumer._known) == set(consumer.topics), timeout=30, message="the consumer to know its topics' ids")
    duplicates = lambda: REGISTRY.get_sample_value(  # noqa: E731
        "events_duplicate_total", {"service": "backbone", "consumer": consumer.name}) or 0
    skipped_before = duplicates()

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(JsonFormatter("backbone").format(record))  # in the consumer's thread
    consumer_log = logging.getLogger("shared.consumer")
    level = consumer_log.level
    consumer_log.setLevel(logging.INFO)
    consumer_log.addHandler(handler)
    try:
        proxy.cut(3)
        wait_until(lambda: consumer.outages_total >= 1, timeout=30, message="the consumer to see every broker down")
        wait_until(lambda: any("reading on" in line for line in lines), timeout=30, message="the consumer to read on")
    finally:
        consumer_log.removeHandler(handler)
        consumer_log.setLevel(level)
    # The outage is nobody's event: its lines name no tenant or trace of the last batch applied.
    outage = [json.loads(line) for line in lines if "every broker was down" in line]
    assert outage and not any("tenant" in entry or "trace_id" in entry for entry in outage), outage
    later = backbone_app.close_plans(db, outbox, "soc-trang", 20, per_tx=5)
    wait_until(lambda: len(effects_per_event(db)) == 120, timeout=60,
               message=f"every effect after the outage (have {len(effects_per_event(db))})")
    assert set(effects_per_event(db)) == set(first + later) and set(effects_per_event(db).values()) == {1}
    assert consumer.reread_topics_total == 0 and duplicates() == skipped_before  # nothing read twice
    assert relay.requeued_total == 0


def test_a_topic_made_again_loses_what_was_published_to_it_and_the_relay_publishes_it_again(own_broker):
    """The broker restarted without its log and the topic was made again, with all its partitions, before
    the relay looked and before anything new went to it: no partition is missing and no offset is given
    out again, only the topic's id tells. The relay publishes every event again (the new topic is read
    from the start by a new group, as a subscriber that joins later would)."""
    broker, settings, db, _proxy = own_broker
    plans = backbone_app.close_plans(db, Outbox("backbone", settings.topic_prefix), "soc-trang", 120, per_tx=20)
    topic = CATALOGUE.topic("plan.closed", settings.topic_prefix)
    first = Threads()
    relay = OutboxRelay(settings, "backbone")
    first.start(relay.run)
    try:
        wait_until(lambda: count(db, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL") == 0, timeout=60)
        wait_until(lambda: count(db, "SELECT count(*) AS n FROM outbox_topics") == 1, timeout=30,
                   message="the relay to record the topic's incarnation")
    finally:
        first.close()
    assert relay.requeued_total == 0

    broker.restart()
    ensure_topics(settings, [topic])
    assert len(read_partitions(broker.bootstrap, topic)) == settings.kafka_partitions

    second = Threads()
    relay = OutboxRelay(settings, "backbone")
    second.start(relay.run)
    try:
        wait_until(lambda: relay.requeued_total == 120, timeout=30, message="the relay to publish all 120 again")
        got = read_topic(broker.bootstrap, topic, expect=120, timeout=60)
    finally:
        second.close()
    assert sorted(json.loads(m.value())["plan_id"] for m in got) == sorted(plans)


def read_partitions(bootstrap: str, topic: str) -> list[int]:
    from confluent_kafka.admin import AdminClient
    return sorted(AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10).topics[topic].partitions)


def test_row_level_security_hides_other_tenants_without_a_filter(bb):
    settings, db, outbox = bb
    backbone_app.close_plans(db, outbox, "tenant-a", 2)
    backbone_app.close_plans(db, outbox, "tenant-b", 3)
    with db.tx("tenant-a") as conn:
        assert conn.execute("SELECT count(*) AS n FROM closures").fetchone()["n"] == 2
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO closures (tenant, plan_id) VALUES ('tenant-b', gen_random_uuid())")
    with db.tx(None) as conn:
        assert conn.execute("SELECT count(*) AS n FROM closures").fetchone()["n"] == 0


def test_audit_trail_records_changes_and_detects_tampering(bb, pg_admin_url):
    settings, db, outbox = bb
    from shared.audit import verify

    with db.tx("vinh-long", actor="planner-1") as conn:
        conn.execute("INSERT INTO closures (tenant, plan_id) VALUES ('vinh-long', '11111111-1111-1111-1111-111111111111')")
    with db.tx("vinh-long", actor="admin-2") as conn:
        conn.execute("DELETE FROM closures WHERE plan_id = '11111111-1111-1111-1111-111111111111'")
    backbone_app.close_plans(db, outbox, "vinh-long", 3)
    result = verify(settings.database_url)
    assert result["ok"] is True and result["checked"] == 5
    with db.tx("vinh-long") as conn:
        rows = conn.execute("SELECT actor, action, before, after FROM audit_log ORDER BY seq LIMIT 2").fetchall()
        assert [(r["actor"], r["action"]) for r in rows] == [("planner-1", "INSERT"), ("admin-2", "DELETE")]
        assert rows[1]["before"]["plan_id"] == "11111111-1111-1111-1111-111111111111" and rows[1]["after"] is None
        # The application role cannot rewrite history.
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_log SET actor = 'someone-else' WHERE actor = 'admin-2'")

    # Someone with the keys to the database edits an entry behind the triggers' back: detected.
    dbname = psycopg.conninfo.conninfo_to_dict(settings.database_url)["dbname"]
    admin = psycopg.conninfo.make_conninfo(pg_admin_url, dbname=dbname)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_append_only")
        conn.execute("UPDATE audit_log SET actor = 'someone-else' WHERE actor = 'admin-2'")
    broken = verify(settings.database_url)
    assert broken["ok"] is False and "altered" in broken["reason"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("UPDATE audit_log SET actor = 'admin-2' WHERE actor = 'someone-else'")
        assert verify(settings.database_url)["ok"] is True
        conn.execute("DELETE FROM audit_log WHERE chain_pos = 3")
    deleted = verify(settings.database_url)
    assert deleted["ok"] is False and "missing" in deleted["reason"]
