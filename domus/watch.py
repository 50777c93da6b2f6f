"""The watched folder (`domus watch DIR`, or `domus serve` with DOMUS_WATCH_DIR): a notice
file dropped into DIR is ingested once, then kept in DIR/done/, or in DIR/failed/ with a
`.error.txt` beside it saying why (move it back into DIR to try again).

- Taken: a `.json`, `.jsonl` or `.csv` file, not hidden, not a symbolic link, untouched for
  `settle` seconds (and, when watching, the same size and time at two looks in a row). A
  file still being written is left alone: write it as `x.csv.part` (or `.tmp`) and rename
  it when complete, or let it rest for `settle` seconds.
- The claim is a rename into DIR/processing/ (atomic within one file system): of two
  watchers on one folder, the one whose rename succeeds ingests the file; the other's
  fails and it moves on. While a file is ingested its watcher holds a lock on it (flock).
- A file left in processing/ by a watcher that stopped (crash, power cut) is unlocked: the
  next look of any watcher takes it again. That is safe because intake is idempotent (a
  record is received once per file digest and record number; services/intake.py).
- With a Prefect server and `domus deploy`, the ingest runs on a worker (domus/jobs.py):
  DIR must then be a folder the workers share (e.g. DOMUS_DATA_DIR/watch).
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import Any

from domus.settings import Settings
from services.readers import SUFFIXES
from services.summary import IntakeSummary
from workflows.runtime import moment

log = logging.getLogger("domus.watch")
#: seconds a file must be left untouched before it is taken
SETTLE_SECONDS = 5.0

Ingest = Callable[[Path], IntakeSummary]


@dataclass(frozen=True)
class Outcome:
    file: str  # the name it was dropped with
    status: str  # "done" | "failed"
    moved_to: str
    summary: dict[str, Any] | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "status": self.status, "moved_to": self.moved_to,
                "summary": self.summary, "error": self.error}


class Watcher:
    """One watcher of `folder`; `ingest(path)` ingests one claimed file."""

    def __init__(self, folder: Path, ingest: Ingest, *, settle: float = SETTLE_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.folder, self.ingest, self.settle, self.clock = folder, ingest, settle, clock
        self.processing, self.done, self.failed = (folder / "processing", folder / "done",
                                                   folder / "failed")
        for sub in (self.processing, self.done, self.failed):
            sub.mkdir(parents=True, exist_ok=True)
        self._seen: dict[str, tuple[int, int]] = {}

    def poll(self, *, twice: bool = False) -> list[Outcome]:
        """One look: files left in processing/ first, then every file ready in the folder
        (with `twice`, only those unchanged since the previous look)."""
        outcomes = [o for path in sorted(self.processing.iterdir()) if (o := self.take(path))]
        for path in self.ready(twice):
            claimed = self.claim(path)
            if claimed and (outcome := self.take(claimed)):
                outcomes.append(outcome)
        return outcomes

    def run(self, interval: float, stop: Event, report: Callable[[Outcome], None]) -> None:
        """Look every `interval` seconds until `stop` is set."""
        while True:
            for outcome in self.poll(twice=True):
                report(outcome)
            if stop.wait(interval):
                return

    def ready(self, twice: bool) -> list[Path]:
        now, seen, ready = self.clock(), {}, []
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            try:
                if not (wanted(entry.name) and entry.is_file(follow_symlinks=False)):
                    continue
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # another watcher took it meanwhile
                continue
            seen[entry.name] = mark = (stat.st_size, stat.st_mtime_ns)
            if now - stat.st_mtime >= self.settle and (
                    not twice or self._seen.get(entry.name) == mark):
                ready.append(Path(entry.path))
        self._seen = seen
        return ready

    def claim(self, path: Path) -> Path | None:
        """`path` moved into processing/, or None when another watcher took it first (or
        a file of that name is still being ingested: it waits for the next look)."""
        target = self.processing / path.name
        if target.exists():
            return None
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        return target

    def take(self, path: Path) -> Outcome | None:
        """Ingest a file in processing/ unless another watcher holds it; then file it."""
        handle = _lock(path)
        if handle is None:
            return None
        try:
            try:
                summary = self.ingest(path)
            except Exception as exc:  # the file is kept with the reason, the watch goes on
                return self._failed(path, str(exc) or type(exc).__name__)
            moved = _move(path, self.done)
            log.info("ingested %s: %s received", path.name, summary.received)
            return Outcome(path.name, "done", str(moved), summary=summary.to_json())
        finally:
            os.close(handle)

    def _failed(self, path: Path, reason: str) -> Outcome:
        moved = _move(path, self.failed)
        moved.with_name(f"{moved.name}.error.txt").write_text(
            f"{moment(None).isoformat()} {path.name}: {reason}\n",
            encoding="utf-8")
        log.warning("%s not ingested: %s", path.name, reason)
        return Outcome(path.name, "failed", str(moved), error=reason)


def wanted(name: str) -> bool:
    """A notice file by its name (`x.csv.part`, `x.tmp` and hidden files are not)."""
    return not name.startswith(".") and Path(name).suffix.lower() in SUFFIXES


def _lock(path: Path) -> int | None:
    """An open, locked descriptor of `path` while it is still there, else None."""
    try:  # for writing where it may: an NFS lock (fcntl underneath) needs it
        handle = os.open(path, os.O_RDWR if os.access(path, os.W_OK) else os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.stat(path).st_ino == os.fstat(handle).st_ino:  # not filed meanwhile
            return handle
    except (BlockingIOError, FileNotFoundError):
        pass
    os.close(handle)
    return None


def _move(path: Path, folder: Path) -> Path:
    """`path` moved into `folder` under its name, numbered when the name is taken."""
    target, number = folder / path.name, 1
    while target.exists():
        number += 1
        target = folder / f"{path.stem}-{number}{path.suffix}"
    os.rename(path, target)
    return target


def intake_of(settings: Settings) -> Ingest:
    """Ingest one file as `domus ingest` does: one intake flow run, here or on a worker."""
    from domus.jobs import run_intake

    return lambda path: run_intake(settings, [path], now=moment(None))


def watch_job(settings: Settings) -> Callable[[], None]:
    """`domus serve`'s look at DOMUS_WATCH_DIR (a scheduler job)."""
    assert settings.watch_dir is not None
    watcher = Watcher(settings.watch_dir, intake_of(settings))

    def job() -> None:
        try:
            watcher.poll(twice=True)
        except Exception:  # logged; the next look tries again
            log.exception("watching %s failed", settings.watch_dir)
    return job
