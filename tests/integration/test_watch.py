"""The watched folder (domus/watch.py): each file dropped is ingested exactly once and filed
in done/ (or failed/ with the reason); a file still being written is left alone; racing
watchers and a crash between claim and done double nothing. On SQLite and PostgreSQL.

The watchers here ingest with `ingest_source` directly (the intake flow's own work, without
Prefect's start-up); the last test goes through the real `domus watch --once`.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from domus.bootstrap import Domus
from domus.cli import cli
from domus.settings import Settings
from domus.watch import Ingest, Watcher, watch_job
from services.intake import ingest_source
from services.readers import inspect_file
from services.summary import IntakeSummary
from store import tables as t
from tests.builders import judgment, petition, write_jsonl
from tests.conftest import NOW

BAD_BYTES = b"kind;court\r\n\x81\x8d\x8f\x90\x9d;x\r\n"  # neither UTF-8 nor Windows-1252


def direct(domus: Domus) -> Ingest:
    def ingest(path: Path) -> IntakeSummary:
        return ingest_source(domus.engine, inspect_file(path), rules=domus.rules, now=NOW)
    return ingest


def dropped(folder: Path, name: str, notices: list[dict], age: float = 60) -> Path:
    """A notice file written `age` seconds ago."""
    folder.mkdir(parents=True, exist_ok=True)
    path = write_jsonl(folder / name, notices)
    past = time.time() - age
    os.utime(path, (past, past))
    return path


def count(domus: Domus, table: t.Table) -> int:
    with domus.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)))


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "watch"
    folder.mkdir()
    return folder


def test_a_dropped_file_is_ingested_once_and_kept_in_done(domus: Domus, inbox: Path) -> None:
    dropped(inbox, "monday.jsonl", [petition("26A1"), petition("26A2"), judgment("26A1")])
    watcher = Watcher(inbox, direct(domus))
    [outcome] = watcher.poll()
    assert (outcome.file, outcome.status) == ("monday.jsonl", "done")
    assert outcome.summary and (outcome.summary["created"], outcome.summary["updated"]) == (2, 1)
    assert [p.name for p in (inbox / "done").iterdir()] == ["monday.jsonl"]
    assert not list((inbox / "processing").iterdir()) and not (inbox / "monday.jsonl").exists()
    assert watcher.poll() == []
    assert (count(domus, t.receipts), count(domus, t.batches), count(domus, t.cases)) == (3, 1, 2)


def test_a_file_still_being_written_is_left_alone(domus: Domus, inbox: Path) -> None:
    dropped(inbox, "big.jsonl.part", [petition("26A1")])
    dropped(inbox, ".hidden.jsonl", [petition("26A2")])
    fresh = dropped(inbox, "fresh.jsonl", [petition("26A3")], age=0)
    growing = dropped(inbox, "growing.csv", [petition("26A4")])
    watcher = Watcher(inbox, direct(domus), settle=5)
    assert watcher.poll(twice=True) == []  # nothing was seen before: seen once now
    with growing.open("a") as handle:  # still being written between the two looks
        handle.write("\n")
    os.utime(growing, (time.time() - 60, time.time() - 60))
    assert watcher.poll(twice=True) == []
    assert count(domus, t.receipts) == 0
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [
        ".hidden.jsonl", "big.jsonl.part", "fresh.jsonl", "growing.csv"]
    os.utime(fresh, (time.time() - 60, time.time() - 60))
    assert sorted(o.file for o in watcher.poll(twice=True)) == ["growing.csv"]
    assert [o.file for o in watcher.poll(twice=True)] == ["fresh.jsonl"]


def test_two_watchers_racing_ingest_each_file_once(domus: Domus, inbox: Path) -> None:
    files = 8
    for number in range(files):
        dropped(inbox, f"batch-{number}.jsonl",
                [petition(f"26B{number}{k}") for k in range(5)] + [petition("26A1")])
    watchers = [Watcher(inbox, direct(domus)) for _ in range(2)]
    start, taken = threading.Barrier(len(watchers)), [[] for _ in watchers]
    errors: list[BaseException] = []

    def race(index: int) -> None:
        start.wait()
        try:
            for _ in range(files):
                taken[index] += [o.file for o in watchers[index].poll()]
        except BaseException as exc:  # the test fails with it below
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(watchers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    everything = taken[0] + taken[1]
    assert sorted(everything) == sorted(f"batch-{n}.jsonl" for n in range(files))
    assert len(list((inbox / "done").iterdir())) == files
    assert count(domus, t.batches) == files
    assert count(domus, t.receipts) == files * 6
    assert count(domus, t.cases) == files * 5 + 1  # 26A1 is in every file: one case


def test_a_crash_between_claim_and_done_is_recovered_without_a_duplicate_case(
        domus: Domus, inbox: Path) -> None:
    watcher = Watcher(inbox, direct(domus))
    half = dropped(inbox / "processing", "ingested.jsonl", [petition("26A1"), petition("26A2")])
    direct(domus)(half)  # ingested, then the watcher died before filing it
    dropped(inbox / "processing", "claimed.jsonl", [petition("26A3")])  # died before ingest
    outcomes = {o.file: o.summary for o in Watcher(inbox, direct(domus)).poll()}
    assert outcomes["ingested.jsonl"]["duplicates"] == 2
    assert outcomes["claimed.jsonl"]["created"] == 1
    assert sorted(p.name for p in (inbox / "done").iterdir()) == [
        "claimed.jsonl", "ingested.jsonl"]
    assert (count(domus, t.cases), count(domus, t.receipts)) == (3, 3)
    assert watcher.poll() == []


def test_a_file_another_watcher_is_ingesting_is_not_taken_from_processing(
        domus: Domus, inbox: Path) -> None:
    busy = dropped(inbox / "processing", "busy.jsonl", [petition("26A1")])
    with busy.open("rb") as held:  # the other watcher's lock
        fcntl.flock(held, fcntl.LOCK_EX)
        assert Watcher(inbox, direct(domus)).poll() == []
    assert busy.exists() and count(domus, t.receipts) == 0
    assert [o.file for o in Watcher(inbox, direct(domus)).poll()] == ["busy.jsonl"]


def test_a_bad_file_ends_in_failed_with_the_reason(domus: Domus, inbox: Path) -> None:
    bad = inbox / "scan.csv"
    bad.write_bytes(BAD_BYTES)
    os.utime(bad, (time.time() - 60, time.time() - 60))
    dropped(inbox, "good.jsonl", [petition("26A1")])
    outcomes = {o.file: o for o in Watcher(inbox, direct(domus)).poll()}
    assert outcomes["scan.csv"].status == "failed"
    assert "neither UTF-8 nor Windows-1252" in (outcomes["scan.csv"].error or "")
    assert outcomes["good.jsonl"].status == "done"
    assert (inbox / "failed" / "scan.csv").read_bytes() == BAD_BYTES
    reason = (inbox / "failed" / "scan.csv.error.txt").read_text(encoding="utf-8")
    assert "scan.csv" in reason and "neither UTF-8 nor Windows-1252" in reason
    assert count(domus, t.cases) == 1


def test_the_same_name_dropped_again_is_kept_beside_the_first(domus: Domus,
                                                              inbox: Path) -> None:
    watcher = Watcher(inbox, direct(domus))
    dropped(inbox, "daily.jsonl", [petition("26A1")])
    watcher.poll()
    dropped(inbox, "daily.jsonl", [petition("26A2")])
    watcher.poll()
    assert sorted(p.name for p in (inbox / "done").iterdir()) == [
        "daily-2.jsonl", "daily.jsonl"]
    assert count(domus, t.cases) == 2


@pytest.mark.flow
@pytest.mark.usefixtures("prefect_server")
def test_domus_watch_once_ingests_through_the_intake_flow(domus: Domus, inbox: Path) -> None:
    dropped(inbox, "notices.jsonl", [petition("26A1"), petition("26A2")])
    bad = inbox / "scan.csv"
    bad.write_bytes(BAD_BYTES)
    os.utime(bad, (time.time() - 60, time.time() - 60))
    result = CliRunner().invoke(cli, ["watch", str(inbox), "--once", "--json"])
    assert result.exit_code == 1, result.output  # a file failed
    outcomes = {o["file"]: o for o in json.loads(result.stdout)}
    assert outcomes["notices.jsonl"]["status"] == "done"
    assert outcomes["notices.jsonl"]["summary"]["created"] == 2
    assert outcomes["scan.csv"]["status"] == "failed"
    assert (inbox / "done" / "notices.jsonl").exists()
    assert (inbox / "failed" / "scan.csv.error.txt").exists()
    assert count(domus, t.cases) == 2
    result = CliRunner().invoke(cli, ["watch", str(inbox), "--once"])
    assert (result.exit_code, result.stdout.strip()) == (0, f"nothing to ingest in {inbox}")


@pytest.mark.flow
@pytest.mark.usefixtures("prefect_server")
def test_serve_watches_the_folder_of_domus_watch_dir(domus: Domus, inbox: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    dropped(inbox, "notices.jsonl", [petition("26A1")])
    monkeypatch.setenv("DOMUS_WATCH_DIR", str(inbox))
    look = watch_job(Settings())
    look()  # seen once: it may still be growing
    assert count(domus, t.receipts) == 0
    look()
    assert count(domus, t.cases) == 1 and (inbox / "done" / "notices.jsonl").exists()
