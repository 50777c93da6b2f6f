"""Letters: one on request (`domus letter`) or every letter whose task is due (`domus
letters`), rendered from the active templates, stored under the data directory and
recorded in the letter register with the file's sha256 and the template versions used.

A letter in an unknown language is bilingual: the French and the Dutch letter in one
document. The batch closes the task each letter answers; a single tenant invitation
closes the case's `invitation_letter` task.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select, update

from domain.access import Actor
from domain.calendar import BelgianCalendar
from domain.ocmw_profile import OcmwProfile, profile_for
from services.access import may_read
from services.cases import CaseNotFound
from services.docx_render import CompiledTemplate, merge_documents
from services.letter_context import LetterFacts, build_context, letter_language
from services.letter_templates import (
    LETTER_KINDS,
    TemplateError,
    active_template,
    compile_template,
    template_bytes,
)
from store import tables as t
from store.sql import in_groups, insert_ignore

#: the task a letter answers: the batch renders these letters for due tasks
TASK_LETTERS = {"invitation_letter": "tenant_invitation",
                "landlord_contact": "landlord_mediation",
                "hearing_preparation": "court_report"}
BILINGUAL_ORDER = ("fr", "nl")
APPOINTMENT_AFTER_WORKING_DAYS = 3


class LetterError(ValueError):
    """A letter that cannot be made; the message says why."""


class LetterStorageError(LetterError):
    """A letter file could not be written (disk full, no permission): nothing was
    recorded, and no part of the file is left behind."""


def write_file(target: Path, data: bytes) -> None:
    """Write `data` to `target` completely or not at all: into a temporary file beside it,
    flushed to disk, then renamed over it. A full disk leaves no half-written letter (a
    truncated .docx would look fine in a folder listing and fail only at printing)."""
    part = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with part.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            part.unlink()
        raise LetterStorageError(f"cannot write {target}: {exc.strerror or exc}; "
                                 "nothing was recorded") from exc


def remove_files(paths: Iterable[Path]) -> None:
    """Take back the files of a letter (or batch) that was not recorded after all."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


@dataclass
class LetterMaker:
    """Renders letters for one request or batch: the templates are compiled once."""

    connection: Connection
    data_dir: Path
    profiles: Mapping[str, OcmwProfile]
    calendar: BelgianCalendar
    now: datetime
    _compiled: dict[tuple[str, str], tuple[int, CompiledTemplate]] = field(default_factory=dict)

    def template(self, kind: str, language: str) -> tuple[int, CompiledTemplate]:
        key = (kind, language)
        if key not in self._compiled:
            version = active_template(self.connection, kind, language, now=self.now)
            compiled = compile_template(template_bytes(version, self.data_dir),
                                        f"{language}/{kind} v{version.version}")
            self._compiled[key] = (version.version, compiled)
        return self._compiled[key]

    def render(self, facts: LetterFacts, ocmw: str | None, kind: str,
               language: str) -> tuple[bytes, dict[str, int]]:
        """The .docx of one letter and the template versions it used."""
        today = self.now.date()
        appointment = self.calendar.add_working_days(today, APPOINTMENT_AFTER_WORKING_DAYS,
                                                     internal=True)
        profile = profile_for(self.profiles, ocmw)
        languages = BILINGUAL_ORDER if language == "both" else (language,)
        parts, versions = [], {}
        for lang in languages:
            version, compiled = self.template(kind, lang)
            context = build_context(facts, profile, language=lang, today=today,
                                    appointment_on=appointment)
            parts.append(compiled.render(context))
            versions[lang] = version
        return (parts[0] if len(parts) == 1 else merge_documents(parts)), versions


