"""A user's deadlines, hearings and evictions as an iCalendar feed (RFC 5545).

Caseworkers get their own tasks and the court dates of their cases; team leads and
administrators get everything of their OCMW; a monitor gets nothing (no personal data).

Every event keeps its UID for the life of its task or case; its SEQUENCE grows with the row's
`updated_at`, so a moved deadline replaces the old event in a client that imported the file.
Tasks done or cancelled in the last 60 days stay in the feed as STATUS:CANCELLED for the same
reason. Times in the database are naive Europe/Brussels; the feed says so with TZID.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vDuration
from sqlalchemy import Connection, Row, and_, or_, select

from domain.rulebook import RuleBook
from services.vocabulary import event_label, task_label
from store import tables as t

BRUSSELS = ZoneInfo("Europe/Brussels")
PRODID = "-//Domus//Eviction prevention//NL-FR"
#: how far back closed tasks (as cancelled) and past hearings/evictions stay in the feed
KEEP_PAST = timedelta(days=60)
#: SEQUENCE counts whole minutes from here (Europe/Brussels)
SEQUENCE_EPOCH = datetime(2026, 1, 1)
HEARING_LENGTH = timedelta(hours=1)
EVICTION_LENGTH = timedelta(hours=2)
FEED_ROLES = ("caseworker", "team_lead", "administrator")
LIVE_CASE_STATUSES = ("open", "objected")

FIELD_LABELS: dict[str, dict[str, str]] = {
    "court": {"nl": "Gerecht", "fr": "Juridiction"},
    "docket": {"nl": "Rolnummer", "fr": "Numéro de rôle"},
    "tenant": {"nl": "Huurder", "fr": "Locataire"},
    "dwelling": {"nl": "Woning", "fr": "Logement"},
    "rule": {"nl": "Regel", "fr": "Règle"},
    "case": {"nl": "Dossier", "fr": "Dossier"},
    "box": {"nl": "bus", "fr": "bte"},
}


class CalendarRefused(Exception):
    """This user gets no calendar feed (a monitor never receives personal data)."""


def build_calendar(connection: Connection, user: Mapping[str, Any] | Row[Any], *,
                   now: datetime, base_url: str, rules: RuleBook | None = None) -> bytes:
    """The feed of `user` (email, name, role, ocmw, language) as an iCalendar document.

    `now` is naive Europe/Brussels (or aware). With `rules`, a task's rule is given in the
    user's language from the OCMW's playbook; otherwise as stored on the task."""
    user = _mapping(user)
    role, ocmw = user["role"], user["ocmw"]
    if role not in FEED_ROLES:
        raise CalendarRefused(f"no calendar feed for the {role} role")
    language = user["language"] if user["language"] in ("nl", "fr") else "nl"
    local_now = _local(now)
    since = local_now - KEEP_PAST
    base_url = base_url.rstrip("/")

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Domus — {user['name']}")
    calendar.add("x-wr-timezone", "Europe/Brussels")
    calendar.add("refresh-interval", vDuration(timedelta(hours=1)),
                 parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(timedelta(hours=1)))

    stamp = _utc(local_now)
    playbook = rules.playbook_for(ocmw) if rules is not None else None
    if ocmw is not None:  # staff without an OCMW see no case
        for row in _tasks(connection, role, user["email"], ocmw, since):
            rule = (playbook.rule_text(row.kind, language) if playbook else None) or row.rule
            calendar.add_component(_task_event(row, language, rule, base_url, stamp))
        for row in _cases(connection, role, user["email"], ocmw, since):
            for event in _case_events(row, language, base_url, stamp, since):
                calendar.add_component(event)

    calendar.add_missing_timezones()
    # VTIMEZONE first: RFC 5545 allows any order, some older clients do not
    calendar.subcomponents.sort(key=lambda component: component.name != "VTIMEZONE")
    return calendar.to_ical()


def _tasks(connection: Connection, role: str, email: str, ocmw: str,
           since: datetime) -> list[Row[Any]]:
    """Open tasks, and those done or cancelled since `since`: a caseworker's own (index
    tasks(assignee, status)), or all of the OCMW's (index cases.ocmw, then tasks by case)."""
    query = (
        select(t.tasks.c.id, t.tasks.c.case_id, t.tasks.c.kind, t.tasks.c.due_on,
               t.tasks.c.status, t.tasks.c.rule, t.tasks.c.updated_at,
               t.cases.c.court, t.cases.c.docket_number, t.cases.c.tenant_first_name,
               t.cases.c.tenant_last_name)
        .join(t.cases, t.cases.c.id == t.tasks.c.case_id)
        .where(t.cases.c.ocmw == ocmw)
        .where(or_(t.tasks.c.status == "open",
                   and_(t.tasks.c.status.in_(("done", "cancelled")),
                        t.tasks.c.updated_at >= since)))
        .order_by(t.tasks.c.due_on, t.tasks.c.id)
    )
    if role == "caseworker":
        query = query.where(t.tasks.c.assignee == email)
    return list(connection.execute(query))


