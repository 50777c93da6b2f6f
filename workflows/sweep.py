"""The deadline sweep and the morning digest as Prefect flows: one flow run per sweep.

Each flow has two coarse tasks: one transaction that writes the notifications and flags
(re-runnable: every row is keyed), then the delivery of the outbox. `now` is a parameter,
so a sweep can be replayed for any moment and the same `now` twice sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from prefect import flow, task

from domus.bootstrap import current
from services.delivery import deliver_outbox
from services.sweep import record_digests, record_sweep
from workflows.runtime import moment, publish


@task(name="record-notifications", retries=2, retry_delay_seconds=5)
def record(now: datetime) -> dict[str, int]:
    domus = current()
    with domus.engine.begin() as connection:
        return record_sweep(connection, domus.rules, now).as_json()


@task(name="record-digests", retries=2, retry_delay_seconds=5)
def digests(now: datetime) -> int:
    domus = current()
    with domus.engine.begin() as connection:
        return record_digests(connection, domus.rules, now)


@task(name="deliver-outbox")
def deliver(now: datetime) -> dict[str, int]:
    domus = current()
    return deliver_outbox(domus.engine, domus.rules, domus.delivery(), now=now).as_json()


@flow(name="sweep", log_prints=False, persist_result=False)
def sweep_flow(now: datetime | None = None) -> dict[str, Any]:
    """Overdue and escalation notifications, at-risk flags, then delivery; for `now`
    (Europe/Brussels wall time), by default the moment the run starts (a scheduled run)."""
    now = moment(now)
    report = {"now": now.isoformat(), **record(now), "delivery": deliver(now)}
    publish(report)
    return report


@flow(name="digest", log_prints=False, persist_result=False)
def digest_flow(now: datetime | None = None) -> dict[str, Any]:
    """Each caseworker's tasks for the day (working days; scheduled at 07:30 Brussels)."""
    now = moment(now)
    report = {"now": now.isoformat(), "digests": digests(now), "delivery": deliver(now)}
    publish(report)
    return report


@task(name="replay-sweeps")
def replay(moments: Sequence[datetime], digest_at: Sequence[datetime]) -> list[dict[str, Any]]:
    """Sweeps (and digests) for a series of moments, in order, in one task."""
    domus = current()
    reports = []
    for now in sorted({*moments, *digest_at}):
        with domus.engine.begin() as connection:
            counts = record_sweep(connection, domus.rules, now).as_json()
            counts["digests"] = (record_digests(connection, domus.rules, now)
                                 if now in digest_at else 0)
        delivered = deliver_outbox(domus.engine, domus.rules, domus.delivery(), now=now)
        reports.append({"now": now.isoformat(), **counts, "delivery": delivered.as_json()})
    return reports


@flow(name="sweep-replay", log_prints=False, persist_result=False)
def replay_flow(moments: list[datetime], digest_at: list[datetime]) -> list[dict[str, Any]]:
    """Many sweeps in one flow run (the demo's simulated month, catching up after an
    outage): the same services as `sweep_flow`, moment by moment."""
    return replay(moments, digest_at)
