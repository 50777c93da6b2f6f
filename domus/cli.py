"""`domus`, the command line of CONTRACT.md. It parses, calls one service, prints.

Exit status: 0 success; 2 bad usage or unreadable input; 3 ingest finished with records in
quarantine; 1 anything else. Errors are one line on stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from functools import partial, wraps
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from domain.access import Actor
from domain.notices import notice_json_schema
from domain.values import BRUSSELS, parse_date, parse_local_datetime
from domus import output
from domus.bootstrap import ConfigurationError, Domus, bootstrap
from domus.deploy import RunFailed, ServerError
from domus.settings import Settings
from services import cases as case_service
from services import review
from services.calendar_feed import CalendarRefused
from services.contacts import ContactError
from services.intake import received_count
from services.letter_templates import TemplateError
from services.letters import LetterError, LetterStorageError
from services.outcomes import OutcomeError
from services.pdf import PdfUnavailable
from services.readers import UnreadableFile, inspect_file
from services.referrals import ReferralError
from services.tasks import TaskError
from services.users import UserError

EXIT_FAILURE, EXIT_USAGE, EXIT_QUARANTINED = 1, 2, 3


class Failure(click.ClickException):
    exit_code = EXIT_FAILURE

    def show(self, file: Any = None) -> None:
        click.echo(f"domus: {self.message}", err=True)


class BadInput(Failure):
    exit_code = EXIT_USAGE


def translated_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Known failures become one clear line and their exit status, never a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LetterStorageError as exc:  # a full disk: nothing recorded, try again later
            raise Failure(str(exc)) from None
        except OperationalError as exc:  # the database server is down or unreachable
            raise Failure(database_unreachable(exc)) from None
        except (UnreadableFile, ConfigurationError, UserError, ContactError, TemplateError,
                LetterError, OutcomeError, ReferralError) as exc:
            raise BadInput(str(exc)) from None
        except (case_service.CaseNotFound, review.ReviewError, TaskError,
                CalendarRefused, PdfUnavailable) as exc:
            raise Failure(str(exc.args[0])) from None
        except (RunFailed, ServerError) as exc:  # a flow run on a Prefect server
            raise Failure(str(exc)) from None

    return run


def database_unreachable(exc: OperationalError) -> str:
    """One line for a database that went away: where, and the driver's first line (never
    the statement or its parameters, which may hold personal data)."""
    from sqlalchemy.engine import make_url

    where = "the database"
    with contextlib.suppress(Exception):
        where = make_url(Settings().database_url).render_as_string(hide_password=True)
    reason = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() \
        else type(exc.orig or exc).__name__
    return f"database unreachable ({where}): {reason}; nothing was half-written, run it again"


def now_in_brussels() -> datetime:
    return datetime.now(BRUSSELS).replace(tzinfo=None, microsecond=0)


def open_domus() -> Domus:
    return bootstrap(Settings())


def emit(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(render(data))


class IsoDate(click.ParamType):
    name = "DATE"

    def convert(self, value: Any, param: Any, ctx: Any) -> date:
        try:
            return parse_date(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class IsoDateTime(click.ParamType):
    name = "DATETIME"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        try:
            return parse_local_datetime(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


json_option = click.option("--json", "as_json", is_flag=True, help="print one JSON document")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Domus: eviction notices become tracked cases with deadlines, tasks and letters."""
    from domus.logging import configure_cli_logging

    configure_cli_logging()


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--now", type=IsoDateTime(), help="receipt time to record (default: now)")
@json_option
@translated_errors
def ingest(paths: tuple[Path, ...], now: datetime | None, as_json: bool) -> None:
    """Ingest notices from .json, .jsonl and .csv files (one intake flow run)."""
    from domus.jobs import check_notice_files, run_intake

    check_notice_files(paths)
    # a file that is not text is refused here in one line (exit 2), not as a failed flow
    # run's traceback; one streamed read of each file
    digests = [inspect_file(path).sha256 for path in paths]
    settings = Settings()
    domus = bootstrap(settings)
    count = None
    if sys.stderr.isatty():
        count = partial(received_count, domus.engine, digests)
    with output.progress_count(count):
        summary = run_intake(settings, paths, now=now or now_in_brussels())
    emit(summary.to_json(), as_json, output.render_summary)
    if summary.quarantined:
        sys.exit(EXIT_QUARANTINED)


@cli.command("cases")
@click.option("--ocmw", help="NIS code of the OCMW, e.g. 21015")
@click.option("--status", type=click.Choice(["open", "closed", "triage", "objected"]))
@click.option("--flag", "flagged", is_flag=True, help="only cases with a flag")
@json_option
@translated_errors
def list_cases(ocmw: str | None, status: str | None, flagged: bool, as_json: bool) -> None:
    """List cases."""
    with open_domus().engine.connect() as connection:
        found = case_service.list_cases(connection, Actor.operator(), ocmw=ocmw,
                                        status=status, flagged=flagged)
    emit(found, as_json, output.render_cases)


@cli.command("case")
@click.argument("case_id")
@json_option
@translated_errors
def show_case(case_id: str, as_json: bool) -> None:
    """One case: notices, legal dates and flags, tasks, contacts, letters, outcome."""
    from services.audit import record_access

    domus = open_domus()
    with domus.engine.connect() as connection:
        document = case_service.case_document(connection, case_id, Actor.operator())
    record_access(domus.engine, case_id, Actor.operator(), action="view", channel="cli",
                  now=now_in_brussels())
    emit(document, as_json, output.render_case)


@cli.command("audit")
@click.argument("case_id")
@click.option("--out", "out_path", type=click.Path(path_type=Path),
              help="write the trail to this .json file (a data-protection request)")
@translated_errors
def audit(case_id: str, out_path: Path | None) -> None:
    """Who saw and changed a case, when and how (JSON)."""
    from services.audit import audit_trail

    with open_domus().engine.connect() as connection:
        trail = audit_trail(connection, case_id, Actor.operator())
    text = json.dumps(trail, ensure_ascii=False, indent=2, default=str)
    if out_path:
        out_path.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {out_path}: {len(trail['entries'])} entries")
    else:
        click.echo(text)


