"""The OCMW's internal playbook: which tasks a case gets and when they are due.

DESIGN.md, "Internal playbook": due dates are working-day arithmetic on the OCMW's calendar
(closures count), and "N days before/after an event" counts calendar days and then moves
back to the previous working day. The playbook is a TOML text (``domain/data/
playbook_brussels.toml`` is the Brussels default) parsed once into ``TaskRule`` objects.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources

from domain.assignment import ASSIGNMENT_RULES, DEFAULT_ASSIGNMENT_RULE
from domain.calendar import BelgianCalendar

TASK_KINDS: tuple[str, ...] = (  # CONTRACT.md, task kinds, in playbook order
    "invitation_letter", "first_contact", "home_visit", "landlord_contact",
    "hearing_preparation", "hearing_result", "post_judgment_contact", "rehousing_plan",
    "urgent_home_visit", "emergency_rehousing",
)
# trigger -> the PlaybookFacts field holding the trigger notice's receipt date
TRIGGER_RECEIVED_ON = {
    "opening": "opening_received_on",
    "judgment": "judgment_received_on",
    "eviction_notice": "eviction_notice_received_on",
}
ANCHORS = ("received_on", "hearing", "earliest_eviction", "eviction")
TASK_FIELDS = ("kind", "trigger", "due", "rule", "rule_nl", "rule_fr")
RULE_LANGUAGES = ("nl", "fr")
DUE_TERM = re.compile(
    r"\s*(?P<anchor>[a-z_]+)\s*(?P<sign>[-+−])\s*(?P<count>\d+)\s+(?P<unit>working days?|days?)\s*"
)


class PlaybookError(ValueError):
    """A playbook text that cannot be read; the message names the task (1-based) and field."""


@dataclass(frozen=True)
class DueTerm:
    """One due term, e.g. "hearing - 7 days": an anchor date and a signed offset."""

    anchor: str
    offset: int
    working_days: bool

    def due_on(self, anchor_on: date, calendar: BelgianCalendar) -> date:
        """Return the term's date: ``offset`` internal working days from the anchor, or
        ``offset`` calendar days moved back to the previous internal working day (DESIGN.md,
        internal playbook)."""
        if self.working_days:
            return calendar.add_working_days(anchor_on, self.offset, internal=True)
        shifted = anchor_on + timedelta(days=self.offset)
        return calendar.previous_working_day(shifted, internal=True)


@dataclass(frozen=True)
class TaskRule:
    """One [[task]] of the playbook: its kind, trigger, due terms and explanation."""

    kind: str
    trigger: str
    due: tuple[DueTerm, ...]
    rule: str
    #: the rule in the caseworkers' languages, as (language, text) pairs
    translations: tuple[tuple[str, str], ...] = ()

    def rule_in(self, language: str) -> str:
        """The explanation in `language` when the playbook gives one, else `rule`."""
        return dict(self.translations).get(language, self.rule)

    def due_on(self, anchors: dict[str, date | None], calendar: BelgianCalendar) -> date | None:
        """Return the earliest date among the terms whose anchor is known; None if none is."""
        dates = [
            term.due_on(anchor_on, calendar)
            for term in self.due
            if (anchor_on := anchors[term.anchor]) is not None
        ]
        return min(dates, default=None)


@dataclass(frozen=True)
class PlannedTask:
    """A task the playbook plans on a case, with the rule that explains its due date."""

    kind: str
    due_on: date
    rule: str


@dataclass(frozen=True)
class PlaybookFacts:
    """The case dates the playbook plans from."""

    opening_received_on: date | None = None
    hearing_on: date | None = None
    judgment_received_on: date | None = None
    earliest_eviction_on: date | None = None
    eviction_notice_received_on: date | None = None
    eviction_on: date | None = None


@dataclass(frozen=True)
class Playbook:
    """A parsed playbook: its task rules in file order."""

    rules: tuple[TaskRule, ...]
    #: how new tasks get their caseworker (domain.assignment)
    assignment_rule: str = DEFAULT_ASSIGNMENT_RULE

    def rule_text(self, kind: str, language: str) -> str | None:
        """Why a task of `kind` is due when it is, in `language` (e-mails, calendars)."""
        rule = next((r for r in self.rules if r.kind == kind), None)
        return rule.rule_in(language) if rule else None

    def plan(self, facts: PlaybookFacts, calendar: BelgianCalendar) -> list[PlannedTask]:
        """Return the tasks due on a case, in file order (DESIGN.md, internal playbook): a task
        is planned once its trigger notice was received and at least one due term is known."""
        events = {
            "hearing": facts.hearing_on,
            "earliest_eviction": facts.earliest_eviction_on,
            "eviction": facts.eviction_on,
        }
        planned = []
        for rule in self.rules:
            received_on = getattr(facts, TRIGGER_RECEIVED_ON[rule.trigger])
            if received_on is None:
                continue
            due_on = rule.due_on({**events, "received_on": received_on}, calendar)
            if due_on is not None:
                planned.append(PlannedTask(rule.kind, due_on, rule.rule))
        return planned


def parse_playbook(text: str) -> Playbook:
    """Return the playbook of a TOML ``text`` of [[task]] blocks (format explained in
    ``domain/data/playbook_brussels.toml``); PlaybookError naming task and field otherwise."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PlaybookError(f"playbook is not valid TOML: {error}") from None
    extra = sorted(set(document) - {"task", "assignment"})
    if extra:
        raise PlaybookError(f"playbook: unknown top-level key {extra[0]!r}; "
                            "only [[task]] blocks and an [assignment] table")
    tasks = document.get("task")
    if not isinstance(tasks, list) or not tasks:
        raise PlaybookError("playbook has no [[task]] blocks")
    rules = tuple(_parse_task(number, table) for number, table in enumerate(tasks, start=1))
    _check_kinds_unique(rules)
    return Playbook(rules, _parse_assignment(document.get("assignment", {})))


