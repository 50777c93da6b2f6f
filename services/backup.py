"""Backups that restore: `domus backup FILE`, `domus restore FILE`.

One archive format for both databases: a tar file (readable by its owner only: it holds
every household's data) whose first member is `manifest.json` — the format, the database
kind, the Alembic revision, the row count of every table, and the size and sha256 of every
other member — then the database, the secret key and the data directory's files.

- SQLite: `database.sqlite.gz`, a copy made with SQLite's online backup API (a consistent
  snapshot while the app writes: the copy restarts when a write lands mid-way), gzipped.
- PostgreSQL: `database.pgdump`, `pg_dump --format=custom` (compressed) of the snapshot in
  which the rows were counted (`pg_export_snapshot`), restored with `pg_restore`.
- `secret_key`: the key that signs web sessions (when it is not in DOMUS_SECRET_KEY): the
  restored sessions stay valid, and the archive holds nothing more secret than the data.
- `data/...`: every file under DOMUS_DATA_DIR (letters, uploaded templates, uploads, batch
  copies) with its modification time (the retention job expires copies by age), except
  Prefect's home (flow-run history that Prefect rebuilds) and the database's own files.

The database is copied first, then the files: a letter the copy registers was written
before its row, so it is in the archive; a file newer than the copy is harmless.

`restore` (with Domus stopped: `domus serve`, workers and timers) reads the manifest,
refuses another database kind or a revision this Domus does not know (a newer Domus made
it), and checks every member's sha256 before it touches anything. It refuses a target
database with rows or a data directory with files unless `force` (which replaces them:
tables, triggers and files are dropped first). It then loads the database, puts the files
back, compares every table's row count with the manifest, and migrates the schema when the
backup's revision is older.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from domus.settings import Settings
from store.db import alembic_config, create_database_engine, migrate

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER, POSTGRES_MEMBER, KEY_MEMBER = "database.sqlite.gz", "database.pgdump", "secret_key"
#: pages copied per step of SQLite's backup (a write between steps restarts the copy)
SQLITE_PAGES = -1
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says what and what to do."""


# -- where things are -------------------------------------------------------------------------
def _sqlite_path(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def key_path(settings: Settings) -> Path | None:
    """Where bootstrap keeps the generated secret key (None: it is in DOMUS_SECRET_KEY)."""
    if settings.secret_key is not None:
        return None
    url = make_url(settings.database_url)
    database = _sqlite_path(url)
    return Path(f"{database}.secret") if database else settings.data_dir / "secret_key"


def data_files(settings: Settings) -> Iterator[tuple[str, Path]]:
    """(name in the archive, path) of every file the data directory holds that a restore
    needs, in a stable order."""
    root = settings.data_dir
    skip = {root / "prefect"}
    database = _sqlite_path(make_url(settings.database_url))
    own = {key_path(settings)}
    if database:
        own |= {database, Path(f"{database}-wal"), Path(f"{database}-shm"),
                Path(f"{database}.secret"), Path(f"{database}.migrate.lock")}
    own_resolved = {p.resolve() for p in own if p is not None}
    for parent, folders, files in os.walk(root, followlinks=False):
        here = Path(parent)
        folders[:] = sorted(f for f in folders if here / f not in skip)
        for name in sorted(files):
            path = here / name
            if path.is_symlink() or path.resolve() in own_resolved:
                continue
            yield "data/" + path.relative_to(root).as_posix(), path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def head_revision(engine: Engine) -> str:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head() or ""


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows per table of the schema (every table, Domus's or not)."""
    names = sorted(inspect(connection).get_table_names())
    return {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name in names}


# -- backup -----------------------------------------------------------------------------------
def backup(settings: Settings, out: Path, *, now: datetime) -> dict[str, Any]:
    """Write the archive `out` (see the module's docstring); the manifest."""
    url = make_url(settings.database_url)
    out = out.resolve()
    if out.is_relative_to(settings.data_dir.resolve()):
        raise BackupError(f"{out}: write the backup outside DOMUS_DATA_DIR (the next backup "
                          "would hold this one), and best on another disk")
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent}: no such folder")
    with tempfile.TemporaryDirectory(prefix=".domus-backup-", dir=out.parent) as scratch:
        work = Path(scratch)
        if _sqlite_path(url):
            member, (revision, counts) = SQLITE_MEMBER, _sqlite_snapshot(url, work / "db")
        else:
            member, (revision, counts) = POSTGRES_MEMBER, _pg_dump(url, work / "db")
        members: list[tuple[str, Path]] = [(member, work / "db")]
        key = key_path(settings)
        if key is not None and key.is_file():
            members.append((KEY_MEMBER, key))
        members += list(data_files(settings))
        manifest = {
            "format": FORMAT, "created_at": now.isoformat(), "database": url.get_backend_name(),
            "revision": revision, "rows": counts,
            "secret_key": "archive" if key is not None else "environment (DOMUS_SECRET_KEY)",
            "files": {name: {"size": path.stat().st_size, "sha256": sha256_of(path)}
                      for name, path in members}}
        draft = out.with_name(f".{out.name}.partial")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle, tarfile.open(fileobj=handle,
                                                                 mode="w") as archive:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            archive.addfile(info, io.BytesIO(data))
            for name, path in members:
                archive.add(path, name, recursive=False)
            handle.flush()
            os.fsync(handle.fileno())
        draft.replace(out)
    return {**manifest, "file": str(out), "size": out.stat().st_size}


def _sqlite_snapshot(url: URL, target: Path) -> tuple[str | None, dict[str, int]]:
    """A consistent copy with the online backup API, counted, then gzipped to `target`."""
    database = _sqlite_path(url)
    assert database is not None
    if not database.is_file():
        raise BackupError(f"{database}: no such database")
    copy = target.with_suffix(".sqlite")
    source = sqlite3.connect(database, timeout=30)
    try:
        destination = sqlite3.connect(copy)
        with destination:
            source.backup(destination, pages=SQLITE_PAGES)
        destination.close()
    finally:
        source.close()
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as connection:
            revision, counts = _revision(connection), row_counts(connection)
    finally:
        engine.dispose()
    with copy.open("rb") as raw, gzip.open(target, "wb", compresslevel=1) as packed:
        shutil.copyfileobj(raw, packed, CHUNK)
    copy.unlink()
    return revision, counts


def _pg_env(url: URL) -> dict[str, str]:
    """libpq's environment for this URL (the password never on a command line)."""
    env = dict(os.environ)
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[key] = str(value)
    return env


def _run(command: list[str], env: dict[str, str]) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} not found: install the PostgreSQL client "
                          "(the same major version as the server)") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise BackupError(f"{command[0]}: {last}")


