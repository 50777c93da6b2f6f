"""The letters batch as one Prefect flow run: every letter whose task is due, one file
each plus one merged file to print, optionally PDF (one LibreOffice run for all)."""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from domain.access import Actor
from domus.bootstrap import current
from services.docx_render import merge_documents
from services.letters import (
    due_letters,
    register_letters,
    remove_files,
    render_due_letters,
    write_file,
)
from services.pdf import convert_to_pdf
from workflows.runtime import moment

CHUNK = 250  # letters per render-and-register step


@task(name="render-letters", cache_policy=NO_CACHE)
def render_letters(due_before: date, out_dir: str, now: datetime) -> dict[str, Any]:
    """Render and store the due letters, write the copies and the merged print file to
    `out_dir`, and only then register the letters and close their tasks: a batch that
    fails on the way (a full disk) records nothing and takes back its files, so running
    it again makes every letter once, print file included."""
    domus, actor, folder = current(), Actor.operator(), Path(out_dir)
    with domus.engine.connect() as connection:
        due = due_letters(connection, due_before=due_before, actor=actor)
    with contextlib.suppress(OSError):  # a full disk: write_file names the file and says so
        folder.mkdir(parents=True, exist_ok=True)
    made, documents, rows, written = [], [], [], []
    try:
        for start in range(0, len(due), CHUNK):
            letters, chunk_rows = render_due_letters(
                domus.engine, due[start:start + CHUNK], actor=actor,
                data_dir=domus.settings.data_dir, profiles=domus.profiles,
                calendar=domus.rules.calendar, now=now)
            rows.append(chunk_rows)
            written += [domus.settings.data_dir / row["path"] for row in chunk_rows]
            for letter in letters:
                data = letter.pop("data")
                name = (f"{_safe(letter['docket_number'])}-{letter['kind']}-{letter['lang']}-"
                        f"{letter['case_id'][:6]}.docx")
                write_file(folder / name, data)
                written.append(folder / name)
                documents.append(data)
                made.append({**letter, "file": str(folder / name)})
        print_file = None
        if documents:
            print_file = folder / f"print-{now:%Y%m%d-%H%M}.docx"
            write_file(print_file, merge_documents(documents))
    except BaseException:
        remove_files(written)
        raise
    for chunk_rows in rows:
        register_letters(domus.engine, chunk_rows, now=now)
    return {"letters": made, "print_file": str(print_file) if print_file else None}


@task(name="convert-to-pdf", cache_policy=NO_CACHE)
def to_pdf(files: list[str], out_dir: str) -> list[str]:
    """One LibreOffice run for the whole batch."""
    return [str(p) for p in convert_to_pdf([Path(f) for f in files], Path(out_dir),
                                           soffice=current().settings.soffice)]


@flow(name="letters", log_prints=False, persist_result=False)
def letters_flow(due_before: date | None = None, out_dir: str | None = None,
                 pdf: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """Every letter whose task is due before `due_before`, written to `out_dir`. A
    scheduled run gives none of them: `now` is when it starts, `due_before` the next day
    (today's letters and the late ones), `out_dir` DOMUS_DATA_DIR/letters/batch/<day>."""
    now = moment(now)
    due_before = due_before or now.date() + timedelta(days=1)
    out_dir = out_dir or str(batch_folder(now))
    result = render_letters(due_before, out_dir, now)
    result["pdf"] = []
    if pdf and result["print_file"]:
        files = [letter["file"] for letter in result["letters"]] + [result["print_file"]]
        result["pdf"] = to_pdf(files, out_dir)
    return result


def batch_folder(now: datetime) -> Path:
    """Where a scheduled letters run writes: one folder a day under the data directory."""
    return (current().settings.data_dir / "letters" / "batch" / f"{now:%Y-%m-%d}").resolve()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "letter"
