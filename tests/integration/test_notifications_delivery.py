"""Deliveries end to end: real broker, PostgreSQL, Redis, a Celery worker, an SMTP server and a webhook receiver.

The SMTP server (aiosmtpd) and the HTTP receiver run in this process; the receiver verifies the HMAC
signature the way a real subscriber would.
"""
from __future__ import annotations

import email
import json
import threading
from contextlib import contextmanager
from datetime import date, timedelta
from email import policy
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from celery.contrib.testing.worker import start_worker
from confluent_kafka import Producer

from infra.servers import free_port
from services.notifications import timers, webhooks
from services.notifications.bootstrap import SERVICE
from services.notifications.delivery import Deliverer
from services.notifications.worker import SWEEP, create_celery
from shared.events import CATALOGUE
from tests.integration.test_notifications_api import apply, event, new_id, rows, unit_changed
from tests.support.kafka import read_topic
from tests.support.waiting import wait_until

HEAD = {"name": "Nguyễn Văn Hùng", "email": "hung@longhuu.vn", "person_id": "u-hung"}
CHAIR = {"name": "Lê Văn Chủ Tịch", "email": "chutich@vinhlong.gov.vn", "person_id": "u-chutich"}
SNV = {"name": "Sở Nội vụ tỉnh Vĩnh Long", "email": "vanphong@snv.vinhlong.gov.vn"}
SECRET = "bí-mật-của-hệ-thống-văn-bản-0123456789"


# -- the outside world --------------------------------------------------------------------------------
class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        with self.lock:
            return [m for rcpts, m in self.messages if address in rcpts]

    def subjects(self, address: str) -> list[str]:
        return sorted(subject(m) for m in self.to(address))


def subject(msg) -> str:
    return str(make_header(decode_header(msg["Subject"])))


@pytest.fixture
def smtp():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


class Receiver:
    """A subscriber's HTTP endpoint: verifies the signature, answers with ``status``."""

    def __init__(self, status: int = 200):
        self.status = status
        self.calls: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = webhooks.verify(SECRET, self.headers[webhooks.TIMESTAMP_HEADER], body,
                                        self.headers[webhooks.SIGNATURE_HEADER])
                receiver.calls.append({"headers": dict(self.headers), "body": json.loads(body), "valid": valid})
                self.send_response(receiver.status if valid else 401)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@contextmanager
def celery_worker(svc, **kw):
    """A real Celery worker on Redis, in this process, whose tasks use the harness's runtime."""
    app = create_celery(svc.settings, svc.runtime, **kw)
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30):
        yield app


def notifications(service_harness, port: int, **overrides):
    fast = {"retry_base_seconds": 0.2, "retry_max_seconds": 2, "requeue_after_seconds": 1}
    return service_harness(SERVICE, smtp_host="127.0.0.1", smtp_port=port, **{**fast, **overrides})


def produce(bootstrap: str, prefix: str, *events) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for e in events:
        producer.produce(CATALOGUE.topic(e.type, prefix), key=CATALOGUE.key(e).encode(), value=e.value(),
                         headers=e.headers())
    assert producer.flush(15) == 0


def settle(svc, box: Mailbox) -> list[dict]:
    """Wait until no delivery is pending or in flight, then every e-mail row must be in the mailbox once."""
    def done():
        rs = rows(svc, "SELECT id, channel, state, message_id FROM deliveries")
        return rs if rs and all(r["state"] in ("sent", "failed", "cancelled") for r in rs) else None
    all_rows = wait_until(done, timeout=30, message="every delivery settled")
    sent_mail = [r for r in all_rows if r["channel"] == "email" and r["state"] == "sent"]
    with box.lock:
        ids = [m["Message-ID"] for _, m in box.messages]
    assert sorted(ids) == sorted(r["message_id"] for r in sent_mail)  # each once, none extra
    return all_rows


