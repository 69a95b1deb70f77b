"""The temporal unit tree's rules, pure: as-of lookup, rename, move, merge, dissolve, and what they refuse."""
from __future__ import annotations

from datetime import date

import pytest

from services.plans.org import domain
from services.plans.org.domain import Version
from shared.errors import Conflict, Invalid

D2020 = date(2020, 1, 1)
MERGE_DAY = date(2025, 7, 1)


def unit(unit_id: str = "u1", name: str = "UBND huyện Càng Long", level: int = 2, kind: str = "district_committee",
         parent_id: str | None = "p", valid_from: date = D2020, code: str | None = "845") -> list[Version]:
    return [domain.new_unit(unit_id, valid_from, name=name, level=level, kind=kind, code=code,
                            parent=Version("p", date(1990, 1, 1), None, "UBND tỉnh Trà Vinh", 1, "province_committee"),
                            parent_id=parent_id)]


def test_as_of_picks_the_version_in_force_and_nothing_outside_the_lifetime():
    h = domain.rename(unit(), date(2024, 3, 1), name="UBND thị xã Càng Long")
    assert domain.version_as_of(h, date(2024, 2, 29)).name == "UBND huyện Càng Long"
    assert domain.version_as_of(h, date(2024, 3, 1)).name == "UBND thị xã Càng Long"
    assert domain.version_as_of(h, date(2019, 12, 31)) is None
    assert h[0].valid_to == date(2024, 2, 29) and h[1].valid_to is None
    assert domain.lifetime(h) == (D2020, None)


def test_rename_keeps_the_code_unless_a_new_one_is_given_and_marks_the_change():
    h = domain.rename(unit(), date(2024, 3, 1), name="UBND thị xã Càng Long")
    assert h[-1].code == "845" and h[-1].change == "renamed"
    h2 = domain.rename(h, date(2024, 6, 1), name="UBND thị xã Càng Long", code="846")
    assert [v.code for v in h2] == ["845", "845", "846"]


def test_a_change_on_the_day_the_last_version_began_replaces_it():
    h = domain.rename(unit(), D2020, name="UBND huyện Cầu Kè")
    assert len(h) == 1 and h[0].name == "UBND huyện Cầu Kè"


def test_a_change_before_the_unit_exists_is_invalid_and_before_a_later_change_conflicts():
    h = domain.rename(unit(), date(2024, 3, 1), name="UBND thị xã Càng Long")
    with pytest.raises(Invalid) as before:
        domain.rename(h, date(2019, 5, 1), name="x")
    assert before.value.field == "body.effective" and "before the unit exists" in before.value.message
    with pytest.raises(Conflict) as later:
        domain.rename(h, date(2023, 1, 1), name="x")
    assert "2024-03-01" in later.value.message


def test_move_under_itself_or_a_descendant_is_refused():
    h = unit("u1")
    child = Version("c1", D2020, None, "UBND xã Đại Phước", 3, "commune_committee", parent_id="u1")
    with pytest.raises(Conflict, match="descendants"):
        domain.move(h, date(2024, 1, 1), parent=child, parent_id="c1", ancestors_of_parent=["c1", "u1", "p"])
    with pytest.raises(Conflict):
        domain.move(h, date(2024, 1, 1), parent=h[0], parent_id="u1", ancestors_of_parent=["u1", "p"])


def test_move_needs_a_parent_on_a_higher_level_that_exists_on_the_day():
    h = unit("u1", level=2)
    peer = Version("u2", D2020, None, "UBND huyện Tiểu Cần", 2, "district_committee", parent_id="p")
    with pytest.raises(Invalid) as same_level:
        domain.move(h, date(2024, 1, 1), parent=peer, parent_id="u2", ancestors_of_parent=["u2", "p"])
    assert same_level.value.field == "body.level"
    with pytest.raises(Invalid) as missing:
        domain.move(h, date(2024, 1, 1), parent=None, parent_id="gone", ancestors_of_parent=["gone"])
    assert missing.value.field == "body.parent_id"
    moved = domain.move(h, date(2024, 1, 1), parent=peer, parent_id="u2", ancestors_of_parent=["u2", "p"], level=3)
    assert (moved[-1].parent_id, moved[-1].level, moved[-1].change) == ("u2", 3, "moved")
    assert domain.version_as_of(moved, date(2023, 12, 31)).parent_id == "p"


