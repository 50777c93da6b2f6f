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

    @field_validator("closures", mode="before")
    @classmethod
    def _split_closures(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def prefect_home(self) -> Path:
        return self.data_dir / "prefect"