def load_facts(connection: Connection,
               case_ids: Sequence[str]) -> dict[str, tuple[Any, LetterFacts]]:
    """Each case's row and letter facts, read in a few IN (...) queries."""
    cases: dict[str, Any] = {}
    for group in in_groups(list(case_ids)):
        for row in connection.execute(select(t.cases).where(t.cases.c.id.in_(group))):
            cases[row.id] = row
    notices: dict[str, list[Any]] = defaultdict(list)
    contacts: dict[str, list[Any]] = defaultdict(list)
    done: dict[str, list[Any]] = defaultdict(list)
    flags: dict[str, list[str]] = defaultdict(list)
    ids = list(cases)
    for group in in_groups(ids):
        for row in connection.execute(
            select(t.notices.c.case_id, t.notices.c.kind, t.notices.c.judgment_on,
                   t.notices.c.data).where(t.notices.c.case_id.in_(group))
            .order_by(t.notices.c.received_on, t.notices.c.id)):
            notices[row.case_id].append(row)
        for row in connection.execute(select(t.contacts).where(t.contacts.c.case_id.in_(group))
                                      .order_by(t.contacts.c.at, t.contacts.c.id)):
            contacts[row.case_id].append(row)
        for row in connection.execute(
            select(t.tasks.c.case_id, t.tasks.c.kind, t.tasks.c.updated_at).where(
                t.tasks.c.case_id.in_(group), t.tasks.c.status == "done")
            .order_by(t.tasks.c.updated_at)):
            done[row.case_id].append(row)
        for row in connection.execute(select(t.flags.c.case_id, t.flags.c.code).where(
                t.flags.c.case_id.in_(group)).order_by(t.flags.c.code)):
            flags[row.case_id].append(row.code)
    names = dict(connection.execute(select(t.users.c.email, t.users.c.name).where(
        t.users.c.email.in_({row.caseworker for row in cases.values() if row.caseworker}))).all())
    found = {}
    for case_id, row in cases.items():
        found[case_id] = (row, _facts(row, notices[case_id], contacts[case_id], done[case_id],
                                      flags[case_id], names))
    return found


def _facts(row: Any, notices: list[Any], contacts: list[Any], done: list[Any],
           flags: list[str], names: Mapping[str, str]) -> LetterFacts:
    latest_data: dict[str, Any] = {}
    for notice in notices:  # the latest notice that says something wins
        for key in ("landlord", "arrears_eur", "monthly_rent_eur"):
            if notice.data.get(key):
                latest_data[key] = notice.data[key]
    judgments = [n.judgment_on for n in notices if n.kind == "judgment" and n.judgment_on]
    kinds = {n.kind for n in notices}
    stage = ("eviction" if "eviction_notice" in kinds else
             "judgment" if "judgment" in kinds else "petition")
    return LetterFacts(
        case_id=row.id, court=row.court, docket_number=row.docket_number,
        tenant_first_name=row.tenant_first_name, tenant_last_name=row.tenant_last_name,
        street=row.street, house_number=row.house_number, box=row.box,
        postcode=row.postcode, municipality=row.municipality, hearing_at=row.hearing_at,
        judgment_on=judgments[-1] if judgments else None,
        earliest_eviction_on=row.earliest_eviction_on, eviction_at=row.eviction_at,
        landlord=latest_data.get("landlord"), arrears=latest_data.get("arrears_eur"),
        monthly_rent=latest_data.get("monthly_rent_eur"), flags=tuple(flags),
        contacts=tuple((c.at, c.channel, c.result, c.note) for c in contacts),
        tasks_done=tuple((d.kind, d.updated_at.date()) for d in done),
        caseworker_name=names.get(row.caseworker) if row.caseworker else None,
        caseworker_email=row.caseworker, stage=stage)


def store_file(data_dir: Path, case_id: str, kind: str, language: str, key: str,
               data: bytes, now: datetime) -> tuple[str, str]:
    """Write a letter under the data directory; (relative path, sha256)."""
    name = f"{case_id}-{kind}-{language}-{key}.docx"
    relative = Path("letters") / f"{now:%Y}" / f"{now:%m}" / name
    write_file(data_dir / relative, data)
    return relative.as_posix(), hashlib.sha256(data).hexdigest()


