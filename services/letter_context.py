"""The fields a letter template sees (templates/letters/README.md), built by a pure function
from what Domus knows of a case: no database, no clock. Dates and amounts are formatted
with Babel for nl_BE / fr_BE; an unknown value is None so a template can leave it out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date, format_time
from babel.numbers import format_currency

from domain.ocmw_profile import OcmwProfile
from services.vocabulary import (
    CHANNEL_LABELS,
    FLAG_LABELS,
    RESULT_LABELS,
    label,
    task_label,
)

LOCALES = {"nl": "nl_BE", "fr": "fr_BE"}
SALUTATION = {"nl": "Geachte mevrouw, geachte heer", "fr": "Madame, Monsieur"}
BOX = {"nl": "bus", "fr": "bte"}
APPOINTMENT_TIME = "10:00"
#: the names a template may use at its top level
CONTEXT_NAMES = frozenset({"ocmw", "letter", "tenant", "case", "landlord", "amounts",
                           "appointment", "caseworker", "signatory", "report"})


@dataclass(frozen=True)
class LetterFacts:
    """What the letters need to know of one case."""

    case_id: str
    court: str
    docket_number: str
    tenant_first_name: str | None
    tenant_last_name: str
    street: str | None = None
    house_number: str | None = None
    box: str | None = None
    postcode: str | None = None
    municipality: str | None = None
    hearing_at: datetime | None = None
    judgment_on: date | None = None
    earliest_eviction_on: date | None = None
    eviction_at: datetime | None = None
    landlord: dict[str, Any] | None = None
    arrears: Any = None
    monthly_rent: Any = None
    flags: Sequence[str] = ()
    contacts: Sequence[tuple[datetime, str, str, str | None]] = ()  # at, channel, result, note
    tasks_done: Sequence[tuple[str, date]] = ()  # kind, day
    caseworker_name: str | None = None
    caseworker_email: str | None = None
    stage: str = "petition"
    extra: dict[str, Any] = field(default_factory=dict)


def build_context(facts: LetterFacts, ocmw: OcmwProfile, *, language: str, today: date,
                  appointment_on: date | None) -> dict[str, Any]:
    """The template context of one letter in `language` ("nl" or "fr")."""
    if language not in LOCALES:
        raise ValueError(f"letter language {language!r}: nl or fr")
    locale = LOCALES[language]

    def day(value: date | datetime | None) -> str | None:
        return format_date(value, format="long", locale=locale) if value else None

    def clock(value: datetime | None) -> str | None:
        return format_time(value, "HH:mm", locale=locale) if value else None

    place = ocmw.municipality(language)
    signatory = ocmw.signatory_name or facts.caseworker_name
    landlord = facts.landlord or {}
    reached = [c for c in facts.contacts if c[2] == "reached" and c[1] != "letter"]
    return {
        "ocmw": {
            "name": ocmw.name(language), "service": ocmw.service(language),
            "street": ocmw.street, "postcode": ocmw.postcode, "municipality": place,
            "address_line": ocmw.address_line(language), "phone": ocmw.phone,
            "email": ocmw.email, "hours": ocmw.text("hours", language),
        },
        "letter": {"date": day(today), "place": place,
                   "reference": f"{facts.docket_number} – {facts.case_id}"},
        "tenant": {
            "first_name": facts.tenant_first_name, "last_name": facts.tenant_last_name,
            "full_name": " ".join(p for p in (facts.tenant_first_name,
                                              facts.tenant_last_name) if p),
            "salutation": SALUTATION[language],
            "address_lines": _address_lines(facts.street, facts.house_number, facts.box,
                                            facts.postcode, facts.municipality, language),
        },
        "case": {
            "court": facts.court, "docket_number": facts.docket_number, "stage": facts.stage,
            "hearing_date": day(facts.hearing_at), "hearing_time": clock(facts.hearing_at),
            "judgment_date": day(facts.judgment_on),
            "earliest_eviction_date": day(facts.earliest_eviction_on),
            "eviction_date": day(facts.eviction_at), "eviction_time": clock(facts.eviction_at),
            "moratorium": "moratorium" in facts.flags,
        },
        "landlord": {
            "name": landlord.get("name"), "salutation": SALUTATION[language],
            "address_lines": _address_lines(landlord.get("street"), landlord.get("number"),
                                            None, landlord.get("postcode"),
                                            landlord.get("municipality"), language),
        },
        "amounts": {"arrears": _euros(facts.arrears, locale),
                    "monthly_rent": _euros(facts.monthly_rent, locale)},
        "appointment": {
            "date": day(appointment_on), "time": APPOINTMENT_TIME if appointment_on else None,
            "place": ocmw.address_line(language) or ocmw.name(language),
        },
        "caseworker": {"name": facts.caseworker_name, "email": facts.caseworker_email},
        "signatory": {"name": signatory,
                      "title": ocmw.text("signatory_title", language)
                      or ("Maatschappelijk werker" if language == "nl"
                          else "Assistant(e) social(e)")},
        "report": {
            "contacts": [{"date": day(at), "channel": label(CHANNEL_LABELS, channel, language),
                          "result": label(RESULT_LABELS, result, language), "note": note or ""}
                         for at, channel, result, note in facts.contacts],
            "effective_contact": bool(reached),
            "home_visits": sum(1 for c in facts.contacts if c[1] == "home_visit"),
            "tasks_done": [{"label": task_label(kind, language), "date": day(on)}
                           for kind, on in facts.tasks_done],
            "flags": [label(FLAG_LABELS, code, language) for code in facts.flags
                      if code in FLAG_LABELS],
        },
    }


def _address_lines(street: str | None, number: str | None, box: str | None,
                   postcode: str | None, municipality: str | None, language: str) -> list[str]:
    first = " ".join(p for p in (street, number) if p)
    if first and box:
        first += f" {BOX[language]} {box}"
    second = " ".join(p for p in (postcode, municipality) if p)
    return [line for line in (first, second) if line]


def _euros(value: Any, locale: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return format_currency(amount, "EUR", locale=locale)


def letter_language(kind: str, *, tenant_language: str | None, court: str) -> str:
    """The language a letter goes in when none is asked (DESIGN.md, language): the
    tenant's, else both; the court report in the court's language (a Dutch-speaking
    Vredegerecht or a French-speaking Justice de paix), else both."""
    if kind == "court_report":
        lowered = court.lower()
        if lowered.startswith("vredegerecht"):
            return "nl"
        if lowered.startswith("justice de paix"):
            return "fr"
        return "both"
    return tenant_language if tenant_language in LOCALES else "both"
