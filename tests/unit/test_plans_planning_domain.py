"""Pure planning rules: checklist trees, workflow transitions, ETags, schedule checks, conflicts of interest."""
from __future__ import annotations

from datetime import date

import pytest

from services.plans.planning import domain
from services.plans.planning.catalogue import default_criteria
from shared.errors import Conflict, Invalid, PreconditionFailed


# -- checklists --------------------------------------------------------------------------------------
def test_default_catalogue_is_a_valid_tree_with_the_seed_contents():
    criteria = domain.validate_criteria(default_criteria())
    codes = {c["code"]: c for c in criteria}
    assert codes["KLKC.01"]["title"] == "Chấp hành thời giờ làm việc"
    assert "02/CT-UBND" in codes["KLKC.02"]["description"] and "26/CT-TTg" in codes["KLKC.02"]["description"]
    assert [codes[c]["title"] for c in ("TTHC.02.01", "TTHC.02.02", "TTHC.02.03")] == [
        "Hồ sơ trễ hẹn lĩnh vực đất đai", "Hồ sơ trễ hẹn lĩnh vực xây dựng", "Hồ sơ trễ hẹn lĩnh vực đầu tư"]
    assert codes["NDD.05"]["title"] == "Kiểm tra ngẫu nhiên hồ sơ cụ thể trên từng lĩnh vực"
    assert "nhũng nhiễu" in codes["VHCS.03"]["title"].lower()
    roots = [c["code"] for c in criteria if c["parent_code"] is None]
    assert roots == ["KLKC", "VHCS", "TTHC", "DVCTT", "TCD", "TCCB", "TCTC", "CQS", "NDD"]


@pytest.mark.parametrize("criteria, field", [
    ([{"code": "A", "title": "Giờ làm việc"}, {"code": "A", "title": "Trùng mã"}], "body.criteria[1].code"),
    ([{"code": "A", "title": "Giờ làm việc", "parent_code": "X"}], "body.criteria[0].parent_code"),
    ([{"code": "A", "title": "a", "parent_code": "B"}, {"code": "B", "title": "b", "parent_code": "A"}],
     "body.criteria[0].parent_code"),
    ([], "body.criteria"),
])
def test_criteria_that_do_not_form_a_tree_are_refused_naming_the_field(criteria, field):
    with pytest.raises(Invalid) as err:
        domain.validate_criteria(criteria)
    assert err.value.field == field


def test_a_published_checklist_version_is_immutable():
    domain.ensure_draft_version(False, "c", 2)
    with pytest.raises(Conflict, match="published"):
        domain.ensure_draft_version(True, "c", 1)


# -- workflow ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("status, action, after", [
    ("draft", "edit", "draft"), ("draft", "approve", "approved"), ("approved", "amend", "amended"),
    ("amended", "amend", "amended"), ("approved", "close", "closed"), ("amended", "close", "closed"),
])
def test_legal_transitions(status, action, after):
    assert domain.transition(status, action) == after


@pytest.mark.parametrize("status, action, reason", [
    ("approved", "edit", "only a draft can be edited"), ("approved", "approve", "only a draft can be approved"),
    ("draft", "amend", "only an approved"), ("draft", "close", "only an approved or amended plan can be closed"),
    ("closed", "amend", "only an approved"), ("closed", "edit", "only a draft"), ("closed", "close", "closed"),
])
def test_illegal_transitions_are_conflicts_with_the_reason(status, action, reason):
    with pytest.raises(Conflict) as err:
        domain.transition(status, action)
    assert reason in err.value.message and f"the plan is {status}" in err.value.message


def test_if_match_rules():
    domain.check_if_match('"3"', 3, required=True)
    domain.check_if_match('W/"3", "4"', 3, required=True)
    domain.check_if_match("*", 9, required=True)
    domain.check_if_match(None, 3, required=False)
    with pytest.raises(PreconditionFailed):
        domain.check_if_match('"2"', 3, required=False)
    with pytest.raises(domain.PreconditionRequired) as err:
        domain.check_if_match(None, 3, required=True)
    assert err.value.status == 428


def test_decision_numbers():
    domain.validate_decision("1732/QĐ-UBND", date(2023, 7, 20), 2023)
    domain.validate_decision("45/QĐ-UBND-NC", date(2022, 12, 30), 2023)
    with pytest.raises(Invalid) as err:
        domain.validate_decision("5712/UBND-NC", date(2023, 12, 18), 2023)
    assert err.value.field == "body.number"
    with pytest.raises(Invalid) as err:
        domain.validate_decision("1/QĐ-UBND", date(2024, 1, 2), 2023)
    assert err.value.field == "body.date"


