"""Domus's settings: environment variables (DOMUS_*) or a `.env` file (CONTRACT.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOMUS_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///domus.db"
    region: Literal["brussels", "flanders", "wallonia"] = "brussels"
    smtp_url: str | None = None
    secret_key: str | None = None
    #: letters, Prefect's home and other files Domus keeps
    data_dir: Path = Path("domus-data")
    #: a folder of playbooks an OCMW edits: `default.toml`, or `<NIS code>.toml` per OCMW
    playbook_dir: Path | None = None
    #: OCMW closing days for internal deadlines, e.g. "2026-12-24,2026-12-31"
    closures: Annotated[list[date], NoDecode] = Field(default_factory=list)
    #: notices per intake transaction
    chunk_size: int = Field(default=1000, ge=1, le=20000)
    #: processes that share a large intake file (split by procedure, so never by case)
    intake_workers: int = Field(default=2, ge=1, le=32)
    #: the web app's address as users reach it; e-mails and calendars link to cases there
    base_url: str = "http://127.0.0.1:8000"
    #: the sender of Domus's e-mails
    mail_from: str = "domus@localhost"
    #: SMTP connection attempts per delivery, and the first pause between them (doubling)
    smtp_attempts: int = Field(default=3, ge=1, le=10)
    smtp_backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    #: the OCMWs' letterheads: address, phone, e-mail, hours, signatory (domain/ocmw_profile.py)
    ocmw_file: Path | None = None
    #: the directory of partner programmes for referrals (default: the Brussels network)
    programmes_file: Path | None = None
    #: LibreOffice's `soffice` for --pdf (default: found on the PATH)
    soffice: str | None = None
    #: minutes between two sweeps under `domus serve`
    sweep_minutes: int = Field(default=5, ge=1, le=1440)
    #: a folder of incoming notice files that `domus serve` ingests (as `domus watch` does)
    watch_dir: Path | None = None
    #: seconds between two looks at the watched folder
    watch_seconds: float = Field(default=10, ge=1, le=3600)

    #: processes serving the web app under `domus serve` (one per core; the scheduler runs
    #: once, in the parent). bench/web.py: p95 131 ms with 1 on 2 cores, 75 ms with 2
    web_processes: int = Field(default=1, ge=1, le=64)
    #: minutes without a request after which a web session ends
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    #: hours after which a web session ends whatever happens
    session_max_hours: int = Field(default=12, ge=1, le=7 * 24)
    #: failed log-ins per e-mail address (and ten times that per client address) allowed in
    #: a quarter of an hour before further attempts are refused for that quarter
    login_attempts: int = Field(default=5, ge=1, le=1000)

    #: log lines on stderr: "text" for people, "json" (one object a line) for a log collector
    log_format: Literal["text", "json"] = "text"
    #: years after its outcome date a closed case is pseudonymised (`domus retention`);
    #: 0 keeps everything
    retention_years: int = Field(default=5, ge=0, le=100)

    @field_validator("closures", mode="before")
    @classmethod
    def _split_closures(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"
