"""From one event (or reminder, or escalation step) to the deliveries it causes, inside the caller's transaction.

Only rows are written here: e-mail and webhook deliveries as 'pending' (workers send them after commit),
in-app messages straight into the inbox (that *is* their delivery). The idempotency key makes a second
run for the same source insert nothing.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Iterable

import psycopg
from jinja2 import TemplateError

from services.notifications import domain, rendering, store
from services.notifications.domain import Recipient
from shared.runtime import Runtime

log = logging.getLogger(__name__)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


def tenant_config(conn: psycopg.Connection, runtime: Runtime, tenant: str) -> dict[str, Any]:
    """The tenant's effective settings: Sở Nội vụ contact, reminder days, escalation chain, rules."""
    s = runtime.settings
    row = store.get_tenant_settings(conn, tenant)
    rules = store.get_rules(conn, tenant)
    return {
        "home_affairs": (row or {}).get("home_affairs"),
        "reminder_days": (row or {}).get("reminder_days") or domain.parse_days(s.reminder_days),
        "escalation": (row or {}).get("escalation") or domain.default_escalation(domain.parse_days(s.escalation_days)),
        "rules": domain.effective_rules(rules["rules"] if rules else None),
    }


def _render(conn: psycopg.Connection, tenant: str, event_type: str, channel: str,
            context: dict[str, Any]) -> rendering.Rendered:
    """The tenant's template, or the default when the tenant's fails on real data (logged, never silent)."""
    custom = store.get_template(conn, tenant, event_type, channel)
    if custom:
        try:
            return rendering.render(custom["source"], channel, context)
        except Exception:
            log.exception("tenant template failed; the default is used",
                          extra={"fields": {"event_type": event_type, "channel": channel}})
    return rendering.render(rendering.default_source(event_type, channel), channel, context)


def fan_out(conn: psycopg.Connection, runtime: Runtime, *, tenant: str, source_id: str, source_type: str,
            data: dict[str, Any], unit_id: str | None, team_id: str | None, cloud_event: dict | None = None,
            escalation_roles: Iterable[str] = (), only_escalation: bool = False,
            recipients: list[Recipient] | None = None, extra: dict[str, Any] | None = None) -> list[str]:
    """Write the deliveries of one source; returns the ids of new pending ones (to enqueue after commit)."""
    config = tenant_config(conn, runtime, tenant)
    directory, names = store.load_directory(conn, tenant, unit_id=unit_id, team_id=team_id,
                                            home_affairs=config["home_affairs"],
                                            event_type=source_type if cloud_event is not None else None)
    if recipients is None:
        rules = config["rules"]
        if only_escalation:  # a later escalation step: only the chain's people, not the whole event again
            rules = {source_type: [e for e in rules.get(source_type, []) if e["role"] == "escalation"]}
        recipients = domain.route(source_type, data, rules, directory, escalation_roles)
    pending: list[str] = []
    for r in recipients:
        key = domain.idempotency_key(source_id, r.channel, r.subscription_id or r.address)
        common = dict(tenant=tenant, key=key, source_id=source_id, source_type=source_type, channel=r.channel,
                      recipient=r.address, recipient_name=r.name or None, role=r.role)
        if r.channel == "webhook":
            new = store.insert_delivery(conn, subscription_id=r.subscription_id, payload=cloud_event, **common)
            if new:
                pending.append(new)
            continue
        context = {"event_type": source_type, "data": data, "unit_name": names["unit_name"] or "đơn vị",
                   "team_name": names["team_name"], "recipient_name": r.name, "tenant": tenant, "step": 0,
                   "days_left": None, **(extra or {})}
        try:
            rendered = _render(conn, tenant, source_type, r.channel, context)
        except TemplateError as exc:
            raise ValueError(f"template {source_type}/{r.channel} does not render: {exc}") from exc
        if r.channel == "email":
            new = store.insert_delivery(conn, subject=rendered.subject, body_text=rendered.text,
                                        body_html=rendered.html, message_id_domain=runtime.settings.message_id_domain,
                                        **common)
            if new:
                pending.append(new)
        else:  # in-app: written now, in this transaction, so it is delivered exactly when the source commits
            new = store.insert_delivery(conn, subject=rendered.subject, body_text=rendered.text, state="sent", **common)
            if new:
                store.add_inbox_item(conn, tenant=tenant, user_sub=r.address, event_type=source_type,
                                     title=rendered.subject, body=rendered.text, source_id=source_id, delivery_id=new)
                runtime.outbox.add(conn, "notification.delivered", tenant=tenant, data={
                    "notification_id": new, "source_event_id": source_id, "source_event_type": source_type,
                    "channel": "inapp", "recipient": r.address, "delivered_at": iso(runtime.clock()), "attempts": 1})
    return pending
