"""Reading cases and tasks, shaped as CONTRACT.md's `case --json`; every read checks the actor."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, bindparam, case, func, or_, select

from domain.access import Actor
from services.access import may_read, unrouted_visible, unrouted_visible_bound
from store import tables as t
from store.sql import in_groups


class CaseNotFound(LookupError):
    """No such case for this actor (another OCMW's case is not found either)."""


#: built once: the Case page runs them on every view (building a statement per call cost
#: more than running it)
_CASE = select(t.cases).where(t.cases.c.id == bindparam("id"))
_CHILDREN: dict[str, Select[Any]] = {}


def case_document(connection: Connection, case_id: str, actor: Actor) -> dict[str, Any]:
    row = connection.execute(_CASE, {"id": case_id}).first()
    if row is None or not may_read(connection, actor, row.id, row.ocmw):
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
        return query.where(t.cases.c.ocmw.in_(ocmws) | unrouted_visible(actor))
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
    key = f"{table.name}.{order.key}"
    query = _CHILDREN.get(key)
    if query is None:
        query = _CHILDREN[key] = select(table).where(
            table.c.case_id.in_(bindparam("ids", expanding=True))).order_by(order, table.c.id)
    for group in in_groups(ids):
        for row in connection.execute(query, {"ids": group}):
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
    since: date | None = None, limit: int = 200,
) -> list[dict[str, Any]]:
    """Open tasks due from `since` (None: any time) to before `until` with what a person
    needs to act on them (the case's docket, tenant, hearing and eviction dates), oldest due
    first, at most `limit`. `assignee` None is the OCMW's team queue (tasks nobody holds
    yet)."""
    scope, ocmws = _scope(actor)
    result = connection.execute(_inbox_query(scope, not assignee), {
        "ocmws": ocmws, "assignee": assignee, "until": until, "limit": limit,
        "since": since or date.min})
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.all()]  # 3x Row._asdict


def open_task_count(connection: Connection, actor: Actor, *, assignee: str | None,
                    before: date | None = None) -> int:
    """How many open tasks `assignee` holds (None: the team queue), due before `before`."""
    scope, ocmws = _scope(actor)
    return connection.scalar(_count_query(scope, not assignee, before is not None), {
        "ocmws": ocmws, "assignee": assignee, "before": before}) or 0


# My tasks runs these on every view: each shape is built once, with its values bound
# (building the statement per call cost more than running it).
def _scope(actor: Actor) -> tuple[str, list[str]]:
    """`_visible` as a shape and its bound OCMWs."""
    ocmws = actor.visible_ocmws()
    if ocmws is None:
        return "all", []
    return ("ocmws_or_none" if actor.may_read_case(None) else "ocmws"), list(ocmws)


def _visible_bound(query: Select[Any], scope: str) -> Select[Any]:
    if scope == "all":
        return query
    inside = t.cases.c.ocmw.in_(bindparam("ocmws", expanding=True))
    return query.where(inside | unrouted_visible_bound() if scope == "ocmws_or_none"
                       else inside)


def _held_by(queue: bool) -> Any:
    return t.tasks.c.assignee.is_(None) if queue else t.tasks.c.assignee == bindparam("assignee")


@cache
def _inbox_query(scope: str, queue: bool) -> Select[Any]:
    return _visible_bound(
        select(t.tasks.c.id, t.tasks.c.case_id, t.tasks.c.kind, t.tasks.c.due_on,
               t.tasks.c.rule, t.tasks.c.assignee, t.cases.c.ocmw, t.cases.c.court,
               t.cases.c.docket_number, t.cases.c.tenant_first_name,
               t.cases.c.tenant_last_name, t.cases.c.hearing_at, t.cases.c.eviction_at,
               t.cases.c.earliest_eviction_on)
        .join(t.cases, t.cases.c.id == t.tasks.c.case_id)
        .where(t.tasks.c.status == "open", t.tasks.c.due_on < bindparam("until"),
               t.tasks.c.due_on >= bindparam("since"), _held_by(queue)),
        scope,
    ).order_by(t.tasks.c.due_on, t.tasks.c.id).limit(bindparam("limit"))


@cache
def _count_query(scope: str, queue: bool, before: bool) -> Select[Any]:
    query = _visible_bound(
        select(func.count()).select_from(t.tasks)
        .join(t.cases, t.cases.c.id == t.tasks.c.case_id)
        .where(t.tasks.c.status == "open", _held_by(queue)),
        scope)
    return query.where(t.tasks.c.due_on < bindparam("before")) if before else query


#: the legal flags intake raises; `at_risk` is the sweep's
LEGAL_FLAGS = ("moratorium", "short_notice", "before_delay", "hearing_too_early")
SEARCH_STATUSES = ("open", "triage", "closed", "objected")
_SEARCH_WORDS = 6


