"""What the web app's Import and Templates pages need beyond the CLI's services (issue 6).

- Uploads and hand-encoded notices are kept under DOMUS_DATA_DIR/incoming/ before anything
  else happens (nothing received is ever lost), named `<kind>-<time>-<random>[-<name>].<suffix>`;
  that file name is the batch's reference on the pages (`/import/batches/<name>`).
- An upload is ingested by a runner in the background (`IntakeRuns`); the state of the run
  is read back from the `batches` table, so a summary page works after a restart. A run that
  failed leaves a batch row with `summary = {"error": …}` and no `finished_at`; the few
  seconds before the flow writes its first row are known only to the running process.
- A quarantined record is corrected field by field (`correction`) as `domus quarantine fix
  --set` does, then re-ingested by `services.review.reingest`.
- An administrator sees the batches of their OCMW and those of the local operator, as the
  review queues (`services.review.owned_batch`); another OCMW's batch is not found.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, func, insert, or_, select, update

from domain.access import Actor
from services import review
from services.access import may_read
from services.intake import owner_of
from services.letter_templates import TemplateError, TemplateVersion, check_kind
from services.readers import SUFFIXES, UnreadableFile
from services.summary import IntakeSummary, split_partition
from store import tables as t

#: the largest notice file the web app takes
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: batches listed on the import page
RECENT = 20
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")

#: the notice's fields as the forms show them (CONTRACT.md, "Notice (JSON)"), in order
NOTICE_FIELDS = (
    "kind", "court", "docket_number", "received_on",
    "filed_on", "served_on", "hearing_at", "judgment_on", "notified_on", "eviction_at",
    "moratorium_lifted",
    "tenant.first_name", "tenant.last_name", "tenant.language", "tenant.phone",
    "tenant.email", "tenant.birth_date",
    "dwelling.street", "dwelling.number", "dwelling.box", "dwelling.postcode",
    "dwelling.municipality",
    "landlord.name", "landlord.kind", "landlord.street", "landlord.number",
    "landlord.postcode", "landlord.municipality", "landlord.email",
    "arrears_eur", "monthly_rent_eur",
)


class UploadRefused(ValueError):
    """An upload that is not kept: `code` says why (the page words it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# -- keeping what was received -------------------------------------------------------------
def incoming_dir(data_dir: Path) -> Path:
    folder = (data_dir / "incoming").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep_upload(data_dir: Path, filename: str, stream: BinaryIO, *, now: datetime,
                kind: str = "web", limit: int = MAX_UPLOAD_BYTES) -> Path:
    """Copy an uploaded file under incoming/ as it came, keeping its suffix; refuse an
    unknown suffix ("suffix"), an empty file ("empty") or one over `limit` ("too_large")."""
    original = Path(filename or "")
    suffix = original.suffix.lower()
    if not original.name:
        raise UploadRefused("no_file")
    if suffix not in SUFFIXES:
        raise UploadRefused("suffix")
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", original.stem).strip("_-")[:60]
    path = _new_name(incoming_dir(data_dir), kind, now, stem, suffix)
    size = 0
    with path.open("xb") as target:
        while block := stream.read(1 << 20):
            size += len(block)
            if size > limit:
                break
            target.write(block)
    if size > limit or size == 0:
        path.unlink()
        raise UploadRefused("too_large" if size else "empty")
    return path


def keep_notice(data_dir: Path, record: dict[str, Any], *, now: datetime) -> Path:
    """A hand-encoded notice, kept as a JSON file like an upload."""
    path = _new_name(incoming_dir(data_dir), "notice", now, "", ".json")
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def _new_name(folder: Path, kind: str, now: datetime, stem: str, suffix: str) -> Path:
    name = f"{kind}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"
    return folder / (f"{name}-{stem}{suffix}" if stem else f"{name}{suffix}")


def kept_file(data_dir: Path, ref: str) -> Path | None:
    """The file under incoming/ that `ref` names, or None (never a path outside it)."""
    if not NAME.fullmatch(ref) or ".." in ref or Path(ref).suffix.lower() not in SUFFIXES:
        return None
    path = incoming_dir(data_dir) / ref
    return path if path.is_file() else None


# -- running an upload in the background ---------------------------------------------------
Job = Callable[[Path, datetime, Actor | None], Any]


class IntakeRuns:
    """The uploads this process is ingesting, and why a run failed.

    `job(path, now, owner)` ingests one kept file imported by `owner` (the web app passes
    the intake flow; tests pass a synchronous `ingest_source`); with `background` it runs
    in a thread of its own so the request returns at once. A failure is also written to
    the `batches` table.
    """

    def __init__(self, job: Job, *, background: bool = True,
                 markers: Path | None = None) -> None:
        self.job, self.background = job, background
        #: with several web processes (`domus serve --processes`), each run leaves a marker
        #: `markers/<name>.running` holding its process id, so every process sees it
        self.markers = markers
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._failed: dict[str, str] = {}

    def start(self, engine: Engine, path: Path, now: datetime,
              owner: Actor | None = None) -> bool:
        """Start ingesting `path` for `owner`; False when it is being ingested already."""
        with self._lock:
            if path.name in self._running:
                return False
            self._running.add(path.name)
            self._failed.pop(path.name, None)
        marker = self._marker(path.name)
        if marker:  # before the thread starts: another process may be asked at once
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(str(os.getpid()))
        if not self.background:
            self._run(engine, path, now, owner)
            return True
        context = contextvars.copy_context()  # Prefect's settings, if the caller has any
        threading.Thread(target=context.run, args=(self._run, engine, path, now, owner),
                         name=f"intake {path.name}", daemon=True).start()
        return True

    def running(self, name: str) -> bool:
        with self._lock:
            if name in self._running:
                return True
        return self._marked(name)

    def _marker(self, name: str) -> Path | None:
        return self.markers / f"{name}.running" if self.markers else None

    def _marked(self, name: str) -> bool:
        """Another process of this server is ingesting `name` (its marker names a live
        process; a marker left by a process that died does not count)."""
        marker = self._marker(name)
        try:
            pid = int(marker.read_text()) if marker else 0
        except (OSError, ValueError):
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return pid > 0

    def failure(self, name: str) -> str | None:
        with self._lock:
            return self._failed.get(name)

    def _run(self, engine: Engine, path: Path, now: datetime, owner: Actor | None) -> None:
        marker = self._marker(path.name)
        try:
            self.job(path, now, owner)
        except Exception as exc:  # shown on the batch page; the file stays in incoming/
            message = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, UnreadableFile):  # binary, not text: one line, as the CLI
                message = str(exc).replace(str(path), path.name)  # says it, no server path
            with self._lock:
                self._failed[path.name] = message
            with contextlib.suppress(Exception):  # the database may be what failed
                record_failure(engine, path, now, message, owner)
        finally:
            if marker:
                marker.unlink(missing_ok=True)
            with self._lock:
                self._running.discard(path.name)


