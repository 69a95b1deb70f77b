"""Every dashboard answers in JSON, CSV, XLSX and SVG; parameters are checked; roles see what they may."""
from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook

from services.analytics.api import DASHBOARD_NAMES
from services.analytics.bootstrap import SERVICE as ANALYTICS
from tests.integration.test_analytics_readmodel import apply, ev


@pytest.fixture
def seeded(service_harness, tenant):
    svc = service_harness(ANALYTICS)
    province, commune, plan, insp = (str(uuid.uuid4()) for _ in range(4))

    def unit(unit_id, name, level, kind, parent):
        return ev("unit.changed", tenant, {"unit_id": unit_id, "change": "created", "name": name, "level": level, "kind": kind,
                                           "parent_id": parent, "valid_from": "2020-01-01", "valid_to": None, "successor_id": None})
    events = [
        unit(province, "Tỉnh Trà Vinh", 1, "province", None),
        unit(commune, "Phường Nguyệt Hóa", 3, "commune", province),
        ev("plan.approved", tenant, {"plan_id": plan, "version": 1, "year": 2025, "type": "public_service",
                                     "title": "Kế hoạch kiểm tra công vụ năm 2025",
                                     "decision": {"number": "1732/QĐ-UBND", "date": "2025-01-06", "signer": "Lê Văn Hẳn"},
                                     "coverage_rules": [{"id": "xa", "description": "Tất cả xã, phường", "level": 3}],
                                     "planned_inspections": 1}),
        ev("inspection.scheduled", tenant, {"inspection_id": insp, "plan_id": plan, "plan_version": 1, "year": 2025,
                                            "unit_id": commune, "window_start": "2025-03-03", "window_end": "2025-03-14",
                                            "form": "on_site", "team_id": None}),
        ev("violation.recorded", tenant, {"finding_id": str(uuid.uuid4()), "inspection_id": insp, "unit_id": commune,
                                          "plan_id": plan, "criterion_code": "GIO", "severity": "minor",
                                          "description": "Đi làm muộn", "officials_count": 1, "recorded_by": "Thạch Sô Phol",
                                          "recorded_at": "2025-03-05T09:00:00+07:00"}),
        ev("violation.recorded", tenant, {"finding_id": str(uuid.uuid4()), "inspection_id": insp, "unit_id": commune,
                                          "plan_id": plan, "criterion_code": "GIO", "severity": "moderate",
                                          "description": "Về sớm", "officials_count": 1, "recorded_by": "Thạch Sô Phol",
                                          "recorded_at": "2025-03-06T09:00:00+07:00"}),
        ev("remediation.assigned", tenant, {"remediation_id": str(uuid.uuid4()), "inspection_id": insp, "unit_id": commune,
                                            "recommendation_id": str(uuid.uuid4()), "finding_id": None, "kind": "correction",
                                            "text": "Chấn chỉnh giờ giấc", "deadline": "2025-06-30"}),
        ev("dossier.checked", tenant, {"check_id": str(uuid.uuid4()), "inspection_id": insp, "unit_id": commune,
                                       "dossier_code": "H-001", "field": "Đất đai", "received_on": "2025-02-03",
                                       "due_on": "2025-02-17", "resolved_on": "2025-02-20", "days_late": 3, "late": True,
                                       "sample_seed": "7"}),
    ]
    assert apply(svc, events) == []
    return svc, tenant, commune


@pytest.mark.parametrize("name", DASHBOARD_NAMES)
def test_every_dashboard_in_every_format(seeded, name):
    svc, tenant, _ = seeded
    h = svc.auth(tenant, "viewer")
    params = {"year": 2025, "today": "2025-12-31"}
    body = svc.client.get(f"/v1/dashboards/{name}", params=params, headers=h)
    assert body.status_code == 200, body.text
    answer = body.json()
    assert answer["dashboard"] == name and answer["rows"], answer
    headers = [c["header"] for c in answer["columns"]]
    table = list(csv.reader(io.StringIO(svc.client.get(f"/v1/dashboards/{name}", params={**params, "format": "csv"},
                                                       headers=h).content.decode("utf-8-sig"))))
    assert table[0] == headers and len(table) == len(answer["rows"]) + 1
    xlsx = svc.client.get(f"/v1/dashboards/{name}", params={**params, "format": "xlsx"}, headers=h)
    assert xlsx.headers["content-disposition"] == f'attachment; filename="{name}-2025.xlsx"'
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[2]] == headers and sheet.max_row == len(answer["rows"]) + 2
    svg = svc.client.get(f"/v1/dashboards/{name}/chart.svg", params=params, headers=h)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    assert root.tag.endswith("svg") and root.find("{http://www.w3.org/2000/svg}title").text == answer["title"]


def test_parameters_roles_and_tenants(seeded):
    svc, tenant, commune = seeded
    h = svc.auth(tenant, "viewer")
    assert svc.client.get("/v1/dashboards/violations", params={"year": 2025}).status_code == 401
    bad = svc.client.get("/v1/dashboards/violations", params={"year": 2025, "month_from": 6, "month_to": 3}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "query.month_to"
    assert svc.client.get("/v1/dashboards/violations", params={"year": 1999}, headers=h).status_code == 422
    assert svc.client.get("/v1/dashboards/weather", params={"year": 2025}, headers=h).status_code == 404
    assert svc.client.get("/v1/dashboards/dossiers", params={"year": 2025, "group_by": "severity"}, headers=h).status_code == 422
    half = svc.client.get("/v1/dashboards/coverage", params={"year": 2025, "month_from": 1, "month_to": 6}, headers=h).json()
    assert [r["month"] for r in half["rows"]] == [f"{m:02d}/2025" for m in range(1, 7)]
    assert [(r["planned"], r["done"]) for r in half["rows"]][2] == (1, 0)
    assert half["plans"][0]["rules"][0]["missing_units"] == [{"unit_id": commune, "name": "Phường Nguyệt Hóa"}]
    # Another province sees nothing of this one; the central level picks a province.
    other = svc.client.get("/v1/dashboards/violations", params={"year": 2025}, headers=svc.auth("khac", "viewer")).json()
    assert other["rows"] == [] and other["total"] == 0
    assert svc.client.get(f"/v1/scorecards/{commune}", params={"year": 2025}, headers=svc.auth("khac", "viewer")).status_code == 404
    central = svc.auth("*", "central_viewer")
    assert svc.client.get("/v1/dashboards/violations", params={"year": 2025, "tenant": tenant}, headers=central).json()["total"] == 2
    docx = svc.client.get("/v1/reports/2025/annual.docx", params={"tenant": tenant}, headers=central)
    assert docx.status_code == 200 and docx.content[:2] == b"PK"
    assert svc.client.get("/v1/reports/2025/annual.docx", headers=central).status_code == 422
    assert svc.client.post("/v1/rebuild", headers=central).status_code == 403