# -- the scenario ---------------------------------------------------------------------------------------
def test_overdue_remediation_reaches_the_right_people_by_mail_and_webhook(service_harness, smtp, receiver, tenant,
                                                                            kafka_bootstrap, topic_prefix):
    box, port = smtp
    svc = notifications(service_harness, port)
    admin = svc.auth(tenant, "province_admin")
    r = svc.client.put("/v1/settings", headers=admin, json={
        "home_affairs": SNV, "escalation": [{"after_days": 0, "roles": ["unit_head"]},
                                            {"after_days": 2, "roles": ["home_affairs"]},
                                            {"after_days": 5, "roles": ["chairman"]}]})
    assert r.status_code == 200, r.text
    hook = svc.client.post("/v1/webhooks", headers=svc.auth(tenant, "event_subscriber", sub="qlvb"), json={
        "url": receiver.url, "event_types": ["remediation.overdue"], "secret": SECRET}).json()
    svc.start_workers()

    province, commune, team, inspection, remediation = new_id(), new_id(), new_id(), new_id(), new_id()
    produce(kafka_bootstrap, topic_prefix,
            event("unit.changed", tenant, unit_changed(province, "UBND tỉnh Vĩnh Long", level=1, head=CHAIR)),
            event("unit.changed", tenant, unit_changed(commune, "UBND xã Long Hữu", parent_id=province, head=HEAD)),
            event("team.changed", tenant, {"team_id": team, "name": "Đoàn kiểm tra số 1", "lead_unit_id": province,
                                           "leader": {"person_id": "u-mai", "name": "Trần Thị Mai"}, "members": []}))
    wait_until(lambda: len(rows(svc, "SELECT 1 FROM units UNION ALL SELECT 1 FROM teams")) == 3, timeout=30,
               message="reference data replicated")
    deadline = timers.today(svc.runtime) - timedelta(days=3)  # deadlines are Vietnamese calendar days
    overdue = event("remediation.overdue", tenant, {
        "remediation_id": remediation, "inspection_id": inspection, "unit_id": commune, "deadline": deadline.isoformat(),
        "detected_at": f"{timers.today(svc.runtime).isoformat()}T00:05:00+07:00", "days_overdue": 3})
    with celery_worker(svc) as app:
        produce(kafka_bootstrap, topic_prefix,
                event("inspection.started", tenant, {"inspection_id": inspection, "unit_id": commune, "plan_id": None,
                                                     "team_id": team, "form": "on_site", "surprise": False,
                                                     "started_at": "2026-04-06T08:00:00+07:00"}))
        wait_until(lambda: rows(svc, "SELECT 1 FROM inspections"), timeout=30, message="inspection replicated")
        produce(kafka_bootstrap, topic_prefix, overdue, overdue)  # the same event twice
        wait_until(lambda: len(box.messages) >= 3, timeout=30, message="three mails")
        settle(svc, box)

        overdue_subject = "Quá hạn khắc phục: UBND xã Long Hữu (3 ngày)"
        assert box.subjects(HEAD["email"]) == sorted([overdue_subject, "Đoàn kiểm tra bắt đầu làm việc tại UBND xã Long Hữu"])
        assert box.subjects(SNV["email"]) == [overdue_subject]  # the second step (2 days after the deadline) is due
        assert box.to(CHAIR["email"]) == []  # the third (5 days) is not yet
        mail = box.to(SNV["email"])[0]
        assert mail.get_content_type() == "multipart/alternative"
        assert "báo cáo vượt cấp lần 1" in mail.get_body(("plain",)).get_content()
        assert f"hạn: {deadline.strftime('%d/%m/%Y')}" in mail.get_body(("html",)).get_content()
        assert "Sở Nội vụ tỉnh Vĩnh Long" in str(mail["To"])

        # The subscriber got the CloudEvent once, signed; it can dedupe by its id.
        assert len(receiver.calls) == 1 and receiver.calls[0]["valid"]
        call = receiver.calls[0]
        assert call["headers"][webhooks.EVENT_ID_HEADER] == overdue.id == call["body"]["id"]
        assert call["body"]["type"] == "remediation.overdue" and call["body"]["data"] == overdue.data
        assert call["body"]["tenant"] == tenant
        log = svc.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=svc.auth(tenant, "event_subscriber", sub="qlvb"))
        assert [(a["status_code"], a["ok"], a["event_id"]) for a in log.json()["items"]] == [(200, True, overdue.id)]
        # The team leader has no mail address: the in-app inbox has it.
        leader = svc.client.get("/v1/inbox", headers=svc.auth(tenant, "team_leader", sub="u-mai")).json()
        assert overdue_subject in [i["title"] for i in leader["items"]]

        # Three days later the beat task reaches the chairman, once, however often it runs.
        real_clock = svc.runtime.clock
        svc.runtime.clock = lambda: real_clock() + timedelta(days=3)
        app.send_task(SWEEP)
        wait_until(lambda: box.to(CHAIR["email"]), timeout=30, message="the chairman's mail")
        app.send_task(SWEEP)
        rows_after = settle(svc, box)
        assert box.subjects(CHAIR["email"]) == ["Quá hạn khắc phục: UBND xã Long Hữu (6 ngày)"]
        assert "báo cáo vượt cấp lần 2" in box.to(CHAIR["email"])[0].get_body(("plain",)).get_content()

    sent = {str(r["id"]) for r in rows_after if r["state"] == "sent"}
    published = read_topic(kafka_bootstrap, topic_prefix + "notifications.deliveries", expect=len(sent))
    assert sorted(json.loads(m.value())["notification_id"] for m in published) == sorted(sent)


