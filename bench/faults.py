"""Fault benchmark: the long forms of tests/integration/test_faults.py.

    python -m bench.faults [--kills 50] [--notices 3000] [--database sqlite|postgresql|both]
                           [--sweep-stops 5] [--smtp-stops 20] [--seed 8]

1. SIGKILL: `domus ingest` of a batch (several files, re-sends, flawed records, follow-ups
   before their case) is killed with SIGKILL (its whole process group) when a random
   number of receipts is committed, 1–3 times in a row, then run to the end; the database
   is compared with a clean run's, case for case (canonical dump), and checked: one
   receipt per record, no doubled notice/task/outbox key, each bad record quarantined once
   and never a notice. Prints kills, where they landed, re-runs, mismatches (must be 0).
2. PostgreSQL stopped (`pg_ctl stop -m immediate`, a private cluster) while a sweep is at
   its writes; the sweep must fail with one clear line, and the re-run after the restart
   must equal a clean sweep. Prints runs, mismatches, doubled, time to recover.
3. SMTP stopped after a random number of messages during delivery, then started again;
   every outbox message must arrive exactly once (Message-IDs counted at the server).

Each `domus` run is a real subprocess talking to one Prefect test server started here.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from sqlalchemy import create_engine, select, text, update  # noqa: E402

from bench.scratch import scratch_database  # noqa: E402
from tests import fault_support as fs  # noqa: E402

ADMIN_URL = os.environ.get("DOMUS_TEST_POSTGRES_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CHUNK = "100"
SWEEP_AT = "2026-07-01T08:00:00"


@contextmanager
def prefect_server() -> Iterator[None]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):
        os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()
        yield


def database(kind: str, folder: Path) -> Any:
    """A new empty database of that kind (PostgreSQL: on the shared server, dropped after)."""
    return scratch_database(kind, folder / f"{uuid.uuid4().hex[:8]}.db", ADMIN_URL)


# -- 1. SIGKILL ---------------------------------------------------------------------------
def kills(kind: str, batch: list[Path], folder: Path, clean: dict[str, Any], count: int,
          rng: random.Random) -> dict[str, Any]:
    total = fs.record_count(batch)
    points: list[int] = []
    reruns = mismatches = problems = 0
    began = time.monotonic()
    while len(points) < count:
        with database(kind, folder) as url:
            engine = create_engine(url)
            env = fs.domus_env(url, folder / "data", DOMUS_CHUNK_SIZE=CHUNK)
            for _ in range(min(rng.randint(1, 3), count - len(points))):
                kill = fs.ingest_killed(batch, env, engine, rng, total=total)
                if not kill.finished_first:
                    points.append(kill.at_rows)
            fs.ingest(batch, env)
            reruns += 1
            found = fs.invariants(engine, total).problems()
            differences = fs.dump_differences(clean, fs.canonical_dump(engine))
            problems += bool(found)
            mismatches += bool(differences)
            for line in found + differences:
                print(f"  MISMATCH ({kind}): {line[:600]}", file=sys.stderr)
            engine.dispose()
    return {"kills": len(points), "points": points, "reruns": reruns,
            "mismatches": mismatches, "problems": problems,
            "seconds": time.monotonic() - began, "records": total}


# -- 2. PostgreSQL stopped mid-sweep ------------------------------------------------------
def sweep_stops(batch: list[Path], folder: Path, count: int) -> dict[str, Any]:
    from tests.integration.test_faults import _team_database

    results = {"runs": 0, "clear_errors": 0, "mismatches": 0, "doubled": 0,
               "recover_seconds": []}
    with fs.private_postgres() as cluster:
        template = cluster.create_database("faults_template")
        _team_database(template, batch, folder / "data").dispose()
        admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:  # no session may stay on a template
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = 'faults_template'"))
        admin.dispose()

        def copy(name: str) -> str:
            engine = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE faults_template'))
            engine.dispose()
            return cluster.url(name)

        clean_url = copy("faults_clean")
        sweep = [*fs.DOMUS, "sweep", "--now", SWEEP_AT, "--json"]
        subprocess.run(sweep, env=fs.domus_env(clean_url, folder / "data"), check=True,
                       capture_output=True, cwd=fs.REPO)
        clean_engine = create_engine(clean_url)
        clean = fs.canonical_dump(clean_engine)
        clean_engine.dispose()
        for run in range(count):
            url = copy(f"faults_crash_{run}")
            env = fs.domus_env(url, folder / "data")
            engine = create_engine(url)
            holder = engine.connect()
            holder.execute(text("LOCK TABLE outbox IN EXCLUSIVE MODE"))
            process = fs.start_domus(["sweep", "--now", SWEEP_AT, "--json"], env)
            watcher = create_engine(cluster.url())
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with watcher.connect() as connection:
                    if connection.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE "
                                              "wait_event_type = 'Lock'")):
                        break
                time.sleep(0.05)
            watcher.dispose()
            cluster.stop("immediate")
            _, err = process.communicate(timeout=300)
            holder.invalidate()
            engine.dispose()
            stopped = time.monotonic()
            cluster.start()
            again = subprocess.run(sweep, env=env, capture_output=True, text=True, cwd=fs.REPO)
            results["recover_seconds"].append(time.monotonic() - stopped)
            results["runs"] += 1
            results["clear_errors"] += (process.returncode == 1 and "database unreachable" in err
                                        and "Traceback" not in err)
            engine = create_engine(url)
            results["mismatches"] += bool(again.returncode != 0 or fs.dump_differences(
                clean, fs.canonical_dump(engine)))
            results["doubled"] += not fs.invariants(engine, 0).outbox_unique
            engine.dispose()
    return results


# -- 3. SMTP stopped during delivery ------------------------------------------------------
def smtp_stops(folder: Path, count: int, rng: random.Random) -> dict[str, Any]:
    from domus.bootstrap import bootstrap
    from domus.settings import Settings
    from services.delivery import Delivery, deliver_outbox, message_id_for
    from services.intake import ingest_source
    from services.readers import inspect_file
    from services.sweep import record_sweep
    from services.users import add_user
    from store import tables as t
    from tests.builders import petition, write_jsonl
    from tests.conftest import NOW
    from tests.smtp_server import RecordingHandler, SmtpServer

    domus = bootstrap(Settings(database_url=f"sqlite:///{folder / 'smtp.db'}",
                               data_dir=folder / "smtp-data"))
    for email, role in (("an@ocmw.be", "caseworker"), ("lea@ocmw.be", "team_lead")):
        add_user(domus.engine, email=email, name=email, role=role, ocmw="21015",
                 language="nl", password=None, now=NOW, rules=domus.rules)
    ingest_source(domus.engine, inspect_file(write_jsonl(folder / "smtp.jsonl", [
        petition(f"26S{i}") for i in range(40)])), rules=domus.rules, now=NOW)
    monday = datetime(2026, 11, 9, 8, 0)
    with domus.engine.begin() as connection:
        record_sweep(connection, domus.rules, monday)
    with domus.engine.connect() as connection:
        keys = set(connection.scalars(select(t.outbox.c.key)))
    results = {"runs": 0, "messages": len(keys), "lost": 0, "doubled": 0, "clear": 0}
    for _ in range(count):
        with domus.engine.begin() as connection:
            connection.execute(update(t.outbox).values(status="pending", attempts=0,
                                                       next_attempt_at=monday, claim=None,
                                                       last_error=None))
        k = rng.randint(0, len(keys) - 1)
        server = SmtpServer(handler=fs.GoingAway(k))
        delivery = Delivery(server.url, "domus@ocmw.be", "https://domus.example", attempts=1,
                            backoff_seconds=0)
        server.start()
        stopper = threading.Thread(target=lambda s=server: (s.handler.reached.wait(60),
                                                            s.stop()))
        stopper.start()
        down = deliver_outbox(domus.engine, domus.rules, delivery, now=monday)
        stopper.join()
        received = [m["Message-ID"] for m in server.messages]
        server.handler = RecordingHandler()
        server.start()
        deliver_outbox(domus.engine, domus.rules, delivery, now=monday + timedelta(minutes=2))
        server.stop()
        received += [m["Message-ID"] for m in server.messages]
        wanted = {message_id_for(key) for key in keys}
        results["runs"] += 1
        results["lost"] += len(wanted - set(received))
        results["doubled"] += len(received) - len(set(received))
        results["clear"] += down.sent == k and down.failed >= 1
    domus.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50, help="SIGKILLs per database")
    parser.add_argument("--notices", type=int, default=3000)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sweep-stops", type=int, default=5)
    parser.add_argument("--smtp-stops", type=int, default=20)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    with tempfile.TemporaryDirectory(prefix="domus-faults-") as tmp, prefect_server():
        folder = Path(tmp)
        batch = fs.write_batch(folder / "batch", args.notices)
        with database("sqlite", folder) as url:
            fs.ingest(batch, fs.domus_env(url, folder / "data", DOMUS_CHUNK_SIZE=CHUNK))
            engine = create_engine(url)
            clean = fs.canonical_dump(engine)
            engine.dispose()
        print(f"fault benchmark: {fs.record_count(batch):,} records in {len(batch)} files, "
              f"chunks of {CHUNK}, {os.cpu_count()} cores")
        for kind in kinds:
            if not args.kills:
                continue
            r = kills(kind, batch, folder, clean, args.kills, rng)
            points = r["points"]
            print(f"  SIGKILL intake ({kind}): {r['kills']} kills, {r['reruns']} recoveries, "
                  f"mismatches {r['mismatches']}, invariant failures {r['problems']}, "
                  f"{r['seconds']:.0f} s")
            if points:
                print(f"    rows present at the kill: min {min(points)}, median "
                      f"{statistics.median(points):.0f}, max {max(points)} of {r['records']} "
                      f"(whole chunks: each is one transaction); {len(set(points))} distinct")
        if args.sweep_stops:
            s = sweep_stops(batch[:1], folder, args.sweep_stops)
            rec = s["recover_seconds"]
            print(f"  PostgreSQL stopped mid-sweep: {s['runs']} runs, clear errors "
                  f"{s['clear_errors']}/{s['runs']}, mismatches {s['mismatches']}, doubled "
                  f"{s['doubled']}; restart + re-sweep median "
                  f"{statistics.median(rec) if rec else 0:.1f} s")
        if args.smtp_stops:
            m = smtp_stops(folder, args.smtp_stops, rng)
            print(f"  SMTP stopped mid-delivery: {m['runs']} runs x {m['messages']} messages, "
                  f"lost {m['lost']}, doubled {m['doubled']}, failure reported "
                  f"{m['clear']}/{m['runs']}")


if __name__ == "__main__":
    main()
