"""`domus`, the command line of CONTRACT.md. It parses, calls one service, prints.

Exit status: 0 success; 2 bad usage or unreadable input; 3 ingest finished with records in
quarantine; 1 anything else. Errors are one line on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from functools import partial, wraps
from pathlib import Path
from typing import Any

import click

from domain.access import Actor
from domain.notices import notice_json_schema
from domain.values import BRUSSELS, parse_date, parse_local_datetime
from domus import output
from domus.bootstrap import ConfigurationError, Domus, bootstrap
from domus.settings import Settings
from services import cases as case_service
from services import review
from services.intake import received_count
from services.readers import UnreadableFile, inspect_file

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
        except (UnreadableFile, ConfigurationError) as exc:
            raise BadInput(str(exc)) from None
        except (case_service.CaseNotFound, review.ReviewError) as exc:
            raise Failure(str(exc.args[0])) from None

    return run


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


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--now", type=IsoDateTime(), help="receipt time to record (default: now)")
@json_option
@translated_errors
def ingest(paths: tuple[Path, ...], now: datetime | None, as_json: bool) -> None:
    """Ingest notices from .json, .jsonl and .csv files (one intake flow run)."""
    from domus.jobs import check_notice_files, run_intake

    check_notice_files(paths)
    settings = Settings()
    domus = bootstrap(settings)
    count = None
    if sys.stderr.isatty():
        digests = [inspect_file(path).sha256 for path in paths]
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
    """One case: notices, legal dates and flags, tasks."""
    with open_domus().engine.connect() as connection:
        document = case_service.case_document(connection, case_id, Actor.operator())
    emit(document, as_json, output.render_case)


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
                                        overdue_on=today, assignee=assignee)
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
        entries = review.quarantined(connection, include_resolved=include_resolved)
    emit(entries, as_json, output.render_quarantine)


@quarantine.command("show")
@click.argument("entry_id", type=int)
@json_option
@translated_errors
def quarantine_show(entry_id: int, as_json: bool) -> None:
    """One quarantined record: its reasons and its raw text as received."""
    with open_domus().engine.connect() as connection:
        entry = review.quarantined_entry(connection, entry_id)
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
        entry = review.quarantined_entry(connection, entry_id)
    record = _corrected(entry, changes, corrected_file)
    summary = review.reingest(domus.engine, entry_id, record, rules=domus.rules,
                              now=now_in_brussels())
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
        entries = review.triage_queue(connection)
    emit(entries, as_json, output.render_triage)


@triage.command("resolve")
@click.argument("case_id")
@click.option("--ocmw", required=True, help="NIS code of the OCMW, e.g. 21009")
@click.option("--note", help="why (kept with the decision)")
@translated_errors
def triage_resolve(case_id: str, ocmw: str, note: str | None) -> None:
    """Route a triage case to an OCMW."""
    domus = open_domus()
    review.resolve_triage(domus.engine, case_id, ocmw, rules=domus.rules,
                          now=now_in_brussels(), note=note)
    click.echo(f"case {case_id} routed to OCMW {ocmw}")


@cli.command()
@click.option("--notices", "count", default=60, show_default=True, help="notices to generate")
@click.option("--seed", default=2026, show_default=True)
@translated_errors
def demo(count: int, seed: int) -> None:
    """Generate realistic Brussels notices, ingest them and show what happened."""
    from domus.demo import run_demo

    run_demo(Settings(), count=count, seed=seed, today=now_in_brussels().date())


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("domus: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        click.echo(f"domus: unexpected error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
