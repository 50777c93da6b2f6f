"""`domus serve`: the embedded product in one process — the web app (uvicorn) and the
in-process scheduler (APScheduler) that runs the sweep every few minutes and the digest at
07:30 Europe/Brussels on weekdays (the digest itself skips legal holidays and closures).

The sweep is safe to run from here and from a Prefect deployment at once: its writes are
keyed and delivery claims rows before sending (services/sweep.py, services/delivery.py).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import event

from domain.values import BRUSSELS
from domus.bootstrap import bootstrap, prepare_prefect, stderr_say
from domus.logging import configure_logging
from domus.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

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


#: page requests `domus serve` runs at once (anyio's thread pool; the others wait their turn
#: in the event loop). A page's queries hand the GIL back and forth: with anyio's default of
#: 40 threads, 20 busy clients made the process spend a third of its CPU in the kernel
#: switching threads (bench/web.py: p95 150-180 ms against 90-100 ms with 4). No page holds
#: a thread for long: intake runs in the background, letters are made in milliseconds.
SERVE_THREADS = 4
#: SQLite's page cache per connection in a web process (KiB): intake's 32 MB (store/db.py)
#: is for the unique indexes of a growing file; pages read random cases, which the
#: operating system's file cache holds anyway. With 32 MB, each pooled connection's cache
#: kept filling with the 100,000 cases for many minutes (bench/load.py: each web process
#: grew to about 300 MB in ten minutes, against 165 MB with 4 MB and no loss of speed).
#: An upload ingested by the web process itself gets the smaller cache too.
SERVE_SQLITE_CACHE_KIB = 4 * 1024
#: SQLite's memory in all of a web process's connections together (bytes; a soft limit:
#: past it SQLite recycles cache pages before taking more). With 4 MB per connection alone,
#: the caches of the pooled connections kept filling with the pages of random cases for
#: the whole ten minutes of bench/load.py (SQLite's own count, bench/memprobe: 17 → 20 MB
#: over both processes, most of the heap's growth that was left); the cap makes that a
#: plateau reached in minutes.
SERVE_SQLITE_HEAP_BYTES = 8 * 2**20


def tune_for_serving(app: FastAPI) -> FastAPI:
    """What `domus serve` does to the app before it serves: at most SERVE_THREADS page
    requests at once, and what start-up built (modules, rules, the app) moved out of the
    garbage collector's sight: it lives as long as the process, and each full collection
    walked it again (a 30-50 ms pause every few dozen page requests)."""

    async def limit_threads() -> None:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = SERVE_THREADS

    app.router.on_startup.append(limit_threads)
    engine = app.state.domus.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _serving_cache)  # after store.db's pragmas
        engine.dispose()  # the connections start-up opened get the smaller cache too
    gc.collect()
    gc.freeze()
    return app


def _serving_cache(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA cache_size=-{SERVE_SQLITE_CACHE_KIB}")
    cursor.execute(f"PRAGMA soft_heap_limit={SERVE_SQLITE_HEAP_BYTES}")  # the process's
    cursor.close()


def serve(settings: Settings, *, host: str, port: int) -> None:
    import uvicorn

    from domus.jobs import run_digest, run_sweep
    from web.app import create_app

    domus = bootstrap(settings)
    prepare_prefect(settings, stderr_say)
    configure_logging(settings.log_format)
    scheduler = build_scheduler(settings, sweep=_job(run_sweep, settings, "sweep"),
                                digest=_job(run_digest, settings, "digest"))
    if settings.watch_dir:  # DOMUS_WATCH_DIR: notice files dropped there are ingested
        from domus.watch import watch_job

        scheduler.add_job(watch_job(settings), IntervalTrigger(seconds=settings.watch_seconds),
                          id="watch", name="watched folder", max_instances=1, coalesce=True)
    scheduler.start()
    stderr_say(f"Domus on http://{host}:{port} ({settings.web_processes} web process(es)) — "
               f"sweep every {settings.sweep_minutes} min, digest at 07:30 on weekdays")
    processes = settings.web_processes
    try:
        if processes == 1:
            uvicorn.run(tune_for_serving(create_app(domus)), host=host, port=port,
                        log_level="warning")
        else:
            serve_processes(settings, host=host, port=port, processes=processes)
    finally:
        scheduler.shutdown(wait=False)


def serve_processes(settings: Settings, *, host: str, port: int, processes: int) -> None:
    """The web app in `processes` processes, each with a listening socket of its own on the
    same port (SO_REUSEPORT: the kernel spreads the connections over them); the scheduler
    stays in this one. uvicorn's own `--workers` shares one socket, which left one process
    serving every keep-alive connection and Nagle on (~40 ms per request; bench/web.py)."""
    import multiprocessing
    import signal

    spawn = multiprocessing.get_context("spawn")
    data = settings.model_dump(mode="json")
    children = [spawn.Process(target=_serve_process, args=(data, host, port),
                              name=f"domus web {n + 1}") for n in range(processes)]
    for child in children:
        child.start()

    def stop(*_: object) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()  # SIGTERM: uvicorn finishes its requests and stops

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            child.join()
    finally:
        stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve_process(settings_data: dict[str, object], host: str, port: int) -> None:
    import socket

    import uvicorn

    from web.app import create_app

    settings = Settings(**settings_data)
    configure_logging(settings.log_format)
    app = tune_for_serving(create_app(bootstrap(settings)))
    # IPPROTO_TCP named: asyncio turns Nagle off only on sockets that say so (with proto 0
    # every keep-alive answer waited ~40 ms for a delayed ACK)
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                             socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(2048)
    config = uvicorn.Config(app, log_level="warning")
    uvicorn.Server(config).run(sockets=[listener])
