"""One inspection carried through the console's pages against all four real services and the real broker:
approved plan → today's list → checklist, finding (resent safely) with a photo, dossier check → conclusion →
the unit head reports with evidence → the leader verifies → inbox and dashboard show it."""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from fastapi.testclient import TestClient

from services.analytics.bootstrap import SERVICE as ANALYTICS
from services.console.testing import console_app
from services.inspections.bootstrap import SERVICE as INSPECTIONS
from services.notifications.bootstrap import SERVICE as NOTIFICATIONS
from services.plans.bootstrap import SERVICE as PLANS
from shared.events import CATALOGUE
from shared.kafka import ensure_topics
from tests.support.waiting import wait_until

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
LEADER = {"person_id": "demo-truong-doan", "name": "Nguyễn Văn Hùng"}


def approved_plan(plans, tenant: str, today: date) -> dict[str, str]:
    """Units, a team led by the demo team leader, the default checklist and an approved plan with one inspection."""
    admin = plans.auth(tenant, "province_admin")
    ids: dict[str, str] = {}
    for name, kind, parent in [("UBND tỉnh Vĩnh Long", "province_committee", None), ("Sở Nội vụ", "department", "p"),
                               ("UBND xã Long Hồ", "commune_committee", "p")]:
        r = plans.client.post("/v1/units", headers=admin, json={"name": name, "level": 1 if parent is None else 2,
                                                                "kind": kind, "valid_from": "2025-07-01",
                                                                "parent_id": ids.get(parent)})
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
        ids.setdefault("p", ids[name])
    team = plans.client.post("/v1/teams", headers=admin, json={"name": "Đoàn kiểm tra công vụ số 1",
                                                               "lead_unit_id": ids["Sở Nội vụ"], "leader": LEADER})
    assert team.status_code == 201, team.text
    checklist = plans.client.post("/v1/checklists/default", headers=admin).json()
    plan = plans.client.post("/v1/plans", headers=admin, json={"year": today.year, "type": "public_service",
                                                               "title": "Kế hoạch kiểm tra công vụ",
                                                               "checklist_id": checklist["id"]})
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    r = plans.client.post(f"/v1/plans/{plan_id}/inspections", headers={**admin, "If-Match": plan.headers["etag"]}, json={
        "unit_id": ids["UBND xã Long Hồ"], "window_start": max(today - timedelta(days=1), date(today.year, 1, 1)).isoformat(),
        "window_end": min(today + timedelta(days=1), date(today.year, 12, 31)).isoformat(), "form": "on_site", "team_id": team.json()["id"]})
    assert r.status_code == 201, r.text
    r = plans.client.post(f"/v1/plans/{plan_id}/approve", headers={**admin, "If-Match": r.headers["etag"]},
                          json={"decision": {"number": "1732/QĐ-UBND", "date": today.isoformat(), "signer": "Chủ tịch"}})
    assert r.status_code == 200, r.text
    return {**ids, "checklist": checklist["id"], "criterion": checklist["criteria"][-1]["code"]}


def sign_in(client: TestClient, role: str, unit_id: str = "") -> None:
    assert client.post("/login/demo", data={"role": role, "unit_id": unit_id}, follow_redirects=False).status_code == 303