# -- fault cases ----------------------------------------------------------------------------------------
def seed_assignment(svc, tenant) -> str:
    commune = new_id()
    apply(svc, event("unit.changed", tenant, unit_changed(commune, "UBND phường Trà Vinh", head=HEAD)))
    assigned = event("remediation.assigned", tenant, {
        "remediation_id": new_id(), "inspection_id": new_id(), "unit_id": commune, "recommendation_id": new_id(),
        "kind": "self_criticism", "text": "Tổ chức kiểm điểm cán bộ uống rượu bia trong giờ làm việc",
        "deadline": (date.today() + timedelta(days=30)).isoformat()})
    apply(svc, assigned)
    (d,) = rows(svc, "SELECT id::text AS id, message_id FROM deliveries WHERE source_id = %s AND channel = 'email'",
                [assigned.id])
    return d["id"]


def test_a_delivery_sent_twice_concurrently_or_after_a_crash_or_a_lost_task_goes_out_once(service_harness, smtp, tenant):
    box, port = smtp
    svc = notifications(service_harness, port, send_lease_seconds=1)
    enqueued: list[str] = []
    # 1. No worker yet: two tasks for the same row race; the claim lets one send.
    first = seed_assignment(svc, tenant)
    plain = Deliverer(svc.runtime, lambda t, i, c: enqueued.append(i))
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(plain.deliver(tenant, first))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["sent", "skipped"]
    assert len(box.to(HEAD["email"])) == 1
    assert plain.deliver(tenant, first) == "skipped"  # and a late third run too

    # 2. The worker dies between claiming and sending; the sweeper recovers it after the lease, once.
    crashed: list[str] = []

    def dies_once(d: dict) -> None:
        if not crashed:
            crashed.append(str(d["id"]))
            raise RuntimeError("worker killed after claiming")

    with celery_worker(svc, deliverer_factory=lambda rt, enq: Deliverer(rt, enq, on_claimed=dies_once)) as app:
        second = seed_assignment(svc, tenant)
        wait_until(lambda: crashed, timeout=20, message="the first attempt to die")
        assert rows(svc, "SELECT state FROM deliveries WHERE id = %s", [second])[0]["state"] == "sending"
        assert len(box.to(HEAD["email"])) == 1

        def sweep_until(n: int):
            def probe():
                app.send_task(SWEEP)  # what beat does every few seconds
                return len(box.to(HEAD["email"])) == n
            return probe
        wait_until(sweep_until(2), timeout=30, interval=0.5, message="the recovered delivery")
        (row,) = rows(svc, "SELECT state, attempts, message_id FROM deliveries WHERE id = %s", [second])
        assert (row["state"], row["attempts"]) == ("sent", 2)

        # 3. A task lost in Redis (enqueued, never run): the sweeper enqueues it again.
        with svc.runtime.db.tx("*") as conn:
            conn.execute("ALTER TABLE deliveries DISABLE TRIGGER deliveries_notify")  # no dispatcher wake-up
        try:
            third = seed_assignment(svc, tenant)
        finally:
            with svc.runtime.db.tx("*") as conn:
                conn.execute("ALTER TABLE deliveries ENABLE TRIGGER deliveries_notify")
        with svc.runtime.db.tx("*") as conn:
            conn.execute("UPDATE deliveries SET enqueued_at = now() WHERE id = %s", [third])
        assert rows(svc, "SELECT state FROM deliveries WHERE id = %s", [third])[0]["state"] == "pending"
        wait_until(sweep_until(3), timeout=30, interval=0.5, message="the lost task's mail")
        settle(svc, box)
    assert len({m["Message-ID"] for m in box.to(HEAD["email"])}) == 3
    delivered = rows(svc, "SELECT payload->>'notification_id' AS id FROM outbox WHERE type = 'notification.delivered' "
                          "AND payload->>'channel' = 'email'")
    assert sorted(r["id"] for r in delivered) == sorted([first, second, third])


