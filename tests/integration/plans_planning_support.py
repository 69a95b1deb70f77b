"""Helpers for the planning tests: unit trees through the org API, teams and draft plans through the planning API."""
from __future__ import annotations

from dataclasses import dataclass, field

from services.plans.bootstrap import SERVICE as PLANS  # noqa: F401  (re-exported for the tests)

ADMIN, PLANNER = "province_admin", "planner"
_TOKENS: dict[tuple, dict[str, str]] = {}


def auth(svc, tenant: str, *roles: str) -> dict[str, str]:
    """Authorization headers, signed once per issuer, tenant and roles (RSA signing costs ~70 ms a token)."""
    key = (svc.issuer.kid, tenant, roles)
    if key not in _TOKENS:
        _TOKENS[key] = svc.auth(tenant, *roles)
    return dict(_TOKENS[key])


@dataclass
class Tree:
    """Unit ids by name, created through POST /v1/units."""
    svc: object
    tenant: str
    ids: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, level: int, kind: str, parent: str | None = None, valid_from: str = "2020-01-01",
            code: str | None = None) -> str:
        body = {"name": name, "level": level, "kind": kind, "valid_from": valid_from,
                "parent_id": self.ids[parent] if parent else None}
        if code:
            body["code"] = code
        r = self.svc.client.post("/v1/units", headers=auth(self.svc, self.tenant, ADMIN), json=body)
        assert r.status_code == 201, r.text
        self.ids[name] = r.json()["id"]
        return self.ids[name]

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


def province(svc, tenant: str, name: str, *, departments: list[str], districts: dict[str, list[str]]) -> Tree:
    """A pre-2025 three-level tree: the province, its departments and districts (level 2), communes (level 3)."""
    tree = Tree(svc, tenant)
    tree.add(name, 1, "province_committee")
    for d in departments:
        tree.add(d, 2, "department", name)
    for district, communes in districts.items():
        tree.add(district, 2, "district_committee", name)
        for c in communes:
            tree.add(c, 3, "commune_committee", district)
    return tree


def person(person_id: str, name: str, unit_id: str | None = None, role: str | None = None, email: str | None = None) -> dict:
    return {"person_id": person_id, "name": name, "unit_id": unit_id, "role": role, "email": email}


def create_team(svc, tenant: str, name: str, lead_unit_id: str, leader: dict, members: list[dict]) -> dict:
    r = svc.client.post("/v1/teams", headers=auth(svc, tenant, PLANNER),
                        json={"name": name, "lead_unit_id": lead_unit_id, "leader": leader, "members": members})
    assert r.status_code == 201, r.text
    return r.json()


def create_plan(svc, tenant: str, **body) -> dict:
    r = svc.client.post("/v1/plans", headers=auth(svc, tenant, PLANNER), json=body)
    assert r.status_code == 201, r.text
    return r.json()


def schedule(svc, tenant: str, plan_id: str, unit_id: str, start: str, end: str, form: str = "on_site",
             team_id: str | None = None, note: str | None = None) -> str:
    r = svc.client.post(f"/v1/plans/{plan_id}/inspections", headers=auth(svc, tenant, PLANNER),
                        json={"unit_id": unit_id, "window_start": start, "window_end": end, "form": form,
                              "team_id": team_id, "note": note})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def approve(svc, tenant: str, plan_id: str, number: str, on: str, signer: str) -> dict:
    r = svc.client.post(f"/v1/plans/{plan_id}/approve", headers=auth(svc, tenant, ADMIN),
                        json={"decision": {"number": number, "date": on, "signer": signer}})
    assert r.status_code == 200, r.text
    return r.json()


def outbox(svc, tenant: str, event_type: str) -> list[dict]:
    """Payloads staged in the outbox for one tenant and type, oldest first."""
    with svc.runtime.db.tx("*") as conn:
        return [r["payload"] for r in conn.execute(
            "SELECT payload FROM outbox WHERE tenant = %s AND type = %s ORDER BY seq", [tenant, event_type])]
