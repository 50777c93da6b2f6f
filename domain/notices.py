"""The notices a court registry or bailiff sends the OCMW (CONTRACT.md, "Notice (JSON)").

`validate_notice` turns one received record into a `Notice`, or raises `NoticeInvalid`
with every field that is wrong, each named by its dotted path ("tenant.last_name").
Unknown fields are kept (extra="allow"), never dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from domain.values import (
    data_problem,
    fold_key,
    parse_amount,
    parse_date,
    parse_flag,
    parse_local_datetime,
    shown,
)

NOTICE_KINDS = ("petition", "summons", "judgment", "eviction_notice", "objection")
OPENING_KINDS = ("petition", "summons")

#: Dates each kind must carry (CONTRACT.md, "by kind").
REQUIRED_BY_KIND: dict[str, tuple[str, ...]] = {
    "petition": ("filed_on", "hearing_at"),
    "summons": ("served_on", "hearing_at"),
    "judgment": ("judgment_on", "served_on"),
    "eviction_notice": ("notified_on", "eviction_at"),
    "objection": (),
}
#: Kinds that may leave out the dwelling when the docket is already known.
DWELLING_OPTIONAL = ("judgment", "eviction_notice", "objection")


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _lower(value: Any) -> Any:
    value = _blank_to_none(value)
    return value.strip().lower() if isinstance(value, str) else value


#: the years a procedure's dates may fall in: the legal calendar (holidays, periods) is
#: known for them, and a date outside is a typing error, not a procedure (issue 8)
PROCEDURE_YEARS = (2000, 2100)


def _procedure_year(value: date) -> date:
    first, last = PROCEDURE_YEARS
    if not first <= value.year <= last:
        raise ValueError(f"{value.isoformat()} is not in the years {first} to {last}")
    return value


LocalDate = Annotated[date, BeforeValidator(parse_date), BeforeValidator(_blank_to_none)]
ProcedureDate = Annotated[date, AfterValidator(_procedure_year), BeforeValidator(parse_date),
                          BeforeValidator(_blank_to_none)]
LocalDateTime = Annotated[
    datetime, AfterValidator(_procedure_year), BeforeValidator(parse_local_datetime),
    BeforeValidator(_blank_to_none)
]
Euros = Annotated[Decimal, BeforeValidator(parse_amount), BeforeValidator(_blank_to_none)]
Text = Annotated[str, BeforeValidator(_blank_to_none), Field(max_length=500)]
Language = Annotated[Literal["nl", "fr"], BeforeValidator(_lower)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_fields_are_absent(cls, data: Any) -> Any:
        # a blank string in a declared field means "not given": optional fields default,
        # required ones are reported as required (unknown fields are kept as they are)
        if not isinstance(data, dict):
            return data
        blank = [key for key, value in data.items()
                 if isinstance(value, str) and not value.strip()]
        if not blank:
            return data
        declared = cls.__pydantic_fields__
        return {key: value for key, value in data.items()
                if key not in blank or key not in declared}


class Tenant(_Part):
    first_name: Text | None = None
    last_name: Text
    language: Language | None = None
    phone: Text | None = None
    email: Text | None = None
    birth_date: LocalDate | None = None


class Dwelling(_Part):
    street: Text | None = None
    number: Text | None = None
    box: Text | None = None
    postcode: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)]
    municipality: Text


class Landlord(_Part):
    name: Text | None = None
    kind: (
        Annotated[
            Literal["private", "social_housing", "social_rental_agency", "public"],
            BeforeValidator(_lower),
        ]
        | None
    ) = None
    street: Text | None = None
    number: Text | None = None
    postcode: Text | None = None
    municipality: Text | None = None
    email: Text | None = None


class Notice(_Part):
    kind: Annotated[
        Literal["petition", "summons", "judgment", "eviction_notice", "objection"],
        BeforeValidator(_lower),
    ]
    court: Text
    docket_number: Text
    received_on: ProcedureDate
    filed_on: ProcedureDate | None = None
    served_on: ProcedureDate | None = None
    hearing_at: LocalDateTime | None = None
    judgment_on: ProcedureDate | None = None
    notified_on: ProcedureDate | None = None
    eviction_at: LocalDateTime | None = None
    moratorium_lifted: Annotated[bool, BeforeValidator(parse_flag)] = False
    tenant: Tenant
    dwelling: Dwelling | None = None
    landlord: Landlord | None = None
    arrears_eur: Euros | None = None
    monthly_rent_eur: Euros | None = None

    @cached_property
    def case_key(self) -> tuple[str, str]:
        """One procedure = court + docket number (DESIGN.md), spelled any way."""
        return fold_key(self.court), fold_key(self.docket_number)

    def fingerprint(self) -> str:
        """Identity of the notice: the same notice received twice (fax, then the confirming
        letter) has the same fingerprint whatever its received_on; a postponed hearing or a
        new eviction date is another notice."""
        court, docket = self.case_key
        dated = self.kind != "objection"
        parts = [self.kind, court, docket] + (
            [str(getattr(self, name)) for name in _IDENTITY_DATES] if dated else []
        )
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]

    def facts(self) -> NoticeFacts:
        return NoticeFacts(
            kind=self.kind,
            received_on=self.received_on,
            filed_on=self.filed_on,
            served_on=self.served_on,
            hearing_at=self.hearing_at,
            judgment_on=self.judgment_on,
            notified_on=self.notified_on,
            eviction_at=self.eviction_at,
            moratorium_lifted=self.moratorium_lifted,
            social_housing=bool(self.landlord and self.landlord.kind == "social_housing"),
        )


_IDENTITY_DATES = (
    "filed_on", "served_on", "hearing_at", "judgment_on", "notified_on", "eviction_at",
    "moratorium_lifted",
)


@dataclass(frozen=True)
class NoticeFacts:
    """What the legal rules and the playbook need of one notice."""

    kind: str
    received_on: date
    filed_on: date | None = None
    served_on: date | None = None
    hearing_at: datetime | None = None
    judgment_on: date | None = None
    notified_on: date | None = None
    eviction_at: datetime | None = None
    moratorium_lifted: bool = False
    social_housing: bool = False


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class NoticeInvalid(ValueError):
    """A record that is not a valid notice; `errors` names every wrong field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))

    def __reduce__(self) -> tuple[type[NoticeInvalid], tuple[list[FieldError]]]:
        return NoticeInvalid, (self.errors,)  # picklable, e.g. to another process

    @classmethod
    def single(cls, field: str, reason: str) -> NoticeInvalid:
        return cls([FieldError(field, reason)])