def make_letter(engine: Engine, case_id: str, kind: str, language: str | None, *,
                actor: Actor, data_dir: Path, profiles: Mapping[str, OcmwProfile],
                calendar: BelgianCalendar, now: datetime,
                copy_to: Path | None = None) -> dict[str, Any]:
    """One letter, stored (and copied to `copy_to`) and registered; a tenant invitation
    closes the invitation task. All or nothing: when a file cannot be written or the
    register refuses, the files written are taken back and nothing is recorded."""
    if kind not in LETTER_KINDS:
        raise LetterError(f"--kind {kind!r}: one of {', '.join(LETTER_KINDS)}")
    if language not in (None, "nl", "fr", "both"):
        raise LetterError(f"--lang {language!r}: nl, fr or both")
    written: list[Path] = []
    try:
        return _make_letter(engine, case_id, kind, language, actor=actor, data_dir=data_dir,
                            profiles=profiles, calendar=calendar, now=now, copy_to=copy_to,
                            written=written)
    except BaseException:
        remove_files(written)
        raise


def _make_letter(engine: Engine, case_id: str, kind: str, language: str | None, *,
                 actor: Actor, data_dir: Path, profiles: Mapping[str, OcmwProfile],
                 calendar: BelgianCalendar, now: datetime, copy_to: Path | None,
                 written: list[Path]) -> dict[str, Any]:
    with engine.begin() as connection:
        found = load_facts(connection, [case_id]).get(case_id)
        if found is None or not may_read(connection, actor, case_id, found[0].ocmw):
            raise CaseNotFound(f"case {case_id} not found")
        row, facts = found
        language = language or letter_language(kind, tenant_language=row.tenant_language,
                                               court=row.court)
        maker = LetterMaker(connection, data_dir, profiles, calendar, now)
        data, versions = maker.render(facts, row.ocmw, kind, language)
        path, digest = store_file(data_dir, case_id, kind, language, uuid.uuid4().hex[:12],
                                  data, now)
        written.append(data_dir / path)
        if copy_to is not None:
            write_file(copy_to, data)
            written.append(copy_to)
        letter_id = connection.execute(t.letters.insert().values(
            case_id=case_id, kind=kind, language=language, template_versions=versions,
            path=path, sha256=digest, created_by=actor.name, created_at=now)
        ).inserted_primary_key[0]
        closed = []
        if kind == "tenant_invitation":
            closed = _close_tasks(connection, case_id, "invitation_letter", now)
    return {"id": letter_id, "case_id": case_id, "kind": kind, "lang": language,
            "path": str(data_dir / path),
            "sha256": digest, "template_versions": versions, "closed_tasks": closed,
            "created_at": now.isoformat(), "data": data}


def record_pdf(engine: Engine, letter_id: int, pdf_path: str) -> None:
    with engine.begin() as connection:
        connection.execute(update(t.letters).where(t.letters.c.id == letter_id)
                           .values(pdf_path=pdf_path))


def _close_tasks(connection: Connection, case_id: str, task_kind: str,
                 now: datetime) -> list[int]:
    ids = list(connection.scalars(select(t.tasks.c.id).where(
        t.tasks.c.case_id == case_id, t.tasks.c.kind == task_kind, t.tasks.c.status == "open")))
    if ids:
        connection.execute(update(t.tasks).where(t.tasks.c.id.in_(ids))
                           .values(status="done", updated_at=now))
    return ids


#: built once (a statement built per call cost more than running it); `ids`: one IN group
_OF_CASES = (select(t.letters).where(t.letters.c.case_id.in_(bindparam("ids", expanding=True)))
             .order_by(t.letters.c.created_at, t.letters.c.id))


