"""Recording a case's final outcome (CONTRACT.md `domus outcome`) and reopening it.

One final outcome per case: a second one needs the case reopened first, with a reason. The
outcome closes the case and cancels its open tasks; every change goes to the history.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from domain.access import Actor
from domain.statistics import OUTCOMES, SOLUTIONS
from services.access import may_read
from services.cases import CaseNotFound
from services.history import record_event
from store import tables as t


class OutcomeError(ValueError):
    """An outcome that cannot be recorded; the message says why and what to do."""


def _case(connection: Connection, case_id: str, actor: Actor) -> Any:
    row = connection.execute(select(t.cases).where(t.cases.c.id == case_id)).first()
    if row is None or actor.role == "monitor" or not may_read(connection, actor, row.id, row.ocmw):
        raise CaseNotFound(f"case {case_id} not found")
    return row


def record_outcome(engine: Engine, case_id: str, code: str, *, on: date | None,
                   actor: Actor, now: datetime) -> dict[str, Any]:
    if code not in OUTCOMES:
        raise OutcomeError(f"--code {code!r}: one of {', '.join(OUTCOMES)}")
    on = on or now.date()
    if on > now.date():
        raise OutcomeError(f"--at {on.isoformat()}: an outcome cannot be in the future")
    with engine.begin() as connection:
        case = _case(connection, case_id, actor)
        if on < case.first_received_on:
            raise OutcomeError(f"--at {on.isoformat()}: before the case's first notice "
                               f"(received {case.first_received_on.isoformat()})")
        if case.outcome_code:
            raise OutcomeError(
                f"case {case_id} already has the outcome {case.outcome_code} "
                f"({case.outcome_on.isoformat()}); reopen it first: "
                f"domus reopen {case_id} --reason TEXT")
        cancelled = apply_outcome(connection, case, code, on, actor=actor.name, now=now)
    return {"case_id": case_id, "code": code, "on": on.isoformat(),
            "solution": code in SOLUTIONS, "cancelled_tasks": cancelled}


def apply_outcome(connection: Connection, case: Any, code: str, on: date, *, actor: str,
                  now: datetime) -> list[int]:
    """Close `case` (a cases row without an outcome) with `code`: its open tasks are
    cancelled, its at-risk flag cleared, and the change goes to the history."""
    connection.execute(update(t.cases).where(t.cases.c.id == case.id).values(
        outcome_code=code, outcome_on=on, status="closed", updated_at=now))
    cancelled = list(connection.scalars(select(t.tasks.c.id).where(
        t.tasks.c.case_id == case.id, t.tasks.c.status == "open")))
    if cancelled:
        connection.execute(update(t.tasks).where(t.tasks.c.id.in_(cancelled))
                           .values(status="cancelled", updated_at=now))
    connection.execute(t.flags.delete().where(t.flags.c.case_id == case.id,
                                              t.flags.c.code == "at_risk"))
    record_event(connection, case.id, "outcome", actor=actor, at=now,
                 before={"status": case.status, "outcome": None},
                 after={"status": "closed", "outcome": {"code": code, "on": on.isoformat()}})
    return cancelled


def reopen_case(engine: Engine, case_id: str, *, reason: str, actor: Actor,
                now: datetime) -> dict[str, Any]:
    """Take back a final outcome (a wrong code, a procedure that starts again)."""
    if not reason.strip():
        raise OutcomeError("--reason: say why the case is reopened")
    with engine.begin() as connection:
        case = _case(connection, case_id, actor)
        if not case.outcome_code:
            raise OutcomeError(f"case {case_id} has no outcome to reopen")
        status = "open" if case.ocmw else "triage"
        connection.execute(update(t.cases).where(t.cases.c.id == case_id).values(
            outcome_code=None, outcome_on=None, status=status, updated_at=now))
        record_event(connection, case_id, "reopen", actor=actor.name, at=now,
                     before={"status": case.status,
                             "outcome": {"code": case.outcome_code,
                                         "on": case.outcome_on.isoformat()}},
                     after={"status": status, "outcome": None, "reason": reason.strip()})
    return {"case_id": case_id, "status": status, "reason": reason.strip()}
