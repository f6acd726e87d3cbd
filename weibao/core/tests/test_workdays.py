from __future__ import annotations

from datetime import date

from weibao.core.workdays import add_working_days, is_working_day, working_days_between


def test_national_day_week_is_not_working() -> None:
    assert not is_working_day(date(2026, 10, 1))
    assert is_working_day(date(2026, 9, 30))


def test_make_up_working_sunday_counts() -> None:
    # 2026-01-04 is a Sunday made a working day after the New Year holiday.
    assert is_working_day(date(2026, 1, 4))
    assert add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)


def test_years_without_a_table_fall_back_to_weekdays() -> None:
    assert is_working_day(date(2099, 6, 1))  # a Monday
    assert not is_working_day(date(2099, 6, 6))  # a Saturday
    assert working_days_between(date(2099, 6, 1), date(2099, 6, 8)) == 5
