"""Regional legal parameters: DESIGN.md, "Regions (configuration)".

| parameter                         | Brussels           | Flanders        | Wallonia          |
| winter moratorium                 | 1/11-15/3, all     | none            | 1/11-15/3, social |
| bailiff's notice of eviction date | 15 working days    | 5 working days  | 5 working days    |
| minimum delay after service       | 1 month            | 1 month         | 1 month           |
| petition to hearing               | >= 40 days         | federal default | federal default   |
| tenant may object to OCMW notice  | yes                | no (since 2019) | yes (2 days)      |
| OCMW receives the judgment        | yes                | not assumed     | not assumed       |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

MONTH_ABBREVIATIONS = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)


@dataclass(frozen=True)
class Moratorium:
    """A yearly winter moratorium on evictions, bounds inclusive, as (month, day)."""

    start: tuple[int, int] = (11, 1)
    end: tuple[int, int] = (3, 15)
    social_housing_only: bool = False

    def covers(self, day: date) -> bool:
        """Return True if ``day`` lies in the moratorium, both bounds included (Brussels
        Housing Code: no eviction from 1 November to 15 March inclusive)."""
        month_day = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= month_day <= self.end
        return month_day >= self.start or month_day <= self.end

    def applies_to(self, *, social_housing: bool) -> bool:
        """Return True if the moratorium protects this lease (Wallonia: social housing only)."""
        return social_housing or not self.social_housing_only

    def first_day_after(self, day: date) -> date:
        """Return the day after the end of the moratorium period that covers ``day``
        (16 March for the default bounds)."""
        end_year = day.year if (day.month, day.day) <= self.end else day.year + 1
        return date(end_year, *self.end) + timedelta(days=1)

    def describe(self) -> str:
        """Return the bounds in words, e.g. "1 Nov – 15 Mar"."""
        return f"{_day_month(self.start)} – {_day_month(self.end)}"


def _day_month(month_day: tuple[int, int]) -> str:
    month, day = month_day
    return f"{day} {MONTH_ABBREVIATIONS[month - 1]}"


@dataclass(frozen=True)
class RegionRules:
    """The legal parameters of one region (DESIGN.md's region table)."""

    code: str
    moratorium: Moratorium | None
    eviction_notice_working_days: int
    delay_after_service_months: int
    min_days_petition_to_hearing: int | None
    tenant_may_object: bool
    ocmw_receives_judgment: bool


REGIONS: dict[str, RegionRules] = {
    "brussels": RegionRules(
        code="brussels",
        moratorium=Moratorium(),
        eviction_notice_working_days=15,
        delay_after_service_months=1,
        min_days_petition_to_hearing=40,
        tenant_may_object=True,
        ocmw_receives_judgment=True,
    ),
    "flanders": RegionRules(
        code="flanders",
        moratorium=None,
        eviction_notice_working_days=5,
        delay_after_service_months=1,
        min_days_petition_to_hearing=None,
        tenant_may_object=False,
        ocmw_receives_judgment=False,
    ),
    "wallonia": RegionRules(
        code="wallonia",
        moratorium=Moratorium(social_housing_only=True),
        eviction_notice_working_days=5,
        delay_after_service_months=1,
        min_days_petition_to_hearing=None,
        tenant_may_object=True,
        ocmw_receives_judgment=False,
    ),
}


def region_rules(code: str) -> RegionRules:
    """Return the rules of region ``code`` (DESIGN.md's region table; case and surrounding
    blanks ignored); ValueError naming the valid codes for anything else."""
    try:
        return REGIONS[code.strip().lower()]
    except KeyError:
        valid = ", ".join(sorted(REGIONS))
        raise ValueError(f"unknown region {code!r}; valid regions: {valid}") from None
