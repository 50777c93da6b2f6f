"""Statistics benchmark: `stats --by ocmw` over 1,000,000 cases with 3,000,000 contacts.

    python bench/stats.py [--cases 1000000] [--contacts-per-case 3]
                          [--database sqlite|postgresql|both] [--repeat 3]
                          [--postgres-url URL] [--profile] [--json]

A fresh database (a SQLite file in a temporary folder, or a PostgreSQL database of its own,
dropped afterwards) is migrated and filled by bulk inserts (SQLite: executemany; PostgreSQL:
COPY), not through intake: cases across the 19 Brussels OCMWs (weighted by population, with
their real postcodes, a few without one), first received from 2023-07-01 to 2026-10-31; about
70 % with a final outcome (about 40 % of those a solution, more often after an effective
contact), 75 % with a contact attempted, 45 % with an effective contact (its date and the
working days to it, 0-30), 0-3 home visits; the contacts rows agree with those facts
(channel, result, at: the first reached non-letter contact is the first effective contact,
the home visits are the home_visit contacts), and about 50,000 referrals. Then ANALYZE
(PostgreSQL: VACUUM ANALYZE, as autovacuum would have).

Timed, each on a fresh connection (the engine's pool emptied first), median of `--repeat`:

* Domus: `compute_stats(connection, by="ocmw", min_cell=5)`, the whole `stats --by ocmw`
  path minus the process start: the three GROUP BY queries of `monitoring_cells`, the pure
  `statistics` and the suppression;
* the baseline: one hand-written SQL GROUP BY ocmw over cases counting the same headline
  figures from the same facts (cases, pending, closed with/without an effective contact,
  solved with/without, home visits);
* informational: a naive query that joins the cases with their contacts to find each
  case's effective contact and home visits (what the monitoring columns on cases save).

The headline counts of `compute_stats` (min_cell=1: nothing suppressed) are asserted equal to
the hand-written query's, per OCMW and in total, and to the naive join's.
Target (issue): under 2 s on SQLite and under 1 s on PostgreSQL, within 3x of the
hand-written query.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import statistics as stats_
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python bench/stats.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection, Engine, text  # noqa: E402

from bench.scratch import scratch_database  # noqa: E402
from domain.calendar import BelgianCalendar  # noqa: E402
from domain.case import case_id_for  # noqa: E402
from domain.programmes import REFERRAL_STATUSES, default_directory  # noqa: E402
from domain.routing import OCMWS as COMMUNES  # noqa: E402
from domain.statistics import OUTCOMES, SOLUTIONS  # noqa: E402
from services import monitoring  # noqa: E402
from store.db import create_database_engine, migrate  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0)  # a Monday
FIRST_DAY, LAST_DAY = date(2023, 7, 1), date(2026, 10, 31)
# Inhabitants (thousands), roughly: the larger OCMWs get more cases.
WEIGHTS = {"21001": 120, "21002": 34, "21003": 25, "21004": 190, "21005": 48, "21006": 43,
           "21007": 56, "21008": 25, "21009": 87, "21010": 53, "21011": 22, "21012": 97,
           "21013": 50, "21014": 27, "21015": 133, "21016": 84, "21017": 25, "21018": 58,
           "21019": 42}
POSTCODE_WEIGHTS = {"1000": 50, "1020": 20, "1120": 10, "1130": 5, "1040": 5, "1050": 10}
NO_POSTCODE = 0.005
ATTEMPTED, EFFECTIVE = 0.75, 0.45  # shares of all cases (effective ones are attempted)
CLOSED_OLD, CLOSED_RECENT, RECENT_DAYS = 0.76, 0.30, 180  # ~70 % closed overall
SOLVED_WITH, SOLVED_WITHOUT = 0.52, 0.28  # ~40 % of the closed solved
OTHER_CHANNELS = ("letter", "letter", "phone", "phone", "phone", "email", "office", "hearing")
REFERRALS = 50_000
CHUNK = 20_000  # cases per bulk insert
TARGETS = {"sqlite": 2.0, "postgresql": 1.0}
TARGET_RATIO = 3.0
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
HEADLINE = ("cases", "pending", "with_contact", "without_contact", "solved_with_contact",
            "solved_without_contact", "home_visits")

CASE_COLUMNS = ("id", "court", "docket_number", "ocmw", "status", "tenant_first_name",
                "tenant_last_name", "tenant_language", "street", "house_number", "postcode",
                "municipality", "first_received_on", "caseworker", "outcome_code",
                "outcome_on", "contact_attempted", "first_effective_contact_on",
                "days_to_contact", "home_visits", "created_at", "updated_at")
CONTACT_COLUMNS = ("case_id", "channel", "result", "at", "recorded_by", "created_at")
REFERRAL_COLUMNS = ("case_id", "programme", "reason", "status", "created_by", "created_at",
                    "updated_at")


# -- the dataset --------------------------------------------------------------------------
def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour)


def generate(cases: int, contacts_per_case: float, seed: int = 11
             ) -> Iterator[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
    """(table, columns, rows) in chunks, cases before their contacts and referrals."""
    rng = random.Random(seed)
    calendar = BelgianCalendar()
    ocmws, weights = list(WEIGHTS), list(WEIGHTS.values())
    span = (LAST_DAY - FIRST_DAY).days
    programmes = sorted(default_directory())
    others = [code for code in OUTCOMES if code not in SOLUTIONS]
    # contacts per attempted case, 1..2m-1 (mean m), so that the total is contacts_per_case
    mean = contacts_per_case / ATTEMPTED
    most = max(1, round(2 * mean - 1))
    referral_share = REFERRALS / (cases * ATTEMPTED)
    case_rows: list[tuple[Any, ...]] = []
    contact_rows: list[tuple[Any, ...]] = []
    referral_rows: list[tuple[Any, ...]] = []
    for number in range(1, cases + 1):
        ocmw = rng.choices(ocmws, weights)[0]
        postcodes = COMMUNES[ocmw].postcodes
        if rng.random() < NO_POSTCODE:
            postcode = None
        elif len(postcodes) == 1:
            postcode = postcodes[0]
        else:
            postcode = rng.choices(postcodes, [POSTCODE_WEIGHTS[p] for p in postcodes])[0]
        received = FIRST_DAY + timedelta(days=rng.randint(0, span))
        court, docket = f"Justice de paix {ocmw}", f"{received.year % 100}A{number:07d}"
        case_id = case_id_for((court, docket))
        caseworker = f"cw{rng.randrange(10):02d}.{ocmw}@ocmw.brussels"
        roll = rng.random()
        attempted, effective = roll < ATTEMPTED, roll < EFFECTIVE
        effective_on = days = None
        if effective:
            days = min(30, int(rng.expovariate(1 / 6)))
            effective_on = calendar.add_working_days(received, days, internal=False)
        closed_share = CLOSED_RECENT if (NOW.date() - received).days <= RECENT_DAYS \
            else CLOSED_OLD
        outcome = outcome_on = None
        if rng.random() < closed_share:
            solved = rng.random() < (SOLVED_WITH if effective else SOLVED_WITHOUT)
            outcome = rng.choice(SOLUTIONS if solved else others)
            outcome_on = min(received + timedelta(days=rng.randint(20, 300)),
                             NOW.date() - timedelta(days=1))
        visits = 0
        if attempted:
            n = rng.randint(1, most)
            channels = [rng.choice(OTHER_CHANNELS) for _ in range(n)]
            visits = min(n, rng.choices((0, 1, 2, 3), (60, 25, 10, 5))[0])
            channels[:visits] = ["home_visit"] * visits
            rng.shuffle(channels)
            first = -1
            if effective:
                usable = [i for i, channel in enumerate(channels) if channel != "letter"]
                if not usable:
                    channels[0], usable = "phone", [0]
                first = rng.choice(usable)
            for i, channel in enumerate(channels):
                if effective and i == first:
                    at, result = _at(effective_on, 10), "reached"
                elif effective and i > first:
                    at = _at(effective_on + timedelta(days=rng.randint(1, 90)), 11)
                    result = "reached" if rng.random() < 0.6 else "not_reached"
                else:  # before the first effective contact, or none at all
                    limit = (effective_on - received).days if effective else 120
                    at = _at(received + timedelta(days=rng.randint(0, limit)), 9)
                    result = ("reached" if channel == "letter" and rng.random() < 0.5
                              else "not_reached")
                contact_rows.append((case_id, channel, result, at, caseworker, at))
            if rng.random() < referral_share:
                stamp = _at(received + timedelta(days=rng.randint(1, 60)), 12)
                referral_rows.append((case_id, rng.choice(programmes), "benchmark",
                                      rng.choice(REFERRAL_STATUSES), caseworker, stamp, stamp))
        stamp = _at(received, 7)
        case_rows.append((
            case_id, court, docket, ocmw, "closed" if outcome else "open", "Jan",
            f"Tenant {number}", ("nl", "fr")[number % 2], "Rue Haute", str(number % 300 + 1),
            postcode, COMMUNES[ocmw].name_fr, received, caseworker, outcome, outcome_on,
            attempted, effective_on, days, visits, stamp,
            _at(outcome_on, 16) if outcome_on else stamp))
        if len(case_rows) >= CHUNK:
            yield "cases", CASE_COLUMNS, case_rows
            yield "contacts", CONTACT_COLUMNS, contact_rows
            yield "referrals", REFERRAL_COLUMNS, referral_rows
            case_rows, contact_rows, referral_rows = [], [], []
    yield "cases", CASE_COLUMNS, case_rows
    yield "contacts", CONTACT_COLUMNS, contact_rows
    yield "referrals", REFERRAL_COLUMNS, referral_rows


def _sqlite_value(value: Any) -> Any:
    """SQLAlchemy's SQLite storage formats for dates and datetimes."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write(connection: Connection, table: str, columns: tuple[str, ...],
           rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if connection.dialect.name != "postgresql":
        marks = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({names}) VALUES ({marks})",
            [tuple(_sqlite_value(value) for value in row) for row in rows])
        return
    cursor = connection.connection.cursor()
    try:
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def build(engine: Engine, cases: int, contacts_per_case: float) -> dict[str, Any]:
    started = time.perf_counter()
    migrate(engine)
    with engine.begin() as connection:
        for table, columns, rows in generate(cases, contacts_per_case):
            _write(connection, table, columns, rows)
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        with engine.connect() as connection:  # the data in the file, not in the WAL
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    with engine.connect() as connection:
        found = {table: connection.scalar(text(f"SELECT count(*) FROM {table}"))
                 for table in ("cases", "contacts", "referrals")}
    found["build_seconds"] = time.perf_counter() - started
    return found


