"""Retention as a Prefect flow: one flow run pseudonymises every closed case whose outcome
is older than DOMUS_RETENTION_YEARS, chunk by chunk (services/retention.py), and removes
what is tied to no case once it is as old. Safe to schedule daily: a run with nothing due
changes nothing, and a second run for the same moment finds nothing left to do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from domus.bootstrap import current
from services.retention import run_retention
from workflows.runtime import moment, publish


@task(name="pseudonymise-closed-cases", cache_policy=NO_CACHE)
def pseudonymise(now: datetime, dry_run: bool) -> dict[str, Any]:
    domus = current()
    settings = domus.settings
    watch = settings.watch_dir
    folders = [watch / "done", watch / "failed"] if watch else []
    report = run_retention(domus.engine, now=now, years=settings.retention_years,
                           data_dir=settings.data_dir, folders=folders, dry_run=dry_run)
    return report.as_json()


@flow(name="retention", log_prints=False, persist_result=False)
def retention_flow(now: datetime | None = None, dry_run: bool = False) -> dict[str, Any]:
    """`now` (Brussels wall time) defaults to the moment the run starts, so a schedule
    needs no parameter. The report is counts only."""
    when = moment(now)
    report = {"now": when.isoformat(), **pseudonymise(when, dry_run)}
    publish(report)
    return report
