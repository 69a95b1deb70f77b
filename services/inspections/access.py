"""Who sees what: unit heads see only their own unit's records, and no embargoed surprise inspection."""
from __future__ import annotations

from typing import Any

from services.inspections.domain import visible_to_unit_head
from shared.auth import Principal
from shared.errors import Forbidden, NotFound

# Roles that read across the whole tenant; a token with only unit_head is limited to its unit.
TENANT_READERS = frozenset({"central_viewer", "province_admin", "planner", "team_leader",
                            "team_member", "viewer"})
NO_UNIT = "00000000-0000-0000-0000-000000000000"


def unit_scope(principal: Principal) -> str | None:
    """None when the reader sees every unit of the tenant, else the one unit id it is limited to."""
    if principal.roles & TENANT_READERS:
        return None
    return principal.unit_id or NO_UNIT


def check_visible(principal: Principal, inspection: dict[str, Any] | None) -> dict[str, Any]:
    """The inspection if this reader may see it; NotFound otherwise (absence and embargo look alike)."""
    if inspection is None:
        raise NotFound("inspection not found")
    scope = unit_scope(principal)
    if scope is not None and (str(inspection["unit_id"]) != scope
                              or not visible_to_unit_head(surprise=inspection["surprise"], status=inspection["status"])):
        raise NotFound("inspection not found")
    return inspection


def require_unit_head_of(principal: Principal, unit_id: str) -> None:
    """Remediation reports come only from the head of the responsible unit."""
    principal.require("remediation:report")
    if principal.unit_id != str(unit_id):
        raise Forbidden("only the head of the responsible unit may report on this remediation")
