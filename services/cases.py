"""Reading cases and tasks, shaped as CONTRACT.md's `case --json`; every read checks the actor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, Select, func, select

from domain.access import Actor
from store import tables as t
from store.sql import in_groups


class CaseNotFound(LookupError):
    """No such case for this actor (another OCMW's case is not found either)."""


def case_document(connection: Connection, case_id: str, actor: Actor) -> dict[str, Any]:
    row = connection.execute(select(t.cases).where(t.cases.c.id == case_id)).first()
    if row is None or not actor.may_read_case(row.ocmw):
        raise CaseNotFound(f"case {case_id} not found")
    return _documents(connection, [row])[0]


def list_cases(
    connection: Connection, actor: Actor, *, ocmw: str | None = None,
    status: str | None = None, flagged: bool = False,
) -> list[dict[str, Any]]:
    query = _visible(select(t.cases), actor).order_by(t.cases.c.first_received_on, t.cases.c.id)
    if ocmw:
        query = query.where(t.cases.c.ocmw == ocmw)
    if status == "open":
        query = query.where(t.cases.c.status != "closed")
    elif status:
        query = query.where(t.cases.c.status == status)
    if flagged:
        query = query.where(t.cases.c.id.in_(select(t.flags.c.case_id)))
    return _documents(connection, list(connection.execute(query)))


def open_tasks(
    connection: Connection, actor: Actor, *, due_before: date | None = None,
    overdue_on: date | None = None, assignee: str | None = None,
) -> list[dict[str, Any]]:
    """Open tasks by due date; `overdue_on` keeps those due before that day."""
    query = _visible(
        select(t.tasks, t.cases.c.docket_number, t.cases.c.court, t.cases.c.ocmw,
               t.cases.c.tenant_last_name, t.cases.c.tenant_first_name)
        .join(t.cases, t.cases.c.id == t.tasks.c.case_id)
        .where(t.tasks.c.status == "open"),
        actor,
    ).order_by(t.tasks.c.due_on, t.tasks.c.id)
    if due_before:
        query = query.where(t.tasks.c.due_on < due_before)
    if overdue_on:
        query = query.where(t.tasks.c.due_on < overdue_on)
    if assignee:
        query = query.where(t.tasks.c.assignee == assignee)
    return [
        {**_task(row), "case_id": row.case_id, "rule": row.rule, "ocmw": row.ocmw,
         "court": row.court, "docket_number": row.docket_number,
         "tenant": {"first_name": row.tenant_first_name, "last_name": row.tenant_last_name}}
        for row in connection.execute(query)
    ]


def _visible(query: Select[Any], actor: Actor) -> Select[Any]:
    ocmws = actor.visible_ocmws()
    if ocmws is None:
        return query
    if actor.may_read_case(None):
        return query.where(t.cases.c.ocmw.in_(ocmws) | t.cases.c.ocmw.is_(None))
    return query.where(t.cases.c.ocmw.in_(ocmws))


def _documents(connection: Connection, rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    ids = [row.id for row in rows]
    children = {
        name: _children(connection, table, ids, order)
        for name, table, order in (
            ("tasks", t.tasks, t.tasks.c.due_on), ("flags", t.flags, t.flags.c.code),
            ("notices", t.notices, t.notices.c.received_on),
            ("triage", t.triage, t.triage.c.id),
        )
    }
    from services.contacts import contacts_of
    from services.history import history_of
    from services.letters import letters_of
    from services.referrals import referrals_of

    extra = {"contacts": contacts_of(connection, ids), "letters": letters_of(connection, ids),
             "referrals": referrals_of(connection, ids), "history": history_of(connection, ids)}
    return [_document(row, {name: kids[row.id] for name, kids in children.items()},
                      {name: found.get(row.id, []) for name, found in extra.items()})
            for row in rows]


def _children(connection: Connection, table: Any, ids: list[str],
              order: Any) -> dict[str, list[Row[Any]]]:
    found: dict[str, list[Row[Any]]] = defaultdict(list)
    for group in in_groups(ids):
        for row in connection.execute(
            select(table).where(table.c.case_id.in_(group)).order_by(order, table.c.id)
        ):
            found[row.case_id].append(row)
    return found


def _document(row: Row[Any], kids: dict[str, list[Row[Any]]],
              extra: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    triage = next((r for r in kids["triage"] if r.resolved_at is None), None)
    return {
        "id": row.id, "ocmw": row.ocmw, "court": row.court, "docket_number": row.docket_number,
        "tenant": {"first_name": row.tenant_first_name, "last_name": row.tenant_last_name,
                   "language": row.tenant_language},
        "dwelling": {"street": row.street, "number": row.house_number, "box": row.box,
                     "postcode": row.postcode, "municipality": row.municipality},
        "status": row.status,
        "hearing_at": _iso(row.hearing_at),
        "earliest_eviction_on": _iso(row.earliest_eviction_on),
        "eviction_at": _iso(row.eviction_at),
        "flags": [{"code": f.code, "detail": f.detail} for f in kids["flags"]],
        "tasks": [{**_task(task), "rule": task.rule} for task in kids["tasks"]],
        "caseworker": row.caseworker,
        "contacts": extra["contacts"], "letters": extra["letters"],
        "referrals": extra["referrals"],
        "outcome": ({"code": row.outcome_code, "on": _iso(row.outcome_on)}
                    if row.outcome_code else None),
        "history": extra["history"],
        "notices": [{"kind": n.kind, "received_on": _iso(n.received_on),
                     "data": n.data} for n in kids["notices"]],
        "triage_reason": triage.reason if triage else None,
    }


def _task(row: Row[Any]) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "due_on": _iso(row.due_on), "status": row.status,
            "assignee": row.assignee}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def task_inbox(
    connection: Connection, actor: Actor, *, assignee: str | None, until: date,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Open tasks due before `until` with what a person needs to act on them (the case's
    docket, tenant, hearing and eviction dates), oldest due first, at most `limit`.
    `assignee` None is the OCMW's team queue (tasks nobody holds yet)."""
    query = _visible(
        select(t.tasks.c.id, t.tasks.c.case_id, t.tasks.c.kind, t.tasks.c.due_on,
               t.tasks.c.rule, t.tasks.c.assignee, t.cases.c.ocmw, t.cases.c.court,
               t.cases.c.docket_number, t.cases.c.tenant_first_name,
               t.cases.c.tenant_last_name, t.cases.c.hearing_at, t.cases.c.eviction_at,
               t.cases.c.earliest_eviction_on)
        .join(t.cases, t.cases.c.id == t.tasks.c.case_id)
        .where(t.tasks.c.status == "open", t.tasks.c.due_on < until,
               t.tasks.c.assignee == assignee if assignee else t.tasks.c.assignee.is_(None)),
        actor,
    ).order_by(t.tasks.c.due_on, t.tasks.c.id).limit(limit)
    return [row._asdict() for row in connection.execute(query)]


def open_task_count(connection: Connection, actor: Actor, *, assignee: str | None,
                    before: date | None = None) -> int:
    """How many open tasks `assignee` holds (None: the team queue), due before `before`."""
    query = _visible(
        select(func.count()).select_from(t.tasks)
        .join(t.cases, t.cases.c.id == t.tasks.c.case_id)
        .where(t.tasks.c.status == "open",
               t.tasks.c.assignee == assignee if assignee else t.tasks.c.assignee.is_(None)),
        actor)
    if before is not None:
        query = query.where(t.tasks.c.due_on < before)
    return connection.scalar(query) or 0
