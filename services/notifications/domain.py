"""Who hears about what, and when: routing rules, reminder schedule, escalation chain, retry backoff (pure)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable

from shared.errors import Invalid

CHANNELS = ("email", "inapp", "webhook")
# Recipient roles a rule may name. "escalation" expands to the roles of the escalation step that is due.
ROLES = ("unit_head", "unit_deputy", "unit_office", "team_leader", "home_affairs", "chairman", "escalation",
         "webhooks")
# Events the service routes. remediation.reminder and webhook.disabled are its own (no Kafka event).
ROUTED_EVENTS = (
    "plan.approved", "inspection.scheduled", "inspection.started", "violation.recorded", "inspection.concluded",
    "remediation.assigned", "remediation.extended", "remediation.reported", "remediation.verified",
    "remediation.overdue", "remediation.reminder", "webhook.disabled",
)
# Internal notices go to people only; other systems subscribe to the real events.
INTERNAL_EVENTS = ("remediation.reminder", "webhook.disabled")
WEBHOOK = {"role": "webhooks", "channels": ["webhook"]}

DEFAULT_RULES: dict[str, list[dict[str, Any]]] = {
    "plan.approved": [{"role": "home_affairs", "channels": ["email", "inapp"]}, WEBHOOK],
    "inspection.scheduled": [{"role": "unit_head", "channels": ["email", "inapp"]},
                             {"role": "team_leader", "channels": ["email", "inapp"]}, WEBHOOK],
    "inspection.started": [{"role": "unit_head", "channels": ["email"]}, {"role": "team_leader", "channels": ["inapp"]},
                           WEBHOOK],
    "violation.recorded": [{"role": "team_leader", "channels": ["inapp"]}, WEBHOOK],
    "inspection.concluded": [{"role": "unit_head", "channels": ["email", "inapp"]},
                             {"role": "home_affairs", "channels": ["email"]},
                             {"role": "team_leader", "channels": ["inapp"]}, WEBHOOK],
    "remediation.assigned": [{"role": "unit_head", "channels": ["email", "inapp"]},
                             {"role": "unit_office", "channels": ["email"]}, WEBHOOK],
    "remediation.extended": [{"role": "unit_head", "channels": ["email", "inapp"]}, WEBHOOK],
    "remediation.reported": [{"role": "team_leader", "channels": ["email", "inapp"]}, WEBHOOK],
    "remediation.verified": [{"role": "unit_head", "channels": ["email", "inapp"]}, WEBHOOK],
    "remediation.overdue": [{"role": "escalation", "channels": ["email", "inapp"]},
                            {"role": "team_leader", "channels": ["inapp"]}, WEBHOOK],
    "remediation.reminder": [{"role": "unit_head", "channels": ["email", "inapp"]}],
    "webhook.disabled": [],  # goes to the subscription's owner, whatever the rules say
}

# Escalation steps, counted in days after the deadline: the unit head, then Sở Nội vụ, then the chairman.
ESCALATION_ROLES = (("unit_head",), ("home_affairs",), ("chairman",))


def parse_days(text: str) -> list[int]:
    """'7,3,1' → [7, 3, 1] (settings hold lists as text)."""
    return [int(x) for x in text.replace(" ", "").split(",") if x]


def default_escalation(days: Iterable[int]) -> list[dict[str, Any]]:
    """The default chain: one step per role group, after the given days past the deadline."""
    return [{"after_days": d, "roles": list(roles)} for d, roles in zip(days, ESCALATION_ROLES)]


# -- validation of tenant-editable data ----------------------------------------------------------
def validate_rules(rules: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Check a routing-rules document; returns it normalised or raises Invalid naming the field."""
    out: dict[str, list[dict[str, Any]]] = {}
    for event_type, entries in rules.items():
        where = f"body.rules.{event_type}"
        if event_type not in ROUTED_EVENTS:
            raise Invalid(f"unknown event type {event_type!r}", field=where)
        if not isinstance(entries, list):
            raise Invalid("a list of {role, channels} is expected", field=where)
        seen: set[str] = set()
        normalised = []
        for i, entry in enumerate(entries):
            role, channels = entry.get("role"), entry.get("channels")
            if role not in ROLES:
                raise Invalid(f"unknown role {role!r}; one of {', '.join(ROLES)}", field=f"{where}.{i}.role")
            if role in seen:
                raise Invalid(f"role {role} appears twice", field=f"{where}.{i}.role")
            seen.add(role)
            if not isinstance(channels, list) or not channels or any(c not in CHANNELS for c in channels):
                raise Invalid(f"channels must be a non-empty subset of {', '.join(CHANNELS)}", field=f"{where}.{i}.channels")
            if (role == "webhooks") != ("webhook" in channels) or (role == "webhooks" and channels != ["webhook"]):
                raise Invalid("the webhook channel belongs to the role 'webhooks' alone", field=f"{where}.{i}.channels")
            if role == "webhooks" and event_type in INTERNAL_EVENTS:
                raise Invalid(f"{event_type} is internal and is not sent to webhooks", field=f"{where}.{i}.role")
            normalised.append({"role": role, "channels": sorted(set(channels), key=CHANNELS.index)})
        out[event_type] = normalised
    return out