def test_a_failing_receiver_gets_its_subscription_disabled_with_a_notice(service_harness, smtp, tenant):
    box, port = smtp
    failing = Receiver(status=500)
    try:
        svc = notifications(service_harness, port, webhook_disable_after=3, max_attempts=10)
        owner = svc.auth(tenant, "event_subscriber", sub="csdl-canbo", email="quantri@csdl.vinhlong.gov.vn")
        hook = svc.client.post("/v1/webhooks", headers=owner, json={
            "url": failing.url, "event_types": ["violation.recorded"], "secret": SECRET}).json()
        finding = lambda: event("violation.recorded", tenant, {  # noqa: E731
            "finding_id": new_id(), "inspection_id": new_id(), "unit_id": new_id(), "criterion_code": "KL-02",
            "severity": "serious", "description": "Cán bộ uống rượu bia trong giờ làm việc", "officials_count": 1,
            "recorded_by": "u-mai", "recorded_at": "2026-04-06T10:30:00+07:00"})
        first = finding()
        with celery_worker(svc):
            apply(svc, first)
            wait_until(lambda: box.to("quantri@csdl.vinhlong.gov.vn"), timeout=30, message="the owner's notice")
            settle(svc, box)
        assert len(failing.calls) == 3 and all(c["valid"] for c in failing.calls)
        assert {c["headers"][webhooks.EVENT_ID_HEADER] for c in failing.calls} == {first.id}
        got = svc.client.get(f"/v1/webhooks/{hook['id']}", headers=owner).json()
        assert got["active"] is False and got["consecutive_failures"] == 3
        log = svc.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=owner).json()["items"]
        assert [(a["attempt"], a["status_code"], a["ok"]) for a in log] == [(3, 500, False), (2, 500, False), (1, 500, False)]
        notice = box.to("quantri@csdl.vinhlong.gov.vn")
        assert [subject(m) for m in notice] == ["Webhook đã bị tạm dừng sau 3 lần gửi không thành công"]
        assert failing.url in notice[0].get_body(("plain",)).get_content()
        inbox = svc.client.get("/v1/inbox", headers=owner).json()["items"]
        assert [i["event_type"] for i in inbox] == ["webhook.disabled"]
        failed = rows(svc, "SELECT payload FROM outbox WHERE type = 'notification.failed'")
        assert [(f["payload"]["channel"], f["payload"]["source_event_id"], f["payload"]["attempts"]) for f in failed] == [
            ("webhook", first.id, 3)]
        # A disabled subscription gets nothing more.
        later = finding()
        apply(svc, later)
        assert rows(svc, "SELECT count(*) AS n FROM deliveries WHERE source_id = %s", [later.id])[0]["n"] == 0
    finally:
        failing.close()


