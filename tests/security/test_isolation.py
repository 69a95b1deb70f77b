"""Tenant isolation, proven by walking every endpoint of every service as another province.

One province (the victim) gets real data in all four services: its unit tree, checklist and an approved
plan in plans; the scheduled inspections, a finding, a conclusion and a remediation in inspections;
what notifications and analytics derive from the events. Then every route of every service is called
by every role of another province, with the victim's ids in the path: the answer is never the data
(404 or another refusal, never 2xx on a victim's id, never a victim's id in the body, never 5xx).
Row-level security is checked too: a query with no tenant filter, run as the other province, sees nothing.
"""
from __future__ import annotations

import uuid

import pytest

from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.inspections.bootstrap import SERVICE as INSPECTIONS
from services.notifications.bootstrap import SERVICE as NOTIFICATIONS
from services.plans.bootstrap import SERVICE as PLANS
from services.plans.org.seed import seed_province
from services.plans.planning.demo import create_demo_plan, install_default_checklist
from tests.security.isolation import victim_ids, violations, walk
from tests.support.waiting import wait_until

VICTIM = "vinh-long-" + uuid.uuid4().hex[:6]
ATTACKER = "dong-thap-" + uuid.uuid4().hex[:6]


def uid() -> str:
    return str(uuid.uuid4())


def rows_of(harness, tenant: str, table: str) -> int:
    with harness.runtime.db.tx("*") as conn:
        return conn.execute(f'SELECT count(*) AS n FROM "{table}" WHERE tenant = %s', [tenant]).fetchone()["n"]


def tenant_tables(harness) -> list[str]:
    with harness.runtime.db.tx("*") as conn:
        return [r["table_name"] for r in conn.execute(
            "SELECT c.table_name FROM information_schema.columns c JOIN pg_class p ON p.relname = c.table_name "
            "WHERE c.table_schema = 'public' AND c.column_name = 'tenant' AND p.relrowsecurity "
            "AND c.table_name NOT IN ('outbox', 'processed_events')").fetchall()]


@pytest.fixture(scope="module")
def world(module_service_harness):
    """Built once for the module: four services with the victim's data flowed through the broker."""
    service_harness = module_service_harness
    plans = service_harness(PLANS)
    inspections = service_harness(INSPECTIONS)
    notifications = service_harness(NOTIFICATIONS)
    analytics = service_harness(ANALYTICS)
    for svc in (plans, inspections, notifications, analytics):
        svc.start_workers()

    seed_province(plans.runtime, VICTIM, "86")
    install_default_checklist(plans.runtime, VICTIM)
    create_demo_plan(plans.runtime, VICTIM)

    member = inspections.auth(VICTIM, "team_member", name="Trần Văn Bình")
    leader = inspections.auth(VICTIM, "team_leader", name="Lê Thị Thu")
    c = inspections.client
    listed = wait_until(lambda: (lambda r: r.status_code == 200 and len(r.json()["items"]) >= 8 and r.json()["items"])(
        c.get("/v1/inspections", headers=member)), timeout=90, message="scheduled inspections replicated")
    inspection = listed[0]
    iid = inspection["id"]
    assert c.post(f"/v1/inspections/{iid}/start", headers=member).status_code in (200, 201)
    finding = c.post(f"/v1/inspections/{iid}/findings", headers=member, json={
        "id": uid(), "criterion_code": "KLKC.02", "severity": "serious",
        "description": "Công chức uống rượu bia trong giờ làm việc",
        "officials": [{"name": "Đỗ Văn Khánh", "position": "Công chức địa chính"}]})
    assert finding.status_code == 201, finding.text
    concluded = c.post(f"/v1/inspections/{iid}/conclusion", headers=leader, json={
        "id": uid(), "summary": "Kết luận kiểm tra",
        "document": {"kind": "notice", "number": "7/TB-SNV", "date": "2026-03-20", "place": "Vĩnh Long",
                     "issuing_authority": "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", "signer_title": "GIÁM ĐỐC",
                     "signer_name": "Nguyễn Thị Hồng", "recipients": ["Lưu: VT"]},
        "recommendations": [{"id": uid(), "finding_id": finding.json()["id"], "kind": "correction",
                             "text": "Chấn chỉnh kỷ luật giờ giấc", "deadline": "2026-04-30"}]})
    assert concluded.status_code == 201, concluded.text

    def flowed() -> bool:
        return all(any(rows_of(svc, VICTIM, t) for t in tenant_tables(svc)) for svc in (notifications, analytics)) and \
            rows_of(inspections, VICTIM, "remediations") > 0
    wait_until(flowed, timeout=90, message="the victim's data reached every service")
    unit_id = inspection["unit_id"] if "unit_id" in inspection else inspection["unit"]["id"]
    return {"plans": plans, "inspections": inspections, "notifications": notifications, "analytics": analytics,
            "unit_id": unit_id}


