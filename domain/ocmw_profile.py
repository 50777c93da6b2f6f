"""An OCMW's own particulars for its letters: names, service, address, how to reach the
cell, who signs. Read from a TOML file the OCMW keeps (`DOMUS_OCMW_FILE`), one table per
NIS code; what is not set falls back to the commune's name and a standard service name,
and a letterhead without an address simply shows none.

    [21015]
    street = "Boulevard Auguste Reyers 70"
    postcode = "1030"
    municipality_fr = "Schaerbeek"
    municipality_nl = "Schaarbeek"
    phone = "02 000 00 00"
    email = "logement@cpas-schaerbeek.example"
    hours_fr = "du lundi au vendredi, de 9 h à 12 h"
    hours_nl = "van maandag tot vrijdag, van 9 tot 12 uur"
    signatory_name = "…"
    signatory_title_fr = "Responsable de la cellule logement"
    signatory_title_nl = "Verantwoordelijke huisvestingscel"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.routing import OCMWS

LANGUAGES = ("nl", "fr")
#: fields given once, and fields given per language (`<field>_nl`, `<field>_fr`)
PLAIN_FIELDS = ("street", "postcode", "phone", "email", "signatory_name")
LOCALISED_FIELDS = ("name", "service", "municipality", "hours", "signatory_title")
DEFAULT_SERVICE = {"nl": "Dienst Huisvesting – Schuldbemiddeling",
                   "fr": "Service Logement – Médiation de dettes"}


class ProfileError(ValueError):
    """An OCMW file that cannot be read; the message names the OCMW and the field."""


@dataclass(frozen=True)
class OcmwProfile:
    code: str
    street: str | None = None
    postcode: str | None = None
    phone: str | None = None
    email: str | None = None
    signatory_name: str | None = None
    localised: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # field -> lang

    def text(self, name: str, language: str) -> str | None:
        """A per-language field in `language`, else in the other language, else None."""
        values = self.localised.get(name, {})
        return values.get(language) or next(iter(values.values()), None)

    def name(self, language: str) -> str:
        """ "OCMW Schaarbeek" / "CPAS de Schaerbeek" unless the OCMW set its own name."""
        own = self.text("name", language)
        if own:
            return own
        commune = OCMWS.get(self.code)
        if commune is None:
            return f"OCMW {self.code}" if language == "nl" else f"CPAS {self.code}"
        if language == "nl":
            return f"OCMW {commune.name_nl}"
        article = "d'" if commune.name_fr[0].lower() in "aeiouyéè" else "de "
        return f"CPAS {article}{commune.name_fr}"

    def service(self, language: str) -> str:
        return self.text("service", language) or DEFAULT_SERVICE[language]

    def municipality(self, language: str) -> str | None:
        own = self.text("municipality", language)
        if own:
            return own
        commune = OCMWS.get(self.code)
        if commune is None:
            return None
        return commune.name_nl if language == "nl" else commune.name_fr

    def address_line(self, language: str) -> str | None:
        if not self.street:
            return None
        place = " ".join(p for p in (self.postcode, self.municipality(language)) if p)
        return f"{self.street}, {place}" if place else self.street


def parse_profiles(text: str, *, source: str = "OCMW file") -> dict[str, OcmwProfile]:
    """The profiles of a TOML text of [<NIS code>] tables; ProfileError otherwise."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{source}: not valid TOML: {error}") from None
    allowed = set(PLAIN_FIELDS) | {f"{name}_{lang}" for name in LOCALISED_FIELDS
                                   for lang in LANGUAGES}
    profiles = {}
    for code, table in document.items():
        if not (len(code) == 5 and code.isdigit()) or not isinstance(table, dict):
            raise ProfileError(f"{source}: [{code}] must be a table named by the OCMW's NIS "
                               "code, e.g. [21015]")
        for key, value in table.items():
            if key not in allowed:
                raise ProfileError(f"{source}: [{code}] field {key!r}: unknown field; "
                                   f"expected one of {', '.join(sorted(allowed))}")
            if not isinstance(value, str):
                raise ProfileError(f"{source}: [{code}] field {key!r}: must be text in quotes")
        localised: dict[str, dict[str, str]] = {}
        for name in LOCALISED_FIELDS:
            values = {lang: table[f"{name}_{lang}"] for lang in LANGUAGES
                      if table.get(f"{name}_{lang}")}
            if values:
                localised[name] = values
        profiles[code] = OcmwProfile(code, **{k: table.get(k) for k in PLAIN_FIELDS},
                                     localised=localised)
    return profiles


def profile_for(profiles: Mapping[str, OcmwProfile], code: str | None) -> OcmwProfile:
    return profiles.get(code or "", OcmwProfile(code or "?"))
