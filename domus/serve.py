"""`domus serve`: the embedded product in one process — the web app (uvicorn) and the
in-process scheduler (APScheduler) that runs the sweep every few minutes and the digest at
07:30 Europe/Brussels on weekdays (the digest itself skips legal holidays and closures).

The sweep is safe to run from here and from a Prefect deployment at once: its writes are
keyed and delivery claims rows before sending (services/sweep.py, services/delivery.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from domain.values import BRUSSELS
from domus.bootstrap import bootstrap, prepare_prefect, stderr_say
from domus.settings import Settings

log = logging.getLogger("domus.scheduler")
DIGEST_TRIGGER = {"day_of_week": "mon-fri", "hour": 7, "minute": 30}


def now_in_brussels() -> datetime:
    return datetime.now(BRUSSELS).replace(tzinfo=None, microsecond=0)


def build_scheduler(settings: Settings, *, sweep: Callable[[], object],
                    digest: Callable[[], object], start_now: bool = True) -> BackgroundScheduler:
    """The two jobs; a job that is still running is not started a second time, and runs
    missed while the machine slept are folded into one."""
    scheduler = BackgroundScheduler(timezone=BRUSSELS)
    first = {"next_run_time": datetime.now(BRUSSELS)} if start_now else {}
    scheduler.add_job(sweep, IntervalTrigger(minutes=settings.sweep_minutes, timezone=BRUSSELS),
                      id="sweep", name="deadline sweep", max_instances=1, coalesce=True,
                      misfire_grace_time=None, **first)
    scheduler.add_job(digest, CronTrigger(timezone=BRUSSELS, **DIGEST_TRIGGER), id="digest",
                      name="morning digest", max_instances=1, coalesce=True,
                      misfire_grace_time=3600)
    return scheduler


def _job(run: Callable[..., dict], settings: Settings, name: str) -> Callable[[], None]:
    def job() -> None:
        try:
            report = run(settings, now=now_in_brussels())
            log.info("%s: %s", name, report)
        except Exception:  # a failed run is logged; the next one tries again
            log.exception("%s failed", name)
    return job


def serve(settings: Settings, *, host: str, port: int) -> None:
    import uvicorn

    from domus.jobs import run_digest, run_sweep
    from web.app import create_app

    domus = bootstrap(settings)
    prepare_prefect(settings, stderr_say)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    scheduler = build_scheduler(settings, sweep=_job(run_sweep, settings, "sweep"),
                                digest=_job(run_digest, settings, "digest"))
    scheduler.start()
    stderr_say(f"Domus on http://{host}:{port} — sweep every {settings.sweep_minutes} min, "
               "digest at 07:30 on weekdays")
    try:
        uvicorn.run(create_app(domus), host=host, port=port, log_level="warning")
    finally:
        scheduler.shutdown(wait=False)
