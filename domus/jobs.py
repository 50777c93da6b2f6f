"""Batch jobs as the entry points start them: each one is one Prefect flow run.

Intake and the sweep run in this process, or, once Domus is deployed on the Prefect server
at PREFECT_API_URL (`domus deploy`), on a worker: the run is submitted to the deployment
and waited for; a run that fails or crashes raises `domus.deploy.RunFailed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, or_, select

from domus.bootstrap import prepare_prefect, run_flow, stderr_say
from domus.settings import Settings
from services.readers import SUFFIXES, UnreadableFile
from services.summary import IntakeSummary, split_partition
from store import tables as t


def check_notice_files(paths: Sequence[Path]) -> None:
    """Refuse at once (exit 2) a path that is missing or of an unknown kind."""
    for path in paths:
        if not path.is_file():
            raise UnreadableFile(f"{path}: no such file")
        if path.suffix.lower() not in SUFFIXES:
            raise UnreadableFile(f"{path}: unknown file type (expected .json, .jsonl or .csv)")


def run_intake(settings: Settings, paths: Sequence[Path], *, now: datetime,
               ocmw: str | None = None, imported_by: str | None = None) -> IntakeSummary:
    """One intake flow run over `paths`, large files split over `intake_workers` processes;
    `ocmw` and `imported_by` name the administrator importing them (None: the operator).

    Submitted to the `intake` deployment when there is one: a worker then reads `paths`,
    so they must be in a folder the workers share (e.g. under DOMUS_DATA_DIR), and the
    summary is read back from the run's `batches` rows (the system of record)."""
    check_notice_files(paths)
    prepare_prefect(settings, stderr_say)
    from domus.deploy import deployed

    parameters = {"paths": [str(p.resolve()) for p in paths], "now": now,
                  "workers": settings.intake_workers, "ocmw": ocmw,
                  "imported_by": imported_by}
    deployment = deployed("intake")
    if deployment is None:
        from workflows.intake import intake_flow

        return IntakeSummary.from_json(run_flow(intake_flow, **parameters))
    from domus.deploy import submit
    from store.db import create_database_engine

    engine = create_database_engine(settings.database_url)
    try:
        after = _last_batch(engine)
        submit(deployment, parameters)
        return _summary_of_run(engine, parameters["paths"], now, after)
    finally:
        engine.dispose()


def _last_batch(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.max(t.batches.c.id))) or 0)


def _summary_of_run(engine: Engine, paths: list[str], now: datetime,
                    after: int) -> IntakeSummary:
    """The summary a finished intake run wrote to its `batches` rows: those of `paths`
    (and their partitions) started at `now`, made after batch `after`."""
    batches = t.batches.c
    of_paths = or_(*[or_(batches.source == path,
                         batches.source.startswith(f"{path} (partition ", autoescape=True))
                     for path in paths])
    with engine.connect() as connection:
        rows = connection.execute(select(batches.source, batches.summary, batches.finished_at)
                                  .where(batches.id > after, batches.started_at == now,
                                         of_paths).order_by(batches.id)).all()
    found = {split_partition(row.source)[0] for row in rows}
    if found != set(paths) or not all(row.finished_at and row.summary for row in rows):
        from domus.deploy import RunFailed

        raise RunFailed("the intake run finished, but its summary is not in this database: "
                        "do the workers have the same DOMUS_DATABASE_URL?")
    total = IntakeSummary()
    for row in rows:
        total.add(IntakeSummary.from_json(row.summary))
    return total


def run_sweep(settings: Settings, *, now: datetime) -> dict[str, Any]:
    """One sweep flow run: notifications and at-risk flags for `now`, then delivery;
    submitted to the `sweep` deployment when there is one (its report is read back from
    the Prefect server)."""
    prepare_prefect(settings, stderr_say)
    from domus.deploy import deployed, report_of, submit

    deployment = deployed("sweep")
    if deployment is None:
        from workflows.sweep import sweep_flow

        return run_flow(sweep_flow, now=now)
    run = submit(deployment, {"now": now})
    report = report_of(run.id)
    if report is None:
        from domus.deploy import RunFailed

        raise RunFailed(f"flow run {run.name} of {deployment} left no report")
    return report


def run_digest(settings: Settings, *, now: datetime) -> dict[str, Any]:
    """One digest flow run: each caseworker's tasks of the day, then delivery."""
    prepare_prefect(settings, stderr_say)
    from workflows.sweep import digest_flow

    return run_flow(digest_flow, now=now)


def run_replay(settings: Settings, *, moments: list[datetime],
               digest_at: list[datetime]) -> list[dict[str, Any]]:
    """Many sweeps in one flow run (the demo's simulated month)."""
    prepare_prefect(settings, stderr_say)
    from workflows.sweep import replay_flow

    return run_flow(replay_flow, moments=moments, digest_at=digest_at)


def run_letters(settings: Settings, *, due_before: date, out_dir: Path, pdf: bool,
                now: datetime) -> dict[str, Any]:
    """One letters flow run: every letter whose task is due, and the print file."""
    if pdf:
        from services.pdf import find_soffice

        find_soffice(settings.soffice)  # say at once when LibreOffice is missing
    prepare_prefect(settings, stderr_say)
    from workflows.letters import letters_flow

    return run_flow(letters_flow, due_before=due_before, out_dir=str(out_dir.resolve()),
                    pdf=pdf, now=now)


def run_reports(settings: Settings, *, month: str, ocmws: list[str], targets: list[Path],
                now: datetime) -> list[dict[str, Any]]:
    """One flow run writing each OCMW's monthly report (counts only)."""
    prepare_prefect(settings, stderr_say)
    from workflows.monitoring import report_flow

    return run_flow(report_flow, month=month, ocmws=ocmws,
                    targets=[str(p.resolve()) for p in targets], now=now)
