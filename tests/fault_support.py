"""Fault injection for the tests and `bench/faults.py`: a canonical dump of Domus's domain
state (to compare a crashed-and-recovered database with a clean one, case for case), a
`domus ingest` that is killed with SIGKILL at a random point, a private PostgreSQL cluster
that can be stopped hard without touching the shared server, and a small tmpfs.

Nothing here is a mock: the faults are real signals, a real `pg_ctl stop -m immediate`,
a real SMTP server going away and a real full file system.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text

from store import tables as t
from tests.smtp_server import RecordingHandler, free_port

REPO = Path(__file__).resolve().parent.parent
DOMUS = [sys.executable, "-m", "domus"]

# -- the canonical dump -----------------------------------------------------------------
#: columns that say when or in which run something was processed, not what the domain is
PROCESSING = {"id", "batch_id", "created_at", "updated_at", "received_at", "raised_at",
              "claim", "claimed_at", "next_attempt_at", "sent_at", "started_at",
              "finished_at", "last_error"}
#: processing times whose presence is domain state (resolved or not)
PRESENCE = {"resolved_at"}
#: the domain tables a crash may leave half-written, in the order they are dumped
DOMAIN_TABLES = (t.cases, t.receipts, t.notices, t.tasks, t.flags, t.quarantine, t.triage,
                 t.outbox, t.letters)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def canonical_dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every domain row as a sorted tuple of (column, value), surrogate ids replaced by the
    natural key they stand for (a receipt by file digest + record number, a task by case +
    kind), processing times and batch ids left out: two databases that hold the same cases,
    notices, receipts, tasks, flags, quarantine, triage and outbox compare equal."""
    with engine.connect() as connection:
        receipt_key = {row.id: f"{row.source_sha256}#{row.record_no}" for row in
                       connection.execute(select(t.receipts.c.id, t.receipts.c.source_sha256,
                                                 t.receipts.c.record_no))}
        task_key = {row.id: f"{row.case_id}/{row.kind}" for row in
                    connection.execute(select(t.tasks.c.id, t.tasks.c.case_id,
                                              t.tasks.c.kind))}
        dump: dict[str, list[tuple[Any, ...]]] = {}
        for table in DOMAIN_TABLES:
            rows = []
            for row in connection.execute(select(table)).mappings():
                item = []
                for name, value in row.items():
                    if name in PROCESSING:
                        continue
                    if name in PRESENCE:
                        value = value is not None
                    elif name in ("receipt_id", "resolved_by_receipt_id"):
                        value = receipt_key.get(value)
                    elif name == "task_id":
                        value = task_key.get(value)
                    item.append((name, _plain(value)))
                rows.append(tuple(item))
            dump[table.name] = sorted(rows, key=repr)
    return dump


def dump_differences(left: Mapping[str, list[Any]], right: Mapping[str, list[Any]],
                     *, limit: int = 5) -> list[str]:
    """What differs between two canonical dumps, a few rows per table (empty: equal)."""
    found = []
    for name in left:
        a, b = set(left[name]), set(right[name])
        if len(left[name]) != len(right[name]) or a != b:
            found.append(f"{name}: {len(left[name])} rows against {len(right[name])}; "
                         f"only left {_sample(a - b, limit)}; only right {_sample(b - a, limit)}")
    return found


def _sample(rows: set[Any], limit: int) -> str:
    return "[" + ", ".join(repr(dict(row))[:400] for row in sorted(rows, key=repr)[:limit]) + "]"


@dataclass
class Invariants:
    """What must hold after any crash and recovery, whatever the clean run says."""

    receipts: int
    records: int
    receipt_keys_unique: bool
    notices_unique: bool
    tasks_unique: bool
    outbox_unique: bool
    quarantined: int
    quarantine_receipts: int
    quarantine_unique: bool
    notices_of_quarantined: int

    def problems(self) -> list[str]:
        problems = []
        if self.receipts != self.records:
            problems.append(f"{self.receipts} receipts for {self.records} records sent")
        for name in ("receipt_keys_unique", "notices_unique", "tasks_unique", "outbox_unique",
                     "quarantine_unique"):
            if not getattr(self, name):
                problems.append(f"{name.removesuffix('_unique')}: a key is doubled")
        if self.quarantined != self.quarantine_receipts:
            problems.append(f"{self.quarantined} quarantine entries for "
                            f"{self.quarantine_receipts} receipts marked quarantined")
        if self.notices_of_quarantined:
            problems.append(f"{self.notices_of_quarantined} quarantined record(s) also "
                            "became notices")
        return problems


def invariants(engine: Engine, records: int) -> Invariants:
    """Receipts = records sent (each exactly once); no doubled notice, task or outbox key;
    each quarantined receipt has exactly one quarantine entry and no notice."""

    def count(query: Any) -> int:
        return int(connection.scalar(query) or 0)

    def unique(*columns: Any) -> bool:
        doubled = select(*columns).group_by(*columns).having(func.count() > 1)
        return count(select(func.count()).select_from(doubled.subquery())) == 0

    r, q = t.receipts.c, t.quarantine.c
    with engine.connect() as connection:
        return Invariants(
            receipts=count(select(func.count()).select_from(t.receipts)),
            records=records,
            receipt_keys_unique=unique(r.source_sha256, r.record_no),
            notices_unique=unique(t.notices.c.fingerprint),
            tasks_unique=unique(t.tasks.c.case_id, t.tasks.c.kind),
            outbox_unique=unique(t.outbox.c.key),
            quarantined=count(select(func.count()).select_from(t.quarantine)),
            quarantine_receipts=count(select(func.count()).where(r.outcome == "quarantined")),
            quarantine_unique=unique(q.receipt_id),
            notices_of_quarantined=count(
                select(func.count()).select_from(t.notices)
                .join(t.quarantine, q.receipt_id == t.notices.c.receipt_id)),
        )