# -- the queries --------------------------------------------------------------------------
def _solutions() -> str:
    return ", ".join(f"'{code}'" for code in SOLUTIONS)


def hand_written_sql() -> str:
    """One GROUP BY ocmw over cases: the headline counts from the monitoring columns."""
    solved = f"outcome_code IN ({_solutions()})"
    effective = "first_effective_contact_on IS NOT NULL"
    return f"""
        SELECT ocmw,
               count(*) AS cases,
               sum(CASE WHEN outcome_code IS NULL THEN 1 ELSE 0 END) AS pending,
               sum(CASE WHEN outcome_code IS NOT NULL AND {effective}
                        THEN 1 ELSE 0 END) AS with_contact,
               sum(CASE WHEN outcome_code IS NOT NULL AND NOT ({effective})
                        THEN 1 ELSE 0 END) AS without_contact,
               sum(CASE WHEN {solved} AND {effective} THEN 1 ELSE 0 END)
                   AS solved_with_contact,
               sum(CASE WHEN {solved} AND NOT ({effective}) THEN 1 ELSE 0 END)
                   AS solved_without_contact,
               sum(home_visits) AS home_visits
        FROM cases WHERE ocmw IS NOT NULL GROUP BY ocmw ORDER BY ocmw"""


def naive_sql() -> str:
    """The same counts without the monitoring columns: each case's effective contact and
    home visits worked out from its contacts."""
    solved = f"c.outcome_code IN ({_solutions()})"
    return f"""
        SELECT c.ocmw,
               count(*) AS cases,
               sum(CASE WHEN c.outcome_code IS NULL THEN 1 ELSE 0 END) AS pending,
               sum(CASE WHEN c.outcome_code IS NOT NULL AND k.effective = 1
                        THEN 1 ELSE 0 END) AS with_contact,
               sum(CASE WHEN c.outcome_code IS NOT NULL AND coalesce(k.effective, 0) = 0
                        THEN 1 ELSE 0 END) AS without_contact,
               sum(CASE WHEN {solved} AND k.effective = 1 THEN 1 ELSE 0 END)
                   AS solved_with_contact,
               sum(CASE WHEN {solved} AND coalesce(k.effective, 0) = 0 THEN 1 ELSE 0 END)
                   AS solved_without_contact,
               coalesce(sum(k.visits), 0) AS home_visits
        FROM cases c
        LEFT JOIN (SELECT case_id,
                          max(CASE WHEN result = 'reached' AND channel <> 'letter'
                                   THEN 1 ELSE 0 END) AS effective,
                          sum(CASE WHEN channel = 'home_visit' THEN 1 ELSE 0 END) AS visits
                   FROM contacts GROUP BY case_id) k ON k.case_id = c.id
        WHERE c.ocmw IS NOT NULL GROUP BY c.ocmw ORDER BY c.ocmw"""


