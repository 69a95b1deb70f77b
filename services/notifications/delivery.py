"""Sending deliveries: claim, send, record; retries, webhook disabling, and the sweeper that loses nothing.

Exactly-once as far as it can be had: a delivery is claimed by a state transition pending → sending
with a lease (so two tasks for one row send once), and marked sent after the send.

The ambiguous window: a worker that dies after the server accepted the message but before the row
says 'sent' leaves a 'sending' row whose lease runs out. Nothing can tell whether it was sent.
``resend_ambiguous`` (default true) sends it again — at-least-once in that window only, with the same
Message-ID (mail) or CloudEvent id (webhook) so receivers can drop the duplicate; false marks it failed
for a human to check (at-most-once). Webhooks are always resent: receivers must dedupe by X-Event-Id.
A worker dying before the send, or Redis losing the task, only delays the message: the sweeper
re-enqueues it.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Callable

import psycopg

from services.notifications import domain, store, timers, webhooks
from services.notifications.email import PermanentFailure, SmtpSender, build_message
from services.notifications.fanout import fan_out, iso
from services.notifications.domain import Recipient
from shared.runtime import Runtime

log = logging.getLogger(__name__)

# enqueue(tenant, delivery_id, countdown_seconds)
Enqueue = Callable[[str, str, float], None]


class Deliverer:
    def __init__(self, runtime: Runtime, enqueue: Enqueue, *, smtp: SmtpSender | None = None,
                 on_claimed: Callable[[dict], None] | None = None):
        self.runtime = runtime
        self.settings = runtime.settings
        self.enqueue = enqueue
        self.smtp = smtp or SmtpSender(runtime.settings)
        # Tests use this to play a worker that dies between claiming and sending.
        self.on_claimed = on_claimed

    # -- one delivery -----------------------------------------------------------------------------
    def deliver(self, tenant: str, delivery_id: str) -> str:
        """Send one delivery if it is due and nobody else holds it; returns what happened."""
        with self.runtime.db.tx(tenant) as conn:
            d = store.claim(conn, delivery_id, self.settings.send_lease_seconds)
            sub = None
            if d is not None and d["channel"] == "webhook":
                sub = store.get_webhook(conn, tenant, str(d["subscription_id"]), None)
                if sub is None or not sub["active"]:
                    conn.execute("UPDATE deliveries SET state = 'cancelled', last_error = 'subscription inactive' "
                                 "WHERE id = %s", [delivery_id])
                    return "cancelled"
        if d is None:
            return "skipped"
        if d["tenant"] != tenant:
            raise ValueError("delivery belongs to another tenant")
        if self.on_claimed:
            self.on_claimed(d)
        if d["channel"] == "email":
            return self._send_email(d)
        if d["channel"] == "webhook":
            return self._send_webhook(d, sub)
        return "skipped"

    def _send_email(self, d: dict) -> str:
        msg = build_message(sender=self.settings.mail_from, to=d["recipient"], to_name=d["recipient_name"],
                            subject=d["subject"], text=d["body_text"], html=d["body_html"],
                            message_id=d["message_id"], event_id=str(d["source_id"]))
        try:
            self.smtp.send(msg)
        except PermanentFailure as exc:
            return self._failed(d, str(exc), retry=False)
        except Exception as exc:  # connection refused, timeout, 4xx: try again later
            return self._failed(d, f"{type(exc).__name__}: {exc}", retry=True)
        return self._sent(d)

    def _send_webhook(self, d: dict, sub: dict) -> str:
        body = webhooks.body_of(d["payload"])
        hdrs = webhooks.headers(sub["secret"], body, event_id=str(d["source_id"]), delivery_id=str(d["id"]),
                                subscription_id=str(d["subscription_id"]))
        result = webhooks.post(d["recipient"], body, hdrs, self.settings.webhook_timeout)
        with self.runtime.db.tx(d["tenant"]) as conn:
            store.record_attempt(conn, d, ok=result.ok, status_code=result.status_code, error=result.error,
                                 duration_ms=result.duration_ms)
            row = store.webhook_result(conn, d["tenant"], str(d["subscription_id"]), result.ok)
            disabled = (not result.ok and row is not None
                        and row["consecutive_failures"] >= self.settings.webhook_disable_after
                        and self._disable(conn, d, row, result.error or ""))
        if result.ok:
            return self._sent(d)
        if disabled:
            return self._failed(d, f"subscription disabled after {row['consecutive_failures']} failures: {result.error}",
                                retry=False)
        return self._failed(d, result.error or "failed", retry=True)

    def _disable(self, conn: psycopg.Connection, d: dict, sub: dict, error: str) -> bool:
        """Disable the subscription (once) and tell its owner by mail and in the inbox."""
        tenant, sub_id = d["tenant"], str(d["subscription_id"])
        if not store.disable_webhook(conn, tenant, sub_id, f"{sub['consecutive_failures']} consecutive failures"):
            return False
        store.cancel_subscription_deliveries(conn, tenant, sub_id, "subscription disabled")
        owner = store.get_webhook(conn, tenant, sub_id, None)
        people = [Recipient("owner", "inapp", owner["owner_sub"], "")]
        if owner["owner_email"]:
            people.append(Recipient("owner", "email", owner["owner_email"], ""))
        source = str(uuid.uuid5(uuid.NAMESPACE_URL, f"webhook-disabled:{sub_id}:{owner['disabled_at'].isoformat()}"))
        fan_out(conn, self.runtime, tenant=tenant, source_id=source, source_type="webhook.disabled",
                          data={"url": owner["url"], "failures": sub["consecutive_failures"], "last_error": error[:500],
                                "webhook_id": sub_id},
                          unit_id=None, team_id=None, recipients=people)
        log.warning("webhook disabled", extra={"fields": {"webhook_id": sub_id, "failures": sub["consecutive_failures"]}})
        return True

    def _sent(self, d: dict) -> str:
        """Record the send. The message is out: keep trying while the lease lasts, so a database outage
        shorter than the lease does not turn into an ambiguous claim that is sent again."""
        deadline = time.monotonic() + self.settings.send_lease_seconds * 0.8
        pause = 0.2
        while True:
            try:
                with self.runtime.db.tx(d["tenant"]) as conn:
                    row = store.mark_sent(conn, str(d["id"]))
                    if row is None:
                        return "lost"  # the lease ran out and someone else took over; they report it
                    self.runtime.outbox.add(conn, "notification.delivered", tenant=d["tenant"], data={
                        "notification_id": str(d["id"]), "source_event_id": str(d["source_id"]),
                        "source_event_type": d["source_type"], "channel": d["channel"], "recipient": d["recipient"],
                        "delivered_at": iso(self.runtime.clock()), "attempts": row["attempts"]})
                return "sent"
            except psycopg.OperationalError:
                if time.monotonic() + pause > deadline:
                    raise  # the sweeper decides after the lease (resend_ambiguous)
                log.warning("database away after a send; retrying to record it", extra={"fields": {"delivery": str(d["id"])}})
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def _failed(self, d: dict, error: str, *, retry: bool) -> str:
        delay = domain.backoff_seconds(d["attempts"], self.settings.retry_base_seconds, self.settings.retry_max_seconds)
        with self.runtime.db.tx(d["tenant"]) as conn:
            if retry and d["attempts"] < self.settings.max_attempts:
                if store.mark_retry(conn, str(d["id"]), error, delay) is None:
                    return "lost"
                outcome = "retry"
            else:
                if store.mark_failed(conn, str(d["id"]), error) is None:
                    return "lost"
                self._report_failed(conn, d, error)
                outcome = "failed"
        if outcome == "retry":
            self.enqueue(d["tenant"], str(d["id"]), delay)  # after commit; the sweeper covers a lost one
        return outcome

    def _report_failed(self, conn: psycopg.Connection, d: dict, error: str) -> None:
        self.runtime.outbox.add(conn, "notification.failed", tenant=d["tenant"], data={
            "notification_id": str(d["id"]), "source_event_id": str(d["source_id"]),
            "source_event_type": d["source_type"], "channel": d["channel"], "recipient": d["recipient"],
            "reason": error[:20000], "failed_at": iso(self.runtime.clock()), "attempts": max(1, d["attempts"])})

    # -- the sweeper (Celery beat) -------------------------------------------------------------------
    def sweep(self) -> dict[str, int]:
        """Fire due reminders and escalation steps, recover stale claims, enqueue pending deliveries."""
        counts = {"timers": 0, "recovered": 0, "abandoned": 0, "enqueued": 0}
        with self.runtime.db.tx("*") as conn:
            counts["timers"] = len(timers.fire_due(conn, self.runtime))
        with self.runtime.db.tx("*") as conn:
            for d in store.stale_sending(conn):
                if d["attempts"] >= self.settings.max_attempts:  # it keeps dying: stop, tell, let a person look
                    store.mark_failed(conn, str(d["id"]), "worker lost during send on every attempt")
                    self._report_failed(conn, d, "worker lost during send on every attempt")
                    counts["abandoned"] += 1
                elif self.settings.resend_ambiguous or d["channel"] == "webhook":
                    store.release_stale(conn, str(d["id"]))
                    counts["recovered"] += 1
                else:
                    store.mark_failed(conn, str(d["id"]), "worker lost during send; not resent (at-most-once)")
                    self._report_failed(conn, d, "worker lost during send; not resent (at-most-once)")
                    counts["abandoned"] += 1
        with self.runtime.db.tx("*") as conn:
            due = conn.execute("SELECT tenant, id::text AS id FROM deliveries WHERE id = ANY(%s::uuid[])",
                               [store.due_for_enqueue(conn, self.settings.requeue_after_seconds)]).fetchall()
        for row in due:
            self.enqueue(row["tenant"], row["id"], 0)
        counts["enqueued"] = len(due)
        return counts