@cli.command("tasks")
@click.option("--due-before", type=IsoDate(), help="due before this date")
@click.option("--overdue", is_flag=True, help="due before today")
@click.option("--assignee", help="e-mail of the assignee")
@json_option
@translated_errors
def list_tasks(due_before: date | None, overdue: bool, assignee: str | None,
               as_json: bool) -> None:
    """Open tasks by due date."""
    today = now_in_brussels().date() if overdue else None
    with open_domus().engine.connect() as connection:
        found = case_service.open_tasks(connection, Actor.operator(), due_before=due_before,
                                        overdue_on=today,
                                        assignee=assignee.strip().lower() if assignee else None)
    emit(found, as_json, output.render_tasks)


@cli.group("schema")
def schema() -> None:
    """JSON Schemas of the files Domus reads."""


@schema.command("notice")
def schema_notice() -> None:
    """The JSON Schema of a notice."""
    click.echo(json.dumps(notice_json_schema(), indent=2, ensure_ascii=False))


@cli.group("quarantine", invoke_without_command=True)
@click.option("--all", "include_resolved", is_flag=True, help="also the resolved ones")
@json_option
@click.pass_context
@translated_errors
def quarantine(ctx: click.Context, include_resolved: bool, as_json: bool) -> None:
    """Records that failed validation; `show` one, `fix` and re-ingest it."""
    if ctx.invoked_subcommand:
        return
    with open_domus().engine.connect() as connection:
        entries = review.quarantined(connection, Actor.operator(),
                                     include_resolved=include_resolved)
    emit(entries, as_json, output.render_quarantine)


@quarantine.command("show")
@click.argument("entry_id", type=int)
@json_option
@translated_errors
def quarantine_show(entry_id: int, as_json: bool) -> None:
    """One quarantined record: its reasons and its raw text as received."""
    with open_domus().engine.connect() as connection:
        entry = review.quarantined_entry(connection, entry_id, Actor.operator())
    emit(entry, as_json, output.render_quarantine_entry)


@quarantine.command("fix")
@click.argument("entry_id", type=int)
@click.option("--set", "changes", multiple=True, metavar="FIELD=VALUE",
              help="correct one field, e.g. --set tenant.last_name=Dupont (repeatable)")
@click.option("--file", "corrected_file", type=click.Path(path_type=Path),
              help="a .json file with the whole corrected notice")
@json_option
@translated_errors
def quarantine_fix(entry_id: int, changes: tuple[str, ...], corrected_file: Path | None,
                   as_json: bool) -> None:
    """Correct a quarantined record and ingest it again."""
    domus = open_domus()
    with domus.engine.connect() as connection:
        entry = review.quarantined_entry(connection, entry_id, Actor.operator())
    record = _corrected(entry, changes, corrected_file)
    summary = review.reingest(domus.engine, entry_id, record, actor=Actor.operator(),
                              rules=domus.rules, now=now_in_brussels())
    emit(summary.to_json(), as_json, output.render_summary)
    if summary.quarantined:
        sys.exit(EXIT_QUARANTINED)


