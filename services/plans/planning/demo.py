"""The demo province's approved 2026 public-service plan, for the local-stack start script."""
from __future__ import annotations

import re
from datetime import date, timedelta

from services.plans.org.store import units_as_of
from services.plans.planning import service, store
from services.plans.planning.service import install_default_checklist  # noqa: F401  (the start script imports it here)
from shared.errors import Conflict
from shared.runtime import Runtime

AS_OF = date(2026, 1, 1)
TITLE = "Kế hoạch kiểm tra công vụ năm 2026"
TEAM = "Đoàn kiểm tra công vụ năm 2026"


def issuer_of(province_name: str) -> tuple[str, str]:
    """('ỦY BAN NHÂN DÂN TỈNH VĨNH LONG', 'Vĩnh Long') from a unit name such as 'UBND tỉnh Vĩnh Long'."""
    rest = re.sub(r"^(UBND|[UỦ]y ban nhân dân)\s+", "", province_name.strip(), flags=re.IGNORECASE)
    place = re.sub(r"^(tỉnh|thành phố)\s+", "", rest, flags=re.IGNORECASE)
    if place == rest:
        rest = f"tỉnh {place}"
    return f"ỦY BAN NHÂN DÂN {rest.upper()}", place


def create_demo_plan(runtime: Runtime, tenant: str, *, decision_number: str = "125/QĐ-UBND") -> str:
    """Create and approve a 2026 public-service plan over the tenant's units as of 2026-01-01; returns its id.

    Idempotent: a second call finds the plan by its year and title.
    """
    with runtime.db.tx(tenant) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('plans.demo_plan:' || %s))", [tenant])
        existing = store.find_plan(conn, tenant=tenant, year=2026, title=TITLE)
        if existing:
            return str(existing["id"])
        units = units_as_of(conn, tenant, AS_OF)
        departments = [u for u in units if u["kind"] == "department"]
        communes = [u for u in units if u["kind"] == "commune_committee"]
        if not departments or not communes:
            raise Conflict("the demo plan needs departments and communes in the unit tree as of 2026-01-01; seed units first")
        province = next((u for u in units if u["level"] == 1), None)
        home = next((u for u in departments if "Nội vụ" in u["name"]), departments[0])
        others = [u for u in departments if u["id"] != home["id"]]
        # Members come from three departments; the inspected ones are others, so the demo has no conflict of interest.
        member_units, inspected = others[:3], (others[3:6] or others[:3] or [home])
        checklist_id, _ = service.install_default(runtime, conn, tenant=tenant)
        found = store.find_team(conn, tenant=tenant, name=TEAM)
        team = service.team_view(found) if found else service.save_team(runtime, conn, tenant=tenant, team={
            "name": TEAM, "lead_unit_id": home["id"],
            "leader": {"person_id": "demo-truong-doan", "name": "Nguyễn Văn Hùng", "unit_id": home["id"],
                       "email": "truongdoan@snv.example.vn", "role": "Phó Giám đốc Sở Nội vụ, Trưởng đoàn"},
            "members": [{"person_id": f"demo-thanh-vien-{i}", "name": name, "unit_id": u["id"], "email": None,
                         "role": "Thành viên"}
                        for i, (name, u) in enumerate(zip(["Trần Thị Mai", "Lê Minh Tuấn", "Phạm Thị Hồng Nhung"],
                                                          member_units or [home]))]})
        authority, place = issuer_of(province["name"]) if province else ("ỦY BAN NHÂN DÂN TỈNH", "")
        plan = service.create_plan(runtime, conn, tenant=tenant, fields={
            "year": 2026, "type": "public_service", "title": TITLE,
            "purpose": ["Góp phần ngăn ngừa hành vi vi phạm kỷ luật, kỷ cương hành chính; phát hiện, nhân rộng nhân tố mới, "
                        "điển hình tiên tiến; kịp thời chấn chỉnh tồn tại, hạn chế."],
            "targets": ["Các sở, ban, ngành thuộc UBND tỉnh; UBND các xã, phường; doanh nghiệp nhà nước thuộc tỉnh."],
            "checklist_id": checklist_id, "focus_codes": ["KLKC.01", "KLKC.02", "NDD.05"],
            "forms": ["on_site", "online", "surprise"],
            "coverage_rules": [
                {"id": "so-nganh", "description": f"Ít nhất {len(inspected)} sở, ngành tỉnh", "kind": "department",
                 "min_count": len(inspected)},
                {"id": "xa-phuong", "description": "Ít nhất 5 xã, phường", "kind": "commune_committee",
                 "min_count": min(5, len(communes))}],
            "issuer": {"authority": authority, "place": place, "number": "18", "symbol": "KH-UBND"}})
        plan_id = str(plan["id"])
        start = date(2026, 3, 2)
        for i, unit in enumerate(inspected + communes[:5]):
            window = start + timedelta(weeks=2 * i)
            service.add_inspection(runtime, conn, tenant=tenant, plan_id=plan_id, if_match=None, item={
                "unit_id": unit["id"], "window_start": window, "window_end": window + timedelta(days=4),
                "form": "surprise" if i % 4 == 3 else "on_site", "team_id": team["id"], "note": None})
        service.approve_plan(runtime, conn, tenant=tenant, plan_id=plan_id, if_match=None,
                             decision={"number": decision_number, "date": date(2026, 1, 15), "signer": "Chủ tịch UBND tỉnh"})
        return plan_id
