"""`domus serve`'s parts: the calendar feed behind a secret, revocable token, and the
scheduler's two jobs (sweep every few minutes, digest at 07:30 Brussels on weekdays)."""

from __future__ import annotations

import threading
from datetime import datetime

from fastapi.testclient import TestClient

from domain.values import BRUSSELS
from domus.bootstrap import Domus
from domus.serve import build_scheduler
from services.users import issue_token, revoke_tokens
from tests.builders import petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest, user
from web.app import create_app


def test_the_calendar_feed_answers_only_a_live_token(domus: Domus, tmp_path) -> None:  # type: ignore[no-untyped-def]
    user(domus, "an@ocmw.be")
    user(domus, "mo@region.brussels", role="monitor", ocmw=None)
    ingest(domus, tmp_path / "a.jsonl", [petition("26A1")])
    client = TestClient(create_app(domus))
    token = issue_token(domus.engine, "an@ocmw.be", kind="calendar", now=NOW,
                        revoke_others=True)
    answer = client.get(f"/calendar/{token}.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert answer.content.count(b"BEGIN:VEVENT") >= 6  # the tasks and the hearing
    assert b"26A1" in answer.content
    newer = issue_token(domus.engine, "an@ocmw.be", kind="calendar", now=NOW,
                        revoke_others=True)
    assert client.get(f"/calendar/{token}.ics").status_code == 404  # replaced
    assert client.get(f"/calendar/{newer}.ics").status_code == 200
    revoke_tokens(domus.engine, "an@ocmw.be", kind="calendar", now=NOW)
    assert client.get(f"/calendar/{newer}.ics").status_code == 404
    api = issue_token(domus.engine, "an@ocmw.be", kind="api", now=NOW)
    assert client.get(f"/calendar/{api}.ics").status_code == 404  # an API token is no feed
    monitor = issue_token(domus.engine, "mo@region.brussels", kind="calendar", now=NOW)
    assert client.get(f"/calendar/{monitor}.ics").status_code == 404
    assert client.get("/healthz").json() == {"status": "ok"}


def test_api_tokens_name_their_user_until_revoked(domus: Domus) -> None:
    from services.users import user_for_token

    user(domus, "an@ocmw.be")
    token = issue_token(domus.engine, "An@OCMW.be", kind="api", now=NOW)
    with domus.engine.connect() as connection:
        found = user_for_token(connection, token, kind="api")
        assert found is not None and found.actor().ocmw == "21015"
        assert user_for_token(connection, token, kind="calendar") is None
        assert user_for_token(connection, token + "x", kind="api") is None
    revoke_tokens(domus.engine, "an@ocmw.be", kind="api", now=NOW)
    with domus.engine.connect() as connection:
        assert user_for_token(connection, token, kind="api") is None


def test_the_digest_fires_at_half_past_seven_in_brussels_on_weekdays(domus: Domus) -> None:
    scheduler = build_scheduler(domus.settings, sweep=lambda: None, digest=lambda: None,
                                start_now=False)
    trigger = scheduler.get_job("digest").trigger
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=BRUSSELS)
    fire = trigger.get_next_fire_time(None, saturday)
    assert fire.replace(tzinfo=None) == datetime(2026, 11, 30, 7, 30)
    assert fire.utcoffset().total_seconds() == 3600  # CET in winter
    summer = trigger.get_next_fire_time(None, datetime(2027, 6, 1, 8, 0, tzinfo=BRUSSELS))
    assert summer.replace(tzinfo=None) == datetime(2027, 6, 2, 7, 30)
    sweep = scheduler.get_job("sweep").trigger
    assert sweep.interval.total_seconds() == domus.settings.sweep_minutes * 60


def test_the_scheduler_runs_the_sweep_at_start(domus: Domus) -> None:
    ran = threading.Event()
    scheduler = build_scheduler(domus.settings, sweep=ran.set, digest=lambda: None)
    scheduler.start()
    try:
        assert ran.wait(10)
    finally:
        scheduler.shutdown(wait=False)


def test_a_web_process_keeps_a_small_sqlite_page_cache_per_connection(domus: Domus) -> None:
    """Intake's 32 MB cache per connection made the web processes grow for many minutes
    under load (bench/load.py); `domus serve` gives its connections a small one, and caps
    SQLite's memory in the process (a soft heap limit, process-wide: reset afterwards, so
    the rest of this test session runs as before)."""
    from sqlalchemy import event

    from domus.serve import (
        SERVE_SQLITE_CACHE_KIB,
        SERVE_SQLITE_HEAP_BYTES,
        _serving_cache,
        tune_for_serving,
    )
    from store.db import SQLITE_CACHE_KIB

    def cache_size() -> tuple[int, int]:
        with domus.engine.connect() as connection:
            return (connection.exec_driver_sql("PRAGMA cache_size").scalar(),
                    connection.exec_driver_sql("PRAGMA soft_heap_limit").scalar())

    sqlite = domus.engine.dialect.name == "sqlite"
    before = cache_size() if sqlite else None
    tune_for_serving(create_app(domus, clock=lambda: NOW))
    if sqlite:
        assert before is not None and before[0] == -SQLITE_CACHE_KIB
        try:
            assert cache_size() == (-SERVE_SQLITE_CACHE_KIB, SERVE_SQLITE_HEAP_BYTES)
        finally:
            with domus.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA soft_heap_limit=0")
    else:  # PostgreSQL's cache is the server's own: nothing to change
        assert not event.contains(domus.engine, "connect", _serving_cache)