def _corrected(entry: dict[str, Any], changes: tuple[str, ...],
               corrected_file: Path | None) -> dict[str, Any]:
    if corrected_file is not None:
        try:
            record = json.loads(corrected_file.read_text(encoding="utf-8-sig"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BadInput(f"{corrected_file}: cannot read a JSON notice ({exc})") from None
        if not isinstance(record, dict):
            raise BadInput(f"{corrected_file}: expected one JSON object")
        return record
    pairs = {}
    for change in changes:
        field, sep, value = change.partition("=")
        if not sep or not field.strip():
            raise BadInput(f"--set {change}: expected FIELD=VALUE, e.g. tenant.last_name=Dupont")
        pairs[field.strip()] = value
    if not pairs:
        raise BadInput("give the corrections with --set FIELD=VALUE or --file FILE.json")
    return review.corrected_record(entry, pairs)


@cli.group("triage", invoke_without_command=True)
@json_option
@click.pass_context
@translated_errors
def triage(ctx: click.Context, as_json: bool) -> None:
    """Cases that could not be routed to an OCMW with certainty; `resolve` one."""
    if ctx.invoked_subcommand:
        return
    with open_domus().engine.connect() as connection:
        entries = review.triage_queue(connection, Actor.operator())
    emit(entries, as_json, output.render_triage)


@triage.command("resolve")
@click.argument("case_id")
@click.option("--ocmw", required=True, help="NIS code of the OCMW, e.g. 21009")
@click.option("--note", help="why (kept with the decision)")
@translated_errors
def triage_resolve(case_id: str, ocmw: str, note: str | None) -> None:
    """Route a triage case to an OCMW."""
    domus = open_domus()
    review.resolve_triage(domus.engine, case_id, ocmw, actor=Actor.operator(),
                          rules=domus.rules, now=now_in_brussels(), note=note)
    click.echo(f"case {case_id} routed to OCMW {ocmw}")

# -- people, tasks and the sweep (issue 3) ------------------------------------------------
@cli.group("users", invoke_without_command=True)
@click.option("--ocmw", help="only this OCMW's users")
@json_option
@click.pass_context
@translated_errors
def users(ctx: click.Context, ocmw: str | None, as_json: bool) -> None:
    """Staff and monitors: `add` one, give out an API `token` or a `calendar-url`."""
    if ctx.invoked_subcommand:
        return
    from services.users import list_users

    with open_domus().engine.connect() as connection:
        found = [user.as_json() for user in list_users(connection, ocmw=ocmw)]
    emit(found, as_json, output.render_users)


@users.command("add")
@click.argument("email")
@click.option("--name", required=True, help="full name, as e-mails greet the user")
@click.option("--role", required=True,
              type=click.Choice(["caseworker", "team_lead", "administrator", "monitor"]))
@click.option("--ocmw", help="NIS code of the user's OCMW, e.g. 21015 (not for a monitor)")
@click.option("--lang", "language", type=click.Choice(["nl", "fr"]), default="nl",
              show_default=True, help="language of the user's e-mails and calendar")
@click.option("--password-file", type=click.Path(path_type=Path),
              help="a file whose first line is the password (else a prompt, or stdin)")
@json_option
@translated_errors
def users_add(email: str, name: str, role: str, ocmw: str | None, language: str,
              password_file: Path | None, as_json: bool) -> None:
    """Create a user. The password is never taken from the command line."""
    from domain.routing import OCMWS
    from services.users import add_user

    password = _read_password(password_file)
    domus = open_domus()
    user = add_user(domus.engine, email=email, name=name, role=role, ocmw=ocmw,
                    language=language, password=password, now=now_in_brussels(),
                    known_ocmws=OCMWS if domus.settings.region == "brussels" else {},
                    rules=domus.rules)
    if password is None:
        click.echo(f"domus: {user.email} has no password yet: they can use an API token "
                   "(`domus users token`) but cannot log in to the web app until "
                   "`domus users password` sets one", err=True)
    emit(user.as_json(), as_json,
         lambda u: f"created {u['role']} {u['email']} ({output.ocmw_label(u['ocmw'])}"
                   f", {u['language']})" if u["ocmw"] else
                   f"created {u['role']} {u['email']} ({u['language']})")


@users.command("deactivate")
@click.argument("email")
@translated_errors
def users_deactivate(email: str) -> None:
    """A user who leaves: tokens revoked, open tasks handed to the other caseworkers."""
    from services.users import deactivate_user

    domus = open_domus()
    held = deactivate_user(domus.engine, email, rules=domus.rules, now=now_in_brussels())
    click.echo(f"{email} deactivated; their {held} open task(s) went back to the team")


@users.command("password")
@click.argument("email")
@click.option("--password-file", type=click.Path(path_type=Path),
              help="a file whose first line is the password (else a prompt, or stdin)")
@translated_errors
def users_password(email: str, password_file: Path | None) -> None:
    """Set or change a user's password."""
    from services.users import set_password

    password = _read_password(password_file)
    if password is None:
        raise BadInput("no password given (--password-file FILE, a prompt, or stdin)")
    set_password(open_domus().engine, email, password)
    click.echo(f"password of {email} set")


def _read_password(path: Path | None) -> str | None:
    """From a file (first line), an interactive prompt, or piped stdin; None when stdin
    is empty. Never from the command line, where other users of the machine see it."""
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise BadInput(f"--password-file {path}: {exc.strerror or exc}") from None
        if not lines or not lines[0]:
            raise BadInput(f"--password-file {path}: the first line is empty")
        return lines[0]
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline().rstrip("\r\n")
    return line or None


@users.command("token")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="revoke the user's API tokens instead")
@translated_errors
def users_token(email: str, revoke: bool) -> None:
    """Print a new API token for this user (a bearer token for the HTTP API)."""
    from services.users import issue_token, revoke_tokens

    engine, now = open_domus().engine, now_in_brussels()
    if revoke:
        count = revoke_tokens(engine, email, kind="api", now=now)
        click.echo(f"revoked {count} API token(s) of {email}")
        return
    click.echo(issue_token(engine, email, kind="api", now=now))


@users.command("calendar-url")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="stop the user's calendar feed")
@translated_errors
def users_calendar_url(email: str, revoke: bool) -> None:
    """Print a new secret calendar-feed address for this user; the old one stops working."""
    from services.users import issue_token, revoke_tokens

    domus, now = open_domus(), now_in_brussels()
    if revoke:
        count = revoke_tokens(domus.engine, email, kind="calendar", now=now)
        click.echo(f"revoked {count} calendar feed(s) of {email}")
        return
    token = issue_token(domus.engine, email, kind="calendar", now=now, revoke_others=True)
    click.echo(f"{domus.settings.base_url.rstrip('/')}/calendar/{token}.ics")


@cli.group("task")
def task_group() -> None:
    """Act on one task: `done`, `cancel`, `assign`."""


@task_group.command("done")
@click.argument("task_id", type=int)
@json_option
@translated_errors
def task_done(task_id: int, as_json: bool) -> None:
    """Mark a task done."""
    from services.tasks import complete_task

    found = complete_task(open_domus().engine, task_id, Actor.operator(), now=now_in_brussels())
    emit(found, as_json, lambda t: f"task {t['id']} ({t['kind']}) is {t['status']}")


@task_group.command("cancel")
@click.argument("task_id", type=int)
@json_option
@translated_errors
def task_cancel(task_id: int, as_json: bool) -> None:
    """Cancel a task that is no longer needed."""
    from services.tasks import cancel_task

    found = cancel_task(open_domus().engine, task_id, Actor.operator(), now=now_in_brussels())
    emit(found, as_json, lambda t: f"task {t['id']} ({t['kind']}) is {t['status']}")


@task_group.command("assign")
@click.argument("task_id", type=int)
@click.argument("email", required=False)
@click.option("--queue", is_flag=True, help="put the task back in the team queue")
@json_option
@translated_errors
def task_assign(task_id: int, email: str | None, queue: bool, as_json: bool) -> None:
    """Give a task to a caseworker or team lead of the case's OCMW."""
    from services.tasks import reassign_task

    if bool(email) == queue:
        raise BadInput("give either the EMAIL of the new assignee or --queue")
    found = reassign_task(open_domus().engine, task_id, None if queue else email,
                          Actor.operator(), now=now_in_brussels())
    emit(found, as_json, lambda t: f"task {t['id']} ({t['kind']}) → "
                                   f"{t['assignee'] or 'the team queue'}")


@cli.command("contact")
@click.argument("case_id")
@click.option("--channel", required=True,
              type=click.Choice(["letter", "phone", "email", "office", "home_visit", "hearing"]))
