"""The deadline sweep's database side: which notifications to write, and the at-risk flags.

`record_sweep` runs in one transaction. It reads only the open tasks due today or earlier
(index on tasks(status, due_on)) and the cases whose hearing or eviction falls inside the
at-risk window (indexes on cases.hearing_at and cases.eviction_at), so its cost follows
the due work, not the size of the database. Every notification is an outbox row whose
unique key is (reason, task or case, deadline, recipient): a second sweep for the same
`now`, a sweep retried after a crash, or two sweeps at once write nothing twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select

from domain.rulebook import RuleBook
from domain.sweep import RiskEvent, at_risk_event, at_risk_horizon, task_reasons
from store import tables as t
from store.sql import in_groups, insert_ignore, raw_select, rows_where_in

LIVE_CASE = ("open",)  # cases whose tasks and dates the sweep watches


@dataclass
class SweepCounts:
    due: int = 0
    overdue: int = 0
    escalated: int = 0
    at_risk: int = 0
    at_risk_cleared: int = 0
    notifications: int = 0  # new outbox rows this sweep wrote
    held: int = 0  # of which nobody could be told (no user in the OCMW)

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Recipients:
    """Who is told what: the active users, and each OCMW's team leads (else its
    administrators) for escalations and for tasks waiting in the team queue."""

    active: set[str] = field(default_factory=set)
    leads: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, connection: Connection) -> Recipients:
        found = cls()
        by_role: dict[tuple[str, str], list[str]] = defaultdict(list)
        for email, role, ocmw in connection.execute(
            select(t.users.c.email, t.users.c.role, t.users.c.ocmw)
            .where(t.users.c.active.is_(True)).order_by(t.users.c.email)
        ):
            found.active.add(email)
            if ocmw:
                by_role[(ocmw, role)].append(email)
        for ocmw in {ocmw for ocmw, _ in by_role}:
            found.leads[ocmw] = by_role.get((ocmw, "team_lead")) or by_role.get(
                (ocmw, "administrator"), [])
        return found

    def for_person(self, email: str | None, ocmw: str) -> list[str | None]:
        """The person if they are an active user, else the OCMW's leads; [None] when
        there is nobody (the notification is kept, held, and shows in `domus outbox`)."""
        if email in self.active:
            return [email]
        return self.for_team(ocmw)

    def for_team(self, ocmw: str) -> list[str | None]:
        return list(self.leads.get(ocmw, [])) or [None]


def record_sweep(connection: Connection, rules: RuleBook, now: datetime) -> SweepCounts:
    """Write the notifications due at `now` and set or clear the at-risk flags."""
    today, counts = now.date(), SweepCounts()
    recipients = Recipients.load(connection)
    rows = _task_notifications(connection, rules, today, recipients, now, counts)
    rows += _at_risk(connection, rules, today, recipients, now, counts)
    # In key order: two sweeps at once then take the same row locks in the same order on
    # PostgreSQL, and wait for each other instead of deadlocking.
    rows.sort(key=lambda row: row["key"])
    held = [row for row in rows if row["recipient"] is None]
    counts.held = insert_ignore(connection, t.outbox, held, ["key"])
    counts.notifications = counts.held + insert_ignore(
        connection, t.outbox, [row for row in rows if row["recipient"] is not None], ["key"])
    return counts


def _task_notifications(connection: Connection, rules: RuleBook, today: date,
                        recipients: Recipients, now: datetime,
                        counts: SweepCounts) -> list[dict[str, Any]]:
    # Two steps, not a join: the due tasks straight from ix_tasks_status_due, then their
    # cases by id. Joined, SQLite's planner (after ANALYZE sees every task is "open") chose
    # to walk all cases, which made the sweep cost follow the size of the database.
    tasks, cases = t.tasks.c, t.cases.c
    query, convert = raw_select(tasks.id, tasks.case_id, tasks.due_on, tasks.assignee)
    found = [[f(v) for f, v in zip(convert, row, strict=True)] for row in connection.execute(
        query.where(tasks.status == "open", tasks.due_on <= today)).tuples().all()]
    live = {case_id: ocmw for case_id, ocmw, status in rows_where_in(
        connection, (cases.id, cases.ocmw, cases.status), cases.id,
        sorted({row[1] for row in found})) if status in LIVE_CASE and ocmw is not None}
    due = [(task_id, case_id, due_on, assignee, live[case_id])
           for task_id, case_id, due_on, assignee in found if case_id in live]
    calendar, rows, tally = rules.calendar, [], Counter[str]()
    for task_id, case_id, due_on, assignee, ocmw in due:
        for reason in task_reasons(due_on, today, calendar):
            tally[reason] += 1
            people = (recipients.for_team(ocmw) if reason == "escalated"
                      else recipients.for_person(assignee, ocmw))
            rows += [_row(reason, f"task:{task_id}", due_on, person, now, case_id, task_id)
                     for person in people]
    counts.due, counts.overdue, counts.escalated = (tally["due"], tally["overdue"],
                                                    tally["escalated"])
    return rows


def _at_risk(connection: Connection, rules: RuleBook, today: date, recipients: Recipients,
             now: datetime, counts: SweepCounts) -> list[dict[str, Any]]:
    """Flag the cases at risk today and clear the flag where it no longer holds."""
    cases = t.cases.c
    start = datetime.combine(today, time.min)
    end = datetime.combine(at_risk_horizon(today, rules.calendar) + timedelta(days=1), time.min)
    candidates = {
        row.id: row for column in (cases.hearing_at, cases.eviction_at)
        for row in connection.execute(
            select(cases.id, cases.ocmw, cases.caseworker, cases.hearing_at, cases.eviction_at)
            .where(column >= start, column < end, cases.status.in_(LIVE_CASE),
                   cases.ocmw.is_not(None))).all()
    }
    reached = _reached(connection, list(candidates), now)
    horizon = (end - timedelta(days=1)).date()
    risky: dict[str, tuple[Any, RiskEvent]] = {}
    for case_id, row in candidates.items():
        event = at_risk_event(
            hearing_on=row.hearing_at.date() if row.hearing_at else None,
            eviction_on=row.eviction_at.date() if row.eviction_at else None,
            today=today, horizon=horizon, effective_contact=case_id in reached)
        if event:
            risky[case_id] = (row, event)
    flagged = set(connection.scalars(select(t.flags.c.case_id).where(t.flags.c.code == "at_risk")))
    gone = sorted(flagged - set(risky))
    for group in in_groups(gone):
        connection.execute(delete(t.flags).where(t.flags.c.code == "at_risk",
                                                 t.flags.c.case_id.in_(group)))
    insert_ignore(connection, t.flags, [
        {"case_id": case_id, "code": "at_risk", "raised_at": now,
         "detail": f"{event.event} on {event.on.isoformat()}, within 5 working days, "
                   "and no effective contact yet"}
        for case_id, (_, event) in sorted(risky.items()) if case_id not in flagged],
        ["case_id", "code"])
    counts.at_risk, counts.at_risk_cleared = len(risky), len(gone)
    return [_row("at_risk", f"case:{case_id}:{event.event}", event.on, person, now, case_id)
            for case_id, (row, event) in risky.items()
            for person in recipients.for_person(row.caseworker, row.ocmw)]


def _reached(connection: Connection, case_ids: list[str], now: datetime) -> set[str]:
    """Which of these cases had an effective contact (reached, not by letter) by `now`."""
    found: set[str] = set()
    for group in in_groups(case_ids):
        found.update(connection.scalars(select(t.contacts.c.case_id).distinct().where(
            t.contacts.c.case_id.in_(group), t.contacts.c.result == "reached",
            t.contacts.c.channel != "letter", t.contacts.c.at <= now)))
    return found


def record_digests(connection: Connection, rules: RuleBook, now: datetime) -> int:
    """One digest a working day for each caseworker with open tasks due today or overdue
    (issue 3: 07:30 Europe/Brussels on working days); returns how many were new."""
    today = now.date()
    if not rules.calendar.is_working_day(today, internal=True):
        return 0
    tasks, users = t.tasks.c, t.users.c
    people = connection.execute(
        select(tasks.assignee).join(t.users, users.email == tasks.assignee)
        .where(tasks.status == "open", tasks.due_on <= today, users.active.is_(True),
               users.role == "caseworker")
        .group_by(tasks.assignee).having(func.count() > 0)
    ).scalars().all()
    return insert_ignore(connection, t.outbox, [
        _row("digest", "day", today, email, now) for email in sorted(people)], ["key"])


def _row(reason: str, subject: str, due_on: date, recipient: str | None, now: datetime,
         case_id: str | None = None, task_id: int | None = None) -> dict[str, Any]:
    return {
        "key": f"{reason}|{subject}|{due_on.isoformat()}|{recipient or '-'}",
        "reason": reason, "recipient": recipient, "case_id": case_id, "task_id": task_id,
        "due_on": due_on, "created_at": now, "status": "pending" if recipient else "held",
        "attempts": 0, "next_attempt_at": now,
    }
