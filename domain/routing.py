"""Routing a notice to the OCMW of one of the 19 Brussels communes.

DESIGN.md, "Routing": the notice goes to the OCMW of the commune where the tenant lives.
Postcodes 1040 and 1050 are shared between Etterbeek/Ixelles and the City of Brussels, so a
notice is routed by postcode *and* municipality name (FR or NL); what cannot be routed with
certainty goes to a triage queue, it is never guessed.

A notice is routed only when its postcode is a Brussels postcode and its municipality names
(in French, Dutch, a usual short form, or a section of the commune) the one commune that both
matches the name and covers the postcode. Everything else gets a one-line reason for triage.

Pure: no clock, no I/O. The data (DESIGN.md, "Brussels communes") is the tables just below.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

# NIS code, French name, Dutch name, postcodes (main postcode first).
# The City of Brussels also reaches into 1040 and 1050 (e.g. avenue Louise is 1050 Bruxelles).
_COMMUNES: tuple[tuple[str, str, str, str], ...] = (
    ("21001", "Anderlecht",            "Anderlecht",             "1070"),
    ("21002", "Auderghem",             "Oudergem",               "1160"),
    ("21003", "Berchem-Sainte-Agathe", "Sint-Agatha-Berchem",    "1082"),
    ("21004", "Bruxelles",             "Brussel",                "1000 1020 1120 1130 1040 1050"),
    ("21005", "Etterbeek",             "Etterbeek",              "1040"),
    ("21006", "Evere",                 "Evere",                  "1140"),
    ("21007", "Forest",                "Vorst",                  "1190"),
    ("21008", "Ganshoren",             "Ganshoren",              "1083"),
    ("21009", "Ixelles",               "Elsene",                 "1050"),
    ("21010", "Jette",                 "Jette",                  "1090"),
    ("21011", "Koekelberg",            "Koekelberg",             "1081"),
    ("21012", "Molenbeek-Saint-Jean",  "Sint-Jans-Molenbeek",    "1080"),
    ("21013", "Saint-Gilles",          "Sint-Gillis",            "1060"),
    ("21014", "Saint-Josse-ten-Noode", "Sint-Joost-ten-Node",    "1210"),
    ("21015", "Schaerbeek",            "Schaarbeek",             "1030"),
    ("21016", "Uccle",                 "Ukkel",                  "1180"),
    ("21017", "Watermael-Boitsfort",   "Watermaal-Bosvoorde",    "1170"),
    ("21018", "Woluwe-Saint-Lambert",  "Sint-Lambrechts-Woluwe", "1200"),
    ("21019", "Woluwe-Saint-Pierre",   "Sint-Pieters-Woluwe",    "1150"),
)  # fmt: skip

# Further names of a commune: its sections (which count as names of the commune), usual
# short forms and the English name. Spelling variants (case, accents, hyphens, "St") are
# handled by normalise_place, not listed here.
_OTHER_NAMES: dict[str, tuple[str, ...]] = {
    "21001": ("Cureghem", "Kuregem"),
    "21003": ("Berchem",),
    "21004": (
        "Brussels", "City of Brussels", "Bruxelles-Ville", "Ville de Bruxelles",
        "Brussel-Stad", "Stad Brussel",
        "Laeken", "Laken", "Neder-Over-Heembeek", "Haren",
    ),
    "21012": ("Molenbeek",),
    "21014": ("Saint-Josse", "Sint-Joost"),
    "21017": ("Watermael", "Watermaal", "Boitsfort", "Bosvoorde"),
    "21019": ("Stockel", "Stokkel"),
}  # fmt: skip

# Names that fit more than one commune: never routed.
_AMBIGUOUS_NAMES: dict[str, tuple[str, ...]] = {
    "Woluwe": ("21018", "21019"),
}

# Names of the region itself, which fit any of the 19 communes: never routed.
_REGION_NAMES: tuple[str, ...] = (
    "Bruxelles-Capitale", "Région de Bruxelles-Capitale", "Région bruxelloise",
    "Brussel-Hoofdstad", "Brussels Hoofdstedelijk Gewest", "Brussels-Capital",
    "Brussels-Capital Region",
)  # fmt: skip

# Every Belgian postcode from 1000 to 1299 lies in the Brussels-Capital Region; the ones that
# are in no commune's list above are non-residential (institutions, PO boxes).
_REGION_POSTCODES = range(1000, 1300)

# A Belgian postcode: four digits, optionally after "B", "B-", "BE" or "BE-".
_POSTCODE_PATTERN = re.compile(r"(?:BE?-?)?([1-9][0-9]{3})", re.IGNORECASE)

# "St", "Saint", "Sint" (and "Ste", "Sainte") are one word for matching.
_SAINT_FORMS = {"st": "saint", "saint": "saint", "sint": "saint", "ste": "sainte"}

_MAX_QUOTED = 60  # characters of free text echoed in a triage reason


# --------------------------------------------------------------------------------------------
# Public interface
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ocmw:
    """The OCMW/CPAS of one Brussels commune."""

    code: str  # NIS code of the commune, e.g. "21004"
    name_fr: str  # "Bruxelles"
    name_nl: str  # "Brussel"
    postcodes: tuple[str, ...]  # main postcode first

    @property
    def main_postcode(self) -> str:
        return self.postcodes[0]


@dataclass(frozen=True)
class Routing:
    """Where a notice goes: an OCMW (by NIS code), or triage with a one-line reason."""

    ocmw: str | None  # NIS code, or None when the notice must go to triage
    reason: str | None  # None when routed; else a one-line English reason for triage

    def __post_init__(self) -> None:
        if (self.ocmw is None) == (self.reason is None):
            raise ValueError("a Routing has either an OCMW or a triage reason, not both")

    @property
    def routed(self) -> bool:
        return self.ocmw is not None


OCMWS: dict[str, Ocmw] = {
    code: Ocmw(code, name_fr, name_nl, tuple(postcodes.split()))
    for code, name_fr, name_nl, postcodes in _COMMUNES
}


def normalise_place(name: str) -> str:
    """The key used for matching place names.

    Case and accents are folded, any run of punctuation or whitespace becomes one space, and
    "St"/"Saint"/"Sint" (and "Ste"/"Sainte") become one word: "  Woluwé-St.-Pierre " and
    "woluwe saint pierre" give the same key.
    """
    folded = _strip_accents(_strip_accents(name).casefold())
    words = re.split(r"[\W_]+", folded)
    return " ".join(_SAINT_FORMS.get(word, word) for word in words if word)


def normalise_postcode(postcode: str | None) -> str | None:
    """The four digits of a Belgian postcode ("B-1030", " 1030 " -> "1030"), or None."""
    if postcode is None:
        return None
    match = _POSTCODE_PATTERN.fullmatch("".join(postcode.split()))
    return match.group(1) if match else None


@lru_cache(maxsize=8192)  # the same few hundred addresses' communes come back all day
def route(postcode: str | None, municipality: str | None) -> Routing:
    """Route a notice by the tenant's postcode and municipality, or send it to triage."""
    code = normalise_postcode(postcode)
    problem = _postcode_problem(postcode, code)
    if problem is not None:
        return _triage(problem)
    assert code is not None  # _postcode_problem guarantees it
    if municipality is None or not municipality.strip():
        return _triage(f"municipality missing (postcode {code})")
    return _route_by_name(code, municipality)


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _build_name_index() -> dict[str, frozenset[str]]:
    """Normalised name -> NIS codes of the communes it may mean (more than one: ambiguous)."""
    entries: list[tuple[str, tuple[str, ...]]] = []
    for ocmw in OCMWS.values():
        entries += [(ocmw.name_fr, (ocmw.code,)), (ocmw.name_nl, (ocmw.code,))]
    for code, names in _OTHER_NAMES.items():
        entries += [(name, (code,)) for name in names]
    entries += list(_AMBIGUOUS_NAMES.items())
    entries += [(name, tuple(OCMWS)) for name in _REGION_NAMES]
    index: dict[str, frozenset[str]] = {}
    for name, codes in entries:
        key = normalise_place(name)
        index[key] = index.get(key, frozenset()) | frozenset(codes)  # a clash stays ambiguous
    return index


