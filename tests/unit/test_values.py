"""Parsing the values a notice carries, as JSON and as a Belgian Excel CSV write them."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from domain.values import fold_key, parse_amount, parse_date, parse_flag, parse_local_datetime

# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-11-02", "02/11/2026", "2/11/2026", " 02/11/2026 "])
def test_an_iso_or_belgian_date_is_read_as_the_same_day(text):
    assert parse_date(text) == date(2026, 11, 2)


def test_a_belgian_date_is_day_first_not_month_first():
    assert parse_date("03/04/2026") == date(2026, 4, 3)


def test_a_date_object_is_taken_as_it_is_and_a_datetime_gives_its_day():
    assert parse_date(date(2026, 11, 2)) == date(2026, 11, 2)
    assert parse_date(datetime(2026, 11, 2, 9, 30)) == date(2026, 11, 2)


@pytest.mark.parametrize("text", ["2026-02-30", "30/02/2026", "31/04/2026", "2026-13-01"])
def test_an_impossible_date_is_refused_with_a_message_quoting_the_input(text):
    with pytest.raises(ValueError, match="is not a date") as refused:
        parse_date(text)
    assert f"'{text}'" in str(refused.value)


@pytest.mark.parametrize("text", ["", "tomorrow", "2 november 2026", "11/2026"])
def test_text_that_is_no_date_at_all_is_refused(text):
    with pytest.raises(ValueError, match="is not a date"):
        parse_date(text)


# --- date-times --------------------------------------------------------------------------


def test_a_belgian_date_and_time_is_read_as_brussels_wall_time():
    assert parse_local_datetime("10/12/2026 09:30") == datetime(2026, 12, 10, 9, 30)


def test_an_iso_date_time_without_offset_is_brussels_wall_time_as_written():
    assert parse_local_datetime("2026-12-10T09:30:00") == datetime(2026, 12, 10, 9, 30)


def test_an_iso_date_time_with_an_offset_in_summer_is_converted_to_brussels_summer_time():
    assert parse_local_datetime("2026-07-01T07:30:00+00:00") == datetime(2026, 7, 1, 9, 30)


def test_an_iso_date_time_in_utc_in_winter_is_converted_to_brussels_winter_time():
    assert parse_local_datetime("2026-12-01T08:30:00Z") == datetime(2026, 12, 1, 9, 30)


def test_a_converted_date_time_carries_no_time_zone():
    assert parse_local_datetime("2026-12-01T08:30:00Z").tzinfo is None


def test_a_bare_date_as_a_date_time_means_midnight():
    assert parse_local_datetime("10/12/2026") == datetime(2026, 12, 10, 0, 0)
    assert parse_local_datetime("2026-12-10") == datetime(2026, 12, 10, 0, 0)


@pytest.mark.parametrize("text", ["10/12/2026 25:00", "31/02/2026 09:30", "morning", ""])
def test_an_impossible_date_time_is_refused_with_a_message_quoting_the_input(text):
    with pytest.raises(ValueError, match="is not a date and time") as refused:
        parse_local_datetime(text)
    assert f"'{text}'" in str(refused.value)


# --- amounts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["2.900,50", "2900.50", 2900.5, "2 900,50 €", "€ 2.900,50", "2900,50", "2\u00a0900,50 EUR"],
)
def test_a_belgian_or_international_amount_is_read_as_the_same_euros(value):
    assert parse_amount(value) == Decimal("2900.50")


def test_a_belgian_amount_with_thousands_dots_and_no_cents_is_read_as_whole_euros():
    assert parse_amount("2.900") == Decimal("2900.00")
    assert parse_amount("1.250.000") == Decimal("1250000.00")


def test_an_amount_with_one_decimal_after_a_dot_is_cents_not_thousands():
    assert parse_amount("750.5") == Decimal("750.50")


def test_an_amount_is_rounded_to_cents():
    assert parse_amount(750) == Decimal("750.00")
    assert parse_amount("750") == Decimal("750.00")
    assert parse_amount(Decimal("750.00")).as_tuple().exponent == -2


@pytest.mark.parametrize("value", ["deux mille", "-5", "", "1,2,3", "nan", "inf", True])
def test_an_amount_that_is_no_positive_number_of_euros_is_refused(value):
    with pytest.raises(ValueError, match="amount in euros"):
        parse_amount(value)


def test_a_refused_amount_is_quoted_in_the_message():
    with pytest.raises(ValueError, match="'deux mille'"):
        parse_amount("deux mille")


def test_a_negative_amount_given_as_a_json_number_is_refused_like_the_text_one():
    with pytest.raises(ValueError, match="amount in euros"):
        parse_amount(-5)


@pytest.mark.parametrize("value", ["1" * 40, 1e300])
def test_an_absurdly_large_amount_is_refused_as_a_value_error(value):
    with pytest.raises(ValueError, match="amount in euros"):
        parse_amount(value)


# --- flags -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["ja", "JA", "oui", "1", "true", "x", True, 1])
def test_a_yes_cell_in_dutch_french_or_english_is_true(value):
    assert parse_flag(value) is True


@pytest.mark.parametrize("value", ["nee", "non", "0", "false", "", "  ", False, 0, None])
def test_a_no_or_empty_cell_is_false(value):
    assert parse_flag(value) is False


@pytest.mark.parametrize("value", ["peut-être", "misschien", "2"])
def test_a_cell_that_is_neither_yes_nor_no_is_refused_with_the_input_quoted(value):
    with pytest.raises(ValueError, match="is not yes or no") as refused:
        parse_flag(value)
    assert f"'{value}'" in str(refused.value)


# --- fold_key ----------------------------------------------------------------------------


def test_two_spellings_of_a_docket_number_fold_to_the_same_key():
    assert fold_key("26/A/1234") == fold_key("26a1234") == fold_key("26 A 1234")


def test_two_spellings_of_a_court_fold_to_the_same_key():
    assert fold_key("Vredegerecht Schaarbeek") == fold_key("vredegerecht  schaarbeek")
    assert fold_key("Justice de paix d'Etterbeek") == fold_key("justice de paix d’etterbeek")


def test_accents_are_ignored_when_folding():
    assert fold_key("Élsene") == fold_key("elsene")
    assert fold_key("Schaerbeek-Bruxelles Ville") == fold_key("schaërbeek bruxelles-ville")


def test_different_dockets_keep_different_keys():
    assert fold_key("26A1234") != fold_key("26A1235")
