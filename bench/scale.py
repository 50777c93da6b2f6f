"""Scale-out benchmark (issue 7): a Brussels year through a Prefect server on PostgreSQL.

    python -m bench.scale [--notices 5000] [--days 250] [--workers 1,2] [--sweeps-per-day 1]

Generates `--notices` notices received over `--days` working days, one file a day, and for
each worker count starts a fresh Domus and Prefect database on 127.0.0.1:5432, `prefect
server start`, N process workers and `domus deploy` (the helpers of
tests/e2e/test_scale_e2e.py); then submits every daily intake run, each followed by its
day's sweep(s), at once from one client, and waits until every flow run has ended.
Prints wall time (first submit to last run's end), notices/s, flow runs/s and the speed-up
over one worker; the baseline is the same files ingested in-process, sequentially, without
a server (one `domus ingest` of all files): the ratio shows Prefect's per-run overhead.
Domus's database is checked each time: one receipt per notice, no duplicate case, task or
outbox key, and the same cases as the in-process baseline. Everything is stopped and
dropped afterwards, whatever happened.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from domus.demo_data import generate_notices, write_jsonl
from tests.e2e.test_scale_e2e import (
    BIN,
    Stack,
    databases,
    domus,
    marked_processes,
    scalar,
    start_server,
)

START = date(2026, 1, 5)
WORKER_LIMIT = 4  # concurrent flow runs per worker
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
WAIT_SECONDS = 3600
NOTICES_A_DAY = 20  # --days is lowered to give at least this many a day


def daily_files(folder: Path, notices: int, days: int) -> list[tuple[date, Path]]:
    """The notices of each working day in a file of their own (a flawed record without a
    readable receipt date goes with the day before it)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_day: dict[date, list[dict[str, Any]]] = {}
    day = START
    for record in generate_notices(notices, seed=7, start=START, days=days):
        with suppress(ValueError):
            day = max(day, date.fromisoformat(str(record.get("received_on"))))
        by_day.setdefault(day, []).append(record)
    files = []
    for day, records in sorted(by_day.items()):
        write_jsonl(records, folder / f"notices-{day}.jsonl")
        files.append((day, folder / f"notices-{day}.jsonl"))
    return files


def runs_to_submit(files: list[tuple[date, Path]], sweeps: int) -> list[tuple[str, dict]]:
    """Each day's intake at 18:00, then its sweeps from 19:00, hour by hour."""
    runs: list[tuple[str, dict]] = []
    for day, path in files:
        at = datetime.combine(day, datetime.min.time())
        runs.append(("intake", {"paths": [str(path)], "now": (at + timedelta(hours=18))
                                .isoformat(), "workers": 1}))
        runs += [("sweep", {"now": (at + timedelta(hours=19 + i)).isoformat()})
                 for i in range(sweeps)]
    return runs


def in_process(tmp: Path, files: list[tuple[date, Path]]) -> dict[str, Any]:
    """One `domus ingest` of every file, no server, on a database of its own."""
    name = f"domus_scale_{uuid.uuid4().hex[:10]}"
    with databases(name):
        stack = Stack(tmp / "inproc", name, name)
        stack.tmp.mkdir()
        env = {k: v for k, v in stack.domus_env().items() if k != "PREFECT_API_URL"}
        last = files[-1][0]
        began = time.monotonic()
        done = subprocess.run([str(BIN / "domus"), "ingest", *[str(p) for _, p in files],
                               "--now", f"{last}T18:00:00", "--json"], env=env,
                              capture_output=True, text=True, cwd=stack.tmp)
        seconds = time.monotonic() - began
        if done.returncode not in (0, 3):
            raise SystemExit(f"in-process ingest failed ({done.returncode}):\n{done.stderr}")
        return {"seconds": seconds, "summary": json.loads(done.stdout),
                "cases": case_keys(stack.domus_url)}


def case_keys(url: str) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return sorted(connection.execute(text(
                "SELECT court || '/' || docket_number FROM cases")).scalars())
    finally:
        engine.dispose()


def on_server(tmp: Path, workers: int, runs: list[tuple[str, dict]]) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:10]
    with databases(f"domus_scale_{suffix}", f"prefect_scale_{suffix}"):
        stack = Stack(tmp / f"workers-{workers}", f"domus_scale_{suffix}",
                      f"prefect_scale_{suffix}")
        stack.tmp.mkdir()
        try:
            start_server(stack)
            code, _, err = domus(stack, "deploy")
            if code != 0:
                raise SystemExit(f"domus deploy failed:\n{err}")
            for i in range(workers):
                stack.start(f"worker{i}", [str(BIN / "prefect"), "worker", "start", "--pool",
                                           "domus", "--type", "process", "--limit",
                                           str(WORKER_LIMIT)], stack.domus_env(f"worker{i}"))
            result = submit_and_wait(stack, runs)
            result |= check(stack.domus_url)
            return result
        finally:
            stack.stop()
            if marked_processes(stack.marker):
                print("warning: a process of the benchmark outlived it")


