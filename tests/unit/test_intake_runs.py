"""A web import running in one process of `domus serve --processes N` shows as running in
every process (a marker with the process id beside the kept files); a marker left by a
process that died does not."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from services.web_import import IntakeRuns

NOW = datetime(2026, 11, 23, 9, 0)


def test_a_run_in_one_process_shows_as_running_in_another(tmp_path: Path) -> None:
    release, started = threading.Event(), threading.Event()

    def job(path: Path, now: datetime, owner: object) -> None:
        started.set()
        release.wait(10)

    markers = tmp_path / ".running"
    here, there = IntakeRuns(job, markers=markers), IntakeRuns(job, markers=markers)
    kept = tmp_path / "web-1.csv"
    kept.write_text("kind\n")
    assert here.start(None, kept, NOW)  # type: ignore[arg-type]
    started.wait(10)
    assert here.running("web-1.csv") and there.running("web-1.csv")
    assert not there.running("web-2.csv")
    release.set()
    for _ in range(100):
        if not there.running("web-1.csv"):
            break
        threading.Event().wait(0.05)
    assert not there.running("web-1.csv") and not list(markers.iterdir())


def test_a_marker_of_a_dead_process_is_not_a_running_import(tmp_path: Path) -> None:
    markers = tmp_path / ".running"
    markers.mkdir()
    (markers / "web-1.csv.running").write_text("999999999")
    (markers / "web-2.csv.running").write_text("not a pid")
    runs = IntakeRuns(lambda *_: None, markers=markers)
    assert not runs.running("web-1.csv") and not runs.running("web-2.csv")
