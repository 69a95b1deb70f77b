"""The Đồng Tháp 2022 rule set: all 12 districts, at least 1 commune of each, at least 8 departments."""
from shared.coverage import CoverageRule, Unit, evaluate

RULES = [
    CoverageRule("districts", "Tất cả 12 huyện, thành phố", level=2, kind="district_committee"),
    CoverageRule("communes", "Ít nhất 1 xã của mỗi huyện", level=3, kind="commune_committee", min_count=1, per_level=2),
    CoverageRule("departments", "Ít nhất 8 sở, ngành", kind="department", min_count=8),
]


def tree():
    units = [Unit("P", 1, "province_committee")]
    for d in range(12):
        units.append(Unit(f"D{d:02}", 2, "district_committee", "P"))
        for c in range(3):
            units.append(Unit(f"D{d:02}C{c}", 3, "commune_committee", f"D{d:02}"))
    units += [Unit(f"S{i:02}", 2, "department", "P") for i in range(15)]
    return units


def test_everything_covered_satisfies_every_rule():
    covered = [f"D{d:02}" for d in range(12)] + [f"D{d:02}C0" for d in range(12)] + [f"S{i:02}" for i in range(8)]
    results = evaluate(RULES, tree(), covered)
    assert [(r.rule_id, r.required, r.covered, r.shortfall, r.satisfied) for r in results] == [
        ("districts", 12, 12, 0, True), ("communes", 12, 12, 0, True), ("departments", 8, 8, 0, True)]


def test_gaps_are_reported_exactly():
    # 11 districts; communes in 10 districts (two in D00, which counts once); 6 departments.
    covered = [f"D{d:02}" for d in range(11)] + ["D00C0", "D00C1"] + [f"D{d:02}C2" for d in range(1, 10)] + [f"S{i:02}" for i in range(6)]
    districts, communes, departments = evaluate(RULES, tree(), covered)
    assert (districts.covered, districts.shortfall, districts.missing) == (11, 1, ["D11"])
    assert (communes.required, communes.covered, communes.shortfall) == (12, 10, 2)
    assert communes.missing == ["D10", "D11"]
    assert set(communes.candidates) == {"D10C0", "D10C1", "D10C2", "D11C0", "D11C1", "D11C2"}
    assert (departments.covered, departments.shortfall, departments.satisfied) == (6, 2, False)
    assert len(departments.candidates) == 9
