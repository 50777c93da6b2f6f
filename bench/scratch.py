"""A throw-away database for a benchmark: a SQLite file in a folder, or a PostgreSQL
database of its own on the server of `admin_url`, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text


@contextmanager
def scratch_database(kind: str, sqlite_file: Path, admin_url: str) -> Iterator[str]:
    if kind == "sqlite":
        try:
            yield f"sqlite:///{sqlite_file}"
        finally:
            for leftover in sqlite_file.parent.glob(f"{sqlite_file.name}*"):
                leftover.unlink()
        return
    name = f"domus_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
