"""Rebuild from the producing services' outboxes (no broker needed), progress and its guards over HTTP."""
from __future__ import annotations

import uuid

import psycopg
import pytest

from services.analytics import rebuild
from services.analytics.bootstrap import SERVICE as ANALYTICS
from shared.db import BACKBONE_MIGRATIONS, migrate
from shared.errors import Conflict
from shared.outbox import Outbox
from tests.support.waiting import wait_until


def outbox_db(make_database, service: str) -> str:
    url = make_database(service)
    migrate(url, [BACKBONE_MIGRATIONS])
    return url


def unit(unit_id, name, **kw):
    return {"unit_id": unit_id, "change": kw.pop("change", "created"), "code": None, "name": name, "level": 3, "kind": "commune",
            "parent_id": None, "valid_from": "2020-01-01", "valid_to": None, "successor_id": None, **kw}


def violation(unit_id, code, day):
    return {"finding_id": str(uuid.uuid4()), "inspection_id": str(uuid.uuid4()), "unit_id": unit_id, "plan_id": None,
            "criterion_code": code, "severity": "moderate", "description": "Đi muộn, về sớm", "officials_count": 1,
            "recorded_by": "Phạm Thu Trang", "recorded_at": f"{day}T08:00:00+07:00"}


def test_rebuild_from_outboxes_replaces_stale_read_models(service_harness, make_database, tenant):
    svc = service_harness(ANALYTICS)
    op, planner = svc.auth("*", "system_operator"), svc.auth(tenant, "planner")
    assert svc.client.get("/v1/rebuild/status", headers=op).status_code == 404
    assert svc.client.get("/v1/rebuild/status", headers=planner).status_code == 403
    a, b, new = (str(uuid.uuid4()) for _ in range(3))
    plans_url, inspections_url = outbox_db(make_database, "plans"), outbox_db(make_database, "inspections")
    with psycopg.connect(plans_url, autocommit=True) as conn, conn.transaction():
        out = Outbox("plans")
        out.add(conn, "unit.changed", tenant=tenant, data=unit(a, "Xã Tân Ngãi"))
        out.add(conn, "unit.changed", tenant=tenant, data=unit(b, "Xã Tân Hòa"))
        out.add(conn, "unit.changed", tenant=tenant, data=unit(new, "Phường Tân Ngãi", valid_from="2025-07-01"))
        for merged, name in ((a, "Xã Tân Ngãi"), (b, "Xã Tân Hòa")):
            out.add(conn, "unit.changed", tenant=tenant, data=unit(merged, name, change="merged", valid_to="2025-06-30",
                                                                   successor_id=new))
    with psycopg.connect(inspections_url, autocommit=True) as conn, conn.transaction():
        out = Outbox("inspections")
        out.add(conn, "violation.recorded", tenant=tenant, data=violation(a, "GIO", "2025-03-10"))
        out.add(conn, "violation.recorded", tenant=tenant, data=violation(b, "GIO", "2025-04-11"))
        out.add(conn, "violation.recorded", tenant=tenant, data=violation(new, "VH", "2025-09-12"))
    # Stale figures that the rebuild must throw away.
    with svc.runtime.db.tx(tenant) as conn:
        conn.execute("INSERT INTO violation_counts (tenant, unit_id, month, criterion_code, severity, n) "
                     "VALUES (%s, %s, '2025-01-01', 'GIO', 'minor', 99)", [tenant, a])

    r = svc.client.post("/v1/rebuild", headers=op, json={"outbox_urls": [inspections_url, plans_url]})
    assert r.status_code == 202, r.text
    done = wait_until(lambda: (s := svc.client.get("/v1/rebuild/status", headers=op).json())["status"] != "running" and s,
                      timeout=30, message="rebuild from outboxes")
    assert (done["status"], done["source"], done["applied"], done["total"], done["progress"]) == ("done", "outboxes", 8, 8, 1.0)

    ask = {"year": 2025, "group_by": "unit"}
    now = svc.client.get("/v1/dashboards/violations", params=ask, headers=planner).json()
    assert {r["key"]: r["violations"] for r in now["rows"]} == {new: 3}
    assert now["rows"][0]["label"] == "Phường Tân Ngãi"
    before = svc.client.get("/v1/dashboards/violations", params={**ask, "as_of": "2025-05-01"}, headers=planner).json()
    assert {r["label"]: r["violations"] for r in before["rows"]} == {"Xã Tân Ngãi": 1, "Xã Tân Hòa": 1, "Phường Tân Ngãi": 1}
    repeats = svc.client.get("/v1/dashboards/repeat-violations", params={"year": 2025}, headers=planner).json()
    assert [(r["name"], r["criteria"]) for r in repeats["rows"]] == [("Phường Tân Ngãi", {"GIO": 2})]


def test_only_one_rebuild_runs_at_a_time_unless_the_last_one_went_silent(service_harness):
    svc = service_harness(ANALYTICS)
    first = rebuild.begin(svc.runtime, "topics")
    with pytest.raises(Conflict):
        rebuild.begin(svc.runtime, "topics")
    r = svc.client.post("/v1/rebuild", headers=svc.auth("*", "system_operator"))
    assert r.status_code == 409
    with svc.runtime.db.tx("*") as conn:
        conn.execute("UPDATE rebuild_runs SET updated_at = now() - interval '1 hour' WHERE id = %s", [first])
    second = rebuild.begin(svc.runtime, "topics")
    with svc.runtime.db.tx("*") as conn:
        rows = {r["id"]: r["status"] for r in conn.execute("SELECT id, status FROM rebuild_runs")}
    assert rows == {first: "abandoned", second: "running"}
