"""Intake benchmark: 100,000 generated notices through the intake flow on SQLite.

    python bench/intake.py [--notices 100000] [--chunk-size 1000] [--workers 2]

Prints notices per second through the real intake flow (one Prefect flow run; a large file
is split by procedure over --workers processes; marginal: Prefect's start-up is measured
apart), the same for a floor that only parses the file and inserts one raw row per notice,
their ratio, and the peak RSS of each process. Each run is a fresh process on a fresh
database. Target on a 2-core machine: >= 5,000 notices/s marginal, peak RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_RATE, TARGET_RSS_MB = 5000, 300


def generate(path: Path, count: int) -> None:
    from domus.demo_data import generate_notices, write_jsonl

    write_jsonl(generate_notices(count, seed=7, start=date(2026, 1, 5), days=365), path)


def floor(path: Path, workdir: Path) -> dict[str, float]:
    """Parse every line and insert it raw, in 1,000-row transactions: the least any
    intake that keeps what it receives must do."""
    connection = sqlite3.connect(workdir / "floor.db")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, kind TEXT, raw TEXT)")
    started, rows, count = time.perf_counter(), [], 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            rows.append((json.loads(line).get("kind"), line))
            if len(rows) == 1000:
                count += _flush(connection, rows)
    count += _flush(connection, rows)
    elapsed = time.perf_counter() - started
    return {"notices": count, "seconds": elapsed, "rate": count / elapsed, "rss_mb": _rss_mb()}


def _flush(connection: sqlite3.Connection, rows: list[tuple[str, str]]) -> int:
    with connection:
        connection.executemany("INSERT INTO raw (kind, raw) VALUES (?, ?)", rows)
    count = len(rows)
    rows.clear()
    return count


def intake(path: Path, workdir: Path, chunk_size: int, workers: int) -> dict[str, float]:
    """The real intake flow. The marginal rate is the slope of records received over time,
    sampled from the database while the flow runs (its partitions run in other processes),
    from the first committed chunk to the last."""
    os.environ["DOMUS_DATABASE_URL"] = f"sqlite:///{workdir / 'domus.db'}"
    os.environ["DOMUS_DATA_DIR"] = str(workdir / "data")
    os.environ["DOMUS_CHUNK_SIZE"] = str(chunk_size)
    os.environ["DOMUS_INTAKE_WORKERS"] = str(workers)
    from domus.bootstrap import bootstrap, prepare_prefect, stderr_say
    from domus.jobs import run_intake
    from domus.settings import Settings
    from services.intake import received_count
    from services.readers import inspect_file

    settings = Settings()
    domus = bootstrap(settings)
    prepare_prefect(settings, stderr_say)
    digest = inspect_file(path).sha256
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            samples.append((time.perf_counter(), received_count(domus.engine, [digest])))

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.perf_counter()
    sampler.start()
    summary = run_intake(settings, [path], now=datetime(2026, 11, 23, 9))
    total = time.perf_counter() - started
    done.set()
    sampler.join()
    moving = [(at, n) for at, n in samples if 0 < n < summary.received]
    (first_at, first_n), (last_at, last_n) = moving[0], moving[-1]
    return {"notices": summary.received, "seconds": total,
            "rate": (last_n - first_n) / (last_at - first_at),
            "startup_seconds": first_at - started, "created": summary.created,
            "quarantined": len(summary.quarantined), "rss_mb": _rss_mb(),
            "workers_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, path: Path, workdir: Path, chunk_size: int,
           workers: int = 1) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--file", str(path), "--workdir",
         str(workdir), "--chunk-size", str(chunk_size), "--workers", str(workers)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="intake processes")
    parser.add_argument("--child", choices=["floor", "intake"])
    parser.add_argument("--file", type=Path)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.child:
        if args.child == "floor":
            print(json.dumps(floor(args.file, args.workdir)))
        else:
            print(json.dumps(intake(args.file, args.workdir, args.chunk_size, args.workers)))
        return
    with tempfile.TemporaryDirectory(prefix="domus-bench-") as folder:
        workdir = Path(folder)
        path = workdir / "notices.jsonl"
        generate(path, args.notices)
        base = _child("floor", path, workdir, args.chunk_size)
        real = _child("intake", path, workdir, args.chunk_size, args.workers)
    report(args.notices, args.workers, base, real)


def report(count: int, workers: int, base: dict[str, float], real: dict[str, float]) -> None:
    print(f"intake benchmark: {count:,} generated Brussels notices, SQLite, one flow run, "
          f"{workers} intake process(es)")
    print(f"  floor (parse + one raw row each): {base['rate']:>9,.0f} notices/s  "
          f"peak RSS {base['rss_mb']:.0f} MB")
    print(f"  intake flow, marginal:            {real['rate']:>9,.0f} notices/s  "
          f"peak RSS {real['rss_mb']:.0f} MB (flow), {real['workers_rss_mb']:.0f} MB "
          "(largest child: a worker or Prefect's server)")
    print(f"  intake flow, whole run:           {real['seconds']:>9.1f} s "
          f"(Prefect start-up and first chunk {real['startup_seconds']:.1f} s)")
    print(f"  ratio intake/floor:               {real['rate'] / base['rate']:>9.2f}")
    peak = max(real["rss_mb"], real["workers_rss_mb"])
    print(f"  target: >= {TARGET_RATE:,} notices/s "
          f"({'met' if real['rate'] >= TARGET_RATE else 'NOT met'}), "
          f"RSS < {TARGET_RSS_MB} MB per process ({'met' if peak < TARGET_RSS_MB else 'NOT met'})")


if __name__ == "__main__":
    main()
