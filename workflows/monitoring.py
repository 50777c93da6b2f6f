"""The monthly regional report as a Prefect flow: one flow run writes the report of every
OCMW asked for, counts only (domain.statistics.report_document)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from domus.bootstrap import current
from services.monitoring import monthly_report


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
def report_flow(month: str, ocmws: list[str], targets: list[str],
                now: datetime) -> list[dict[str, Any]]:
    return write_reports(month, ocmws, targets, now)
