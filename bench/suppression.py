"""Suppression benchmark: the small-cell audit on tables with much to hide.

    python -m bench.suppression [--random 300] [--seed 1] [--repeat 3] [--no-baseline] [--json]

The statistics of a small database hide many counts, and the audit that checks no hidden
count can be worked out (domain/statistics.py `suppress`) is where the time goes. Two
workloads, each suppressed by the audit as Domus runs it and by the baseline, the
exhaustive search alone (`relax=False`, no work budget: the audit before the linear
relaxation, the short search and the joint question were added):

* captured: the table of tests/unit/data/small_tables.json, the monitoring page by OCMW of
  a 3,000-case database under bench/load.py, whose suppression kept the load's monitor
  waiting past its 60 s time-out;
* random: `--random` tables like tests/unit/test_statistics_privacy.py's (2-5 OCMWs, 1-3
  cells each with 0-6 cases, a few referrals), by OCMW, month, commune or in total, k 3-5,
  from a seeded generator.

Printed per workload: the audit's time (median of `--repeat` for the captured table, the
sum for the random ones), the baseline's, their ratio, the slowest random table, and
whether both hid exactly the same cells with the same marks (they must: the new steps
change the cost of a question, not its answer, unless the work budget runs out).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics as stats
import sys
import time
from pathlib import Path
from typing import Any

from domain.statistics import (
    CaseCell,
    ReferralCell,
    Table,
    count_table,
    group_key,
    suppress,
)

CAPTURED = Path(__file__).resolve().parents[1] / "tests" / "unit" / "data" / "small_tables.json"
OCMWS = ("21001", "21004", "21015", "21016", "21019")
POSTCODES = ("1000", "1030", "1190")
MONTHS = ("2026-10", "2026-11", "2027-01")
OUTCOMES = (None, "rehoused", "evicted", "kept_payment_plan")
PROGRAMMES = ("uitweg", "smes_housing_first")
STATUSES = ("sent", "housed")


def table_of(cells: list[CaseCell], referrals: list[ReferralCell], by: str | None) -> Table:
    key = (lambda o, c, m: group_key(by, o, c, m)) if by else None
    return count_table(cells, referrals, key=key)


def captured() -> tuple[Table, int]:
    data = json.loads(CAPTURED.read_text())
    return (table_of([CaseCell(*c) for c in data["cells"]],
                     [ReferralCell(*r) for r in data["referrals"]], data["by"]),
            data["min_cell"])


def random_tables(count: int, seed: int) -> list[tuple[Table, int]]:
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        cells, referrals = [], []
        for ocmw in rng.sample(OCMWS, rng.randint(2, 5)):
            for _ in range(rng.randint(1, 3)):
                effective = rng.random() < 0.5
                cells.append(CaseCell(ocmw, rng.choice(POSTCODES), rng.choice(MONTHS),
                                      rng.choice(OUTCOMES), effective,
                                      effective or rng.random() < 0.5, rng.randint(0, 6),
                                      rng.randint(0, 3)))
            for _ in range(rng.randint(0, 2)):
                referrals.append(ReferralCell(ocmw, rng.choice(POSTCODES), rng.choice(MONTHS),
                                              rng.choice(PROGRAMMES), rng.choice(STATUSES),
                                              rng.randint(0, 5)))
        by = rng.choice(("ocmw", "month", "commune", None))
        found.append((table_of(cells, referrals, by), rng.randint(3, 5)))
    return found


def timed(table: Table, k: int, baseline: bool) -> tuple[float, dict]:
    started = time.perf_counter()
    marks = (suppress(table, k, relax=False, budget=10**12) if baseline
             else suppress(table, k))
    return time.perf_counter() - started, marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the exhaustive search (minutes on the captured table)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {}

    table, k = captured()
    timed(table, k, False)  # the solver's import and first call
    runs = [timed(table, k, False) for _ in range(args.repeat)]
    audit = {"seconds": stats.median(s for s, _ in runs), "hidden": len(runs[0][1])}
    if not args.no_baseline:
        seconds, marks = timed(table, k, True)
        audit.update(baseline_seconds=seconds, ratio=seconds / audit["seconds"],
                     identical=marks == runs[0][1])
    result["captured"] = audit

    tables = random_tables(args.random, args.seed)
    ours = [timed(t, k, False) for t, k in tables]
    audit = {"tables": len(tables), "seconds": sum(s for s, _ in ours),
             "slowest": max(s for s, _ in ours)}
    if not args.no_baseline:
        theirs = [timed(t, k, True) for t, k in tables]
        audit.update(baseline_seconds=sum(s for s, _ in theirs),
                     baseline_slowest=max(s for s, _ in theirs),
                     ratio=sum(s for s, _ in theirs) / audit["seconds"],
                     identical=sum(a[1] == b[1] for a, b in zip(ours, theirs, strict=True)))
    result["random"] = audit

    c, r = result["captured"], result["random"]
    print(f"captured table (3,000 cases by OCMW, k {k}): {c['seconds']:.2f} s "
          f"(median of {args.repeat}), {c['hidden']} cells hidden")
    if "baseline_seconds" in c:
        print(f"  baseline, the exhaustive search alone: {c['baseline_seconds']:.1f} s; ratio "
              f"{c['ratio']:.0f}x; same cells and marks: {'yes' if c['identical'] else 'NO'}")
    print(f"random small tables: {r['tables']} in {r['seconds']:.2f} s, the slowest "
          f"{1e3 * r['slowest']:.0f} ms")
    if "baseline_seconds" in r:
        print(f"  baseline: {r['baseline_seconds']:.2f} s, the slowest "
              f"{1e3 * r['baseline_slowest']:.0f} ms; ratio {r['ratio']:.2f}x; same cells "
              f"and marks: {r['identical']} of {r['tables']}")
    if args.json:
        print(json.dumps(result))
    identical = [w.get("identical", True) for w in result.values()]
    sys.exit(0 if identical[0] is not False and identical[1] in (True, r["tables"]) else 1)


if __name__ == "__main__":
    main()
