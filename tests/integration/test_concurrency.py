"""Several workers at once on PostgreSQL (issue 7): intake batches, sweeps and deliveries run
in parallel processes (spawned, released together at a barrier, several rounds each) and
store, notify and send everything exactly once — what one worker alone would have done."""

from __future__ import annotations

import json
import multiprocessing
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text, update

from domain.notices import NoticeInvalid, validate_notice
from domus.bootstrap import Domus, bootstrap
from domus.demo_data import generate_notices
from domus.demo_data import write_jsonl as write_demo
from domus.settings import Settings
from services.delivery import Delivery, deliver_outbox, message_id_for
from services.intake import ingest_source
from services.readers import inspect_file
from services.sweep import record_sweep
from store import tables as t
from tests.builders import judgment, petition, write_jsonl
from tests.conftest import NOW, _postgres_database
from tests.integration.test_sweep import user
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.postgres

MONDAY = datetime(2026, 11, 9, 8, 0)  # tasks due and overdue, hearings of 11-13 at risk
ROUNDS = 3
CHUNK = 10  # small chunks: many transactions to interleave
ANDERLECHT = {"dwelling__postcode": "1070", "dwelling__municipality": "Anderlecht"}


# -- the worker processes -----------------------------------------------------------------
_BUILT: dict[str, Domus] = {}


def _job(kind: str, url: str, data_dir: str, barrier: Any, argument: Any) -> dict[str, Any]:
    """One worker's share of a round: bootstrap, wait for the others, then ingest, sweep
    or deliver. Errors come back as text (a database error may not survive pickling)."""
    try:
        if url not in _BUILT:
            _BUILT[url] = bootstrap(Settings(database_url=url, data_dir=Path(data_dir)))
        domus = _BUILT[url]
        barrier.wait()
        try:
            return {"kind": kind, **_work(domus, kind, argument)}
        finally:
            domus.engine.dispose()
    except Exception:  # noqa: BLE001 — reported to the test, which fails on it
        return {"kind": kind, "error": traceback.format_exc()}


def _work(domus: Domus, kind: str, argument: Any) -> dict[str, Any]:
    if kind == "ingest":
        path, chunk_size = argument
        return ingest_source(domus.engine, inspect_file(Path(path)), rules=domus.rules,
                             now=NOW, chunk_size=chunk_size).to_json()
    if kind == "sweep":
        with domus.engine.begin() as connection:
            return record_sweep(connection, domus.rules, argument).as_json()
    smtp_url, now = argument
    return deliver_outbox(domus.engine, domus.rules, mail_to(smtp_url), now=now).as_json()


def mail_to(smtp_url: str) -> Delivery:
    return Delivery(smtp_url, "domus@ocmw.example", "https://domus.example", attempts=2,
                    backoff_seconds=0.0)


class Workers:
    """A pool of four spawned processes; `run` starts a round of jobs at one barrier."""

    def __init__(self, pool: Any, manager: Any) -> None:
        self.pool, self.manager = pool, manager

    def run(self, url: str, data_dir: Path,
            jobs: list[tuple[str, Any]]) -> list[dict[str, Any]]:
        barrier = self.manager.Barrier(len(jobs), timeout=120)
        results = self.pool.starmap(
            _job, [(kind, url, str(data_dir), barrier, arg) for kind, arg in jobs], chunksize=1)
        errors = [r["error"] for r in results if "error" in r]
        assert not errors, "\n".join(errors)
        return results


@pytest.fixture(scope="module")
def workers() -> Iterator[Workers]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(4) as pool:
        yield Workers(pool, manager)


@pytest.fixture
def databases() -> Iterator[Callable[[], str]]:
    """Makes fresh PostgreSQL databases (dropped at the end)."""
    made: list[Iterator[str]] = []

    def make() -> str:
        made.append(_postgres_database())
        return next(made[-1])

    yield make
    for database in made:
        next(database, None)


@pytest.fixture
def open_domus(tmp_path: Path) -> Iterator[Callable[[str], Domus]]:
    opened: list[Domus] = []

    def open_(url: str) -> Domus:
        opened.append(bootstrap(Settings(database_url=url, data_dir=tmp_path / "data")))
        return opened[-1]

    yield open_
    for domus in opened:
        domus.engine.dispose()


