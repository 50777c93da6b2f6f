"""Batch jobs as the entry points start them: each one is one Prefect flow run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from domus.bootstrap import prepare_prefect, run_flow, stderr_say
from domus.settings import Settings
from services.readers import SUFFIXES, UnreadableFile
from services.summary import IntakeSummary


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
    `ocmw` and `imported_by` name the administrator importing them (None: the operator)."""
    check_notice_files(paths)
    prepare_prefect(settings, stderr_say)
    from workflows.intake import intake_flow

    result = run_flow(intake_flow, paths=[str(p.resolve()) for p in paths], now=now,
                      workers=settings.intake_workers, ocmw=ocmw, imported_by=imported_by)
    return IntakeSummary.from_json(result)


def run_sweep(settings: Settings, *, now: datetime) -> dict[str, Any]:
    """One sweep flow run: notifications and at-risk flags for `now`, then delivery."""
    prepare_prefect(settings, stderr_say)
    from workflows.sweep import sweep_flow

    return run_flow(sweep_flow, now=now)


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
