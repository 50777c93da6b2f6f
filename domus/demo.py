"""`domus demo`: the embedded main job end to end on generated Brussels notices."""

from __future__ import annotations

import os
import sys
from collections import Counter
from datetime import date, datetime, time, timedelta
from itertools import islice
from pathlib import Path

import click

from domain.access import Actor
from domus import output
from domus.bootstrap import bootstrap
from domus.demo_data import generate_notices, write_belgian_csv, write_jsonl
from domus.demo_team import create_team, create_web_logins, print_month, simulate_month
from domus.demo_year import print_year, simulate_year
from domus.jobs import run_intake
from domus.settings import Settings
from services import review
from services.cases import list_cases, open_tasks


def write_demo_files(folder: Path, *, count: int, seed: int, today: date) -> list[Path]:
    """The notices of the last six weeks: the first half as a Belgian Excel CSV export,
    the rest as the registry's JSON lines."""
    folder.mkdir(parents=True, exist_ok=True)
    notices = generate_notices(count, seed=seed, start=today - timedelta(days=42), days=42)
    csv_path, jsonl_path = folder / f"notices-{seed}.csv", folder / f"notices-{seed}.jsonl"
    write_belgian_csv(islice(notices, count // 2), csv_path)
    write_jsonl(notices, jsonl_path)
    return [csv_path, jsonl_path]


def run_demo(settings: Settings, *, count: int, seed: int, today: date) -> None:
    domus = bootstrap(settings)
    files = write_demo_files(settings.data_dir / "demo", count=count, seed=seed, today=today)
    click.echo(f"Generated {count} Brussels notices: {', '.join(map(str, files))}")
    summary = run_intake(settings, files, now=datetime.combine(today, time(9, 0)))
    click.echo("\n== Intake (one Prefect flow run)\n" + output.render_summary(summary.to_json()))
    with domus.engine.connect() as connection:
        cases = list_cases(connection, Actor.operator())
        tasks = open_tasks(connection, Actor.operator(), due_before=today + timedelta(days=7))
        triage = review.triage_queue(connection, Actor.operator())
        quarantine = review.quarantined(connection, Actor.operator())
    _print_overview(cases, tasks, today)
    click.echo(f"\n== Waiting for a person\n{len(triage)} cases in triage, "
               f"{len(quarantine)} records in quarantine")
    team = create_team(domus, datetime.combine(today, time(8, 0)))
    _letters(settings, today)
    mail_folder = settings.data_dir / "demo" / "mail"
    month = simulate_month(domus, today=today, seed=seed, mail_folder=mail_folder)
    print_month(team, month, mail_folder)
    year = simulate_year(domus, today=today, seed=seed, folder=settings.data_dir / "demo")
    print_year(year)
    logins = create_web_logins(domus, team, datetime.combine(today, time(8, 0)),
                               settings.data_dir / "demo")
    click.echo(_where_to_look(settings, cases, team))
    click.echo(_web_app(settings, logins))


def _letters(settings: Settings, today: date) -> None:
    """The administrator's morning: every letter whose task is due, and one file to print."""
    from domus.jobs import run_letters
    from services.pdf import PdfUnavailable, convert_to_pdf

    folder = settings.data_dir / "demo" / "letters"
    result = run_letters(settings, due_before=today + timedelta(days=1), out_dir=folder,
                         pdf=False, now=datetime.combine(today, time(8, 30)))
    made = result["letters"]
    click.echo(f"\n== Letters (one flow run)\n{len(made)} letters for tasks due by today: "
               + ", ".join(f"{kind} {n}" for kind, n in
                           Counter(x["kind"] for x in made).most_common())
               + "; languages " + ", ".join(f"{lang} {n}" for lang, n in
                                            Counter(x["lang"] for x in made).most_common()))
    if not result["print_file"]:
        return
    click.echo(f"each in {folder}, all in one file to print: {result['print_file']}")
    try:
        [pdf] = convert_to_pdf([Path(result["print_file"])], folder, soffice=settings.soffice)
        click.echo(f"as PDF: {pdf}")
    except PdfUnavailable as exc:
        click.echo(f"(no PDF: {exc})")


def _print_overview(cases: list[dict], tasks: list[dict], today: date) -> None:  # type: ignore[type-arg]
    by_ocmw = Counter(output.ocmw_label(c["ocmw"]) for c in cases)
    flags = Counter(f["code"] for c in cases for f in c["flags"])
    overdue = sum(1 for t in tasks if t["due_on"] < today.isoformat())
    click.echo(f"\n== Cases\n{len(cases)} cases; by OCMW: "
               + ", ".join(f"{name} {n}" for name, n in by_ocmw.most_common()))
    click.echo("legal flags: " + (", ".join(f"{code} {n}" for code, n in flags.most_common())
                                  or "none"))
    click.echo(f"open tasks due within a week: {len(tasks)} ({overdue} already overdue)")


def _where_to_look(settings: Settings, cases: list[dict],  # type: ignore[type-arg]
                   team: list[dict]) -> str:  # type: ignore[type-arg]
    flagged = next((c["id"] for c in cases if c["flags"]), cases[0]["id"] if cases else "ID")
    program = _program()
    commands = [
        ("cases", "every case (--flag: only flagged ones)"),
        (f"case {flagged}", "one case with its legal dates, flags, tasks and letters"),
        (f"letter {flagged} --kind court_report --out report.docx",
         "a social report for the judge (--pdf too)"),
        ("tasks --overdue", "tasks past their due date"),
        ("triage", "cases no OCMW could be chosen for"),
        ("quarantine", "records that failed validation, and how to fix them"),
        ("outbox", "the notifications and what became of them"),
        ("users", "the team; `users token EMAIL` gives an API token"),
        ("stats --by quarter", "contact versus outcome (--format xlsx --out F, --charts DIR)"),
        ("programmes", "partner programmes to refer a household to (`refer CASE --to ID`)"),
    ]
    if team:
        caseworker = next(m["email"] for m in team if m["role"] == "caseworker")
        commands += [
            (f"tasks --assignee {caseworker}", "one caseworker's open tasks"),
            (f"calendar {caseworker} --out deadlines.ics", "their deadlines as a calendar"),
        ]
    return "\n".join([f"\n== Where to look\ndatabase: {settings.database_url}"] + [
        f"  {program} {command:<44}  {why}" for command, why in commands])


def _web_app(settings: Settings, logins: list[tuple[str, str]]) -> str:
    firsts: dict[str, str] = {}
    for role, email in logins:
        firsts.setdefault(role, email)
    where = settings.data_dir / "demo" / "logins.txt"
    return "\n".join([
        f"\n== The web app\n  {_program()} serve     then open {settings.base_url} and log in as",
        *(f"    {role:<14} {email}" for role, email in firsts.items()),
        f"  the password (the same for every demo user) is in {where}"])


def _program() -> str:
    """How the person started Domus (`.venv/bin/domus` after scripts/demo)."""
    invoked = sys.argv[0]
    if os.path.basename(invoked) != "domus" or os.sep not in invoked:
        return "domus"
    return os.path.relpath(invoked)
