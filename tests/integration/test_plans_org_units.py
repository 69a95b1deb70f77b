"""Organisation units through HTTP on a real database: the as-of tree, a merge, refusals, tenants, calendar."""
from __future__ import annotations

import uuid

import pytest

from services.plans.bootstrap import SERVICE as PLANS


@pytest.fixture
def plans(service_harness):
    return service_harness(PLANS)


def _create(svc, headers, **body):
    r = svc.client.post("/v1/units", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _names(tree_nodes):
    """{name: [child names]} of a nested tree."""
    out = {}

    def walk(nodes):
        for n in nodes:
            out[n["name"]] = sorted(c["name"] for c in n["children"])
            walk(n["children"])
    walk(tree_nodes)
    return out


def test_as_of_tree_rename_merge_and_refusals(plans, tenant):
    admin = plans.auth(tenant, "province_admin")
    reader = plans.auth(tenant, "viewer")
    tv = _create(plans, admin, name="UBND tỉnh Trà Vinh", level=1, kind="province_committee", code="84",
                 valid_from="1992-05-01")
    cl = _create(plans, admin, name="UBND huyện Càng Long", level=2, kind="district_committee", code="845",
                 parent_id=tv["id"], valid_from="2000-01-01",
                 contacts=[{"role": "head", "name": "Nguyễn Thị Hồng Nhung", "email": "nhung@travinh.gov.vn"}])
    dp = _create(plans, admin, name="UBND xã Đại Phước", level=3, kind="commune_committee", code="29278",
                 parent_id=cl["id"], valid_from="2000-01-01")

    r = plans.client.post(f"/v1/units/{cl['id']}/rename", headers=admin,
                          json={"name": "UBND thị xã Càng Long", "effective": "2024-06-01"})
    assert r.status_code == 200, r.text
    assert [v["name"] for v in r.json()["history"]] == ["UBND huyện Càng Long", "UBND thị xã Càng Long"]

    before = plans.client.get("/v1/units/tree", headers=reader, params={"as_of": "2024-05-01"}).json()
    assert _names(before["units"]) == {"UBND tỉnh Trà Vinh": ["UBND huyện Càng Long"],
                                       "UBND huyện Càng Long": ["UBND xã Đại Phước"], "UBND xã Đại Phước": []}
    after_rename = plans.client.get("/v1/units/tree", headers=reader, params={"as_of": "2024-07-01", "shape": "flat"}).json()
    assert {u["name"]: (u["level"], u["kind"]) for u in after_rename["units"]}["UBND thị xã Càng Long"] == (2, "district_committee")

    # The province merges into a new one on 1 July 2025; the district under it moves to the successor.
    r = plans.client.post("/v1/units/merge", headers=admin, json={
        "unit_ids": [tv["id"]], "effective": "2025-07-01",
        "successor": {"name": "UBND tỉnh Vĩnh Long", "level": 1, "kind": "province_committee", "code": "86"}})
    assert r.status_code == 200, r.text
    merge = r.json()
    vl = merge["successor"]
    assert merge["merged"][0]["valid_to"] == "2025-06-30" and merge["merged"][0]["successor_id"] == vl["id"]
    assert [m["id"] for m in merge["moved"]] == [cl["id"]]

    assert _names(plans.client.get("/v1/units/tree", headers=reader, params={"as_of": "2025-06-30"}).json()["units"])[
        "UBND tỉnh Trà Vinh"] == ["UBND thị xã Càng Long"]
    on_merge_day = _names(plans.client.get("/v1/units/tree", headers=reader, params={"as_of": "2025-07-01"}).json()["units"])
    assert "UBND tỉnh Trà Vinh" not in on_merge_day and on_merge_day["UBND tỉnh Vĩnh Long"] == ["UBND thị xã Càng Long"]

    old = plans.client.get(f"/v1/units/{tv['id']}", headers=reader).json()
    assert (old["valid_to"], old["successor_id"], old["ended"]) == ("2025-06-30", vl["id"], "merged")
    new = plans.client.get(f"/v1/units/{vl['id']}", headers=reader).json()
    assert [p["name"] for p in new["predecessors"]] == ["UBND tỉnh Trà Vinh"]
    district = plans.client.get(f"/v1/units/{cl['id']}", headers=reader, params={"as_of": "2024-01-01"}).json()
    assert district["name"] == "UBND huyện Càng Long" and district["parent_id"] == tv["id"]
    assert district["contacts"][0]["name"] == "Nguyễn Thị Hồng Nhung"

    # Refusals, each with its reason.
    ended = plans.client.post(f"/v1/units/{tv['id']}/rename", headers=admin, json={"name": "x", "effective": "2025-08-01"})
    assert ended.status_code == 409 and "merged into" in ended.json()["message"]
    early = plans.client.post(f"/v1/units/{dp['id']}/rename", headers=admin, json={"name": "x", "effective": "1999-01-01"})
    assert early.status_code == 422 and early.json()["field"] == "body.effective"
    cycle = plans.client.post(f"/v1/units/{cl['id']}/move", headers=admin,
                              json={"parent_id": dp["id"], "level": 4, "effective": "2025-08-01"})
    assert cycle.status_code == 409 and "descendants" in cycle.json()["message"]
    busy = plans.client.post(f"/v1/units/{cl['id']}/dissolve", headers=admin, json={"effective": "2025-08-01"})
    assert busy.status_code == 409 and busy.json()["children"] == [dp["id"]]
    assert plans.client.post(f"/v1/units/{dp['id']}/dissolve", headers=admin, json={"effective": "2025-08-01"}).status_code == 200
    assert plans.client.post(f"/v1/units/{cl['id']}/dissolve", headers=admin, json={"effective": "2025-08-01"}).status_code == 200
    gone = plans.client.get("/v1/units", headers=reader, params={"as_of": "2025-08-01"}).json()
    assert [u["name"] for u in gone["items"]] == ["UBND tỉnh Vĩnh Long"]
    found = plans.client.get("/v1/units", headers=reader, params={"as_of": "2024-01-01", "q": "càng", "level": 2}).json()
    assert found["total"] == 1 and found["items"][0]["code"] == "845"
    unaccented = plans.client.get("/v1/units", headers=reader, params={"as_of": "2024-01-01", "q": "DAI PHUOC"}).json()
    assert [u["name"] for u in unaccented["items"]] == ["UBND xã Đại Phước"]

    # Every change staged one unit.changed event in the outbox with the state after it.
    with plans.runtime.db.tx(tenant) as conn:
        events = conn.execute("SELECT payload FROM outbox WHERE tenant = %s AND type = 'unit.changed' ORDER BY seq",
                              [tenant]).fetchall()
    changes = [(e["payload"]["name"], e["payload"]["change"]) for e in events]
    assert changes == [("UBND tỉnh Trà Vinh", "created"), ("UBND huyện Càng Long", "created"),
                       ("UBND xã Đại Phước", "created"), ("UBND thị xã Càng Long", "renamed"),
                       ("UBND tỉnh Vĩnh Long", "created"), ("UBND tỉnh Trà Vinh", "merged"),
                       ("UBND thị xã Càng Long", "moved"), ("UBND xã Đại Phước", "dissolved"),
                       ("UBND thị xã Càng Long", "dissolved")]


def test_other_tenants_units_are_not_found_and_roles_are_enforced(plans, tenant):
    unit = _create(plans, plans.auth(tenant, "province_admin"), name="Sở Nội vụ", level=2, kind="department",
                   valid_from="2025-07-01")
    other = plans.auth(f"other-{uuid.uuid4().hex[:6]}", "province_admin")
    assert plans.client.get(f"/v1/units/{unit['id']}", headers=other).status_code == 404
    r = plans.client.post(f"/v1/units/{unit['id']}/rename", headers=other, json={"name": "Sở Nội vụ mới"})
    assert r.status_code == 404
    assert plans.client.get("/v1/units", headers=other, params={"as_of": "2025-08-01"}).json()["total"] == 0
    planner = plans.client.post("/v1/units", headers=plans.auth(tenant, "planner"),
                                json={"name": "Sở Tư pháp", "level": 2, "kind": "department"})
    assert planner.status_code == 403
    bad = plans.client.post("/v1/units", headers=plans.auth(tenant, "province_admin"),
                            json={"name": "Sở Tư pháp", "level": 2, "kind": "Sở"})
    assert bad.status_code == 422 and bad.json()["field"] == "body.kind"
    central = plans.client.get(f"/v1/units/{unit['id']}", headers=plans.auth("*", "central_viewer"))
    assert central.status_code == 200 and central.json()["name"] == "Sở Nội vụ"
    assert plans.client.get("/v1/units/export", headers=plans.auth("*", "central_viewer")).status_code == 422

    contacts = [{"role": "head", "name": "Trần Thị Ánh Nguyệt", "email": "nguyet@vinhlong.gov.vn", "phone": "0270 3822 111"},
                {"role": "deputy", "name": "Huỳnh Văn Bé Tư"}]
    r = plans.client.put(f"/v1/units/{unit['id']}/contacts", headers=plans.auth(tenant, "province_admin"),
                         json={"contacts": contacts, "effective": "2025-09-01"})
    assert r.status_code == 200, r.text
    assert [v["contacts"] for v in r.json()["history"]][0] == []
    assert r.json()["contacts"][1] == {"role": "deputy", "name": "Huỳnh Văn Bé Tư", "email": None, "phone": None}
    bad_role = plans.client.put(f"/v1/units/{unit['id']}/contacts", headers=plans.auth(tenant, "province_admin"),
                                json={"contacts": [{"role": "chairman", "name": "x"}]})
    assert bad_role.status_code == 422 and "contacts.0.role" in bad_role.json()["message"]


def test_working_calendar_skips_tet_and_the_provinces_declared_days(plans, tenant):
    admin = plans.auth(tenant, "province_admin")
    before = plans.client.get("/v1/calendar/2026/add-working-days", headers=admin,
                              params={"start": "2026-02-10", "days": 5}).json()
    assert before["deadline"] == "2026-02-24"
    assert [d["date"] for d in before["holidays_skipped"]] == [f"2026-02-{d}" for d in range(16, 21)]
    assert before["holidays_skipped"][1]["name"] == "Tết Nguyên Đán"
    r = plans.client.put("/v1/calendar/2026", headers=admin, json={
        "days_off": [{"date": "2026-02-24", "name": "Nghỉ bù Tết theo quyết định của UBND tỉnh"}],
        "working_days": ["2026-02-21"]})
    assert r.status_code == 200, r.text
    assert r.json()["days_off"][0]["name"] == "Nghỉ bù Tết theo quyết định của UBND tỉnh"
    after = plans.client.get("/v1/calendar/2026/add-working-days", headers=admin,
                             params={"start": "2026-02-10", "days": 5}).json()
    assert after["deadline"] == "2026-02-23"
    year = plans.client.get("/v1/calendar/2026", headers=plans.auth(tenant, "viewer")).json()
    assert year["working_days"] == ["2026-02-21"] and any(h["name"] == "Quốc khánh" for h in year["holidays"])
    wrong_year = plans.client.put("/v1/calendar/2026", headers=admin, json={"working_days": ["2027-01-02"]})
    assert wrong_year.status_code == 422 and wrong_year.json()["field"] == "body.working_days.0"
    with plans.runtime.db.tx(tenant) as conn:
        event = conn.execute("SELECT payload FROM outbox WHERE tenant = %s AND type = 'calendar.changed'", [tenant]).fetchone()
    assert event["payload"] == {"year": 2026, "working_days": ["2026-02-21"],
                                "days_off": [{"date": "2026-02-24", "name": "Nghỉ bù Tết theo quyết định của UBND tỉnh"}]}