@click.option("--result", required=True, type=click.Choice(["reached", "not_reached"]))
@click.option("--at", type=IsoDateTime(), help="when (default: now)")
@click.option("--note", help="what was agreed or tried")
@json_option
@translated_errors
def contact(case_id: str, channel: str, result: str, at: datetime | None, note: str | None,
            as_json: bool) -> None:
    """Record a contact with the household; an effective one closes the first-contact and
    home-visit tasks and clears `at_risk`."""
    from services.contacts import record_contact

    recorded = record_contact(open_domus().engine, case_id, channel=channel, result=result,
                              at=at, note=note, actor=Actor.operator(), now=now_in_brussels())
    emit(recorded, as_json, _render_contact)


def _render_contact(c: dict[str, Any]) -> str:
    line = (f"contact {c['id']} on case {c['case_id']}: {c['channel']} {c['result']} at "
            f"{c['at']}" + (" (effective contact)" if c["effective"] else ""))
    if c["closed_tasks"]:
        line += f"; closed tasks {', '.join(map(str, c['closed_tasks']))}"
    if c["at_risk_cleared"]:
        line += "; at_risk cleared"
    return line


@cli.command("sweep")
@click.option("--now", type=IsoDateTime(), help="the moment to sweep for (default: now)")
@json_option
@translated_errors
def sweep(now: datetime | None, as_json: bool) -> None:
    """Deadline sweep: due, overdue and escalation notifications, at-risk flags, e-mail."""
    from domus.jobs import run_sweep

    settings = Settings()
    bootstrap(settings)
    emit(run_sweep(settings, now=now or now_in_brussels()), as_json, output.render_sweep)


@cli.command("digest")
@click.option("--now", type=IsoDateTime(), help="the moment (default: now)")
@json_option
@translated_errors
def digest(now: datetime | None, as_json: bool) -> None:
    """Each caseworker's e-mail of today's and overdue tasks (working days only)."""
    from domus.jobs import run_digest

    settings = Settings()
    bootstrap(settings)
    report = run_digest(settings, now=now or now_in_brussels())
    emit(report, as_json, lambda r: f"{r['digests']} digests written; "
                                    + output.render_delivery(r["delivery"]))


@cli.group("outbox", invoke_without_command=True)
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "failed", "held",
                                             "moot"]))
@click.option("--limit", default=50, show_default=True)
@json_option
@click.pass_context
@translated_errors
def outbox(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """Notifications: what went out, what waits, what failed; `retry` the failed ones."""
    if ctx.invoked_subcommand:
        return
    from services.delivery import outbox_rows

    with open_domus().engine.connect() as connection:
        rows = outbox_rows(connection, status=status, limit=limit)
    emit(rows, as_json, output.render_outbox)


@outbox.command("retry")
@translated_errors
def outbox_retry() -> None:
    """Queue the failed notifications again (the next sweep sends them)."""
    from services.delivery import retry_failed

    count = retry_failed(open_domus().engine, now=now_in_brussels())
    click.echo(f"{count} notification(s) queued again")


@cli.command("calendar")
@click.argument("email")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="the .ics file to write")
@translated_errors
def calendar(email: str, out_path: Path) -> None:
    """That user's hearings, eviction dates and task deadlines as an iCalendar file."""
    from services.calendar_feed import build_calendar
    from services.users import find_user

    domus = open_domus()
    with domus.engine.connect() as connection:
        user = find_user(connection, email)
        data = build_calendar(connection, user.as_json(), now=now_in_brussels(),
                              base_url=domus.settings.base_url, rules=domus.rules)
    try:
        out_path.write_bytes(data)
    except OSError as exc:
        raise BadInput(f"--out {out_path}: {exc.strerror or exc}") from None
    click.echo(f"wrote {out_path} ({data.count(b'BEGIN:VEVENT')} events)")


# -- letters (issue 4) --------------------------------------------------------------------
LETTER_KIND = click.Choice(["tenant_invitation", "landlord_mediation", "visit_notice",
                            "court_report"])


@cli.command("letter")
@click.argument("case_id")
@click.option("--kind", required=True, type=LETTER_KIND)
@click.option("--lang", "language", type=click.Choice(["nl", "fr", "both"]),
              help="default: the tenant's language, both when unknown (the court's for a "
                   "court report)")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="the .docx file to write")
@click.option("--pdf", is_flag=True, help="also a PDF beside it (LibreOffice)")
@json_option
@translated_errors
def letter(case_id: str, kind: str, language: str | None, out_path: Path, pdf: bool,
           as_json: bool) -> None:
    """Render one letter and record it in the letter register."""
    from services.letters import make_letter, record_pdf
    from services.pdf import convert_to_pdf, find_soffice

    domus = open_domus()
    if pdf:
        find_soffice(domus.settings.soffice)
    made = make_letter(domus.engine, case_id, kind, language, actor=Actor.operator(),
                       data_dir=domus.settings.data_dir, profiles=domus.profiles,
                       calendar=domus.rules.calendar, now=now_in_brussels(),
                       copy_to=out_path)
    made.pop("data")
    made["file"] = str(out_path)
    if pdf:
        [made["pdf"]] = map(str, convert_to_pdf([out_path], out_path.parent,
                                                soffice=domus.settings.soffice))
        record_pdf(domus.engine, made["id"], made["pdf"])
    emit(made, as_json, lambda m: f"wrote {m['file']} ({m['kind']}, {m['lang']}; template "
                                  + ", ".join(f"{k} v{v}" for k, v in
                                              m["template_versions"].items())
                                  + ")" + (f" and {m['pdf']}" if m.get("pdf") else "")
                                  + (f"; closed task {m['closed_tasks'][0]}"
                                     if m["closed_tasks"] else ""))


@cli.command("letters")
@click.option("--due-before", required=True, type=IsoDate(),
              help="letters whose task is due before this date")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="the folder for the letters and the print file")
