"""Import, for administrators: upload a notice file (the intake flow runs in the background,
the batch page shows its summary), review and correct quarantined records, encode one
notice by hand, and route the triage queue to an OCMW.

How an upload is ingested is `app.state.intake_runs` (services.web_import.IntakeRuns):
by default the intake flow in a thread of its own (`run_intake_flow`, one Prefect flow run
as `domus ingest` makes). Tests that need no Prefect server set
`app.state.intake_runs = IntakeRuns(partial(ingest_directly, domus), background=False)`: the same
`ingest_source` the flow's task calls, run within the request.

Every batch records the administrator who imported it; the queues, counts and batches an
administrator sees are those of their OCMW and of the local operator's command-line imports
(services.review.owned_batch); another OCMW's entry is a 404.
"""

from __future__ import annotations

import threading
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from domain.access import Actor
from domain.routing import OCMWS
from domus.bootstrap import Domus
from domus.settings import Settings
from services import review
from services import web_import as imports
from services.audit import record_access
from services.intake import ingest_source, owner_of
from services.readers import inspect_file
from services.summary import IntakeSummary
from web.i18n import pick_language, translations
from web.render import render
from web.security import CSRF_FIELD, LANGUAGE_COOKIE, Admin, Visitor

router = APIRouter(include_in_schema=False)
_RUNS_LOCK = threading.Lock()
#: multipart overhead allowed on top of the largest file before the body is refused unread
_SLACK = 1024 * 1024


# -- how uploads are ingested --------------------------------------------------------------
def run_intake_flow(settings: Settings, path: Path, now: datetime,
                    owner: Actor | None = None) -> None:
    """One intake flow run over the kept file, as `domus ingest` starts it, for `owner`
    (the flow's parameters are the owner's OCMW and e-mail)."""
    from domus.jobs import run_intake

    ocmw, email = owner_of(owner)
    run_intake(settings, [path], now=now, ocmw=ocmw, imported_by=email)


def ingest_directly(domus: Domus, path: Path, now: datetime,
                    owner: Actor | None = None) -> None:
    """The flow's work without Prefect, within the request (for tests)."""
    ingest_source(domus.engine, inspect_file(path), rules=domus.rules, now=now,
                  chunk_size=domus.settings.chunk_size, owner=owner)


def intake_runs(request: Request) -> imports.IntakeRuns:
    state = request.app.state
    with _RUNS_LOCK:
        if getattr(state, "intake_runs", None) is None:
            settings = state.domus.settings
            state.intake_runs = imports.IntakeRuns(
                partial(run_intake_flow, settings),
                markers=imports.incoming_dir(settings.data_dir) / ".running")
        return state.intake_runs  # type: ignore[no-any-return]


