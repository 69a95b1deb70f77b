"""Seeding a real province (Lai Châu: few communes, so fast) and its unit.changed events on Kafka."""
from __future__ import annotations

from services.plans.bootstrap import SERVICE as PLANS
from services.plans.org.seed import seed_province
from shared.events import CATALOGUE, Event
from tests.support.kafka import read_topic


def _outbox_count(svc, tenant):
    with svc.runtime.db.tx(tenant) as conn:
        return conn.execute("SELECT count(*) AS n FROM outbox WHERE tenant = %s", [tenant]).fetchone()["n"]


def test_seeding_lai_chau_builds_real_units_across_the_reform_idempotently_and_publishes_them(service_harness, tenant):
    plans = service_harness(PLANS)
    summary = seed_province(plans.runtime, tenant, "12")
    # 1 province + 13 departments + 38 communes after; 1 former province + 8 districts + 106 communes before.
    assert summary["by_kind"] == {"province_committee": 2, "department": 13, "district_committee": 8,
                                  "commune_committee": 38 + 106}
    assert summary["created"] == 167 and summary["unmapped_former_communes"] == 0
    assert summary["former_provinces"] == ["Tỉnh Lai Châu"]

    again = seed_province(plans.runtime, tenant, "12")
    assert (again["created"], again["existing"]) == (0, 167)
    assert _outbox_count(plans, tenant) == 167

    viewer = plans.auth(tenant, "viewer")
    after = plans.client.get("/v1/units/tree", headers=viewer, params={"as_of": "2025-07-01"}).json()["units"]
    assert [(u["code"], u["name"], u["level"]) for u in after] == [("12", "UBND tỉnh Lai Châu", 1)]
    children = {c["name"]: (c["code"], c["level"], c["kind"]) for c in after[0]["children"]}
    assert children["UBND phường Đoàn Kết"] == ("03388", 2, "commune_committee")
    assert children["UBND xã Sin Suối Hồ"] == ("03394", 2, "commune_committee")
    assert children["Sở Nội vụ"] == (None, 2, "department")
    assert children["Văn phòng Ủy ban nhân dân tỉnh"] == (None, 2, "department")

    before = plans.client.get("/v1/units/tree", headers=viewer, params={"as_of": "2025-06-30"}).json()["units"]
    assert len(before) == 1 and before[0]["id"] != after[0]["id"]
    districts = {d["code"]: d for d in before[0]["children"]}
    assert districts["105"]["name"] == "UBND thành phố Lai Châu" and districts["105"]["kind"] == "district_committee"
    assert len(districts["105"]["children"]) == 7 and len(districts["108"]["children"]) == 22
    quyet_thang = next(c for c in districts["105"]["children"] if c["name"] == "UBND phường Quyết Thắng")
    old = plans.client.get(f"/v1/units/{quyet_thang['id']}", headers=viewer).json()
    assert (old["code"], old["valid_to"], old["ended"]) == ("03386", "2025-06-30", "merged")
    successor = plans.client.get(f"/v1/units/{old['successor_id']}", headers=viewer).json()
    assert successor["name"] == "UBND phường Đoàn Kết" and successor["valid_from"] == "2025-07-01"
    assert "UBND phường Quyết Thắng" in [p["name"] for p in successor["predecessors"]]
    former_province = plans.client.get(f"/v1/units/{before[0]['id']}", headers=viewer).json()
    assert former_province["successor_id"] == after[0]["id"]

    # The relay publishes every seeded unit to Kafka as a CloudEvent valid against unit.changed's schema.
    plans.start_relay()
    messages = read_topic(plans.settings.kafka_bootstrap, CATALOGUE.topic("unit.changed", plans.settings.topic_prefix),
                          expect=167)
    events = [Event.from_kafka(m.headers(), m.value()) for m in messages]
    assert len(events) == 167
    for event, message in zip(events, messages):
        assert CATALOGUE.validate(event).type == "unit.changed"
        assert event.tenant == tenant and message.key().decode() == event.data["unit_id"]
    by_name = {(e.data["name"], e.data["valid_from"]): e.data for e in events}
    doan_ket = by_name[("UBND phường Đoàn Kết", "2025-07-01")]
    assert doan_ket["code"] == "03388" and doan_ket["parent_id"] == after[0]["id"] and doan_ket["change"] == "created"
    merged = by_name[("UBND phường Quyết Thắng", "2020-01-01")]
    assert (merged["change"], merged["valid_to"], merged["successor_id"]) == ("merged", "2025-06-30", successor["id"])
    # Diacritics travel as UTF-8 text, not escapes.
    assert any("UBND huyện Sìn Hồ".encode("utf-8") in m.value() for m in messages)