@click.option("--pdf", is_flag=True, help="also PDFs (one LibreOffice run for the batch)")
@json_option
@translated_errors
def letters(due_before: date, out_dir: Path, pdf: bool, as_json: bool) -> None:
    """Every letter whose task is due: one file each, one merged file to print; their
    tasks are closed (one flow run)."""
    from domus.jobs import run_letters

    settings = Settings()
    bootstrap(settings)
    result = run_letters(settings, due_before=due_before, out_dir=out_dir, pdf=pdf,
                         now=now_in_brussels())
    emit(result, as_json, lambda r: (
        f"{len(r['letters'])} letters in {out_dir}"
        + (f"; print them all from {r['print_file']}" if r["print_file"] else "")
        + (f"; {len(r['pdf'])} PDFs" if r["pdf"] else "")))


@cli.group("templates", invoke_without_command=True)
@json_option
@click.pass_context
@translated_errors
def templates(ctx: click.Context, as_json: bool) -> None:
    """Letter templates: every version kept; `export`, `add` a Word file, `activate`."""
    if ctx.invoked_subcommand:
        return
    from services.letter_templates import list_templates

    with open_domus().engine.connect() as connection:
        found = list_templates(connection)
    emit(found, as_json, output.render_templates)


@templates.command("export")
@click.argument("kind", type=LETTER_KIND)
@click.argument("lang", type=click.Choice(["nl", "fr"]))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@translated_errors
def templates_export(kind: str, lang: str, out_path: Path) -> None:
    """Write the active template to a file, to edit it in Word."""
    from services.letter_templates import active_template, template_bytes

    domus = open_domus()
    with domus.engine.begin() as connection:
        version = active_template(connection, kind, lang, now=now_in_brussels())
    out_path.write_bytes(template_bytes(version, domus.settings.data_dir))
    click.echo(f"wrote {out_path}: {lang} {kind}, version {version.version}")


@templates.command("add")
@click.argument("kind", type=LETTER_KIND)
@click.argument("lang", type=click.Choice(["nl", "fr"]))
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--note", help="what changed")
@translated_errors
def templates_add(kind: str, lang: str, path: Path, note: str | None) -> None:
    """Check a Word file and make it the new version of this template."""
    from services.letter_templates import add_template

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: {exc.strerror or exc}") from None
    domus = open_domus()
    version = add_template(domus.engine, kind, lang, data, data_dir=domus.settings.data_dir,
                           note=note, who=Actor.operator().name, now=now_in_brussels())
    click.echo(f"{lang} {kind}: version {version.version} is now in use")


@templates.command("activate")
@click.argument("kind", type=LETTER_KIND)
@click.argument("lang", type=click.Choice(["nl", "fr"]))
@click.argument("version", type=int)
@translated_errors
def templates_activate(kind: str, lang: str, version: int) -> None:
    """Use an earlier (or later) kept version again."""
    from services.letter_templates import activate

    activate(open_domus().engine, kind, lang, version)
    click.echo(f"{lang} {kind}: version {version} is now in use")


# -- outcomes, referrals and monitoring (issue 5) ----------------------------------------
OUTCOME_CODES = ["kept_payment_plan", "kept_debt_cleared", "kept_agreement", "rehoused",
                 "left_voluntarily", "evicted", "procedure_stopped", "refused_help",
                 "lost_contact", "unknown"]


@cli.command("outcome")
@click.argument("case_id")
@click.option("--code", required=True, type=click.Choice(OUTCOME_CODES))
@click.option("--at", "on", type=IsoDate(), help="the day of the outcome (default: today)")
@json_option
@translated_errors
def outcome(case_id: str, code: str, on: date | None, as_json: bool) -> None:
    """Record the case's final outcome and close it (its open tasks are cancelled)."""
    from services.outcomes import record_outcome

    done = record_outcome(open_domus().engine, case_id, code, on=on, actor=Actor.operator(),
                          now=now_in_brussels())
    emit(done, as_json, lambda d: f"case {d['case_id']} closed: {d['code']} on {d['on']}"
                                  + (" (a solution)" if d["solution"] else ""))


@cli.command("reopen")
@click.argument("case_id")
@click.option("--reason", required=True, help="why the outcome is taken back")
@json_option
@translated_errors
def reopen(case_id: str, reason: str, as_json: bool) -> None:
    """Take back a case's outcome (kept in the history)."""
    from services.outcomes import reopen_case

    done = reopen_case(open_domus().engine, case_id, reason=reason, actor=Actor.operator(),
                       now=now_in_brussels())
    emit(done, as_json, lambda d: f"case {d['case_id']} reopened ({d['status']})")


@cli.command("import-events")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@translated_errors
def import_events_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Contacts and outcomes in bulk (.csv as Excel saves it, .jsonl), e.g. an OCMW's
    tracking spreadsheet; a row names its case by court + docket_number."""
    from domus.jobs import check_notice_files
    from services.import_events import EventSummary, import_events

    check_notice_files(paths)
    domus, total = open_domus(), EventSummary()
    for path in paths:
        found = import_events(domus.engine, inspect_file(path), now=now_in_brussels(),
                              calendar=domus.rules.calendar)
        total.received += found.received
        total.contacts += found.contacts
        total.outcomes += found.outcomes
        total.duplicates += found.duplicates
        total.quarantined += found.quarantined
    emit(total.to_json(), as_json, output.render_events)
    if total.quarantined:
        sys.exit(EXIT_QUARANTINED)


@cli.command("programmes")
@click.option("--kind", help="only this kind, e.g. housing_first")
@json_option
@translated_errors
def programmes(kind: str | None, as_json: bool) -> None:
    """The directory of partner programmes a household can be referred to."""
    found = [p.as_json() for p in open_domus().programmes.values()
             if kind is None or p.kind == kind]
    emit(found, as_json, output.render_programmes)


@cli.command("refer")
@click.argument("case_id")
@click.option("--to", "programme", required=True, help="the programme's id (`domus programmes`)")
@click.option("--reason", required=True)
@json_option
@translated_errors
def refer_command(case_id: str, programme: str, reason: str, as_json: bool) -> None:
    """Refer the household to a programme; a follow-up task comes ten working days later."""
    from services.referrals import refer

    domus = open_domus()
    made = refer(domus.engine, case_id, programme, reason=reason, actor=Actor.operator(),
                 now=now_in_brussels(), directory=domus.programmes,
                 calendar=domus.rules.calendar)
    emit(made, as_json, lambda r: f"referral {r['id']} to {r['programme']} sent; follow-up "
                                  f"due {r['follow_up_on']}")


@cli.command("referral")
@click.argument("referral_id", type=int)
@click.option("--status", required=True,
              type=click.Choice(["sent", "accepted", "refused", "housed", "closed"]))
@json_option
@translated_errors
def referral_command(referral_id: int, status: str, as_json: bool) -> None:
    """Update a referral's status."""
    from services.referrals import update_referral

    done = update_referral(open_domus().engine, referral_id, status, actor=Actor.operator(),
                           now=now_in_brussels())
    emit(done, as_json, lambda r: f"referral {r['id']} ({r['programme']}): {r['status']}"
                                  + ("; record the outcome with `domus outcome "
                                     f"{r['case_id']} --code rehoused`"
                                     if r.get("suggested_outcome") else ""))


