"""My tasks: what is overdue, due today and due this week, with why and the legal date."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.cases import open_task_count, task_inbox
from services.tasks import TaskError, complete_task
from web.render import render
from web.security import Staff, safe_next

router = APIRouter(include_in_schema=False)
#: overdue tasks shown at first (the oldest), and at most on request; the page says how many
#: there are and offers the rest (a list of hundreds helps nobody and costs every view)
SHOWN, MOST = 50, 1000
#: tasks due today and in the next seven days shown (a person's week is never this long)
WEEK_SHOWN = 300


@router.get("/tasks")
def my_tasks(request: Request, visitor: Staff,
             shown: Annotated[int, Query(ge=1, le=MOST)] = SHOWN) -> Response:
    state = request.app.state
    today = state.clock().date()
    week_end = today + timedelta(days=8)  # "this week": the next seven days
    actor, me = visitor.actor, visitor.user.email
    with state.domus.engine.connect() as connection:
        overdue = task_inbox(connection, actor, assignee=me, until=today, limit=shown)
        week = task_inbox(connection, actor, assignee=me, since=today, until=week_end,
                          limit=WEEK_SHOWN)
        overdue_total = open_task_count(connection, actor, assignee=me, before=today)
        queue = (task_inbox(connection, actor, assignee=None, until=week_end, limit=shown)
                 if visitor.role != "caseworker" else [])
        all_open = open_task_count(connection, actor, assignee=me)
    mine = overdue + week
    rules = state.domus.rules
    for task in mine + queue:
        task["why"] = (rules.playbook_for(task["ocmw"]).rule_text(task["kind"], visitor.language)
                       or task["rule"])
    sections = [
        ("overdue", overdue),
        ("today", [x for x in week if x["due_on"] == today]),
        ("week", [x for x in week if x["due_on"] > today]),
    ]
    more = min(MOST, max(shown * 4, SHOWN * 4)) if overdue_total > len(overdue) else None
    return render(request, "tasks.html", language=visitor.language, sections=sections,
                  queue=queue, today=today, overdue_total=overdue_total, all_open=all_open,
                  more=more)


@router.post("/tasks/{task_id}/done")
def task_done(request: Request, task_id: int, visitor: Staff,
              next: Annotated[str, Form()] = "/tasks") -> Response:
    state = request.app.state
    try:
        task: dict[str, Any] = complete_task(state.domus.engine, task_id, visitor.actor,
                                             now=state.clock())
    except TaskError as exc:
        raise HTTPException(404 if "not found" in str(exc) else 409, str(exc)) from None
    from services.audit import record_access
    record_access(state.domus.engine, task["case_id"], visitor.actor, action="task_done",
                  channel="web", now=state.clock())
    return RedirectResponse(safe_next(next), status_code=303)
