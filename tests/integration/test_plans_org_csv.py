"""CSV import (all or nothing, with a report of rejected rows) and export, Vietnamese names intact."""
from __future__ import annotations

import csv
import io
import uuid

from services.plans.bootstrap import SERVICE as PLANS

HEADER = "code,name,level,kind,parent_code,valid_from,valid_to,head_name,head_email\n"
GOOD = HEADER + (
    "86,UBND tỉnh Vĩnh Long,1,province_committee,,2025-07-01,,Lữ Quang Ngời,ngoi@vinhlong.gov.vn\n"
    ",Sở Nội vụ,2,department,86,2025-07-01,,Trần Thị Ánh Nguyệt,nguyet@vinhlong.gov.vn\n"
    "29239,UBND phường Trà Vinh,2,commune_committee,86,2025-07-01,,,\n"
    "29242,\"UBND xã Long Hữu, Duyên Hải\",2,commune_committee,86,2025-07-01,,Đặng Văn Ước,\n"
)


def _units(svc, tenant):
    with svc.runtime.db.tx(tenant) as conn:
        return conn.execute("SELECT count(*) AS n FROM units WHERE tenant = %s", [tenant]).fetchone()["n"]


def test_a_rejected_row_means_nothing_is_written_and_the_report_says_why(service_harness, tenant):
    plans = service_harness(PLANS)
    admin = plans.auth(tenant, "province_admin")
    bad = GOOD + (
        "29243,UBND xã Hòa Minh,ba,commune_committee,86,2025-07-01,,,\n"  # row 6: level
        "29244,UBND xã Long Đức,2,commune_committee,99,2025-07-01,,,\n"  # row 7: unknown parent
        "29239,UBND xã Trùng Mã,2,commune_committee,86,2025-07-01,,,\n"  # row 8: code already on row 4
        ",UBND xã Không Ngày,2,commune_committee,86,1/7/2025,,Võ Văn Sáu,not-an-email\n"  # row 9: date, email
    )
    r = plans.client.post("/v1/units/import", headers={**admin, "content-type": "text/csv; charset=utf-8"},
                          content=bad.encode("utf-8"))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "body.file" and "nothing was imported" in body["message"]
    rejected = {(x["row"], x["column"]) for x in body["report"]["rejected"]}
    assert rejected == {(6, "level"), (7, "parent_code"), (8, "code"), (4, "code"), (9, "valid_from"), (9, "head_email")}
    assert body["report"]["rows"] == 8
    assert _units(plans, tenant) == 0
    with plans.runtime.db.tx(tenant) as conn:
        assert conn.execute("SELECT count(*) AS n FROM outbox WHERE tenant = %s", [tenant]).fetchone()["n"] == 0

    missing_column = plans.client.post("/v1/units/import", headers={**admin, "content-type": "text/csv"},
                                       content="code,name\n1,x\n".encode())
    assert missing_column.status_code == 422
    assert {(x["row"], x["column"]) for x in missing_column.json()["report"]["rejected"]} == {
        (1, "level"), (1, "kind"), (1, "valid_from")}
    latin1 = plans.client.post("/v1/units/import", headers={**admin, "content-type": "text/csv"},
                               content=GOOD.encode("cp1258", errors="replace"))
    assert latin1.status_code == 422 and "UTF-8" in latin1.json()["message"]
    viewer = plans.client.post("/v1/units/import", headers={**plans.auth(tenant, "viewer"), "content-type": "text/csv"},
                               content=GOOD.encode())
    assert viewer.status_code == 403


def test_good_import_round_trips_through_export(service_harness, tenant):
    plans = service_harness(PLANS)
    admin = plans.auth(tenant, "province_admin")
    r = plans.client.post("/v1/units/import", headers=admin,
                          files={"file": ("don-vi.csv", ("\ufeff" + GOOD).encode("utf-8"), "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 4 and r.json()["rejected"] == []

    tree = plans.client.get("/v1/units/tree", headers=admin, params={"as_of": "2025-07-01"}).json()["units"]
    assert [u["name"] for u in tree] == ["UBND tỉnh Vĩnh Long"]
    assert sorted(c["name"] for c in tree[0]["children"]) == [
        "Sở Nội vụ", "UBND phường Trà Vinh", "UBND xã Long Hữu, Duyên Hải"]

    exported = plans.client.get("/v1/units/export", headers=admin, params={"as_of": "2025-07-01"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert _rows(exported.content.decode("utf-8")) == _rows(GOOD)
    assert plans.client.get("/v1/units/export", headers=admin, params={"as_of": "2025-06-30"}).text.strip() == HEADER.strip()

    # The same file again would reuse codes for the same period: refused, row by row.
    again = plans.client.post("/v1/units/import", headers={**admin, "content-type": "text/csv"}, content=GOOD.encode())
    assert again.status_code == 422
    assert {x["row"] for x in again.json()["report"]["rejected"]} == {2, 4, 5}

    # The export imports into another province unchanged.
    other = f"tenant-{uuid.uuid4().hex[:8]}"
    copy = plans.client.post("/v1/units/import", headers={**plans.auth(other, "province_admin"), "content-type": "text/csv"},
                             content=exported.content)
    assert copy.status_code == 200, copy.text
    copied = plans.client.get("/v1/units/export", headers=plans.auth(other, "viewer"), params={"as_of": "2025-07-01"})
    assert _rows(copied.text) == _rows(GOOD)


def _rows(text: str) -> list[tuple]:
    return sorted(tuple(r.values()) for r in csv.DictReader(io.StringIO(text)))
