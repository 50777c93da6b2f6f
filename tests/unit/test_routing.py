"""Routing a notice to one of the 19 Brussels OCMWs, or to triage (domain/routing.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.routing import OCMWS, Routing, normalise_place, normalise_postcode, route

BRUXELLES = "21004"
ETTERBEEK = "21005"
IXELLES = "21009"


def routed_to(code: str) -> Routing:
    return Routing(ocmw=code, reason=None)


def assert_triage(routing: Routing, *expected_in_reason: str) -> None:
    assert routing.ocmw is None
    assert routing.reason is not None
    for text in expected_in_reason:
        assert text in routing.reason


# --- the shared postcodes 1040 and 1050 -----------------------------------------------------


def test_1050_with_elsene_goes_to_ixelles():
    assert route("1050", "Elsene") == routed_to(IXELLES)


def test_1050_with_ixelles_goes_to_ixelles():
    assert route("1050", "Ixelles") == routed_to(IXELLES)


@pytest.mark.parametrize("name", ["Bruxelles", "Brussel"])
def test_1050_with_bruxelles_goes_to_the_city_of_brussels(name):
    assert route("1050", name) == routed_to(BRUXELLES)


def test_1040_with_etterbeek_goes_to_etterbeek():
    assert route("1040", "Etterbeek") == routed_to(ETTERBEEK)


@pytest.mark.parametrize("name", ["Brussel", "Bruxelles"])
def test_1040_with_brussel_goes_to_the_city_of_brussels(name):
    assert route("1040", name) == routed_to(BRUXELLES)


@pytest.mark.parametrize(
    ("postcode", "name"), [("1040", "Ixelles"), ("1040", "Elsene"), ("1050", "Etterbeek")]
)
def test_a_shared_postcode_with_the_wrong_commune_goes_to_triage(postcode, name):
    assert_triage(route(postcode, name), postcode, name)


def test_the_reason_for_1040_with_ixelles_names_both_communes_the_postcode_belongs_to():
    assert route("1040", "Ixelles").reason == (
        "postcode 1040 belongs to Bruxelles or Etterbeek, not to 'Ixelles'"
    )


# --- the City of Brussels and its sections --------------------------------------------------


@pytest.mark.parametrize("name", ["Laeken", "Laken"])
def test_1020_with_laeken_or_laken_goes_to_the_city_of_brussels(name):
    assert route("1020", name) == routed_to(BRUXELLES)


def test_1000_with_brussel_goes_to_the_city_of_brussels():
    assert route("1000", "Brussel") == routed_to(BRUXELLES)


@pytest.mark.parametrize(
    ("postcode", "name"),
    [("1120", "Neder-Over-Heembeek"), ("1120", "neder over heembeek"), ("1130", "Haren")],
)
def test_the_other_sections_of_the_city_go_to_the_city_of_brussels(postcode, name):
    assert route(postcode, name) == routed_to(BRUXELLES)


@pytest.mark.parametrize(
    "name",
    [
        "Brussels",
        "Bruxelles-Ville",
        "Bruxelles Ville",
        "Brussel-Stad",
        "Ville de Bruxelles",
        "Stad Brussel",
        "City of Brussels",
        "BRUXELLES",
    ],
)
def test_the_usual_names_of_the_city_go_to_the_city_of_brussels(name):
    assert route("1000", name) == routed_to(BRUXELLES)


def test_a_section_name_with_another_postcode_of_its_commune_still_goes_to_its_commune():
    assert route("1000", "Laeken") == routed_to(BRUXELLES)


def test_a_section_name_with_a_postcode_of_another_commune_goes_to_triage():
    assert_triage(route("1030", "Laeken"), "1030", "Schaerbeek", "Laeken")


# --- all 19 communes ------------------------------------------------------------------------


def test_there_are_19_ocmws_keyed_by_their_brussels_nis_code():
    assert sorted(OCMWS) == [f"210{number:02d}" for number in range(1, 20)]
    assert all(code == ocmw.code for code, ocmw in OCMWS.items())


@pytest.mark.parametrize("ocmw", OCMWS.values(), ids=lambda ocmw: ocmw.name_fr)
def test_every_commune_is_routed_by_its_french_name_and_main_postcode(ocmw):
    assert route(ocmw.main_postcode, ocmw.name_fr) == routed_to(ocmw.code)


@pytest.mark.parametrize("ocmw", OCMWS.values(), ids=lambda ocmw: ocmw.name_nl)
def test_every_commune_is_routed_by_its_dutch_name_and_main_postcode(ocmw):
    assert route(ocmw.main_postcode, ocmw.name_nl) == routed_to(ocmw.code)


@pytest.mark.parametrize(
    ("postcode", "name", "code"),
    [
        ("1070", "Cureghem", "21001"),
        ("1070", "Kuregem", "21001"),
        ("1170", "Boitsfort", "21017"),
        ("1170", "Bosvoorde", "21017"),
        ("1170", "Watermael", "21017"),
        ("1170", "Watermaal", "21017"),
        ("1150", "Stockel", "21019"),
        ("1150", "Stokkel", "21019"),
    ],
)
def test_sections_count_as_names_of_their_commune(postcode, name, code):
    assert route(postcode, name) == routed_to(code)


# --- spelling variants ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "name", "code"),
    [
        ("1050", "ELSENE", IXELLES),
        ("1050", "  ixelles\t", IXELLES),
        ("1200", "Woluwé-Saint-Lambert", "21018"),
        ("1200", "WOLUWÉ ST LAMBERT", "21018"),
        ("1150", "Woluwe-St-Pierre", "21019"),
        ("1150", "Woluwe St. Pierre", "21019"),
        ("1150", "Woluwe-Saint-Pierre", "21019"),
        ("1150", "Sint-Pieters-Woluwe", "21019"),
        ("1150", "St-Pieters-Woluwe", "21019"),
        ("1082", "Berchem-Ste-Agathe", "21003"),
        ("1082", "Berchem Sainte Agathe", "21003"),
        ("1082", "St.-Agatha-Berchem", "21003"),
        ("1080", "Molenbeek", "21012"),
        ("1080", "Molenbeek-St-Jean", "21012"),
        ("1080", "sint jans molenbeek", "21012"),
        ("1060", "St-Gilles", "21013"),
        ("1060", "Sint Gillis", "21013"),
        ("1210", "Saint-Josse", "21014"),
        ("1210", "Sint-Joost", "21014"),
        ("1210", "St-Josse-ten-Noode", "21014"),
        ("1030", "Schaarbeek", "21015"),
        ("1030", "schaerbeek", "21015"),
        ("1170", "Watermael Boitsfort", "21017"),
        ("1170", "watermaal-bosvoorde", "21017"),
        ("1020", "LAKEN", BRUXELLES),
    ],
)
def test_case_accent_hyphen_and_saint_variants_are_accepted(postcode, name, code):
    assert route(postcode, name) == routed_to(code)


@pytest.mark.parametrize("postcode", ["B-1030", "B1030", "b-1030", "B 1030", " 1030 ", "BE-1030"])
def test_postcodes_with_spaces_or_a_b_prefix_are_accepted(postcode):
    assert route(postcode, "Schaerbeek") == routed_to("21015")


def test_a_bilingual_name_naming_one_commune_is_accepted():
    assert route("1050", "Ixelles/Elsene") == routed_to(IXELLES)


def test_a_name_naming_two_communes_goes_to_triage():
    assert_triage(route("1050", "Bruxelles/Ixelles"), "ambiguous", "Bruxelles", "Ixelles")


def test_normalise_place_folds_case_accents_punctuation_and_saint():
    assert normalise_place("  Woluwé-St.-Pierre ") == normalise_place("woluwe saint pierre")
    assert normalise_place("Sint-Joost") == normalise_place("St. Joost") == "saint joost"
    assert normalise_place("Berchem-Ste-Agathe") == "berchem sainte agathe"


# --- triage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "name", "owner"),
    [
        ("1030", "Evere", "Schaerbeek"),
        ("1030", "Bruxelles", "Schaerbeek"),
        ("1000", "Ixelles", "Bruxelles"),
        ("1180", "Vorst", "Uccle"),
    ],
)
def test_a_conflicting_postcode_and_name_go_to_triage_with_a_reason_naming_both(
    postcode, name, owner
):
    assert_triage(route(postcode, name), postcode, owner, f"'{name}'")


def test_the_reason_for_1030_with_evere_says_whose_postcode_it_is():
    assert route("1030", "Evere").reason == "postcode 1030 belongs to Schaerbeek, not to 'Evere'"


@pytest.mark.parametrize(
    ("postcode", "name"),
    [
        ("2000", "Antwerpen"),
        ("1300", "Wavre"),
        ("1700", "Dilbeek"),
        ("1932", "Sint-Stevens-Woluwe"),
        ("9000", "Gent"),
        ("1700", "Brussel"),
    ],
)
def test_a_postcode_outside_the_region_goes_to_triage(postcode, name):
    assert_triage(route(postcode, name), postcode, "outside the Brussels-Capital Region")


def test_a_non_residential_brussels_postcode_goes_to_triage():
    assert_triage(route("1049", "Bruxelles"), "1049", "not the postcode of a Brussels commune")


@pytest.mark.parametrize("postcode", [None, "", "   "])
def test_a_missing_postcode_goes_to_triage(postcode):
    assert route(postcode, "Evere") == Routing(ocmw=None, reason="postcode missing")


@pytest.mark.parametrize("postcode", ["103", "10300", "1O30", "0100", "B--1030", "Evere", "1030a"])
def test_a_malformed_postcode_goes_to_triage(postcode):
    assert_triage(route(postcode, "Evere"), "malformed")


@pytest.mark.parametrize("name", [None, "", "  \n "])
def test_a_missing_municipality_goes_to_triage_even_when_the_postcode_has_one_commune(name):
    assert route("1140", name) == Routing(ocmw=None, reason="municipality missing (postcode 1140)")


@pytest.mark.parametrize("name", ["Atlantis", "Antwerpen", "---", "1030", "Schaerbeek Evere"])
def test_an_unknown_municipality_goes_to_triage(name):
    assert_triage(route("1030", name), "not a Brussels commune")


@pytest.mark.parametrize("postcode", ["1150", "1200"])
def test_woluwe_alone_is_ambiguous_and_goes_to_triage(postcode):
    assert_triage(
        route(postcode, "Woluwe"), "ambiguous", "Woluwe-Saint-Lambert", "Woluwe-Saint-Pierre"
    )


@pytest.mark.parametrize("name", ["Bruxelles-Capitale", "Brussel-Hoofdstad", "Brussels-Capital"])
def test_the_name_of_the_region_is_not_a_commune_and_goes_to_triage(name):
    assert_triage(route("1000", name), "ambiguous")


def test_a_reason_is_one_line_even_when_the_input_spans_several():
    reason = route("1030", "Atlantis\nEvere\r\n").reason
    assert reason == "municipality 'Atlantis Evere' is not a Brussels commune"


def test_a_routing_cannot_have_both_an_ocmw_and_a_reason():
    with pytest.raises(ValueError):
        Routing(ocmw="21001", reason="because")
    with pytest.raises(ValueError):
        Routing(ocmw=None, reason=None)


# --- properties -----------------------------------------------------------------------------

ALL_POSTCODES = sorted({postcode for ocmw in OCMWS.values() for postcode in ocmw.postcodes})
ALL_NAMES = sorted({name for ocmw in OCMWS.values() for name in (ocmw.name_fr, ocmw.name_nl)})

postcodes = st.one_of(
    st.none(),
    st.text(),
    st.sampled_from(ALL_POSTCODES),
    st.sampled_from(ALL_POSTCODES).map(lambda postcode: f"B-{postcode}"),
    st.integers(min_value=0, max_value=99999).map(str),
)
names = st.one_of(
    st.none(),
    st.text(),
    st.sampled_from(ALL_NAMES),
    st.sampled_from(["Laeken", "Woluwe", "Molenbeek", "Ixelles/Elsene", "Bruxelles-Capitale"]),
)


def decorate(name: str, upper: bool, spaces: bool, padding: str) -> str:
    if spaces:
        name = name.replace("-", " ")
    return padding + (name.upper() if upper else name.lower()) + padding


@given(postcodes, names)
def test_route_never_raises_and_only_routes_to_an_ocmw_covering_the_postcode(postcode, name):
    routing = route(postcode, name)
    if routing.routed:
        assert normalise_postcode(postcode) in OCMWS[routing.ocmw].postcodes
        assert routing.reason is None
    else:
        assert routing.reason and len(routing.reason.splitlines()) == 1


@given(
    st.sampled_from(ALL_POSTCODES),
    st.sampled_from(ALL_NAMES),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["", " ", "\t", "  "]),
)
def test_case_hyphens_and_padding_never_change_the_routing(postcode, name, upper, spaces, pad):
    decorated = decorate(name, upper, spaces, pad)
    assert route(postcode, decorated).ocmw == route(postcode, name).ocmw


@given(st.text())
def test_normalise_place_is_idempotent(name):
    assert normalise_place(normalise_place(name)) == normalise_place(name)
