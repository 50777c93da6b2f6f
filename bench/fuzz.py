"""Fuzzing benchmark (issue 8): a million hostile inputs through the readers and validators.

    python -m bench.fuzz [--inputs 1000000] [--engine atheris|hypothesis|both]
                         [--hypothesis-share 0.05] [--max-len 4096]

Every input goes through `bench.fuzz_harness` (the same checks as the CI test
tests/unit/test_fuzz_readers.py): a notice file (CSV, JSON or JSONL, chosen by the first
byte) is records with data or a reason, or an unreadable file named in the message; each
record is validated as a notice (a valid one stored, fingerprinted and assessed) and as an
event; a spreadsheet cell never starts like a formula. First the fixed hostile files of the
issue (empty, binary, UTF-16, 100,000-deep nesting, 50 MB lines …); then atheris
(libFuzzer, coverage-guided over the instrumented Domus parsers) in a child process, and
hypothesis's structured strategies (bench/fuzz_strategies.py). Prints inputs run, inputs/s,
crashes (must be 0), distinct error reasons, and the peak RSS. Exit status 1 on a crash.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

SUFFIXES = (".csv", ".json", ".jsonl")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_hostile() -> dict:
    from bench.fuzz_harness import check_file, hostile_files

    reasons: Counter[str] = Counter()
    started, crashes = time.perf_counter(), []
    names = list(hostile_files(large=False)) + ["long-line.csv", "long-line.jsonl",
                                                 "long-record.json", "long-object.json"]
    for name in names:
        data = hostile_files(large=name.startswith("long"))[name]
        try:
            check_file(data, "." + name.rsplit(".", 1)[1], reasons)
        except Exception:  # noqa: BLE001 - a crash is what is counted
            crashes.append(f"{name}: {traceback.format_exc(limit=3)}")
        del data
    return {"engine": "hostile files", "inputs": len(names),
            "seconds": time.perf_counter() - started, "crashes": crashes,
            "reasons": dict(reasons), "peak_rss_mb": peak_rss_mb()}


# -- atheris (in a child process: libFuzzer exits the process when its runs are done) ---------
def atheris_child(runs: int, report: Path, max_len: int) -> None:
    import atheris

    with atheris.instrument_imports(include=["services.readers", "domain.notices",
                                             "domain.values", "services.spreadsheet",
                                             "services.import_events"]):
        from bench import fuzz_harness
    reasons: Counter[str] = Counter()
    state = {"inputs": 0, "crashes": [], "started": time.perf_counter()}

    def flush() -> None:
        report.write_text(json.dumps({
            "engine": "atheris", "inputs": state["inputs"], "crashes": state["crashes"],
            "seconds": time.perf_counter() - state["started"], "reasons": dict(reasons),
            "peak_rss_mb": peak_rss_mb()}))

    def one_input(data: bytes) -> None:
        state["inputs"] += 1
        provider = atheris.FuzzedDataProvider(data)
        target = provider.ConsumeIntInRange(0, 9)
        try:
            if target < 3:
                fuzz_harness.check_file(provider.ConsumeBytes(max_len), SUFFIXES[target],
                                        reasons)
            elif target < 6:
                payload = provider.ConsumeUnicodeNoSurrogates(max_len)
                try:
                    value = json.loads(payload)
                except (ValueError, RecursionError):
                    value = {"kind": payload}
                (fuzz_harness.check_notice if target < 5 else fuzz_harness.check_event)(
                    value, reasons)
            elif target < 9:
                fuzz_harness.check_file(provider.ConsumeUnicode(max_len).encode(
                    "utf-8", "surrogatepass"), SUFFIXES[target - 6], reasons)
            else:
                fuzz_harness.check_cell(provider.ConsumeUnicode(64))
        except Exception:  # noqa: BLE001 - counted and kept; the run goes on
            if len(state["crashes"]) < 20:
                state["crashes"].append(f"{data!r:.300}: {traceback.format_exc(limit=4)}")
            else:
                state["crashes"].append("(more)")
        if state["inputs"] % 5000 == 0 or state["inputs"] >= runs:
            flush()

    flush()
    atheris.Setup([sys.argv[0], f"-runs={runs}", f"-max_len={max_len * 2}",
                   "-rss_limit_mb=4096", "-print_final_stats=0", "-close_fd_mask=3"],
                  one_input)
    atheris.Fuzz()


def run_atheris(runs: int, max_len: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="domus-fuzz-") as folder:
        report = Path(folder) / "atheris.json"
        command = [sys.executable, "-m", "bench.fuzz", "--atheris-child", str(report),
                   "--inputs", str(runs), "--max-len", str(max_len)]
        child = subprocess.run(command, cwd=Path(__file__).resolve().parent.parent,
                               capture_output=True, text=True, check=False)
        result = json.loads(report.read_text())
        result["peak_rss_mb"] = max(result["peak_rss_mb"], resource.getrusage(
            resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        if child.returncode != 0:
            result["crashes"].append(f"atheris exited {child.returncode}: "
                                     f"{child.stderr[-2000:]}")
        return result


# -- hypothesis -------------------------------------------------------------------------------
def run_hypothesis(examples: int) -> dict:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from bench import fuzz_harness as h
    from bench.fuzz_strategies import csv_bytes, event_values, json_bytes, notice_values

    reasons: Counter[str] = Counter()
    crashes: list[str] = []
    count = [0]
    per = max(1, examples // 5)
    config = settings(max_examples=per, deadline=None, database=None,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))

    def guarded(check):
        def run(value):
            count[0] += 1
            try:
                check(value)
            except Exception:  # noqa: BLE001 - counted; hypothesis must not stop
                crashes.append(traceback.format_exc(limit=4))
        return run

    targets = [
        given(st.tuples(csv_bytes(), st.just(".csv")))(
            guarded(lambda pair: h.check_file(pair[0], pair[1], reasons))),
        given(st.tuples(json_bytes(), st.sampled_from([".json", ".jsonl"])))(
            guarded(lambda pair: h.check_file(pair[0], pair[1], reasons))),
        given(notice_values())(guarded(lambda value: h.check_notice(value, reasons))),
        given(event_values())(guarded(lambda value: h.check_event(value, reasons))),
        given(st.text())(guarded(h.check_cell)),
    ]
    started = time.perf_counter()
    for target in targets:
        config(target)()
    return {"engine": "hypothesis", "inputs": count[0], "crashes": crashes,
            "seconds": time.perf_counter() - started, "reasons": dict(reasons),
            "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["atheris", "hypothesis", "both"], default="both")
    parser.add_argument("--hypothesis-share", type=float, default=0.05,
                        help="share of --inputs that hypothesis makes with --engine both")
    parser.add_argument("--max-len", type=int, default=4096)
    parser.add_argument("--atheris-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.atheris_child:
        atheris_child(args.inputs, args.atheris_child, args.max_len)
        return
    share = {"atheris": 0.0, "hypothesis": 1.0}.get(args.engine, args.hypothesis_share)
    hypothesis_inputs = int(args.inputs * share)
    results = [run_hostile()]
    if hypothesis_inputs:
        results.append(run_hypothesis(hypothesis_inputs))
    if args.inputs - hypothesis_inputs > 0:
        results.append(run_atheris(args.inputs - hypothesis_inputs, args.max_len))
    report(results, args.json)
    if any(r["crashes"] for r in results):
        sys.exit(1)


def report(results: list[dict], as_json: bool) -> None:
    reasons: Counter[str] = Counter()
    for result in results:
        reasons.update(result["reasons"])
    total = sum(r["inputs"] for r in results)
    seconds = sum(r["seconds"] for r in results)
    summary = {
        "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        "inputs": total, "seconds": round(seconds, 1),
        "inputs_per_second": round(total / seconds) if seconds else None,
        "crashes": sum(len(r["crashes"]) for r in results),
        "distinct_reasons": len(reasons),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in results), 1),
        "engines": [{k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()
                     if k not in ("reasons", "crashes")} | {"crashes": len(r["crashes"])}
                    for r in results],
        "top_reasons": reasons.most_common(25),
    }
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    print(f"fuzz: {total:,} inputs in {seconds:.0f} s ({summary['inputs_per_second']:,}/s) "
          f"on {summary['machine']}")
    for engine in summary["engines"]:
        print(f"  {engine['engine']:>14}: {engine['inputs']:>9,} inputs, {engine['seconds']} s,"
              f" {engine['crashes']} crashes, peak RSS {engine['peak_rss_mb']} MB")
    print(f"crashes: {summary['crashes']} (baseline: 0)")
    print(f"distinct error reasons: {len(reasons)}; the most frequent:")
    for reason, n in summary["top_reasons"]:
        print(f"  {n:>9,}  {reason}")
    for result in results:
        for crash in result["crashes"][:5]:
            print(f"CRASH ({result['engine']}): {crash}", file=sys.stderr)


if __name__ == "__main__":
    main()
