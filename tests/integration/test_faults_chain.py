"""Fault injection: kill -9 and restart, in turn, every piece of a live chain; then count that nothing was
lost, nothing applied twice, no mail sent twice (beyond the ambiguous window the notifications service
documents, and then under the same Message-ID), and that dead letters are accounted for.

The chain: the inspections service's outbox (a steady stream of ``violation.recorded`` written the way
the service writes them) → its relay → the broker → the analytics consumer (read model) and the
notifications consumer → the notifications Celery worker (Redis) → a real SMTP server, and the
notifications service's own outbox (what it delivered) → its relay → the broker. Every piece
runs as its own process started with the service command line, on a private PostgreSQL (initdb, so it
can be killed), a private Tansu broker and a private Redis.

After the broker restart (Tansu keeps nothing) the relays notice that the broker lost the topics they
had published to and publish those events again from their outboxes, by themselves
(``OutboxRelay.requeue_lost``); consumers skip what they already applied.
"""
from __future__ import annotations

import email
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from email import policy
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from confluent_kafka import Producer
from fastapi.testclient import TestClient

from bench.common import LOGS, Stack
from bench.data import violation
from infra import servers
from services.analytics import figures_keeper, queries, rebuild, store
from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.inspections.bootstrap import SERVICE as INSPECTIONS
from services.notifications.bootstrap import SERVICE as NOTIFICATIONS
from shared.consumer import Raw
from shared.events import CATALOGUE, Event
from tests.support.waiting import wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
UNPUBLISHED = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
TENANTS = ("vinh-long", "can-tho")
HOME_AFFAIRS = {"vinh-long": "vanphong@snv.vinhlong.gov.vn", "can-tho": "vanphong@snv.cantho.gov.vn"}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason="needs PostgreSQL 15 server binaries")]


class PrivatePostgres:
    """A PostgreSQL of this test alone (the machine's shared one is never killed)."""

    def __init__(self):
        self.port = servers.free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pg-faults-"))
        self.data = self.root / "data"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    def init(self) -> "PrivatePostgres":
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C")
        return self.start()

    def start(self) -> "PrivatePostgres":
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=100"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start")
        return self

    def kill9(self) -> None:
        """SIGKILL the postmaster and every backend at once: a crash, recovered from the WAL at start."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
        for p in [pid, *children]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{p}").exists() for p in [pid, *children]) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        except Exception:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class Mailbox:
    """The SMTP server's side: every accepted message, by Message-ID."""

    def __init__(self):
        self.ids: list[str] = []
        self.times: dict[str, list[float]] = {}
        self.subjects: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.lock:
            self.ids.append(msg["Message-ID"])
            self.times.setdefault(msg["Message-ID"], []).append(time.monotonic())
            self.subjects.append(str(msg["Subject"]))
        return "250 Message accepted for delivery"


def send_poison(stack: Stack) -> int:
    """Messages no consumer can apply, produced straight to the topic: they must end as dead letters."""
    et = CATALOGUE.latest("violation.recorded")
    bad = violation(random.Random(1), str(uuid.uuid4()), str(uuid.uuid4()), datetime.now(timezone.utc))
    bad["severity"] = "rất nghiêm trọng"  # not in the schema's enum
    event = Event(type=et.type, source="/inspection-platform/inspections", tenant=TENANTS[0], data=bad,
                  dataschema=et.dataschema, subject=bad["inspection_id"])
    messages = [(event.headers(), event.value()), ([], "không phải JSON".encode()), ([("ce_type", b"violation.recorded")], b"{}")]
    producer = Producer({"bootstrap.servers": stack.bootstrap})
    for headers, value in messages:
        producer.produce(CATALOGUE.topic(et.type, f"b{stack.run_id}."), key=b"poison", value=value, headers=headers)
    assert producer.flush(15) == 0
    return len(messages)


