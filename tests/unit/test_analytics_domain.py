"""Pure rules of the analytics service: attribution across merges, counters, rates, risk, Decree 335 scorecards."""
from __future__ import annotations

from datetime import date

from services.analytics.charts import bar_chart
from services.analytics.domain import (
    Assessment, Discipline, Period, Remediation, UnitInfo, ViolationCount, attribute, contribution_delta, group_violations,
    local_date, rank_by_risk, ratio, remediation_summary, repeat_violations, risk_score, score_official, units_existing,
)
from services.analytics.exports import to_csv, to_xlsx
from services.analytics.queries import Answer
from shared.coverage import ancestor_at

MERGE = date(2025, 7, 1)
UNITS = {
    "tinh": UnitInfo("tinh", "Tỉnh Vĩnh Long", 1, "province"),
    "xa-a": UnitInfo("xa-a", "Xã Long Hồ", 3, "commune", "tinh", date(2020, 1, 1), date(2025, 6, 30), "xa-moi"),
    "xa-b": UnitInfo("xa-b", "Xã Phú Đức", 3, "commune", "tinh", date(2020, 1, 1), date(2025, 6, 30), "xa-moi"),
    "xa-moi": UnitInfo("xa-moi", "Xã Long Hồ mới", 3, "commune", "tinh", MERGE, None, None),
    "so-nv": UnitInfo("so-nv", "Sở Nội vụ", 2, "department", "tinh"),
}


def test_merged_unit_counts_for_its_successor_now_and_for_itself_before_the_merge():
    assert attribute(UNITS, "xa-a") == "xa-moi"
    assert attribute(UNITS, "xa-a", date(2025, 3, 1)) == "xa-a"
    assert attribute(UNITS, "xa-a", date(2025, 6, 30)) == "xa-a"
    assert attribute(UNITS, "xa-a", date(2025, 7, 1)) == "xa-moi"
    assert attribute(UNITS, "unknown") == "unknown"  # a violation before its unit is known


def test_successor_chains_are_followed_and_cycles_stop():
    units = {"a": UnitInfo("a", "A", 3, "c", valid_to=date(2024, 1, 1), successor_id="b"),
             "b": UnitInfo("b", "B", 3, "c", valid_to=date(2025, 1, 1), successor_id="c"),
             "c": UnitInfo("c", "C", 3, "c")}
    assert attribute(units, "a") == "c"
    assert attribute(units, "a", date(2024, 6, 1)) == "b"
    loop = {"x": UnitInfo("x", "X", 3, "c", valid_to=date(2024, 1, 1), successor_id="y"),
            "y": UnitInfo("y", "Y", 3, "c", valid_to=date(2024, 1, 1), successor_id="x")}
    assert attribute(loop, "x") == "y"


def test_ancestor_at_a_level_rolls_units_up():
    assert ancestor_at(UNITS, "xa-moi", 1) == "tinh"
    assert ancestor_at(UNITS, "so-nv", 2) == "so-nv"
    assert ancestor_at(UNITS, "so-nv", 3) is None and ancestor_at(UNITS, "unknown", 1) is None
    counts = [ViolationCount("xa-a", date(2025, 3, 1), "GIO", "minor", 1), ViolationCount("so-nv", date(2025, 5, 1), "GIO", "minor", 1)]
    to_province = lambda u: ancestor_at(UNITS, attribute(UNITS, u), 1) or u  # noqa: E731
    assert group_violations(counts, UNITS, "unit", owner=to_province) == {"tinh": 2}
    assert [r["unit_id"] for r in repeat_violations(counts, UNITS, owner=to_province)] == ["tinh"]


def test_unit_tree_current_and_as_of():
    assert {u.unit_id for u in units_existing(UNITS, None)} == {"tinh", "xa-moi", "so-nv"}
    assert {u.unit_id for u in units_existing(UNITS, date(2025, 3, 1))} == {"tinh", "xa-a", "xa-b", "so-nv"}