def validate_notice(data: Any) -> Notice:
    """The notice in `data` (a JSON object, or a CSV row already unflattened)."""
    if not isinstance(data, dict):
        raise NoticeInvalid([FieldError("(record)", "a notice must be a JSON object")])
    if problem := data_problem(data):  # text no database or letter can hold
        raise NoticeInvalid([FieldError("(record)", problem)])
    try:
        notice = Notice.model_validate(data)
    except ValidationError as exc:
        raise NoticeInvalid([_field_error(err) for err in exc.errors()]) from None
    missing = [name for name in REQUIRED_BY_KIND[notice.kind] if getattr(notice, name) is None]
    if notice.dwelling is None and notice.kind not in DWELLING_OPTIONAL:
        missing.append("dwelling")
    if missing:
        raise NoticeInvalid(
            [FieldError(name, f"required for a {notice.kind}") for name in missing]
        )
    return notice


def _field_error(error: Any) -> FieldError:
    path = ".".join(str(part) for part in error["loc"] if not _is_type_tag(part))
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if error["type"] == "missing" or (error.get("input") is None
                                      and error["type"].endswith("_type")):
        message = "required"
    elif error["type"] == "literal_error":
        message = f"'{shown(error.get('input'))}' is not one of {error['ctx']['expected']}"
    return FieldError(path or "(record)", message)


def _is_type_tag(part: Any) -> bool:
    # pydantic adds the union member ("function-before[...]") to locations; drop it
    return isinstance(part, str) and ("[" in part or part in ("literal", "str", "date"))


def notice_json_schema() -> dict[str, Any]:
    """The JSON Schema of a notice (`domus schema notice`)."""
    schema = Notice.model_json_schema()
    schema["title"] = "Domus eviction-procedure notice"
    schema["description"] = (
        "One notice from a court registry or bailiff. Required by kind: "
        + "; ".join(f"{kind}: {', '.join(req) or 'nothing more'}"
                    for kind, req in REQUIRED_BY_KIND.items())
        + ". dwelling may be left out of a judgment, eviction_notice or objection "
        "when the docket is already known."
    )
    return schema