def test_inspection_from_approved_plan_to_verified_remediation(service_harness, tenant, issuer):
    harnesses = {d.name: service_harness(d) for d in (PLANS, INSPECTIONS, NOTIFICATIONS, ANALYTICS)}
    settings = harnesses["plans"].settings
    ensure_topics(settings, [settings.topic_prefix + f for f in CATALOGUE.families()])
    for h in harnesses.values():
        h.start_relay()
        # Only groups that handle something: an empty subscription is refused by the broker client.
        h.start_consumers(*[g for g, handlers in h.definition.consumers.items() if handlers(h.runtime)])
    today = date.today()
    ids = approved_plan(harnesses["plans"], tenant, today)
    inspections = harnesses["inspections"]
    member = inspections.auth(tenant, "team_member")
    found = wait_until(lambda: inspections.client.get("/v1/inspections", headers=member).json()["items"], timeout=60,
                       message="inspection.scheduled to reach the inspections service")
    iid = found[0]["id"]

    app = console_app({name: h.client.app for name, h in harnesses.items()}, issuer, tenant)
    with TestClient(app) as client:
        sign_in(client, "team_leader")
        listing = client.get("/inspections").text
        today_section = listing.split('id="today-h"')[1].split("</section>")[0]
        assert "UBND xã Long Hồ" in today_section and f"/inspections/{iid}" in today_section

        url = f"/inspections/{iid}"
        assert client.post(f"{url}/start", follow_redirects=False).status_code == 303
        page = client.get(url).text
        assert "Đang kiểm tra" in page and 'capture="environment"' in page and ids["criterion"] in page

        r = client.post(f"{url}/results", data={"id": str(uuid.uuid4()), "criterion_code": ids["criterion"],
                                                "result": "not_met", "note": "Công chức đến muộn 30 phút"},
                        follow_redirects=False)
        assert "error" not in r.headers["location"], r.headers["location"]

        # The offline queue's request, sent twice (the connection dropped before the answer): one finding.
        finding = {"id": str(uuid.uuid4()), "criterion_code": ids["criterion"], "severity": "moderate",
                   "description": "Bộ phận một cửa không niêm yết thủ tục hành chính",
                   "officials": [{"name": "Nguyễn Thị Lan", "position": "Công chức Bộ phận một cửa"}]}
        first = client.post(f"/api/inspections/{iid}/findings", json=finding)
        again = client.post(f"/api/inspections/{iid}/findings", json=finding)
        assert (first.status_code, again.status_code) == (201, 200), (first.text, again.text)
        photo_id = str(uuid.uuid4())
        for expected in (201, 200):
            r = client.post(f"/api/findings/{finding['id']}/evidence", data={"id": photo_id},
                            files={"file": ("anh-hien-truong.png", PNG, "image/png")})
            assert r.status_code == expected, r.text
        assert client.post(f"/api/inspections/{iid}/findings", json={**finding, "id": "x"}).status_code == 422
        page = client.get(url).text
        assert len(re.findall(r'data-finding="' + finding["id"], page)) == 1
        assert "Nguyễn Thị Lan (Công chức Bộ phận một cửa)" in page  # the team may read the officials named

        r = client.post(f"{url}/assessments", follow_redirects=False, data={
            "id": str(uuid.uuid4()), "official_ref": "Ông Trần Văn Tư, Chủ tịch UBND xã", "position": "head",
            "task_execution": "good", "processing_time": "satisfactory", "quality": "good", "notes": "Chủ động tham mưu"})
        assert "error" not in r.headers["location"], r.headers["location"]
        assert "Ông Trần Văn Tư, Chủ tịch UBND xã</strong> (Người đứng đầu)" in client.get(url).text
        evidence = re.search(r'/evidence/([0-9a-f-]{36})', page).group(1)
        assert client.get(f"/evidence/{evidence}").content == PNG

        # The unit's one-stop dossier list, uploaded as CSV by the team (a bad file is explained, not swallowed).
        bad = client.post(f"{url}/dossiers", files={"file": ("ho-so.csv", "mã,lĩnh vực\n1,2\n".encode(), "text/csv")},
                          follow_redirects=False)
        assert "error=" in bad.headers["location"]
        csv = "code,field,received_on,due_on,resolved_on\nHS-001,Đất đai,2026-03-02,2026-03-06,2026-03-12\n"
        r = client.post(f"{url}/dossiers", files={"file": ("ho-so.csv", csv.encode(), "text/csv")}, follow_redirects=False)
        assert "error" not in r.headers["location"], r.headers["location"]
        assert client.post(f"{url}/dossier-sample", data={"size": "1", "id": str(uuid.uuid4())},
                           follow_redirects=False).status_code == 303
        r = client.post(f"{url}/dossier-checks", data={"dossier_code": "HS-001", "note": "Trễ hẹn, chưa xin lỗi",
                                                        "id": str(uuid.uuid4())}, follow_redirects=False)
        assert "error" not in r.headers["location"], r.headers["location"]
        assert "Trễ hẹn, chưa xin lỗi" in client.get(url).text

        r = client.post(f"{url}/minutes", follow_redirects=False, data={
            "id": str(uuid.uuid4()), "held_on": today.isoformat(), "place": "Trụ sở UBND xã Long Hồ",
            "team_summary": "Đoàn đã kiểm tra 12 nội dung", "unit_response": "Đơn vị thống nhất với kết quả",
            "disagreement": "Đơn vị chưa thống nhất về số hồ sơ trễ hẹn"})
        assert "error" not in r.headers["location"], r.headers["location"]
        assert "Đơn vị chưa thống nhất về số hồ sơ trễ hẹn" in client.get(url).text

        r = client.post(f"{url}/conclusion", follow_redirects=False, data={
            "id": str(uuid.uuid4()), "number": "15/TB-SNV", "doc_date": today.isoformat(), "place": "Vĩnh Long",
            "signer_title": "GIÁM ĐỐC", "signer_name": "Nguyễn Văn Hùng", "summary": "Đơn vị cơ bản chấp hành tốt.",
            "rec_count": "1", "rec_id_0": str(uuid.uuid4()), "rec_finding_0": finding["id"], "rec_kind_0": "correction",
            "rec_text_0": "Niêm yết đầy đủ thủ tục hành chính tại Bộ phận một cửa", "rec_days_0": "10"})
        assert "error" not in r.headers["location"], r.headers["location"]
        page = client.get(url).text
        assert "Đã kết luận" in page and "Niêm yết đầy đủ thủ tục hành chính" in page
        remediation = re.search(r'/remediations/([0-9a-f-]{36})', page).group(1)
        assert client.get(f"{url}/conclusion.docx").content[:2] == b"PK"

        # A surprise inspection on a citizen's report, against the province's published checklist.
        r = client.post("/inspections", follow_redirects=False, data={
            "id": str(uuid.uuid4()), "unit_id": ids["UBND xã Long Hồ"], "citizen_report_ref": "PA-2026-117",
            "reason": "Người dân phản ánh công chức địa chính gây phiền hà khi nhận hồ sơ"})
        assert r.status_code == 303 and "error" not in r.headers["location"], r.headers["location"]
        page = client.get(r.headers["location"]).text
        assert "Đột xuất" in page and "Đã lên lịch" in page and ids["criterion"] in page

        # The leader extends the deadline with a reason; the history shows it.
        later = today + timedelta(days=60)
        r = client.post(f"/remediations/{remediation}/extensions", follow_redirects=False,
                        data={"id": str(uuid.uuid4()), "new_deadline": later.isoformat(), "reason": "Chờ sửa quy chế"})
        assert "error" not in r.headers["location"], r.headers["location"]
        page = client.get(f"/remediations/{remediation}").text
        assert later.strftime("%d/%m/%Y") in page and "Gia hạn" in page

        # The unit head sees the remediation with its deadline, and the finding; reports with evidence.
        sign_in(client, "unit_head", ids["UBND xã Long Hồ"])
        page = client.get("/remediations").text
        assert "Chấn chỉnh: Niêm yết đầy đủ" in page and "còn " in page
        assert "không niêm yết thủ tục hành chính" in page
        assert "Nguyễn Thị Lan" not in page  # officials' names are personal data the unit head does not get
        r = client.post(f"/remediations/{remediation}/reports", follow_redirects=False,
                        data={"id": str(uuid.uuid4()), "progress": "done", "note": "Đã niêm yết công khai 45 thủ tục"},
                        files=[("files", ("bien-ban-niem-yet.png", PNG, "image/png"))])
        assert "error" not in r.headers["location"], r.headers["location"]
        page = client.get(f"/remediations/{remediation}").text
        assert "Đã niêm yết công khai 45 thủ tục" in page and "bien-ban-niem-yet.png" in page
        assert "Đơn vị đã báo cáo" in page

        sign_in(client, "team_leader")
        r = client.post(f"/remediations/{remediation}/verification", data={"outcome": "accepted", "id": str(uuid.uuid4())},
                        follow_redirects=False)
        assert "error" not in r.headers["location"], r.headers["location"]
        assert "Đã xác nhận" in client.get(f"/remediations/{remediation}").text

        # The leader's inbox filled from the events (scheduled, started, violation recorded, reported).
        inbox = wait_until(lambda: (p := client.get("/inbox").text).count('class="card unread"') >= 2 and p,
                           timeout=60, message="in-app notifications for the team leader")
        assert 'id="unread-count"' in inbox
        item = re.search(r'action="/inbox/([0-9a-f-]{36})/read"', inbox).group(1)
        client.post(f"/inbox/{item}/read")
        # (more messages may arrive meanwhile, so the check is on this message, not on the count)
        assert f'action="/inbox/{item}/read"' not in client.get("/inbox").text

        # The dashboard counts the violation by criterion once analytics has read the events.
        sign_in(client, "province_admin")

        def counted():
            page = client.get(f"/dashboard?year={today.year}").text
            section = page.split('id="dash-violations"')[1].split("</section>")[0]
            return "<td" in section and page
        page = wait_until(counted, timeout=60, message="analytics to count the violation")
        assert f"/charts/violations.svg?year={today.year}" in page
        chart = client.get(f"/charts/violations.svg?year={today.year}&group_by=criterion")
        assert chart.status_code == 200 and b"<svg" in chart.content
        assert client.get("/charts/rebuild.svg").status_code == 404  # only dashboard charts are proxied
        export = client.get(f"/dashboards/violations.csv?year={today.year}&group_by=criterion")
        assert export.status_code == 200 and "Số vi phạm" in export.content.decode("utf-8-sig")
        xlsx = client.get(f"/dashboards/violations.xlsx?year={today.year}")
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
        assert f"/reports/{today.year}/annual.docx" in page
        report = client.get(f"/reports/{today.year}/annual.docx")
        assert report.status_code == 200 and report.content[:2] == b"PK"

        # The Ministry compares provinces (this one by its name from the tree), then opens one.
        sign_in(client, "central_viewer")
        page = client.get(f"/dashboard?year={today.year}").text
        provinces = page.split('id="dash-provinces"')[1].split("</section>")[0]
        assert "UBND tỉnh Vĩnh Long" in provinces and 'id="dash-violations"' not in page
        assert f'<option value="{tenant}"' in page
        page = client.get(f"/dashboard?year={today.year}&tenant={tenant}").text
        assert "<td" in page.split('id="dash-violations"')[1].split("</section>")[0]
        # Read-only: the central viewer is offered no plan form.
        assert 'action="/plans"' not in client.get("/plans").text


def test_pages_stay_light_and_the_service_worker_covers_the_site(tenant, issuer):
    with TestClient(console_app({}, issuer, tenant)) as client:
        sw = client.get("/sw.js")
        assert sw.status_code == 200 and sw.headers["service-worker-allowed"] == "/"
        assert "console-v1" in sw.text
        total = sum(len(client.get(f"/static/{name}").content) for name in ("app.css", "app.js"))
        login = client.get("/login", headers={"Accept-Encoding": "gzip"})
        assert login.headers.get("content-encoding") == "gzip"
        assert "script-src 'self';" in login.headers["content-security-policy"]
        total += len(login.content)
        assert total < 200_000
        # Writes from another site are refused before they reach any service.
        r = client.post("/login/demo", data={"role": "planner"}, headers={"Origin": "https://evil.example"})
        assert r.status_code == 403