# -- what the database holds ----------------------------------------------------------------
def snapshot(engine: Engine, *, people: bool = True) -> dict[tuple[str, str], dict[str, Any]]:
    """Each case (by court and docket) with its dates, status, flags, notices and tasks,
    and with `people` its caseworker and who holds each task (the least loaded caseworker
    gets a new case: that depends on the order in which cases arrive)."""
    tasks, flags, notices = t.tasks.c, t.flags.c, t.notices.c
    with engine.connect() as connection:
        found = {row.id: {"key": (row.court, row.docket_number), "status": row.status,
                          "ocmw": row.ocmw, "hearing_at": row.hearing_at,
                          "earliest_eviction_on": row.earliest_eviction_on,
                          "eviction_at": row.eviction_at,
                          "caseworker": row.caseworker if people else None,
                          "tasks": {}, "flags": {}, "notices": set()}
                 for row in connection.execute(select(t.cases))}
        for row in connection.execute(select(tasks.case_id, tasks.kind, tasks.due_on,
                                             tasks.status, tasks.assignee)):
            found[row.case_id]["tasks"][row.kind] = (row.due_on, row.status,
                                                     row.assignee if people else None)
        for row in connection.execute(select(flags.case_id, flags.code, flags.detail)):
            found[row.case_id]["flags"][row.code] = row.detail
        for case_id, fingerprint in connection.execute(select(notices.case_id,
                                                              notices.fingerprint)):
            found[case_id]["notices"].add(fingerprint)
    return {case.pop("key"): case for case in found.values()}


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table).where(*where)) or 0


def receipts_per_file(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(select(t.receipts.c.source_sha256, func.count())
                                       .group_by(t.receipts.c.source_sha256)).all())


def totals(summaries: list[dict[str, Any]]) -> dict[str, int]:
    names = ("received", "created", "updated", "duplicates", "triage")
    return {name: sum(s[name] for s in summaries) for name in names} | {
        "quarantined": sum(len(s["quarantined"]) for s in summaries)}


def wipe(engine: Engine) -> None:
    """Everything but the users: the next round starts from an empty database."""
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE batches, receipts, cases, outbox "
                                "RESTART IDENTITY CASCADE"))


def team(domus: Domus) -> None:
    """Two caseworkers and a team lead in Schaerbeek; nobody in Anderlecht (its
    notifications are held)."""
    user(domus, "an@ocmw.be")
    user(domus, "bo@ocmw.be", language="fr")
    user(domus, "lea@ocmw.be", role="team_lead", language="fr")


def ingest(domus: Domus, path: Path, chunk_size: int = CHUNK) -> dict[str, Any]:
    return ingest_source(domus.engine, inspect_file(path), rules=domus.rules, now=NOW,
                         chunk_size=chunk_size).to_json()


# -- 1. intake ------------------------------------------------------------------------------
@pytest.mark.parametrize("processes", [2, 4])
def test_workers_ingesting_the_same_file_at_once_store_what_one_worker_stores(
        workers: Workers, databases: Callable[[], str], open_domus: Callable[[str], Domus],
        tmp_path: Path, processes: int) -> None:
    path = tmp_path / "notices.jsonl"
    records = write_demo(generate_notices(240, seed=7, start=date(2026, 9, 1), days=60), path)
    alone = open_domus(databases())
    team(alone)
    sequential = [ingest(alone, path) for _ in range(processes)]  # one worker, n times
    expected = snapshot(alone.engine)
    assert totals(sequential)["updated"] > 0 and totals(sequential)["quarantined"] > 0
    shared = open_domus(databases())
    team(shared)
    for _ in range(ROUNDS):
        wipe(shared.engine)
        summaries = workers.run(shared.engine.url.render_as_string(False), tmp_path / "data",
                                [("ingest", (str(path), CHUNK))] * processes)
        assert snapshot(shared.engine) == expected
        assert totals(summaries) == totals(sequential)  # created once, duplicates after
        assert [s["received"] for s in summaries] == [records] * processes
        assert receipts_per_file(shared.engine) == {inspect_file(path).sha256: records}
        for table in (t.notices, t.quarantine, t.triage, t.tasks):
            assert count(shared.engine, table) == count(alone.engine, table), table.name


