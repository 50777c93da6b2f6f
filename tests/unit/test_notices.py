"""Validating a received notice: required fields by kind, every error at once, identity."""

import copy
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.notices import (
    REQUIRED_BY_KIND,
    FieldError,
    Notice,
    NoticeInvalid,
    notice_json_schema,
    validate_notice,
)
from tests.builders import petition

# The CONTRACT.md example ("Notice (JSON)").
PETITION = petition()
COMMON = {key: PETITION[key] for key in ("court", "docket_number", "received_on", "tenant")}
# One valid record of each kind that carries dates.
DATED = {
    "petition": {**PETITION},
    "summons": {**COMMON, "kind": "summons", "served_on": "2026-10-20",
                "hearing_at": "2026-12-10T09:30:00", "dwelling": PETITION["dwelling"]},
    "judgment": {**COMMON, "kind": "judgment", "judgment_on": "2026-12-10",
                 "served_on": "2026-12-18"},
    "eviction_notice": {**COMMON, "kind": "eviction_notice", "notified_on": "2027-03-20",
                        "eviction_at": "2027-04-22T08:00:00"},
}
OBJECTION = {**COMMON, "kind": "objection"}


def without(record, *fields):
    return {key: value for key, value in record.items() if key not in fields}


def errors_of(record):
    with pytest.raises(NoticeInvalid) as refused:
        validate_notice(record)
    return refused.value.errors


def fields_of(record):
    return {error.field for error in errors_of(record)}


# --- valid notices -----------------------------------------------------------------------


def test_the_contract_example_petition_validates_with_its_values_parsed():
    notice = validate_notice(copy.deepcopy(PETITION))
    assert isinstance(notice, Notice)
    assert notice.kind == "petition"
    assert notice.received_on == date(2026, 11, 2)
    assert notice.filed_on == date(2026, 10, 27)
    assert notice.hearing_at == datetime(2026, 12, 10, 9, 30)
    assert notice.tenant.last_name == "El Idrissi"
    assert notice.tenant.language == "fr"
    assert notice.tenant.birth_date == date(1984, 3, 2)
    assert notice.dwelling is not None and notice.dwelling.postcode == "1030"
    assert notice.landlord is not None and notice.landlord.kind == "private"
    assert notice.arrears_eur == Decimal("2900.00")
    assert notice.monthly_rent_eur == Decimal("750.00")
    assert notice.moratorium_lifted is False


@pytest.mark.parametrize("kind", sorted(DATED))
def test_a_complete_notice_of_each_dated_kind_validates(kind):
    assert validate_notice(copy.deepcopy(DATED[kind])).kind == kind


def test_an_objection_needs_no_dates_and_no_dwelling():
    assert validate_notice(copy.deepcopy(OBJECTION)).kind == "objection"


def test_a_csv_row_with_belgian_dates_and_amounts_means_the_same_notice_as_the_json():
    csv_like = {**PETITION, "received_on": "02/11/2026", "filed_on": "27/10/2026",
                "hearing_at": "10/12/2026 09:30", "arrears_eur": "2.900,00",
                "monthly_rent_eur": "750,00", "kind": "Petition ",
                "landlord": {**PETITION["landlord"], "kind": "PRIVATE"},
                "tenant": {**PETITION["tenant"], "language": "FR"}}
    assert validate_notice(csv_like) == validate_notice(copy.deepcopy(PETITION))


def test_a_numeric_postcode_is_kept_as_text():
    record = {**PETITION, "dwelling": {**PETITION["dwelling"], "postcode": 1030}}
    assert validate_notice(record).dwelling.postcode == "1030"


def test_a_null_moratorium_lifted_means_the_default_not_lifted():
    judgment = {**DATED["judgment"], "moratorium_lifted": None}
    assert validate_notice(judgment).moratorium_lifted is False


@pytest.mark.parametrize(("cell", "lifted"), [("ja", True), ("oui", True), ("nee", False),
                                              ("", False)])
