"""The letter context: a pure function of the case, formatted for nl_BE and fr_BE; and the
OCMW letterhead profiles."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.ocmw_profile import OcmwProfile, ProfileError, parse_profiles, profile_for
from services.letter_context import CONTEXT_NAMES, LetterFacts, build_context, letter_language

FACTS = LetterFacts(
    case_id="0123456789abcdef", court="Justice de paix de Schaerbeek", docket_number="26A1234",
    tenant_first_name="Amina", tenant_last_name="El Idrissi", street="Rue Josaphat",
    house_number="112", box="3", postcode="1030", municipality="Schaerbeek",
    hearing_at=datetime(2026, 12, 10, 9, 30), earliest_eviction_on=None, eviction_at=None,
    landlord={"name": "Immo Josaphat SRL", "street": "Avenue Louise", "number": "10",
              "postcode": "1050", "municipality": "Bruxelles"},
    arrears="2900.50", monthly_rent="750.00", flags=("hearing_too_early", "moratorium"),
    contacts=((datetime(2026, 11, 5, 10, 0), "phone", "not_reached", None),
              (datetime(2026, 11, 9, 14, 0), "home_visit", "reached", "plan discussed")),
    tasks_done=(("invitation_letter", date(2026, 11, 4)),),
    caseworker_name="An Peeters", caseworker_email="an@ocmw.be",
)
PROFILES = parse_profiles("""
[21015]
street = "Boulevard Auguste Reyers 70"
postcode = "1030"
phone = "02 000 00 00"
email = "logement@cpas.example"
hours_fr = "du lundi au vendredi, de 9 h à 12 h"
hours_nl = "van maandag tot vrijdag, van 9 tot 12 uur"
signatory_title_fr = "Responsable de la cellule logement"
""")


def context(language: str, profile: OcmwProfile | None = None) -> dict:  # type: ignore[type-arg]
    return build_context(FACTS, profile or profile_for(PROFILES, "21015"), language=language,
                         today=date(2026, 11, 23), appointment_on=date(2026, 11, 26))


def test_dates_and_amounts_follow_the_locale() -> None:
    fr, nl = context("fr"), context("nl")
    assert fr["case"]["hearing_date"] == "10 décembre 2026"
    assert nl["case"]["hearing_date"] == "10 december 2026"
    assert fr["case"]["hearing_time"] == nl["case"]["hearing_time"] == "09:30"
    assert fr["letter"]["date"] == "23 novembre 2026" and nl["letter"]["date"] == "23 november 2026"
    assert nl["amounts"]["arrears"] == "€\xa02.900,50"
    assert fr["amounts"]["arrears"] == "2\u202f900,50\xa0€"
    assert fr["appointment"]["date"] == "26 novembre 2026"


def test_names_addresses_and_letterhead() -> None:
    fr, nl = context("fr"), context("nl")
    assert set(fr) == CONTEXT_NAMES
    assert fr["tenant"]["full_name"] == "Amina El Idrissi"
    assert fr["tenant"]["address_lines"] == ["Rue Josaphat 112 bte 3", "1030 Schaerbeek"]
    assert nl["tenant"]["address_lines"] == ["Rue Josaphat 112 bus 3", "1030 Schaerbeek"]
    assert fr["ocmw"]["name"] == "CPAS de Schaerbeek" and nl["ocmw"]["name"] == "OCMW Schaarbeek"
    assert fr["ocmw"]["address_line"] == "Boulevard Auguste Reyers 70, 1030 Schaerbeek"
    assert nl["ocmw"]["address_line"] == "Boulevard Auguste Reyers 70, 1030 Schaarbeek"
    assert fr["ocmw"]["hours"].startswith("du lundi") and nl["ocmw"]["hours"].startswith("van")
    assert fr["signatory"] == {"name": "An Peeters",
                               "title": "Responsable de la cellule logement"}
    assert fr["landlord"]["address_lines"] == ["Avenue Louise 10", "1050 Bruxelles"]
    assert fr["letter"]["reference"] == "26A1234 – 0123456789abcdef"


def test_the_court_report_facts() -> None:
    fr = context("fr")
    report = fr["report"]
    assert report["effective_contact"] is True and report["home_visits"] == 1
    assert report["contacts"][0] == {"date": "5 novembre 2026", "channel": "téléphone",
                                     "result": "pas joint", "note": ""}
    assert report["tasks_done"] == [{"label": "Lettre d'invitation au locataire",
                                     "date": "4 novembre 2026"}]
    assert len(report["flags"]) == 2 and "moratoire" in report["flags"][1]
    assert fr["case"]["moratorium"] is True


def test_unknown_values_are_none_not_text() -> None:
    sparse = LetterFacts(case_id="x", court="Vredegerecht Brussel", docket_number="1",
                         tenant_first_name=None, tenant_last_name="Janssens")
    ctx = build_context(sparse, OcmwProfile("21004"), language="nl", today=date(2026, 11, 23),
                        appointment_on=None)
    assert ctx["case"]["hearing_date"] is None and ctx["amounts"]["arrears"] is None
    assert ctx["ocmw"]["address_line"] is None and ctx["ocmw"]["name"] == "OCMW Brussel"
    assert ctx["tenant"]["address_lines"] == [] and ctx["landlord"]["name"] is None
    assert ctx["appointment"]["time"] is None
    assert build_context(sparse, OcmwProfile("21001"), language="fr",
                         today=date(2026, 11, 23), appointment_on=None)["ocmw"]["name"] == \
        "CPAS d'Anderlecht"
    with pytest.raises(ValueError, match="nl or fr"):
        build_context(sparse, OcmwProfile("21004"), language="de", today=date(2026, 11, 23),
                      appointment_on=None)


@pytest.mark.parametrize(("kind", "tenant", "court", "expected"), [
    ("tenant_invitation", "fr", "Vredegerecht Schaarbeek", "fr"),
    ("tenant_invitation", None, "Vredegerecht Schaarbeek", "both"),
    ("landlord_mediation", "nl", "Justice de paix", "nl"),
    ("court_report", "fr", "Vredegerecht Schaarbeek", "nl"),
    ("court_report", None, "Justice de paix du canton d'Ixelles", "fr"),
    ("court_report", "fr", "Tribunal", "both"),
])
def test_the_language_of_a_letter(kind, tenant, court, expected) -> None:  # type: ignore[no-untyped-def]
    assert letter_language(kind, tenant_language=tenant, court=court) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("[schaerbeek]\nstreet = 'x'", "named by the OCMW's NIS code"),
    ("[21015]\nfax = '02'", "field 'fax': unknown field"),
    ("[21015]\nphone = 2", "field 'phone': must be text"),
    ("[21015", "not valid TOML"),
])
def test_profile_errors_name_the_ocmw_and_field(text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        parse_profiles(text, source="ocmws.toml")
