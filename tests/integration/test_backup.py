"""Backups that restore, on SQLite and PostgreSQL: fill a database, back it up, wipe the
database and the data directory, restore, and compare every row of every table and every
file byte for byte; a restore refuses what it would overwrite, a damaged archive and another
database kind; an older schema is migrated; a backup taken while Domus writes is consistent."""

from __future__ import annotations

import json
import os
import sqlite3
import tarfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner, Result
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bench import backup as bench_backup
from domus.bootstrap import Domus
from domus.cli import cli
from domus.settings import Settings
from services.backup import BackupError, backup, key_path, restore
from services.sweep import record_sweep
from store import tables as t
from store.db import alembic_config, create_database_engine
from tests.conftest import NOW
from tests.integration import test_retention

#: test_retention's households: notices, a quarantined record, contacts (one imported),
#: a referral, a letter, outcomes and a reopening, e-mails
region = test_retention.region


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the database has (read from it), in primary-key order."""
    engine = create_engine(url)
    try:
        schema = MetaData()
        schema.reflect(engine)
        with engine.connect() as connection:
            return {table.name: [tuple(row) for row in connection.execute(
                select(table).order_by(*(table.primary_key.columns or table.columns)))]
                for table in schema.sorted_tables}
    finally:
        engine.dispose()


def files(settings: Settings) -> dict[str, tuple[bytes, int]]:
    """Every file of the data directory (Prefect's home aside) and the secret key: bytes
    and modification time (to the millisecond: tar keeps it as a float)."""
    found = {str(p.relative_to(settings.data_dir)):
             (p.read_bytes(), p.stat().st_mtime_ns // 1_000_000)
             for p in settings.data_dir.rglob("*")
             if p.is_file() and "prefect" not in p.relative_to(settings.data_dir).parts}
    key = key_path(settings)
    assert key is not None and key.is_file()
    found["<secret key>"] = (key.read_bytes(), 0)
    return found


def wipe(settings: Settings) -> None:
    """Drop everything: the database's tables, triggers and functions (or its files) and
    the data directory (as the benchmark does)."""
    bench_backup.wipe(settings.database_url, settings.data_dir)


def fill(domus: Domus) -> None:
    """test_retention's region, swept (tasks, notifications, flags) and with a file in the
    upload folder whose age matters to the retention job."""
    with domus.engine.begin() as connection:
        record_sweep(connection, domus.rules, NOW)
    upload = domus.settings.data_dir / "incoming" / "2026" / "notices.csv"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_text("court;docket_number\n", encoding="utf-8")
    os.utime(upload, (datetime(2021, 3, 4).timestamp(), datetime(2021, 3, 4).timestamp()))


def test_backup_wipe_restore_gives_back_every_row_and_file(
        domus: Domus, region: dict[str, str], settings: Settings, tmp_path: Path) -> None:
    fill(domus)
    rows, stored = tables(settings.database_url), files(settings)
    assert len(rows["cases"]) == 4 and rows["letters"] and rows["outbox"] and rows["tasks"]
    assert any(name.endswith(".docx") for name in stored)
    archive = tmp_path / "backups" / "domus.tar"
    archive.parent.mkdir()
    result = run("backup", str(archive), "--json")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["rows"]["cases"] == 4 and manifest["revision"] == "0010"
    assert archive.stat().st_mode & 0o077 == 0
    domus.engine.dispose()
    wipe(settings)
    result = run("restore", str(archive), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["migrated"] is None
    assert tables(settings.database_url) == rows
    assert files(settings) == stored
    # the append-only triggers came back with the tables
    engine = create_database_engine(settings.database_url)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM case_events"))
    engine.dispose()
    assert run("case", region["26A1"], "--json").exit_code == 0  # Domus works on it


def test_a_restore_refuses_to_overwrite_damage_or_another_kind(
        domus: Domus, region: dict[str, str], settings: Settings, tmp_path: Path) -> None:
    archive = tmp_path / "domus.tar"
    backup(settings, archive, now=NOW)
    before = tables(settings.database_url)
    result = run("restore", str(archive))
    assert result.exit_code == 1 and "not empty" in result.stderr and "--force" in result.stderr
    # a damaged member: nothing is touched
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("data/letters/"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            target.addfile(member, __import__("io").BytesIO(data))
    result = run("restore", str(damaged), "--force")
    assert result.exit_code == 1 and "damaged" in result.stderr
    assert tables(settings.database_url) == before
    # another kind of database
    kind = make_url(settings.database_url).get_backend_name()
    other = "postgresql+psycopg://postgres@127.0.0.1:5432/nothing" if kind == "sqlite" \
        else f"sqlite:///{tmp_path / 'other.db'}"
    with pytest.raises(BackupError, match="restore into the same kind"):
        restore(Settings(database_url=other, data_dir=tmp_path / "other"), archive)
    # --force replaces a changed database and data directory with the backup
    with domus.engine.begin() as connection:
        connection.execute(t.cases.delete().where(t.cases.c.id == "nonexistent"))
        connection.execute(t.users.insert().values(
            email="new@ocmw.be", name="New", role="caseworker", ocmw="21015", language="nl",
            active=True, created_at=NOW))
    (settings.data_dir / "stray.txt").write_text("stray", encoding="utf-8")
    domus.engine.dispose()
    result = run("restore", str(archive), "--force")
    assert result.exit_code == 0, result.stderr
    assert tables(settings.database_url) == before
    assert not (settings.data_dir / "stray.txt").exists()


def test_an_older_schema_is_migrated_and_an_unknown_one_refused(
        settings: Settings, tmp_path: Path) -> None:
    engine = create_database_engine(settings.database_url)
    command.upgrade(alembic_config(engine), "0009")
    engine.dispose()
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "secret_key").write_text("k" * 48, encoding="utf-8")
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        Path(f"{make_url(settings.database_url).database}.secret").write_text("k" * 48)
    archive = tmp_path / "old.tar"
    assert backup(settings, archive, now=NOW)["revision"] == "0009"
    wipe(settings)
    restored = restore(settings, archive)
    assert restored["migrated"] == {"from": "0009", "to": "0010"}
    with tarfile.open(archive) as source:
        manifest = json.loads(source.extractfile("manifest.json").read())  # type: ignore[union-attr]
    manifest["revision"] = "9999"
    future = tmp_path / "future.tar"
    with tarfile.open(archive) as source, tarfile.open(future, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = json.dumps(manifest).encode()
                member.size = len(data)
            target.addfile(member, __import__("io").BytesIO(data))
    with pytest.raises(BackupError, match="9999, which this Domus does not know"):
        restore(settings, future, force=True)


def test_a_sqlite_backup_taken_while_domus_writes_is_consistent(
        sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer adds a batch and its ten receipts per transaction while the backup runs:
    the copy opens, passes SQLite's integrity check, has only whole batches, and its
    counts are the manifest's."""
    monkeypatch.setenv("DOMUS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DOMUS_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    from domus.bootstrap import bootstrap

    domus = bootstrap(settings)
    stop, written = threading.Event(), [0]

    def write() -> None:
        while not stop.is_set():
            with domus.engine.begin() as connection:
                batch = connection.execute(t.batches.insert().values(
                    source="f", sha256="0" * 64, started_at=NOW)).inserted_primary_key[0]
                connection.execute(t.receipts.insert(), [
                    {"batch_id": batch, "source_sha256": f"{batch:064d}", "record_no": n,
                     "line_no": n, "raw": "x" * 2000, "received_at": NOW,
                     "outcome": "notice"} for n in range(10)])
            written[0] += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while written[0] < 300:  # a database of a few megabytes before the copy starts
            threading.Event().wait(0.05)
        manifests = [backup(settings, tmp_path / f"hot{n}.tar", now=NOW) for n in range(3)]
    finally:
        stop.set()
        writer.join()
    domus.engine.dispose()
    assert written[0] > manifests[0]["rows"]["batches"]  # it kept writing meanwhile
    for n, manifest in enumerate(manifests):
        target = Settings(database_url=f"sqlite:///{tmp_path / f'restored{n}.db'}",
                          data_dir=tmp_path / f"restored{n}")
        restore(target, tmp_path / f"hot{n}.tar")
        copy = sqlite3.connect(tmp_path / f"restored{n}.db")
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        batches = copy.execute("SELECT count(*) FROM batches").fetchone()[0]
        whole = copy.execute("SELECT count(*) FROM (SELECT batch_id FROM receipts GROUP BY "
                             "batch_id HAVING count(*) = 10)").fetchone()[0]
        receipts = copy.execute("SELECT count(*) FROM receipts").fetchone()[0]
        copy.close()
        assert batches == whole and receipts == 10 * batches
        assert manifest["rows"]["batches"] == batches
