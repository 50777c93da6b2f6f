"""Legal rules: regions, delay after service, earliest eviction, legal flags."""

from datetime import date

import pytest

from domain.calendar import BelgianCalendar
from domain.regions import REGIONS, Moratorium, region_rules
from domain.rules import (
    Flag,
    LegalFacts,
    before_delay_flag,
    delay_end_on,
    earliest_eviction_on,
    hearing_too_early_flag,
    legal_flags,
    moratorium_flag,
    short_notice_flag,
)

CALENDAR = BelgianCalendar()
BRUSSELS = region_rules("brussels")
FLANDERS = region_rules("flanders")
WALLONIA = region_rules("wallonia")
# served Wed 14 Oct 2026: + 1 month = Sat 14 Nov -> delay ends Mon 16 Nov (art. 53)
SERVED_ON = date(2026, 10, 14)


# --- regions -----------------------------------------------------------------------------


def test_the_three_regions_follow_the_design_table():
    assert set(REGIONS) == {"brussels", "flanders", "wallonia"}
    assert (BRUSSELS.eviction_notice_working_days, FLANDERS.eviction_notice_working_days) == (15, 5)
    assert BRUSSELS.min_days_petition_to_hearing == 40
    assert WALLONIA.min_days_petition_to_hearing is None
    assert FLANDERS.moratorium is None
    assert WALLONIA.moratorium.social_housing_only
    assert (BRUSSELS.tenant_may_object, FLANDERS.tenant_may_object) == (True, False)
    assert (BRUSSELS.ocmw_receives_judgment, WALLONIA.ocmw_receives_judgment) == (True, False)


def test_an_unknown_region_is_refused_naming_the_valid_ones():
    with pytest.raises(ValueError, match="brussels, flanders, wallonia"):
        region_rules("vlaanderen")


def test_a_region_code_ignores_case_and_blanks():
    assert region_rules(" Brussels ") is BRUSSELS


@pytest.mark.parametrize(
    ("day", "covered"),
    [
        (date(2026, 10, 31), False),
        (date(2026, 11, 1), True),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), True),
        (date(2027, 3, 15), True),
        (date(2027, 3, 16), False),
        (date(2027, 7, 1), False),
    ],
)
def test_the_winter_moratorium_runs_from_1_november_to_15_march_inclusive(day, covered):
    assert Moratorium().covers(day) is covered


def test_the_moratorium_ends_on_the_15_march_after_the_day():
    assert Moratorium().first_day_after(date(2026, 11, 17)) == date(2027, 3, 16)
    assert Moratorium().first_day_after(date(2027, 2, 11)) == date(2027, 3, 16)


# --- delay and earliest eviction -----------------------------------------------------------


def test_the_delay_after_service_ends_a_month_later_moved_off_the_weekend():
    assert delay_end_on(SERVED_ON, BRUSSELS, CALENDAR) == date(2026, 11, 16)


def test_a_judgment_whose_earliest_eviction_falls_in_the_moratorium_waits_until_16_march():
    facts = LegalFacts(served_on=SERVED_ON)
    assert earliest_eviction_on(facts, BRUSSELS, CALENDAR) == date(2027, 3, 16)


def test_the_same_judgment_lifting_the_moratorium_allows_eviction_the_day_after_the_delay():
    facts = LegalFacts(served_on=SERVED_ON, moratorium_lifted=True)
    assert earliest_eviction_on(facts, BRUSSELS, CALENDAR) == date(2026, 11, 17)


def test_a_judgment_served_in_january_waits_until_16_march_of_the_same_year():
    # served Sun 10 Jan 2027 -> delay ends Wed 10 Feb -> 11 Feb is in the moratorium
    facts = LegalFacts(served_on=date(2027, 1, 10))
    assert earliest_eviction_on(facts, BRUSSELS, CALENDAR) == date(2027, 3, 16)


def test_a_judgment_served_in_spring_allows_eviction_the_day_after_the_delay():
    # served Tue 5 May 2026 -> delay ends Fri 5 Jun -> eviction possible from Sat 6 Jun
    facts = LegalFacts(served_on=date(2026, 5, 5))
    assert earliest_eviction_on(facts, BRUSSELS, CALENDAR) == date(2026, 6, 6)


def test_flanders_has_no_moratorium_on_the_earliest_eviction():
    facts = LegalFacts(served_on=SERVED_ON)
    assert earliest_eviction_on(facts, FLANDERS, CALENDAR) == date(2026, 11, 17)


def test_wallonia_applies_the_moratorium_to_social_housing_only():
    private = LegalFacts(served_on=SERVED_ON)
    social = LegalFacts(served_on=SERVED_ON, social_housing=True)
    assert earliest_eviction_on(private, WALLONIA, CALENDAR) == date(2026, 11, 17)
    assert earliest_eviction_on(social, WALLONIA, CALENDAR) == date(2027, 3, 16)


def test_there_is_no_earliest_eviction_without_service_of_the_judgment():
    assert earliest_eviction_on(LegalFacts(), BRUSSELS, CALENDAR) is None


# --- flags ---------------------------------------------------------------------------------


def test_an_eviction_in_the_moratorium_is_flagged_with_its_date():
    flag = moratorium_flag(LegalFacts(eviction_on=date(2026, 12, 3)), BRUSSELS)
    assert flag == Flag(
        "moratorium",
        "eviction on 2026-12-03 falls in the winter moratorium (1 Nov – 15 Mar) "
        "and the judgment did not lift it",
    )


def test_an_eviction_in_a_lifted_moratorium_is_not_flagged():
    facts = LegalFacts(eviction_on=date(2026, 12, 3), moratorium_lifted=True)
    assert moratorium_flag(facts, BRUSSELS) is None