def letters_of(connection: Connection, case_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """The letter register of these cases, oldest first (CONTRACT.md `case`: letters)."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for group in in_groups(list(case_ids)):
        for row in connection.execute(_OF_CASES, {"ids": group}):
            found[row.case_id].append({
                "id": row.id, "kind": row.kind, "lang": row.language,
                "created_at": row.created_at.isoformat(), "sha256": row.sha256,
                "template_versions": row.template_versions, "created_by": row.created_by,
                "path": row.path, "pdf_path": row.pdf_path})
    return found


# -- the batch ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DueLetter:
    task_id: int
    case_id: str
    kind: str


def due_letters(connection: Connection, *, due_before: date, actor: Actor) -> list[DueLetter]:
    """Open letter tasks due before `due_before` on live cases the actor may see."""
    rows = connection.execute(
        select(t.tasks.c.id, t.tasks.c.case_id, t.tasks.c.kind, t.cases.c.ocmw)
        .join(t.cases, t.cases.c.id == t.tasks.c.case_id)
        .where(t.tasks.c.status == "open", t.tasks.c.due_on < due_before,
               t.tasks.c.kind.in_(list(TASK_LETTERS)), t.cases.c.status == "open")
        .order_by(t.cases.c.ocmw, t.tasks.c.due_on, t.tasks.c.id))
    return [DueLetter(r.id, r.case_id, TASK_LETTERS[r.kind]) for r in rows
            if actor.may_read_case(r.ocmw)]


def make_due_letters(engine: Engine, due: Sequence[DueLetter], *, actor: Actor,
                     data_dir: Path, profiles: Mapping[str, OcmwProfile],
                     calendar: BelgianCalendar, now: datetime) -> list[dict[str, Any]]:
    """Render, store and register the letters of these tasks and close the tasks.

    Three steps, so that the database's write lock is never held while letters render:
    read the cases and make sure the templates are registered; render and write the files
    (named by task, so a re-run overwrites them); then one short transaction registers the
    letters (one per task: a re-run adds none twice) and closes the tasks."""
    made, rows = render_due_letters(engine, due, actor=actor, data_dir=data_dir,
                                    profiles=profiles, calendar=calendar, now=now)
    register_letters(engine, rows, now=now)
    return made


def render_due_letters(engine: Engine, due: Sequence[DueLetter], *, actor: Actor,
                       data_dir: Path, profiles: Mapping[str, OcmwProfile],
                       calendar: BelgianCalendar,
                       now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The first two steps of `make_due_letters`: (letters made, register rows). Nothing
    is recorded yet; when a file cannot be written, those written are taken back."""
    if not due:
        return [], []
    with engine.begin() as connection:
        facts = load_facts(connection, sorted({d.case_id for d in due}))
        maker = LetterMaker(connection, data_dir, profiles, calendar, now)
        plans = []
        for item in due:
            row, case_facts = facts[item.case_id]
            language = letter_language(item.kind, tenant_language=row.tenant_language,
                                       court=row.court)
            for lang in BILINGUAL_ORDER if language == "both" else (language,):
                maker.template(item.kind, lang)  # compiled now, registered if new
            plans.append((item, row, case_facts, language))
    made: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    try:
        for item, row, case_facts, language in plans:
            _render_one(maker, item, row, case_facts, language, actor=actor,
                        data_dir=data_dir, now=now, made=made, rows=rows)
    except BaseException:
        remove_files(data_dir / r["path"] for r in rows)
        raise
    return made, rows


def _render_one(maker: LetterMaker, item: DueLetter, row: Any, case_facts: LetterFacts,
                language: str, *, actor: Actor, data_dir: Path, now: datetime,
                made: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    data, versions = maker.render(case_facts, row.ocmw, item.kind, language)
    path, digest = store_file(data_dir, item.case_id, item.kind, language,
                              f"task{item.task_id}", data, now)
    rows.append({"case_id": item.case_id, "kind": item.kind, "language": language,
                 "template_versions": versions, "task_id": item.task_id,
                 "path": path, "sha256": digest, "pdf_path": None,
                 "created_by": actor.name, "created_at": now})
    made.append({"task_id": item.task_id, "case_id": item.case_id, "kind": item.kind,
                 "lang": language, "path": path, "sha256": digest,
                 "docket_number": row.docket_number, "data": data})


def register_letters(engine: Engine, rows: Sequence[dict[str, Any]], *, now: datetime) -> None:
    """The third step: one short transaction registers the letters (one per task: a re-run
    adds none twice) and closes their tasks."""
    if not rows:
        return
    with engine.begin() as connection:
        insert_ignore(connection, t.letters, list(rows), ["task_id"])
        for group in in_groups([row["task_id"] for row in rows]):
            connection.execute(update(t.tasks).where(t.tasks.c.id.in_(group),
                                                     t.tasks.c.status == "open")
                               .values(status="done", updated_at=now))


__all__ = ["LetterError", "LetterStorageError", "TemplateError", "make_letter",
           "make_due_letters", "render_due_letters", "register_letters", "due_letters",
           "letters_of", "load_facts", "TASK_LETTERS"]