def _rows(connection: Connection, sql: str) -> dict[str, dict[str, int]]:
    return {row[0]: dict(zip(HEADLINE, (int(v or 0) for v in row[1:]), strict=True))
            for row in connection.execute(text(sql))}


def _domus(connection: Connection, min_cell: int = 5) -> dict[str, Any]:
    return monitoring.compute_stats(connection, from_date=None, to_date=None, by="ocmw",
                                    min_cell=min_cell)


@contextmanager
def _watching_statistics(seen: list[dict[str, Any]]) -> Iterator[None]:
    """Time the pure part of compute_stats (statistics and suppression) and count its cells,
    whatever query compute_stats uses to get them."""
    pure = monitoring.statistics

    def watched(cells: Any, delays: Any = (), referrals: Any = (), **options: Any) -> Any:
        cells, delays, referrals = list(cells), list(delays), list(referrals)
        started = time.perf_counter()
        try:
            return pure(cells, delays, referrals, **options)
        finally:
            seen.append({"seconds": time.perf_counter() - started, "cases": len(cells),
                         "delays": len(delays), "referrals": len(referrals)})

    monitoring.statistics = watched
    try:
        yield
    finally:
        monitoring.statistics = pure


# -- the measurement ------------------------------------------------------------------------
def _timed(engine: Engine, work: Callable[[Connection], Any], repeat: int
           ) -> tuple[float, list[float], Any]:
    """Median seconds of `work` on a fresh connection (the pool emptied first)."""
    times, result = [], None
    for _ in range(repeat):
        engine.dispose()
        started = time.perf_counter()
        with engine.connect() as connection:
            result = work(connection)
        times.append(time.perf_counter() - started)
    return stats_.median(times), times, result


