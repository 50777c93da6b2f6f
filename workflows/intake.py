"""The intake flow: one flow run per batch of notice files, one coarse task per file.

The work is in `services.intake` (plain functions, committed chunk by chunk); the flow
only sequences it. Prefect's per-task overhead is milliseconds, so never a task per notice.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, task

from domus.bootstrap import current
from services.intake import Progress, ingest_source
from services.readers import inspect_file
from services.summary import IntakeSummary

#: set by an entry point that shows a progress bar; carried into the task by context
PROGRESS: ContextVar[Progress | None] = ContextVar("domus_intake_progress", default=None)


@task(name="ingest-file", retries=0)
def ingest_file(path: str, now: datetime) -> dict[str, Any]:
    """Ingest one file in committed chunks and return its summary."""
    domus = current()
    source = inspect_file(Path(path))
    summary = ingest_source(domus.engine, source, rules=domus.rules, now=now,
                            chunk_size=domus.settings.chunk_size, progress=PROGRESS.get())
    return summary.to_json()


@flow(name="intake", log_prints=False, validate_parameters=True)
def intake_flow(paths: list[str], now: datetime) -> dict[str, Any]:
    """Ingest the notice files `paths` received at `now` (Europe/Brussels wall time)."""
    total = IntakeSummary()
    for path in paths:
        total.add(IntakeSummary.from_json(ingest_file(path, now)))
    return total.to_json()