def refuse_huge_bodies(request: Request) -> None:
    """A body far over the limit is refused before it is read (and before the session
    check, which would read it to find the CSRF token)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > imports.MAX_UPLOAD_BYTES + _SLACK:
        _ = translations(pick_language(request.cookies.get(LANGUAGE_COOKIE),
                                       accept_language=request.headers.get("accept-language"))
                         ).gettext
        raise HTTPException(413, _("The file is larger than 50 MB: split it into smaller "
                                   "files and import them one by one."))


# -- the import page and batches -----------------------------------------------------------
@router.get("/import")
def import_home(request: Request, visitor: Admin) -> Response:
    return _import_page(request, visitor)


def _import_page(request: Request, visitor: Visitor, *, error: str | None = None,
                 status_code: int = 200) -> Response:
    state = request.app.state
    with state.domus.engine.connect() as connection:
        batches = imports.recent_batches(connection, state.domus.settings.data_dir,
                                         intake_runs(request), visitor.actor)
        counts = imports.queue_counts(connection, visitor.actor)
    return render(request, "import.html", language=visitor.language, batches=batches,
                  counts=counts, error=error, status_code=status_code)


@router.post("/import", dependencies=[Depends(refuse_huge_bodies)])
async def upload(request: Request, visitor: Admin) -> Response:
    form = await request.form()  # read once already by the CSRF check
    file, state = form.get("file"), request.app.state
    now = state.clock()
    try:
        if not isinstance(file, UploadFile):
            raise imports.UploadRefused("no_file")
        path = await run_in_threadpool(imports.keep_upload, state.domus.settings.data_dir,
                                       file.filename or "", file.file, now=now)
    except imports.UploadRefused as refused:
        status = 413 if refused.code == "too_large" else 400
        return await run_in_threadpool(_import_page, request, visitor, error=refused.code,
                                       status_code=status)
    await run_in_threadpool(intake_runs(request).start, state.domus.engine, path, now,
                            visitor.actor)
    return RedirectResponse(f"/import/batches/{path.name}", status_code=303)


@router.get("/import/batches/{ref}")
def batch_page(request: Request, ref: str, visitor: Admin) -> Response:
    state = request.app.state
    with state.domus.engine.connect() as connection:
        found = imports.batch(connection, ref, state.domus.settings.data_dir,
                              intake_runs(request), visitor.actor)
    if found is None:
        raise HTTPException(404, f"no batch {ref}")
    return render(request, "import_batch.html", language=visitor.language, batch=found)


@router.post("/import/batches/{ref}/run")
def run_again(request: Request, ref: str, visitor: Admin) -> Response:
    """Ingest a kept file again after a failed or interrupted run (safe: a record already
    received is never doubled)."""
    state = request.app.state
    data_dir, runs = state.domus.settings.data_dir, intake_runs(request)
    with state.domus.engine.connect() as connection:
        found = imports.batch(connection, ref, data_dir, runs, visitor.actor)
    path = imports.kept_file(data_dir, ref)
    if found is None or path is None:
        raise HTTPException(404, f"no batch {ref}")
    if found.state in ("failed", "interrupted"):
        runs.start(state.domus.engine, path, state.clock(), visitor.actor)
    return RedirectResponse(f"/import/batches/{ref}", status_code=303)


# -- quarantine ----------------------------------------------------------------------------
@router.get("/import/quarantine")
def quarantine_queue(request: Request, visitor: Admin, fixed: int | None = None,
                     outcome: str = "", case: str = "") -> Response:
    with request.app.state.domus.engine.connect() as connection:
        entries = review.quarantined(connection, visitor.actor)
        linked = imports.readable_case(connection, case, visitor.actor)
    for entry in entries:
        entry["file"] = imports.file_label(entry["file"])
    return render(request, "import_quarantine.html", language=visitor.language,
                  entries=entries, fixed=fixed, outcome=outcome, case=linked)


@router.get("/import/quarantine/{entry_id}")
def quarantine_entry(request: Request, entry_id: int, visitor: Admin,
                     again: bool = False) -> Response:
    return _entry_page(request, visitor, entry_id, again=again)


def _entry_page(request: Request, visitor: Visitor, entry_id: int, *, again: bool = False,
                values: dict[str, str] | None = None, error: str | None = None,
                status_code: int = 200) -> Response:
    with request.app.state.domus.engine.connect() as connection:
        try:
            entry = review.quarantined_entry(connection, entry_id, visitor.actor)
        except review.ReviewError:
            raise HTTPException(404, f"no quarantine entry {entry_id}") from None
        after = imports.successor(connection, entry_id) if entry["resolved_at"] else None
    entry["file"] = imports.file_label(entry["file"])
    shown = imports.form_values(entry["data"])
    return render(request, "import_quarantine_entry.html", language=visitor.language,
                  entry=entry, values=shown | (values or {}),
                  errors=imports.field_errors(entry["errors"]), successor=after,
                  fields=imports.NOTICE_FIELDS,
                  again=again, error=error, status_code=status_code)


@router.post("/import/quarantine/{entry_id}")
async def quarantine_fix(request: Request, entry_id: int, visitor: Admin) -> Response:
    submitted = _fields(await request.form())
    return await run_in_threadpool(_fix, request, visitor, entry_id, submitted)


def _fields(form: Any) -> dict[str, str]:
    return {name: value for name, value in form.items()
            if isinstance(value, str) and name not in (CSRF_FIELD, "entry")}


def _fix(request: Request, visitor: Visitor, entry_id: int,
         submitted: dict[str, str]) -> Response:
    state = request.app.state
    engine = state.domus.engine
    with engine.connect() as connection:
        try:
            entry = review.quarantined_entry(connection, entry_id, visitor.actor)
        except review.ReviewError:
            raise HTTPException(404, f"no quarantine entry {entry_id}") from None
    if entry["resolved_at"]:
        return RedirectResponse(f"/import/quarantine/{entry_id}", status_code=303)
    try:
        record = imports.correction(entry, submitted)
    except ValueError:
        return _entry_page(request, visitor, entry_id, values=submitted, error="unchanged",
                           status_code=422)
    try:
        summary = review.reingest(engine, entry_id, record, actor=visitor.actor,
                                  rules=state.domus.rules, now=state.clock())
    except review.ReviewError:  # corrected by someone else meanwhile
        return RedirectResponse(f"/import/quarantine/{entry_id}", status_code=303)
    if summary.quarantined:
        with engine.connect() as connection:
            new_id = imports.successor(connection, entry_id)
        return RedirectResponse(f"/import/quarantine/{new_id}?again=1" if new_id
                                else "/import/quarantine", status_code=303)
    _audit(request, visitor, summary, "quarantine_fix")
    return RedirectResponse(f"/import/quarantine?fixed={entry_id}&outcome={_outcome(summary)}"
                            f"&case={(summary.cases or [''])[0]}", status_code=303)


def _outcome(summary: IntakeSummary) -> str:
    return "created" if summary.created else "updated" if summary.updated else "duplicate"


def _audit(request: Request, visitor: Visitor, summary: IntakeSummary, action: str) -> None:
    state = request.app.state
    for case_id in summary.cases:
        record_access(state.domus.engine, case_id, visitor.actor, action=action,
                      channel="web", now=state.clock())


# -- one notice by hand --------------------------------------------------------------------
@router.get("/import/notice")
def notice_form(request: Request, visitor: Admin, done: str = "", case: str = "") -> Response:
    with request.app.state.domus.engine.connect() as connection:
        linked = imports.readable_case(connection, case, visitor.actor)
    today = request.app.state.clock().date().isoformat()
    return render(request, "import_notice.html", language=visitor.language,
                  values={"received_on": today}, errors={}, entry=None, done=done,
                  case=linked, error=None, fields=imports.NOTICE_FIELDS)


@router.post("/import/notice")
async def notice_encode(request: Request, visitor: Admin) -> Response:
    form = await request.form()
    entry = form.get("entry")
    values = {name: value for name, value in _fields(form).items()
              if name in imports.NOTICE_FIELDS}
    return await run_in_threadpool(_encode, request, visitor, values,
                                   int(entry) if isinstance(entry, str) and entry.isdigit()
                                   else None)


def _encode(request: Request, visitor: Visitor, values: dict[str, str],
            entry: int | None) -> Response:
    """Ingest one notice; a resubmission after a refusal corrects the quarantine entry the
    refusal left (so the queue keeps one entry per notice, and every attempt)."""
    state = request.app.state
    domus, now = state.domus, state.clock()
    record = imports.notice_record(values)
    if not record:
        return _notice_again(request, visitor, values, {}, entry, error="empty")
    summary, path = None, None
    if entry is not None:
        try:
            summary = review.reingest(domus.engine, entry, record, actor=visitor.actor,
                                      rules=domus.rules, now=now)
        except review.ReviewError:
            summary = None  # already dealt with: this is a new notice
    if summary is None:
        path = imports.keep_notice(domus.settings.data_dir, record, now=now)
        summary = ingest_source(domus.engine, inspect_file(path), rules=domus.rules, now=now,
                                chunk_size=domus.settings.chunk_size, owner=visitor.actor)
    if summary.quarantined:
        with domus.engine.connect() as connection:
            kept = (imports.quarantine_entry_of(connection, path) if path is not None
                    else imports.successor(connection, entry or 0))
        errors = imports.field_errors(summary.quarantined[0].to_json()["errors"])
        return _notice_again(request, visitor, values, errors, kept)
    _audit(request, visitor, summary, "notice_encoded")
    return RedirectResponse(f"/import/notice?done={_outcome(summary)}"
                            f"&case={(summary.cases or [''])[0]}", status_code=303)


def _notice_again(request: Request, visitor: Visitor, values: dict[str, str],
                  errors: dict[str, list[str]], entry: int | None,
                  error: str | None = None) -> Response:
    return render(request, "import_notice.html", language=visitor.language, values=values,
                  errors=errors, entry=entry, done="", case=None, error=error,
                  fields=imports.NOTICE_FIELDS, status_code=422)


# -- triage --------------------------------------------------------------------------------
@router.get("/import/triage")
def triage_queue(request: Request, visitor: Admin, routed: str = "",
                 ocmw: str = "") -> Response:
    return _triage_page(request, visitor, routed=routed, ocmw=ocmw)


def _triage_page(request: Request, visitor: Visitor, *, routed: str = "", ocmw: str = "",
                 unrouted: str = "", status_code: int = 200) -> Response:
    with request.app.state.domus.engine.connect() as connection:
        waiting = review.triage_queue(connection, visitor.actor)
        linked = imports.readable_case(connection, routed, visitor.actor)
    name = "name_nl" if visitor.language == "nl" else "name_fr"
    ocmws = sorted(((code, getattr(o, name)) for code, o in OCMWS.items()),
                   key=lambda item: item[1])
    return render(request, "import_triage.html", language=visitor.language, waiting=waiting,
                  ocmws=ocmws, routed=routed if ocmw in OCMWS else "",
                  routed_to=getattr(OCMWS.get(ocmw), name, ""), case=linked, unrouted=unrouted,
                  status_code=status_code)


@router.post("/import/triage/{case_id}")
def triage_resolve(request: Request, case_id: str, visitor: Admin,
                   ocmw: Annotated[str, Form()] = "",
                   note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    state = request.app.state
    if ocmw not in OCMWS:
        return _triage_page(request, visitor, unrouted=case_id, status_code=422)
    try:
        review.resolve_triage(state.domus.engine, case_id, ocmw, actor=visitor.actor,
                              rules=state.domus.rules, now=state.clock(),
                              note=note.strip() or None)
    except review.ReviewError:  # not waiting in triage: unknown, or another OCMW's case
        raise HTTPException(404, f"case {case_id} is not waiting in triage") from None
    record_access(state.domus.engine, case_id, visitor.actor, action="triage_resolve",
                  channel="web", now=state.clock())
    return RedirectResponse(f"/import/triage?routed={case_id}&ocmw={ocmw}", status_code=303)
