"""The key that signs the web session cookies (domus.bootstrap.secret_key): generated once
and kept readable by its owner only, beside a SQLite database or in the data directory for
PostgreSQL; a DOMUS_SECRET_KEY that is too short is refused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from domus.bootstrap import MIN_SECRET_LENGTH, ConfigurationError, secret_key
from domus.settings import Settings


def settings(tmp_path: Path, url: str, key: str | None = None) -> Settings:
    """Settings for `url`; the key is given here (None: none), never read from the
    environment or a .env file of the machine running the tests."""
    return Settings(_env_file=None, database_url=url, data_dir=tmp_path / "data",  # type: ignore[call-arg]
                    secret_key=key)


def test_a_key_is_generated_once_beside_the_sqlite_database_for_its_owner_only(
        tmp_path: Path) -> None:
    chosen = settings(tmp_path, f"sqlite:///{tmp_path / 'db' / 'domus.db'}")
    key = secret_key(chosen)
    kept = tmp_path / "db" / "domus.db.secret"
    assert kept.read_text().strip() == key and len(key) >= MIN_SECRET_LENGTH
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert secret_key(chosen) == key  # the same key next time: sessions survive a restart
    assert [p.name for p in kept.parent.iterdir()] == ["domus.db.secret"]  # no draft left
    assert not (tmp_path / "data").exists()


def test_another_database_gets_another_key(tmp_path: Path) -> None:
    one = secret_key(settings(tmp_path, f"sqlite:///{tmp_path / 'one.db'}"))
    two = secret_key(settings(tmp_path, f"sqlite:///{tmp_path / 'two.db'}"))
    assert one != two


def test_postgresql_keeps_its_key_in_the_data_directory(tmp_path: Path) -> None:
    chosen = settings(tmp_path, "postgresql+psycopg://domus@db.example:5432/domus")
    key = secret_key(chosen)
    kept = tmp_path / "data" / "secret_key"
    assert kept.read_text().strip() == key
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert secret_key(chosen) == key


def test_the_environments_key_is_used_as_it_is(tmp_path: Path) -> None:
    given = "k" * MIN_SECRET_LENGTH
    chosen = settings(tmp_path, f"sqlite:///{tmp_path / 'domus.db'}", key=given)
    assert secret_key(chosen) == given
    assert not (tmp_path / "domus.db.secret").exists()


@pytest.mark.parametrize("weak", ["short", "k" * (MIN_SECRET_LENGTH - 1), "changethis", ""])
def test_a_short_domus_secret_key_is_refused(tmp_path: Path, weak: str) -> None:
    chosen = settings(tmp_path, f"sqlite:///{tmp_path / 'domus.db'}", key=weak)
    with pytest.raises(ConfigurationError, match="DOMUS_SECRET_KEY"):
        secret_key(chosen)


def test_a_kept_key_that_was_cut_short_is_refused(tmp_path: Path) -> None:
    (tmp_path / "domus.db.secret").write_text("too short")
    with pytest.raises(ConfigurationError, match="too short"):
        secret_key(settings(tmp_path, f"sqlite:///{tmp_path / 'domus.db'}"))