def overlapping_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Cases known before (each file updates them: a judgment in one, a postponed hearing
    in the other), new cases opened in one file and followed up in the other (a judgment
    without a dwelling, a postponed hearing), and notices that come in both files."""
    postponed = {"hearing_at": "2027-01-14T09:30:00", "received_on": "2026-11-16"}
    late = {"judgment_on": "2027-01-20", "served_on": "2027-01-22", "received_on": "2027-01-25"}
    known = [petition(f"26K{n}") for n in range(30)]
    shared = [petition(f"26S{n}", hearing_at="2026-11-13T09:30:00") for n in range(20)]
    first = ([judgment(f"26K{n}", **late) for n in range(30)]
             + [petition(f"26N{n}") for n in range(30)] + shared
             + [petition(f"26A{n}", **ANDERLECHT) for n in range(5)])
    second = ([petition(f"26K{n}", **postponed) for n in range(30)]
              + [judgment(f"26N{n}") if n % 2 else petition(f"26N{n}", **postponed)
                 for n in range(30)] + shared[::-1] + [{"kind": "petition"}])
    return (write_jsonl(tmp_path / "known.jsonl", known),
            write_jsonl(tmp_path / "first.jsonl", first),
            write_jsonl(tmp_path / "second.jsonl", second))


@pytest.mark.parametrize("processes", [2, 4])
def test_workers_ingesting_overlapping_files_at_once_agree_with_one_worker_case_for_case(
        workers: Workers, databases: Callable[[], str], open_domus: Callable[[str], Domus],
        tmp_path: Path, processes: int) -> None:
    known, first, second = overlapping_files(tmp_path)
    orders = []  # one worker, the files in either order: each case must match one of them
    for files in ((first, second), (second, first)):
        alone = open_domus(databases())
        team(alone)
        ingest(alone, known)
        for path in files:
            ingest(alone, path)
        orders.append(snapshot(alone.engine, people=False))
    assert orders[0] != orders[1]  # the order matters for some cases: the test can tell
    shared = open_domus(databases())
    team(shared)
    url = shared.engine.url.render_as_string(False)
    files = [first, second] * (processes // 2)
    for _ in range(ROUNDS):
        wipe(shared.engine)
        ingest(shared, known)
        before = (count(shared.engine, t.cases), count(shared.engine, t.notices))
        summaries = workers.run(url, tmp_path / "data",
                                [("ingest", (str(path), CHUNK)) for path in files])
        found = snapshot(shared.engine, people=False)
        assert found.keys() == orders[0].keys() == orders[1].keys()
        for key, case in found.items():
            assert case in (orders[0][key], orders[1][key]), (
                key, [differences(case, order[key]) for order in orders])
        new = totals(summaries)
        assert new["created"] == count(shared.engine, t.cases) - before[0]
        assert new["created"] + new["updated"] == count(shared.engine, t.notices) - before[1]
        assert [s["received"] for s in summaries] == [count_lines(p) for p in files]
        assert receipts_per_file(shared.engine) == {
            inspect_file(p).sha256: count_lines(p) for p in (known, first, second)}
        assert_nothing_lost(shared.engine, [first, second])
        assert_one_caseworker_a_case(shared.engine)


def differences(found: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """What differs between two cases of `snapshot`, as (found, wanted) per field."""
    return {name: (value, wanted[name]) for name, value in found.items()
            if value != wanted[name]}


def assert_one_caseworker_a_case(engine: Engine) -> None:
    """Every open task of a case in Schaerbeek is held by the case's caseworker."""
    with engine.connect() as connection:
        holders = connection.execute(
            select(t.cases.c.docket_number, t.cases.c.caseworker, t.tasks.c.assignee)
            .join(t.tasks, t.tasks.c.case_id == t.cases.c.id)
            .where(t.cases.c.ocmw == "21015", t.tasks.c.status == "open")).all()
    assert holders and all(row.caseworker == row.assignee is not None for row in holders)


