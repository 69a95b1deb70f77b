"""The console's sign-in, shell and plan editor against the real plans service (in-process, no workers)."""
from __future__ import annotations

import html
import re
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from services.console.testing import UNREACHABLE, Server, console_app
from services.plans.bootstrap import SERVICE as PLANS


def units(plans, tenant: str) -> dict[str, str]:
    """A small two-tier province (after 2025): the committee, two departments, three communes."""
    admin = plans.auth(tenant, "province_admin")
    ids: dict[str, str] = {}
    for name, level, kind, parent in [("UBND tỉnh Vĩnh Long", 1, "province_committee", None),
                                      ("Sở Nội vụ", 2, "department", "UBND tỉnh Vĩnh Long"),
                                      ("Sở Tài chính", 2, "department", "UBND tỉnh Vĩnh Long"),
                                      ("UBND phường Phước Hậu", 2, "commune_committee", "UBND tỉnh Vĩnh Long"),
                                      ("UBND xã Long Hồ", 2, "commune_committee", "UBND tỉnh Vĩnh Long"),
                                      ("UBND xã Đại Phước", 2, "commune_committee", "UBND tỉnh Vĩnh Long")]:
        r = plans.client.post("/v1/units", headers=admin, json={"name": name, "level": level, "kind": kind,
                                                                "valid_from": "2025-07-01",
                                                                "parent_id": ids.get(parent)})
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    return ids


@contextmanager
def server_stopped(server: Server):
    try:
        yield server
    finally:
        server.stop()


def sign_in(client: TestClient, role: str, unit_id: str = "") -> None:
    r = client.post("/login/demo", data={"role": role, "unit_id": unit_id}, follow_redirects=False)
    assert r.status_code == 303, r.text


@pytest.fixture
def plans(service_harness):
    return service_harness(PLANS)


