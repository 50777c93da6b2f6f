"""Test fixtures: a fresh database on SQLite and on PostgreSQL, and one Prefect server.

PostgreSQL is at 127.0.0.1:5432 (user postgres, trust) on developer machines and in CI; the
tests create a database of their own there and drop it afterwards. They never skip it.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

# Prefect reads its settings when it is first imported: keep it out of the developer's home.
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="domus-test-prefect-"))
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "240")

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from domus.bootstrap import Domus, bootstrap  # noqa: E402
from domus.settings import Settings  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "DOMUS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 11, 23, 9, 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'domus.db'}"
        return
    yield from _postgres_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'domus.db'}"


def _postgres_database() -> Iterator[str]:
    name = f"domus_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for a fresh database, also in the environment (flows and the CLI read it)."""
    monkeypatch.setenv("DOMUS_DATABASE_URL", database_url)
    monkeypatch.setenv("DOMUS_DATA_DIR", str(tmp_path / "data"))
    return Settings()


@pytest.fixture
def domus(settings: Settings) -> Iterator[Domus]:
    app = bootstrap(settings)
    yield app
    app.engine.dispose()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One Prefect test server for the whole session (its first start migrates a new
    database, which takes 15–25 s here); subprocesses reach it through PREFECT_API_URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):
        url = PREFECT_API_URL.value()
        os.environ["PREFECT_API_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("PREFECT_API_URL", None)
