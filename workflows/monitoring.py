"""The monthly regional report as a Prefect flow: one flow run writes the report of every
OCMW asked for, counts only (domain.statistics.report_document)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from domus.bootstrap import current
from services.monitoring import monthly_report, ocmws_with_cases
from workflows.runtime import moment


@task(name="write-reports", cache_policy=NO_CACHE)
def write_reports(month: str, ocmws: list[str], targets: list[str],
                  now: datetime) -> list[dict[str, Any]]:
    domus = current()
    written = []
    with domus.engine.connect() as connection:
        for ocmw, target in zip(ocmws, targets, strict=True):
            document = monthly_report(connection, ocmw=ocmw, month=month, now=now)
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n",
                            encoding="utf-8")
            written.append({"ocmw": ocmw, "month": month, "file": str(path),
                            "cases": sum(cell["cases"] for cell in document["cells"])})
    return written


@flow(name="monthly-report", log_prints=False, persist_result=False)
def report_flow(month: str | None = None, ocmws: list[str] | None = None,
                targets: list[str] | None = None,
                now: datetime | None = None) -> list[dict[str, Any]]:
    """The reports of `ocmws` for `month` ("2026-11"), written to `targets`. A scheduled
    run (the 1st of the month) gives none of them: the month before `now`, every OCMW with
    cases, DOMUS_DATA_DIR/reports/<month>/<OCMW>.json."""
    now = moment(now)
    month = month or previous_month(now.date())
    if ocmws is None:
        with current().engine.connect() as connection:
            ocmws = ocmws_with_cases(connection)
    if targets is None:
        folder = (current().settings.data_dir / "reports" / month).resolve()
        targets = [str(folder / f"{ocmw}.json") for ocmw in ocmws]
    return write_reports(month, ocmws, targets, now)


def previous_month(day: date) -> str:
    """"2026-10" for any day of November 2026."""
    return f"{day.replace(day=1) - timedelta(days=1):%Y-%m}"
