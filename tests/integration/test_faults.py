"""Faults, for real (issue 8): `domus ingest` killed with SIGKILL and run again, PostgreSQL
stopped hard in the middle of a sweep, the SMTP server going away during delivery, and a
full disk while letters are written. After recovery the database must equal a clean run's,
case for case: nothing lost, nothing doubled, nothing half-recorded.

The long forms (many kills, repeated outages) are `python -m bench.faults`.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, select, text

from domus.bootstrap import Domus, bootstrap
from domus.cli import cli
from domus.settings import Settings
from services.delivery import Delivery, deliver_outbox, message_id_for
from services.intake import ingest_source
from services.readers import inspect_file
from services.sweep import record_sweep
from services.users import add_user
from store import tables as t
from tests import fault_support as fs
from tests.builders import petition, write_jsonl
from tests.conftest import NOW
from tests.smtp_server import RecordingHandler, SmtpServer

pytestmark = pytest.mark.usefixtures("prefect_server")

NOTICES = 1500  # three files, re-sends, flawed records, follow-ups before their case
KILLS = 3  # per database; `python -m bench.faults` does many more
#: notices per transaction, the same in the clean run: where chunks end changes which
#: cancelled tasks a case keeps as history (a petition and its objection in one chunk
#: never open the petition's tasks), so runs are compared chunk for chunk
CHUNK = "100"
SWEEP_AT = "2026-07-01T08:00:00"  # most of the batch's tasks are due or overdue by then


# -- SIGKILL during intake ------------------------------------------------------------------
@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return fs.write_batch(tmp_path_factory.mktemp("batch"), NOTICES)


@pytest.fixture(scope="module")
def clean_dump(batch: list[Path], tmp_path_factory: pytest.TempPathFactory,
               prefect_server: str) -> dict[str, Any]:
    """The batch through one uninterrupted `domus ingest` (SQLite): what every recovered
    database, SQLite or PostgreSQL, must equal."""
    folder = tmp_path_factory.mktemp("clean")
    url = f"sqlite:///{folder / 'clean.db'}"
    fs.ingest(batch, fs.domus_env(url, folder / "data", DOMUS_CHUNK_SIZE=CHUNK))
    engine = create_engine(url)
    try:
        return fs.canonical_dump(engine)
    finally:
        engine.dispose()


def test_intake_killed_again_and_again_ends_equal_to_a_clean_run(
    database_url: str, batch: list[Path], clean_dump: dict[str, Any], tmp_path: Path
) -> None:
    total = fs.record_count(batch)
    engine = create_engine(database_url)
    env = fs.domus_env(database_url, tmp_path / "data", DOMUS_CHUNK_SIZE=CHUNK)
    rng = random.Random(f"{database_url.split(':')[0]}-8")
    try:
        kills = [fs.ingest_killed(batch, env, engine, rng, total=total, margin=300)
                 for _ in range(KILLS)]
        summary = fs.ingest(batch, env)  # the run that finishes the batch

        assert summary["received"] == total
        assert fs.invariants(engine, total).problems() == []
        assert fs.dump_differences(clean_dump, fs.canonical_dump(engine)) == []
        assert any(0 < k.at_rows < total for k in kills), kills  # some did stop half-way
    finally:
        engine.dispose()


def test_a_follow_up_quarantined_before_its_case_stays_quarantined_after_a_crash(
    domus: Domus, tmp_path: Path
) -> None:
    """The bug the kills found: a re-run took again the decision on records received
    before, so a judgment quarantined because its docket was unknown became a notice once
    a later file (finished before the crash) had opened that case."""
    judgment = {"kind": "judgment", "court": "Vredegerecht Schaarbeek", "docket_number": "26Q1",
                "received_on": "2026-12-20", "judgment_on": "2026-12-14",
                "served_on": "2026-12-18", "tenant": {"last_name": "El Idrissi"}}
    first = inspect_file(write_jsonl(tmp_path / "1.jsonl", [judgment]))
    second = inspect_file(write_jsonl(tmp_path / "2.jsonl", [petition("26Q1")]))
    for source in (first, second, first, second):  # the batch, killed, and run again
        ingest_source(domus.engine, source, rules=domus.rules, now=NOW)

    problems = fs.invariants(domus.engine, 2).problems()
    with domus.engine.connect() as connection:
        notices = connection.execute(select(t.notices.c.kind)).scalars().all()
    assert problems == [] and notices == ["petition"]


# -- PostgreSQL stopped during a sweep ------------------------------------------------------
@pytest.fixture(scope="session")
def cluster() -> Iterator[fs.PrivatePostgres]:
    """A PostgreSQL of our own (the shared one is never stopped)."""
    with fs.private_postgres() as cluster:
        yield cluster


def _team_database(url: str, batch: list[Path], data: Path) -> Engine:
    """The batch ingested and a team in every OCMW (a caseworker and a team lead), so the
    sweep has thousands of due tasks and people to tell."""
    domus = bootstrap(Settings(database_url=url, data_dir=data))
    for path in batch:
        ingest_source(domus.engine, inspect_file(path), rules=domus.rules, now=NOW)
    for number in range(1, 20):
        ocmw = f"210{number:02d}"
        for role in ("caseworker", "team_lead"):
            add_user(domus.engine, email=f"{role}.{ocmw}@ocmw.be", name=f"{role} {ocmw}",
                     role=role, ocmw=ocmw, language="fr", password=None, now=NOW,
                     rules=domus.rules)
    return domus.engine


def _sweep(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*fs.DOMUS, "sweep", "--now", SWEEP_AT, "--json"], env=env,
                          cwd=fs.REPO, capture_output=True, text=True, timeout=300)


def _wait_for_lock_wait(engine: Engine, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE "
                                      "wait_event_type = 'Lock'")):
                return
        time.sleep(0.05)
    raise AssertionError("the sweep never reached its writes")


def test_postgresql_stopped_mid_sweep_fails_clearly_and_the_rerun_equals_a_clean_sweep(
    cluster: fs.PrivatePostgres, batch: list[Path], tmp_path: Path
) -> None:
    clean_url = cluster.create_database("faults_clean")
    crash_url = cluster.create_database("faults_crash")
    clean, crash = (_team_database(url, batch[:1], tmp_path / "data") for url in
                    (clean_url, crash_url))
    assert _sweep(fs.domus_env(clean_url, tmp_path / "data")).returncode == 0

    # Hold the outbox so the sweep stops at its writes, its reads done; then crash.
    holder = crash.connect()
    holder.execute(text("LOCK TABLE outbox IN EXCLUSIVE MODE"))
    process = fs.start_domus(["sweep", "--now", SWEEP_AT, "--json"],
                             fs.domus_env(crash_url, tmp_path / "data"))
    try:
        _wait_for_lock_wait(clean)
        cluster.stop("immediate")
        out, err = process.communicate(timeout=120)
    finally:
        fs.kill_group(process) if process.poll() is None else None
        holder.invalidate()
        cluster.start()

    assert process.returncode == 1
    assert "database unreachable" in err and "Traceback" not in err, err
    with crash.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM outbox")) == 0  # all or nothing
    crash.dispose()
    again = _sweep(fs.domus_env(crash_url, tmp_path / "data"))
    assert again.returncode == 0, again.stderr
    assert fs.invariants(crash, 0).outbox_unique
    assert fs.dump_differences(fs.canonical_dump(clean), fs.canonical_dump(crash)) == []
    assert _sweep(fs.domus_env(crash_url, tmp_path / "data")).returncode == 0  # nothing twice
    assert fs.dump_differences(fs.canonical_dump(clean), fs.canonical_dump(crash)) == []
    clean.dispose()
    crash.dispose()


# -- the SMTP server going away during delivery -------------------------------------------
def test_smtp_stopped_mid_delivery_loses_nothing_and_sends_nothing_twice(
    domus: Domus, tmp_path: Path
) -> None:
    add_user(domus.engine, email="an@ocmw.be", name="An", role="caseworker", ocmw="21015",
             language="nl", password=None, now=NOW, rules=domus.rules)
    add_user(domus.engine, email="lea@ocmw.be", name="Lea", role="team_lead", ocmw="21015",
             language="fr", password=None, now=NOW, rules=domus.rules)
    ingest_source(domus.engine, inspect_file(write_jsonl(tmp_path / "a.jsonl", [
        petition(f"26S{i}") for i in range(12)])), rules=domus.rules, now=NOW)
    monday = datetime(2026, 11, 9, 8, 0)
    with domus.engine.begin() as connection:
        record_sweep(connection, domus.rules, monday)
    with domus.engine.connect() as connection:
        keys = set(connection.scalars(select(t.outbox.c.key).where(
            t.outbox.c.status == "pending")))
    assert len(keys) >= 30
    k = 7
    server = SmtpServer(handler=fs.GoingAway(k))
    delivery = Delivery(server.url, "domus@ocmw.be", "https://domus.example", attempts=1,
                        backoff_seconds=0)
    server.start()
    stopper = threading.Thread(target=lambda: (server.handler.reached.wait(60), server.stop()))
    stopper.start()
    down = deliver_outbox(domus.engine, domus.rules, delivery, now=monday)
    stopper.join()
    first = list(server.messages)

    assert (down.sent, down.waiting) == (k, len(keys) - k)
    assert down.failed >= 1
    with domus.engine.connect() as connection:
        rows = connection.execute(select(t.outbox).where(t.outbox.c.key.in_(keys))).all()
    waiting = [r for r in rows if r.status == "pending"]
    assert len(waiting) == len(keys) - k and all(r.status in ("sent", "pending") for r in rows)
    assert all(str(server.port) in (r.last_error or "") for r in waiting if r.attempts)

    server.handler = RecordingHandler()  # up again, on the same port
    server.start()
    try:
        up = deliver_outbox(domus.engine, domus.rules, delivery,
                            now=monday + timedelta(minutes=2))
        again = deliver_outbox(domus.engine, domus.rules, delivery,
                               now=monday + timedelta(hours=2))
    finally:
        server.stop()
    received = [m["Message-ID"] for m in first + list(server.messages)]

    assert up.sent == len(keys) - k and again.sent == 0
    assert sorted(received) == sorted(message_id_for(key) for key in keys)  # once each


# -- a full disk while letters are written --------------------------------------------------
@pytest.fixture
def full_disk(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with fs.small_tmpfs("256k") as folder:
        monkeypatch.setenv("DOMUS_DATA_DIR", str(folder / "data"))
        yield folder


def _letters_state(engine: Engine) -> tuple[int, list[str]]:
    with engine.connect() as connection:
        letters = connection.scalar(select(t.letters.c.id).order_by(t.letters.c.id.desc()))
        open_tasks = connection.scalars(select(t.tasks.c.kind).where(
            t.tasks.c.kind == "invitation_letter", t.tasks.c.status == "open")).all()
    return (0 if letters is None else 1), list(open_tasks)


def _files(folder: Path) -> list[str]:
    """The letters and half-written parts under `folder` (not the ballast, not the secret
    key bootstrap keeps in the data folder)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and (p.suffix == ".docx" or p.name.endswith(".part")))


