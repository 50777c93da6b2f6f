"""Cases: the searchable list, and one case with its timeline, tasks, contacts, letters and
outcome, and what staff do on it (record a contact or the outcome, make a letter, reassign a
task). Every view and change is audited; another OCMW's case is a 404."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from domain.programmes import REFERRAL_STATUSES
from domain.statistics import OUTCOMES
from services import vocabulary
from services.audit import audit_trail, record_access
from services.cases import (
    LEGAL_FLAGS,
    SEARCH_STATUSES,
    CaseNotFound,
    case_document,
    search_cases,
)
from services.contacts import ContactError, record_contact
from services.letter_templates import LETTER_KINDS, TemplateError
from services.letters import LetterError, make_letter
from services.outcomes import OutcomeError, record_outcome, reopen_case
from services.tasks import ASSIGNABLE_ROLES, TaskError, reassign_task
from services.users import list_users
from web.render import render
from web.security import Admin, Lead, Staff, Visitor

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FLAG_FILTERS = ("any", *LEGAL_FLAGS, "at_risk")
#: the contact buttons: one tap each once "Record a contact" is open
CONTACT_BUTTONS = (("home_visit", "reached"), ("home_visit", "not_reached"),
                   ("phone", "reached"), ("phone", "not_reached"),
                   ("office", "reached"), ("email", "reached"))
LETTER_LANGUAGES = ("auto", "nl", "fr", "both")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NOT_FOUND = "case not found"


# -- the list ------------------------------------------------------------------------------
@router.get("/cases")
def cases(request: Request, visitor: Staff,
          q: Annotated[str, Query(max_length=200)] = "", flag: str = "",
          at_risk: bool = False, status: str = "",
          page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    state = request.app.state
    flag = flag if flag in FLAG_FILTERS else ""
    status = status if status in SEARCH_STATUSES else ""
    with state.domus.engine.connect() as connection:
        rows, total = search_cases(connection, visitor.actor, q=q.strip() or None,
                                   flag=flag or None, at_risk=at_risk, status=status or None,
                                   today=state.clock().date(), limit=PAGE_SIZE,
                                   offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    return render(request, "cases.html", language=visitor.language, rows=rows, total=total,
                  page=page, pages=pages, q=q, flag=flag, at_risk=at_risk, status=status,
                  flag_filters=FLAG_FILTERS, statuses=SEARCH_STATUSES,
                  query=_query(q=q, flag=flag, at_risk="1" if at_risk else "", status=status))


def _query(**values: str) -> str:
    """The search's query string without the page, for the page links."""
    return urlencode({key: value for key, value in values.items() if value})


# -- one case ------------------------------------------------------------------------------
@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, visitor: Staff, done: str = "") -> Response:
    return _case_page(request, visitor, case_id, done=done)