def _build_postcode_index() -> dict[str, tuple[str, ...]]:
    """Postcode -> NIS codes of the communes it covers."""
    index: dict[str, tuple[str, ...]] = {}
    for ocmw in OCMWS.values():
        for postcode in ocmw.postcodes:
            index[postcode] = index.get(postcode, ()) + (ocmw.code,)
    return index


_COMMUNES_BY_NAME = _build_name_index()
_COMMUNES_BY_POSTCODE = _build_postcode_index()


def _postcode_problem(raw: str | None, postcode: str | None) -> str | None:
    """Why this postcode cannot be routed, or None if it belongs to a Brussels commune."""
    if raw is None or not raw.strip():
        return "postcode missing"
    if postcode is None:
        return f"postcode {_quote(raw)} is malformed"
    if int(postcode) not in _REGION_POSTCODES:
        return f"postcode {postcode} is outside the Brussels-Capital Region"
    if postcode not in _COMMUNES_BY_POSTCODE:
        return f"postcode {postcode} is not the postcode of a Brussels commune"
    return None


def _route_by_name(postcode: str, municipality: str) -> Routing:
    """Route a Brussels postcode by the municipality name, which must settle on one commune."""
    named = _communes_named(municipality)
    if not named:
        return _triage(f"municipality {_quote(municipality)} is not a Brussels commune")
    if len(named) > 1:
        return _triage(f"municipality {_quote(municipality)} is ambiguous: {_describe(named)}")
    (code,) = named
    if postcode not in OCMWS[code].postcodes:
        owners = _describe(_COMMUNES_BY_POSTCODE[postcode])
        return _triage(f"postcode {postcode} belongs to {owners}, not to {_quote(municipality)}")
    return Routing(ocmw=code, reason=None)


def _communes_named(municipality: str) -> frozenset[str]:
    """NIS codes the municipality may mean; empty if any part of it is unknown.

    A bilingual "Ixelles/Elsene" is read part by part; it names one commune only if every
    part names that same commune.
    """
    keys = [key for key in map(normalise_place, municipality.split("/")) if key]
    if not keys or any(key not in _COMMUNES_BY_NAME for key in keys):
        return frozenset()
    return frozenset().union(*(_COMMUNES_BY_NAME[key] for key in keys))


def _describe(codes: frozenset[str] | tuple[str, ...]) -> str:
    if len(codes) == len(OCMWS):
        return "any of the 19 Brussels communes"
    return " or ".join(OCMWS[code].name_fr for code in sorted(codes))


def _quote(text: str) -> str:
    """Free text as it may appear in a one-line reason: whitespace collapsed, length capped."""
    one_line = " ".join(text.split())
    if len(one_line) > _MAX_QUOTED:
        one_line = one_line[: _MAX_QUOTED - 1] + "…"
    return f"'{one_line}'"


def _triage(reason: str) -> Routing:
    return Routing(ocmw=None, reason=reason)