def test_moratorium_lifted_reads_a_dutch_or_french_yes_no_cell(cell, lifted):
    judgment = {**DATED["judgment"], "moratorium_lifted": cell}
    assert validate_notice(judgment).moratorium_lifted is lifted


# --- required fields ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "field"),
    [(kind, field) for kind in sorted(DATED) for field in REQUIRED_BY_KIND[kind]],
)
def test_a_dated_kind_without_one_of_its_dates_names_that_field_as_required_for_the_kind(
    kind, field
):
    assert errors_of(without(DATED[kind], field)) == [
        FieldError(field, f"required for a {kind}")
    ]


@pytest.mark.parametrize("kind", sorted(DATED))
def test_a_null_required_date_counts_as_missing(kind):
    field = REQUIRED_BY_KIND[kind][0]
    assert errors_of({**DATED[kind], field: None}) == [FieldError(field, f"required for a {kind}")]


@pytest.mark.parametrize("kind", sorted(DATED))
def test_a_blank_required_date_counts_as_missing(kind):
    field = REQUIRED_BY_KIND[kind][0]
    assert errors_of({**DATED[kind], field: "  "}) == [FieldError(field, f"required for a {kind}")]


def test_blank_optional_fields_in_a_json_export_mean_absent():
    record = {**PETITION, "arrears_eur": "", "tenant": {**PETITION["tenant"], "email": "",
                                                        "language": "", "birth_date": ""}}
    notice = validate_notice(record)
    assert notice.arrears_eur is None
    assert notice.tenant.language is None


def test_every_kind_that_carries_dates_is_covered_by_these_tests():
    assert {kind for kind, required in REQUIRED_BY_KIND.items() if required} == set(DATED)


@pytest.mark.parametrize("kind", ["petition", "summons"])
def test_an_opening_notice_without_a_dwelling_is_refused(kind):
    assert errors_of(without(DATED[kind], "dwelling")) == [
        FieldError("dwelling", f"required for a {kind}")
    ]


@pytest.mark.parametrize("kind", ["judgment", "eviction_notice"])
def test_a_later_notice_may_leave_out_the_dwelling(kind):
    assert validate_notice(without(DATED[kind], "dwelling")).dwelling is None


def test_an_objection_may_leave_out_the_dwelling():
    assert validate_notice(without(OBJECTION, "dwelling")).dwelling is None


@pytest.mark.parametrize(
    ("field", "path"),
    [("kind", "kind"), ("court", "court"), ("docket_number", "docket_number"),
     ("received_on", "received_on"), ("tenant", "tenant")],
)
def test_a_field_every_kind_needs_is_reported_as_required_when_missing(field, path):
    assert FieldError(path, "required") in errors_of(without(PETITION, field))


@pytest.mark.parametrize("field", ["last_name"])
def test_a_tenant_without_a_last_name_is_reported_by_its_dotted_path(field):
    record = {**PETITION, "tenant": without(PETITION["tenant"], field)}
    assert errors_of(record) == [FieldError(f"tenant.{field}", "required")]


@pytest.mark.parametrize("field", ["postcode", "municipality"])
def test_a_dwelling_without_postcode_or_municipality_is_reported_by_its_dotted_path(field):
    record = {**PETITION, "dwelling": without(PETITION["dwelling"], field)}
    assert errors_of(record) == [FieldError(f"dwelling.{field}", "required")]


# --- several errors at once --------------------------------------------------------------


def test_several_wrong_fields_are_all_reported_at_once_by_their_dotted_paths():
    record = {
        **PETITION,
        "received_on": "2026-02-30",
        "tenant": {**without(PETITION["tenant"], "last_name"), "language": "de"},
        "landlord": {**PETITION["landlord"], "kind": "bank"},
        "arrears_eur": "deux mille",
    }
    errors = errors_of(record)
    assert {error.field for error in errors} == {
        "received_on", "tenant.last_name", "tenant.language", "landlord.kind", "arrears_eur",
    }
    reasons = {error.field: error.reason for error in errors}
    assert "'2026-02-30'" in reasons["received_on"]
    assert reasons["tenant.last_name"] == "required"
    assert "'bank'" in reasons["landlord.kind"] and "private" in reasons["landlord.kind"]
    assert "'deux mille'" in reasons["arrears_eur"]


