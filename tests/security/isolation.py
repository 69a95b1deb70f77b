"""Walk every endpoint of a service as another tenant, with every role, using the first tenant's ids.

The ids come from the service's own database (every uuid-valued column of every tenant table holding
the victim tenant's rows), so the walk covers records created by the API and by consumed events alike.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from shared.auth import ROLES

# What another tenant may see when it points at a victim's id: nothing but a refusal.
REFUSALS = {401, 403, 404, 405, 409, 412, 415, 422, 428}
_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


@dataclass
class Probe:
    method: str
    path: str
    role: str
    status: int
    leaked: list[str] = field(default_factory=list)


def victim_ids(harness, tenant: str) -> dict[str, set[str]]:
    """column name -> uuid values of the victim tenant, from every tenant table of the service."""
    found: dict[str, set[str]] = {}
    with harness.runtime.db.tx("*") as conn:
        tables = [r["table_name"] for r in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'tenant' "
            "AND table_name NOT IN ('outbox', 'processed_events', 'audit_log')").fetchall()]
        for table in tables:
            columns = [r["column_name"] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
                "AND data_type IN ('uuid', 'text')", [table]).fetchall()]
            for column in columns:
                rows = conn.execute(f'SELECT DISTINCT "{column}"::text AS v FROM "{table}" WHERE tenant = %s LIMIT 50',
                                    [tenant]).fetchall()
                for r in rows:
                    value = r["v"]
                    if value and _is_uuid(value):
                        found.setdefault(column, set()).add(value)
    return found


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


def _candidates(param: str, ids: dict[str, set[str]]) -> list[str]:
    exact = ids.get(param) or (ids.get("id") if param == "id" else None)
    if exact:
        return sorted(exact)[:2]
    # {plan_id} → column plan_id, else id columns; anything else: every id we know (bounded).
    pooled = sorted(set().union(*ids.values())) if ids else []
    return pooled[:2]


def api_routes(app) -> list[tuple[str, list[str]]]:
    """(path, methods) of every business route, from the app's own OpenAPI document."""
    return [(path, sorted(m.upper() for m in ops)) for path, ops in app.openapi()["paths"].items() if path.startswith("/v1")
            and not path.startswith("/v1/audit")]


def walk(harness, victim_tenant: str, attacker_tenant: str, *, unit_id: str | None = None) -> list[Probe]:
    """Call every route with the victim's ids as the attacker, once per role; return every probe."""
    ids = victim_ids(harness, victim_tenant)
    all_ids = set().union(*ids.values()) if ids else set()
    probes: list[Probe] = []
    for route_path, methods in api_routes(harness.client.app):
        params = _PARAM.findall(route_path)
        fillings: list[dict[str, str]] = [{}]
        for param in params:
            values = _candidates(param, ids) or [str(uuid.uuid4())]
            fillings = [{**f, param: v} for f in fillings for v in values][:2]
        for method in methods:
            for filling in fillings:
                path = _PARAM.sub(lambda m: filling.get(m.group(1), "2026"), route_path)
                for role in ROLES:
                    headers = harness.auth(attacker_tenant, role, unit_id=unit_id) if role != "central_viewer" else None
                    if headers is None:
                        continue  # central viewers read every tenant by design; tested separately
                    response = harness.client.request(method, path, headers=headers, json={} if method in ("POST", "PUT", "PATCH") else None)
                    body = response.text
                    leaked = sorted(i for i in all_ids if i in body and i not in path)
                    probes.append(Probe(method, path, role, response.status_code, leaked))
    return probes


def violations(probes: list[Probe], victim: set[str]) -> list[str]:
    """Probes that failed (5xx), leaked a victim id in the body, or answered 2xx on a victim's id."""
    bad = []
    for p in probes:
        on_victim = any(i in p.path for i in victim)
        if p.status >= 500 or p.leaked or (on_victim and p.status < 300):
            bad.append(f"{p.method} {p.path} as {p.role}: {p.status} leaked={p.leaked[:3]}")
    return bad