def record_failure(engine: Engine, path: Path, now: datetime, message: str,
                   owner: Actor | None = None) -> None:
    """Keep why a run of `path` failed in its batch row (made, for `owner`, when there is
    none yet)."""
    with engine.begin() as connection:
        changed = connection.execute(
            update(t.batches).where(_of_file(path), t.batches.c.started_at == now,
                                    t.batches.c.finished_at.is_(None))
            .values(summary={"error": message})).rowcount
        if not changed:
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""
            ocmw, email = owner_of(owner)
            connection.execute(insert(t.batches).values(
                source=str(path), sha256=digest, started_at=now, summary={"error": message},
                ocmw=ocmw, imported_by=email))


def _of_file(path: Path) -> Any:
    source = str(path)
    return or_(t.batches.c.source == source,
               t.batches.c.source.startswith(f"{source} (partition ", autoescape=True))


# -- batches as the pages show them --------------------------------------------------------
@dataclass
class BatchView:
    ref: str
    label: str  # the file as a person reads it
    state: str  # "running" | "done" | "failed" | "interrupted"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    summary: dict[str, Any] | None = None
    kept: str | None = None  # the file's name under incoming/
    batch_ids: list[int] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)


def recent_batches(connection: Connection, data_dir: Path, runs: IntakeRuns | None,
                   actor: Actor, limit: int = RECENT) -> list[BatchView]:
    """The latest batches `actor` may see, newest first (the partitions of one run as
    one)."""
    rows = connection.execute(select(t.batches).where(review.owned_batch(actor))
                              .order_by(t.batches.c.id.desc()).limit(limit * 4)).all()
    groups: dict[tuple[str, datetime], list[Any]] = {}
    for row in rows:
        groups.setdefault((_base_source(row.source), row.started_at), []).append(row)
    incoming = incoming_dir(data_dir)
    views = []
    for (source, _), members in list(groups.items())[:limit]:
        path = Path(source)
        ref = path.name if path.parent == incoming else str(members[-1].id)
        views.append(_view(ref, source, members, runs))
    return views


