"""A team lead's view of one OCMW (issue 6, *Team*): overdue tasks and at-risk cases across
the team, each person's workload, and moving tasks from one person to another.

Built to stay fast among 100,000 cases without loading a case document: a person's tasks
are counted from the index on tasks(assignee, status, due_on) alone (a task is only ever
given to staff of its case's OCMW: services.assignment and services.tasks see to that), the
overdue list takes at most `limit` task ids from that index before it reads their cases, and
the at-risk cases come from the at-risk flags and the indexes on the hearing and eviction
dates. Every row shown is checked against the OCMW again when its case is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, exists, func, literal, select, union, union_all
from sqlalchemy import update as sql_update

from domain.access import Actor
from domain.calendar import BelgianCalendar
from domain.sweep import at_risk_horizon
from services.tasks import ASSIGNABLE_ROLES, REASSIGNERS, TaskError
from store import tables as t

#: rows shown per list; the page says how many there are in all
SHOWN = 200
#: the `assignee` value that means "the team queue" (an e-mail always has an "@")
QUEUE = "queue"
#: "due this week": today and the next seven days, as on My tasks
WEEK = timedelta(days=8)


@dataclass(frozen=True)
class Member:
    """A user of the OCMW (or an address that still holds its work)."""

    email: str
    name: str
    role: str
    active: bool

    @property
    def assignable(self) -> bool:
        return self.active and self.role in ASSIGNABLE_ROLES


@dataclass
class Load:
    open: int = 0
    overdue: int = 0
    this_week: int = 0
    cases: int = 0


@dataclass
class TeamOverview:
    ocmw: str
    today: date
    members: list[Member]  # active caseworkers and team leads: who may be given a task
    workload: list[tuple[Member, Load]]  # the members, then anyone else still holding work
    queue: Load
    overdue: list[dict[str, Any]]
    overdue_total: int
    at_risk: list[dict[str, Any]]
    at_risk_total: int
    assignee: str | None = None  # the filter on the overdue list: an e-mail, QUEUE or None

    def names(self) -> dict[str, str]:
        """E-mail → name of everyone on the page."""
        return {member.email: member.name for member, _ in self.workload}


def team_overview(connection: Connection, actor: Actor, *, today: date,
                  calendar: BelgianCalendar, assignee: str | None = None,
                  limit: int = SHOWN) -> TeamOverview:
    """Everything the Team page shows for the actor's OCMW (a team lead or administrator);
    `assignee` keeps the overdue tasks of one person (an e-mail) or of the team queue."""
    ocmw = _ocmw_of(actor)
    people = ocmw_people(connection, ocmw)
    loads, queue = workload(connection, ocmw, list(people), today=today)
    members = [person for person in people.values() if person.assignable]
    rows = [(member, loads.pop(member.email, Load())) for member in members]
    rows += [(people.get(email) or Member(email, email, "", False), load)
             for email, load in sorted(loads.items()) if load.open or load.cases]
    if assignee == QUEUE:
        holders, overdue_total = [], queue.overdue
    elif assignee:
        holders = [assignee] if assignee in people else []
        overdue_total = next((load.overdue for m, load in rows if m.email == assignee), 0)
    else:
        holders, overdue_total = list(people), queue.overdue + sum(load.overdue for _, load in rows)
    overdue = overdue_tasks(connection, ocmw, holders, queue=assignee in (None, QUEUE),
                            today=today, calendar=calendar, limit=limit)
    at_risk = at_risk_cases(connection, ocmw, today=today, calendar=calendar)
    names = {member.email: member.name for member, _ in rows}
    for task in overdue:
        task["assignee_name"] = names.get(task["assignee"], task["assignee"])
    for row in at_risk:
        row["caseworker_name"] = names.get(row["caseworker"], row["caseworker"])
    return TeamOverview(ocmw, today, members, rows, queue, overdue, overdue_total,
                        at_risk[:limit], len(at_risk), assignee)


def _ocmw_of(actor: Actor) -> str:
    if actor.role not in REASSIGNERS or actor.ocmw is None:
        raise TaskError("the team page is for team leads and administrators of an OCMW")
    return actor.ocmw


def ocmw_people(connection: Connection, ocmw: str) -> dict[str, Member]:
    """Every user of the OCMW (active or not), by name."""
    u = t.users.c
    return {row.email: Member(row.email, row.name, row.role, bool(row.active))
            for row in connection.execute(select(u.email, u.name, u.role, u.active)
                                          .where(u.ocmw == ocmw).order_by(u.name, u.email))}


def _in_ocmw(ocmw: str) -> Any:
    """The task's case is the OCMW's (for an UPDATE, which cannot join)."""
    return exists().where(t.cases.c.id == t.tasks.c.case_id, t.cases.c.ocmw == ocmw)


def _queue_of(ocmw: str) -> tuple[Any, tuple[Any, ...]]:
    """The OCMW's open tasks nobody holds: FROM and WHERE (read from the indexes
    ix_tasks_assignee_open_case and ix_cases_id_ocmw alone)."""
    return (t.tasks.join(t.cases, t.cases.c.id == t.tasks.c.case_id),
            (t.tasks.c.assignee.is_(None), t.tasks.c.status == "open", t.cases.c.ocmw == ocmw))


def workload(connection: Connection, ocmw: str, people: list[str], *, today: date
             ) -> tuple[dict[str, Load], Load]:
    """Per person: open tasks, overdue, due this week and open cases held (cases.caseworker);
    and the same counts for the team queue (the OCMW's open tasks nobody holds)."""
    tasks, due = t.tasks.c, t.tasks.c.due_on
    counts = (func.count(), func.sum(case((due < today, 1), else_=0)),
              func.sum(case(((due >= today) & (due < today + WEEK), 1), else_=0)))
    loads: dict[str, Load] = {}
    if people:
        for assignee, n, overdue, week in connection.execute(
                select(tasks.assignee, *counts)
                .where(tasks.assignee.in_(people), tasks.status == "open")
                .group_by(tasks.assignee)):
            loads[assignee] = Load(int(n), int(overdue or 0), int(week or 0))
    joined, unassigned = _queue_of(ocmw)
    n, overdue, week = connection.execute(
        select(*counts).select_from(joined).where(*unassigned)).one()
    queue = Load(int(n or 0), int(overdue or 0), int(week or 0))
    c = t.cases.c
    for caseworker, held in connection.execute(
            select(c.caseworker, func.count())
            .where(c.ocmw == ocmw, c.status == "open", c.caseworker.is_not(None))
            .group_by(c.caseworker)):
        loads.setdefault(caseworker, Load()).cases = int(held)
    return loads, queue


def overdue_tasks(connection: Connection, ocmw: str, holders: list[str], *, queue: bool,
                  today: date, calendar: BelgianCalendar, limit: int = SHOWN
                  ) -> list[dict[str, Any]]:
    """The open tasks due before `today` that `holders` hold (and, with `queue`, the team
    queue's), oldest first, at most `limit`, with their case and working days overdue."""
    tasks = t.tasks.c
    parts = []
    if holders:
        parts.append(select(tasks.id, tasks.due_on).where(
            tasks.assignee.in_(holders), tasks.status == "open", tasks.due_on < today))
    if queue:
        joined, unassigned = _queue_of(ocmw)
        parts.append(select(tasks.id, tasks.due_on).select_from(joined)
                     .where(*unassigned, tasks.due_on < today))
    if not parts:
        return []
    chosen = union_all(*parts).subquery()
    ids = list(connection.scalars(select(chosen.c.id)
                                  .order_by(chosen.c.due_on, chosen.c.id).limit(limit)))
    if not ids:
        return []
    c = t.cases.c
    rows = [row._asdict() for row in connection.execute(
        select(tasks.id, tasks.case_id, tasks.kind, tasks.due_on, tasks.assignee, c.court,
               c.docket_number, c.tenant_first_name, c.tenant_last_name, c.hearing_at,
               c.eviction_at, c.earliest_eviction_on)
        .join(t.cases, c.id == tasks.case_id)
        .where(tasks.id.in_(ids), c.ocmw == ocmw))]
    rows.sort(key=lambda row: (row["due_on"], row["id"]))
    for row in rows:
        row["days_overdue"] = calendar.working_days_between(row["due_on"], today,
                                                            internal=True)
    return rows


def at_risk_cases(connection: Connection, ocmw: str, *, today: date,
                  calendar: BelgianCalendar) -> list[dict[str, Any]]:
    """The OCMW's open cases the sweep flagged at risk, and those whose hearing or eviction
    falls within 5 working days with no effective contact yet (the sweep's own rule, so a
    new case shows before the next sweep), the soonest hearing or eviction first."""
    c = t.cases.c
    start = datetime.combine(today, time.min)
    end = datetime.combine(at_risk_horizon(today, calendar) + timedelta(days=1), time.min)
    candidates = union(
        select(t.flags.c.case_id.label("id"), literal(1).label("flagged"))
        .where(t.flags.c.code == "at_risk"),
        select(c.id, literal(0)).where(c.hearing_at >= start, c.hearing_at < end),
        select(c.id, literal(0)).where(c.eviction_at >= start, c.eviction_at < end),
    ).subquery()
    marks = (select(candidates.c.id, func.max(candidates.c.flagged).label("flagged"))
             .group_by(candidates.c.id)).subquery()
    found = []
    for row in connection.execute(
            select(c.id.label("case_id"), c.court, c.docket_number, c.tenant_first_name,
                   c.tenant_last_name, c.hearing_at, c.eviction_at, c.caseworker,
                   marks.c.flagged)
            .join(marks, marks.c.id == c.id)
            .where(c.ocmw == ocmw, c.status == "open",
                   (marks.c.flagged == 1) | c.first_effective_contact_on.is_(None))):
        item = row._asdict()
        item["flagged"] = bool(item["flagged"])
        item["event"], item["event_at"] = _next_event(row.hearing_at, row.eviction_at, today)
        found.append(item)
    found.sort(key=lambda item: (item["event_at"] is None, item["event_at"] or start,
                                 item["case_id"]))
    return found


def _next_event(hearing: datetime | None, eviction: datetime | None,
                today: date) -> tuple[str | None, datetime | None]:
    """The hearing or eviction still to come (the sooner one), else the latest past one."""
    dates = [(on, name) for name, on in (("hearing", hearing), ("eviction", eviction))
             if on is not None]
    coming = sorted(d for d in dates if d[0].date() >= today)
    chosen = coming[0] if coming else max(dates, default=(None, None))
    return chosen[1], chosen[0]


def move_open_tasks(engine: Engine, from_assignee: str, to_assignee: str | None, actor: Actor,
                    *, now: datetime, channel: str, with_cases: bool = False
                    ) -> dict[str, int]:
    """Give every open task `from_assignee` holds in the actor's OCMW to `to_assignee` (an
    active caseworker or team lead of that OCMW; None: the team queue), in one transaction;
    with `with_cases`, the open cases they hold go to `to_assignee` too. Only the actor's
    OCMW's tasks and cases are touched, and each case touched gets one audit entry
    ("reassign", on `channel`)."""
    ocmw = _ocmw_of(actor)
    source = from_assignee.strip().lower()
    target = to_assignee.strip().lower() if to_assignee else None
    if not source:
        raise TaskError("from: choose whose tasks to move")
    if source == target:
        raise TaskError("to: choose someone else than the person whose tasks move")
    if with_cases and target is None:
        raise TaskError("cases: the team queue holds no cases; choose a person")
    with engine.begin() as connection:
        if target is not None:
            user = connection.execute(select(t.users).where(t.users.c.email == target)).first()
            if user is None or not user.active or user.ocmw != ocmw \
                    or user.role not in ASSIGNABLE_ROLES:
                raise TaskError(f"{target} is not a caseworker or team lead of OCMW {ocmw}")
        theirs = (t.tasks.c.assignee == source, t.tasks.c.status == "open", _in_ocmw(ocmw))
        touched = set(connection.scalars(select(t.tasks.c.case_id).where(*theirs).distinct()))
        tasks = connection.execute(sql_update(t.tasks).where(*theirs)
                                   .values(assignee=target, updated_at=now)).rowcount
        cases = 0
        if with_cases:
            held = (t.cases.c.caseworker == source, t.cases.c.ocmw == ocmw,
                    t.cases.c.status == "open")
            touched |= set(connection.scalars(select(t.cases.c.id).where(*held)))
            cases = connection.execute(sql_update(t.cases).where(*held)
                                       .values(caseworker=target, updated_at=now)).rowcount
        if touched:
            connection.execute(t.audit_log.insert(), [
                {"case_id": case_id, "actor": actor.name, "action": "reassign",
                 "channel": channel, "at": now} for case_id in sorted(touched)])
    return {"tasks": tasks, "cases": cases}
