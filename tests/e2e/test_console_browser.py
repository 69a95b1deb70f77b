"""The console in headless Chromium (Debian's package) through a whole inspection: the planner completes the
schedule with the live coverage check, the province admin approves, the team leader records a finding on a
360-pixel phone while offline and it syncs when the connection returns, the unit head reports the remediation,
and the dashboard counts the violation. Screenshots go to test-artifacts/console/."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.console.testing import Server, console_app
from services.inspections.bootstrap import SERVICE as INSPECTIONS
from services.notifications.bootstrap import SERVICE as NOTIFICATIONS
from services.plans.bootstrap import SERVICE as PLANS
from shared.events import CATALOGUE
from shared.kafka import ensure_topics
from tests.support.waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")
LEADER = {"person_id": "demo-truong-doan", "name": "Nguyễn Văn Hùng"}


def draft_plan(plans, tenant: str, today: date) -> dict[str, str]:
    """Units, a team, the default checklist and a draft plan whose coverage rule is not met yet."""
    admin = plans.auth(tenant, "province_admin")
    ids: dict[str, str] = {}
    for name, kind, parent in [("UBND tỉnh Vĩnh Long", "province_committee", None), ("Sở Nội vụ", "department", "p"),
                               ("UBND xã Long Hồ", "commune_committee", "p"), ("UBND phường Phước Hậu", "commune_committee", "p")]:
        r = plans.client.post("/v1/units", headers=admin, json={"name": name, "level": 1 if parent is None else 2, "kind": kind,
                                                                "valid_from": "2025-07-01", "parent_id": ids.get(parent)})
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
        ids.setdefault("p", ids[name])
    team = plans.client.post("/v1/teams", headers=admin, json={"name": "Đoàn kiểm tra công vụ số 1",
                                                               "lead_unit_id": ids["Sở Nội vụ"], "leader": LEADER})
    assert team.status_code == 201, team.text
    checklist = plans.client.post("/v1/checklists/default", headers=admin).json()
    plan = plans.client.post("/v1/plans", headers=admin, json={
        "year": today.year, "type": "public_service", "title": f"Kế hoạch kiểm tra công vụ năm {today.year}",
        "checklist_id": checklist["id"], "coverage_rules": [
            {"id": "xa", "description": "Ít nhất 1 xã, phường", "kind": "commune_committee", "min_count": 1}]})
    assert plan.status_code == 201, plan.text
    last = checklist["criteria"][-1]
    return {**ids, "plan": plan.json()["id"], "criterion": last["code"], "criterion_title": last["title"]}


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium absent): apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def sign_in(page, base: str, role: str, unit: str | None = None) -> None:
    page.goto(f"{base}/login")
    page.check(f"input[name=role][value={role}]")
    if unit:
        page.select_option("#unit_id", label=unit)
    page.click("form[action='/login/demo'] button[type=submit]")
    page.wait_for_load_state()


UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name || e.id)"""


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.timeout(240)
def test_whole_inspection_in_the_browser(service_harness, tenant, issuer, browser):
    harnesses = {d.name: service_harness(d) for d in (PLANS, INSPECTIONS, NOTIFICATIONS, ANALYTICS)}
    settings = harnesses["plans"].settings
    ensure_topics(settings, [settings.topic_prefix + f for f in CATALOGUE.families()])
    for h in harnesses.values():
        h.start_relay()
        # Only groups that handle something: an empty subscription is refused by the broker client.
        h.start_consumers(*[g for g, handlers in h.definition.consumers.items() if handlers(h.runtime)])
    today = date.today()
    ids = draft_plan(harnesses["plans"], tenant, today)
    server = Server(console_app({n: h.client.app for n, h in harnesses.items()}, issuer, tenant)).start()
    base = server.url
    try:
        desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
        desk.set_default_timeout(20_000)
        page = desk.new_page()
        js_errors: list[str] = []
        page.on("pageerror", lambda exc: js_errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and "Content Security Policy" in msg.text
                and js_errors.append(msg.text))

        # The planner completes the schedule; the coverage panel turns from "not met" to "met" without a reload.
        sign_in(page, base, "planner")
        page.goto(f"{base}/plans/{ids['plan']}")
        assert page.inner_text("#coverage-state") == "Chưa đạt"
        assert page.evaluate(UNLABELLED) == []
        # Over the unit tree: pick the window, then "+ add" next to the commune.
        page.fill("#t-from", max(today - timedelta(days=1), date(today.year, 1, 1)).isoformat())
        page.fill("#t-to", min(today + timedelta(days=1), date(today.year, 12, 31)).isoformat())
        page.click("button[aria-label='Thêm: UBND xã Long Hồ']")
        page.wait_for_selector("#coverage-state:has-text('Đạt mọi yêu cầu bao phủ')")
        assert "UBND xã Long Hồ" in page.inner_text("#schedule")
        assert page.locator("#tree li.scheduled", has_text="UBND xã Long Hồ").count() == 1
        shot(page, "1-planner-coverage-met")

        # The province admin approves by decision.
        page.click("form[action='/logout'] button")
        sign_in(page, base, "province_admin")
        page.goto(f"{base}/dashboard?year={today.year}")
        assert "<table" not in page.inner_html("#dash-violations")
        page.goto(f"{base}/plans/{ids['plan']}")
        page.fill("#d-number", "1732/QĐ-UBND")
        page.fill("#d-date", today.isoformat())
        page.click("#approve-form button[type=submit]")
        page.wait_for_selector("#plan-status:has-text('Đã phê duyệt')")
        shot(page, "2-admin-approved")

        member = harnesses["inspections"].auth(tenant, "team_member")
        wait_until(lambda: harnesses["inspections"].client.get("/v1/inspections", headers=member).json()["items"],
                   timeout=60, message="inspection.scheduled to reach the inspections service")

        # The team leader on a phone: today's inspection, start, record a finding with a photo while offline.
        phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                    has_touch=True, locale="vi-VN")
        phone.set_default_timeout(20_000)
        mobile = phone.new_page()
        mobile.on("pageerror", lambda exc: js_errors.append(str(exc)))
        mobile.on("console", lambda msg: msg.type == "error" and "Content Security Policy" in msg.text
                  and js_errors.append(msg.text))
        sign_in(mobile, base, "team_leader")
        mobile.click("section[aria-labelledby=today-h] a:has-text('UBND xã Long Hồ')")
        mobile.click("#start")
        mobile.wait_for_selector("#inspection-status:has-text('Đang kiểm tra')")
        assert mobile.evaluate("document.documentElement.scrollWidth") <= 360
        assert mobile.evaluate(UNLABELLED) == []
        # Keyboard users reach the content first: the skip link is the first stop.
        mobile.keyboard.press("Tab")
        assert mobile.evaluate("document.activeElement.getAttribute('href')") == "#main"

        phone.set_offline(True)
        mobile.select_option("#f-crit", value=ids["criterion"])
        mobile.select_option("#f-sev", value="serious")
        mobile.fill("#f-desc", "Công chức Bộ phận một cửa vắng mặt trong giờ làm việc, không có lý do")
        mobile.fill("#f-oname", "Lê Văn Tám")
        mobile.fill("#f-opos", "Công chức tư pháp - hộ tịch")
        mobile.set_input_files("#f-photo", files=[{"name": "hien-truong.png", "mimeType": "image/png", "buffer": PNG}])
        mobile.click("#finding-form button[type=submit]")
        mobile.wait_for_selector("#pending-list li")
        assert "sẽ tự gửi khi có mạng" in mobile.inner_text("#finding-status")
        iid = urlsplit(mobile.url).path.rsplit("/", 1)[1]
        leader = harnesses["inspections"].auth(tenant, "team_leader")
        assert harnesses["inspections"].client.get(f"/v1/inspections/{iid}/findings", headers=leader).json()["items"] == []
        shot(mobile, "3-phone-offline-queued")

        # Still offline, the page reloads from the service worker's cache and the queued finding is still there.
        cached = mobile.evaluate("""async () => { await navigator.serviceWorker.ready;
            const hit = await caches.match(location.href); return !!hit; }""")
        assert cached, "the service worker did not cache the inspection page"
        mobile.reload()
        mobile.wait_for_selector("#pending-list li")
        assert mobile.locator("#finding-form").count() == 1

        phone.set_offline(False)
        mobile.wait_for_selector("#finding-list [data-finding]", timeout=30_000)
        expect(mobile.locator("#pending-list li")).to_have_count(0)
        findings = harnesses["inspections"].client.get(f"/v1/inspections/{iid}/findings", headers=leader).json()["items"]
        assert len(findings) == 1 and findings[0]["description"].startswith("Công chức Bộ phận một cửa vắng mặt")
        assert [e["filename"] for e in findings[0]["evidence"]] == ["hien-truong.png"]
        assert findings[0]["officials"] == [{"name": "Lê Văn Tám", "position": "Công chức tư pháp - hộ tịch"}]
        shot(mobile, "4-phone-synced")

        # The conclusion, with a correction for the unit.
        mobile.reload()
        mobile.fill("#k-num", "15/TB-SNV")
        mobile.fill("#k-sum", "Đơn vị cơ bản chấp hành tốt kỷ luật, kỷ cương hành chính; còn tồn tại nêu trên.")
        mobile.fill("#rt-0", "Chấn chỉnh việc chấp hành thời giờ làm việc tại Bộ phận một cửa")
        mobile.click("#conclusion-form button[type=submit]")
        mobile.wait_for_selector("#inspection-status:has-text('Đã kết luận')")
        shot(mobile, "5-phone-concluded")
        phone.close()

        # The unit head reports the remediation with evidence.
        page.click("form[action='/logout'] button")
        sign_in(page, base, "unit_head", unit="UBND xã Long Hồ")
        page.click("a:has-text('Chấn chỉnh việc chấp hành thời giờ')")
        page.check("input[name=progress][value=done]")
        page.fill("#r-note", "Đã tổ chức kiểm điểm, niêm yết nội quy giờ làm việc")
        page.set_input_files("#r-files", files=[{"name": "bien-ban-kiem-diem.png", "mimeType": "image/png", "buffer": PNG}])
        page.click("#report-form button[type=submit]")
        page.wait_for_selector("#remediation-status:has-text('Đơn vị đã báo cáo')")
        assert "bien-ban-kiem-diem.png" in page.inner_text("main")
        shot(page, "6-unit-head-reported")

        # The dashboard now counts the violation.
        page.click("form[action='/logout'] button")
        sign_in(page, base, "province_admin")

        def counted() -> bool:
            page.goto(f"{base}/dashboard?year={today.year}")
            return "<table" in page.inner_html("#dash-violations")
        wait_until(counted, timeout=60, interval=1, message="the dashboard to count the violation")
        assert ids["criterion_title"] in page.inner_text("#dash-violations table")
        # (the page's CSP forbids string evaluation, so the wait polls from here)
        wait_until(lambda: page.evaluate("() => [...document.querySelectorAll('#dash-violations img')]"
                                         ".every(i => i.complete && i.naturalWidth > 0)"), timeout=20)
        shot(page, "7-dashboard-updated")
        assert js_errors == []
        desk.close()
    finally:
        server.stop()
