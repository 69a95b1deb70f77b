from datetime import date

from shared.calendar import WorkingCalendar


def cal(**kw):
    return WorkingCalendar.vietnam([2026], **kw)


def test_tet_2026_and_weekends_are_not_working_days():
    c = cal()
    # Tết Bính Ngọ: 16-20 February 2026 are holidays; 21-22 a weekend.
    for d in range(16, 23):
        assert not c.is_working_day(date(2026, 2, d))
    assert c.is_working_day(date(2026, 2, 13))
    assert c.is_working_day(date(2026, 2, 23))
    assert "Tết" in c.holiday_names[date(2026, 2, 17)] or "Nguyên" in c.holiday_names[date(2026, 2, 17)]


def test_add_working_days_skips_tet():
    # Friday 13 Feb + 1 working day = Monday 23 Feb, after the whole Tết break.
    assert cal().add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    assert cal().add_working_days(date(2026, 3, 2), 5) == date(2026, 3, 9)


def test_declared_days_off_and_compensating_working_days():
    c = cal(days_off=[date(2026, 3, 3)], working_days=[date(2026, 3, 7)])
    assert not c.is_working_day(date(2026, 3, 3))
    assert c.is_working_day(date(2026, 3, 7))  # a Saturday made a working day
    # 3 March off, Saturday 7 March worked: Wed 4, Thu 5, Fri 6, Sat 7, Mon 9.
    assert c.add_working_days(date(2026, 3, 2), 5) == date(2026, 3, 9)
    assert c.add_working_days(date(2026, 3, 2), 4) == date(2026, 3, 7)


def test_days_late_counts_working_days_only():
    c = cal()
    # Due Friday 13 Feb, resolved Tuesday 24 Feb: late by 2 working days (23 and 24).
    assert c.days_late(date(2026, 2, 13), date(2026, 2, 24), date(2026, 3, 1)) == 2
    assert c.days_late(date(2026, 2, 13), date(2026, 2, 12), date(2026, 3, 1)) == 0
    # Unresolved: counted to today.
    assert c.days_late(date(2026, 3, 2), None, date(2026, 3, 6)) == 4
    assert c.working_days_between(date(2026, 3, 6), date(2026, 3, 2)) == -4