def test_sign_in_shell_language_and_unreachable_services(plans, tenant, issuer):
    ids = units(plans, tenant)
    # Plans over a real socket (as deployed): the console's HTTP client, not an in-process transport.
    server = Server(plans.client.app).start()
    app = create_app(ConsoleSettings(plans_url=server.url, inspections_url=UNREACHABLE, notifications_url=UNREACHABLE,
                                     analytics_url=UNREACHABLE, demo_tenant=tenant, session_secret="s"), issuer=issuer)
    with server_stopped(server), TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok", "service": "console"}
        # Not signed in: every page sends the browser to the sign-in page, which offers a demo user per role.
        r = client.get("/plans", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        page = client.get("/login").text
        for label in ("Trưởng đoàn kiểm tra", "Thủ trưởng đơn vị được kiểm tra", "Bộ Nội vụ (xem toàn quốc)"):
            assert label in page
        assert "UBND xã Đại Phước" in page  # the unit head picks their unit from the plans service's tree
        assert 'lang="vi"' in page and 'aria-label="Điều hướng chính"' not in page

        # A unit head must name their unit; then lands on the remediation page (inspections is down: a clear 503).
        r = client.post("/login/demo", data={"role": "unit_head", "unit_id": ""}, follow_redirects=False)
        assert "error=" in r.headers["location"]
        sign_in(client, "unit_head", ids["UBND xã Đại Phước"])
        r = client.get("/remediations")
        assert r.status_code == 503
        assert "Dịch vụ «inspections» không phản hồi" in r.text

        # The language switch: English labels, the same data.
        client.get("/lang/en?next=/plans")
        assert client.cookies.get("lang") == "en"
        sign_in(client, "planner")
        page = client.get("/plans").text
        assert "New plan" in page and 'lang="en"' in page
        client.get("/lang/vi")

        # A tampered session cookie is no session at all.
        client.cookies.set("console_session", client.cookies.get("console_session")[:-2] + "00")
        assert client.get("/plans", follow_redirects=False).headers["location"] == "/login"


def test_plan_editor_live_coverage_approval_and_docx(plans, tenant, issuer):
    ids = units(plans, tenant)
    with TestClient(console_app({"plans": plans.client.app}, issuer, tenant)) as client:
        sign_in(client, "planner")
        r = client.post("/teams", follow_redirects=False, data={
            "name": "Đoàn kiểm tra công vụ số 2", "lead_unit_id": ids["Sở Nội vụ"], "leader_id": "nvhung",
            "leader_name": "Nguyễn Văn Hùng", "leader_email": "hung@snv.vinhlong.gov.vn",
            "members": "ttmai; Trần Thị Mai; mai@stc.vinhlong.gov.vn\n\nlmtuan; Lê Minh Tuấn"})
        assert r.headers["location"] == "/teams?ok=saved", r.headers["location"]
        page = client.get("/teams").text
        assert "Đoàn kiểm tra công vụ số 2" in page and "Trần Thị Mai, Lê Minh Tuấn" in page and "Sở Nội vụ" in page
        # The same person twice is the service's 422, shown on the page with the field it names.
        r = client.post("/teams", follow_redirects=False, data={
            "name": "Đoàn trùng", "lead_unit_id": ids["Sở Nội vụ"], "leader_id": "a", "leader_name": "A",
            "members": "b; Bùi Văn B\nb; Bùi Văn B"})
        assert "error=" in r.headers["location"] and "members" in r.headers["location"]

        r = client.post("/plans", data={"year": 2026, "type": "public_service",
                                        "title": "Kế hoạch kiểm tra công vụ năm 2026"}, follow_redirects=False)
        assert r.status_code == 303, r.text
        plan_url = r.headers["location"].split("?")[0]
        plan_id = plan_url.rsplit("/", 1)[1]
        page = client.get(plan_url).text
        assert "Kế hoạch kiểm tra công vụ năm 2026" in page and "Dự thảo" in page
        assert "UBND phường Phước Hậu" in page  # the unit tree as of the plan's year
        assert "Đoàn kiểm tra công vụ số 2</option>" in page

        # A coverage rule, sent the way app.js sends it: JSON back, then the live panel shows the shortfall.
        live = {"X-Live": "1"}
        r = client.post(f"/plans/{plan_id}/rules", headers=live,
                        data={"description": "Ít nhất 2 xã, phường", "kind": "commune_committee", "min_count": "2"})
        assert r.status_code == 200 and r.json() == {"ok": True}, r.text
        panel = client.get(f"/plans/{plan_id}/live").text
        assert "Ít nhất 2 xã, phường" in panel and "Chưa đạt" in panel
        assert client.get(f"/api/plans/{plan_id}/coverage").json()["rules"][0]["shortfall"] == 2

        # The service's own validation comes back with the field it names.
        r = client.post(f"/plans/{plan_id}/inspections", headers=live, data={
            "unit_id": ids["UBND xã Long Hồ"], "window_start": "2026-05-08", "window_end": "2026-05-04", "form": "on_site"})
        assert r.status_code == 422 and r.json()["ok"] is False and r.json()["message"]

        for unit in ("UBND xã Long Hồ", "UBND phường Phước Hậu"):
            r = client.post(f"/plans/{plan_id}/inspections", headers=live, data={
                "unit_id": ids[unit], "window_start": "2026-05-04", "window_end": "2026-05-08", "form": "on_site"})
            assert r.status_code == 200, r.text
        panel = client.get(f"/plans/{plan_id}/live").text
        assert "Đạt mọi yêu cầu bao phủ" in panel and "04/05/2026 – 08/05/2026" in panel

        # A planner may not approve: the form is not even offered; the province admin approves by decision.
        assert 'id="approve-form"' not in client.get(plan_url).text
        sign_in(client, "province_admin")
        page = client.get(plan_url).text
        etag = html.unescape(re.search(r'name="etag" value="([^"]+)"', page).group(1))
        r = client.post(f"/plans/{plan_id}/approve", data={"etag": etag, "number": "1732/QĐ-UBND",
                                                           "decision_date": "2026-01-15", "signer": "Chủ tịch UBND tỉnh"},
                        follow_redirects=False)
        assert r.status_code == 303 and "error" not in r.headers["location"], r.headers["location"]
        page = client.get(plan_url).text
        assert "Đã phê duyệt" in page and "1732/QĐ-UBND, 15/01/2026" in page
        # A stale approval (old ETag) is refused by the service and explained, not retried silently.
        r = client.post(f"/plans/{plan_id}/approve", data={"etag": '"1"', "number": "1733/QĐ-UBND",
                                                           "decision_date": "2026-01-16", "signer": "Chủ tịch"},
                        follow_redirects=False)
        assert "error=" in r.headers["location"]

        docx = client.get(f"/plans/{plan_id}/document.docx")
        assert docx.status_code == 200 and docx.content[:2] == b"PK"
        assert "attachment" in docx.headers["content-disposition"]
        listing = client.get("/plans").text
        assert "Kế hoạch kiểm tra công vụ năm 2026" in listing and "1732/QĐ-UBND" in listing
        # Pages stay light for slow connections.
        assert len(page.encode()) < 200_000
