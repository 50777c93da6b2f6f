"""Sweep benchmark: the deadline sweep among 100,000 and 1,000,000 open tasks, with the
same 10,000 due tasks (1% of 1,000,000) in both.

    python -m bench.sweep [--sizes 100000,1000000] [--due-count 10000 | --due-share 0.01]
                          [--repeat 3] [--database sqlite|postgresql]
                          [--postgres-url URL] [--profile] [--json]

The issue asks that the sweep cost in proportion to the due tasks, not to all tasks, and
that the time at 1,000,000 open tasks be under twice the time at 100,000: so the due work
is held at 10,000 tasks while the tasks that are not due grow tenfold. (With a share of 1%
at each size, as `--due-share 0.01` gives, the due work itself grows tenfold and a sweep
proportional to it shows a ratio near 10.)

For each size, a fresh database (a SQLite file in a temporary folder, or a PostgreSQL
database of its own, dropped afterwards) is migrated and filled by bulk inserts (not
through intake): 19 Brussels OCMWs with 10 caseworkers and a team lead each, about one
open case per six open tasks, hearings over the coming months (about 1 case in 25 inside
the 5-working-day at-risk window), some evictions and contacts, and exactly `--due-share`
of the tasks (or `--due-count` of them at every size) due today or in the last 10 days (so
some are escalated); the rest fall due in the next 120 days. Then ANALYZE (PostgreSQL:
VACUUM ANALYZE, as autovacuum would have).

It times `record_sweep` in its own transaction, commit included, for a fixed `now`
(Monday 2026-11-23 09:00): the first sweep, which writes every notification and at-risk
flag (the real cost), and a repeated sweep for the same `now`, which writes nothing new.
Between repeats the outbox and the at-risk flags are emptied; medians of `--repeat`.
Target (issue): the sweep costs in proportion to the due tasks, not to all tasks: under
1 s on SQLite at 1,000,000 open tasks, and under 2x the time at 100,000.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select, text

from bench.scratch import scratch_database
from domain.case import case_id_for
from domain.playbook import TASK_KINDS
from domain.rulebook import RuleBook
from domain.sweep import at_risk_horizon
from domus.bootstrap import build_rulebook
from domus.settings import Settings
from services.sweep import SweepCounts, record_sweep
from store import tables as t
from store.db import create_database_engine, migrate
from store.sql import insert_ignore

NOW = datetime(2026, 11, 23, 9, 0)  # a Monday
TODAY = NOW.date()
OCMWS = tuple(str(code) for code in range(21001, 21020))  # the 19 Brussels OCMWs
CASEWORKERS = 10  # per OCMW, and one team lead
TASKS_PER_CASE = (4, 8)  # 6 on average, distinct kinds
DUE_SHARE = 0.01  # of the open tasks, due today or earlier (the 1%)
DUE_COUNT = 10_000  # 1% of 1,000,000: the due work held fixed across sizes
AT_RISK_SHARE = 1 / 25  # of the cases, a hearing (or eviction) in the at-risk window
EVICTION_SHARE = 0.10
CHUNK = 20_000  # rows per bulk insert
TARGET_SECONDS, TARGET_RATIO, TARGET_SIZE = 1.0, 2.0, 1_000_000
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


# -- the dataset --------------------------------------------------------------------------
def _people() -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    users, caseworkers = [], {}
    for ocmw in OCMWS:
        caseworkers[ocmw] = [f"cw{n:02d}.{ocmw}@ocmw.brussels" for n in range(CASEWORKERS)]
        people = [(email, "caseworker") for email in caseworkers[ocmw]]
        people.append((f"lead.{ocmw}@ocmw.brussels", "team_lead"))
        users += [{"email": email, "name": email.split("@")[0].title(), "role": role,
                   "ocmw": ocmw, "language": ("nl", "fr")[n % 2], "password_hash": None,
                   "active": True,
                   "created_at": NOW - timedelta(days=400)}
                  for n, (email, role) in enumerate(people)]
    return users, caseworkers


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(
        hours=rng.choice((9, 10, 13, 14)), minutes=rng.choice((0, 30)))


def generate(size: int, due_count: int, horizon: date, seed: int = 7
             ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(table name, rows) in chunks, parents before children: users, then cases with their
    tasks and contacts. Exactly `due_count` tasks are due today or earlier; cases in the
    at-risk window follow the due tasks (1 in 25 cases when 1% of the tasks are due)."""
    rng = random.Random(seed)
    at_risk_share = min(AT_RISK_SHARE * due_count / (size * DUE_SHARE), 0.5)
    users, caseworkers = _people()
    yield "users", users
    due = set(rng.sample(range(size), due_count))
    window = (horizon - TODAY).days  # days after today still inside the at-risk window
    cases: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    made, number = 0, 0
    while made < size:
        number += 1
        ocmw = OCMWS[number % len(OCMWS)]
        court, docket = f"Justice de paix {ocmw}", f"26A{number:07d}"
        case_id = case_id_for((court, docket))
        caseworker = rng.choice(caseworkers[ocmw])
        roll = rng.random()
        if roll < at_risk_share:
            hearing = TODAY + timedelta(days=rng.randint(0, window))
        elif roll < at_risk_share + 0.2:
            hearing = TODAY - timedelta(days=rng.randint(1, 60))  # heard, awaiting judgment
        else:
            hearing = TODAY + timedelta(days=rng.randint(window + 1, 120))
        eviction = None
        if rng.random() < EVICTION_SHARE:
            eviction = TODAY + timedelta(days=rng.randint(0, window) if rng.random()
                                         < at_risk_share else rng.randint(window + 1, 120))
        received = TODAY - timedelta(days=rng.randint(5, 90))
        stamp = datetime.combine(received, datetime.min.time()) + timedelta(hours=7)
        cases.append({
            "id": case_id, "court": court, "docket_number": docket, "ocmw": ocmw,
            "status": "open", "tenant_first_name": "Jan", "tenant_last_name": f"Tenant {number}",
            "tenant_language": ("nl", "fr")[number % 2], "street": "Rue Haute",
            "house_number": str(number % 300 + 1), "box": None, "postcode": "1000",
            "municipality": "Bruxelles", "hearing_at": _moment(hearing, rng),
            "earliest_eviction_on": None,
            "eviction_at": _moment(eviction, rng) if eviction else None,
            "first_received_on": received, "caseworker": caseworker,
            "created_at": stamp, "updated_at": stamp,
        })
        in_window = TODAY <= hearing <= horizon or (eviction and TODAY <= eviction <= horizon)
        if in_window and rng.random() < 0.5:  # reached: no longer at risk
            contacts.append(_contact(case_id, "phone", "reached", caseworker, stamp))
        if rng.random() < 0.3:  # a letter: not an effective contact
            contacts.append(_contact(case_id, "letter", "not_reached", caseworker, stamp))
        count = min(rng.randint(*TASKS_PER_CASE), size - made)
        for kind in rng.sample(TASK_KINDS, count):
            if made in due:
                due_on = TODAY - timedelta(days=rng.randint(0, 9))
            else:
                due_on = TODAY + timedelta(days=rng.randint(1, 120))
            made += 1
            tasks.append({"id": made, "case_id": case_id, "kind": kind, "due_on": due_on,
                          "status": "open", "assignee": caseworker,
                          "rule": f"playbook: {kind}", "created_at": stamp,
                          "updated_at": stamp})
        if len(tasks) >= CHUNK:
            yield "cases", cases
            yield "tasks", tasks
            yield "contacts", contacts
            cases, tasks, contacts = [], [], []
    yield "cases", cases
    yield "tasks", tasks
    yield "contacts", contacts