@cli.command("stats")
@click.option("--from", "from_date", type=IsoDate(), help="first notices received from")
@click.option("--to", "to_date", type=IsoDate(), help="… up to and including")
@click.option("--by", type=click.Choice(["ocmw", "commune", "quarter", "month"]))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]),
              default="table", show_default=True)
@click.option("--out", "out_path", type=click.Path(path_type=Path),
              help="the file to write (needed for csv and xlsx)")
@click.option("--min-cell", type=click.IntRange(1, 100), default=5, show_default=True,
              help="counts below this are shown as <K and rates on them withheld")
@click.option("--charts", "charts_dir", type=click.Path(path_type=Path),
              help="also write the charts (PNG and SVG) to this folder")
@click.option("--json", "as_json", is_flag=True, help="same as --format json")
@translated_errors
def stats(from_date: date | None, to_date: date | None, by: str | None, fmt: str,
          out_path: Path | None, min_cell: int, charts_dir: Path | None, as_json: bool) -> None:
    """Contact-versus-outcome statistics, without personal data."""
    from services import stats_output
    from services.monitoring import compute_stats

    fmt = "json" if as_json else fmt
    if fmt in ("csv", "xlsx") and out_path is None:
        raise BadInput(f"--format {fmt}: give the file with --out FILE")
    domus = open_domus()
    with domus.engine.connect() as connection:
        def document(grouping: str | None) -> dict[str, Any]:
            return compute_stats(connection, from_date=from_date, to_date=to_date,
                                 by=grouping, min_cell=min_cell)
        main = document(by)
        if fmt == "xlsx":
            assert out_path is not None
            groupings = [by] if by else ["ocmw", "commune", "quarter", "month"]
            stats_output.write_xlsx({g: document(g) for g in groupings}, out_path)
        monthly = document("month") if charts_dir else None
    if fmt == "json":
        text = json.dumps(main, ensure_ascii=False, indent=2)
        if out_path:
            out_path.write_text(text + "\n", encoding="utf-8")
        else:
            click.echo(text)
    elif fmt == "csv":
        assert out_path is not None
        stats_output.write_csv(main, out_path)
    elif fmt == "table":
        rendered = stats_output.render_table(main)
        if out_path:
            out_path.write_text(rendered + "\n", encoding="utf-8")
        else:
            click.echo(rendered)
    if charts_dir:
        written = stats_output.write_charts(main, charts_dir)
        written += stats_output.write_trend_chart(monthly, charts_dir)
        click.echo(f"charts: {', '.join(str(p) for p in written)}", err=fmt == "json")
    if out_path and fmt != "json":
        click.echo(f"wrote {out_path}", err=True)


@cli.group("report", invoke_without_command=True)
@click.option("--month", help="the month, YYYY-MM")
@click.option("--out", "out_path", type=click.Path(path_type=Path),
              help="the report file (.json)")
@click.option("--ocmw", help="the OCMW (needed when this Domus serves several)")
@click.pass_context
@translated_errors
def report(ctx: click.Context, month: str | None, out_path: Path | None,
           ocmw: str | None) -> None:
    """An OCMW's monthly report for the region: counts only (one flow run); `merge`
    combines several OCMWs' reports into the regional figures."""
    if ctx.invoked_subcommand:
        return
    import re

    from domus.jobs import run_reports
    from services.monitoring import ocmws_with_cases

    if not month or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise BadInput("--month YYYY-MM is needed, e.g. --month 2026-11")
    if out_path is None:
        raise BadInput("--out FILE is needed")
    settings = Settings()
    domus = bootstrap(settings)
    if ocmw is None:
        with domus.engine.connect() as connection:
            present = ocmws_with_cases(connection)
        if len(present) > 1:
            raise BadInput("this Domus holds cases of several OCMWs "
                           f"({', '.join(present)}): choose one with --ocmw CODE")
        ocmw = present[0] if present else None
    if ocmw is None:
        raise BadInput("no case routed to an OCMW yet: nothing to report")
    written = run_reports(settings, month=month, ocmws=[ocmw], targets=[out_path],
                          now=now_in_brussels())
    click.echo(f"wrote {written[0]['file']}: OCMW {ocmw}, {month}, "
               f"{written[0]['cases']} cases (counts only)")


@report.command("merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@click.option("--by", type=click.Choice(["ocmw", "commune", "quarter", "month"]),
              default="ocmw", show_default=True)