def search_cases(
    connection: Connection, actor: Actor, *, q: str | None = None, flag: str | None = None,
    at_risk: bool = False, status: str | None = None, today: date,
    limit: int = 50, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the cases `actor` may see, light rows for a list, and how many match.

    `q`: every word of it is a case-insensitive part of the tenant's last or first name, the
    docket number or the street; `flag`: "any" (any legal flag) or one flag code (at_risk
    too); `status`: one of SEARCH_STATUSES. Sorted by the nearest legal date (the hearing or
    eviction on or after `today`, soonest first; cases without one last), then first
    receipt. One query over the cases table (a second one counts them when the page is
    full) and two small ones for the page's flags and caseworkers' names: no case document
    is loaded."""
    c = t.cases.c
    conditions = _search_conditions(connection, q, flag, at_risk, status)
    start = datetime.combine(today, time())
    nearest = case(
        (and_(c.hearing_at >= start,
              or_(c.eviction_at.is_(None), c.eviction_at < start, c.hearing_at <= c.eviction_at)),
         c.hearing_at),
        (c.eviction_at >= start, c.eviction_at),
        else_=None)
    query = _visible(
        select(c.id, c.ocmw, c.court, c.docket_number, c.tenant_first_name, c.tenant_last_name,
               c.street, c.house_number, c.box, c.postcode, c.municipality, c.status,
               c.hearing_at, c.eviction_at, c.first_received_on, c.caseworker,
               nearest.label("next_legal_at")).where(*conditions),
        actor,
    ).order_by(nearest.is_(None), nearest, c.first_received_on, c.id).limit(limit).offset(offset)
    rows = [row._asdict() for row in connection.execute(query)]
    if 0 < len(rows) < limit or not (rows or offset):  # the last page: no count needed
        total = offset + len(rows)
    else:
        total = connection.scalar(_visible(
            select(func.count()).select_from(t.cases).where(*conditions), actor)) or 0
    ids = [row["id"] for row in rows]
    flags: dict[str, list[str]] = defaultdict(list)
    for row in connection.execute(select(t.flags.c.case_id, t.flags.c.code).where(
            t.flags.c.case_id.in_(ids)).order_by(t.flags.c.code)) if ids else ():
        flags[row.case_id].append(row.code)
    workers = {row["caseworker"] for row in rows if row["caseworker"]}
    names = dict(connection.execute(select(t.users.c.email, t.users.c.name).where(
        t.users.c.email.in_(sorted(workers)))).all()) if workers else {}
    for row in rows:
        nearest_at = row["next_legal_at"]
        if isinstance(nearest_at, str):  # SQLite hands a CASE's datetime back as text
            nearest_at = row["next_legal_at"] = datetime.fromisoformat(nearest_at)
        row["next_legal"] = (None if nearest_at is None else
                             "hearing" if nearest_at == row["hearing_at"] else "eviction")
        row["flags"] = flags[row["id"]]
        row["caseworker_name"] = names.get(row["caseworker"])
    return rows, total


def _search_conditions(connection: Connection, q: str | None, flag: str | None,
                       at_risk: bool, status: str | None) -> list[Any]:
    c = t.cases.c
    conditions: list[Any] = []
    for word in (q or "").split()[:_SEARCH_WORDS]:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(_contains(connection, pattern))
    flagged = select(t.flags.c.case_id)  # few cases are flagged: IN beats EXISTS per case
    if flag == "any":
        conditions.append(c.id.in_(flagged.where(t.flags.c.code.in_(LEGAL_FLAGS))))
    elif flag:
        conditions.append(c.id.in_(flagged.where(t.flags.c.code == flag)))
    if at_risk:
        conditions.append(c.id.in_(flagged.where(t.flags.c.code == "at_risk")))
    if status:
        conditions.append(c.status == status)
    return conditions


def _contains(connection: Connection, pattern: str) -> Any:
    """A case whose tenant's names, docket number or street hold `pattern` (a LIKE pattern
    with `\\` escapes), ignoring case. Each database gets its fastest form for a scan of
    100,000 cases: SQLite's own LIKE ignores case already; PostgreSQL lower-cases the four
    fields joined, once (three times faster than four ILIKEs)."""
    c = t.cases.c
    if connection.dialect.name == "sqlite":
        return or_(*(column.like(pattern, escape="\\") for column in (
            c.tenant_last_name, c.tenant_first_name, c.docket_number, c.street)))
    # `||` and coalesce, not concat_ws: the expression stays immutable, so a trigram index
    # on it (pg_trgm) could serve this LIKE if a migration ever adds one
    joined = (c.tenant_last_name + " " + func.coalesce(c.tenant_first_name, "") + " "
              + c.docket_number + " " + func.coalesce(c.street, ""))
    return func.lower(joined).like(func.lower(pattern), escape="\\")
