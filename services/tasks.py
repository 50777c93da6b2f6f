"""What people do with a task: mark it done, cancel it, give it to someone else.

Every action checks who is asking: another OCMW's task is not found; only a team lead or an
administrator (or the local operator) reassigns, and only to staff of the case's OCMW.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from domain.access import Actor
from services.access import may_read
from store import tables as t

REASSIGNERS = ("team_lead", "administrator", "operator")
ASSIGNABLE_ROLES = ("caseworker", "team_lead")


class TaskError(LookupError):
    """A task that is not there for this actor, or an action it does not allow."""


def complete_task(engine: Engine, task_id: int, actor: Actor, *, now: datetime) -> dict[str, Any]:
    return _close(engine, task_id, actor, "done", now)


def cancel_task(engine: Engine, task_id: int, actor: Actor, *, now: datetime) -> dict[str, Any]:
    if actor.role not in REASSIGNERS:
        raise TaskError("only a team lead or an administrator cancels a task")
    return _close(engine, task_id, actor, "cancelled", now)


def reassign_task(engine: Engine, task_id: int, assignee: str | None, actor: Actor, *,
                  now: datetime) -> dict[str, Any]:
    """Give the task to `assignee` (a caseworker or team lead of the case's OCMW), or with
    None put it back in the team queue."""
    if actor.role not in REASSIGNERS:
        raise TaskError("only a team lead or an administrator reassigns a task")
    with engine.begin() as connection:
        task = _task(connection, task_id, actor)
        if task.status != "open":
            raise TaskError(f"task {task_id} is {task.status}; only open tasks are reassigned")
        email = None
        if assignee is not None:
            email = assignee.strip().lower()
            user = connection.execute(select(t.users).where(t.users.c.email == email)).first()
            if user is None or not user.active:
                raise TaskError(f"no active user {assignee!r}")
            if user.ocmw != task.ocmw or user.role not in ASSIGNABLE_ROLES:
                raise TaskError(f"{email} is not a caseworker or team lead of OCMW {task.ocmw}")
        connection.execute(update(t.tasks).where(t.tasks.c.id == task_id)
                           .values(assignee=email, updated_at=now))
        return _task_json(_task(connection, task_id, actor))


def _close(engine: Engine, task_id: int, actor: Actor, status: str,
           now: datetime) -> dict[str, Any]:
    with engine.begin() as connection:
        task = _task(connection, task_id, actor)
        if task.status == status:
            return _task_json(task)  # already so: doing it again changes nothing
        if task.status != "open":
            raise TaskError(f"task {task_id} is {task.status} already")
        if actor.role == "caseworker" and task.assignee not in (None, actor.name):
            raise TaskError(f"task {task_id} is assigned to {task.assignee}")
        connection.execute(update(t.tasks).where(t.tasks.c.id == task_id)
                           .values(status=status, updated_at=now))
        return _task_json(_task(connection, task_id, actor))


def _task(connection: Connection, task_id: int, actor: Actor) -> Any:
    row = connection.execute(
        select(t.tasks, t.cases.c.ocmw).join(t.cases, t.cases.c.id == t.tasks.c.case_id)
        .where(t.tasks.c.id == task_id)).first()
    if row is None or not may_read(connection, actor, row.case_id, row.ocmw):
        raise TaskError(f"task {task_id} not found")
    return row


def _task_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "case_id": row.case_id, "kind": row.kind,
            "due_on": row.due_on.isoformat(), "status": row.status, "assignee": row.assignee}
