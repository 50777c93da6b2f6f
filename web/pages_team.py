"""Team (team leads and administrators): overdue tasks and at-risk cases across the OCMW's
team, each person's workload, and reassigning one task or all of one person's tasks."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.audit import record_access
from services.tasks import TaskError, reassign_task
from services.team import QUEUE, move_open_tasks, team_overview
from web.pages_monitoring import ocmw_name
from web.render import render
from web.security import Lead

router = APIRouter(include_in_schema=False)

#: what went wrong, by a piece of the service's message → the code the page explains
ERRORS = (("only open tasks", "closed"), ("is not a caseworker", "assignee"),
          ("no active user", "assignee"), ("from:", "from"), ("to:", "same"),
          ("cases:", "cases"))


@router.get("/team")
def team(request: Request, visitor: Lead, assignee: str = "", moved: int | None = None,
         to: str = "", cases: int = 0, single: bool = False) -> Response:
    done = ({"moved": moved, "to": to, "cases": cases, "single": single}
            if moved is not None else None)
    return _page(request, visitor, assignee=assignee[:320], done=done)


def _page(request: Request, visitor: Lead, *, assignee: str = "", done: dict | None = None,
          error: str | None = None, status: int = 200) -> Response:
    state = request.app.state
    with state.domus.engine.connect() as connection:
        overview = team_overview(connection, visitor.actor, today=state.clock().date(),
                                 calendar=state.domus.rules.calendar,
                                 assignee=assignee or None)
    return render(request, "team.html", language=visitor.language, status_code=status,
                  team=overview, QUEUE=QUEUE, done=done, error=error,
                  ocmw_name=ocmw_name(visitor.user.ocmw, visitor.language))


@router.post("/team/tasks/{task_id}/assign")
def assign(request: Request, task_id: int, visitor: Lead,
           assignee: Annotated[str, Form(max_length=320)] = "") -> Response:
    state = request.app.state
    target = None if assignee in ("", QUEUE) else assignee
    try:
        task = reassign_task(state.domus.engine, task_id, target, visitor.actor,
                             now=state.clock())
    except TaskError as exc:
        return _refused(request, visitor, exc)
    record_access(state.domus.engine, task["case_id"], visitor.actor, action="reassign",
                  channel="web", now=state.clock())
    return _back(moved=1, to=task["assignee"] or QUEUE, single=1)


@router.post("/team/move")
def move_all(request: Request, visitor: Lead,
             from_assignee: Annotated[str, Form(alias="from", max_length=320)] = "",
             to: Annotated[str, Form(max_length=320)] = "",
             with_cases: Annotated[bool, Form()] = False) -> Response:
    state = request.app.state
    try:
        moved = move_open_tasks(state.domus.engine, from_assignee,
                                None if to in ("", QUEUE) else to, visitor.actor,
                                now=state.clock(), channel="web", with_cases=with_cases)
    except TaskError as exc:
        return _refused(request, visitor, exc)
    return _back(moved=moved["tasks"], to=to or QUEUE, cases=moved["cases"])


def _refused(request: Request, visitor: Lead, exc: TaskError) -> Response:
    message = str(exc)
    if "not found" in message:
        raise HTTPException(404, message) from None
    code = next((code for part, code in ERRORS if part in message), "other")
    return _page(request, visitor, error=code, status=409)


def _back(**done: object) -> Response:
    return RedirectResponse("/team?" + urlencode(done) + "#done", status_code=303)
