"""Domus's flows as Prefect deployments on a server (`domus deploy`), and runs submitted to
them (`domus ingest`, `domus sweep`, the web import and the watched folder).

The deployments run on a *process* work pool: a worker (`prefect worker start --pool
domus`) runs each flow run in a subprocess, in the repository folder that `domus deploy`
names (`--folder`, by default this checkout). Every machine with a worker therefore has the
same checkout at the same path, the same Python environment, the same DOMUS_* settings and
the shared data folder (DOMUS_DATA_DIR): notice files and letters are read and written
there by whichever worker takes the run.

A scheduled run starts with no person to give it a moment: its flow reads the clock when
it starts (workflows/runtime.py), never when it was deployed. Deploying again updates the
deployments and their schedules (keyed by name and slug), never duplicates them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.values import BRUSSELS
from domus.bootstrap import ConfigurationError, stderr_say
from domus.settings import Settings

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun
    from prefect.schedules import Schedule

#: the checkout this module belongs to (the default `--folder`)
CHECKOUT = Path(__file__).resolve().parents[1]
DEFAULT_POOL = "domus"
TIMEZONE = "Europe/Brussels"
#: seconds in Scheduled/Pending after which the client says no worker seems to be running
WAITING_HINT_SECONDS = 30


class RunFailed(Exception):
    """A submitted flow run ended Failed, Crashed or Cancelled; the message says which."""


class ServerError(Exception):
    """The Prefect server could not be reached or refused a request."""


@contextmanager
def talking_to_server() -> Iterator[None]:
    """Network and HTTP failures as one ServerError naming the server."""
    import httpx
    from prefect.exceptions import PrefectHTTPStatusError

    try:
        yield
    except (httpx.HTTPError, PrefectHTTPStatusError, OSError) as exc:
        raise ServerError(f"Prefect server {api_url()}: {exc or type(exc).__name__}") from None


@dataclass(frozen=True)
class Spec:
    """One deployment: its flow, where the flow lives, when it runs and with what."""

    flow: str
    entrypoint: str
    when: str  # the schedule, as a person reads it
    schedules: list[Schedule] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"domus-{self.flow}"

    @property
    def full_name(self) -> str:
        return f"{self.flow}/{self.name}"


def specs(settings: Settings) -> list[Spec]:
    """The five deployments (`now` is never a parameter: each run reads its clock)."""
    from prefect.schedules import Cron, Interval

    minutes = settings.sweep_minutes
    anchor = datetime(2026, 1, 1, tzinfo=BRUSSELS)  # sweeps fall on whole multiples of it
    return [
        Spec("intake", "workflows/intake.py:intake_flow",
             "on demand (domus ingest, the web import, the watched folder)"),
        Spec("sweep", "workflows/sweep.py:sweep_flow", f"every {minutes} minutes",
             [Interval(timedelta(minutes=minutes), anchor, timezone=TIMEZONE,
                       slug="domus-sweep")]),
        Spec("digest", "workflows/sweep.py:digest_flow", "07:30 Monday to Friday",
             [Cron("30 7 * * 1-5", timezone=TIMEZONE, slug="domus-digest")]),
        Spec("letters", "workflows/letters.py:letters_flow",
             "07:00 Monday to Friday: letters due up to that day, into "
             "DOMUS_DATA_DIR/letters/batch/<day>",
             [Cron("0 7 * * 1-5", timezone=TIMEZONE, slug="domus-letters")]),
        Spec("monthly-report", "workflows/monitoring.py:report_flow",
             "06:00 on the 1st: last month, every OCMW with cases, into "
             "DOMUS_DATA_DIR/reports/<month>/",
             [Cron("0 6 1 * *", timezone=TIMEZONE, slug="domus-monthly-report")]),
        Spec("retention", "workflows/retention.py:retention_flow",
             "03:00 every day: closed cases past DOMUS_RETENTION_YEARS pseudonymised",
             [Cron("0 3 * * *", timezone=TIMEZONE, slug="domus-retention")]),
    ]


def api_url() -> str | None:
    """The Prefect server Domus talks to (PREFECT_API_URL, from the environment or the
    Prefect profile); None without one (flows then run in this process)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def register(settings: Settings, *, pool: str = DEFAULT_POOL,
             folder: Path = CHECKOUT) -> list[dict[str, Any]]:
    """Create or update the deployments on the server, and the process work pool they
    run on when it is missing; what was registered, one dict each."""
    url = api_url()
    if not url:
        raise ConfigurationError("PREFECT_API_URL is not set: point it at the Prefect "
                                 "server, e.g. http://127.0.0.1:4200/api")
    with talking_to_server():
        ensure_pool(pool)
        return [_apply(spec, pool, folder.resolve()) | {"server": url}
                for spec in specs(settings)]


