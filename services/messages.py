"""Notification e-mails in the recipient's language, from the Jinja2 templates in
`templates/email/{nl,fr}/` (plain text; the first line is "Subject: …", then a blank line).

Templates see the notice's fields by name (`case`, `due_on`, …) and `language`, and have the
filters `date_long`, `date_full` (with the weekday), `datetime_long`, `task_label` and
`event_label`, all in the template's language."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_time
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from services import vocabulary

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "email"

LOCALES = {"nl": "nl_BE", "fr": "fr_BE"}
_AT = {"nl": "om", "fr": "à"}
REASONS = ("due", "overdue", "escalated")
EVENTS = ("hearing", "eviction")


@dataclass(frozen=True)
class CaseRef:
    case_id: str
    court: str
    docket_number: str
    tenant_first_name: str | None
    tenant_last_name: str
    url: str

    @property
    def tenant_name(self) -> str:
        if self.tenant_first_name:
            return f"{self.tenant_first_name} {self.tenant_last_name}"
        return self.tenant_last_name


@dataclass(frozen=True)
class TaskNotice:
    """A task due today, overdue, or escalated to the team lead."""

    reason: str  # "due" | "overdue" | "escalated"
    recipient_name: str
    task_kind: str
    due_on: date
    rule: str | None  # why this date, in the recipient's language or the OCMW's own text
    assignee_name: str | None  # who holds the task; None: the team queue
    working_days_late: int
    case: CaseRef

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"TaskNotice.reason must be one of {REASONS}, not {self.reason!r}")


@dataclass(frozen=True)
class AtRiskNotice:
    """A hearing or eviction close by, and no effective contact with the household yet."""

    recipient_name: str
    event: str  # "hearing" | "eviction"
    event_at: datetime
    case: CaseRef

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"AtRiskNotice.event must be one of {EVENTS}, not {self.event!r}")


@dataclass(frozen=True)
class DigestItem:
    task_kind: str
    due_on: date
    overdue: bool
    case: CaseRef


@dataclass(frozen=True)
class Digest:
    """A user's open tasks for `day`: the overdue ones and those due that day."""

    recipient_name: str
    day: date
    items: tuple[DigestItem, ...]


Notice = TaskNotice | AtRiskNotice | Digest

_TEMPLATES: dict[type, str] = {TaskNotice: "task.txt", AtRiskNotice: "at_risk.txt",
                               Digest: "digest.txt"}


def _language(context: Context, language: str | None) -> str:
    return language or context["language"]


@pass_context
def _date_long(context: Context, value: date, language: str | None = None) -> str:
    return format_date(value, format="long", locale=LOCALES[_language(context, language)])


@pass_context
def _date_full(context: Context, value: date, language: str | None = None) -> str:
    return format_date(value, format="full", locale=LOCALES[_language(context, language)])


@pass_context
def _datetime_long(context: Context, value: datetime, language: str | None = None) -> str:
    lang = _language(context, language)
    day = format_date(value, format="long", locale=LOCALES[lang])
    return f"{day} {_AT[lang]} {format_time(value, 'HH:mm', locale=LOCALES[lang])}"


@pass_context
def _task_label(context: Context, kind: str, language: str | None = None) -> str:
    return vocabulary.task_label(kind, _language(context, language))


@pass_context
def _event_label(context: Context, event: str, language: str | None = None) -> str:
    return vocabulary.event_label(event, _language(context, language))


@cache
def environment() -> Environment:
    """The one Jinja2 environment for all e-mail templates (plain text, strict)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        date_long=_date_long,
        date_full=_date_full,
        datetime_long=_datetime_long,
        task_label=_task_label,
        event_label=_event_label,
    )
    return env


#: what ends a line for a mail reader or for `str.splitlines` (CR, LF, VT, FF, NEL, U+2028…)
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def one_line(value: Any) -> Any:
    """`value` with every line break in its text (also inside dataclasses and tuples) made
    one space: a name or docket received with a line break must not end the Subject line
    (a header injection, and the template's subject check would fail on every mail) nor
    forge lines in the body."""
    if isinstance(value, str):
        return _LINE_BREAKS.sub(" ", value)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: one_line(getattr(value, f.name))
                                 for f in fields(value)})
    if isinstance(value, tuple):
        return tuple(one_line(item) for item in value)
    return value


def context_of(notice: Notice, language: str) -> dict[str, Any]:
    """What a template sees: the notice's fields by name (each text on one line), `language`,
    and for a digest `overdue_items` and `due_items` (each by due date, then docket number)."""
    notice = one_line(notice)
    context: dict[str, Any] = {f.name: getattr(notice, f.name) for f in fields(notice)}
    context["language"] = language
    if isinstance(notice, Digest):
        ordered = sorted(notice.items, key=lambda i: (i.due_on, i.case.docket_number))
        context["overdue_items"] = [i for i in ordered if i.overdue]
        context["due_items"] = [i for i in ordered if not i.overdue]
    return context


def render(notice: Notice, language: str) -> tuple[str, str]:
    """(subject, body) of `notice` in `language` ("nl" or "fr")."""
    if language not in LOCALES:
        raise ValueError(f"no e-mail templates for language {language!r}; expected nl or fr")
    name = _TEMPLATES.get(type(notice))
    if name is None:
        raise TypeError(f"no e-mail template for {type(notice).__name__}")
    path = f"{language}/{name}"
    text = environment().get_template(path).render(context_of(notice, language))
    first, _, rest = text.lstrip("\n").partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {path} must start with a 'Subject: ' line")
    subject = first.removeprefix("Subject: ").strip()
    if not subject:
        raise ValueError(f"template {path} gives an empty subject")
    blank, _, body = rest.partition("\n")
    if blank.strip():
        raise ValueError(f"template {path}: a blank line must follow the subject")
    return subject, body