# -- the batch --------------------------------------------------------------------------
def write_batch(folder: Path, notices: int, *, files: int = 3, seed: int = 11) -> list[Path]:
    """`notices` generated Brussels notices (re-sends, ~5% flawed records, triage) in
    `files` JSONL files, returned in the order a registry's batch may come in: last file
    first, so that judgments and eviction notices without a dwelling arrive before the
    petition that opens their case (they are quarantined, and must stay so)."""
    from domus.demo_data import generate_notices, write_jsonl

    records = list(generate_notices(notices, seed=seed, start=date(2026, 1, 5), days=200))
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(records) // files)
    paths = []
    for index in range(files):
        path = folder / f"notices-{index + 1}.jsonl"
        write_jsonl(records[index * size:(index + 1) * size], path)
        paths.append(path)
    return paths[::-1]


def record_count(paths: Sequence[Path]) -> int:
    return sum(1 for path in paths for line in path.read_text("utf-8").splitlines()
               if line.strip())


# -- `domus ingest`, killed -------------------------------------------------------------
def domus_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `domus` subprocess on this database (Prefect settings, e.g. a
    test server's PREFECT_API_URL, come from this process's environment)."""
    env = {**os.environ, "DOMUS_DATABASE_URL": database_url, "DOMUS_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(REPO)}
    env.pop("DOMUS_SMTP_URL", None)
    env.update(extra)
    return env


def start_domus(args: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[str]:
    """`domus ARGS…` in a session of its own, so that a kill takes its children too (the
    intake worker processes, Prefect's temporary server): as a crash or the OOM killer
    would."""
    return subprocess.Popen([*DOMUS, *args], env=dict(env), cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def kill_group(process: subprocess.Popen[str]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def receipts_in(engine: Engine) -> int:
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(t.receipts)) or 0)
    except Exception:  # noqa: BLE001 - not created yet (the schema is made by the run)
        return 0


@dataclass
class Kill:
    target: int  # receipts the kill waited for
    at_rows: int  # receipts in the database when the signal was sent
    finished_first: bool = False  # the run ended before the kill point


def ingest_killed(paths: Sequence[Path], env: Mapping[str, str], engine: Engine,
                  rng: random.Random, *, total: int, margin: int = 1,
                  timeout: float = 300) -> Kill:
    """Start `domus ingest PATHS`, wait until a random number of receipts (between those
    already there and `total` - `margin`) is committed, wait a random moment more (so the kill lands
    inside a chunk as often as between two), and SIGKILL the whole process group."""
    present = receipts_in(engine)
    if present >= total:
        return Kill(total, present, finished_first=True)
    target = rng.randint(present, max(present, total - margin))
    process = start_domus(["ingest", *map(str, paths), "--now", "2026-11-23T09:00:00"], env)
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if receipts_in(engine) >= target:
                time.sleep(rng.uniform(0, 0.05))
                break
            time.sleep(0.02)
        finished = process.poll() is not None
        kill_group(process)
    except BaseException:
        kill_group(process)
        raise
    return Kill(target, receipts_in(engine), finished)


def ingest(paths: Sequence[Path], env: Mapping[str, str]) -> dict[str, Any]:
    """A whole `domus ingest --json` run; its summary."""
    done = subprocess.run([*DOMUS, "ingest", *map(str, paths), "--now", "2026-11-23T09:00:00",
                           "--json"], env=dict(env), cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    if done.returncode not in (0, 3):
        raise AssertionError(f"domus ingest failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout)


# -- a private PostgreSQL cluster -------------------------------------------------------
PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of its own in a temporary folder on a free port, run as the
    `postgres` OS user (initdb refuses root): stopping it hard touches nobody else's
    database. `stop()` is `pg_ctl stop -m immediate`, a crash as far as clients can tell."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="domus-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [*args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check,
                              cwd="/tmp")

    def init(self) -> PrivatePostgres:
        os.chmod(self.folder, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.folder}'\nfsync = off\n"
                       "synchronous_commit = off\nfull_page_writes = off\n"
                       "max_connections = 50\n")
        return self

    def start(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.folder / "log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop",
                  check=False)

    @property
    def running(self) -> bool:
        return self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status",
                         check=False).returncode == 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def remove(self) -> None:
        self.stop("fast")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres().init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


# -- a small file system that fills up --------------------------------------------------
@contextmanager
def small_tmpfs(size: str = "256k") -> Iterator[Path]:
    """A tmpfs of `size` (root only), unmounted afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="domus-full-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)
        with suppress(OSError):
            folder.rmdir()


def fill(folder: Path) -> Path:
    """Fill the file system of `folder` to the last byte; the ballast file to delete."""
    ballast = folder / "ballast"
    with ballast.open("wb", buffering=0) as handle:
        for block in (b"\0" * 65536, b"\0" * 4096, b"\0"):
            with suppress(OSError):
                while handle.write(block):
                    pass
    return ballast


# -- an SMTP server that goes away ------------------------------------------------------
class GoingAway(RecordingHandler):
    """Accepts `k` messages; the next one hangs in DATA until the server is stopped (its
    connection then drops, as when a mail server is shut down or crashes mid-transfer).
    `reached` is set when that happens."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k
        self.reached = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if len(self.messages) >= self.k:
            self.reached.set()
            while True:
                await asyncio.sleep(3600)
        return await super().handle_DATA(server, session, envelope)
