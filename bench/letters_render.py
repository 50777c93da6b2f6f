"""Letter rendering benchmark: 1,000 letters from one Word template.

    python bench/letters_render.py [--letters 1000] [--naive 1000] [--template PATH | --generated]

Renders the same letters (distinct contexts: names, dockets, dates vary) two ways and
prints letters per second for each and their ratio:

(a) naive: per letter `DocxTemplate(path)`, `render(context, autoescape=True)`,
    `save(BytesIO)` - what docxtpl's documentation shows;
(b) services.docx_render: `CompiledTemplate.from_bytes` once (timed with the letters), then
    `render(context)` per letter, each letter written to a file in a temporary folder.

Then merges the 1,000 letters into one file to print with `merge_documents`.
The template is templates/letters/fr/tenant_invitation.docx when it exists, else a
generated 2-page letter (~35 paragraphs, bold runs, a table, a header, styles).
Targets on a 2-core machine: (b) >= 10x (a) and >= 150 letters/s.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from services.docx_render import CompiledTemplate, merge_documents  # noqa: E402

REAL_TEMPLATE = HERE.parent / "templates" / "letters" / "fr" / "tenant_invitation.docx"
TARGET_RATIO, TARGET_RATE = 10.0, 150.0
FIRST = ["Amina", "Jan", "Sofie", "Mohamed", "Els", "Pierre", "Fatima", "Luc", "Nadia", "Koen"]
LAST = ["Peeters", "Janssens", "El Amrani", "Dubois", "Maes", "Lambert", "Smith & <Co>",
        "Claes", "Wouters", "Lejeune"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre"]


def context(i: int) -> dict[str, Any]:
    """A full letter context (templates/letters/README.md) for letter number i."""
    first, last = FIRST[i % len(FIRST)], LAST[(i // 10) % len(LAST)]
    day = f"{1 + i % 28} {MONTHS[i % 12]} 2027"
    docket = f"27A{1000 + i}"
    return {
        "ocmw": {"name": "CPAS de Schaerbeek", "service": "Service Logement – Médiation de dettes",
                 "street": "Boulevard Auguste Reyers 70", "postcode": "1030",
                 "municipality": "Schaerbeek",
                 "address_line": "Boulevard Auguste Reyers 70, 1030 Schaerbeek",
                 "phone": "02 240 50 11", "email": "logement@cpas-schaerbeek.be",
                 "hours": "du lundi au vendredi, de 9 h à 12 h"},
        "letter": {"date": "23 novembre 2026", "place": "Schaerbeek",
                   "reference": f"{docket} / case-{i:05d}"},
        "tenant": {"first_name": first, "last_name": last, "full_name": f"{first} {last}",
                   "salutation": "Madame, Monsieur",
                   "address_lines": [f"Rue Royale {10 + i % 200}" + (" bte 3" if i % 3 else ""),
                                     "1030 Schaerbeek"]},
        "case": {"court": "Justice de paix de Schaerbeek", "docket_number": docket,
                 "stage": ("petition", "judgment", "eviction")[i % 3],
                 "hearing_date": day if i % 4 else None, "hearing_time": "09:30" if i % 4 else None,
                 "judgment_date": None if i % 3 == 0 else "2 octobre 2026",
                 "earliest_eviction_date": "3 janvier 2027" if i % 3 == 2 else None,
                 "eviction_date": None, "eviction_time": None, "moratorium": i % 5 == 0},
        "landlord": {"name": f"SCRL Logis {i % 17}", "salutation": "Madame, Monsieur",
                     "address_lines": ["Avenue Louise 1", "1050 Ixelles"]},
        "amounts": {"arrears": f"{1000 + i},50 €", "monthly_rent": "750,00 €"},
        "appointment": {"date": "26 novembre 2026", "time": "10:00",
                        "place": "Boulevard Auguste Reyers 70, 1030 Schaerbeek"},
        "caseworker": {"name": "Marie Delvaux", "email": "m.delvaux@cpas-schaerbeek.be"},
        "signatory": {"name": "Marie Delvaux", "title": "Assistante sociale"},
        "report": {"contacts": [{"date": f"{d} octobre 2026", "channel": "téléphone",
                                 "result": "joint", "note": "rappel\nle lendemain"}
                                for d in range(1, 2 + i % 4)],
                   "effective_contact": bool(i % 2), "home_visits": i % 3,
                   "tasks_done": [{"label": "Courrier d'invitation", "date": "2 octobre 2026"}],
                   "flags": ["Procédure en cours"]},
    }


def generated_template() -> bytes:
    """A realistic 1-2 page letter: header, address blocks, ~35 paragraphs, bold runs,
    a contacts table with a {%tr for %} row, {%p if %} blocks, a footer."""
    import docx
    from docx.shared import Pt

    doc = docx.Document()
    style = doc.styles["Normal"]
    style.font.name, style.font.size = "Arial", Pt(10.5)
    section = doc.sections[0]
    section.header.paragraphs[0].text = "{{ ocmw.name }} – {{ ocmw.service }}"
    section.header.add_paragraph("{{ ocmw.address_line }} · {{ ocmw.phone }}")
    section.footer.paragraphs[0].text = "Réf. {{ letter.reference }}"
    doc.add_paragraph("{{ tenant.full_name }}")
    doc.add_paragraph("{%p for line in tenant.address_lines %}")
    doc.add_paragraph("{{ line }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{{ letter.place }}, le {{ letter.date }}")
    p = doc.add_paragraph()
    p.add_run("Notre référence : ").bold = True
    p.add_run("{{ letter.reference }}")
    p = doc.add_paragraph()
    p.add_run("Objet : ").bold = True
    p.add_run("votre logement – procédure devant la {{ case.court }} "
              "(rôle {{ case.docket_number }})")
    doc.add_paragraph("{{ tenant.salutation }},")
    filler = ("Le CPAS accompagne les locataires qui rencontrent des difficultés à payer leur "
              "loyer. Notre service peut vous aider à examiner votre budget, à négocier un plan "
              "de paiement avec votre propriétaire et à préparer l'audience. ")
    doc.add_paragraph(filler * 2)
    doc.add_paragraph("{%p if case.hearing_date %}")
    p = doc.add_paragraph("L'audience est fixée au ")
    p.add_run("{{ case.hearing_date }} à {{ case.hearing_time }}").bold = True
    p.add_run(" devant la {{ case.court }}.")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if amounts.arrears %}")
    doc.add_paragraph("Selon la requête, l'arriéré s'élève à {{ amounts.arrears }} pour un loyer "
                      "mensuel de {{ amounts.monthly_rent }}.")
    doc.add_paragraph("{%p endif %}")
    p = doc.add_paragraph("Nous vous proposons un rendez-vous le ")
    p.add_run("{{ appointment.date }} à {{ appointment.time }}").bold = True
    p.add_run(", {{ appointment.place }}.")
    for n in range(6):
        doc.add_paragraph(filler + f"(paragraphe {n + 1})", style="List Bullet" if n % 3 == 0
                          else None)
    doc.add_heading("Contacts", level=2)
    table = doc.add_table(rows=4, cols=3)
    table.style = "Table Grid"
    for cell, label in zip(table.rows[0].cells, ("Date", "Canal", "Résultat"), strict=True):
        cell.paragraphs[0].add_run(label).bold = True
    table.cell(1, 0).text = "{%tr for c in report.contacts %}"
    table.cell(2, 0).text = "{{ c.date }}"
    table.cell(2, 1).text = "{{ c.channel }}"
    table.cell(2, 2).text = "{{ c.result }} {{ c.note }}"
    table.cell(3, 0).text = "{%tr endfor %}"
    for _ in range(4):
        doc.add_paragraph(filler)
    doc.add_paragraph("{%p if case.moratorium %}")
    doc.add_paragraph("Une expulsion pendant la trêve hivernale n'est pas exécutée.")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("Vous pouvez nous joindre au {{ ocmw.phone }} ou par courriel à "
                      "{{ ocmw.email }}, {{ ocmw.hours }}.")
    doc.add_paragraph("Veuillez agréer, {{ tenant.salutation }}, nos salutations distinguées.")
    doc.add_paragraph("{{ signatory.name }}")
    doc.add_paragraph("{{ signatory.title }}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def docxtpl_compatible(data: bytes) -> tuple[bytes, bool]:
    """The template with Jinja marks in docProps/core.xml defused: plain docxtpl renders the
    document properties and would fail on a description mentioning `{%p …%}` (Domus does
    not render them)."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    core = source.read("docProps/core.xml") if "docProps/core.xml" in source.NameToInfo else b""
    if not any(mark in core for mark in (b"{%", b"{{", b"{#")):
        return data, False
    core = core.replace(b"{%", b"{ %").replace(b"{{", b"{ {").replace(b"{#", b"{ #")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, core if info.filename == "docProps/core.xml"
                            else source.read(info))
    return out.getvalue(), True