@click.option("--min-cell", type=click.IntRange(1, 100), default=5, show_default=True)
@translated_errors
def report_merge(files: tuple[Path, ...], out_path: Path, by: str, min_cell: int) -> None:
    """The regional figures of several OCMWs' reports (suppressed for publication)."""
    from domain.statistics import merge_reports, statistics

    documents = []
    for path in files:
        try:
            documents.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise BadInput(f"{path}: not a report ({exc})") from None
    try:
        cells, delays, referrals = merge_reports(documents)
    except ValueError as exc:
        raise BadInput(f"report merge: {exc}") from None
    merged = statistics(cells, delays, referrals, by=by, min_cell=min_cell)
    merged["sources"] = [{"ocmw": d.get("ocmw"), "month": d.get("month"),
                          "generated_at": d.get("generated_at")} for d in documents]
    out_path.write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8")
    click.echo(f"wrote {out_path}: {len(documents)} reports, by {by}")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--processes", type=click.IntRange(1, 64),
              help="web processes (default DOMUS_WEB_PROCESSES, 1): one per core")
@translated_errors
def serve_command(host: str, port: int, processes: int | None) -> None:
    """The web app, the calendar feeds and the in-process scheduler (sweep, digest)."""
    from domus.serve import serve

    settings = Settings()
    if processes is not None:
        settings = settings.model_copy(update={"web_processes": processes})
    serve(settings, host=host, port=port)


# -- deployments and the watched folder (issue 7) ------------------------------------------
@cli.command("deploy")
@click.option("--pool", default="domus", show_default=True,
              help="the process work pool whose workers run the flows (made if missing)")
@click.option("--folder", type=click.Path(path_type=Path, file_okay=False),
              help="this repository's folder as the workers see it (default: this one)")
@json_option
@translated_errors
def deploy(pool: str, folder: Path | None, as_json: bool) -> None:
    """Register the flows and their schedules as deployments on the Prefect server at
    PREFECT_API_URL: intake, sweep, digest, letters and the monthly report."""
    from domus.bootstrap import configure_prefect
    from domus.deploy import CHECKOUT, register

    settings = Settings()
    configure_prefect(settings)
    registered = register(settings, pool=pool, folder=folder or CHECKOUT)
    emit(registered, as_json, output.render_deployments)


@cli.command("watch")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--interval", type=click.FloatRange(0.1, 3600),
              help="seconds between two looks (default: DOMUS_WATCH_SECONDS)")
@click.option("--settle", type=click.FloatRange(0, 3600), default=5.0, show_default=True,
              help="seconds a file must be left untouched before it is taken")
@click.option("--once", is_flag=True, help="one look, then exit")
@json_option
@translated_errors
def watch(folder: Path, interval: float | None, settle: float, once: bool,
          as_json: bool) -> None:
    """Ingest every notice file dropped into FOLDER once; keep it in FOLDER/done/, or in
    FOLDER/failed/ with the reason. Exit status with --once: 1 when a file failed, 3 when
    records were quarantined. Watching, --json prints one JSON object a line per file."""
    from threading import Event

    from domus.watch import Watcher, intake_of

    settings = Settings()
    bootstrap(settings)
    watcher = Watcher(folder, intake_of(settings), settle=settle)
    if once:
        outcomes = [o.to_json() for o in watcher.poll()]
        emit(outcomes, as_json, lambda found: "\n".join(map(output.render_watched, found))
             or f"nothing to ingest in {folder}")
        if any(o["status"] == "failed" for o in outcomes):
            sys.exit(EXIT_FAILURE)
        if any(o["summary"]["quarantined"] for o in outcomes if o["summary"]):
            sys.exit(EXIT_QUARANTINED)
        return
    seconds = interval or settings.watch_seconds
    click.echo(f"watching {folder} every {seconds:g} s (Ctrl-C stops)", err=True)
    report = (lambda o: click.echo(json.dumps(o.to_json(), ensure_ascii=False))) if as_json \
        else (lambda o: click.echo(output.render_watched(o.to_json())))
    try:
        watcher.run(seconds, Event(), report)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


@cli.command()
@click.option("--notices", "count", default=60, show_default=True, help="notices to generate")
@click.option("--seed", default=2026, show_default=True)
@translated_errors
def demo(count: int, seed: int) -> None:
    """Generate realistic Brussels notices, ingest them and show what happened."""
    from domus.demo import run_demo

    run_demo(Settings(), count=count, seed=seed, today=now_in_brussels().date())


# -- retention (issue 7) -------------------------------------------------------------------
@cli.command("retention")
@click.option("--dry-run", is_flag=True, help="count what would go, change nothing")
@click.option("--now", type=IsoDateTime(), help="the moment the years count back from "
              "(default: now)")
@json_option
@translated_errors
def retention(dry_run: bool, now: datetime | None, as_json: bool) -> None:
    """Pseudonymise closed cases whose outcome is older than DOMUS_RETENTION_YEARS (one
    flow run, audited); the statistics stay the same."""
    from domus.bootstrap import prepare_prefect, run_flow, stderr_say

    settings = Settings()
    bootstrap(settings)  # settings checked and the schema migrated before the flow starts
    prepare_prefect(settings, stderr_say)
    from workflows.retention import retention_flow

    report = run_flow(retention_flow, now=now or now_in_brussels(), dry_run=dry_run)
    emit(report, as_json, _render_retention)


def _render_retention(report: dict[str, Any]) -> str:
    if report["cutoff"] is None:
        return "retention is off (DOMUS_RETENTION_YEARS=0): nothing changed"
    head = (f"closed cases with an outcome before {report['cutoff']}"
            + (" (dry run: nothing changed)" if report["dry_run"] else ""))
    counts = [(name.replace("_", " "), value) for name, value in report.items()
              if isinstance(value, int) and not isinstance(value, bool)]
    return "\n".join([head] + [f"  {name}: {value}" for name, value in counts])



# -- data protection (issue 8) ---------------------------------------------------------------
@cli.group("person")
def person_group() -> None:
    """One tenant's data (GDPR): `export` it (access request) or `erase` it."""