# -- schedule ----------------------------------------------------------------------------------------
def test_inspection_windows_and_forms():
    ok = dict(window_start=date(2026, 3, 2), window_end=date(2026, 3, 6), form="on_site", year=2026,
              forms=["on_site", "surprise"])
    domain.validate_inspection(**ok)
    for change, field in [({"window_end": date(2026, 3, 1)}, "body.window_end"),
                          ({"window_end": date(2027, 1, 5)}, "body.window_start"),
                          ({"form": "online"}, "body.form")]:
        with pytest.raises(Invalid) as err:
            domain.validate_inspection(**{**ok, **change})
        assert err.value.field == field
    domain.validate_inspection(**{**ok, "form": "self", "forms": []})  # a plan without forms restricts none


def test_coverage_rules_need_unique_ids_and_a_selector():
    domain.validate_coverage_rules([{"id": "r1", "description": "12 huyện", "level": 2, "kind": "district_committee"}])
    with pytest.raises(Invalid, match="twice"):
        domain.validate_coverage_rules([{"id": "r", "description": "a", "level": 2}, {"id": "r", "description": "b", "level": 3}])
    with pytest.raises(Invalid, match="level or a kind"):
        domain.validate_coverage_rules([{"id": "r", "description": "a"}])
    with pytest.raises(Invalid, match="per_level"):
        domain.validate_coverage_rules([{"id": "r", "description": "a", "level": 2, "per_level": 3, "min_count": 1}])


def test_team_lists_a_person_once():
    leader = {"person_id": "p1", "name": "Nguyễn Văn An"}
    domain.validate_team(leader, [{"person_id": "p2", "name": "Trần Thị Bình"}])
    with pytest.raises(Invalid) as err:
        domain.validate_team(leader, [{"person_id": "p2", "name": "Bình"}, {"person_id": "p1", "name": "An"}])
    assert err.value.field == "body.members[1].person_id"


# -- conflicts of interest -----------------------------------------------------------------------------
PARENTS = {"tinh": None, "so-noi-vu": "tinh", "huyen-cau-ke": "tinh", "xa-an-phu-tan": "huyen-cau-ke",
           "mot-cua-an-phu-tan": "xa-an-phu-tan", "so-tai-chinh": "tinh"}
TEAM = {"id": "t1", "leader": {"person_id": "p1", "name": "Nguyễn Văn An", "unit_id": "so-noi-vu"},
        "members": [{"person_id": "p2", "name": "Trần Thị Bình", "unit_id": "so-tai-chinh"},
                    {"person_id": "p3", "name": "Lê Văn Cường", "unit_id": "mot-cua-an-phu-tan"},
                    {"person_id": "p4", "name": "Phạm Thị Dung", "unit_id": None}]}


def test_member_working_in_the_inspected_unit_or_under_it_is_flagged():
    inspections = [{"id": "i1", "unit_id": "so-tai-chinh", "team_id": "t1"},
                   {"id": "i2", "unit_id": "huyen-cau-ke", "team_id": "t1"},
                   {"id": "i3", "unit_id": "xa-an-phu-tan", "team_id": "t1"},
                   {"id": "i4", "unit_id": "so-noi-vu", "team_id": None}]
    found = domain.conflicts_of_interest(inspections, {"t1": TEAM}, PARENTS)
    assert [(c.inspection_id, c.person_id, c.reason) for c in found] == [
        ("i1", "p2", "works_in_unit"), ("i2", "p3", "works_in_subunit"), ("i3", "p3", "works_in_subunit")]


def test_no_conflict_when_members_work_elsewhere_and_cycles_do_not_hang():
    assert domain.conflicts_of_interest([{"id": "i", "unit_id": "so-tai-chinh", "team_id": "t1"}],
                                        {"t1": {**TEAM, "members": []}}, PARENTS) == []
    assert domain.conflicts_of_interest([{"id": "i", "unit_id": "x", "team_id": "t1"}],
                                        {"t1": {**TEAM, "members": [{"person_id": "p", "name": "n", "unit_id": "a"}]}},
                                        {"a": "b", "b": "a"}) == []


def test_schedule_changes_between_versions():
    assert domain.schedule_changes(["a", "b", "c"], ["b", "c", "d", "e"]) == (["d", "e"], ["a"])