def test_a_full_disk_while_writing_a_letter_records_nothing_and_a_rerun_makes_it_once(
    full_disk: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["ingest", str(write_jsonl(tmp_path / "a.jsonl", [
        petition("26D1"), petition("26D2", tenant__language=None)])), "--json"])
    assert result.exit_code == 0, result.output
    domus = bootstrap(Settings())
    with domus.engine.connect() as connection:
        case_id = connection.scalar(select(t.cases.c.id).where(
            t.cases.c.docket_number == "26D1"))
    out = full_disk / "out" / "invitation.docx"
    ballast = fs.fill(full_disk)

    one = runner.invoke(cli, ["letter", case_id, "--kind", "tenant_invitation",
                              "--out", str(out)])
    batch = runner.invoke(cli, ["letters", "--due-before", "2026-11-30", "--out",
                                str(full_disk / "batch")])

    for result in (one, batch):
        assert result.exit_code == 1
        assert "No space left on device" in result.stderr and "cannot write" in result.stderr
        assert "Traceback" not in result.output + result.stderr
    assert _letters_state(domus.engine) == (0, ["invitation_letter"] * 2)
    assert _files(full_disk) == []  # no half-written letter, no orphan

    ballast.unlink()
    one = runner.invoke(cli, ["letter", case_id, "--kind", "tenant_invitation",
                              "--out", str(out), "--json"])
    batch = runner.invoke(cli, ["letters", "--due-before", "2026-11-30", "--out",
                                str(full_disk / "batch"), "--json"])
    assert one.exit_code == 0 and batch.exit_code == 0, one.output + batch.output
    with domus.engine.connect() as connection:
        letters = connection.execute(select(t.letters.c.case_id, t.letters.c.path)).all()
    assert len(letters) == 2 and len({case for case, _ in letters}) == 2
    assert _letters_state(domus.engine)[1] == []  # both invitation tasks closed
    batch_files = _files(full_disk / "batch")
    assert len(batch_files) == 2 and any(f.startswith("print-") for f in batch_files)
    assert all((domus.settings.data_dir / path).stat().st_size > 0 for _, path in letters)
    domus.engine.dispose()


def test_disk_full_support_really_fills_the_disk() -> None:
    """The fault is real: after `fill`, not one more byte fits."""
    with fs.small_tmpfs("64k") as folder:
        fs.fill(folder)
        with pytest.raises(OSError, match="No space left on device"):
            (folder / "more").write_bytes(b"x" * 4096)