def effective_rules(tenant_rules: dict[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """The tenant's rules over the defaults (an event the tenant did not mention keeps its default)."""
    return {**DEFAULT_RULES, **(tenant_rules or {})}


def validate_offsets(days: list[int], field_name: str) -> list[int]:
    """Reminder offsets: distinct days between 1 and 365, returned largest first."""
    if any(not isinstance(d, int) or d < 1 or d > 365 for d in days) or len(set(days)) != len(days):
        raise Invalid("distinct whole days between 1 and 365 are expected", field=field_name)
    return sorted(days, reverse=True)


def validate_escalation(chain: list[dict[str, Any]], field_name: str) -> list[dict[str, Any]]:
    """Escalation steps: increasing after_days ≥ 0, each with person roles (not webhooks)."""
    previous = -1
    people = set(ROLES) - {"webhooks", "escalation"}
    out = []
    for i, step in enumerate(chain):
        after, roles = step.get("after_days"), step.get("roles")
        if not isinstance(after, int) or after < 0 or after <= previous:
            raise Invalid("after_days must be whole days ≥ 0, increasing step by step", field=f"{field_name}.{i}.after_days")
        if not isinstance(roles, list) or not roles or any(r not in people for r in roles):
            raise Invalid(f"roles must be a non-empty subset of {', '.join(sorted(people))}", field=f"{field_name}.{i}.roles")
        previous = after
        out.append({"after_days": after, "roles": list(roles)})
    return out


# -- recipients ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    name: str
    email: str | None = None
    person_id: str | None = None  # the token 'sub' of the user, for the in-app inbox


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    event_types: tuple[str, ...]


@dataclass
class Directory:
    """What the service knows about the people concerned by one event (its local copies)."""
    unit_head: Person | None = None
    unit_deputy: Person | None = None
    unit_office: Person | None = None
    team_leader: Person | None = None
    home_affairs: Person | None = None
    chairman: Person | None = None
    webhooks: list[Subscription] = field(default_factory=list)

    def person(self, role: str) -> Person | None:
        return getattr(self, role, None) if role not in ("webhooks", "escalation") else None


@dataclass(frozen=True)
class Recipient:
    role: str
    channel: str
    address: str  # e-mail address, webhook URL or user id
    name: str = ""
    subscription_id: str | None = None


def route(event_type: str, data: dict[str, Any], rules: dict[str, list[dict[str, Any]]], directory: Directory,
          escalation_roles: Iterable[str] = ()) -> list[Recipient]:
    """The recipients of one event, deduplicated by (channel, address); people without an address are skipped."""
    if event_type == "inspection.scheduled" and data.get("form") == "surprise":
        return []  # a surprise inspection must not forewarn the unit; nobody hears of it before it starts
    out: dict[tuple[str, str], Recipient] = {}
    for entry in rules.get(event_type, []):
        roles = list(escalation_roles) if entry["role"] == "escalation" else [entry["role"]]
        for role in roles:
            if role == "webhooks":
                for sub in directory.webhooks:
                    if event_type in sub.event_types or "*" in sub.event_types:
                        out.setdefault(("webhook", sub.id), Recipient("webhooks", "webhook", sub.url, "", sub.id))
                continue
            person = directory.person(role)
            if person is None:
                continue
            for channel in entry["channels"]:
                address = person.email if channel == "email" else person.person_id if channel == "inapp" else None
                if address:
                    out.setdefault((channel, address), Recipient(role, channel, address, person.name))
    return list(out.values())


def idempotency_key(source_id: str, channel: str, address: str) -> str:
    """One delivery per source (event or reminder), recipient and channel."""
    return f"{source_id}|{channel}|{address.lower() if channel == 'email' else address}"


# -- time: reminders, escalation, retries ----------------------------------------------------------
def reminder_schedule(deadline: date, offsets: Iterable[int], today: date) -> list[tuple[int, date]]:
    """(offset, due day) of the reminders still ahead; ones whose day has passed are not sent late."""
    return [(d, deadline - timedelta(days=d)) for d in sorted(set(offsets), reverse=True)
            if deadline - timedelta(days=d) >= today]


def escalation_schedule(deadline: date, chain: list[dict[str, Any]]) -> list[tuple[int, date, list[str]]]:
    """(step, due day, roles) for each escalation step, counted from the deadline."""
    return [(i, deadline + timedelta(days=step["after_days"]), list(step["roles"])) for i, step in enumerate(chain)]


def reminder_source_id(tenant: str, remediation_id: str, deadline: date, offset: int) -> str:
    """A stable id for a reminder, so it is sent once per remediation, deadline and offset."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"reminder:{tenant}:{remediation_id}:{deadline.isoformat()}:{offset}"))


def escalation_source_id(tenant: str, remediation_id: str, deadline: date, step: int) -> str:
    """A stable id for one escalation step of one remediation and deadline."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"escalation:{tenant}:{remediation_id}:{deadline.isoformat()}:{step}"))


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff after the ``attempt``-th failure (1-based): base, 2·base, 4·base … capped."""
    return min(cap, base * 2 ** max(0, attempt - 1))
