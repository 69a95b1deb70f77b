"""The demo province's approved 2026 public-service plan, for the local-stack start script."""
from __future__ import annotations

from datetime import date, timedelta

from services.plans.org.store import units_as_of
from services.plans.planning import service
from shared.errors import Conflict
from shared.runtime import Runtime

AS_OF = date(2026, 1, 1)


def create_demo_plan(runtime: Runtime, tenant: str, *, decision_number: str = "125/QĐ-UBND") -> str:
    """Create and approve a 2026 public-service plan over the tenant's units as of 2026-01-01; returns its id."""
    with runtime.db.tx(tenant) as conn:
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
        team = service.save_team(runtime, conn, tenant=tenant, team={
            "name": "Đoàn kiểm tra công vụ năm 2026", "lead_unit_id": home["id"],
            "leader": {"person_id": "demo-truong-doan", "name": "Nguyễn Văn Hùng", "unit_id": home["id"],
                       "email": "truongdoan@snv.example.vn", "role": "Phó Giám đốc Sở Nội vụ, Trưởng đoàn"},
            "members": [{"person_id": f"demo-thanh-vien-{i}", "name": name, "unit_id": u["id"], "email": None,
                         "role": "Thành viên"}
                        for i, (name, u) in enumerate(zip(["Trần Thị Mai", "Lê Minh Tuấn", "Phạm Thị Hồng Nhung"],
                                                          member_units or [home]))]})
        place = (province["name"].replace("Tỉnh ", "").replace("Thành phố ", "") if province else "")
        plan = service.create_plan(runtime, conn, tenant=tenant, fields={
            "year": 2026, "type": "public_service", "title": "Kế hoạch kiểm tra công vụ năm 2026",
            "purpose": ["Góp phần ngăn ngừa hành vi vi phạm kỷ luật, kỷ cương hành chính; phát hiện, nhân rộng nhân tố mới, "
                        "điển hình tiên tiến; kịp thời chấn chỉnh tồn tại, hạn chế."],
            "targets": ["Các sở, ban, ngành thuộc UBND tỉnh; UBND các xã, phường; doanh nghiệp nhà nước thuộc tỉnh."],
            "checklist_id": checklist_id, "focus_codes": ["KLKC.01", "KLKC.02", "NDD.05"],
            "forms": ["on_site", "online", "surprise"],
            "coverage_rules": [
                {"id": "so-nganh", "description": "Ít nhất 3 sở, ngành tỉnh", "kind": "department",
                 "min_count": len(inspected)},
                {"id": "xa-phuong", "description": "Ít nhất 5 xã, phường", "kind": "commune_committee",
                 "min_count": min(5, len(communes))}],
            "issuer": {"authority": f"ỦY BAN NHÂN DÂN {province['name'].upper()}" if province else "ỦY BAN NHÂN DÂN TỈNH",
                       "place": place or "Việt Nam", "number": decision_number.split("/")[0], "symbol": "KH-UBND"}})
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
