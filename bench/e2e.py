"""End to end: from a committed ``violation.recorded`` to the e-mail accepted by a real SMTP server.

inspections outbox → relay → broker → notifications consumer (delivery row, NOTIFY) → dispatcher →
Redis → Celery worker → SMTP (aiosmtpd in this process). Each service piece runs as its own process as
the stack runs it. Findings are committed at a steady pace; the latency of each is the time from its
commit to the SMTP server accepting the message that carries its event id (X-Event-Id).
"""
from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timezone

from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

import random

from bench.common import Row, Stack, fmt_ms, percentile, wait_for
from bench.data import violation
from infra.servers import free_port
from services.inspections.bootstrap import SERVICE as INSPECTIONS
from services.notifications.bootstrap import SERVICE as NOTIFICATIONS

TENANT = "vinh-long"


class Mailbox:
    def __init__(self):
        self.accepted: dict[str, float] = {}
        self.total = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.lock:
            self.total += 1
            self.accepted.setdefault(str(msg["X-Event-Id"]), time.monotonic())
        return "250 OK"


def run(stack: Stack, n: int, rate: float = 20.0) -> tuple[list[Row], dict]:
    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    insp_url, notif_url = stack.database("inspections"), stack.database("notifications")
    mail = dict(smtp_host="127.0.0.1", smtp_port=smtp.port)
    INSPECTIONS.migrate(stack.settings(INSPECTIONS, insp_url))
    NOTIFICATIONS.migrate(stack.settings(NOTIFICATIONS, notif_url, **mail))
    nrt = NOTIFICATIONS.runtime(stack.settings(NOTIFICATIONS, notif_url, **mail)).open()
    with TestClient(NOTIFICATIONS.create_app(nrt, manage_runtime=False)) as client:
        admin = {"Authorization": f"Bearer {stack.issuer.issue(tenant=TENANT, roles=['province_admin'])}"}
        assert client.put("/v1/settings", headers=admin, json={"home_affairs": {
            "name": "Sở Nội vụ tỉnh Vĩnh Long", "email": "vanphong@snv.vinhlong.gov.vn"}}).status_code == 200
        assert client.put("/v1/routing-rules", headers=admin, json={"rules": {
            "violation.recorded": [{"role": "home_affairs", "channels": ["email"]}]}}).status_code == 200
    nrt.close()
    relay = stack.spawn("e2e-inspections-relay", ["-m", "services.inspections", "relay"],
                        stack.env(INSPECTIONS, insp_url, relay_poll_seconds=0.5))
    consumer = stack.spawn("e2e-notifications-consume", ["-m", "services.notifications", "consume"],
                           stack.env(NOTIFICATIONS, notif_url, **mail))
    worker = stack.spawn("e2e-notifications-celery", ["-m", "celery", "-A", NOTIFICATIONS.celery, "worker", "--beat",
                                                      "--concurrency", "2", "--loglevel", "WARNING", "--schedule",
                                                      f"/tmp/celerybeat-bench-{uuid.uuid4().hex[:6]}"],
                         stack.env(NOTIFICATIONS, notif_url, **mail))
    runtime = INSPECTIONS.runtime(stack.settings(INSPECTIONS, insp_url)).open()
    rnd = random.Random(4)
    unit = str(uuid.uuid4())
    committed: dict[str, float] = {}

    def commit_one() -> str:
        with runtime.db.tx(TENANT) as conn:
            event = runtime.outbox.add(conn, "violation.recorded", tenant=TENANT,
                                       data=violation(rnd, unit, str(uuid.uuid4()), datetime.now(timezone.utc)))
        committed[event.id] = time.monotonic()
        return event.id

    try:
        warm = commit_one()  # the consumer joins its group and the worker starts before the clock runs
        wait_for(lambda: warm in box.accepted, timeout=120, what="the warm-up mail")
        committed.clear()
        t0 = time.monotonic()
        for i in range(n):
            due = t0 + i / rate
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            commit_one()
            if i % 10 == 0:
                relay.sample(), consumer.sample(), worker.sample()
        wait_for(lambda: all(e in box.accepted for e in committed), timeout=120, what="every mail")
        relay.sample(), consumer.sample(), worker.sample()
    finally:
        runtime.close()
        smtp.stop()
    lat = [box.accepted[e] - t for e, t in committed.items()]
    p99 = percentile(lat, 99)
    rows = [Row("3 end to end", f"violation.recorded committed → e-mail accepted by SMTP ({n} findings at {rate:.0f}/s)",
                f"p50 {fmt_ms(percentile(lat, 50))}, p99 {fmt_ms(p99)}, max {fmt_ms(max(lat))}", "", "",
                "p99 < 2 s", p99 < 2.0),
            Row("3 end to end", "mails accepted / distinct events", f"{box.total - 1} / {len(committed)}", "", "",
                "one each", box.total - 1 == len(committed))]
    relay.stop(), consumer.stop(), worker.kill9()
    return rows, {"inspections relay (e2e)": relay.peak_mib, "notifications consumer": consumer.peak_mib,
                  "notifications Celery worker (main process)": worker.peak_mib,
                  "notifications Celery worker (largest pool child)": worker.child_peak_mib}