def test_violations_grouped_after_attribution_and_repeats_across_a_merge():
    counts = [ViolationCount("xa-a", date(2025, 3, 1), "GIO_LAM_VIEC", "minor", 1),
              ViolationCount("xa-b", date(2025, 4, 1), "GIO_LAM_VIEC", "serious", 1),
              ViolationCount("so-nv", date(2025, 5, 1), "TTHC", "moderate", 2),
              ViolationCount("so-nv", date(2025, 5, 1), "VAN_HOA", "minor", 1)]
    assert group_violations(counts, UNITS, "unit") == {"xa-moi": 2, "so-nv": 3}
    assert group_violations(counts, UNITS, "unit", as_of=date(2025, 5, 1)) == {"xa-a": 1, "xa-b": 1, "so-nv": 3}
    assert group_violations(counts, UNITS, "level") == {3: 2, 2: 3}
    assert group_violations(counts, UNITS, "severity", level=3) == {"minor": 1, "serious": 1}
    now = repeat_violations(counts, UNITS)
    assert [(r["unit_id"], r["criteria"]) for r in now] == [("so-nv", {"TTHC": 2}), ("xa-moi", {"GIO_LAM_VIEC": 2})]
    before = repeat_violations(counts, UNITS, as_of=date(2025, 5, 1))
    assert [r["unit_id"] for r in before] == ["so-nv"]


def test_inspection_contributions_move_when_facts_arrive_in_any_order():
    concluded_first = {"unit_id": "u", "concluded_on": date(2025, 5, 20)}
    assert contribution_delta(None, concluded_first) == {("u", date(2025, 5, 1), "done"): 1}
    scheduled_later = {**concluded_first, "scheduled": True, "window_start": date(2025, 4, 10)}
    assert contribution_delta(concluded_first, scheduled_later) == {("u", date(2025, 4, 1), "planned"): 1}
    surprise = {"unit_id": "u", "surprise": True, "started_on": date(2025, 2, 3)}
    assert contribution_delta(None, surprise) == {("u", date(2025, 2, 1), "reports"): 1}
    moved = {**scheduled_later, "window_start": date(2025, 6, 2)}
    assert contribution_delta(scheduled_later, moved) == {("u", date(2025, 4, 1), "planned"): -1, ("u", date(2025, 6, 1), "planned"): 1}
    cancelled = {**moved, "concluded_on": None, "cancelled": True}
    assert contribution_delta(moved, cancelled) == {("u", date(2025, 6, 1), "planned"): -1, ("u", date(2025, 5, 1), "done"): -1}


def test_remediation_on_time_rate_open_and_overdue_age():
    today = date(2025, 12, 31)
    items = [Remediation("r1", "u", date(2025, 6, 30), date(2025, 6, 20)),   # on time
             Remediation("r2", "u", date(2025, 6, 30), date(2025, 7, 15)),   # late
             Remediation("r3", "u", date(2025, 11, 30), None, date(2025, 10, 1)),  # overdue 31 days, open 91
             Remediation("r4", "u", date(2026, 2, 1), None),                 # open, not due
             Remediation("r5", "u", date(2026, 2, 1), date(2025, 12, 1)),    # early: due and on time
             Remediation("r6", "u", None, None)]                             # only a report arrived
    s = remediation_summary(items, today)
    assert (s["due"], s["on_time"], s["on_time_rate"], s["open"], s["overdue"], s["max_days_overdue"]) == (4, 2, 0.5, 2, 1, 31)
    assert s["oldest_open_days"] == 91
    assert s["overdue_items"] == [{"remediation_id": "r3", "deadline": date(2025, 11, 30), "days_overdue": 31}]
    assert remediation_summary([], today)["on_time_rate"] is None


def test_risk_weights_caps_and_ranking():
    assert risk_score(None, 0, 0) == 0
    assert risk_score(1.0, 3, 3, 3) == 100
    assert risk_score(0.5, 10, 1, 0) == round(17.5 + 25 + 25 / 3, 2)
    assert risk_score(None, 0, 0, 5) == 15
    rows = rank_by_risk([{"unit_id": "b", "late_dossier_rate": 0.25, "repeated_criteria": 0, "overdue_remediations": 0},
                         {"unit_id": "a", "late_dossier_rate": None, "repeated_criteria": 0, "overdue_remediations": 0, "reports": 1},
                         {"unit_id": "c", "late_dossier_rate": 0.5, "repeated_criteria": 0, "overdue_remediations": 1}])
    assert [(r["unit_id"], r["rank"], r["risk"]) for r in rows] == [("c", 1, 25.83), ("b", 2, 8.75), ("a", 3, 5.0)]


