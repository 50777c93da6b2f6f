"""The HTTP API of CONTRACT.md (bearer tokens from `domus users token`).

Who is asking is settled in one place (`caller`); every case-level answer goes through the
same services as the command line, which check the caller's OCMW and role: another OCMW's
case is a 404, a monitor never receives personal data.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from domain.access import Actor
from domain.values import BRUSSELS, MAX_DEPTH
from domus.bootstrap import Domus
from services import cases as case_service
from services.audit import record_access
from services.contacts import ContactError, record_contact
from services.intake import ingest_source
from services.monitoring import compute_stats
from services.outcomes import OutcomeError, record_outcome
from services.readers import inspect_file
from services.users import user_for_token

STATS_ROLES = ("monitor", "team_lead", "administrator")
INTAKE_ROLES = ("administrator",)


class ContactIn(BaseModel):
    channel: Literal["letter", "phone", "email", "office", "home_visit", "hearing"]
    result: Literal["reached", "not_reached"]
    at: datetime | None = None
    note: str | None = Field(default=None, max_length=4000)


class OutcomeIn(BaseModel):
    code: str
    on: date | None = None


#: the notices' body, described here rather than by a `Body` parameter: with one, FastAPI
#: parses the body before the route and answers a body it cannot parse (e.g. nested 100,000
#: deep) with a bare "There was an error parsing the body"; `body_problem` says why
NOTICES_BODY: dict[str, Any] = {
    "required": True,
    "content": {"application/json": {"schema": {
        "description": 'a notice (CONTRACT.md, "Notice (JSON)") or an array of notices'}}},
}


def body_problem(raw: bytes) -> None:
    """400 with the reason when `raw` is not JSON at all (never echoing the body). JSON that
    is valid but deeper than a notice may be, or holds a huge number, goes on to intake,
    which quarantines the record with its reason; only what cannot be parsed is refused."""
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        raise HTTPException(400, f"the body is not valid JSON: {exc.msg} at line "
                                 f"{exc.lineno}, column {exc.colno}") from None
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"the body is not valid JSON: not UTF-8 text (byte "
                                 f"{exc.start + 1})") from None
    except RecursionError:
        raise HTTPException(400, "the body is not JSON Domus can read: it is nested too "
                                 f"deeply (a notice has at most {MAX_DEPTH} levels)") from None
    except ValueError:
        pass  # e.g. an integer of over 4,300 digits: intake quarantines that record


def clock(request: Request) -> datetime:
    """Brussels wall time from the app's clock (tests fix it)."""
    return request.app.state.clock()


Now = Annotated[datetime, Depends(clock)]


def caller(request: Request,
           authorization: Annotated[str | None, Header()] = None) -> Actor:
    """Who is asking: the user of the bearer token; 401 without a valid one."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "a bearer token is needed (domus users token EMAIL)",
                            headers={"WWW-Authenticate": "Bearer"})
    domus: Domus = request.app.state.domus
    with domus.engine.connect() as connection:
        user = user_for_token(connection, token.strip(), kind="api")
    if user is None:
        raise HTTPException(401, "unknown or revoked token",
                            headers={"WWW-Authenticate": "Bearer"})
    return user.actor()


Caller = Annotated[Actor, Depends(caller)]


def api_router(domus: Domus) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["api"])

    def case_of(case_id: str, actor: Actor) -> dict[str, Any]:
        if actor.role == "monitor":
            raise HTTPException(404, f"case {case_id} not found")
        try:
            with domus.engine.connect() as connection:
                return case_service.case_document(connection, case_id, actor)
        except case_service.CaseNotFound:
            raise HTTPException(404, f"case {case_id} not found") from None

    @router.get("/tasks", summary="The caller's open tasks")
    def tasks(actor: Caller, due_before: date | None = None) -> list[dict[str, Any]]:
        if actor.role == "monitor":
            raise HTTPException(403, "monitors have no tasks")
        mine = actor.name if actor.role == "caseworker" else None
        with domus.engine.connect() as connection:
            return case_service.open_tasks(connection, actor, due_before=due_before,
                                           assignee=mine)

    @router.get("/cases/{case_id}", summary="One case, shaped as `domus case --json`")
    def case(case_id: str, actor: Caller, now: Now) -> dict[str, Any]:
        found = case_of(case_id, actor)
        record_access(domus.engine, case_id, actor, action="view", channel="api",
                      now=now)
        return found

    @router.post("/cases/{case_id}/contacts", status_code=201, summary="Record a contact")
    def contact(case_id: str, body: ContactIn, actor: Caller, now: Now) -> dict[str, Any]:
        case_of(case_id, actor)
        at = body.at.astimezone(BRUSSELS).replace(tzinfo=None) if body.at and body.at.tzinfo \
            else body.at
        try:
            made = record_contact(domus.engine, case_id, channel=body.channel,
                                  result=body.result, at=at, note=body.note, actor=actor,
                                  now=now, calendar=domus.rules.calendar)
        except ContactError as exc:
            raise HTTPException(422, str(exc)) from None
        record_access(domus.engine, case_id, actor, action="contact", channel="api",
                      now=now)
        return made

    @router.post("/cases/{case_id}/outcome", status_code=201,
                 summary="Record the final outcome and close the case")
    def outcome(case_id: str, body: OutcomeIn, actor: Caller, now: Now) -> dict[str, Any]:
        case_of(case_id, actor)
        try:
            done = record_outcome(domus.engine, case_id, body.code, on=body.on, actor=actor,
                                  now=now)
        except OutcomeError as exc:
            raise HTTPException(409 if "already has" in str(exc) else 422, str(exc)) from None
        record_access(domus.engine, case_id, actor, action="outcome", channel="api",
                      now=now)
        return done

    @router.post("/notices", summary="One notice or an array → the ingest summary",
                 openapi_extra={"requestBody": NOTICES_BODY},
                 responses={400: {"description": "the body is not JSON Domus can read "
                                                "(the detail says why)"}})
    async def notices(request: Request, actor: Caller, now: Now) -> dict[str, Any]:
        if actor.role not in INTAKE_ROLES:
            raise HTTPException(403, "only administrators import notices")
        raw = await request.body()
        body_problem(raw)
        folder = domus.settings.data_dir / "incoming"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"api-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.json"
        path.write_bytes(raw)  # what was received is kept as it came
        summary = await run_in_threadpool(  # the database work must not hold the event loop
            ingest_source, domus.engine, inspect_file(path), rules=domus.rules, now=now,
            chunk_size=domus.settings.chunk_size, owner=actor)
        return summary.to_json()

    @router.get("/stats", summary="Contact-versus-outcome statistics (no personal data)")
    def stats(actor: Caller, from_: Annotated[date | None, Query(alias="from")] = None,
              to: date | None = None,
              by: Literal["ocmw", "commune", "quarter", "month"] | None = None,
              min_cell: Annotated[int, Query(ge=1, le=100)] = 5) -> dict[str, Any]:
        if actor.role not in STATS_ROLES:
            raise HTTPException(403, "statistics are for monitors, team leads and "
                                     "administrators")
        ocmws = None if actor.role == "monitor" else [actor.ocmw or ""]
        with domus.engine.connect() as connection:
            return compute_stats(connection, from_date=from_, to_date=to, by=by,
                                 min_cell=min_cell, ocmws=ocmws)

    return router