def _case_page(request: Request, visitor: Visitor, case_id: str, *, done: str = "",
               error: dict[str, str] | None = None, form: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    """The case page (after a refused change: again, with the error and what was typed)."""
    state = request.app.state
    with state.domus.engine.connect() as connection:
        case = _case(connection, case_id, visitor)
        staff = list_users(connection, ocmw=case["ocmw"]) if case["ocmw"] else []
    _audit(request, visitor, case_id, "view")
    language, now = visitor.language, state.clock()
    playbook = state.domus.rules.playbook_for(case["ocmw"])
    for task in case["tasks"]:
        task["why"] = playbook.rule_text(task["kind"], language) or task["rule"]
    names = {user.email: user.name for user in staff}
    return render(
        request, "case.html", language=language, status_code=status_code, case=case,
        timeline=timeline(case, state.domus.programmes),
        open_tasks=[task for task in case["tasks"] if task["status"] == "open"],
        closed_tasks=[task for task in case["tasks"] if task["status"] != "open"],
        assignable=[user for user in staff if user.active and user.role in ASSIGNABLE_ROLES],
        names=names, programmes={key: p.name for key, p in state.domus.programmes.items()},
        done=done, error=error, form=form or {}, now=now, today=now.date(),
        contact_buttons=CONTACT_BUTTONS, letter_kinds=LETTER_KINDS,
        letter_languages=LETTER_LANGUAGES,
        outcomes=[(code, vocabulary.label(vocabulary.OUTCOME_LABELS, code, language))
                  for code in OUTCOMES],
        outcome_labels=_labels(vocabulary.OUTCOME_LABELS, OUTCOMES, language),
        referral_labels=_labels(vocabulary.REFERRAL_STATUS_LABELS, REFERRAL_STATUSES,
                                language),
        may_lead=visitor.role in ("team_lead", "administrator"))


def _case(connection: Any, case_id: str, visitor: Visitor) -> dict[str, Any]:
    try:
        return case_document(connection, case_id, visitor.actor)
    except CaseNotFound:
        raise HTTPException(404, NOT_FOUND) from None


def _labels(table: dict[str, dict[str, str]], codes: tuple[str, ...],
            language: str) -> dict[str, str]:
    return {code: vocabulary.label(table, code, language) for code in codes}


def _audit(request: Request, visitor: Visitor, case_id: str, action: str) -> None:
    state = request.app.state
    record_access(state.domus.engine, case_id, visitor.actor, action=action, channel="web",
                  now=state.clock())


def _done(case_id: str, what: str) -> Response:
    return RedirectResponse(f"/cases/{case_id}?done={what}", status_code=303)


def timeline(case: dict[str, Any], programmes: Any) -> list[dict[str, Any]]:
    """What happened on the case and what is coming, oldest first: notices, hearing and
    eviction, contacts, letters, referrals and their changes, outcomes and reopenings."""
    events: list[dict[str, Any]] = []

    def add(at: str | None, kind: str, **details: Any) -> None:
        if at:
            events.append({"at": at, "kind": kind, **details})

    for notice in case["notices"]:
        add(notice["received_on"], "notice", notice=notice["kind"])
    add(case["hearing_at"], "hearing")
    add(case["eviction_at"], "eviction")
    for contact in case["contacts"]:
        add(contact["at"], "contact", contact=contact)
    for letter in case["letters"]:
        add(letter["created_at"], "letter", letter=letter)
    for referral in case["referrals"]:
        programme = programmes.get(referral["programme"])
        add(referral["created_at"], "referral", referral=referral,
            programme=programme.name if programme else referral["programme"])
    outcomes = 0
    for event in case["history"]:
        after, before = event["after"] or {}, event["before"] or {}
        if event["kind"] == "outcome" and after.get("outcome"):
            outcomes += 1
            add(after["outcome"]["on"], "outcome", code=after["outcome"]["code"],
                actor=event["actor"])
        elif event["kind"] == "reopen":
            add(event["at"], "reopen", reason=after.get("reason"), actor=event["actor"])
        elif event["kind"] == "referral_status":
            add(event["at"], "referral_status", status=after.get("status"),
                before=before.get("status"), actor=event["actor"])
    if case["outcome"] and not outcomes:  # an outcome from before the history was kept
        add(case["outcome"]["on"], "outcome", code=case["outcome"]["code"], actor=None)
    return sorted(events, key=lambda event: event["at"])


# -- changes -------------------------------------------------------------------------------
@router.post("/cases/{case_id}/contacts")
def add_contact(request: Request, case_id: str, visitor: Staff,
                contact: Annotated[str, Form(max_length=40)],
                at: Annotated[str, Form(max_length=40)] = "",
                note: Annotated[str, Form(max_length=4000)] = "") -> Response:
    state = request.app.state
    channel, _, result = contact.partition("/")
    form = {"note": note, "at": at}
    when = _parse(at, datetime.fromisoformat)
    if when is False:
        return _refused(request, visitor, case_id, "contact_at", form)
    try:
        record_contact(state.domus.engine, case_id, channel=channel, result=result,
                       at=when, note=note.strip() or None, actor=visitor.actor,
                       now=state.clock(), calendar=state.domus.rules.calendar)
    except CaseNotFound:
        raise HTTPException(404, NOT_FOUND) from None
    except ContactError as exc:
        code = "contact_future" if "future" in str(exc) else "contact"
        return _refused(request, visitor, case_id, code, form, str(exc))
    _audit(request, visitor, case_id, "contact")
    return _done(case_id, "contact")


@router.post("/cases/{case_id}/outcome")
def set_outcome(request: Request, case_id: str, visitor: Staff,
                code: Annotated[str, Form(max_length=40)] = "",
                on: Annotated[str, Form(max_length=20)] = "") -> Response:
    state = request.app.state
    form = {"code": code, "on": on}
    when = _parse(on, date.fromisoformat)
    if when is False:
        return _refused(request, visitor, case_id, "outcome_on", form)
    if code not in OUTCOMES:
        return _refused(request, visitor, case_id, "outcome_code", form)
    try:
        record_outcome(state.domus.engine, case_id, code, on=when, actor=visitor.actor,
                       now=state.clock())
    except CaseNotFound:
        raise HTTPException(404, NOT_FOUND) from None
    except OutcomeError as exc:
        return _refused(request, visitor, case_id, _outcome_problem(str(exc)), form, str(exc))
    _audit(request, visitor, case_id, "outcome")
    return _done(case_id, "outcome")


def _outcome_problem(message: str) -> str:
    for words, code in (("future", "outcome_future"), ("before the case", "outcome_before"),
                        ("already has", "outcome_exists")):
        if words in message:
            return code
    return "outcome"


@router.post("/cases/{case_id}/reopen")
def reopen(request: Request, case_id: str, visitor: Lead,
           reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    state = request.app.state
    if not reason.strip():
        return _refused(request, visitor, case_id, "reopen_reason", {"reason": reason})
    try:
        reopen_case(state.domus.engine, case_id, reason=reason, actor=visitor.actor,
                    now=state.clock())
    except CaseNotFound:
        raise HTTPException(404, NOT_FOUND) from None
    except OutcomeError as exc:
        return _refused(request, visitor, case_id, "reopen", {"reason": reason}, str(exc))
    _audit(request, visitor, case_id, "reopen")
    return _done(case_id, "reopen")


@router.post("/cases/{case_id}/letters")
def new_letter(request: Request, case_id: str, visitor: Staff,
               kind: Annotated[str, Form(max_length=40)] = "",
               language: Annotated[str, Form(max_length=8)] = "auto") -> Response:
    state = request.app.state
    form = {"kind": kind, "language": language}
    if kind not in LETTER_KINDS:
        return _refused(request, visitor, case_id, "letter_kind", form)
    if language not in LETTER_LANGUAGES:
        return _refused(request, visitor, case_id, "letter_language", form)
    domus = state.domus
    try:
        make_letter(domus.engine, case_id, kind, None if language == "auto" else language,
                    actor=visitor.actor, data_dir=domus.settings.data_dir,
                    profiles=domus.profiles, calendar=domus.rules.calendar, now=state.clock())
    except CaseNotFound:
        raise HTTPException(404, NOT_FOUND) from None
    except (LetterError, TemplateError) as exc:
        return _refused(request, visitor, case_id, "letter", form, str(exc))
    _audit(request, visitor, case_id, "letter")
    return _done(case_id, "letter")


@router.get("/cases/{case_id}/letters/{letter_id}")
def letter_file(request: Request, case_id: str, letter_id: int, visitor: Staff) -> Response:
    state = request.app.state
    with state.domus.engine.connect() as connection:
        case = _case(connection, case_id, visitor)
    letter = next((x for x in case["letters"] if x["id"] == letter_id), None)
    path = state.domus.settings.data_dir / letter["path"] if letter else None
    if letter is None or path is None or not path.is_file():
        raise HTTPException(404, "letter not found")
    _audit(request, visitor, case_id, "letter_download")
    return FileResponse(path, media_type=DOCX, filename=_file_name(case, letter, path))


def _file_name(case: dict[str, Any], letter: dict[str, Any], path: Path) -> str:
    docket = re.sub(r"[^A-Za-z0-9_-]+", "-", case["docket_number"]).strip("-") or case["id"]
    return f"{docket}-{letter['kind']}-{letter['lang']}-{letter['id']}{path.suffix or '.docx'}"


@router.post("/cases/{case_id}/tasks/{task_id}/assign")
def reassign(request: Request, case_id: str, task_id: int, visitor: Lead,
             assignee: Annotated[str, Form(max_length=320)] = "") -> Response:
    state = request.app.state
    with state.domus.engine.connect() as connection:
        case = _case(connection, case_id, visitor)
    if all(task["id"] != task_id for task in case["tasks"]):
        raise HTTPException(404, "task not found")
    try:
        reassign_task(state.domus.engine, task_id, assignee.strip() or None, visitor.actor,
                      now=state.clock())
    except TaskError as exc:
        return _refused(request, visitor, case_id, "reassign", {"task": str(task_id)},
                        str(exc), status_code=409)
    _audit(request, visitor, case_id, "reassign")
    return _done(case_id, "reassign")


@router.get("/cases/{case_id}/audit.json")
def audit_export(request: Request, case_id: str, visitor: Admin) -> Response:
    state = request.app.state
    try:
        with state.domus.engine.connect() as connection:
            trail = audit_trail(connection, case_id, visitor.actor)
    except CaseNotFound:
        raise HTTPException(404, NOT_FOUND) from None
    _audit(request, visitor, case_id, "audit_export")
    return JSONResponse(trail, headers={
        "Content-Disposition": f'attachment; filename="audit-{case_id}.json"',
        "Cache-Control": "no-store"})


def _parse(text: str, parse: Any) -> Any:
    """The form's date or date-time; None when left empty, False when it is not one."""
    if not text.strip():
        return None
    try:
        found = parse(text.strip())
    except ValueError:
        return False
    return False if getattr(found, "tzinfo", None) is not None else found


def _refused(request: Request, visitor: Visitor, case_id: str, code: str,
             form: dict[str, str], detail: str = "", status_code: int = 422) -> Response:
    """The case page again, saying what was wrong and keeping what was typed."""
    return _case_page(request, visitor, case_id, error={"code": code, "detail": detail},
                      form=form, status_code=status_code)