def scalar(url: str, sql: str, params=()) -> int | None:
    """One number from a service database as the system sees it; None while the server is down."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
            conn.execute("SELECT set_config('app.tenant', '*', false)")
            return conn.execute(sql, params).fetchone()[0]
    except psycopg.OperationalError:
        return None


class Writer:
    """A steady stream of findings, written with runtime.outbox.add in transactions as the service does."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.stop = threading.Event()
        self.failures = 0
        self.rnd = random.Random(8)
        self.units = {t: [str(uuid.uuid4()) for _ in range(5)] for t in TENANTS}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            tenant = self.rnd.choice(TENANTS)
            unit = self.rnd.choice(self.units[tenant])
            try:
                with self.runtime.db.tx(tenant) as conn:
                    for _ in range(2):
                        data = violation(self.rnd, unit, str(uuid.uuid5(uuid.NAMESPACE_URL, unit)), datetime.now(timezone.utc))
                        self.runtime.outbox.add(conn, "violation.recorded", tenant=tenant, data=data)
            except psycopg.Error:
                self.failures += 1  # the database is down: the request fails, the caller tries again
                self.stop.wait(0.3)
                continue
            self.stop.wait(0.06)


@pytest.fixture
def world(issuer):
    pg = PrivatePostgres().init()
    smtp_box = Mailbox()
    smtp = Controller(smtp_box, hostname="127.0.0.1", port=servers.free_port())
    smtp.start()
    stack = Stack(servers.Tansu().start(), pg.admin_url, servers.LocalRedis().start(), issuer)
    try:
        yield stack, pg, smtp_box, smtp.port
    finally:
        for proc in stack.procs:
            proc.kill9()
        stack.procs.clear()
        stack.broker.kill()
        stack.redis.kill()
        smtp.stop()
        pg.stop()