def test_an_eviction_on_16_march_is_not_in_the_moratorium():
    assert moratorium_flag(LegalFacts(eviction_on=date(2027, 3, 16)), BRUSSELS) is None


def test_flanders_never_flags_a_winter_eviction():
    assert moratorium_flag(LegalFacts(eviction_on=date(2026, 12, 3)), FLANDERS) is None


def test_wallonia_flags_a_winter_eviction_from_social_housing_only():
    eviction_on = date(2027, 1, 12)
    assert moratorium_flag(LegalFacts(eviction_on=eviction_on), WALLONIA) is None
    social = LegalFacts(eviction_on=eviction_on, social_housing=True)
    assert moratorium_flag(social, WALLONIA).code == "moratorium"


def test_a_notice_one_working_day_short_because_of_easter_monday_is_flagged():
    # notified Mon 23 Mar 2026, eviction Mon 13 Apr: 15 weekdays but Easter Monday 6 Apr
    facts = LegalFacts(notified_on=date(2026, 3, 23), eviction_on=date(2026, 4, 13))
    assert short_notice_flag(facts, BRUSSELS, CALENDAR) == Flag(
        "short_notice",
        "eviction on 2026-04-13 is 14 working days after the bailiff's notice of 2026-03-23; "
        "at least 15 are required",
    )


def test_the_same_three_weeks_without_a_holiday_are_enough_notice():
    # notified Mon 2 Mar 2026, eviction Mon 23 Mar: 15 working days
    facts = LegalFacts(notified_on=date(2026, 3, 2), eviction_on=date(2026, 3, 23))
    assert short_notice_flag(facts, BRUSSELS, CALENDAR) is None


def test_one_more_day_after_easter_is_enough_notice():
    facts = LegalFacts(notified_on=date(2026, 3, 23), eviction_on=date(2026, 4, 14))
    assert short_notice_flag(facts, BRUSSELS, CALENDAR) is None


def test_an_ocmw_closure_does_not_shorten_the_legal_notice():
    calendar = BelgianCalendar(closures=[date(2026, 4, 8)])
    facts = LegalFacts(notified_on=date(2026, 3, 23), eviction_on=date(2026, 4, 14))
    assert short_notice_flag(facts, BRUSSELS, calendar) is None


def test_flanders_needs_five_working_days_of_notice():
    # notified Fri 3 Apr 2026: 7, 8, 9, 10 Apr are 4 working days (Easter Monday 6 Apr)
    short = LegalFacts(notified_on=date(2026, 4, 3), eviction_on=date(2026, 4, 10))
    enough = LegalFacts(notified_on=date(2026, 4, 3), eviction_on=date(2026, 4, 13))
    assert short_notice_flag(short, FLANDERS, CALENDAR).code == "short_notice"
    assert short_notice_flag(enough, FLANDERS, CALENDAR) is None


def test_an_eviction_on_the_last_day_of_the_delay_is_flagged():
    facts = LegalFacts(served_on=SERVED_ON, eviction_on=date(2026, 11, 16))
    assert before_delay_flag(facts, BRUSSELS, CALENDAR) == Flag(
        "before_delay",
        "eviction on 2026-11-16 is before the delay after service of the judgment on "
        "2026-10-14 is out (last day 2026-11-16)",
    )


def test_an_eviction_the_day_after_the_delay_is_not_flagged_as_early():
    facts = LegalFacts(served_on=SERVED_ON, eviction_on=date(2026, 11, 17))
    assert before_delay_flag(facts, BRUSSELS, CALENDAR) is None


def test_a_hearing_39_days_after_filing_is_too_early_in_brussels():
    facts = LegalFacts(filed_on=date(2026, 10, 27), hearing_on=date(2026, 12, 5))
    assert hearing_too_early_flag(facts, BRUSSELS) == Flag(
        "hearing_too_early",
        "hearing on 2026-12-05 is 39 days after the filing on 2026-10-27; "
        "at least 40 are required",
    )


def test_a_hearing_40_days_after_filing_is_in_time_in_brussels():
    facts = LegalFacts(filed_on=date(2026, 10, 27), hearing_on=date(2026, 12, 6))
    assert hearing_too_early_flag(facts, BRUSSELS) is None


def test_flanders_and_wallonia_never_flag_an_early_hearing():
    facts = LegalFacts(filed_on=date(2026, 10, 27), hearing_on=date(2026, 10, 30))
    assert hearing_too_early_flag(facts, FLANDERS) is None
    assert hearing_too_early_flag(facts, WALLONIA) is None


def test_legal_flags_lists_every_broken_rule_in_contract_order():
    facts = LegalFacts(
        filed_on=date(2026, 9, 1),
        hearing_on=date(2026, 9, 30),
        served_on=SERVED_ON,
        notified_on=date(2026, 11, 2),
        eviction_on=date(2026, 11, 16),
    )
    codes = [flag.code for flag in legal_flags(facts, BRUSSELS, CALENDAR)]
    assert codes == ["moratorium", "short_notice", "before_delay", "hearing_too_early"]


def test_a_lawful_case_has_no_legal_flags():
    facts = LegalFacts(
        filed_on=date(2026, 3, 2),
        hearing_on=date(2026, 4, 16),
        served_on=date(2026, 5, 5),
        notified_on=date(2026, 6, 1),
        eviction_on=date(2026, 6, 30),
    )
    assert legal_flags(facts, BRUSSELS, CALENDAR) == []


def test_a_case_with_no_dates_has_no_legal_flags():
    assert legal_flags(LegalFacts(), BRUSSELS, CALENDAR) == []