def naive(path: Path, contexts: list[dict[str, Any]]) -> float:
    from docxtpl import DocxTemplate

    started = time.perf_counter()
    for ctx in contexts:
        tpl = DocxTemplate(path)
        tpl.render(ctx, autoescape=True)
        tpl.save(io.BytesIO())
    return time.perf_counter() - started


def compiled(data: bytes, contexts: list[dict[str, Any]],
             out_dir: Path) -> tuple[float, float, list[bytes]]:
    started = time.perf_counter()
    template = CompiledTemplate.from_bytes(data, allowed_names=frozenset(contexts[0]),
                                           name="bench")
    compile_seconds = time.perf_counter() - started
    letters = []
    for i, ctx in enumerate(contexts):
        letter = template.render(ctx)
        (out_dir / f"letter-{i:05d}.docx").write_bytes(letter)
        letters.append(letter)
    return time.perf_counter() - started, compile_seconds, letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--naive", type=int, default=None,
                        help="letters for the naive loop (default: --letters)")
    parser.add_argument("--template", type=Path, default=None)
    parser.add_argument("--generated", action="store_true",
                        help="use the generated template even when the packaged one exists")
    args = parser.parse_args()
    source = args.template or (REAL_TEMPLATE if REAL_TEMPLATE.exists() and not args.generated
                               else None)
    data = source.read_bytes() if source else generated_template()
    data, defused = docxtpl_compatible(data)
    contexts = [context(i) for i in range(args.letters)]
    naive_count = args.naive or args.letters

    with tempfile.TemporaryDirectory(prefix="domus-letters-") as tmp:
        workdir = Path(tmp)
        path = workdir / "template.docx"
        path.write_bytes(data)
        (workdir / "out").mkdir()
        fast_seconds, compile_seconds, letters = compiled(data, contexts, workdir / "out")
        naive_seconds = naive(path, contexts[:naive_count])
        started = time.perf_counter()
        merged = merge_documents(letters)
        merge_seconds = time.perf_counter() - started

    naive_rate = naive_count / naive_seconds
    fast_rate = len(contexts) / fast_seconds
    ratio = fast_rate / naive_rate
    print(f"template: {source or 'generated'} ({len(data) / 1024:.0f} KiB)"
          + (" - Jinja marks in docProps/core.xml defused for docxtpl" if defused else ""))
    print(f"naive docxtpl loop : {naive_count:5d} letters in {naive_seconds:7.2f} s "
          f"= {naive_rate:8.1f} letters/s")
    print(f"CompiledTemplate   : {len(contexts):5d} letters in {fast_seconds:7.2f} s "
          f"= {fast_rate:8.1f} letters/s (compile {compile_seconds * 1000:.0f} ms, "
          f"{sum(map(len, letters)) / len(letters) / 1024:.1f} KiB/letter, written to files)")
    print(f"ratio              : {ratio:.1f}x   target >= {TARGET_RATIO:.0f}x: "
          f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}")
    print(f"rate target        : >= {TARGET_RATE:.0f} letters/s: "
          f"{'met' if fast_rate >= TARGET_RATE else 'MISSED'}")
    print(f"merge_documents    : {len(letters)} letters in {merge_seconds:.2f} s "
          f"({len(merged) / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