def test_kill_every_piece_in_turn_and_count_nothing_lost_nothing_twice(world):
    stack, pg, mailbox, smtp_port = world
    urls = {s.name: stack.database(s.name) for s in (INSPECTIONS, ANALYTICS, NOTIFICATIONS)}
    for s in (INSPECTIONS, ANALYTICS, NOTIFICATIONS):
        s.migrate(stack.settings(s, urls[s.name]))
    mail = dict(smtp_host="127.0.0.1", smtp_port=smtp_port, retry_base_seconds=1, retry_max_seconds=2,
                requeue_after_seconds=2, sweep_seconds=1, send_lease_seconds=15, relay_poll_seconds=0.5)

    # The provinces' Sở Nội vụ get an e-mail for every finding (a routing rule each tenant set itself).
    notif_runtime = NOTIFICATIONS.runtime(stack.settings(NOTIFICATIONS, urls["notifications"], **mail)).open()
    with TestClient(NOTIFICATIONS.create_app(notif_runtime, manage_runtime=False)) as client:
        for tenant in TENANTS:
            admin = {"Authorization": f"Bearer {stack.issuer.issue(tenant=tenant, roles=['province_admin'])}"}
            r = client.put("/v1/settings", headers=admin, json={"home_affairs": {
                "name": f"Sở Nội vụ {'Vĩnh Long' if tenant == 'vinh-long' else 'Cần Thơ'}", "email": HOME_AFFAIRS[tenant]}})
            assert r.status_code == 200, r.text
            r = client.put("/v1/routing-rules", headers=admin, json={"rules": {
                "violation.recorded": [{"role": "home_affairs", "channels": ["email"]}]}})
            assert r.status_code == 200, r.text
    notif_runtime.close()

    def spawn(name, definition, *argv):
        return stack.spawn(name, list(argv), stack.env(definition, urls[definition.name], **mail))

    relay = spawn("faults-inspections-relay", INSPECTIONS, "-m", "services.inspections", "relay")
    notifications_relay = spawn("faults-notifications-relay", NOTIFICATIONS, "-m", "services.notifications", "relay")
    analytics = spawn("faults-analytics-consume", ANALYTICS, "-m", "services.analytics", "consume")
    notifications = spawn("faults-notifications-consume", NOTIFICATIONS, "-m", "services.notifications", "consume")
    worker = spawn("faults-notifications-celery", NOTIFICATIONS, "-m", "celery", "-A", NOTIFICATIONS.celery,
                   "worker", "--beat", "--concurrency", "2", "--loglevel", "WARNING",
                   "--schedule", str(pg.root / "celerybeat"))
    figures_worker = stack.spawn("faults-analytics-celery", [
        "-m", "celery", "-A", ANALYTICS.celery, "worker", "--beat", "--concurrency", "2", "--loglevel", "WARNING",
        "--schedule", str(pg.root / "celerybeat-analytics")], stack.env(ANALYTICS, urls["analytics"], figures_interval_seconds=1))

    runtime = INSPECTIONS.runtime(stack.settings(INSPECTIONS, urls["inspections"])).open()
    writer = Writer(runtime)
    units_known(stack, urls["analytics"], writer.units)
    writer.thread.start()

    findings = lambda: scalar(urls["analytics"], "SELECT count(*) FROM findings") or 0  # noqa: E731
    mails = lambda: len(set(mailbox.ids))  # noqa: E731

    def flows(what: str, more: int = 30, timeout: float = 45) -> None:
        """Wait until the read model and the mailbox both moved on by ``more`` (the chain works again)."""
        f0, m0 = findings(), mails()
        try:
            wait_until(lambda: findings() >= f0 + more and mails() >= m0 + more, timeout=timeout, interval=0.2,
                       message=f"the chain to flow again after {what}")
        except AssertionError as exc:
            raise AssertionError(f"{exc} (findings {f0}, mails {m0} before; now {findings()}, {mails()}; unpublished "
                                 f"{scalar(urls['inspections'], UNPUBLISHED)})\n{missing_report(urls, None, stack)}") from None

    kills: list[str] = []
    killed_at: list[tuple[float, str]] = []

    def killed(name: str) -> None:
        kills.append(name)
        killed_at.append((time.monotonic(), name))

    try:
        flows("start-up", timeout=60)
        poison = send_poison(stack)
        for name, proc in (("analytics consumer", analytics), ("notifications consumer", notifications),
                           ("inspections relay", relay), ("notifications relay", notifications_relay),
                           ("notifications Celery worker and beat", worker),
                           ("analytics Celery worker and beat", figures_worker)):
            proc.restart()
            killed(name)
            flows(f"kill -9 of the {name}")
        stack.redis.restart()
        killed("Redis")
        flows("kill -9 of Redis")
        pg.kill9()
        pg.start()
        killed("PostgreSQL")
        flows("kill -9 of PostgreSQL")
        restarted_at = scalar(urls["inspections"], "SELECT now()")
        stack.broker.restart()
        killed("broker")
        # Tansu lost every message. Nobody runs a replay: the relays' producers give up on the lost broker
        # after message.timeout.ms (15 s), find their topics gone, and publish everything again.
        flows("kill -9 of the broker", timeout=90)
    finally:
        writer.stop.set()
        writer.thread.join(10)
        runtime.close()

    written = scalar(urls["inspections"], "SELECT count(*) FROM outbox WHERE type = 'violation.recorded'")
    dead = lambda: tuple(scalar(u, "SELECT count(*) FROM dead_letters") for u in urls.values())  # noqa: E731
    try:
        wait_until(lambda: findings() >= written and mails() >= written and dead() == (0, poison, poison)
                   and scalar(urls["notifications"], UNPUBLISHED) == 0, timeout=90,
                   interval=0.5, message="every written event to reach the read model and the mailbox")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: written {written}, findings {findings()}, mails {mails()}, dead letters {dead()}, "
                             f"unpublished {scalar(urls['inspections'], UNPUBLISHED)}\n"
                             f"{missing_report(urls, restarted_at, stack)}") from None
    # Once every delivery row says "sent", nothing can be sent again (a resend needs a "sending" row).
    wait_until(lambda: scalar(urls["notifications"], "SELECT count(*) FROM deliveries WHERE state <> 'sent'") == 0,
               timeout=60, interval=0.5, message="every delivery to be marked sent")

    a, n, i = urls["analytics"], urls["notifications"], urls["inspections"]
    counts = {
        "events written (inspections outbox)": written,
        "outbox rows not yet published (inspections, notifications)": (scalar(i, UNPUBLISHED), scalar(n, UNPUBLISHED)),
        "events written before the broker restart / published again after it": {
            name: (scalar(urls[name], "SELECT count(*) FROM outbox WHERE created_at < %s", [restarted_at]),
                   scalar(urls[name], "SELECT count(*) FROM outbox WHERE created_at < %s AND published_at > %s",
                          [restarted_at, restarted_at])) for name in ("inspections", "notifications")},
        "analytics: findings / distinct ids": (findings(), scalar(a, "SELECT count(DISTINCT finding_id) FROM findings")),
        "analytics: violation counter total": scalar(a, "SELECT coalesce(sum(n), 0) FROM violation_counts"),
        "analytics: inbox rows for violation.recorded": scalar(a, "SELECT count(*) FROM processed_events WHERE type = 'violation.recorded'"),
        "notifications: e-mail deliveries / sent": (
            scalar(n, "SELECT count(*) FROM deliveries WHERE channel = 'email'"),
            scalar(n, "SELECT count(*) FROM deliveries WHERE channel = 'email' AND state = 'sent'")),
        "smtp: messages accepted / distinct Message-IDs": (len(mailbox.ids), mails()),
        "poison messages sent straight to the topic": poison,
        "dead letters (inspections, analytics, notifications)": dead(),
        "writer transactions refused while PostgreSQL was down": writer.failures,
    }
    print(f"\nfault injection: killed in turn {', '.join(kills)}")
    for k, v in counts.items():
        print(f"  {k}: {v}")
    resent = {mid: c for mid, c in Counter(mailbox.ids).items() if c > 1}
    # A send cut off after the SMTP server accepted it but before the row said "sent" is ambiguous; the
    # service resends it (resend_ambiguous, its default) with the same Message-ID, so mail clients drop it.
    # Each is put down to the last kill before its second copy arrived.
    by_kill = Counter(next((name for at, name in reversed(killed_at) if at <= mailbox.times[mid][1]), "none")
                      for mid in resent)
    print(f"  mails accepted twice (same Message-ID), by the kill that cut the first send: {dict(by_kill) or 0}")

    assert kills == ["analytics consumer", "notifications consumer", "inspections relay", "notifications relay",
                     "notifications Celery worker and beat",
                     "analytics Celery worker and beat", "Redis", "PostgreSQL", "broker"]
    assert written and written > 300
    # Every piece recovered by itself: none of them exited (nothing here would start it again).
    assert [p.name for p in stack.procs if p.popen.poll() is not None] == []
    # No event lost, none applied twice.
    assert findings() == written and counts["analytics: findings / distinct ids"][1] == written
    assert counts["analytics: violation counter total"] == written
    assert counts["analytics: inbox rows for violation.recorded"] == written
    assert counts["outbox rows not yet published (inspections, notifications)"] == (0, 0)
    # The restarted broker holds everything again, not only what these consumers had yet to read: a
    # subscriber that joins now reads it all.
    again = counts["events written before the broker restart / published again after it"]
    assert again["inspections"][0] > 300 and all(before == republished for before, republished in again.values()), again
    # One delivery per event, every one sent, every Message-ID accepted by the SMTP server.
    assert counts["notifications: e-mail deliveries / sent"] == (written, written)
    assert mails() == written
    # Sent twice only in that window: at most one per worker slot (2) for each kill that can cut a send
    # between the SMTP server's answer and the "sent" row (the worker's, PostgreSQL's), never three times,
    # and always under the same Message-ID.
    assert len(resent) <= 4 and all(c == 2 for c in resent.values()), resent
    assert set(mailbox.subjects) and all(s for s in mailbox.subjects)
    # Dead letters are the poison and nothing else (inspections consumes nothing in this chain).
    assert counts["dead letters (inspections, analytics, notifications)"] == (0, poison, poison)
    for url in (a, n):
        assert scalar(url, "SELECT count(*) FROM dead_letters WHERE key = 'poison'::bytea") == poison
    # The central view's figures the analytics worker keeps catch up with the read model by themselves
    # (its passes were killed, and cut by PostgreSQL's and Redis's deaths) and equal the figures computed now.
    kept = central_figures_kept(stack, a)
    print(f"  central view's violations as the analytics worker keeps them: {({t: f['violations'] for t, f in kept.items()})}")
    assert kept == central_figures_computed(stack, a)