def count_lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def assert_nothing_lost(engine: Engine, paths: list[Path]) -> None:
    """Every record of every file is a stored notice or waits in quarantine."""
    with engine.connect() as connection:
        stored = set(connection.scalars(select(t.notices.c.fingerprint)))
        waiting = set(connection.execute(
            select(t.receipts.c.source_sha256, t.receipts.c.record_no)
            .join(t.quarantine, t.quarantine.c.receipt_id == t.receipts.c.id)).tuples())
    for path in paths:
        sha = inspect_file(path).sha256
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            try:
                fingerprint = validate_notice(json.loads(line)).fingerprint()
            except NoticeInvalid:
                fingerprint = None
            assert fingerprint in stored or (sha, number) in waiting, (path.name, number)


# -- 2. sweeps ------------------------------------------------------------------------------
def outbox_rows(engine: Engine) -> list[tuple[Any, ...]]:
    """(reason, docket, task kind, deadline, recipient, status) of every notification."""
    outbox, tasks, cases = t.outbox.c, t.tasks.c, t.cases.c
    with engine.connect() as connection:
        return sorted(connection.execute(
            select(outbox.reason, cases.docket_number, tasks.kind, outbox.due_on,
                   outbox.recipient, outbox.status)
            .join(t.cases, cases.id == outbox.case_id, isouter=True)
            .join(t.tasks, tasks.id == outbox.task_id, isouter=True)).tuples(),
            key=repr)


