"""Belgian calendar: legal holidays, working days, Ger.W. art. 52-54 periods."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import BelgianCalendar, add_months, legal_holidays

CALENDAR = BelgianCalendar()
# the holidays package has Belgian data up to 2100; stay well inside it
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))


def test_the_ten_legal_holidays_of_2026_are_exactly_those_of_the_law():
    assert sorted(legal_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),
        date(2026, 5, 14),  # Ascension
        date(2026, 5, 25),  # Whit Monday
        date(2026, 7, 21),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
    ]


def test_easter_and_whit_sunday_are_not_legal_holidays_though_the_package_lists_them():
    assert not CALENDAR.is_legal_holiday(date(2026, 4, 5))
    assert not CALENDAR.is_legal_holiday(date(2026, 5, 24))


def test_easter_monday_2027_is_29_march():
    assert CALENDAR.is_legal_holiday(date(2027, 3, 29))
    assert not CALENDAR.is_working_day(date(2027, 3, 29))


def test_ascension_falling_on_1_may_2008_leaves_nine_distinct_days():
    assert date(2008, 5, 1) in legal_holidays(2008)
    assert len(legal_holidays(2008)) == 9


def test_a_year_without_holiday_data_is_refused():
    with pytest.raises(ValueError, match="2150"):
        legal_holidays(2150)


def test_weekends_and_legal_holidays_are_no_working_days():
    assert CALENDAR.is_working_day(date(2026, 11, 10))  # Tuesday
    assert not CALENDAR.is_working_day(date(2026, 11, 7))  # Saturday
    assert not CALENDAR.is_working_day(date(2026, 11, 8))  # Sunday
    assert not CALENDAR.is_working_day(date(2026, 11, 11))  # Wednesday, Armistice


def test_a_closure_is_a_working_day_legally_but_not_internally():
    calendar = BelgianCalendar(closures=[date(2026, 5, 8)])  # Iris day, a Friday
    assert calendar.is_working_day(date(2026, 5, 8))
    assert not calendar.is_working_day(date(2026, 5, 8), internal=True)


def test_next_and_previous_working_day_step_over_a_long_weekend():
    # Sat 31 Oct, Sun 1 Nov 2026 (All Saints); Fri 30 Oct and Mon 2 Nov are working days
    assert CALENDAR.next_working_day(date(2026, 10, 31)) == date(2026, 11, 2)
    assert CALENDAR.previous_working_day(date(2026, 11, 1)) == date(2026, 10, 30)
    assert CALENDAR.next_working_day(date(2026, 11, 2)) == date(2026, 11, 2)


def test_a_day_period_ending_on_11_november_moves_to_the_next_day():
    # act Tue 27 Oct 2026 + 15 days = Wed 11 Nov 2026 (legal holiday) -> Thu 12 Nov
    assert CALENDAR.period_end_days(date(2026, 10, 27), 15) == date(2026, 11, 12)


def test_a_day_period_ending_on_a_working_day_ends_that_day():
    assert CALENDAR.period_end_days(date(2026, 10, 27), 14) == date(2026, 11, 10)


def test_a_month_period_ending_on_saturday_15_august_moves_to_monday():
    assert CALENDAR.period_end_months(date(2026, 7, 15), 1) == date(2026, 8, 17)


def test_a_month_period_ending_on_saturday_1_november_skips_the_sunday_too():
    assert CALENDAR.period_end_months(date(2025, 10, 1), 1) == date(2025, 11, 3)


@pytest.mark.parametrize(
    ("act", "months", "last_day"),
    [
        (date(2026, 1, 31), 1, date(2026, 3, 2)),  # 28 Feb 2026 is a Saturday
        (date(2027, 1, 31), 1, date(2027, 3, 1)),  # 28 Feb 2027 is a Sunday
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year, a Tuesday
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # across the new year, a Friday
        (date(2026, 12, 31), 2, date(2027, 3, 1)),  # 28 Feb 2027, Sunday
    ],
)
def test_a_month_period_is_clamped_to_the_month_end_then_moved(act, months, last_day):
    assert CALENDAR.period_end_months(act, months) == last_day


def test_add_months_keeps_the_date_or_clamps_it():
    assert add_months(date(2026, 3, 31), 1) == date(2026, 4, 30)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 5, 5), 12) == date(2027, 5, 5)


def test_a_closure_never_moves_a_legal_period():
    calendar = BelgianCalendar(closures=[date(2026, 11, 3)])
    assert calendar.period_end_days(date(2026, 10, 27), 7) == date(2026, 11, 3)


def test_negative_periods_are_refused():
    with pytest.raises(ValueError):
        CALENDAR.period_end_days(date(2026, 1, 5), -1)


def test_ten_working_days_after_2_november_2026_skip_11_november():
    # 3,4,5,6,9,10,(11 holiday),12,13,16,17
    assert CALENDAR.add_working_days(date(2026, 11, 2), 10) == date(2026, 11, 17)


def test_working_days_before_a_date_count_backwards():
    assert CALENDAR.add_working_days(date(2026, 11, 12), -2) == date(2026, 11, 9)
    assert CALENDAR.add_working_days(date(2026, 11, 14), 0) == date(2026, 11, 14)


def test_a_closure_shifts_internal_working_days_only():
    calendar = BelgianCalendar(closures=[date(2026, 11, 3)])
    assert calendar.add_working_days(date(2026, 11, 2), 2) == date(2026, 11, 5)
    assert calendar.add_working_days(date(2026, 11, 2), 2, internal=False) == date(2026, 11, 4)


def test_working_days_between_excludes_the_start_and_includes_the_end():
    # Mon 23 Mar -> Mon 13 Apr 2026: 15 weekdays, minus Easter Monday 6 Apr
    assert CALENDAR.working_days_between(date(2026, 3, 23), date(2026, 4, 13)) == 14
    assert CALENDAR.working_days_between(date(2026, 3, 2), date(2026, 3, 23)) == 15
    assert CALENDAR.working_days_between(date(2026, 3, 23), date(2026, 3, 23)) == 0
    assert CALENDAR.working_days_between(date(2026, 3, 23), date(2026, 3, 2)) == 0


def test_working_days_between_counts_closures_only_internally():
    calendar = BelgianCalendar(closures=[date(2026, 12, 24), date(2026, 12, 26)])  # Thu, Sat
    start, end = date(2026, 12, 18), date(2027, 1, 4)
    # 21,22,23,24,(25),28,29,30,31,(1 Jan),4
    assert calendar.working_days_between(start, end) == 9
    assert calendar.working_days_between(start, end, internal=True) == 8


@given(act=DAYS, days=st.integers(min_value=0, max_value=400))
def test_a_day_period_ends_on_a_working_day_less_than_five_days_late(act, days):
    last_day = CALENDAR.period_end_days(act, days)
    assert CALENDAR.is_working_day(last_day)
    # art. 53 moves the last day over at most 4 days off in a row: a weekend plus a legal
    # holiday on the Friday or Monday (3 days), at worst Ascension on Thu 30 April followed by
    # 1 May on the Friday (4 days; needs Easter on 22 March, last seen in 1818). Hence < +5.
    assert act + timedelta(days=days) <= last_day < act + timedelta(days=days + 5)


@given(day=DAYS, n=st.integers(min_value=-60, max_value=60).filter(bool))
def test_adding_working_days_lands_on_a_working_day(day, n):
    assert CALENDAR.is_working_day(CALENDAR.add_working_days(day, n, internal=False))


@given(day=DAYS, n=st.integers(min_value=1, max_value=400))
def test_working_days_between_undoes_add_working_days(day, n):
    later = CALENDAR.add_working_days(day, n, internal=False)
    assert CALENDAR.working_days_between(day, later) == n


@given(
    start=DAYS,
    span=st.integers(min_value=-5, max_value=120),
    closures=st.sets(DAYS, max_size=5),
)
def test_working_days_between_matches_counting_day_by_day(start, span, closures):
    calendar = BelgianCalendar(closures=closures)
    end = start + timedelta(days=span)
    for internal in (False, True):
        counted = sum(
            calendar.is_working_day(start + timedelta(days=k), internal=internal)
            for k in range(1, span + 1)
        )
        assert calendar.working_days_between(start, end, internal=internal) == counted


@given(day=DAYS)
def test_next_working_day_is_idempotent(day):
    following = CALENDAR.next_working_day(day)
    assert CALENDAR.next_working_day(following) == following


@given(day=DAYS)
def test_previous_and_next_working_day_surround_the_day(day):
    assert CALENDAR.previous_working_day(day) <= day <= CALENDAR.next_working_day(day)