def missing_report(urls: dict[str, str], restarted_at, stack: Stack) -> str:
    """What a failed count needs to be understood: each consumer's missing events with where the relay placed
    them, and the warnings the chain's processes logged (CI keeps no other trace of them)."""
    with psycopg.connect(urls["inspections"], autocommit=True) as conn:
        outbox = {str(r[0]): r[1:] for r in conn.execute(
            "SELECT id, seq, created_at < %s AS before_restart, published_at, kafka_partition, kafka_offset, attempts "
            "FROM outbox WHERE type = 'violation.recorded' ORDER BY seq", [restarted_at or "infinity"])}
    lines = []
    for name in ("analytics", "notifications"):
        with psycopg.connect(urls[name], autocommit=True) as conn:
            applied = {str(r[0]) for r in conn.execute(
                "SELECT event_id FROM processed_events WHERE type = 'violation.recorded'")}
        missing = [(i, outbox[i]) for i in outbox if i not in applied]
        lines.append(f"{name}: {len(missing)} events not applied (seq, before restart, published, partition, offset, "
                     f"attempts): {[row for _, row in missing[:20]]}")
    mails = scalar(urls["notifications"], "SELECT count(*) FROM deliveries WHERE state <> 'sent'")
    lines.append(f"notifications: deliveries not sent: {mails}")
    lines.append("processes: " + ", ".join(f"{p.name} {'running' if p.popen.poll() is None else f'exited {p.popen.poll()}'}"
                                           for p in stack.procs))
    for proc in stack.procs:
        path = LOGS / f"{proc.name}.log"
        if path.exists():
            warnings = [line[:400] for line in path.read_text(errors="replace").splitlines()
                        if any(level in line for level in ('"WARNING"', '"ERROR"', "WARNING/", "ERROR/", "CRITICAL/"))]
            lines.append(f"--- {proc.name}: last warnings\n" + "\n".join(warnings[-25:]))
    return "\n".join(lines)


