"""The one place that wires settings, the database, the rule book and Prefect.

Nothing here runs at import time: entry points call `bootstrap()` (CLI, web) and flows
call `current()`, which builds the same thing once per process.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from domain.calendar import BelgianCalendar
from domain.ocmw_profile import OcmwProfile, ProfileError, parse_profiles
from domain.playbook import Playbook, PlaybookError, default_playbook, parse_playbook
from domain.programmes import DirectoryError, Programme, default_directory, parse_directory
from domain.regions import region_rules
from domain.rulebook import RuleBook
from domus.settings import Settings
from services.delivery import Delivery
from services.mail import SmtpTarget
from store.db import create_database_engine, migrate


class ConfigurationError(Exception):
    """Settings or an OCMW's file that Domus cannot use; the message names it."""


@dataclass(frozen=True)
class Domus:
    settings: Settings
    engine: Engine
    rules: RuleBook
    profiles: Mapping[str, OcmwProfile] = field(default_factory=dict)  # OCMW letterheads
    programmes: Mapping[str, Programme] = field(default_factory=default_directory)
    secret_key: str = field(default="", repr=False)  # signs the web session cookies

    def delivery(self) -> Delivery:
        """Mail delivery as the settings describe it (no SMTP URL: the outbox keeps it)."""
        settings = self.settings
        return Delivery(settings.smtp_url, settings.mail_from, settings.base_url,
                        attempts=settings.smtp_attempts,
                        backoff_seconds=settings.smtp_backoff_seconds)


def bootstrap(settings: Settings | None = None) -> Domus:
    """Open (and migrate) the database and load the rules for these settings."""
    settings = settings or Settings()
    if settings.smtp_url:
        try:
            SmtpTarget.from_url(settings.smtp_url)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
    rules, profiles = build_rulebook(settings), read_profiles(settings)
    programmes = read_programmes(settings)
    engine = create_database_engine(settings.database_url)
    migrate(engine)
    return Domus(settings, engine, rules, profiles, programmes, secret_key(settings))


_BUILT: dict[str, Domus] = {}


def current() -> Domus:
    """The process's Domus for the settings in the environment (flows and workers use
    this); built once per distinct settings."""
    settings = Settings()
    key = settings.model_dump_json()
    if key not in _BUILT:
        _BUILT[key] = bootstrap(settings)
    return _BUILT[key]


#: a secret shorter than this is refused: it would sign cookies anyone could forge
MIN_SECRET_LENGTH = 32


def secret_key(settings: Settings) -> str:
    """DOMUS_SECRET_KEY, else a key generated once and kept beside the database (SQLite)
    or in the data directory, readable by its owner only (CONTRACT.md, settings)."""
    if settings.secret_key is not None:
        if len(settings.secret_key) < MIN_SECRET_LENGTH or settings.secret_key in (
                "changethis", "change-me", "secret"):
            raise ConfigurationError(
                f"DOMUS_SECRET_KEY: at least {MIN_SECRET_LENGTH} random characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        return settings.secret_key
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(f"{url.database}.secret")
    else:
        path = settings.data_dir / "secret_key"
    if not path.exists():  # written whole, then linked: a second process never reads half
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:  # another process made it first: theirs counts
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigurationError(f"{path}: the secret key is too short; delete the file to "
                                 "make a new one (everyone will have to log in again)")
    return key


def build_rulebook(settings: Settings) -> RuleBook:
    """Region rules, the OCMW calendar with its closures, and the playbooks."""
    default, per_ocmw = default_playbook(), {}
    folder = settings.playbook_dir
    if folder is not None:
        if (folder / "default.toml").exists():
            default = _read_playbook(folder / "default.toml")
        per_ocmw = {path.stem: _read_playbook(path) for path in sorted(folder.glob("2*.toml"))}
    return RuleBook(region_rules(settings.region), BelgianCalendar(settings.closures),
                    default, per_ocmw)


def read_profiles(settings: Settings) -> dict[str, OcmwProfile]:
    """The OCMWs' letterhead particulars from DOMUS_OCMW_FILE (none: names only)."""
    path = settings.ocmw_file
    if path is None:
        return {}
    try:
        return parse_profiles(path.read_text(encoding="utf-8"), source=str(path))
    except OSError as exc:
        raise ConfigurationError(f"DOMUS_OCMW_FILE {path}: {exc.strerror or exc}") from None
    except ProfileError as exc:
        raise ConfigurationError(str(exc)) from None


def read_programmes(settings: Settings) -> dict[str, Programme]:
    """The partner programmes for referrals: DOMUS_PROGRAMMES_FILE, else the Brussels ones."""
    path = settings.programmes_file
    if path is None:
        return default_directory()
    try:
        return parse_directory(path.read_text(encoding="utf-8"), source=str(path))
    except OSError as exc:
        raise ConfigurationError(f"DOMUS_PROGRAMMES_FILE {path}: {exc.strerror or exc}") from None
    except DirectoryError as exc:
        raise ConfigurationError(str(exc)) from None


def _read_playbook(path: Path) -> Playbook:
    try:
        return parse_playbook(path.read_text(encoding="utf-8"))
    except (OSError, PlaybookError) as exc:
        raise ConfigurationError(f"{path}: {exc}") from None


# -- Prefect ------------------------------------------------------------------------------
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_DATABASE_MIGRATE_ON_START": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
}


def configure_prefect(settings: Settings) -> None:
    """Point Prefect at Domus's data directory before Prefect is imported. Values the
    operator set in the environment win (e.g. PREFECT_API_URL for a real server)."""
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home.resolve()))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)


def prepare_prefect(settings: Settings, say: Callable[[str], None]) -> None:
    """Without a Prefect server, Prefect runs a temporary one on a SQLite file in its home;
    set that file up once (16–25 s on a new machine) instead of on every start."""
    configure_prefect(settings)
    if os.environ.get("PREFECT_API_URL"):
        return
    import prefect

    stamp = Path(os.environ["PREFECT_HOME"]) / f".domus-migrated-{prefect.__version__}"
    if stamp.exists():
        return
    say("Preparing Prefect's local database in "
        f"{os.environ['PREFECT_HOME']} (first run only, about 20 seconds)…")
    import anyio
    from prefect.server.database.alembic_commands import alembic_upgrade
    from prefect.utilities.asyncutils import run_sync_in_worker_thread

    stamp.parent.mkdir(parents=True, exist_ok=True)
    anyio.run(run_sync_in_worker_thread, alembic_upgrade)
    stamp.touch()


def run_flow(flow: Callable[..., Any], **parameters: Any) -> Any:
    """Run a flow in this process with the flow-run heartbeat off (it costs a short sync
    flow about a second and Domus's own database is the system of record)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return flow(**parameters)


def stderr_say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
