"""Letter templates: the packaged ones (templates/letters/<lang>/<kind>.docx) and the ones
an administrator uploads, every version kept and one active per kind and language.

A template is accepted only when it compiles in the sandbox and uses no field outside the
letter context (services/letter_context.py, templates/letters/README.md). Each letter
records the template versions it was rendered with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from services.docx_render import CompiledTemplate, TemplateRejected
from services.letter_context import CONTEXT_NAMES
from store import tables as t
from store.sql import insert_ignore

PACKAGED = Path(__file__).resolve().parents[1] / "templates" / "letters"
LETTER_KINDS = ("tenant_invitation", "landlord_mediation", "visit_notice", "court_report")
LANGUAGES = ("nl", "fr")
PACKAGED_PREFIX = "packaged:"


class TemplateError(ValueError):
    """A template that cannot be used; the message names the kind, language and problem."""


@dataclass(frozen=True)
class TemplateVersion:
    id: int
    kind: str
    language: str
    version: int
    sha256: str
    path: str
    source: str

    def file(self, data_dir: Path) -> Path:
        if self.path.startswith(PACKAGED_PREFIX):
            return PACKAGED / self.path.removeprefix(PACKAGED_PREFIX)
        return data_dir / self.path


def check_kind(kind: str, language: str) -> None:
    if kind not in LETTER_KINDS:
        raise TemplateError(f"letter kind {kind!r}: one of {', '.join(LETTER_KINDS)}")
    if language not in LANGUAGES:
        raise TemplateError(f"template language {language!r}: nl or fr")


def active_template(connection: Connection, kind: str, language: str, *,
                    now: datetime) -> TemplateVersion:
    """The active version, registering the packaged template on first use and again
    whenever the packaged file changed while it is the one in use."""
    check_kind(kind, language)
    row = _active(connection, kind, language)
    if row is None or row.source == "packaged":
        packaged = PACKAGED / language / f"{kind}.docx"
        digest = hashlib.sha256(packaged.read_bytes()).hexdigest()
        if row is None or row.sha256 != digest:
            _register(connection, kind, language, digest,
                      f"{PACKAGED_PREFIX}{language}/{kind}.docx", "packaged",
                      "the template that comes with Domus", "domus", now)
            row = _active(connection, kind, language)
    assert row is not None
    return row


def _active(connection: Connection, kind: str, language: str) -> TemplateVersion | None:
    row = connection.execute(select(t.letter_templates).where(
        t.letter_templates.c.kind == kind, t.letter_templates.c.language == language,
        t.letter_templates.c.active.is_(True)).order_by(t.letter_templates.c.version.desc())
    ).first()
    return _version(row) if row else None


def _version(row: Any) -> TemplateVersion:
    return TemplateVersion(row.id, row.kind, row.language, row.version, row.sha256, row.path,
                           row.source)


def _register(connection: Connection, kind: str, language: str, digest: str, path: str,
              source: str, note: str | None, who: str, now: datetime) -> int:
    version = (connection.scalar(select(func.max(t.letter_templates.c.version)).where(
        t.letter_templates.c.kind == kind, t.letter_templates.c.language == language)) or 0) + 1
    _add_version(connection, kind, language, version, {
        "sha256": digest, "path": path, "source": source, "note": note, "created_by": who,
        "created_at": now})
    return version


def _add_version(connection: Connection, kind: str, language: str, version: int,
                 values: dict[str, Any]) -> None:
    """`version` becomes the active one. Two first uses at once (two web processes making
    their first letter) both count version 1: the unique key keeps one row, and only older
    versions are deactivated, so the one that won stays active (deactivating every version
    left none active on SQLite, where the second waits for the first's commit, and its
    letter failed with a 500 under bench/load.py)."""
    templates = t.letter_templates.c
    connection.execute(update(t.letter_templates).where(
        templates.kind == kind, templates.language == language, templates.version < version)
        .values(active=False))
    insert_ignore(connection, t.letter_templates, [{
        "kind": kind, "language": language, "version": version, "active": True, **values}],
        ["kind", "language", "version"])


def add_template(engine: Engine, kind: str, language: str, data: bytes, *, data_dir: Path,
                 note: str | None, who: str, now: datetime) -> TemplateVersion:
    """Check an administrator's Word file and make it the active version."""
    check_kind(kind, language)
    compile_template(data, f"{language}/{kind}")
    digest = hashlib.sha256(data).hexdigest()
    with engine.begin() as connection:
        version = (connection.scalar(select(func.max(t.letter_templates.c.version)).where(
            t.letter_templates.c.kind == kind,
            t.letter_templates.c.language == language)) or 0) + 1
        relative = Path("templates") / kind / language / f"v{version}-{digest[:12]}.docx"
        target = data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        _register(connection, kind, language, digest, relative.as_posix(), "uploaded", note,
                  who, now)
        row = _active(connection, kind, language)
    assert row is not None
    return row


def activate(engine: Engine, kind: str, language: str, version: int) -> TemplateVersion:
    """Go back (or forward) to another kept version."""
    check_kind(kind, language)
    with engine.begin() as connection:
        found = connection.execute(select(t.letter_templates).where(
            t.letter_templates.c.kind == kind, t.letter_templates.c.language == language,
            t.letter_templates.c.version == version)).first()
        if found is None:
            raise TemplateError(f"no version {version} of the {language} {kind} template")
        connection.execute(update(t.letter_templates).where(
            t.letter_templates.c.kind == kind, t.letter_templates.c.language == language)
            .values(active=t.letter_templates.c.version == version))
        return _version(found)


def list_templates(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(t.letter_templates).order_by(
        t.letter_templates.c.kind, t.letter_templates.c.language, t.letter_templates.c.version))
    return [{"kind": r.kind, "language": r.language, "version": r.version,
             "active": r.active, "source": r.source, "sha256": r.sha256, "note": r.note,
             "created_by": r.created_by, "created_at": r.created_at.isoformat()} for r in rows]


def template_bytes(version: TemplateVersion, data_dir: Path) -> bytes:
    return version.file(data_dir).read_bytes()


def compile_template(data: bytes, name: str) -> CompiledTemplate:
    """The template compiled in the sandbox; TemplateError says what is wrong with it."""
    try:
        return _compiled(data, name)
    except TemplateRejected as exc:
        raise TemplateError(f"template {exc}") from None


@lru_cache(maxsize=32)
def _compiled(data: bytes, name: str) -> CompiledTemplate:
    return CompiledTemplate.from_bytes(data, allowed_names=CONTEXT_NAMES, name=name)
