"""HTTP routes of the notifications service: thin, they parse, authorise, and call store/domain functions."""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Query, Response
from pydantic import AnyHttpUrl, BaseModel, Field

from services.notifications import domain, rendering, store, webhooks
from services.notifications.fanout import tenant_config
from shared.api import PrincipalDep, RuntimeDep
from shared.api import create_app as create_shell
from shared.errors import Invalid, NotFound, PreconditionFailed
from shared.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["notifications"])
IfMatch = Annotated[str | None, Header(alias="If-Match", description='The ETag read before, e.g. "3"')]
WEBHOOK_EVENTS = tuple(e for e in domain.ROUTED_EVENTS if e not in domain.INTERNAL_EVENTS)


def _uuid(value: str, what: str) -> str:
    """A malformed id gets the same 404 as someone else's."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(f"no such {what}") from None


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    digits = re.sub(r"\D", "", if_match)
    if not digits:
        raise Invalid("If-Match must carry the version ETag", field="header.If-Match")
    return int(digits)


# -- routing rules -------------------------------------------------------------------------------------
class Rule(BaseModel):
    role: str
    channels: list[str]


class RulesUpdate(BaseModel):
    rules: dict[str, list[Rule]] = Field(description="Per event type: who hears of it, by which channels. "
                                                     "Event types left out keep the defaults.")


@router.get("/routing-rules", summary="The routing rules in force (defaults merged with the tenant's)")
def get_routing_rules(principal: PrincipalDep, runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    principal.require("read")
    tenant = principal.read_scope()
    with runtime.db.tx(tenant) as conn:
        row = store.get_rules(conn, tenant)
    response.headers["ETag"] = f'"{row["version"] if row else 0}"'
    custom = row["rules"] if row else {}
    return {"rules": domain.effective_rules(custom), "customised": sorted(custom), "version": row["version"] if row else 0,
            "roles": list(domain.ROLES), "channels": list(domain.CHANNELS)}


@router.put("/routing-rules", summary="Replace the tenant's routing rules")
def put_routing_rules(body: RulesUpdate, principal: PrincipalDep, runtime: RuntimeDep, response: Response,
                      if_match: IfMatch = None) -> dict[str, Any]:
    principal.require("notifications:manage")
    tenant = principal.write_scope()
    rules = domain.validate_rules({k: [r.model_dump() for r in v] for k, v in body.rules.items()})
    with runtime.db.tx(tenant) as conn:
        row = store.put_rules(conn, tenant, rules, principal.sub, _version(if_match))
    if row is None:
        raise PreconditionFailed("the routing rules changed since they were read")
    response.headers["ETag"] = f'"{row["version"]}"'
    return {"rules": domain.effective_rules(row["rules"]), "customised": sorted(row["rules"]), "version": row["version"]}


# -- tenant settings -----------------------------------------------------------------------------------
class Contact(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    email: str | None = Field(None, max_length=300, pattern=r"^[^@\s]+@[^@\s]+$")
    person_id: str | None = Field(None, max_length=300)


class EscalationStep(BaseModel):
    after_days: int
    roles: list[str]


class SettingsUpdate(BaseModel):
    home_affairs: Contact | None = Field(None, description="The Department of Home Affairs (Sở Nội vụ) contact")
    reminder_days: list[int] | None = Field(None, description="Days before a deadline when reminders go out")
    escalation: list[EscalationStep] | None = Field(None, description="Steps after an overdue deadline")


def _settings_view(conn, runtime: Runtime, tenant: str) -> dict[str, Any]:
    config = tenant_config(conn, runtime, tenant)
    row = store.get_tenant_settings(conn, tenant)
    return {"home_affairs": config["home_affairs"], "reminder_days": config["reminder_days"],
            "escalation": config["escalation"], "version": row["version"] if row else 0}


@router.get("/settings", summary="Sở Nội vụ contact, reminder days and escalation chain of the tenant")
def get_settings(principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    principal.require("read")
    tenant = principal.read_scope()
    with runtime.db.tx(tenant) as conn:
        return store.to_json(_settings_view(conn, runtime, tenant))


@router.put("/settings", summary="Replace the tenant's notification settings (null = the default)")
def put_settings(body: SettingsUpdate, principal: PrincipalDep, runtime: RuntimeDep,
                 if_match: IfMatch = None) -> dict[str, Any]:
    principal.require("notifications:manage")
    tenant = principal.write_scope()
    days = domain.validate_offsets(body.reminder_days, "body.reminder_days") if body.reminder_days is not None else None
    chain = (domain.validate_escalation([s.model_dump() for s in body.escalation], "body.escalation")
             if body.escalation is not None else None)
    with runtime.db.tx(tenant) as conn:
        row = store.put_tenant_settings(conn, tenant, home_affairs=body.home_affairs.model_dump() if body.home_affairs else None,
                                        reminder_days=days, escalation=chain, by=principal.sub,
                                        if_version=_version(if_match))
        if row is None:
            raise PreconditionFailed("the settings changed since they were read")
        return store.to_json(_settings_view(conn, runtime, tenant))


# -- templates -----------------------------------------------------------------------------------------
class TemplateUpdate(BaseModel):
    source: str = Field(min_length=1, max_length=100_000, description="Jinja2 text with the channel's blocks")


def _check_template_path(event_type: str, channel: str) -> None:
    if event_type not in domain.ROUTED_EVENTS:
        raise NotFound(f"no template for event type {event_type}")
    if channel not in rendering.TEMPLATE_CHANNELS:
        raise NotFound(f"no template for channel {channel}")


@router.get("/templates", summary="Every template, and whether the tenant changed it")
def list_templates(principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    principal.require("read")
    tenant = principal.read_scope()
    with runtime.db.tx(tenant) as conn:
        custom = {(r["event_type"], r["channel"]) for r in conn.execute(
            "SELECT event_type, channel FROM templates WHERE tenant = %s", [tenant]).fetchall()}
    return {"items": [{"event_type": e, "channel": c, "customised": (e, c) in custom, "blocks": list(rendering.BLOCKS[c])}
                      for e in domain.ROUTED_EVENTS for c in rendering.TEMPLATE_CHANNELS]}


@router.get("/templates/{event_type}/{channel}", summary="One template's text (the tenant's or the default)")
def get_template(event_type: str, channel: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    principal.require("read")
    _check_template_path(event_type, channel)
    tenant = principal.read_scope()
    with runtime.db.tx(tenant) as conn:
        row = store.get_template(conn, tenant, event_type, channel)
    source = row["source"] if row else rendering.default_source(event_type, channel)
    preview = rendering.render(source, channel, rendering.sample_context(event_type))
    return store.to_json({"event_type": event_type, "channel": channel, "source": source, "customised": row is not None,
                          "version": row["version"] if row else 0, "preview": preview.__dict__})


@router.put("/templates/{event_type}/{channel}", summary="Replace a template; one that does not render is refused (422)")
def put_template(event_type: str, channel: str, body: TemplateUpdate, principal: PrincipalDep,
                 runtime: RuntimeDep) -> dict[str, Any]:
    principal.require("notifications:manage")
    _check_template_path(event_type, channel)
    tenant = principal.write_scope()
    preview = rendering.check(body.source, channel, rendering.sample_context(event_type))
    with runtime.db.tx(tenant) as conn:
        row = store.put_template(conn, tenant, event_type, channel, body.source, principal.sub)
    return store.to_json({"event_type": event_type, "channel": channel, "source": row["source"], "customised": True,
                          "version": row["version"], "preview": preview.__dict__})


@router.delete("/templates/{event_type}/{channel}", status_code=204, summary="Go back to the default template")
def reset_template(event_type: str, channel: str, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    principal.require("notifications:manage")
    _check_template_path(event_type, channel)
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        store.delete_template(conn, tenant, event_type, channel)
    return Response(status_code=204)


# -- webhooks ------------------------------------------------------------------------------------------
class WebhookCreate(BaseModel):
    url: AnyHttpUrl
    event_types: list[str] = Field(min_length=1, description=f"Any of {', '.join(WEBHOOK_EVENTS)}, or '*'")
    secret: str | None = Field(None, min_length=16, max_length=200, description="Signing secret; generated if omitted")
    description: str | None = Field(None, max_length=2000)
    owner_email: str | None = Field(None, max_length=300, pattern=r"^[^@\s]+@[^@\s]+$",
                                    description="Where the notice goes if the subscription is disabled")


def _owner_filter(principal) -> str | None:
    """Province administrators see every subscription of the province; subscribers only their own."""
    return None if "province_admin" in principal.roles else principal.sub


@router.post("/webhooks", status_code=201, summary="Subscribe a URL to event types (the secret is shown only now)")
def create_webhook(body: WebhookCreate, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    principal.require("webhooks:manage")
    tenant = principal.write_scope()
    for i, t in enumerate(body.event_types):
        if t != "*" and t not in WEBHOOK_EVENTS:
            raise Invalid(f"unknown event type {t!r}", field=f"body.event_types.{i}")
    secret = body.secret or webhooks.new_secret()
    with runtime.db.tx(tenant) as conn:
        row = store.create_webhook(conn, tenant, url=str(body.url), event_types=sorted(set(body.event_types)),
                                   secret=secret, description=body.description, owner_sub=principal.sub,
                                   owner_email=body.owner_email or principal.email)
    return store.to_json({**row, "secret": secret})


@router.get("/webhooks", summary="The subscriptions the caller may manage")
def list_webhooks(principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    principal.require("webhooks:manage")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        return store.to_json({"items": store.list_webhooks(conn, tenant, _owner_filter(principal))})


def _webhook(conn, principal, tenant: str, webhook_id: str) -> dict:
    row = store.get_webhook(conn, tenant, _uuid(webhook_id, "webhook subscription"), _owner_filter(principal))
    if row is None:
        raise NotFound("no such webhook subscription")
    row.pop("secret", None)
    return row


@router.get("/webhooks/{webhook_id}", summary="One subscription (without its secret)")
def get_webhook(webhook_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    principal.require("webhooks:manage")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        return store.to_json(_webhook(conn, principal, tenant, webhook_id))


@router.delete("/webhooks/{webhook_id}", status_code=204, summary="Unsubscribe; pending deliveries are cancelled")
def delete_webhook(webhook_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> Response:
    principal.require("webhooks:manage")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        _webhook(conn, principal, tenant, webhook_id)
        store.delete_webhook(conn, tenant, webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/enable", summary="Enable a disabled subscription again (failures reset)")
def enable_webhook(webhook_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    principal.require("webhooks:manage")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        _webhook(conn, principal, tenant, webhook_id)
        conn.execute("UPDATE webhooks SET active = true, consecutive_failures = 0, disabled_at = NULL, "
                     "disabled_reason = NULL WHERE tenant = %s AND id = %s", [tenant, webhook_id])
        return store.to_json(_webhook(conn, principal, tenant, webhook_id))


@router.get("/webhooks/{webhook_id}/deliveries", summary="The delivery log: every attempt, newest first")
def webhook_deliveries(webhook_id: str, principal: PrincipalDep, runtime: RuntimeDep,
                       limit: Annotated[int, Query(ge=1, le=500)] = 100,
                       before: Annotated[int | None, Query(description="Attempt id to page back from")] = None) -> dict[str, Any]:
    principal.require("webhooks:manage")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        _webhook(conn, principal, tenant, webhook_id)
        items = store.webhook_attempts(conn, tenant, webhook_id, limit, before)
    return store.to_json({"items": items, "next_before": items[-1]["id"] if len(items) == limit else None})


# -- delivery state -------------------------------------------------------------------------------------
DeliveryState = Literal["pending", "sending", "sent", "failed", "cancelled"]


@router.get("/deliveries", summary="Deliveries of the province, newest first (state, attempts, last error)")
def list_deliveries(principal: PrincipalDep, runtime: RuntimeDep, state: DeliveryState | None = None,
                    source_id: uuid.UUID | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                    before: Annotated[datetime | None, Query(description="created_at to page back from")] = None
                    ) -> dict[str, Any]:
    principal.require("notifications:manage")
    tenant = principal.write_scope()
    with runtime.db.tx(tenant) as conn:
        items = store.list_deliveries(conn, tenant, state=state, source_id=str(source_id) if source_id else None,
                                      limit=limit, before=before.isoformat() if before else None)
    return store.to_json({"items": items, "next_before": items[-1]["created_at"] if len(items) == limit else None})


# -- the in-app inbox ----------------------------------------------------------------------------------
def _addresses(principal) -> list[str]:
    """The caller's own inbox, plus their unit's mailbox when they head a unit."""
    own = [principal.sub]
    if "unit_head" in principal.roles and principal.unit_id:
        own.append(store.unit_mailbox(principal.unit_id))
    return own


@router.get("/inbox", summary="The caller's in-app messages, newest first")
def inbox(principal: PrincipalDep, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=200)] = 50,
          offset: Annotated[int, Query(ge=0)] = 0, unread: bool = False) -> dict[str, Any]:
    with runtime.db.tx(principal.tenant) as conn:
        items, total = store.inbox_page(conn, principal.tenant, _addresses(principal), limit=limit, offset=offset,
                                        unread_only=unread)
    return store.to_json({"items": items, "total": total, "limit": limit, "offset": offset})


@router.get("/inbox/unread-count", summary="How many of the caller's messages are unread")
def inbox_unread(principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, int]:
    with runtime.db.tx(principal.tenant) as conn:
        return {"unread": store.unread_count(conn, principal.tenant, _addresses(principal))}


@router.post("/inbox/{item_id}/read", summary="Mark one of the caller's messages read")
def inbox_read(item_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db.tx(principal.tenant) as conn:
        row = store.mark_read(conn, principal.tenant, _addresses(principal), _uuid(item_id, "message"))
    if row is None:
        raise NotFound("no such message")
    return store.to_json(row)


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    return create_shell(runtime, [router], title="Notifications service", manage_runtime=manage_runtime,
                        description="Who hears about what, by e-mail, webhook and in-app; reminders and escalation.")