def test_the_message_of_an_invalid_notice_lists_every_field_and_reason():
    with pytest.raises(NoticeInvalid) as refused:
        validate_notice({**PETITION, "kind": "letter", "court": None})
    message = str(refused.value)
    assert "kind: 'letter' is not one of" in message
    assert "court:" in message


def test_an_unknown_kind_names_the_valid_kinds():
    (error,) = errors_of({**PETITION, "kind": "letter"})
    assert error.field == "kind"
    assert all(kind in error.reason for kind in REQUIRED_BY_KIND)


@pytest.mark.parametrize("record", [["not", "an", "object"], "petition", 42, None])
def test_a_record_that_is_not_a_json_object_is_reported_on_the_whole_record(record):
    assert errors_of(record) == [FieldError("(record)", "a notice must be a JSON object")]


def test_a_notice_invalid_is_a_value_error_so_callers_may_catch_either():
    assert issubclass(NoticeInvalid, ValueError)
    single = NoticeInvalid.single("court", "required")
    assert single.errors == [FieldError("court", "required")]
    assert str(single) == "court: required"


# --- unknown fields ----------------------------------------------------------------------


def test_unknown_fields_at_the_top_and_nested_are_kept_in_the_dump():
    record = {
        **PETITION,
        "registry_reference": "RR-2026-77",
        "tenant": {**PETITION["tenant"], "national_number": "84.03.02-123.45"},
        "dwelling": {**PETITION["dwelling"], "floor": 2},
        "landlord": {**PETITION["landlord"], "iban": "BE68 5390 0754 7034"},
    }
    dumped = validate_notice(record).model_dump()
    assert dumped["registry_reference"] == "RR-2026-77"
    assert dumped["tenant"]["national_number"] == "84.03.02-123.45"
    assert dumped["dwelling"]["floor"] == 2
    assert dumped["landlord"]["iban"] == "BE68 5390 0754 7034"


# --- identity ----------------------------------------------------------------------------


def fingerprint(record):
    return validate_notice(record).fingerprint()


def test_the_confirming_letter_copy_received_later_has_the_same_fingerprint():
    assert fingerprint({**PETITION, "received_on": "2026-11-05"}) == fingerprint(PETITION)


def test_a_postponed_hearing_is_another_notice():
    assert fingerprint({**PETITION, "hearing_at": "2027-01-14T09:30:00"}) != fingerprint(PETITION)


def test_the_same_hearing_written_in_belgian_format_is_the_same_notice():
    assert fingerprint({**PETITION, "hearing_at": "10/12/2026 09:30"}) == fingerprint(PETITION)


def test_a_new_eviction_date_is_another_notice():
    notice = DATED["eviction_notice"]
    assert fingerprint({**notice, "eviction_at": "2027-05-06T08:00:00"}) != fingerprint(notice)


def test_a_judgment_lifting_the_moratorium_is_another_notice():
    judgment = DATED["judgment"]
    assert fingerprint({**judgment, "moratorium_lifted": "ja"}) != fingerprint(judgment)


def test_court_and_docket_spellings_give_the_same_fingerprint_and_case_key():
    other = {**PETITION, "court": "vredegerecht  schaarbeek", "docket_number": "26 a 1234"}
    assert fingerprint(other) == fingerprint(PETITION)
    assert validate_notice(other).case_key == validate_notice(PETITION).case_key


def test_a_different_docket_gives_a_different_fingerprint_and_case_key():
    other = {**PETITION, "docket_number": "26A1235"}
    assert fingerprint(other) != fingerprint(PETITION)
    assert validate_notice(other).case_key != validate_notice(PETITION).case_key