class RefusingMailbox(Mailbox):
    """Refuses recipients it does not know, like a real server (550)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("khong-ton-tai"):
            return "550 5.1.1 Người nhận không tồn tại"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_mail_refused_for_good_fails_at_once_and_a_server_away_is_retried_later(service_harness, tenant):
    box = RefusingMailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        svc = notifications(service_harness, controller.port, retry_base_seconds=30, retry_max_seconds=60)
        enqueued: list[tuple[str, float]] = []
        deliverer = Deliverer(svc.runtime, lambda t, i, c: enqueued.append((i, c)))
        commune = new_id()
        apply(svc, event("unit.changed", tenant, unit_changed(commune, "UBND xã Hòa Thuận", head={
            "name": "Phạm Văn Tâm", "email": "khong-ton-tai@hoathuan.vn"})))
        assigned = event("remediation.assigned", tenant, {
            "remediation_id": new_id(), "inspection_id": new_id(), "unit_id": commune, "recommendation_id": new_id(),
            "kind": "correction", "text": "Chấn chỉnh giờ giấc làm việc", "deadline": "2030-01-31"})
        apply(svc, assigned)
        (d,) = rows(svc, "SELECT id::text AS id FROM deliveries WHERE source_id = %s AND channel = 'email'", [assigned.id])
        assert deliverer.deliver(tenant, d["id"]) == "failed"
        (failed,) = rows(svc, "SELECT payload FROM outbox WHERE type = 'notification.failed'")
        assert failed["payload"]["recipient"] == "khong-ton-tai@hoathuan.vn" and "550" in failed["payload"]["reason"]
        assert box.messages == [] and enqueued == []
    finally:
        controller.stop()
    # The server is gone now: a temporary failure, retried after the backoff, nothing reported yet.
    apply(svc, event("unit.changed", tenant, unit_changed(commune, "UBND xã Hòa Thuận", head={
        "name": "Phạm Văn Tâm", "email": "tam.pv@hoathuan.vn"})))
    again = event("remediation.extended", tenant, {
        "remediation_id": assigned.data["remediation_id"], "inspection_id": assigned.data["inspection_id"],
        "unit_id": commune, "old_deadline": "2030-01-31", "new_deadline": "2030-03-31", "reason": "Sáp nhập đơn vị"})
    apply(svc, again)
    (d2,) = rows(svc, "SELECT id::text AS id FROM deliveries WHERE source_id = %s AND channel = 'email'", [again.id])
    assert deliverer.deliver(tenant, d2["id"]) == "retry"
    (row,) = rows(svc, "SELECT state, attempts, last_error, next_attempt_at > now() + interval '20 seconds' AS later "
                       "FROM deliveries WHERE id = %s", [d2["id"]])
    assert (row["state"], row["attempts"], row["later"]) == ("pending", 1, True)
    assert enqueued == [(d2["id"], 30)]
    assert deliverer.deliver(tenant, d2["id"]) == "skipped"  # not due yet
    assert len(rows(svc, "SELECT 1 FROM outbox WHERE type = 'notification.failed'")) == 1


def self_signed(directory) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.kiemtra.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_mail_goes_over_starttls_with_login_when_configured(service_harness, tenant, tmp_path):
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins: list[tuple[str, bool]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"thongbao", b"mat-khau-123")
        logins.append((mechanism, ok))
        return AuthResult(success=ok)

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), tls_context=tls, require_starttls=True,
                            authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        svc = notifications(service_harness, controller.port, smtp_starttls=True, smtp_ca_file=cert,
                            smtp_user="thongbao", smtp_password="mat-khau-123")
        deliverer = Deliverer(svc.runtime, lambda t, i, c: None)
        delivery = seed_assignment(svc, tenant)
        assert deliverer.deliver(tenant, delivery) == "sent"
        assert logins and all(ok for _, ok in logins)
        (mail,) = box.to(HEAD["email"])
        assert subject(mail).startswith("Yêu cầu khắc phục")
        assert "Tổ chức kiểm điểm cán bộ uống rượu bia" in mail.get_body(("plain",)).get_content()
        # Without STARTTLS the same server refuses: the mail is retried, not lost and not sent in clear.
        plain = notifications(service_harness, controller.port, smtp_user="thongbao", smtp_password="mat-khau-123")
        assert Deliverer(plain.runtime, lambda t, i, c: None).deliver(tenant, seed_assignment(plain, tenant)) == "retry"
        assert len(box.messages) == 1
    finally:
        controller.stop()


class StallingMailbox(Mailbox):
    """Holds the first message's DATA until released, then refuses it (4xx): the sender is killed meanwhile."""

    def __init__(self):
        super().__init__()
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        if not self.stalled.is_set():
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Thử lại sau"
        return await super().handle_DATA(server, session, envelope)


