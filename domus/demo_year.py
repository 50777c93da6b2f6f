"""The demo's last part: a year of a cell's past files, brought in the way an OCMW would
bring its tracking spreadsheet (`import-events`), then the contact-versus-outcome figures
and charts. The simulated outcomes follow the published Brussels figures (July 2023 – June
2024): 55% of closed files with effective contact end with the home kept or a new home,
24% without."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from domain.statistics import OUTCOMES, SOLUTIONS
from domus.bootstrap import Domus
from domus.demo_data import generate_notices, write_jsonl
from domus.jobs import run_intake
from services.import_events import import_events
from services.monitoring import compute_stats
from services.readers import inspect_file
from services.stats_output import render_table, write_charts, write_trend_chart, write_xlsx
from store import tables as t

EFFECTIVE_SHARE = 0.47  # households reached (not by letter)
ATTEMPT_SHARE = 0.80  # households the cell tried to reach at all
SOLVED_WITH, SOLVED_WITHOUT = 0.55, 0.24  # Forum Wonen & Inclusie, Brussels 2023–2024
CLOSED_SHARE = 0.9  # files older than two months with a final outcome
OTHER_OUTCOMES = tuple(code for code in OUTCOMES if code not in SOLUTIONS)


def simulate_year(domus: Domus, *, today: date, seed: int, folder: Path,
                  count: int = 900) -> dict[str, Any]:
    """Ingest a year of notices, import their contacts and outcomes, compute the figures."""
    folder.mkdir(parents=True, exist_ok=True)
    start = today - timedelta(days=365)
    notices = folder / f"past-year-{seed}.jsonl"
    write_jsonl(generate_notices(count, seed=seed + 1, start=start, days=300,
                                 flawed_share=0.0, triage_share=0.0), notices)
    intake = run_intake(domus.settings, [notices], now=datetime.combine(today, time(7, 0)))
    with domus.engine.connect() as connection:
        cases = connection.execute(
            select(t.cases.c.court, t.cases.c.docket_number, t.cases.c.first_received_on)
            .where(t.cases.c.first_received_on < today - timedelta(days=42),
                   t.cases.c.ocmw.is_not(None))
            .order_by(t.cases.c.id)).all()
    events = folder / f"tracking-{seed}.csv"
    _write_events(events, _events(cases, today, random.Random(seed), domus))
    imported = import_events(domus.engine, inspect_file(events),
                             now=datetime.combine(today, time(7, 30)),
                             calendar=domus.rules.calendar)
    with domus.engine.connect() as connection:
        by = {grouping: compute_stats(connection, from_date=start, to_date=today,
                                      by=grouping, min_cell=5)
              for grouping in ("ocmw", "commune", "quarter", "month")}
    stats_folder = folder / "stats"
    charts = write_charts(by["ocmw"], stats_folder) + write_trend_chart(by["month"],
                                                                         stats_folder)
    workbook = write_xlsx(by, stats_folder / "contact-vs-outcome.xlsx")
    return {"intake": intake, "imported": imported, "stats": by, "charts": charts,
            "workbook": workbook, "events_file": events}


def _events(cases: list[Any], today: date, rng: random.Random,
            domus: Domus) -> Iterator[dict[str, str]]:
    calendar = domus.rules.calendar
    for court, docket, received in cases:
        row = {"court": court, "docket_number": docket}
        reached = rng.random() < EFFECTIVE_SHARE
        if reached or rng.random() < ATTEMPT_SHARE:
            tried = calendar.add_working_days(received, rng.randint(1, 4))
            yield {**row, "type": "contact", "at": _belgian(tried, 10), "channel": "phone",
                   "result": "not_reached", "note": ""}
        if reached:
            day = calendar.add_working_days(received, rng.randint(2, 18))
            channel = rng.choice(["home_visit", "home_visit", "phone", "office"])
            yield {**row, "type": "contact", "at": _belgian(min(day, today), 14),
                   "channel": channel, "result": "reached", "note": ""}
        if (today - received).days > 60 and rng.random() < CLOSED_SHARE:
            solved = rng.random() < (SOLVED_WITH if reached else SOLVED_WITHOUT)
            code = rng.choice(SOLUTIONS if solved else OTHER_OUTCOMES)
            on = min(received + timedelta(days=rng.randint(30, 120)), today)
            yield {**row, "type": "outcome", "at": on.strftime("%d/%m/%Y"), "code": code,
                   "note": ""}


def _belgian(day: date, hour: int) -> str:
    return f"{day:%d/%m/%Y} {hour:02d}:00"


def _write_events(path: Path, rows: Iterator[dict[str, str]]) -> None:
    """As Excel saves a tracking sheet in Belgium: `;`, Windows-1252, dd/mm/yyyy."""
    columns = ["court", "docket_number", "type", "at", "channel", "result", "code", "note"]
    with path.open("w", encoding="cp1252", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter=";", restval="")
        writer.writeheader()
        writer.writerows(rows)


def print_year(year: dict[str, Any]) -> None:
    imported = year["imported"]
    click.echo(f"\n== A year of past files\n{year['intake'].received} notices of the past "
               f"year ingested; the cell's tracking sheet ({year['events_file'].name}) "
               f"imported: {imported.contacts} contacts, {imported.outcomes} outcomes, "
               f"{len(imported.quarantined)} quarantined")
    click.echo("\n== Contact versus outcome (no personal data; counts under 5 hidden)")
    click.echo(render_table(year["stats"]["ocmw"]))
    click.echo(f"\nworkbook: {year['workbook']}")
    click.echo("charts: " + ", ".join(str(p) for p in year["charts"] if p.suffix == ".png"))
