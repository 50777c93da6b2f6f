"""Recording a contact with the household (CONTRACT.md, `domus contact`).

An effective contact (reached, on a channel other than a letter) closes the tasks it makes
moot (first contact, home visit) and clears the case's `at_risk` flag, in the same
transaction as the contact itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, select, update

from domain.access import Actor
from domain.calendar import BelgianCalendar
from domain.sweep import CHANNELS, MOOT_AFTER_CONTACT, RESULTS, is_effective_contact
from domain.values import data_problem
from services.access import may_read
from services.cases import CaseNotFound
from services.history import record_event
from store import tables as t
from store.sql import insert_ignore


class ContactError(ValueError):
    """A contact that cannot be recorded; the message names the field."""


def record_contact(
    engine: Engine, case_id: str, *, channel: str, result: str, at: datetime | None,
    note: str | None, actor: Actor, now: datetime, calendar: BelgianCalendar | None = None,
) -> dict[str, Any]:
    if channel not in CHANNELS:
        raise ContactError(f"--channel {channel!r}: one of {', '.join(CHANNELS)}")
    if result not in RESULTS:
        raise ContactError(f"--result {result!r}: one of {', '.join(RESULTS)}")
    if note is not None and (problem := data_problem({"--note": note})):
        raise ContactError(problem)  # a NUL: PostgreSQL refuses it (a 500, not a 422)
    at = at or now
    if at > now:
        raise ContactError(f"--at {at.isoformat()}: a contact cannot be in the future")
    if actor.role == "monitor":
        raise CaseNotFound(f"case {case_id} not found")
    with engine.begin() as connection:
        case = connection.execute(select(t.cases).where(t.cases.c.id == case_id)).first()
        if case is None or not may_read(connection, actor, case.id, case.ocmw):
            raise CaseNotFound(f"case {case_id} not found")
        return add_contact(connection, case, channel=channel, result=result, at=at,
                           note=note, recorded_by=actor.name, now=now,
                           calendar=calendar or BelgianCalendar())


def add_contact(connection: Connection, case: Any, *, channel: str, result: str,
                at: datetime, note: str | None, recorded_by: str, now: datetime,
                calendar: BelgianCalendar, fingerprint: str | None = None) -> dict[str, Any]:
    """Store one contact of `case` (a cases row) with everything it changes: the case's
    monitoring facts, the moot tasks, the at-risk flag and the history. With a
    `fingerprint` (imported contacts), a contact already stored is skipped: returns
    {"duplicate": True}."""
    values = {"case_id": case.id, "channel": channel, "result": result, "at": at,
              "note": note, "recorded_by": recorded_by, "created_at": now,
              "fingerprint": fingerprint}
    if fingerprint is not None:
        if insert_ignore(connection, t.contacts, [values], ["fingerprint"]) == 0:
            return {"duplicate": True}
        contact_id = connection.scalar(select(t.contacts.c.id).where(
            t.contacts.c.fingerprint == fingerprint))
    else:
        contact_id = connection.execute(t.contacts.insert().values(**values)
                                        ).inserted_primary_key[0]
    effective = is_effective_contact(channel, result)
    facts: dict[str, Any] = {"contact_attempted": True}
    if effective and (case.first_effective_contact_on is None
                      or at.date() < case.first_effective_contact_on):
        facts["first_effective_contact_on"] = at.date()
        facts["days_to_contact"] = calendar.working_days_between(case.first_received_on,
                                                                 at.date())
    connection.execute(update(t.cases).where(t.cases.c.id == case.id).values(
        **facts, home_visits=t.cases.c.home_visits + int(channel == "home_visit")))
    closed, cleared = _effects(connection, case.id, now) if effective else ([], False)
    contact = {"id": contact_id, "case_id": case.id, "channel": channel, "result": result,
               "at": at.isoformat(), "note": note, "effective": effective}
    record_event(connection, case.id, "contact", actor=recorded_by, at=now,
                 after={k: v for k, v in contact.items() if k != "case_id"})
    return {**contact, "closed_tasks": closed, "at_risk_cleared": cleared}


def _effects(connection: Connection, case_id: str, now: datetime) -> tuple[list[int], bool]:
    moot = list(connection.scalars(select(t.tasks.c.id).where(
        t.tasks.c.case_id == case_id, t.tasks.c.kind.in_(MOOT_AFTER_CONTACT),
        t.tasks.c.status == "open").order_by(t.tasks.c.id)))
    if moot:
        connection.execute(update(t.tasks).where(t.tasks.c.id.in_(moot), t.tasks.c.status == "open")
                           .values(status="done", updated_at=now))
    cleared = connection.execute(delete(t.flags).where(
        t.flags.c.case_id == case_id, t.flags.c.code == "at_risk")).rowcount
    return moot, bool(cleared)


#: built once (a statement built per call cost more than running it); `ids`: one IN group
_OF_CASES = (select(t.contacts).where(t.contacts.c.case_id.in_(bindparam("ids", expanding=True)))
             .order_by(t.contacts.c.at, t.contacts.c.id))


def contacts_of(connection: Connection, case_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The contacts of these cases, oldest first, as the case document shows them."""
    from store.sql import in_groups

    found: dict[str, list[dict[str, Any]]] = {case_id: [] for case_id in case_ids}
    for group in in_groups(case_ids):
        for row in connection.execute(_OF_CASES, {"ids": group}):
            found[row.case_id].append({
                "id": row.id, "channel": row.channel, "result": row.result,
                "at": row.at.isoformat(), "note": row.note, "recorded_by": row.recorded_by,
                "effective": is_effective_contact(row.channel, row.result)})
    return found