def test_a_worker_process_killed_mid_send_loses_nothing_and_sends_once(service_harness, tenant, redis_url):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    box = StallingMailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    worker = None
    try:
        svc = notifications(service_harness, controller.port, send_lease_seconds=2)
        delivery = seed_assignment(svc, tenant)  # no worker yet: it waits, pending, in PostgreSQL
        env = {**os.environ, **{f"NOTIFICATIONS_{k.upper()}": str(v) for k, v in {
            "database_url": svc.settings.database_url, "redis_url": redis_url, "topic_prefix": svc.settings.topic_prefix,
            "smtp_host": "127.0.0.1", "smtp_port": controller.port, "send_lease_seconds": 2}.items()}}
        root = Path(__file__).resolve().parents[2]
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "services.notifications.worker:app", "worker",
                                   "--pool", "solo", "--loglevel", "WARNING"], env=env, cwd=root)
        app = create_celery(svc.settings, svc.runtime)
        wait_until(lambda: app.send_task(SWEEP) and box.stalled.wait(0.5), timeout=30, message="the send to begin")
        assert rows(svc, "SELECT state FROM deliveries WHERE id = %s", [delivery])[0]["state"] == "sending"
        worker.send_signal(signal.SIGKILL)  # mid-conversation with the SMTP server, before DATA was accepted
        worker.wait(10)
        box.release.set()
        assert box.messages == []
        with celery_worker(svc) as app:  # a fresh worker; beat's sweeper finds the stale claim after its lease
            wait_until(lambda: app.send_task(SWEEP) and box.to(HEAD["email"]), timeout=30, interval=0.5,
                       message="the recovered mail")
            settle(svc, box)
        (row,) = rows(svc, "SELECT state, attempts, message_id FROM deliveries WHERE id = %s", [delivery])
        assert (row["state"], row["attempts"]) == ("sent", 2)
        assert [m["Message-ID"] for m in box.to(HEAD["email"])] == [row["message_id"]]
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait(10)
        box.release.set()
        controller.stop()


def test_at_most_once_mode_marks_an_ambiguous_send_failed_instead_of_resending(service_harness, smtp, tenant):
    box, port = smtp
    svc = notifications(service_harness, port, send_lease_seconds=0.5, resend_ambiguous=False)

    def dies(_d: dict) -> None:
        raise RuntimeError("worker killed after claiming")

    delivery = seed_assignment(svc, tenant)
    with pytest.raises(RuntimeError):
        Deliverer(svc.runtime, lambda t, i, c: None, on_claimed=dies).deliver(tenant, delivery)
    sweeper = Deliverer(svc.runtime, lambda t, i, c: None)
    wait_until(lambda: sweeper.sweep()["abandoned"], timeout=10, message="the stale claim to be abandoned")
    (row,) = rows(svc, "SELECT state, last_error FROM deliveries WHERE id = %s", [delivery])
    assert row["state"] == "failed" and "at-most-once" in row["last_error"]
    (failed,) = rows(svc, "SELECT payload FROM outbox WHERE type = 'notification.failed'")
    assert failed["payload"]["notification_id"] == delivery and failed["payload"]["recipient"] == HEAD["email"]
    assert sweeper.deliver(tenant, delivery) == "skipped" and box.messages == []