def at_risk(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        return dict(connection.execute(
            select(t.cases.c.docket_number, t.flags.c.raised_at)
            .join(t.cases, t.cases.c.id == t.flags.c.case_id)
            .where(t.flags.c.code == "at_risk")).tuples().all())


def unswept(engine: Engine) -> None:
    """No notification yet, and stale at-risk flags on the cases whose hearing is weeks
    away (the sweeps clear those together while they flag the others)."""
    with engine.begin() as connection:
        connection.execute(t.outbox.delete())
        connection.execute(t.flags.delete().where(t.flags.c.code == "at_risk"))
        connection.execute(t.flags.insert().from_select(
            ["case_id", "code", "detail", "raised_at"],
            select(t.cases.c.id, text("'at_risk'"), text("'stale'"), text("now()"))
            .where(t.cases.c.docket_number.like("26X%"))))


def busy_week(tmp_path: Path) -> Path:
    """Cases with tasks due and overdue on MONDAY, hearings that put some at risk, and
    cases in an OCMW without users (their notifications are held)."""
    return write_jsonl(tmp_path / "week.jsonl", (
        [petition(f"26W{n}", hearing_at="2026-11-13T09:30:00") for n in range(100)]
        + [petition(f"26X{n}") for n in range(100)]
        + [petition(f"26H{n}", **ANDERLECHT) for n in range(20)]))


@pytest.mark.parametrize("processes", [2, 4])
def test_sweeps_for_the_same_moment_at_once_notify_each_thing_once(
        workers: Workers, databases: Callable[[], str], open_domus: Callable[[str], Domus],
        tmp_path: Path, processes: int) -> None:
    domus = open_domus(databases())
    team(domus)
    ingest(domus, busy_week(tmp_path), chunk_size=1000)
    unswept(domus.engine)
    with domus.engine.begin() as connection:
        alone = record_sweep(connection, domus.rules, MONDAY)
    expected, flagged = outbox_rows(domus.engine), at_risk(domus.engine)
    assert alone.held > 0 and alone.at_risk == len(flagged) == alone.at_risk_cleared == 100
    url = domus.engine.url.render_as_string(False)
    for _ in range(ROUNDS):
        unswept(domus.engine)
        counts = workers.run(url, tmp_path / "data", [("sweep", MONDAY)] * processes)
        assert outbox_rows(domus.engine) == expected
        assert sum(c["notifications"] for c in counts) == alone.notifications == len(expected)
        assert sum(c["held"] for c in counts) == alone.held
        assert at_risk(domus.engine) == flagged == dict.fromkeys(flagged, MONDAY)
        assert {c["at_risk"] for c in counts} == {alone.at_risk}


def test_sweeps_racing_with_intake_notify_once_and_leave_the_flags_a_lone_worker_leaves(
        workers: Workers, databases: Callable[[], str], open_domus: Callable[[str], Domus],
        tmp_path: Path) -> None:
    week = busy_week(tmp_path)
    news = write_jsonl(tmp_path / "news.jsonl", (
        [petition(f"26W{n}", hearing_at="2027-01-14T09:30:00", received_on="2026-11-06")
         for n in range(0, 100, 4)]  # postponed: no longer at risk
        + [petition(f"26Z{n}", hearing_at="2026-11-12T14:00:00") for n in range(15)]
        + [judgment(f"26X{n}") for n in range(10)]))
    alone = open_domus(databases())
    team(alone)
    ingest(alone, week, chunk_size=1000)
    ingest(alone, news, chunk_size=5)
    for _ in range(2):
        with alone.engine.begin() as connection:
            record_sweep(connection, alone.rules, MONDAY)
    expected, flagged = set(outbox_rows(alone.engine)), at_risk(alone.engine)
    shared = open_domus(databases())
    team(shared)
    url = shared.engine.url.render_as_string(False)
    for _ in range(ROUNDS):
        wipe(shared.engine)
        ingest(shared, week, chunk_size=1000)
        workers.run(url, tmp_path / "data", [("sweep", MONDAY), ("ingest", (str(news), 5)),
                                             ("sweep", MONDAY), ("ingest", (str(news), 5))])
        with shared.engine.begin() as connection:  # the next sweep sees the whole intake
            record_sweep(connection, shared.rules, MONDAY)
        found = outbox_rows(shared.engine)
        assert len(found) == count(shared.engine, t.outbox)  # one row per notification
        assert expected <= set(found)
        assert at_risk(shared.engine) == flagged
        for reason, docket, kind, due_on, _, _ in set(found) - expected:
            # extra rows only for deadlines a sweep saw before intake moved them
            assert reason in ("due", "overdue", "escalated", "at_risk"), reason
            assert (reason, docket, kind, due_on) not in {row[:4] for row in expected}


# -- 3. delivery ----------------------------------------------------------------------------
@pytest.fixture
def full_outbox(databases: Callable[[], str], open_domus: Callable[[str], Domus],
                tmp_path: Path) -> Domus:
    domus = open_domus(databases())
    team(domus)
    ingest(domus, write_jsonl(tmp_path / "many.jsonl",
                              [petition(f"26M{n}") for n in range(150)]), chunk_size=1000)
    with domus.engine.begin() as connection:
        record_sweep(connection, domus.rules, MONDAY)
    return domus


def unsent(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(update(t.outbox).values(
            status="pending", claim=None, claimed_at=None, sent_at=None, attempts=0,
            next_attempt_at=MONDAY))


@pytest.mark.parametrize("processes", [2, 4])
def test_deliveries_at_once_send_every_message_exactly_once(
        workers: Workers, full_outbox: Domus, tmp_path: Path, processes: int) -> None:
    engine = full_outbox.engine
    with engine.connect() as connection:
        keys = list(connection.scalars(select(t.outbox.c.key)))
    assert len(keys) > 400  # more than two claims' worth: the workers share the work
    url = engine.url.render_as_string(False)
    for _ in range(2):
        unsent(engine)
        with SmtpServer() as server:
            reports = workers.run(url, tmp_path / "data",
                                  [("deliver", (server.url, MONDAY))] * processes)
            received = Counter(m["Message-ID"] for m in server.messages)
        assert received == Counter(message_id_for(key) for key in keys)
        assert sum(r["sent"] for r in reports) == len(keys)
        assert count(engine, t.outbox, t.outbox.c.status != "sent") == 0


def test_a_delivery_takes_other_rows_while_another_delivery_holds_its_claim(
        full_outbox: Domus) -> None:
    engine = full_outbox.engine
    total = count(engine, t.outbox)
    with engine.connect() as other, SmtpServer() as server:
        other.begin()  # another delivery, in the middle of claiming the first rows
        held = list(other.scalars(select(t.outbox.c.id).order_by(t.outbox.c.id).limit(200)
                                  .with_for_update()))
        reports: list[Any] = []
        delivering = threading.Thread(target=lambda: reports.append(deliver_outbox(
            engine, full_outbox.rules, mail_to(server.url), now=MONDAY)), daemon=True)
        delivering.start()
        delivering.join(timeout=30)
        waited = delivering.is_alive()
        other.rollback()
        delivering.join(timeout=60)
        sent = len(server.messages)
    assert not waited, "the delivery waited for rows another delivery was claiming"
    assert reports[0].sent == sent == total - len(held)
    assert count(engine, t.outbox, t.outbox.c.status == "pending") == len(held)