@pytest.mark.parametrize("name", ["plans", "inspections", "notifications", "analytics"])
def test_row_level_security_hides_rows_when_the_filter_is_forgotten(world, name):
    harness = world[name]
    tables = tenant_tables(harness)
    populated = [t for t in tables if rows_of(harness, VICTIM, t)]
    assert populated
    with harness.runtime.db.tx(ATTACKER) as conn:
        for table in tables:
            # No WHERE clause at all: the policy alone must keep the victim's rows out.
            seen = {r["tenant"] for r in conn.execute(f'SELECT DISTINCT tenant FROM "{table}"').fetchall()}
            assert seen <= {ATTACKER}, (table, seen)
    with harness.runtime.db.tx(VICTIM) as conn:
        seen = [t for t in populated if conn.execute(f'SELECT count(*) AS n FROM "{t}"').fetchone()["n"]]
    assert seen == populated


@pytest.mark.parametrize("name", ["plans", "inspections", "notifications", "analytics"])
def test_every_tenant_table_reads_the_tenant_once_per_statement(world, name):
    """shared/migrations/005: the policy's setting is a subquery (evaluated once), on every table,
    including those a service made after the backbone's migrations."""
    harness = world[name]
    tables = set(tenant_tables(harness))
    once = "( SELECT current_setting('app.tenant'::text, true) AS current_setting)"  # as PostgreSQL prints it
    with harness.runtime.db.tx("*") as conn:
        policies = {r["tablename"]: r for r in conn.execute(
            "SELECT tablename, qual, with_check FROM pg_policies WHERE policyname = 'tenant_isolation'").fetchall()}
        plan = "\n".join(r["QUERY PLAN"] for r in conn.execute(f'EXPLAIN SELECT * FROM "{sorted(tables)[0]}"').fetchall())
    assert tables <= set(policies), tables - set(policies)
    for table, p in policies.items():
        assert p["qual"].count(once) == 2 and p["with_check"].count(once) == 2, (table, p["qual"])
    assert "InitPlan" in plan, plan


@pytest.mark.parametrize("name", ["plans", "inspections", "notifications", "analytics"])
def test_no_endpoint_gives_another_province_the_data(world, name):
    harness = world[name]
    ids = victim_ids(harness, VICTIM)
    assert ids, f"{name} holds no data of the victim: the walk would prove nothing"
    probes = walk(harness, VICTIM, ATTACKER, unit_id=world["unit_id"])
    on_victim_ids = [p for p in probes if any(i in p.path for i in set().union(*ids.values()))]
    assert on_victim_ids, "no route took a victim's id"
    bad = violations(probes, set().union(*ids.values()))
    assert not bad, f"{len(bad)} leaks or failures:\n" + "\n".join(bad[:25])
    # The walk asked the system operator for a rebuild (a legitimate, global operation): let it finish
    # before the world is torn down.
    if any(p.path == "/v1/rebuild" and p.status == 202 for p in probes):
        operator = harness.auth(ATTACKER, "system_operator")
        wait_until(lambda: harness.client.get("/v1/rebuild/status", headers=operator).json().get("status") != "running",
                   timeout=60, message="rebuild finished")