def submit_and_wait(stack: Stack, runs: list[tuple[str, dict]]) -> dict[str, Any]:
    with httpx.Client(base_url=stack.api, timeout=60) as client:
        ids = {flow: client.get(f"/deployments/name/{flow}/domus-{flow}").json()["id"]
               for flow in ("intake", "sweep")}
        began = time.time()
        for flow, parameters in runs:
            client.post(f"/deployments/{ids[flow]}/create_flow_run",
                        json={"parameters": parameters}).raise_for_status()
        submitted = time.time() - began
        states = wait_all(client, set(ids.values()), len(runs), stack)
        ended = [run["end_time"] for run in states if run["end_time"]]
    last = max(datetime.fromisoformat(e).timestamp() for e in ended)
    kinds: dict[str, int] = {}
    for run in states:
        kinds[run["state_type"]] = kinds.get(run["state_type"], 0) + 1
    return {"seconds": last - began, "submit_seconds": submitted, "states": kinds}


def wait_all(client: httpx.Client, deployments: set[str], count: int,
             stack: Stack) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT_SECONDS
    query = {"deployments": {"id": {"any_": sorted(deployments)}},
             "flow_runs": {"state": {"type": {"any_": list(FINAL)}}}}
    while time.monotonic() < deadline:
        if client.post("/flow_runs/count", json=query).json() >= count:
            return list(flow_runs(client, query))
        time.sleep(1)
    raise SystemExit(f"runs not done after {WAIT_SECONDS} s\n{stack.log('worker0')}")


def flow_runs(client: httpx.Client, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    offset = 0
    while page := client.post("/flow_runs/filter",
                              json=query | {"offset": offset, "limit": 200}).json():
        yield from page
        offset += len(page)


def check(url: str) -> dict[str, Any]:
    """What Domus's database holds, and its duplicates (all must be 0)."""
    def count(query: str) -> int:
        return int(scalar(url, query))

    return {
        "receipts": count("SELECT count(*) FROM receipts"),
        "cases": case_keys(url),
        "duplicate_cases": count("SELECT count(*) - count(DISTINCT court || '/' || "
                                 "docket_number) FROM cases"),
        "duplicate_tasks": count("SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT "
                                 "case_id, kind FROM tasks) t) FROM tasks"),
        "duplicate_outbox": count("SELECT count(*) - count(DISTINCT key) FROM outbox"),
        "outbox": count("SELECT count(*) FROM outbox"),
    }


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=5000)
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    parser.add_argument("--sweeps-per-day", type=int, default=1)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    args.days = min(args.days, max(1, args.notices // NOTICES_A_DAY))
    # a SIGTERM stops the benchmark as Ctrl-C does: the processes stop, the databases go
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="domus-scale-") as folder:
        tmp = Path(folder)
        files = daily_files(tmp / "files", args.notices, args.days)
        runs = runs_to_submit(files, args.sweeps_per_day)
        say(f"{len(files)} daily files, {len(runs)} flow runs; in-process baseline...")
        baseline = in_process(tmp, files)
        results = {}
        for n in counts:
            say(f"{n} worker(s)...")
            results[n] = on_server(tmp, n, runs)
    report(args, len(files), len(runs), baseline, results)


def report(args: argparse.Namespace, days: int, runs: int, baseline: dict[str, Any],
           results: dict[int, dict[str, Any]]) -> None:
    notices = args.notices
    print(f"scale benchmark: {notices:,} Brussels notices in {days} daily files, "
          f"{args.sweeps_per_day} sweep(s) a day: {runs} flow runs; Prefect server and "
          f"Domus on PostgreSQL; process workers with --limit {WORKER_LIMIT}")
    print(f"  {'workers':>7}  {'wall s':>8}  {'notices/s':>9}  {'runs/s':>7}  "
          f"{'speed-up':>8}  {'server/in-proc':>14}  states")
    first = results[min(results)]["seconds"]
    for n, r in results.items():
        print(f"  {n:>7}  {r['seconds']:>8.1f}  {notices / r['seconds']:>9.1f}  "
              f"{runs / r['seconds']:>7.2f}  {first / r['seconds']:>8.2f}  "
              f"{r['seconds'] / baseline['seconds']:>14.1f}  {r['states']}")
    print(f"  in-process baseline (one `domus ingest` of all {days} files, no server, no "
          f"sweeps): {baseline['seconds']:.1f} s, {notices / baseline['seconds']:.1f} "
          "notices/s (process start-up included)")
    for n, r in results.items():
        same = "same cases as in-process" if r["cases"] == baseline["cases"] else (
            f"CASES DIFFER from in-process ({len(r['cases'])} vs {len(baseline['cases'])})")
        print(f"  check, {n} worker(s): receipts {r['receipts']:,} "
              f"({'ok' if r['receipts'] == notices else 'NOT ' + str(notices)}), "
              f"{len(r['cases']):,} cases, {same}; duplicates: cases {r['duplicate_cases']}, "
              f"tasks {r['duplicate_tasks']}, outbox keys {r['duplicate_outbox']} "
              f"({r['outbox']:,} outbox rows); submitting took {r['submit_seconds']:.1f} s")


if __name__ == "__main__":
    main()