def _person_selection(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed((
            click.option("--name", help='the tenant, as "LAST, First" (accents, case and '
                                        "spaces ignored)"),
            click.option("--birth-date", type=IsoDate(), help="narrows --name"),
            click.option("--case", "case_ids", multiple=True, metavar="CASE_ID",
                         help="exactly these cases (repeatable); the person is their tenant"))):
        command = option(command)
    return command


def _find_person(connection: Any, name: str | None, birth_date: date | None,
                 case_ids: tuple[str, ...]) -> Any:
    from services.person import Ambiguous, PersonError, find_person

    try:
        return find_person(connection, name=name, birth_date=birth_date, case_ids=case_ids)
    except Ambiguous as exc:
        for c in exc.candidates:
            click.echo(f"  {c['case_id']}  {c['last_name']}, {c['first_name'] or ''}  born "
                       f"{'/'.join(c['birth_dates']) or '?'}  OCMW {c['ocmw'] or '-'}  "
                       f"{c['municipality'] or ''}  {c['docket_number']}  {c['status']}",
                       err=True)
        raise BadInput(str(exc)) from None
    except PersonError as exc:
        raise BadInput(str(exc)) from None


@person_group.command("export")
@_person_selection
@click.option("--out", "out_path", type=click.Path(path_type=Path),
              help="the ZIP file to write (default: domus-person-<time>.zip here)")
@json_option
@translated_errors
def person_export(name: str | None, birth_date: date | None, case_ids: tuple[str, ...],
                  out_path: Path | None, as_json: bool) -> None:
    """Everything Domus holds about one tenant, as one ZIP (GDPR art. 15; audited)."""
    from services.person import PersonError, export_person

    domus, now = open_domus(), now_in_brussels()
    with domus.engine.connect() as connection:
        person = _find_person(connection, name, birth_date, case_ids)
    out_path = out_path or Path(f"domus-person-{now:%Y%m%d-%H%M%S}.zip")
    try:
        summary = export_person(domus.engine, person, out_path, actor=Actor.operator(),
                                data_dir=domus.settings.data_dir, now=now)
    except PersonError as exc:
        raise Failure(str(exc)) from None
    except OSError as exc:
        raise BadInput(f"--out {out_path}: {exc.strerror or exc}") from None
    emit(summary, as_json, lambda s: (
        f"wrote {s['file']}: {s['cases']} cases ({', '.join(s['person']['case_ids']) or '-'})"
        f", {s['letter_files']} letter files, {s['other_records']} other records"
        + (f"; other cases with the same name, not included: "
           f"{', '.join(s['person']['also_named'])}" if s['person']['also_named'] else "")))


@person_group.command("erase")
@_person_selection
@click.option("--reason", required=True, help="why (the request's reference); kept in the "
                                              "history, so it may not name the person")
@click.option("--force", is_flag=True, help="also cases that are not closed (their open "
                                            "tasks are cancelled)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@json_option
@translated_errors
def person_erase(name: str | None, birth_date: date | None, case_ids: tuple[str, ...],
                 reason: str, force: bool, yes: bool, as_json: bool) -> None:
    """Erase one tenant's personal data (GDPR art. 17): their cases are pseudonymised,
    records and files naming them go; the audit trail and the statistics stay."""
    from services.person import PersonError, check_erasure, erase_person

    domus = open_domus()
    with domus.engine.connect() as connection:
        person = _find_person(connection, name, birth_date, case_ids)
        try:
            check_erasure(connection, person, reason=reason, actor=Actor.operator(),
                          force=force)
        except PersonError as exc:
            raise BadInput(str(exc)) from None
    if not yes:
        click.confirm(f"erase the personal data of {person.last_name}, "
                      f"{person.first_name or ''} in {len(person.case_ids)} cases "
                      f"({', '.join(person.case_ids) or 'none'}) and every record naming them?",
                      abort=True, err=True)
    try:
        report = erase_person(domus.engine, person, reason=reason, actor=Actor.operator(),
                              data_dir=domus.settings.data_dir, now=now_in_brussels(),
                              force=force)
    except PersonError as exc:
        raise BadInput(str(exc)) from None
    emit(report, as_json, lambda r: "\n".join(
        [f"erased {len(r['erased_cases'])} cases"
         + (f" ({', '.join(r['erased_cases'])})" if r["erased_cases"] else "")]
        + [f"  {key.replace('_', ' ')}: {value}" for key, value in r.items()
           if isinstance(value, int) and not isinstance(value, bool)]))


@cli.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@json_option
@translated_errors
def backup_command(path: Path, as_json: bool) -> None:
    """Back up the database (a consistent copy while Domus runs), the secret key and the
    data directory to one archive, with a manifest (revision, row counts, sha256)."""
    from services.backup import BackupError, backup

    try:
        manifest = backup(Settings(), path, now=now_in_brussels())
    except BackupError as exc:
        raise Failure(str(exc)) from None
    emit({k: v for k, v in manifest.items() if k != "files"} | {
        "files": len(manifest["files"])}, as_json, lambda m: (
        f"wrote {m['file']} ({m['size']} bytes): {m['database']} at revision {m['revision']}, "
        f"{sum(m['rows'].values())} rows in {len(m['rows'])} tables, {m['files']} files"))


@cli.command("restore")
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="replace a database with rows or a data "
                                            "directory with files")
@json_option
@translated_errors
def restore_command(path: Path, force: bool, as_json: bool) -> None:
    """Restore a `domus backup` archive into DOMUS_DATABASE_URL and DOMUS_DATA_DIR (checked
    against its manifest; an older schema is migrated). Stop Domus first."""
    from services.backup import BackupError, restore

    try:
        result = restore(Settings(), path, force=force)
    except BackupError as exc:
        raise Failure(str(exc)) from None
    emit(result, as_json, lambda r: (
        f"restored {r['file']} (made {r['created_at']}): {sum(r['rows'].values())} rows in "
        f"{len(r['rows'])} tables, {r['files']} files"
        + (f"; migrated {r['migrated']['from']} -> {r['migrated']['to']}"
           if r["migrated"] else "")))


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("domus: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        click.echo(f"domus: unexpected error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