def _apply(spec: Spec, pool: str, folder: Path) -> dict[str, Any]:
    from prefect import Flow
    from prefect.runner.storage import LocalStorage

    flow = Flow.from_source(source=str(CHECKOUT), entrypoint=spec.entrypoint)
    deployment = flow.to_deployment(
        name=spec.name, work_pool_name=pool, schedules=spec.schedules,
        parameters=spec.parameters, tags=["domus"], description=f"Domus: {spec.when}")
    if folder != CHECKOUT:  # the workers' checkout is elsewhere (e.g. /app in Docker)
        deployment.storage = LocalStorage(str(folder))
    return {"deployment": spec.full_name, "id": str(deployment.apply()), "work_pool": pool,
            "entrypoint": spec.entrypoint, "folder": str(folder), "schedule": spec.when,
            "parameters": spec.parameters}


def ensure_pool(pool: str) -> None:
    """The process work pool `pool`, created when missing; another kind is refused."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            found = client.read_work_pool(pool)
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            with suppress(ObjectAlreadyExists):  # a worker made it at the same moment
                client.create_work_pool(WorkPoolCreate(name=pool, type="process",
                                                       base_job_template=template))
            return
    if found.type != "process":
        raise ConfigurationError(f"work pool {pool!r} is of type {found.type!r}; Domus's "
                                 "deployments need a process pool: choose another --pool")


def deployed(flow: str) -> str | None:
    """The deployment of `flow` ("intake") to submit runs to: its name when a Prefect
    server is set and Domus was deployed there, else None (the run is made in this
    process, as without a server)."""
    if not api_url():
        return None
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    name = f"{flow}/domus-{flow}"
    with talking_to_server(), get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(name)
        except ObjectNotFound:
            return None
    return name


def submit(name: str, parameters: dict[str, Any], poll: float = 0.5) -> FlowRun:
    """Submit a run of deployment `name` and wait until it ends; RunFailed unless it
    completed. When no worker took it for a while, say so once on stderr."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    with talking_to_server():
        run = run_deployment(name=name, parameters=parameters, timeout=0, as_subflow=False)
        started, hinted = time.monotonic(), False
        with get_client(sync_client=True) as client:
            while not (run.state and run.state.is_final()):
                time.sleep(poll)
                run = client.read_flow_run(run.id)
                if not hinted and _unclaimed(run, time.monotonic() - started):
                    hinted = True
                    stderr_say(f"flow run {run.name} of {name} still waits for a worker: "
                               "is `prefect worker start --pool ...` running?")
    state = run.state
    assert state is not None
    if not state.is_completed():
        raise RunFailed(f"flow run {run.name} of {name}: {state.name}: "
                        f"{state.message or 'no message'}")
    return run


def _unclaimed(run: FlowRun, waited: float) -> bool:
    return (waited > WAITING_HINT_SECONDS and run.state is not None
            and run.state.type.value in ("SCHEDULED", "PENDING"))


def report_of(run_id: UUID) -> Any:
    """The report a deployed run published (workflows/runtime.py), or None."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterType,
        FlowRunFilter,
        FlowRunFilterId,
    )

    from workflows.runtime import REPORT_ARTIFACT

    with talking_to_server(), get_client(sync_client=True) as client:
        found = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
            artifact_filter=ArtifactFilter(type=ArtifactFilterType(any_=[REPORT_ARTIFACT])))
    if not found:
        return None
    data = found[-1].data  # the server hands it back as JSON text
    return json.loads(data) if isinstance(data, str) else data