def units_known(stack: Stack, url: str, units: dict[str, list[str]]) -> None:
    """The units the findings name, in the analytics read model as plans would have announced them (this
    chain has no plans service), through the consumer's code; the central view lists their provinces."""
    runtime = ANALYTICS.runtime(stack.settings(ANALYTICS, url)).open()
    try:
        raws = []
        for tenant, ids in units.items():
            for i, unit in enumerate(ids):
                event = CATALOGUE.new_event("unit.changed", tenant=tenant, source="/inspection-platform/plans", data={
                    "unit_id": unit, "change": "created", "code": f"{i:03d}", "name": f"Xã Số {i} — {tenant}", "level": 1,
                    "kind": "commune", "parent_id": None, "valid_from": "2025-07-01", "valid_to": None, "successor_id": None})
                raws.append(Raw(CATALOGUE.topic(event.type), 0, len(raws), unit.encode(), event.value(), event.headers()))
        with runtime.db.pool.connection() as conn:
            assert rebuild._applier(runtime).process(conn, raws) == []
    finally:
        runtime.close()


def central_figures_kept(stack: Stack, url: str) -> dict[str, dict]:
    """The worker's figures of both provinces, once it has stored them at their current change counts."""
    runtime = ANALYTICS.runtime(stack.settings(ANALYTICS, url)).open()
    question = queries.central_question(figures_keeper.default_question(runtime.clock().date()))

    def current() -> dict[str, dict] | None:
        with runtime.db.tx("*") as conn:
            versions = store.read_model_versions(conn, TENANTS)
            held = store.province_figures(conn, TENANTS, question, queries.FIGURES_CODE)
        if all(t in held and held[t][0] == versions[t] for t in TENANTS):
            return {t: held[t][1] for t in TENANTS}
        return None

    try:
        return wait_until(current, timeout=30, interval=0.5, message="the worker's figures to catch up")
    finally:
        runtime.close()


def central_figures_computed(stack: Stack, url: str) -> dict[str, dict]:
    runtime = ANALYTICS.runtime(stack.settings(ANALYTICS, url)).open()
    try:
        with runtime.db.tx("*") as conn:
            return queries.province_rows(conn, list(TENANTS), figures_keeper.default_question(runtime.clock().date()))
    finally:
        runtime.close()
