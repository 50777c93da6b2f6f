"""Letters benchmark: 1,000 tenant invitations through the batch flow (`domus letters`).

    python bench/letters.py [--letters 1000] [--pdf 200]

Makes a fresh SQLite database with 1,000 petitions received on Monday 2 November 2026
(their invitation letters due two working days later, nothing else due), then:

* naive: the loop docxtpl's documentation shows, per letter `DocxTemplate(path)`,
  `render(context, autoescape=True)`, `save(file)`, with the same contexts;
* batch: one run of the `letters` flow (Prefect already started, as under `domus serve`):
  reading the cases, building every context, rendering, storing each letter under the data
  directory and in the output folder, registering them with their sha256, closing their
  tasks, and the merged file to print;
* PDF: `--pdf N` of those letters converted by one LibreOffice run.

Targets (issue 4): batch >= 10x the naive loop and >= 150 letters/s DOCX on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TARGET_RATIO, TARGET_RATE = 10.0, 150.0
RECEIVED = date(2026, 11, 2)
NOW = datetime(2026, 11, 5, 9, 0)


def petitions(count: int) -> list[dict]:  # type: ignore[type-arg]
    from tests.builders import petition

    first = ["Amina", "Jan", "Sofie", "Mohamed", "Els", "Pierre", "Fatima", "Luc"]
    last = ["Peeters", "Janssens", "El Amrani", "Dubois", "Maes", "Lambert", "Claes"]
    return [petition(f"26B{n:05d}", received_on=RECEIVED.isoformat(),
                     hearing_at="2027-01-28T09:30:00",
                     tenant={"first_name": first[n % len(first)],
                             "last_name": f"{last[n % len(last)]} {n}",
                             "language": ("fr", "nl")[n % 2]})
            for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--pdf", type=int, default=200, help="letters converted to PDF (0: none)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="domus-bench-letters-"))
    os.environ.update({"DOMUS_DATABASE_URL": f"sqlite:///{work / 'domus.db'}",
                       "DOMUS_DATA_DIR": str(work / "data")})

    from docxtpl import DocxTemplate
    from sqlalchemy import select

    from domain.access import Actor
    from domus.bootstrap import bootstrap, prepare_prefect, run_flow, stderr_say
    from domus.settings import Settings
    from services.intake import ingest_source
    from services.letter_context import build_context
    from services.letter_templates import PACKAGED
    from services.letters import due_letters, load_facts
    from services.pdf import convert_to_pdf
    from services.readers import inspect_file
    from store import tables as t
    from tests.builders import write_jsonl

    settings = Settings()
    domus = bootstrap(settings)
    source = write_jsonl(work / "notices.jsonl", petitions(args.letters))
    ingest_source(domus.engine, inspect_file(source), rules=domus.rules, now=NOW)
    with domus.engine.connect() as connection:
        due = due_letters(connection, due_before=date(2026, 11, 6), actor=Actor.operator())
        facts = load_facts(connection, [d.case_id for d in due])
    assert len(due) == args.letters and {d.kind for d in due} == {"tenant_invitation"}

    # naive: the same letters, one docxtpl round trip each
    appointment = domus.rules.calendar.add_working_days(NOW.date(), 3)
    contexts = []
    for item in due:
        row, case_facts = facts[item.case_id]
        contexts.append((row.tenant_language, build_context(
            case_facts, domus.profiles.get(row.ocmw) or _profile(row.ocmw),
            language=row.tenant_language, today=NOW.date(), appointment_on=appointment)))
    naive_dir = work / "naive"
    naive_dir.mkdir()
    started = time.perf_counter()
    for n, (language, context) in enumerate(contexts):
        template = DocxTemplate(PACKAGED / language / "tenant_invitation.docx")
        template.render(context, autoescape=True)
        template.save(naive_dir / f"{n}.docx")
    naive_seconds = time.perf_counter() - started

    # batch: one flow run, Prefect started beforehand
    prepare_prefect(settings, stderr_say)
    from prefect import flow

    from workflows.letters import letters_flow

    run_flow(flow(lambda: None, name="warm-up"))
    started = time.perf_counter()
    result = run_flow(letters_flow, due_before=date(2026, 11, 6), out_dir=str(work / "out"),
                      pdf=False, now=NOW)
    batch_seconds = time.perf_counter() - started
    assert len(result["letters"]) == args.letters
    with domus.engine.connect() as connection:
        registered = len(connection.execute(select(t.letters.c.id)).all())
        still_open = len(due_letters(connection, due_before=date(2026, 11, 6),
                                     actor=Actor.operator()))
    assert registered == args.letters and still_open == 0

    naive_rate, batch_rate = args.letters / naive_seconds, args.letters / batch_seconds
    ratio = batch_rate / naive_rate
    print(f"letters benchmark: {args.letters:,} tenant invitations (fr and nl), SQLite")
    print(f"  naive docxtpl loop:        {naive_rate:8.1f} letters/s ({naive_seconds:.1f} s)")
    print(f"  batch flow (domus letters): {batch_rate:7.1f} letters/s ({batch_seconds:.2f} s, "
          "register, tasks and the merged print file included)")
    print(f"  ratio batch/naive:         {ratio:8.1f}x")
    print(f"  targets: >= {TARGET_RATIO:.0f}x the naive loop "
          f"({'met' if ratio >= TARGET_RATIO else 'NOT met'}), >= {TARGET_RATE:.0f} letters/s "
          f"({'met' if batch_rate >= TARGET_RATE else 'NOT met'})")
    if args.pdf:
        files = [Path(letter["file"]) for letter in result["letters"][:args.pdf]]
        started = time.perf_counter()
        convert_to_pdf(files, work / "pdf", soffice=settings.soffice)
        pdf_seconds = time.perf_counter() - started
        print(f"  PDF, one LibreOffice run:  {len(files) / pdf_seconds:8.1f} letters/s "
              f"({len(files)} letters in {pdf_seconds:.1f} s, start-up included)")


def _profile(code: str):  # type: ignore[no-untyped-def]
    from domain.ocmw_profile import OcmwProfile

    return OcmwProfile(code)


if __name__ == "__main__":
    main()
