"""The plan as an administrative document (KẾ HOẠCH, Decree 30/2020/NĐ-CP) for shared.documents.render_docx."""
from __future__ import annotations

from datetime import date

from services.plans.planning.domain import FORM_TITLES, PLAN_TYPE_TITLES
from shared.documents import AdministrativeDocument

DEFAULT_RECIPIENTS = ["Bộ Nội vụ (b/c)", "TT Tỉnh ủy, TT HĐND tỉnh (b/c)", "CT, các PCT UBND tỉnh",
                      "Các sở, ban, ngành tỉnh", "UBND các xã, phường", "Lưu: VT, NC"]


def _d(value: str) -> str:
    day = date.fromisoformat(value)
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def plan_document(plan: dict, *, criteria: list[dict], units: dict[str, str], teams: dict[str, dict],
                  today: date) -> AdministrativeDocument:
    """Build the document from a plan view, its checklist criteria, unit names and teams (all already read)."""
    issuer = plan.get("issuer") or {}
    decision = plan.get("decision") or {}
    doc_date = date.fromisoformat(decision["date"]) if decision.get("date") else today
    blocks: list = [("heading", "I. MỤC ĐÍCH, YÊU CẦU")]
    blocks += [("paragraph", p) for p in plan.get("purpose") or []]
    if plan.get("requirements"):
        blocks.append(("bullets", plan["requirements"]))
    blocks.append(("heading", "II. ĐỐI TƯỢNG KIỂM TRA"))
    blocks += [("paragraph", t) for t in plan.get("targets") or []]
    if plan.get("coverage_rules"):
        blocks.append(("bullets", [r["description"] for r in plan["coverage_rules"]]))
    blocks.append(("heading", "III. NỘI DUNG KIỂM TRA"))
    focus = set(plan.get("focus_codes") or [])
    top = [c for c in criteria if c.get("parent_code") is None]
    children: dict[str, list[dict]] = {}
    for c in criteria:
        if c.get("parent_code"):
            children.setdefault(c["parent_code"], []).append(c)
    for i, c in enumerate(top, 1):
        blocks.append(("paragraph", f"{i}. {c['title']}" + (" (trọng tâm)" if c["code"] in focus else "")))
        subs = children.get(c["code"], [])
        if subs:
            blocks.append(("bullets", [s["title"] + (" (trọng tâm)" if s["code"] in focus else "") for s in subs]))
    blocks.append(("heading", "IV. HÌNH THỨC KIỂM TRA"))
    blocks.append(("bullets", [FORM_TITLES[f] for f in plan.get("forms") or []]))
    blocks.append(("heading", "V. THỜI GIAN, ĐƠN VỊ ĐƯỢC KIỂM TRA"))
    rows = [[str(i), units.get(p["unit_id"], p["unit_id"]), f"{_d(p['window_start'])} - {_d(p['window_end'])}",
             FORM_TITLES[p["form"]], teams[p["team_id"]]["name"] if p.get("team_id") in teams else ""]
            for i, p in enumerate(plan["planned_inspections"], 1)]
    blocks.append(("table", ["STT", "Đơn vị được kiểm tra", "Thời gian", "Hình thức", "Đoàn kiểm tra"], rows))
    blocks.append(("heading", "VI. THÀNH PHẦN ĐOÀN KIỂM TRA"))
    for team in teams.values():
        leader = team["leader"]
        people = [f"{leader['name']}" + (f", {leader['role']}" if leader.get("role") else "") + " - Trưởng đoàn"]
        people += [m["name"] + (f", {m['role']}" if m.get("role") else "")
                   + (f" ({units[m['unit_id']]})" if m.get("unit_id") in units else "") for m in team["members"]]
        blocks.append(("paragraph", f"{team['name']} (đơn vị chủ trì: {units.get(team['lead_unit_id'], '')})"))
        blocks.append(("bullets", people))
    return AdministrativeDocument(
        issuing_authority=issuer.get("authority") or "ỦY BAN NHÂN DÂN TỈNH",
        issuing_body=issuer.get("body"),
        number=issuer.get("number") or "     ",
        symbol=issuer.get("symbol") or "KH-UBND",
        place=issuer.get("place") or "",
        date=doc_date,
        kind="KẾ HOẠCH",
        title=f"{PLAN_TYPE_TITLES[plan['type']]} năm {plan['year']}",
        blocks=blocks,
        recipients=issuer.get("recipients") or DEFAULT_RECIPIENTS,
        signer_title=issuer.get("signer_title") or "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH",
        signer_name=issuer.get("signer_name") or decision.get("signer") or "",
    )