def _pg_dump(url: URL, target: Path) -> tuple[str | None, dict[str, int]]:
    """pg_dump of the snapshot the rows are counted in (a transaction held open meanwhile)."""
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as connection:
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            revision, counts = _revision(connection), row_counts(connection)
            _run(["pg_dump", "--format=custom", "--compress=6", f"--snapshot={snapshot}",
                  "--no-owner", f"--file={target}"], _pg_env(url))
            connection.rollback()
    finally:
        engine.dispose()
    return revision, counts


# -- restore ----------------------------------------------------------------------------------
def read_manifest(archive: tarfile.TarFile, source: Path) -> dict[str, Any]:
    first = archive.next()
    if first is None or first.name != MANIFEST:
        raise BackupError(f"{source}: not a Domus backup (its first member is not {MANIFEST})")
    handle = archive.extractfile(first)
    assert handle is not None
    try:
        manifest = json.loads(handle.read())
    except ValueError as exc:
        raise BackupError(f"{source}: {MANIFEST} is not JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: backup format {manifest.get('format')!r}; this Domus "
                          f"reads format {FORMAT}")
    return manifest


def restore(settings: Settings, source: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore the archive into the database and data directory of `settings`; what was
    restored (see the module's docstring)."""
    url = make_url(settings.database_url)
    kind = url.get_backend_name()
    try:
        archive = tarfile.open(source, mode="r:")  # noqa: SIM115 (closed by `with` below)
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{source}: cannot read ({exc})") from None
    engine = create_database_engine(settings.database_url)
    try:
        with archive:
            manifest = read_manifest(archive, source)
            if manifest["database"] != kind:
                raise BackupError(
                    f"{source}: a {manifest['database']} backup; DOMUS_DATABASE_URL is "
                    f"{kind} (restore into the same kind of database)")
            script = ScriptDirectory.from_config(alembic_config(engine))
            if manifest["revision"] is not None and \
                    manifest["revision"] not in {s.revision for s in script.walk_revisions()}:
                raise BackupError(
                    f"{source}: made at schema revision {manifest['revision']}, which this "
                    f"Domus does not know (its newest is {script.get_current_head()}): "
                    "restore it with the Domus version that made it")
            _refuse_unless_empty(engine, settings, force)
            # beside the data directory: the files move into place without a copy
            scratch_root = settings.data_dir.resolve().parent
            with tempfile.TemporaryDirectory(prefix=".domus-restore-",
                                             dir=_existing(scratch_root)) as scratch:
                work = Path(scratch)
                archive.extractall(work, filter="data")
                _verify(manifest, work, source)
                database = _load_sqlite if kind == "sqlite" else _load_postgres
                database(engine, url, work, force)
                _put_files(manifest, work, settings)
        with engine.connect() as connection:
            counts = row_counts(connection)
        if counts != manifest["rows"]:
            wrong = sorted(name for name in set(counts) | set(manifest["rows"])
                           if counts.get(name) != manifest["rows"].get(name))
            raise BackupError(f"restored tables differ from the backup's counts: "
                              f"{', '.join(wrong)}")
        migrated = None
        if manifest["revision"] != head_revision(engine):
            migrate(engine)
            migrated = {"from": manifest["revision"], "to": head_revision(engine)}
    finally:
        engine.dispose()
    return {"file": str(source), "database": kind, "revision": manifest["revision"],
            "migrated": migrated, "created_at": manifest["created_at"], "rows": counts,
            "files": sum(1 for name in manifest["files"] if name.startswith("data/"))}


def _existing(path: Path) -> str:
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def _refuse_unless_empty(engine: Engine, settings: Settings, force: bool) -> None:
    """A database with rows (beyond the schema's version) or a data directory with files
    is someone's data: replacing it takes --force."""
    if force:
        return
    with engine.connect() as connection:
        full = [name for name, count in row_counts(connection).items()
                if count and name != "alembic_version"]
    if full:
        raise BackupError(f"the database is not empty ({', '.join(full[:5])}"
                          f"{', …' if len(full) > 5 else ''} have rows): pass --force to "
                          "replace it with the backup")
    files = next(data_files(settings), None)
    if files is not None:
        raise BackupError(f"{settings.data_dir} holds files ({files[1]}): pass --force to "
                          "replace them with the backup's")


def _verify(manifest: dict[str, Any], work: Path, source: Path) -> None:
    for name, expected in manifest["files"].items():
        path = work / name
        if not path.is_file():
            raise BackupError(f"{source}: {name} is missing (the archive is incomplete)")
        if sha256_of(path) != expected["sha256"]:
            raise BackupError(f"{source}: {name} is damaged (its sha256 differs from the "
                              "manifest's); nothing was restored")


def _load_sqlite(engine: Engine, url: URL, work: Path, force: bool) -> None:
    engine.dispose()
    target = _sqlite_path(url)
    assert target is not None
    copy = work / "restored.sqlite"
    with gzip.open(work / SQLITE_MEMBER, "rb") as packed, copy.open("wb") as raw:
        shutil.copyfileobj(packed, raw, CHUNK)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(copy)
    destination = sqlite3.connect(target, timeout=30)
    try:
        with destination:
            source.backup(destination)  # replaces every page, WAL or not
    finally:
        source.close()
        destination.close()


def _load_postgres(engine: Engine, url: URL, work: Path, force: bool) -> None:
    _drop_schema_objects(engine)
    _run(["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction",
          f"--dbname={url.database}", str(work / POSTGRES_MEMBER)], _pg_env(url))


def _drop_schema_objects(engine: Engine) -> None:
    """Every table (with its triggers and sequences) and trigger function of the current
    schema: pg_restore then recreates Domus's exactly as backed up."""
    with engine.begin() as connection:
        metadata = MetaData()
        metadata.reflect(connection)
        for table in metadata.sorted_tables:
            connection.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
        functions = connection.scalars(text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.prorettype = 'trigger'::regtype"))
        for function in list(functions):
            connection.execute(text(f"DROP FUNCTION IF EXISTS {function} CASCADE"))


def _put_files(manifest: dict[str, Any], work: Path, settings: Settings) -> None:
    """The data directory becomes the backup's (modification times kept); the secret key
    goes where bootstrap looks for it."""
    for _, path in list(data_files(settings)):
        path.unlink()
    root = settings.data_dir
    for name in manifest["files"]:
        if name.startswith("data/"):
            target = root / name.removeprefix("data/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(work / name, target)
    key = key_path(settings)
    if KEY_MEMBER in manifest["files"] and key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        draft = key.with_name(f".{key.name}.restore")
        shutil.move(work / KEY_MEMBER, draft)
        os.chmod(draft, 0o600)
        draft.replace(key)