def verify(engine: Engine, hand: dict[str, dict[str, int]],
           naive: dict[str, dict[str, int]]) -> None:
    with engine.connect() as connection:
        document = _domus(connection, min_cell=1)
    domus = {row["key"]: {name: row[name] for name in HEADLINE}
             for row in (*document["groups"], document["total"])}
    total = {name: sum(row[name] for row in hand.values()) for name in HEADLINE}
    assert domus["total"] == total, f"totals differ: Domus {domus['total']}, SQL {total}"
    assert {k: v for k, v in domus.items() if k != "total"} == hand, "per-OCMW rows differ"
    assert naive == hand, "the contacts disagree with the monitoring columns on cases"


def measure(engine: Engine, repeat: int, profile: bool) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []
    with _watching_statistics(seen):
        domus, domus_all, _ = _timed(engine, _domus, repeat)
    pure = stats_.median(item["seconds"] for item in seen)
    hand, hand_all, hand_rows = _timed(engine, lambda c: _rows(c, hand_written_sql()), repeat)
    naive, naive_all, naive_rows = _timed(engine, lambda c: _rows(c, naive_sql()), 1)
    verify(engine, hand_rows, naive_rows)
    if profile:
        profiler = cProfile.Profile()
        with engine.connect() as connection:
            profiler.runcall(_domus, connection)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(20)
    return {"domus_seconds": domus, "domus_all": domus_all, "hand_seconds": hand,
            "hand_all": hand_all, "ratio": domus / hand, "statistics_seconds": pure,
            "cells": {name: seen[-1][name] for name in ("cases", "delays", "referrals")},
            "naive_seconds": naive, "verified": True}


