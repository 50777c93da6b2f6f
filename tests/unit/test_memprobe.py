"""bench/memprobe (bench/load.py --probe): a process started with it on its PYTHONPATH
samples its memory by layer, and the load report sums the layers of the web processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.load import PROBE_FIELDS, probe_summary

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "bench" / "memprobe"
GROW = """
import sqlite3, time
connection = sqlite3.connect(":memory:")
connection.execute("create table t (x)")
connection.executemany("insert into t values (?)", ((str(n) * 50,) for n in range(20000)))
kept = []
for _ in range(12):
    kept.append(bytearray(256 * 1024))  # 256 KiB a step, held
    kept.append([object() for _ in range(2000)])
    time.sleep(0.05)
time.sleep(0.3)
"""


def run_probed(folder: Path, **extra: str) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": f"{PROBE}{os.pathsep}{ROOT}",
           "DOMUS_MEMPROBE_DIR": str(folder), "DOMUS_MEMPROBE_SECONDS": "0.1", **extra}
    done = subprocess.run([sys.executable, "-c", GROW], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (path,) = folder.glob("probe-*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_probed_process_samples_each_layer(tmp_path: Path) -> None:
    rows = run_probed(tmp_path)
    assert len(rows) >= 5
    first, last = rows[0], rows[-1]
    for key in ("VmRSS", "RssAnon", "malloc_used_mb", "malloc_free_mb", "outside_malloc_mb",
                "sqlite_mb", "py_blocks", "gc_objects"):
        assert key in last, key
    assert last["sqlite_mb"] > 0.5  # the in-memory table, in SQLite's own count
    assert last["py_blocks"] > first["py_blocks"]  # the objects kept
    assert last["malloc_used_mb"] > first["malloc_used_mb"] + 1  # the buffers kept
    assert [r["t"] for r in rows] == sorted(r["t"] for r in rows)
    assert last["process"] == "MainProcess"


def test_with_tracing_the_places_that_grew_are_listed(tmp_path: Path) -> None:
    run_probed(tmp_path, DOMUS_MEMPROBE_TRACE="1", DOMUS_MEMPROBE_BASELINE="0")
    (trace,) = tmp_path.glob("trace-*.txt")
    text = trace.read_text()
    assert "growth since the baseline" in text and "<string>" in text  # the script's lines


def test_without_the_variable_nothing_is_sampled(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": f"{PROBE}{os.pathsep}{ROOT}"}
    env.pop("DOMUS_MEMPROBE_DIR", None)
    done = subprocess.run([sys.executable, "-c", "import threading; "
                           "print(threading.active_count())"], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert done.stdout.strip() == "1" and not list(tmp_path.iterdir())


def test_the_report_sums_the_web_processes_and_fits_a_slope(tmp_path: Path) -> None:
    def write(folder: Path, pid: int, name: str, anon: float, growth: float) -> None:
        rows = [{"t": t, "process": name, "RssAnon": anon + growth * t / 60,
                 "sqlite_mb": growth * t / 60,
                 **{f: 1.0 for f in PROBE_FIELDS if f not in ("RssAnon", "sqlite_mb")}}
                for t in range(0, 601, 10)]
        folder.mkdir(exist_ok=True)
        (folder / f"probe-{pid}.jsonl").write_text(
            "\n".join(json.dumps(r) for r in rows) + "\n")

    two = tmp_path / "two"
    write(two, 1, "domus web 1", 150.0, 0.5)
    write(two, 2, "domus web 2", 160.0, 0.25)
    write(two, 3, "MainProcess", 70.0, 3.0)  # the parent, which serves nothing: left out
    summary = probe_summary(two)
    assert summary["processes"] == {"count": 2.0}
    assert abs(summary["RssAnon"]["slope_per_min"] - 0.75) < 1e-9
    assert abs(summary["sqlite_mb"]["slope_per_min"] - 0.75) < 1e-9
    assert summary["RssAnon"]["last_minute"] > summary["RssAnon"]["second_minute"]
    one = tmp_path / "one"  # one web process: uvicorn in the main process
    write(one, 1, "MainProcess", 150.0, 0.5)
    write(one, 2, "MainProcess", 8.0, 0.0)  # a helper with a tiny heap: left out
    assert probe_summary(one)["processes"] == {"count": 1.0}
