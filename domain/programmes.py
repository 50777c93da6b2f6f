"""The directory of partner programmes a household can be referred to (DESIGN.md,
"Referrals"), read from an editable TOML file: `domain/data/programmes_brussels.toml` by
default, an OCMW's own copy with DOMUS_PROGRAMMES_FILE."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

PROGRAMME_KINDS = ("housing_first", "housing_capture", "temporary_housing",
                   "emergency_shelter", "transit_centre", "tenants_union",
                   "rent_renegotiation", "refugee_housing")
REFERRAL_STATUSES = ("sent", "accepted", "refused", "housed", "closed")
FIELDS = ("id", "name", "kind", "languages", "takes", "operator", "contact")
REQUIRED = ("id", "name", "kind", "languages", "takes")
ID = re.compile(r"[a-z0-9_]{2,64}")


class DirectoryError(ValueError):
    """A programmes file that cannot be read; the message names the programme and field."""


@dataclass(frozen=True)
class Programme:
    id: str
    name: str
    kind: str
    languages: tuple[str, ...]
    takes: str
    operator: str | None = None
    contact: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "kind": self.kind,
                "languages": list(self.languages), "takes": self.takes,
                "operator": self.operator, "contact": self.contact}


def parse_directory(text: str, *, source: str = "programmes file") -> dict[str, Programme]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DirectoryError(f"{source}: not valid TOML: {error}") from None
    tables = document.get("programme")
    if not isinstance(tables, list) or not tables:
        raise DirectoryError(f"{source}: no [[programme]] blocks")
    found: dict[str, Programme] = {}
    for number, table in enumerate(tables, start=1):
        where = f"{source}: programme {number}"
        for key in table:
            if key not in FIELDS:
                raise DirectoryError(f"{where}, field {key!r}: unknown field; one of {FIELDS}")
        for key in REQUIRED:
            if not table.get(key):
                raise DirectoryError(f"{where}, field {key!r}: missing")
        if not ID.fullmatch(str(table["id"])):
            raise DirectoryError(f"{where}, field 'id': {table['id']!r} must be lower-case "
                                 "letters, digits and _")
        if table["kind"] not in PROGRAMME_KINDS:
            raise DirectoryError(f"{where}, field 'kind': {table['kind']!r} is not one of "
                                 f"{', '.join(PROGRAMME_KINDS)}")
        languages = table["languages"]
        if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
            raise DirectoryError(f"{where}, field 'languages': a list such as [\"fr\", \"nl\"]")
        if table["id"] in found:
            raise DirectoryError(f"{where}, field 'id': {table['id']!r} is listed twice")
        found[table["id"]] = Programme(table["id"], table["name"], table["kind"],
                                       tuple(languages), table["takes"], table.get("operator"),
                                       table.get("contact"))
    return found


@cache
def default_directory() -> dict[str, Programme]:
    text = (resources.files("domain") / "data" / "programmes_brussels.toml").read_text("utf-8")
    return parse_directory(text, source="programmes_brussels.toml")