def _contact(case_id: str, channel: str, result: str, by: str, at: datetime) -> dict[str, Any]:
    return {"case_id": case_id, "channel": channel, "result": result,
            "at": at + timedelta(days=2), "note": None, "recorded_by": by,
            "created_at": at + timedelta(days=2)}


def _write(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """SQLite: the driver's executemany with Domus's own bind conversions (insert_ignore);
    PostgreSQL: COPY."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        insert_ignore(connection, table, rows, [table.primary_key.columns.keys()[0]])
        return
    columns = list(rows[0])
    cursor = connection.connection.cursor()
    try:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
    finally:
        cursor.close()


def build(engine: Engine, size: int, due_count: int, rules: RuleBook) -> dict[str, Any]:
    started = time.perf_counter()
    migrate(engine)
    horizon = at_risk_horizon(TODAY, rules.calendar)
    with engine.begin() as connection:
        for name, rows in generate(size, due_count, horizon):
            _write(connection, t.metadata.tables[name], rows)
        if connection.dialect.name == "postgresql":  # ids were given: move the sequence on
            connection.execute(text("SELECT setval('tasks_id_seq', (SELECT max(id) FROM tasks))"))
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    with engine.connect() as connection:
        found = {name: connection.scalar(select(func.count()).select_from(table)) for name, table
                 in (("cases", t.cases), ("tasks", t.tasks), ("contacts", t.contacts))}
        found["due"] = connection.scalar(select(func.count()).select_from(t.tasks).where(
            t.tasks.c.status == "open", t.tasks.c.due_on <= TODAY))
    found["build_seconds"] = time.perf_counter() - started
    return found


# -- the measurement ------------------------------------------------------------------------
def _sweep(engine: Engine, rules: RuleBook,
           profile: cProfile.Profile | None = None) -> tuple[float, SweepCounts]:
    started = time.perf_counter()
    if profile:
        profile.enable()
    with engine.begin() as connection:
        counts = record_sweep(connection, rules, NOW)
    if profile:
        profile.disable()
    return time.perf_counter() - started, counts


def _reset(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(delete(t.outbox))
        connection.execute(delete(t.flags).where(t.flags.c.code == "at_risk"))


def measure(engine: Engine, rules: RuleBook, repeat: int,
            profile: cProfile.Profile | None = None) -> dict[str, Any]:
    first, again, counts = [], [], SweepCounts()
    for attempt in range(repeat):
        if attempt:
            _reset(engine)
        seconds, counts = _sweep(engine, rules, profile if attempt == 0 else None)
        first.append(seconds)
        seconds, repeated = _sweep(engine, rules)
        again.append(seconds)
        assert repeated.notifications == 0, "a repeated sweep wrote notifications"
    return {"first_seconds": statistics.median(first), "first_all": first,
            "repeat_seconds": statistics.median(again), "repeat_all": again,
            "counts": counts.as_json()}


def run(args: argparse.Namespace, say: Callable[[str], None]) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="domus-bench-sweep-") as folder:
        for size in args.sizes:
            with scratch_database(args.database, Path(folder) / f"sweep-{size}.db",
                                  args.postgres_url) as url:
                engine = create_database_engine(url)
                rules = build_rulebook(Settings(database_url=url, region="brussels"))
                try:
                    say(f"building {size:,} open tasks on {args.database}…")
                    due = (round(size * args.due_share) if args.due_share
                           else args.due_count)
                    built = build(engine, size, min(due, size), rules)
                    say(f"  built in {built['build_seconds']:.1f} s; sweeping…")
                    profile = cProfile.Profile() if args.profile else None
                    measured = measure(engine, rules, args.repeat, profile)
                finally:
                    engine.dispose()
            if profile:
                say(f"  profile of the first sweep at {size:,}:")
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
            results.append({"size": size, "database": args.database, **built, **measured})
    return results


def report(results: list[dict[str, Any]], database_name: str, repeat: int) -> dict[str, Any]:
    print(f"sweep benchmark: {database_name}, now {NOW:%Y-%m-%d %H:%M} (Monday), "
          f"medians of {repeat}")
    print(f"  {'open tasks':>10} {'due':>7} {'cases':>8} {'build s':>8} {'first s':>8} "
          f"{'repeat s':>9} {'notes':>7} {'escal.':>6} {'at risk':>7}")
    for r in results:
        c = r["counts"]
        print(f"  {r['tasks']:>10,} {r['due']:>7,} {r['cases']:>8,} {r['build_seconds']:>8.1f} "
              f"{r['first_seconds']:>8.3f} {r['repeat_seconds']:>9.3f} "
              f"{c['notifications']:>7,} {c['escalated']:>6,} {c['at_risk']:>7,}")
    summary: dict[str, Any] = {"database": database_name, "results": results}
    if len(results) >= 2:
        small, large = results[0], results[-1]
        ratio = large["first_seconds"] / small["first_seconds"]
        summary["ratio"] = ratio
        print(f"  ratio first sweep {large['size']:,} / {small['size']:,}: {ratio:.2f} "
              f"(repeat sweep: {large['repeat_seconds'] / small['repeat_seconds']:.2f})")
    largest = results[-1]
    print(f"  target: < {TARGET_SECONDS:.0f} s at {TARGET_SIZE:,} on SQLite, "
          f"ratio < {TARGET_RATIO:.0f}")
    if largest["size"] == TARGET_SIZE:
        met = largest["first_seconds"] < TARGET_SECONDS
        summary["time_target_met"] = met
        print(f"    time at {TARGET_SIZE:,}: {largest['first_seconds']:.3f} s  "
              f"{'PASS' if met else 'FAIL'}" + ("" if database_name == "sqlite"
                                                   else " (the target is for SQLite)"))
    if "ratio" in summary:
        met = summary["ratio"] < TARGET_RATIO
        summary["ratio_target_met"] = met
        print(f"    ratio: {summary['ratio']:.2f}  {'PASS' if met else 'FAIL'}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        type=lambda value: [int(part) for part in value.split(",")],
                        help="open tasks per run, comma-separated")
    parser.add_argument("--due-share", type=float,
                        help="a share of the open tasks due today or earlier, at each size "
                             "(instead of --due-count)")
    parser.add_argument("--due-count", type=int, default=DUE_COUNT,
                        help="exactly this many due tasks at every size, and at-risk cases in "
                             "proportion: the same due work among more tasks that are not "
                             "due (default: 1%% of 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL,
                        help="a PostgreSQL server's admin database; a new one is made there")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the first sweep of each size")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = run(args, say)
    summary = report(results, args.database, args.repeat)
    if args.json:
        print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()
