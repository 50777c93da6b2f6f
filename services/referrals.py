"""Referrals of a household to a partner programme (CONTRACT.md `refer`, `referral`):
recorded on the case with their status, a follow-up task ten working days later, and the
history. A `housed` referral suggests the `rehoused` outcome."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, update

from domain.access import Actor
from domain.calendar import BelgianCalendar
from domain.programmes import REFERRAL_STATUSES, Programme
from services.access import may_read
from services.cases import CaseNotFound
from services.history import record_event
from store import tables as t
from store.sql import in_groups

FOLLOW_UP_TASK = "referral_follow_up"
FOLLOW_UP_WORKING_DAYS = 10


class ReferralError(ValueError):
    """A referral that cannot be made or changed; the message names the field."""


def refer(engine: Engine, case_id: str, programme: str, *, reason: str, actor: Actor,
          now: datetime, directory: Mapping[str, Programme],
          calendar: BelgianCalendar) -> dict[str, Any]:
    if programme not in directory:
        raise ReferralError(f"--to {programme!r}: not in the directory of programmes "
                            "(`domus programmes` lists them)")
    if not reason.strip():
        raise ReferralError("--reason: say why the household is referred")
    due = calendar.add_working_days(now.date(), FOLLOW_UP_WORKING_DAYS, internal=True)
    with engine.begin() as connection:
        case = connection.execute(select(t.cases).where(t.cases.c.id == case_id)).first()
        if case is None or not may_read(connection, actor, case.id, case.ocmw):
            raise CaseNotFound(f"case {case_id} not found")
        referral_id = connection.execute(t.referrals.insert().values(
            case_id=case_id, programme=programme, reason=reason.strip(), status="sent",
            created_by=actor.name, created_at=now, updated_at=now)).inserted_primary_key[0]
        _follow_up(connection, case, due, programme, now)
        record_event(connection, case_id, "referral", actor=actor.name, at=now,
                     after={"id": referral_id, "programme": programme, "status": "sent"})
    return {"id": referral_id, "case_id": case_id, "programme": programme, "status": "sent",
            "follow_up_on": due.isoformat()}


def _follow_up(connection: Connection, case: Any, due: Any, programme: str,
               now: datetime) -> None:
    """One follow-up task per case: a new referral (re)opens it for ten working days on."""
    rule = (f"referral to {programme}: follow up {FOLLOW_UP_WORKING_DAYS} working days "
            "after the referral")
    existing = connection.scalar(select(t.tasks.c.id).where(
        t.tasks.c.case_id == case.id, t.tasks.c.kind == FOLLOW_UP_TASK))
    if existing is None:
        connection.execute(t.tasks.insert().values(
            case_id=case.id, kind=FOLLOW_UP_TASK, due_on=due, status="open",
            assignee=case.caseworker, rule=rule, created_at=now, updated_at=now))
    else:
        connection.execute(update(t.tasks).where(t.tasks.c.id == existing).values(
            due_on=due, status="open", rule=rule, updated_at=now))


def update_referral(engine: Engine, referral_id: int, status: str, *, actor: Actor,
                    now: datetime) -> dict[str, Any]:
    if status not in REFERRAL_STATUSES:
        raise ReferralError(f"--status {status!r}: one of {', '.join(REFERRAL_STATUSES)}")
    with engine.begin() as connection:
        row = connection.execute(
            select(t.referrals, t.cases.c.ocmw).join(t.cases, t.cases.c.id ==
                                                     t.referrals.c.case_id)
            .where(t.referrals.c.id == referral_id)).first()
        if row is None or not may_read(connection, actor, row.case_id, row.ocmw):
            raise ReferralError(f"referral {referral_id} not found")
        connection.execute(update(t.referrals).where(t.referrals.c.id == referral_id)
                           .values(status=status, updated_at=now))
        record_event(connection, row.case_id, "referral_status", actor=actor.name, at=now,
                     before={"id": referral_id, "status": row.status},
                     after={"id": referral_id, "status": status})
    answer = {"id": referral_id, "case_id": row.case_id, "programme": row.programme,
              "status": status}
    if status == "housed":
        answer["suggested_outcome"] = "rehoused"
    return answer


#: built once (a statement built per call cost more than running it); `ids`: one IN group
_OF_CASES = (select(t.referrals)
             .where(t.referrals.c.case_id.in_(bindparam("ids", expanding=True)))
             .order_by(t.referrals.c.id))


def referrals_of(connection: Connection,
                 case_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for group in in_groups(list(case_ids)):
        for row in connection.execute(_OF_CASES, {"ids": group}):
            found.setdefault(row.case_id, []).append({
                "id": row.id, "programme": row.programme, "status": row.status,
                "reason": row.reason, "created_at": row.created_at.isoformat(),
                "updated_at": row.updated_at.isoformat()})
    return found