def test_the_same_dates_on_a_different_kind_give_a_different_fingerprint():
    summons = {**PETITION, "kind": "summons", "served_on": "2026-10-27"}
    petition = {**PETITION, "served_on": "2026-10-27"}
    assert fingerprint(summons) != fingerprint(petition)


def test_an_objection_fingerprint_ignores_its_dates():
    dated = {**OBJECTION, "received_on": "2026-11-20", "hearing_at": "2026-12-10T09:30:00",
             "served_on": "2026-11-18"}
    assert fingerprint(dated) == fingerprint(OBJECTION)


def test_a_fingerprint_is_a_short_hex_digest():
    value = fingerprint(PETITION)
    assert len(value) == 32
    assert int(value, 16) >= 0


def test_the_facts_of_a_notice_carry_its_dates_and_social_housing():
    record = {**PETITION, "landlord": {**PETITION["landlord"], "kind": "social_housing"}}
    facts = validate_notice(record).facts()
    assert facts.kind == "petition"
    assert facts.received_on == date(2026, 11, 2)
    assert facts.hearing_at == datetime(2026, 12, 10, 9, 30)
    assert facts.social_housing is True
    assert validate_notice(PETITION).facts().social_housing is False


# --- schema ------------------------------------------------------------------------------


def test_the_json_schema_lists_the_notice_fields_and_the_rules_by_kind():
    schema = notice_json_schema()
    properties = schema["properties"]
    for field in ("kind", "court", "docket_number", "received_on", "filed_on", "served_on",
                  "hearing_at", "judgment_on", "notified_on", "eviction_at",
                  "moratorium_lifted", "tenant", "dwelling", "landlord", "arrears_eur",
                  "monthly_rent_eur"):
        assert field in properties
    assert {"kind", "court", "docket_number", "received_on", "tenant"} <= set(schema["required"])
    assert "petition: filed_on, hearing_at" in schema["description"]
    assert schema["title"]


# --- robustness --------------------------------------------------------------------------

JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
FIELD_NAMES = st.sampled_from(
    ["kind", "court", "docket_number", "received_on", "filed_on", "served_on", "hearing_at",
     "judgment_on", "notified_on", "eviction_at", "moratorium_lifted", "tenant", "dwelling",
     "landlord", "arrears_eur", "monthly_rent_eur", "last_name", "postcode", "municipality",
     "language"]
) | st.text(max_size=12)
NOTICE_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=20)
    | st.sampled_from(["petition", "judgment", "objection", "2026-11-02", "02/11/2026",
                       "10/12/2026 09:30", "2.900,50", "ja", "fr", "private"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(FIELD_NAMES, children, max_size=8),
    max_leaves=30,
)


def outcome_of(data):
    try:
        return validate_notice(data)
    except NoticeInvalid as refused:
        assert refused.errors
        assert all(isinstance(error, FieldError) and error.field for error in refused.errors)
        return refused


@settings(max_examples=300, deadline=None)
@given(JSON_LIKE)
def test_any_json_value_either_validates_or_is_refused_as_notice_invalid(data):
    assert isinstance(outcome_of(data), Notice | NoticeInvalid)


@settings(max_examples=300, deadline=None)
@given(NOTICE_LIKE)
def test_any_notice_shaped_record_either_validates_or_is_refused_as_notice_invalid(data):
    assert isinstance(outcome_of(data), Notice | NoticeInvalid)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(PETITION)), JSON_LIKE, max_size=6))
def test_a_valid_petition_with_any_fields_overwritten_never_crashes_validation(changes):
    assert isinstance(outcome_of({**PETITION, **changes}), Notice | NoticeInvalid)


def test_an_absurd_amount_is_refused_as_notice_invalid_not_a_crash():
    assert fields_of({**PETITION, "arrears_eur": "1" * 40}) == {"arrears_eur"}


def test_a_date_time_at_the_edge_of_the_calendar_is_refused_not_a_crash():
    assert fields_of({**PETITION, "hearing_at": "9999-12-31T23:59:59-05:00"}) == {"hearing_at"}
