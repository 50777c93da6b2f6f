"""Legal rules on a case's dates: earliest eviction and legal flags (DESIGN.md, "Legal rules
the engine computes"). A broken rule never fails intake: it becomes a ``Flag`` on the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from domain.calendar import BelgianCalendar
from domain.regions import Moratorium, RegionRules


@dataclass(frozen=True)
class Flag:
    """A legal irregularity: a CONTRACT.md flag code and one English sentence with dates."""

    code: str
    detail: str


@dataclass(frozen=True)
class LegalFacts:
    """What the case's notices say (the latest notice of each kind)."""

    filed_on: date | None = None
    hearing_on: date | None = None
    served_on: date | None = None
    moratorium_lifted: bool = False
    notified_on: date | None = None
    eviction_on: date | None = None
    social_housing: bool = False


def delay_end_on(served_on: date, region: RegionRules, calendar: BelgianCalendar) -> date:
    """Return the last day of the delay after service of the judgment: served_on plus the
    region's months (Ger.W. art. 1344quater: one month), per art. 54 and moved per art. 53."""
    return calendar.period_end_months(served_on, region.delay_after_service_months)


def protecting_moratorium(facts: LegalFacts, region: RegionRules) -> Moratorium | None:
    """Return the region's winter moratorium if it protects this case, else None: the region
    has one, it applies to the lease (Wallonia: social housing only) and the judgment did not
    lift it (Brussels Housing Code as amended by the ordinance of 22 June 2023)."""
    moratorium = region.moratorium
    if moratorium is None or facts.moratorium_lifted:
        return None
    return moratorium if moratorium.applies_to(social_housing=facts.social_housing) else None


def earliest_eviction_on(
    facts: LegalFacts, region: RegionRules, calendar: BelgianCalendar
) -> date | None:
    """Return the first day an eviction is possible: the day after the delay of art.
    1344quater; if that day lies in a moratorium that protects the case, the day after the
    moratorium (16 March). None when the judgment's service date is unknown."""
    if facts.served_on is None:
        return None
    earliest = delay_end_on(facts.served_on, region, calendar) + timedelta(days=1)
    moratorium = protecting_moratorium(facts, region)
    if moratorium is not None and moratorium.covers(earliest):
        return moratorium.first_day_after(earliest)
    return earliest


def moratorium_flag(facts: LegalFacts, region: RegionRules) -> Flag | None:
    """Return a "moratorium" flag when the eviction date lies inside a winter moratorium
    (bounds inclusive) that protects the case and was not lifted (DESIGN.md, moratorium)."""
    moratorium = protecting_moratorium(facts, region)
    if facts.eviction_on is None or moratorium is None or not moratorium.covers(facts.eviction_on):
        return None
    return Flag(
        "moratorium",
        f"eviction on {facts.eviction_on} falls in the winter moratorium "
        f"({moratorium.describe()}) and the judgment did not lift it",
    )


def short_notice_flag(
    facts: LegalFacts, region: RegionRules, calendar: BelgianCalendar
) -> Flag | None:
    """Return a "short_notice" flag when fewer than the region's working days (Brussels 15,
    elsewhere 5; legal working days, no closures) separate the bailiff's notice from the
    eviction date (DESIGN.md, bailiff's notice)."""
    if facts.notified_on is None or facts.eviction_on is None:
        return None
    required = region.eviction_notice_working_days
    counted = calendar.working_days_between(facts.notified_on, facts.eviction_on)
    if counted >= required:
        return None
    return Flag(
        "short_notice",
        f"eviction on {facts.eviction_on} is {counted} working days after the bailiff's "
        f"notice of {facts.notified_on}; at least {required} are required",
    )


def before_delay_flag(
    facts: LegalFacts, region: RegionRules, calendar: BelgianCalendar
) -> Flag | None:
    """Return a "before_delay" flag when the eviction date is on or before the last day of
    the delay after service of the judgment (art. 1344quater, see ``delay_end_on``)."""
    if facts.served_on is None or facts.eviction_on is None:
        return None
    delay_end = delay_end_on(facts.served_on, region, calendar)
    if facts.eviction_on > delay_end:
        return None
    return Flag(
        "before_delay",
        f"eviction on {facts.eviction_on} is before the delay after service of the "
        f"judgment on {facts.served_on} is out (last day {delay_end})",
    )


def hearing_too_early_flag(facts: LegalFacts, region: RegionRules) -> Flag | None:
    """Return a "hearing_too_early" flag when the hearing is fewer calendar days after the
    filing than the region's minimum (Brussels: 40 days; none elsewhere)."""
    minimum = region.min_days_petition_to_hearing
    if minimum is None or facts.filed_on is None or facts.hearing_on is None:
        return None
    days = (facts.hearing_on - facts.filed_on).days
    if days >= minimum:
        return None
    return Flag(
        "hearing_too_early",
        f"hearing on {facts.hearing_on} is {days} days after the filing on "
        f"{facts.filed_on}; at least {minimum} are required",
    )


def legal_flags(facts: LegalFacts, region: RegionRules, calendar: BelgianCalendar) -> list[Flag]:
    """Return the case's legal flags in the order moratorium, short_notice, before_delay,
    hearing_too_early (CONTRACT.md, flag codes); an empty list when every rule holds."""
    candidates = (
        moratorium_flag(facts, region),
        short_notice_flag(facts, region, calendar),
        before_delay_flag(facts, region, calendar),
        hearing_too_early_flag(facts, region),
    )
    return [flag for flag in candidates if flag is not None]
