"""Unit changes as units of work: load and lock, apply the domain rule, save, stage unit.changed events.

Each function runs inside the caller's transaction (``runtime.db.tx(tenant)``), so the state change and
its events commit together or not at all.
"""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Iterable

import psycopg

from services.plans.org import domain, store
from services.plans.org.domain import Version
from shared.errors import Invalid, NotFound
from shared.outbox import Outbox


def _publish(outbox: Outbox, conn: psycopg.Connection, tenant: str, history: list[Version], change: str) -> None:
    outbox.add(conn, "unit.changed", tenant=tenant, data=domain.event_data(history, change))


def _load(conn: psycopg.Connection, tenant: str, unit_id: str, *, field: str | None = None) -> list[Version]:
    history = store.history(conn, tenant, unit_id, lock=True)
    if not history:
        raise NotFound(f"unit {unit_id} not found", field=field)
    return history


def _parent(conn: psycopg.Connection, tenant: str, parent_id: str | None, day: date) -> Version | None:
    # A share lock: a concurrent dissolve of the parent waits, then sees this child and refuses.
    if parent_id is None:
        return None
    conn.execute("SELECT 1 FROM units WHERE id = %s AND tenant = %s FOR SHARE", [parent_id, tenant])
    return store.version_as_of(conn, tenant, parent_id, day)


def create_unit(outbox: Outbox, conn: psycopg.Connection, tenant: str, *, effective: date, name: str, level: int,
                kind: str, code: str | None = None, parent_id: str | None = None, contacts: Iterable[dict] = (),
                valid_to: date | None = None, unit_id: str | None = None) -> list[Version]:
    """Create a unit valid from ``effective``; returns its history."""
    version = domain.new_unit(unit_id or str(uuid.uuid4()), effective, name=name, level=level, kind=kind, code=code,
                              parent=_parent(conn, tenant, parent_id, effective), parent_id=parent_id,
                              contacts=contacts, valid_to=valid_to)
    store.insert_unit(conn, tenant, version)
    _publish(outbox, conn, tenant, [version], "created")
    return [version]


def rename_unit(outbox: Outbox, conn: psycopg.Connection, tenant: str, unit_id: str, *, effective: date, name: str,
                code: str | None = None) -> list[Version]:
    """The unit carries a new name (and code, if given) from ``effective`` on."""
    old = _load(conn, tenant, unit_id)
    new = domain.rename(old, effective, name=name, code=code)
    store.save_history(conn, tenant, old, new)
    _publish(outbox, conn, tenant, new, "renamed")
    return new


def move_unit(outbox: Outbox, conn: psycopg.Connection, tenant: str, unit_id: str, *, effective: date,
              parent_id: str | None, level: int | None = None) -> list[Version]:
    """The unit sits under ``parent_id`` from ``effective`` on."""
    old = _load(conn, tenant, unit_id)
    chain = domain.ancestors(parent_id, store.parent_of_as_of(conn, tenant, effective))
    new = domain.move(old, effective, parent=_parent(conn, tenant, parent_id, effective), parent_id=parent_id,
                      ancestors_of_parent=chain, level=level)
    store.save_history(conn, tenant, old, new)
    _publish(outbox, conn, tenant, new, "moved")
    return new


def update_contacts(outbox: Outbox, conn: psycopg.Connection, tenant: str, unit_id: str, *, effective: date,
                    contacts: list[dict[str, Any]]) -> list[Version]:
    """New contacts (head, deputy, office) from ``effective`` on."""
    old = _load(conn, tenant, unit_id)
    new = domain.update_contacts(old, effective, contacts)
    store.save_history(conn, tenant, old, new)
    _publish(outbox, conn, tenant, new, "updated")
    return new


def dissolve_unit(outbox: Outbox, conn: psycopg.Connection, tenant: str, unit_id: str, *, effective: date
                  ) -> list[Version]:
    """The unit ceases to exist on ``effective`` (no successor); refused while units sit under it."""
    old = _load(conn, tenant, unit_id)
    domain.ensure_changeable(old, effective)
    domain.check_dissolvable(unit_id, store.active_children(conn, tenant, unit_id, effective), effective)
    new = domain.end(old, effective)
    store.save_history(conn, tenant, old, new, ended_as="dissolved")
    _publish(outbox, conn, tenant, new, "dissolved")
    return new


def merge_units(outbox: Outbox, conn: psycopg.Connection, tenant: str, unit_ids: list[str], *, effective: date,
                successor_id: str) -> dict[str, Any]:
    """Merge ``unit_ids`` into ``successor_id`` on ``effective``: they end the day before and point to it;
    units still under them move to the successor on the same day."""
    domain.check_merge(unit_ids, successor_id)
    successor = store.version_as_of(conn, tenant, successor_id, effective)
    if successor is None:
        if store.unit_exists(conn, tenant, successor_id):
            raise Invalid(f"the successor does not exist on {effective.isoformat()}", field="body.successor_id")
        raise NotFound(f"unit {successor_id} not found", field="body.successor_id")
    merged, moved = [], []
    for i, unit_id in enumerate(unit_ids):
        old = _load(conn, tenant, unit_id, field=f"body.unit_ids.{i}")
        new = domain.end(old, effective, successor_id=successor_id)
        store.save_history(conn, tenant, old, new, ended_as="merged")
        _publish(outbox, conn, tenant, new, "merged")
        merged.append(new)
    for unit_id in unit_ids:
        for child_id in store.active_children(conn, tenant, unit_id, effective):
            if child_id in unit_ids:
                continue
            moved.append(move_unit(outbox, conn, tenant, child_id, effective=effective, parent_id=successor_id))
    return {"merged": merged, "moved": moved}
