"""CSV rows of units, pure: cell checks, codes reused over time, parents in the file or already stored."""
from __future__ import annotations

from datetime import date

from services.plans.org import csv_io
from services.plans.org.domain import Version

HEADER = "code,name,level,kind,parent_code,valid_from,valid_to,head_name,head_email\n"


def check(text: str, stored: dict[str, Version] | None = None, periods=None):
    report = csv_io.Report()
    rows = csv_io.parse(text, report)
    ordered = csv_io.resolve(rows, report, existing_by_code=lambda code, day: (stored or {}).get(code),
                             code_periods=periods or {})
    return ordered, report


def test_children_may_come_before_their_parent_and_are_ordered_parents_first():
    ordered, report = check(HEADER + "29242,UBND phường Trà Vinh,2,commune_committee,86,2025-07-01,,,\n"
                                     "86,UBND tỉnh Vĩnh Long,1,province_committee,,2025-07-01,,,\n")
    assert report.rejected == []
    assert [r.name for r in ordered] == ["UBND tỉnh Vĩnh Long", "UBND phường Trà Vinh"]
    assert ordered[1].parent_row is ordered[0]


def test_a_code_may_be_reused_after_the_previous_holder_ended_but_not_while_it_lives():
    text = HEADER + ("86,UBND tỉnh Vĩnh Long (cũ),1,province_committee,,2020-01-01,2025-06-30,,\n"
                     "86,UBND tỉnh Vĩnh Long,1,province_committee,,2025-07-01,,,\n")
    assert check(text)[1].rejected == []
    _, report = check(text, periods={"86": [(date(2024, 1, 1), None)]})
    assert {(r["row"], r["column"]) for r in report.rejected} == {(2, "code"), (3, "code")}


def test_a_parent_already_stored_is_found_by_code_on_the_rows_first_day():
    stored = {"86": Version("p-86", date(2025, 7, 1), None, "UBND tỉnh Vĩnh Long", 1, "province_committee", code="86")}
    ordered, report = check(HEADER + ",Sở Tư pháp,2,department,86,2025-07-01,,Phạm Minh Đức,duc@vinhlong.gov.vn\n",
                            stored=stored)
    assert report.rejected == [] and ordered[0].parent_id == "p-86"
    assert ordered[0].contacts() == [{"role": "head", "name": "Phạm Minh Đức", "email": "duc@vinhlong.gov.vn"}]
    _, report = check(HEADER + ",Sở Tư pháp,1,department,86,2025-07-01,,,\n", stored=stored)
    assert report.rejected == [{"row": 2, "column": "level", "reason": "a unit of level 1 cannot sit under one of level 1"}]


def test_cell_problems_are_reported_per_column_and_blank_lines_skipped():
    _, report = check(HEADER + "\n,,11,Xã,,2025-13-01,2025-01-01,,a@b\n,Xã Hòa Minh,2,commune_committee,,2025-07-01,2025-01-01,,\n")
    assert {(r["row"], r["column"]) for r in report.rejected} == {
        (3, "name"), (3, "level"), (3, "kind"), (3, "valid_from"), (3, "head_name"), (4, "valid_to")}
    assert report.rows == 2


def test_export_renders_the_import_columns():
    text = csv_io.render([{"code": None, "name": "Sở Nội vụ, tỉnh Vĩnh Long", "level": 2, "kind": "department",
                           "parent_code": "86", "valid_from": date(2025, 7, 1), "valid_to": None,
                           "head_name": "Lê Thị Thu Hằng", "head_email": None}])
    assert text == HEADER.replace("\n", "\r\n") + ',"Sở Nội vụ, tỉnh Vĩnh Long",2,department,86,2025-07-01,,Lê Thị Thu Hằng,\r\n'
    assert csv_io.decode(b"\xef\xbb\xbf" + text.encode()) == text