def test_decree_335_scores_and_the_discipline_cap():
    assessments = [Assessment("a1", "cb-1", "head", "good", "good", "good"),
                   Assessment("a2", "cb-1", "head", "good", "satisfactory", "good"),
                   Assessment("a3", "cb-2", "deputy", "poor", "poor", "satisfactory")]
    head = score_official("cb-1", assessments, [], name="Nguyễn Văn Hùng")
    assert (head.output, head.timeliness, head.quality, head.score, head.rating) == (100, 85, 100, 95, "excellent")
    assert head.rating_vi == "Hoàn thành xuất sắc nhiệm vụ" and head.assessment_ids == ["a1", "a2"]
    deputy = score_official("cb-2", assessments, [])
    assert (deputy.score, deputy.rating) == (50, "completed")
    disciplined = score_official("cb-1", assessments, [Discipline("rec-9", "cb-1", "reprimand")])
    assert disciplined.rating == "not_completed" and disciplined.capped_by_discipline
    assert disciplined.rating_vi == "Không hoàn thành nhiệm vụ" and disciplined.discipline_recommendation_ids == ["rec-9"]
    other = score_official("cb-1", assessments, [Discipline("rec-8", "cb-1", "other")])
    assert other.rating == "excellent" and not other.capped_by_discipline
    nobody = score_official("cb-3", assessments, [])
    assert nobody.score is None and nobody.rating is None


def test_periods_dates_and_ratios():
    p = Period(2025, 1, 6)
    assert (p.first, p.last_day, p.previous_year().first) == (date(2025, 1, 1), date(2025, 6, 30), date(2024, 1, 1))
    assert Period(2024, 2, 2).last_day == date(2024, 2, 29)
    assert local_date("2025-06-30T20:00:00+00:00") == date(2025, 7, 1)  # Vietnamese day, not UTC
    assert local_date("2025-06-30") == date(2025, 6, 30)
    assert ratio(12, 4) == 3.0 and ratio(3, 0) is None


def test_exports_and_chart_keep_vietnamese():
    answer = Answer("Vi phạm theo nội dung", [("label", "Nội dung kiểm tra"), ("violations", "Số vi phạm")],
                    [{"label": "Uống rượu bia trong giờ làm việc", "violations": 3}], ("label", ["violations"]))
    text = to_csv(answer).decode("utf-8")
    assert text.startswith("\ufeffNội dung kiểm tra,Số vi phạm") and "Uống rượu bia trong giờ làm việc,3" in text
    import io

    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(to_xlsx(answer))).active
    assert [c.value for c in ws[3]] == ["Uống rượu bia trong giờ làm việc", 3]
    svg = bar_chart("Vi phạm", ["Xã Long Hồ", "Sở Nội vụ"], {"Số vi phạm": [2, 1]})
    assert svg.count('class="bar"') == 2 and "Xã Long Hồ" in svg and 'data-value="2"' in svg


def test_the_worker_keeps_tomorrows_central_figures_only_in_the_last_minutes_of_the_day():
    from datetime import datetime, timezone

    from services.analytics.figures_keeper import days_kept

    utc = timezone.utc
    assert days_kept(datetime(2026, 12, 31, 12, 0, tzinfo=utc)) == [date(2026, 12, 31)]
    assert days_kept(datetime(2026, 12, 31, 23, 54, 59, tzinfo=utc)) == [date(2026, 12, 31)]
    assert days_kept(datetime(2026, 12, 31, 23, 55, tzinfo=utc)) == [date(2026, 12, 31), date(2027, 1, 1)]
    assert days_kept(datetime(2027, 1, 1, 0, 0, tzinfo=utc)) == [date(2027, 1, 1)]
