"""The console over the real demo province (Vĩnh Long after the 2025 merger, its approved 2026 plan): the pages a
newcomer opens first stay under 200 KB and show the province's own names."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient

from services.console.testing import console_app
from services.plans.bootstrap import SERVICE as PLANS
from services.plans.org.seed import seed_province
from services.plans.planning.demo import create_demo_plan

LIMIT = 200_000


def test_demo_province_pages_are_light_and_vietnamese(service_harness, tenant, issuer):
    plans = service_harness(PLANS)
    seed_province(plans.runtime, tenant, "86")
    plan_id = create_demo_plan(plans.runtime, tenant)
    with TestClient(console_app({"plans": plans.client.app}, issuer, tenant)) as client:
        login = client.get("/login")
        assert login.status_code == 200 and len(login.content) < LIMIT
        units = re.findall(r'<option value="[0-9a-f-]{36}">([^<]+)</option>', login.text)
        assert len(units) > 50 and any("Trà Vinh" in u for u in units), units[:5]

        client.post("/login/demo", data={"role": "planner"})
        page = client.get(f"/plans/{plan_id}")
        assert page.status_code == 200, page.text[:500]
        assert len(page.content) < LIMIT, len(page.content)
        assert "Kế hoạch kiểm tra công vụ năm 2026" in page.text and "125/QĐ-UBND" in page.text
        assert "Đạt mọi yêu cầu bao phủ" in page.text  # the demo plan meets its own coverage rules
        scheduled = int(re.search(r"Lịch kiểm tra \((\d+)\)", page.text).group(1))
        assert scheduled >= 5 and page.text.count('class="scheduled"') == scheduled  # ticked in the unit tree
        assert len(client.get("/plans/" + plan_id + "/document.docx").content) > 5000