def run(args: argparse.Namespace, kind: str, say: Callable[[str], None]) -> dict[str, Any]:
    with (tempfile.TemporaryDirectory(prefix="domus-bench-stats-") as folder,
          scratch_database(kind, Path(folder) / "stats.db", args.postgres_url) as url):
        engine = create_database_engine(url)
        try:
            say(f"building {args.cases:,} cases on {kind}…")
            built = build(engine, args.cases, args.contacts_per_case)
            say(f"  built in {built['build_seconds']:.1f} s; measuring…")
            measured = measure(engine, args.repeat, args.profile)
        finally:
            engine.dispose()
    return {"database": kind, **built, **measured}


def report(result: dict[str, Any], repeat: int) -> dict[str, bool]:
    kind = result["database"]
    cells = result["cells"]
    print(f"{kind}: {result['cases']:,} cases, {result['contacts']:,} contacts, "
          f"{result['referrals']:,} referrals (built in {result['build_seconds']:.1f} s)")
    print(f"  stats --by ocmw (compute_stats)     {result['domus_seconds']:7.3f} s  "
          f"median of {repeat}: {', '.join(f'{s:.3f}' for s in result['domus_all'])}")
    print(f"    of which statistics + suppression {result['statistics_seconds']:7.3f} s  "
          f"({cells['cases']:,} case cells, {cells['delays']:,} delay cells, "
          f"{cells['referrals']:,} referral cells); the rest: connection and queries")
    print(f"  hand-written GROUP BY ocmw          {result['hand_seconds']:7.3f} s")
    print(f"  naive join with contacts (info)     {result['naive_seconds']:7.3f} s")
    print("  headline counts: Domus = hand-written = naive join (asserted)")
    target = TARGETS[kind]
    met = {"time": result["domus_seconds"] < target, "ratio": result["ratio"] < TARGET_RATIO}
    print(f"  target time < {target:.0f} s: {result['domus_seconds']:.3f} s  "
          f"{'PASS' if met['time'] else 'FAIL'}")
    print(f"  target ratio < {TARGET_RATIO:.0f}: {result['ratio']:.2f}  "
          f"{'PASS' if met['ratio'] else 'FAIL'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--contacts-per-case", type=float, default=3.0)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"],
                        default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL,
                        help="a PostgreSQL server's admin database; a new one is made there")
    parser.add_argument("--profile", action="store_true", help="cProfile one compute_stats")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results, passed = [], True
    for kind in kinds:
        result = run(args, kind, say)
        met = report(result, args.repeat)
        passed = passed and all(met.values())
        results.append({**result, "met": met})
    if args.json:
        print(json.dumps(results, default=str))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
