"""Belgian calendar: legal holidays, working days and the periods of Ger.W. art. 52-54.

Two kinds of arithmetic live here (DESIGN.md, "Legal rules the engine computes"):

* legal periods (art. 52-54) count calendar days and only ever skip Saturdays, Sundays and
  the ten legal holidays; OCMW closures never change a legal period;
* internal deadlines (the playbook) count working days and may also skip the OCMW's
  configured closing days (``internal=True``).

Dates are always parameters: nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache

import holidays

SATURDAY = 5
SUNDAY = 6
ONE_DAY = timedelta(days=1)

# (month, day) of the seven fixed legal holidays (Royal Decree of 18 April 1974).
FIXED_LEGAL_HOLIDAYS = ((1, 1), (5, 1), (7, 21), (8, 15), (11, 1), (11, 11), (12, 25))
# Ascension and Whit Monday, in days after Easter Monday.
ASCENSION_AFTER_EASTER_MONDAY = 38
WHIT_MONDAY_AFTER_EASTER_MONDAY = 49


@cache
def legal_holidays(year: int) -> frozenset[date]:
    """Return the ten Belgian legal holidays of ``year`` (DESIGN.md: 1 Jan, Easter Monday,
    1 May, Ascension, Whit Monday, 21 Jul, 15 Aug, 1 Nov, 11 Nov, 25 Dec).

    The ``holidays`` package's BE list also holds Easter Sunday and Whit Sunday, so the
    ten are picked from it explicitly: the fixed dates, and Easter Monday (the package's
    first movable weekday holiday) with Ascension and Whit Monday counted from it.
    Raises ValueError for a year the package has no Belgian data for.
    """
    listed = holidays.country_holidays("BE", years=year)
    fixed = {date(year, month, day) for month, day in FIXED_LEGAL_HOLIDAYS}
    movable = sorted(day for day in listed if day not in fixed and day.weekday() != SUNDAY)
    if not movable or movable[0].weekday() != 0:
        raise ValueError(f"no Belgian legal holiday data for the year {year}")
    easter_monday = movable[0]
    return frozenset(
        fixed
        | {
            easter_monday,
            easter_monday + timedelta(days=ASCENSION_AFTER_EASTER_MONDAY),
            easter_monday + timedelta(days=WHIT_MONDAY_AFTER_EASTER_MONDAY),
        }
    )


def add_months(day: date, months: int) -> date:
    """Return the same date ``months`` later, clamped to that month's last day (Ger.W.
    art. 54 as DESIGN.md reads it: a period in months runs to the same date of the month)."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    return date(year, month, min(day.day, _days_in_month(year, month)))


def _days_in_month(year: int, month: int) -> int:
    """Return the number of days of ``month`` in ``year``."""
    first_of_next_month = date(year + month // 12, month % 12 + 1, 1)
    return (first_of_next_month - ONE_DAY).day


class BelgianCalendar:
    """Working days for Belgian legal periods and for an OCMW's internal deadlines."""

    def __init__(self, closures: Iterable[date] = ()) -> None:
        """``closures``: OCMW closing days and regional days (8 May, 11 Jul, 27 Sep, 15 Nov);
        they count only for internal deadlines (``internal=True``)."""
        self.closures: frozenset[date] = frozenset(closures)
        self._added: dict[tuple[date, int, bool], date] = {}  # playbook dates repeat a lot

    def is_legal_holiday(self, day: date) -> bool:
        """Return True if ``day`` is one of the ten Belgian legal holidays."""
        return day in legal_holidays(day.year)

    def is_working_day(self, day: date, *, internal: bool = False) -> bool:
        """Return True for Monday-Friday that is no legal holiday (art. 53) and, when
        ``internal``, no configured closure."""
        if day.weekday() >= SATURDAY:
            return False
        if internal and day in self.closures:
            return False
        return day not in legal_holidays(day.year)

    def next_working_day(self, day: date, *, internal: bool = False) -> date:
        """Return ``day`` if it is a working day, else the first working day after it."""
        while not self.is_working_day(day, internal=internal):
            day += ONE_DAY
        return day

    def previous_working_day(self, day: date, *, internal: bool = False) -> date:
        """Return ``day`` if it is a working day, else the last working day before it."""
        while not self.is_working_day(day, internal=internal):
            day -= ONE_DAY
        return day

    def period_end_days(self, act: date, days: int) -> date:
        """Return the last day of a period of ``days`` days from ``act``.

        Ger.W. art. 52: the period starts the day after the act and counts every calendar
        day, so its last day is ``act + days``; art. 53: a last day on a Saturday, Sunday or
        legal holiday moves to the next working day. Closures never count here.
        """
        if days < 0:
            raise ValueError(f"a period has a positive length, not {days} days")
        return self.next_working_day(act + timedelta(days=days))

    def period_end_months(self, act: date, months: int) -> date:
        """Return the last day of a period of ``months`` months from ``act``: the same date
        ``months`` later, clamped to the month's end (art. 54), moved per art. 53."""
        if months < 0:
            raise ValueError(f"a period has a positive length, not {months} months")
        return self.next_working_day(add_months(act, months))

    def add_working_days(self, day: date, n: int, *, internal: bool = True) -> date:
        """Return the ``n``-th working day after ``day`` (before it when ``n`` < 0; ``day``
        itself when ``n`` == 0). Playbook arithmetic: closures count by default."""
        key = (day, n, internal)
        if key not in self._added:
            if len(self._added) > 100_000:
                self._added.clear()
            self._added[key] = self._count_working_days(day, n, internal)
        return self._added[key]

    def _count_working_days(self, day: date, n: int, internal: bool) -> date:
        step = ONE_DAY if n > 0 else -ONE_DAY
        for _ in range(abs(n)):
            day += step
            while not self.is_working_day(day, internal=internal):
                day += step
        return day

    def working_days_between(self, start: date, end: date, *, internal: bool = False) -> int:
        """Return the number of working days ``d`` with ``start < d <= end`` (0 when
        ``end <= start``); legal working days unless ``internal``."""
        if end <= start:
            return 0
        weekdays = _weekdays_up_to(end) - _weekdays_up_to(start)
        days_off = {
            holiday
            for year in range(start.year, end.year + 1)
            for holiday in legal_holidays(year)
        }
        if internal:
            days_off |= self.closures
        return weekdays - sum(
            1 for off in days_off if start < off <= end and off.weekday() < SATURDAY
        )


def _weekdays_up_to(day: date) -> int:
    """Return the number of Mondays-Fridays from 1 January of year 1 (a Monday) to ``day``."""
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)
