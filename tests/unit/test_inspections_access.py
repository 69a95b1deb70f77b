"""Who sees what, and the dossier CSV format: pure functions, no database."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.inspections.access import check_visible, require_unit_head_of, unit_scope
from services.inspections.dossiers.api import _parse_csv
from shared.auth import Principal
from shared.errors import Forbidden, Invalid, NotFound

UNIT = str(uuid.uuid4())


def who(*roles: str, unit_id: str | None = None) -> Principal:
    return Principal(sub="u1", tenant="vinh-long", roles=frozenset(roles), unit_id=unit_id)


def inspection(**kw) -> dict:
    return {"unit_id": uuid.UUID(UNIT), "surprise": False, "status": "scheduled", **kw}


def test_unit_heads_are_limited_to_their_unit_and_staff_are_not():
    assert unit_scope(who("unit_head", unit_id=UNIT)) == UNIT
    assert unit_scope(who("team_member")) is None
    assert unit_scope(who("unit_head", "viewer", unit_id=UNIT)) is None
    assert unit_scope(who("unit_head")) != UNIT  # a head without a unit sees nothing


def test_embargoed_surprise_inspection_looks_absent_to_the_unit_head():
    head = who("unit_head", unit_id=UNIT)
    with pytest.raises(NotFound):
        check_visible(head, inspection(surprise=True))
    assert check_visible(head, inspection(surprise=True, status="in_progress"))
    assert check_visible(who("team_member"), inspection(surprise=True))
    with pytest.raises(NotFound):
        check_visible(who("unit_head", unit_id=str(uuid.uuid4())), inspection())
    with pytest.raises(NotFound):
        check_visible(who("viewer"), None)


def test_only_the_head_of_the_responsible_unit_reports():
    require_unit_head_of(who("unit_head", unit_id=UNIT), UNIT)
    with pytest.raises(Forbidden):
        require_unit_head_of(who("unit_head", unit_id=str(uuid.uuid4())), UNIT)
    with pytest.raises(Forbidden):
        require_unit_head_of(who("team_leader"), UNIT)


def test_dossier_csv_keeps_vietnamese_and_names_the_bad_line():
    rows = _parse_csv("\ufeffcode,field,received_on,due_on,resolved_on\nHS-01,đất đai,2026-01-05,2026-01-20,\n"
                      "HS-02,xây dựng,2026-01-06,2026-01-21,2026-01-22\n")
    assert rows[0] == {"code": "HS-01", "field": "đất đai", "received_on": date(2026, 1, 5), "due_on": date(2026, 1, 20),
                       "resolved_on": None}
    assert rows[1]["resolved_on"] == date(2026, 1, 22)
    with pytest.raises(Invalid, match="line 3"):
        _parse_csv("code,field,received_on,due_on\nHS-01,đất đai,2026-01-05,2026-01-20\nHS-02,đầu tư,2026-02-10,2026-02-01\n")
    with pytest.raises(Invalid, match="due_on"):
        _parse_csv("code,field,received_on\nHS-01,đất đai,2026-01-05\n")
