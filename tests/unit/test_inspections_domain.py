"""Pure rules of the inspections service: lifecycle, embargo, sampling, days late, deadlines, overdue."""
from __future__ import annotations

import random
from datetime import date, datetime, timezone

import pytest

from services.inspections import domain
from services.inspections.conclusion.document import build, split_number
from shared.calendar import WorkingCalendar
from shared.documents import docx_text, render_docx

CAL = WorkingCalendar.vietnam([2026])


@pytest.mark.parametrize("status, action, expected", [
    ("scheduled", "start", "in_progress"),
    ("in_progress", "conclude", "concluded"),
    ("concluded", "close", "closed"),
    ("scheduled", "cancel", "cancelled"),
])
def test_legal_transitions(status, action, expected):
    assert domain.next_status(status, action) == expected


@pytest.mark.parametrize("status, action", [
    ("scheduled", "conclude"), ("in_progress", "start"), ("concluded", "start"), ("closed", "conclude"),
    ("in_progress", "cancel"), ("cancelled", "start"), ("scheduled", "close"),
])
def test_illegal_transitions_name_the_current_state(status, action):
    with pytest.raises(domain.IllegalTransition) as exc:
        domain.next_status(status, action)
    assert status in str(exc.value) and action in str(exc.value)


def test_fieldwork_only_while_in_progress():
    domain.require_fieldwork("in_progress", "findings")
    for status in ("scheduled", "concluded", "closed", "cancelled"):
        with pytest.raises(domain.IllegalTransition, match="findings"):
            domain.require_fieldwork(status, "findings")


def test_surprise_embargo_until_started():
    assert not domain.visible_to_unit_head(surprise=True, status="scheduled")
    assert domain.visible_to_unit_head(surprise=True, status="in_progress")
    assert domain.visible_to_unit_head(surprise=False, status="scheduled")


def test_reminders_need_no_action_unless_told():
    assert not domain.needs_action("reminder")
    assert all(domain.needs_action(k) for k in ("correction", "self_criticism", "disciplinary", "procedure_change"))
    assert domain.needs_action("reminder", True) and not domain.needs_action("correction", False)


def test_fingerprint_ignores_key_order_and_keeps_vietnamese():
    a = domain.fingerprint({"mô_tả": "Cán bộ đi muộn", "n": 1})
    assert a == domain.fingerprint({"n": 1, "mô_tả": "Cán bộ đi muộn"})
    assert a != domain.fingerprint({"n": 1, "mô_tả": "Can bo di muon"})


def test_sample_is_reproducible_from_seed_and_sorted_population():
    codes = [f"HS-{n:04d}" for n in range(200)]
    shuffled = codes[:]
    random.Random(1).shuffle(shuffled)
    drawn = domain.draw_sample(codes, 10, "đợt-1")
    assert drawn == domain.draw_sample(shuffled, 10, "đợt-1")  # input order does not matter
    assert drawn == random.Random("đợt-1").sample(sorted(codes), 10)  # anyone can re-draw it by hand
    assert drawn != domain.draw_sample(codes, 10, "đợt-2")
    assert len(set(drawn)) == 10 and set(drawn) <= set(codes)
    assert domain.draw_sample(codes[:3], 10, "x") == domain.draw_sample(codes[:3], 3, "x")


def test_verify_detects_a_hand_picked_sample():
    population = [f"HS-{n}" for n in range(50)]
    drawn = domain.draw_sample(population, 5, "seed")
    assert domain.verify_sample(population, 5, "seed", drawn).matches
    picked = sorted(population)[:5]
    result = domain.verify_sample(population, 5, "seed", picked)
    assert not result.matches and result.redrawn == drawn


def test_days_late_counts_working_days_across_tet():
    # Tết 2026: 16–20 February (Mon–Fri) are holidays. Due Friday 13 Feb, resolved Monday 23 Feb: 1 working day late.
    late = domain.dossier_lateness(CAL, due=date(2026, 2, 13), resolved=date(2026, 2, 23), today=date(2026, 3, 1))
    assert late == domain.Lateness(days_late=1, late=True)


def test_days_late_of_an_open_dossier_runs_to_today_and_on_time_is_zero():
    open_ = domain.dossier_lateness(CAL, due=date(2026, 3, 2), resolved=None, today=date(2026, 3, 9))
    assert open_.days_late == 5 and open_.late
    on_time = domain.dossier_lateness(CAL, due=date(2026, 3, 9), resolved=date(2026, 3, 6), today=date(2026, 3, 20))
    assert on_time == domain.Lateness(0, False)


def test_declared_working_saturday_counts():
    cal = WorkingCalendar.vietnam([2026], working_days=[date(2026, 3, 7)])
    assert domain.dossier_lateness(cal, due=date(2026, 3, 6), resolved=date(2026, 3, 9), today=date(2026, 3, 9)).days_late == 2


def test_remediation_deadline_given_or_working_days_after_conclusion():
    assert domain.remediation_deadline(CAL, conclusion_date=date(2026, 3, 2), given=date(2026, 6, 30), working_days=30) \
        == date(2026, 6, 30)
    # Friday 24 April 2026 + 5 working days skips 30 April, 1 May and the weekend.
    assert domain.remediation_deadline(CAL, conclusion_date=date(2026, 4, 24), given=None, working_days=5) == date(2026, 5, 6)


def test_overdue_rules_use_the_local_date():
    # 17:30 UTC on 31 March is already 1 April in Hồ Chí Minh City.
    today = domain.local_date(datetime(2026, 3, 31, 17, 30, tzinfo=timezone.utc))
    assert today == date(2026, 4, 1)
    assert domain.is_overdue(status="assigned", deadline=date(2026, 3, 31), today=today)
    assert not domain.is_overdue(status="assigned", deadline=date(2026, 4, 1), today=today)
    assert not domain.is_overdue(status="verified", deadline=date(2026, 3, 1), today=today)
    assert domain.is_overdue(status="returned", deadline=date(2026, 3, 1), today=today)
    assert domain.days_overdue(date(2026, 3, 31), today) == 1


def test_conclusion_document_in_decree_30_layout():
    conclusion = {
        "number": "12/TB-SNV", "kind": "notice", "doc_date": date(2026, 4, 24), "place": "Vĩnh Long",
        "issuing_authority": "ỦY BAN NHÂN DÂN TỈNH VĨNH LONG", "issuing_body": "SỞ NỘI VỤ",
        "signer_title": "GIÁM ĐỐC", "signer_name": "Nguyễn Thị Hồng", "summary": "Đoàn kiểm tra đã làm việc tại Ủy ban.",
        "recipients": ["UBND xã Long Hồ", "Lưu: VT"],
        "recommendations": [{"kind": "correction", "text": "Chấn chỉnh giờ giấc làm việc", "deadline": date(2026, 6, 5)}],
    }
    findings = [{"criterion_code": "1.1", "severity": "moderate", "description": "Công chức đi muộn, về sớm"}]
    assert split_number("12/TB-SNV") == ("12", "TB-SNV")
    text = docx_text(render_docx(build(conclusion, {}, "UBND xã Long Hồ", findings)))
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Số: 12/TB-SNV", "THÔNG BÁO",
                     "Kết luận kiểm tra công vụ tại UBND xã Long Hồ", "Công chức đi muộn, về sớm",
                     "Chấn chỉnh giờ giấc làm việc", "05/06/2026", "Nguyễn Thị Hồng", "Nơi nhận"):
        assert expected in text, expected