def batch(connection: Connection, ref: str, data_dir: Path, runs: IntakeRuns | None,
          actor: Actor) -> BatchView | None:
    """The batch `ref` names (a kept file's name, or a batch id), its latest run with its
    quarantined records; None when there is no such batch that `actor` may see (a kept
    file of which no run is known yet is shown: it is on its way)."""
    owned = review.owned_batch(actor)
    if ref.isdigit():
        row = connection.execute(select(t.batches).where(t.batches.c.id == int(ref), owned)
                                 ).first()
        if row is None:
            return None
        view = _view(ref, row.source, [row], runs)
    else:
        path = kept_file(data_dir, ref)
        if path is None:
            return None
        mine = connection.execute(select(t.batches).where(_of_file(path), owned)
                                  .order_by(t.batches.c.id)).all()
        if not mine and connection.scalar(
                select(t.batches.c.id).where(_of_file(path)).limit(1)) is not None:
            return None  # another OCMW's file
        rows = _latest_run(mine)
        view = _view(ref, str(path), rows, runs)
        view.kept = path.name
    if view.summary:
        digests = {row.sha256 for row in connection.execute(
            select(t.batches.c.sha256).where(t.batches.c.id.in_(view.batch_ids)))}
        view.quarantined = _quarantined_of(connection, digests, view.summary["quarantined"])
    return view


def _latest_run(rows: list[Any]) -> list[Any]:
    """The rows of the latest run of one file (its partitions share `started_at`): those
    after the last failure, else that failure."""
    failed = [i for i, row in enumerate(rows) if _error_of(row)]
    if failed:
        rows = rows[failed[-1] + 1:] or [rows[failed[-1]]]
    latest = max((row.started_at for row in rows), default=None)
    return [row for row in rows if row.started_at == latest]


def _error_of(row: Any) -> str | None:
    return row.summary.get("error") if isinstance(row.summary, dict) else None


def _view(ref: str, source: str, rows: list[Any], runs: IntakeRuns | None) -> BatchView:
    view = BatchView(ref, file_label(source), "interrupted",
                     started_at=min((r.started_at for r in rows), default=None))
    errors = [error for error in map(_error_of, rows) if error]
    name = Path(source).name
    if runs is not None and runs.running(name):
        view.state = "running"
    elif runs is not None and runs.failure(name) or errors:
        view.state, view.error = "failed", (runs.failure(name) if runs else None) or errors[0]
    elif rows and all(r.finished_at for r in rows):
        total = IntakeSummary()
        for row in rows:  # a correction made before 0009 kept no summary
            if row.summary:
                total.add(IntakeSummary.from_json(row.summary))
        view.state, view.finished_at = "done", max(r.finished_at for r in rows)
        view.summary, view.batch_ids = total.to_json(), [r.id for r in rows]
    return view


def _base_source(source: str) -> str:
    return split_partition(source)[0]


def file_label(source: str) -> str:
    """`/srv/domus-data/incoming/web-20261123-090000-1a2b3c4d-notices.csv` → `notices.csv`
    (the name it was uploaded with); a correction's source names the file the same way."""
    name = re.sub(r"(?:[^\s/]*/)+", "", _base_source(source))
    return re.sub(r"^web-\d{8}-\d{6}-[0-9a-f]{8}-(?=.)", "", name)