def _parse_assignment(table: object) -> str:
    """Return the assignment rule of the [assignment] table (default: case_caseworker)."""
    if not isinstance(table, dict):
        raise PlaybookError("playbook: [assignment] must be a table, e.g. rule = \"fewest_open\"")
    unknown = sorted(set(table) - {"rule"})
    if unknown:
        raise PlaybookError(f"[assignment], field {unknown[0]!r}: unknown field; only 'rule'")
    rule = table.get("rule", DEFAULT_ASSIGNMENT_RULE)
    if rule not in ASSIGNMENT_RULES:
        raise PlaybookError(f"[assignment], field 'rule': {rule!r} is not one of "
                            f"{', '.join(ASSIGNMENT_RULES)}")
    return rule


def _task_error(number: int, field: str, problem: str) -> PlaybookError:
    return PlaybookError(f"task {number}, field {field!r}: {problem}")


def _parse_task(number: int, table: dict) -> TaskRule:
    """Return the TaskRule of the ``number``-th [[task]] table."""
    if not isinstance(table, dict):
        raise PlaybookError(f"task {number}: must be a [[task]] block of fields")
    for field in table:
        if field not in TASK_FIELDS:
            raise _task_error(number, field, f"unknown field; expected one of {TASK_FIELDS}")
    kind = _choice(table, "kind", TASK_KINDS, number)
    trigger = _choice(table, "trigger", tuple(TRIGGER_RECEIVED_ON), number)
    due = _parse_due(table.get("due"), number)
    rule = table.get("rule", f"playbook: {kind} due {table['due']}")
    if not isinstance(rule, str):
        raise _task_error(number, "rule", "must be text in quotes")
    translations = []
    for language in RULE_LANGUAGES:
        text = table.get(f"rule_{language}")
        if text is None:
            continue
        if not isinstance(text, str):
            raise _task_error(number, f"rule_{language}", "must be text in quotes")
        translations.append((language, text))
    return TaskRule(kind, trigger, due, rule, tuple(translations))


def _choice(table: dict, field: str, allowed: tuple[str, ...], number: int) -> str:
    """Return ``table[field]`` if it is one of ``allowed``."""
    value = table.get(field)
    if value is None:
        raise _task_error(number, field, "missing")
    if value not in allowed:
        raise _task_error(number, field, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _parse_due(value: object, number: int) -> tuple[DueTerm, ...]:
    """Return the due terms of a due string or list of strings."""
    if value is None:
        raise _task_error(number, "due", "missing")
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        raise _task_error(number, "due", "must be a term in quotes or a list of terms")
    return tuple(_parse_due_term(text, number) for text in texts)


def _parse_due_term(text: object, number: int) -> DueTerm:
    """Return the DueTerm of a text such as "hearing - 7 days"."""
    match = DUE_TERM.fullmatch(text) if isinstance(text, str) else None
    if match is None or match["anchor"] not in ANCHORS:
        raise _task_error(
            number,
            "due",
            f"cannot read {text!r}; expected '<date> + N working days' or '<date> - N days' "
            f"with <date> one of {', '.join(ANCHORS)}",
        )
    count = int(match["count"])
    offset = count if match["sign"] == "+" else -count
    return DueTerm(match["anchor"], offset, match["unit"].startswith("working"))


def _check_kinds_unique(rules: tuple[TaskRule, ...]) -> None:
    """Raise PlaybookError when two tasks have the same kind."""
    first_number: dict[str, int] = {}
    for number, rule in enumerate(rules, start=1):
        if rule.kind in first_number:
            earlier = first_number[rule.kind]
            raise _task_error(number, "kind", f"{rule.kind!r} is already planned by task {earlier}")
        first_number[rule.kind] = number


def default_playbook_text() -> str:
    """Return the text of the packaged Brussels playbook (DESIGN.md's playbook table)."""
    return (resources.files("domain") / "data" / "playbook_brussels.toml").read_text("utf-8")


@cache
def default_playbook() -> Playbook:
    """Return the packaged Brussels playbook, parsed once."""
    return parse_playbook(default_playbook_text())
