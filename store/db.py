"""Engine, sessions and schema migrations for Domus's own database.

SQLite (the embedded default) runs in WAL mode with foreign keys on; PostgreSQL is the
production database. `open_database` upgrades the schema to the newest migration, so
every command that opens the database needs no separate init step (CONTRACT.md).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")
#: SQLite's page cache per connection: the unique indexes of a growing database stay in
#: memory during intake (the default 2 MB made the marginal rate fall as the file grew)
SQLITE_CACHE_KIB = 32 * 1024
#: connections kept open per engine: `domus serve` runs page requests on up to 40 threads,
#: and a connection past the pool is closed when returned (a new one costs its PRAGMAs and
#: schema read on SQLite, a backend process on PostgreSQL). Last in, first out: the few
#: connections a steady load needs are reused with their warm caches, the others idle
POOL = {"pool_size": 20, "max_overflow": 20, "pool_use_lifo": True}


def create_database_engine(url: str) -> Engine:
    """An engine for `url`; SQLite connections get WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    json_codec = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **POOL, **json_codec)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    pool = POOL if parsed.database and parsed.database != ":memory:" else {}
    engine = create_engine(url, connect_args={"timeout": 30}, **pool, **json_codec)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute("PRAGMA wal_autocheckpoint=8192")  # pages; fewer, larger checkpoints
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a no-op when it is there already).

    Several processes may open a new database at once (intake workers, two commands).
    PostgreSQL serialises them with an advisory lock (migrations/env.py); SQLite runs DDL
    outside transactions, so there a lock file beside the database does it."""
    config = alembic_config(engine)
    head = ScriptDirectory.from_config(config).get_current_head()
    if _revision(engine) == head:
        return
    with _sqlite_migration_lock(engine):
        if _revision(engine) != head:
            command.upgrade(config, "head")


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
