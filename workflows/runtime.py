"""What a flow needs to know about how it was started: by a person (who gives `now`) or by a
schedule on the Prefect server (nobody does, so the moment is read when the run starts,
never when it was deployed), in this process or on a worker elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.values import BRUSSELS

#: the artifact type under which a deployed run leaves its report (domus/deploy.py reads it)
REPORT_ARTIFACT = "domus-report"


def moment(now: datetime | None) -> datetime:
    """`now` as given, else the wall-clock time in Brussels now (whole seconds, naive, as
    every moment Domus stores)."""
    if now is not None:
        return now
    return datetime.now(BRUSSELS).replace(tzinfo=None, microsecond=0)


def publish(report: dict[str, Any]) -> None:
    """Leave the run's report on the Prefect server when the run belongs to a deployment:
    whoever submitted it (`domus sweep` on another machine) reads it back there, and
    operators see it in the Prefect UI. Counts only: never personal data. A run started in
    this process returns its report and publishes nothing."""
    from prefect.runtime import deployment

    if deployment.id is None:
        return
    from prefect.artifacts import Artifact

    Artifact(type=REPORT_ARTIFACT, data=report, description="Domus: the run's report").create()