def _cases(connection: Connection, role: str, email: str, ocmw: str,
           since: datetime) -> list[Row[Any]]:
    """The OCMW's live cases with a hearing or eviction since `since`; for a caseworker only
    those on which they are the caseworker or hold an open task."""
    query = (
        select(t.cases.c.id, t.cases.c.court, t.cases.c.docket_number,
               t.cases.c.tenant_first_name, t.cases.c.tenant_last_name, t.cases.c.street,
               t.cases.c.house_number, t.cases.c.box, t.cases.c.postcode,
               t.cases.c.municipality, t.cases.c.hearing_at, t.cases.c.eviction_at,
               t.cases.c.updated_at)
        .where(t.cases.c.ocmw == ocmw)
        .where(t.cases.c.status.in_(LIVE_CASE_STATUSES))
        .where(or_(t.cases.c.hearing_at >= since, t.cases.c.eviction_at >= since))
        .order_by(t.cases.c.id)
    )
    if role == "caseworker":
        own_tasks = (select(t.tasks.c.case_id)
                     .where(t.tasks.c.assignee == email, t.tasks.c.status == "open"))
        query = query.where(or_(t.cases.c.caseworker == email, t.cases.c.id.in_(own_tasks)))
    return list(connection.execute(query))


def _task_event(row: Row[Any], language: str, rule: str, base_url: str,
                stamp: datetime) -> Event:
    link = f"{base_url}/cases/{row.case_id}"
    event = _event(f"task-{row.id}@domus", row.updated_at, stamp)
    event.add("summary", f"{task_label(row.kind, language)} — {row.docket_number} "
                         f"({row.tenant_last_name})")
    event.add("dtstart", row.due_on)
    event.add("dtend", row.due_on + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("status", "CONFIRMED" if row.status == "open" else "CANCELLED")
    event.add("categories", [row.kind])
    event.add("url", link)
    event.add("description", _lines(language, (
        ("court", row.court), ("docket", row.docket_number), ("tenant", _tenant(row)),
        ("rule", rule), ("case", link))))
    return event


def _case_events(row: Row[Any], language: str, base_url: str, stamp: datetime,
                 since: datetime) -> list[Event]:
    link = f"{base_url}/cases/{row.id}"
    address = _address(row, language)
    events = []
    for kind, at, length, location in (
        ("hearing", row.hearing_at, HEARING_LENGTH, row.court),
        ("eviction", row.eviction_at, EVICTION_LENGTH, address),
    ):
        if at is None or at < since:
            continue
        start = at.replace(tzinfo=BRUSSELS)
        event = _event(f"{kind}-{row.id}@domus", row.updated_at, stamp)
        event.add("summary", f"{event_label(kind, language)} — {row.docket_number} "
                             f"({row.tenant_last_name})")
        event.add("dtstart", start)
        event.add("dtend", (at + length).replace(tzinfo=BRUSSELS))
        event.add("status", "CONFIRMED")
        event.add("categories", [kind])
        if location:
            event.add("location", location)
        event.add("url", link)
        event.add("description", _lines(language, (
            ("court", row.court), ("docket", row.docket_number), ("tenant", _tenant(row)),
            ("dwelling", address), ("case", link))))
        events.append(event)
    return events


def _event(uid: str, updated_at: datetime, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("last-modified", _utc(updated_at))
    event.add("sequence", sequence(updated_at))
    return event


def sequence(updated_at: datetime) -> int:
    """Whole minutes from 2026-01-01 (Brussels) to `updated_at`, counted in UTC so that the
    autumn clock change never lowers it; never negative."""
    minutes = (_utc(updated_at) - _utc(SEQUENCE_EPOCH)) // timedelta(minutes=1)
    return max(0, minutes)


def _lines(language: str, fields: Iterable[tuple[str, str | None]]) -> str:
    return "\n".join(f"{FIELD_LABELS[name][language]}: {value}"
                     for name, value in fields if value)


def _tenant(row: Row[Any]) -> str:
    return " ".join(part for part in (row.tenant_first_name, row.tenant_last_name) if part)


def _address(row: Row[Any], language: str) -> str:
    street = " ".join(part for part in (row.street, row.house_number) if part)
    if row.box:
        street = f"{street} {FIELD_LABELS['box'][language]} {row.box}"
    town = " ".join(part for part in (row.postcode, row.municipality) if part)
    return ", ".join(part for part in (street, town) if part)


def _local(moment: datetime) -> datetime:
    """`moment` as a naive Europe/Brussels time, like the database's."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(BRUSSELS).replace(tzinfo=None)


def _utc(local: datetime) -> datetime:
    """A naive Europe/Brussels time (or an aware one) in UTC."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=BRUSSELS)
    return local.astimezone(UTC)


def _mapping(user: Mapping[str, Any] | Row[Any]) -> Mapping[str, Any]:
    return user._mapping if isinstance(user, Row) else user


__all__ = ["CalendarRefused", "build_calendar", "sequence"]