def test_merge_ends_the_unit_the_day_before_and_points_to_the_successor():
    h = domain.end(unit("u1"), MERGE_DAY, successor_id="s")
    assert h[-1].valid_to == date(2025, 6, 30) and h[-1].successor_id == "s"
    assert domain.version_as_of(h, MERGE_DAY) is None
    data = domain.event_data(h, "merged")
    assert data["valid_to"] == "2025-06-30" and data["successor_id"] == "s" and data["valid_from"] == "2020-01-01"


def test_an_ended_unit_cannot_change_again():
    h = domain.end(unit("u1"), MERGE_DAY, successor_id="s")
    with pytest.raises(Conflict, match="merged into s"):
        domain.rename(h, date(2025, 8, 1), name="x")
    dissolved = domain.end(unit("u2"), MERGE_DAY)
    with pytest.raises(Conflict, match="dissolved"):
        domain.end(dissolved, date(2025, 9, 1))


def test_ending_drops_a_change_that_would_only_have_started_on_the_end_day():
    h = domain.rename(unit(), MERGE_DAY, name="UBND xã mới")
    ended = domain.end(h, MERGE_DAY)
    assert len(ended) == 1 and ended[0].name == "UBND huyện Càng Long" and ended[0].valid_to == date(2025, 6, 30)


def test_a_unit_cannot_end_on_its_first_day_nor_merge_into_itself():
    with pytest.raises(Invalid):
        domain.end(unit(), D2020)
    with pytest.raises(Invalid):
        domain.end(unit("u1"), MERGE_DAY, successor_id="u1")
    with pytest.raises(Invalid):
        domain.check_merge(["a", "b"], "b")
    with pytest.raises(Invalid):
        domain.check_merge(["a", "a"], "s")


def test_dissolving_a_unit_with_children_is_refused():
    with pytest.raises(Conflict) as refused:
        domain.check_dissolvable("u1", ["c1", "c2"], MERGE_DAY)
    assert refused.value.detail["children"] == ["c1", "c2"]
    domain.check_dissolvable("u1", [], MERGE_DAY)


@pytest.mark.parametrize("kwargs, field", [
    ({"name": " "}, "body.name"), ({"level": 0}, "body.level"), ({"kind": "Sở"}, "body.kind"), ({"code": " "}, "body.code"),
])
def test_new_unit_checks_its_attributes(kwargs, field):
    values = {"name": "Sở Nội vụ", "level": 2, "kind": "department", "code": None, **kwargs}
    with pytest.raises(Invalid) as bad:
        domain.new_unit("u", D2020, **values)
    assert bad.value.field == field


def test_contacts_are_versioned_and_roles_checked():
    h = domain.update_contacts(unit(), date(2024, 1, 1), [{"role": "head", "name": "Nguyễn Văn Ánh"}])
    assert h[-1].contacts[0]["name"] == "Nguyễn Văn Ánh" and h[0].contacts == ()
    with pytest.raises(Invalid):
        domain.update_contacts(unit(), date(2024, 1, 1), [{"role": "chairman", "name": "x"}])


def test_nest_builds_the_tree_and_ancestors_walks_up():
    rows = [{"id": "p", "parent_id": None}, {"id": "d", "parent_id": "p"}, {"id": "c", "parent_id": "d"},
            {"id": "orphan", "parent_id": "gone"}]
    roots = domain.nest(rows)
    assert [r["id"] for r in roots] == ["p", "orphan"]
    assert roots[0]["children"][0]["children"][0]["id"] == "c"
    parents = {"c": "d", "d": "p", "p": None}
    assert domain.ancestors("c", parents.get) == ["c", "d", "p"]


def test_fold_drops_diacritics_for_search():
    assert domain.fold("UBND xã Đại Phước") == "ubnd xa dai phuoc"
    assert domain.fold("  Sở  Văn hóa, Thể thao và Du lịch ") == "so van hoa, the thao va du lich"
