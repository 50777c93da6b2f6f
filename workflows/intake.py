"""The intake flow: one flow run per batch of notice files, a few coarse tasks per file.

The work is in `services.intake` (plain functions, committed chunk by chunk); the flow
only sequences it. Prefect's per-task overhead is milliseconds, so never a task per notice.
A large file is split by procedure into `workers` partitions that run in parallel
processes; a small one runs in this process (starting processes would cost more).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.task_runners import ProcessPoolTaskRunner

from domus.bootstrap import current
from services.intake import ingest_source
from services.readers import inspect_file
from services.summary import IntakeSummary
from workflows.runtime import moment

#: below this size a file is ingested in one process (about 6,000 notices)
PARALLEL_FROM_BYTES = 4 * 1024 * 1024


@task(name="ingest-file", retries=0)
def ingest_file(path: str, now: datetime, part: int = 0, parts: int = 1,
                ocmw: str | None = None, imported_by: str | None = None) -> dict[str, Any]:
    """Ingest partition `part` of `parts` of one file in committed chunks, imported by the
    person with e-mail `imported_by` of OCMW `ocmw` (both None: the local operator)."""
    domus = current()
    summary = ingest_source(domus.engine, inspect_file(Path(path)), rules=domus.rules,
                            now=now, chunk_size=domus.settings.chunk_size, part=part,
                            parts=parts, owner=(ocmw, imported_by))
    return summary.to_json()


@flow(name="intake", log_prints=False, validate_parameters=True,
      task_runner=ProcessPoolTaskRunner())
def intake_flow(paths: list[str], now: datetime | None = None, workers: int = 1,
                parallel_from_bytes: int = PARALLEL_FROM_BYTES, ocmw: str | None = None,
                imported_by: str | None = None) -> dict[str, Any]:
    """Ingest the notice files `paths` received at `now` (Europe/Brussels wall time; by
    default when the run starts), imported by `imported_by` of OCMW `ocmw` (an
    administrator on the web; None from the command line: the local operator).

    Each file's summary is also written to its `batches` row(s): a client that submitted
    this run to a worker reads it back from there (domus/jobs.py). On a worker, `paths`
    are read where the worker runs: a folder every machine shares (DOMUS_DATA_DIR)."""
    now = moment(now)
    total = IntakeSummary()
    for path in paths:
        parts = workers if workers > 1 and Path(path).stat().st_size >= parallel_from_bytes else 1
        if parts == 1:
            results = [ingest_file(path, now, ocmw=ocmw, imported_by=imported_by)]
        else:
            futures = [ingest_file.submit(path, now, part, parts, ocmw, imported_by)
                       for part in range(parts)]
            results = [future.result() for future in futures]
        for result in results:
            total.add(IntakeSummary.from_json(result))
    return total.to_json()