def _quarantined_of(connection: Connection, digests: set[str],
                    listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The summary's quarantined records with their queue entries (to review them)."""
    numbers = [q["record"] for q in listed]
    entries = {row.record_no: row for row in connection.execute(
        select(t.quarantine.c.id, t.quarantine.c.resolved_at, t.receipts.c.record_no)
        .join(t.receipts, t.receipts.c.id == t.quarantine.c.receipt_id)
        .where(t.receipts.c.source_sha256.in_(digests), t.receipts.c.record_no.in_(numbers))
    )} if numbers else {}
    found = []
    for item in listed:
        entry = entries.get(item["record"])
        found.append(item | {"file": file_label(item["file"]),
                             "entry_id": entry.id if entry else None,
                             "resolved": bool(entry and entry.resolved_at)})
    return found


def queue_counts(connection: Connection, actor: Actor) -> dict[str, int]:
    """Open quarantine entries and cases waiting for an OCMW that `actor` may see."""
    quarantined = connection.scalar(select(func.count()).select_from(t.quarantine).where(
        t.quarantine.c.resolved_at.is_(None), review.visible_quarantine(actor)))
    triage = connection.scalar(select(func.count()).select_from(t.triage).where(
        t.triage.c.resolved_at.is_(None), review.visible_triage(actor)))
    return {"quarantine": int(quarantined or 0), "triage": int(triage or 0)}


# -- correcting a quarantined record -------------------------------------------------------
def form_values(data: Any) -> dict[str, str]:
    """A record's fields as the form shows them: dotted paths, text values; the notice's
    fields first, then any other field it has (unknown fields are kept)."""
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif not isinstance(value, list):  # a list stays as it is, not shown as a field
            flat[prefix] = _text(value)

    if isinstance(data, dict):
        walk("", data)
    ordered = {name: flat.pop(name, "") for name in NOTICE_FIELDS}
    return ordered | flat


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def correction(entry: dict[str, Any], submitted: dict[str, str]) -> dict[str, Any]:
    """The record `entry` becomes with the submitted form: only the fields the person
    changed are changed (types of the others stay as received); an emptied field is
    removed. A record that could not be read at all is built from the form alone.
    ValueError("unchanged") when nothing was changed."""
    shown = form_values(entry["data"])
    changes = {name: value.strip() for name, value in submitted.items()
               if name in shown and value.strip() != shown[name]}
    if not changes:
        raise ValueError("unchanged")
    if entry["data"] is None:
        return notice_record(submitted)
    data = json.loads(json.dumps(entry["data"]))
    for name in changes:  # a part that is not an object (e.g. "tenant": "X") becomes one
        target = data
        for part in name.split(".")[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
    return review.corrected_record(entry | {"data": data}, changes)


def notice_record(values: dict[str, str]) -> dict[str, Any]:
    """A notice from a form's dotted fields; empty fields are left out."""
    record: dict[str, Any] = {}
    for name, value in values.items():
        if not value.strip():
            continue
        *parents, leaf = name.split(".")
        target = record
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value.strip()
    return record


def field_errors(errors: Iterable[dict[str, str]]) -> dict[str, list[str]]:
    """Reasons by field path ("tenant.last_name", "dwelling", "(record)")."""
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error["field"], []).append(error["reason"])
    return found


def successor(connection: Connection, entry_id: int) -> int | None:
    """The quarantine entry that a still-invalid correction of `entry_id` opened."""
    return connection.scalar(
        select(t.quarantine.c.id).where(t.quarantine.c.receipt_id == select(
            t.quarantine.c.resolved_by_receipt_id).where(t.quarantine.c.id == entry_id)
            .scalar_subquery()))


def quarantine_entry_of(connection: Connection, path: Path) -> int | None:
    """The open quarantine entry of a one-record file (a hand-encoded notice); the same
    text sent twice is received once, so the entry is found by the file's digest."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return connection.scalar(
        select(t.quarantine.c.id)
        .join(t.receipts, t.receipts.c.id == t.quarantine.c.receipt_id)
        .where(t.receipts.c.source_sha256 == digest, t.quarantine.c.resolved_at.is_(None))
        .order_by(t.quarantine.c.id.desc()).limit(1))


def readable_case(connection: Connection, case_id: str | None, actor: Actor) -> str | None:
    """`case_id` when it exists and `actor` may read it (to link to it), else None."""
    if not case_id:
        return None
    row = connection.execute(select(t.cases.c.ocmw).where(t.cases.c.id == case_id)).first()
    return case_id if row is not None and may_read(connection, actor, case_id, row.ocmw) else None


# -- letter templates ----------------------------------------------------------------------
def template_version(connection: Connection, kind: str, language: str,
                     version: int) -> TemplateVersion:
    """One kept version of a letter template (TemplateError when there is none)."""
    check_kind(kind, language)
    row = connection.execute(select(t.letter_templates).where(
        t.letter_templates.c.kind == kind, t.letter_templates.c.language == language,
        t.letter_templates.c.version == version)).first()
    if row is None:
        raise TemplateError(f"no version {version} of the {language} {kind} template")
    return TemplateVersion(row.id, row.kind, row.language, row.version, row.sha256, row.path,
                           row.source)
