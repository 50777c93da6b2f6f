"""Giving new tasks a caseworker of the case's OCMW (domain.assignment decides who).

Runs inside the transaction that created the tasks (intake) or that added a caseworker
(the team queue is handed out). Only tasks still without an assignee are touched, and each
UPDATE checks that again, so a re-run or a concurrent run never reassigns a task.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from domain.assignment import choose_assignee
from domain.rulebook import RuleBook
from store import tables as t
from store.sql import in_groups


def assign_new_tasks(connection: Connection, case_ids: Iterable[str], *, rules: RuleBook,
                     now: datetime) -> int:
    """Assign the open, unassigned tasks of these cases; returns how many got a caseworker."""
    ids = list(case_ids)
    if not ids or not _any_caseworker(connection):
        return 0
    rows: list[Any] = []
    for group in in_groups(ids):
        rows += connection.execute(_waiting().where(t.tasks.c.case_id.in_(group)))
    return _assign(connection, rows, rules, now)


def assign_waiting_tasks(connection: Connection, *, ocmw: str, rules: RuleBook,
                         now: datetime) -> int:
    """Hand out the tasks waiting in an OCMW's team queue (e.g. to a new caseworker)."""
    rows = list(connection.execute(_waiting().where(t.cases.c.ocmw == ocmw)))
    return _assign(connection, rows, rules, now)


def _waiting() -> Any:
    return (
        select(t.tasks.c.id, t.tasks.c.case_id, t.cases.c.ocmw, t.cases.c.caseworker)
        .join(t.cases, t.cases.c.id == t.tasks.c.case_id)
        .where(t.tasks.c.status == "open", t.tasks.c.assignee.is_(None),
               t.cases.c.ocmw.is_not(None), t.cases.c.status == "open")
        .order_by(t.tasks.c.case_id, t.tasks.c.id)
    )


def _any_caseworker(connection: Connection) -> bool:
    return connection.scalar(select(t.users.c.id).where(
        t.users.c.role == "caseworker", t.users.c.active.is_(True)).limit(1)) is not None


def _assign(connection: Connection, rows: list[Any], rules: RuleBook, now: datetime) -> int:
    from services.users import caseworkers_by_ocmw

    if not rows:
        return 0
    staff = caseworkers_by_ocmw(connection, {row.ocmw for row in rows})
    if not staff:
        return 0
    load = _open_task_counts(connection, [email for emails in staff.values() for email in emails])
    by_case: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_case[row.case_id].append(row)
    task_updates, case_updates = [], []
    for case_id, tasks in by_case.items():
        ocmw, current = tasks[0].ocmw, tasks[0].caseworker
        pool = {email: load[email] for email in staff.get(ocmw, [])}
        chosen = choose_assignee(rules.playbook_for(ocmw).assignment_rule,
                                 case_caseworker=current, open_tasks=pool)
        if chosen is None:
            continue
        load[chosen] += len(tasks)
        task_updates += [{"task_id": task.id, "assignee": chosen, "updated_at": now}
                         for task in tasks]
        if current not in pool:
            case_updates.append({"case_id": case_id, "caseworker": chosen})
    if task_updates:
        connection.execute(
            update(t.tasks).where(t.tasks.c.id == bindparam("task_id"),
                                  t.tasks.c.assignee.is_(None))
            .values(assignee=bindparam("assignee"), updated_at=bindparam("updated_at")),
            task_updates)
    if case_updates:
        connection.execute(
            update(t.cases).where(t.cases.c.id == bindparam("case_id"))
            .values(caseworker=bindparam("caseworker")), case_updates)
    return len(task_updates)


def _open_task_counts(connection: Connection, emails: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter({email: 0 for email in emails})
    for group in in_groups(emails):
        counts.update(dict(connection.execute(
            select(t.tasks.c.assignee, func.count()).where(
                t.tasks.c.assignee.in_(group), t.tasks.c.status == "open")
            .group_by(t.tasks.c.assignee)).all()))
    return counts
