"""Letters from the packaged templates on SQLite and PostgreSQL: every kind in Dutch,
French and both, the register, template versions, the batch, and PDF with LibreOffice."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from domain.access import Actor
from domus.bootstrap import Domus
from services.cases import CaseNotFound, case_document
from services.contacts import record_contact
from services.letter_templates import TemplateError, activate, add_template
from services.letters import due_letters, make_due_letters, make_letter
from store import tables as t
from tests.builders import judgment, petition
from tests.conftest import NOW
from tests.integration.test_sweep import ingest

KINDS = ("tenant_invitation", "landlord_mediation", "visit_notice", "court_report")


def text_of(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def letter(domus: Domus, case_id: str, kind: str, lang: str | None,
           actor: Actor | None = None) -> dict:  # type: ignore[type-arg]
    return make_letter(domus.engine, case_id, kind, lang, actor=actor or Actor.operator(),
                       data_dir=domus.settings.data_dir, profiles=domus.profiles,
                       calendar=domus.rules.calendar, now=NOW)


@pytest.fixture
def case_id(domus: Domus, tmp_path: Path) -> str:
    ingest(domus, tmp_path / "n.jsonl", [petition("26A1234")])
    with domus.engine.connect() as connection:
        found = connection.scalar(select(t.cases.c.id))
    record_contact(domus.engine, found, channel="home_visit", result="reached",
                   at=datetime(2026, 11, 9, 10, 0), note="Plan d'apurement évoqué",
                   actor=Actor.operator(), now=NOW)
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_in_french_dutch_and_both(domus: Domus, case_id: str, kind: str) -> None:
    texts = {lang: text_of(letter(domus, case_id, kind, lang)["data"])
             for lang in ("fr", "nl", "both")}
    for lang, text in texts.items():
        assert "{{" not in text and "{%" not in text and "}}" not in text, (lang, text)
        assert "26A1234" in text and "None" not in text
        assert ("El Idrissi" in text) or kind == "landlord_mediation"
    assert "10 décembre 2026" in texts["fr"] and "10 december 2026" in texts["nl"]
    assert "10 décembre 2026" in texts["both"] and "10 december 2026" in texts["both"]
    assert "CPAS de Schaerbeek" in texts["fr"] and "OCMW Schaarbeek" in texts["nl"]
    if kind == "landlord_mediation":
        assert "Immo Josaphat SRL" in texts["fr"]
        assert "2\u202f900,00\xa0€" in texts["fr"] and "€\xa02.900,00" in texts["nl"]
    if kind == "court_report":
        assert "visite à domicile" in texts["fr"] and "Plan d'apurement évoqué" in texts["fr"]


def test_the_register_keeps_every_letter_with_its_digest(domus: Domus, case_id: str) -> None:
    made = letter(domus, case_id, "tenant_invitation", None)
    assert made["lang"] == "fr"  # the tenant's language
    stored = Path(made["path"]).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == made["sha256"] == \
        hashlib.sha256(made["data"]).hexdigest()
    with domus.engine.connect() as connection:
        document = case_document(connection, case_id, Actor.operator())
    assert [(x["kind"], x["lang"], x["sha256"], x["template_versions"])
            for x in document["letters"]] == [("tenant_invitation", "fr", made["sha256"],
                                               {"fr": 1})]
    assert document["letters"][0]["created_by"] == "local operator"
    status = {task["kind"]: task["status"] for task in document["tasks"]}
    assert status["invitation_letter"] == "done" and made["closed_tasks"]
    assert status["landlord_contact"] == "open"


def test_letters_check_who_is_asking(domus: Domus, case_id: str) -> None:
    with pytest.raises(CaseNotFound):
        letter(domus, case_id, "visit_notice", "fr", Actor("x@ocmw.be", "caseworker", "21001"))
    with pytest.raises(CaseNotFound):
        letter(domus, case_id, "visit_notice", "fr", Actor("m@region", "monitor"))


def _edited(domus: Domus, kind: str, lang: str, old: str, new: str) -> bytes:
    """The packaged template with one text changed, as an administrator would in Word."""
    from services.letter_templates import PACKAGED

    source = (PACKAGED / lang / f"{kind}.docx").read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode(), 1)
            zout.writestr(item, data)
    return out.getvalue()


def test_templates_are_checked_versioned_and_recorded(domus: Domus, case_id: str) -> None:
    letter(domus, case_id, "visit_notice", "fr")  # registers the packaged version 1
    data_dir = domus.settings.data_dir
    for bad, message in (("{{ tenant.nickname_of_the_cat | upper }}x{{ secret }}",
                          "undeclared variable"),
                         ("{{ tenant.__class__ }}", "_"),
                         ("{% if %}", "Expected an expression")):
        with pytest.raises(TemplateError, match=message):
            add_template(domus.engine, "visit_notice", "fr",
                         _edited(domus, "visit_notice", "fr", "{{ letter.date }}", bad),
                         data_dir=data_dir, note=None, who="admin", now=NOW)
    edited = _edited(domus, "visit_notice", "fr", "{{ letter.date }}",
                     "{{ letter.date }} (modèle revu)")
    version = add_template(domus.engine, "visit_notice", "fr", edited, data_dir=data_dir,
                           note="revu", who="admin@ocmw.be", now=NOW)
    assert version.version == 2
    made = letter(domus, case_id, "visit_notice", "fr")
    assert made["template_versions"] == {"fr": 2} and "(modèle revu)" in text_of(made["data"])
    activate(domus.engine, "visit_notice", "fr", 1)
    again = letter(domus, case_id, "visit_notice", "fr")
    assert again["template_versions"] == {"fr": 1}
    assert "(modèle revu)" not in text_of(again["data"])
    with pytest.raises(TemplateError, match="no version 9"):
        activate(domus.engine, "visit_notice", "fr", 9)


def test_the_batch_renders_due_letters_once_and_closes_their_tasks(domus: Domus,
                                                                   tmp_path: Path) -> None:
    ingest(domus, tmp_path / "n.jsonl", [
        petition("26A1"), petition("26A2", tenant__language=None),
        petition("26A3", received_on="2026-11-20"), judgment("26A1")])
    with domus.engine.connect() as connection:
        due = due_letters(connection, due_before=date(2026, 12, 1), actor=Actor.operator())
    kinds = sorted(d.kind for d in due)
    assert kinds.count("tenant_invitation") == 3 and "landlord_mediation" in kinds
    made = make_due_letters(domus.engine, due, actor=Actor.operator(),
                            data_dir=domus.settings.data_dir, profiles=domus.profiles,
                            calendar=domus.rules.calendar, now=NOW)
    assert len(made) == len(due)
    assert {m["lang"] for m in made} == {"fr", "both"}
    with domus.engine.connect() as connection:
        assert due_letters(connection, due_before=date(2026, 12, 1),
                           actor=Actor.operator()) == []
        registered = connection.execute(select(t.letters.c.task_id)).scalars().all()
    assert sorted(registered) == sorted(d.task_id for d in due)
    # a re-run of the same tasks (after a crash) registers nothing twice
    make_due_letters(domus.engine, due, actor=Actor.operator(),
                     data_dir=domus.settings.data_dir, profiles=domus.profiles,
                     calendar=domus.rules.calendar, now=NOW)
    with domus.engine.connect() as connection:
        assert len(connection.execute(select(t.letters.c.id)).all()) == len(due)


def test_pdf_has_pages(domus: Domus, case_id: str, tmp_path: Path) -> None:
    from pypdf import PdfReader

    from services.pdf import convert_to_pdf

    files = []
    for kind in ("tenant_invitation", "court_report"):
        path = tmp_path / f"{kind}.docx"
        path.write_bytes(letter(domus, case_id, kind, "both")["data"])
        files.append(path)
    pdfs = convert_to_pdf(files, tmp_path / "pdf")
    pages = [len(PdfReader(pdf).pages) for pdf in pdfs]
    assert all(n >= 2 for n in pages)  # French, then Dutch on a page of its own
    assert "26A1234" in PdfReader(pdfs[0]).pages[0].extract_text()


def test_without_libreoffice_pdf_says_how_to_get_it(tmp_path: Path) -> None:
    from services.pdf import PdfUnavailable, convert_to_pdf

    with pytest.raises(PdfUnavailable, match="apt-get install libreoffice-writer-nogui"):
        convert_to_pdf([tmp_path / "x.docx"], tmp_path, soffice="/nonexistent/soffice")


def test_two_first_uses_of_a_template_at_once_leave_the_first_one_active(domus: Domus) -> None:
    """Two web processes make their first letter at once: both count version 1 of the
    packaged template. The second must not deactivate the first's row (it did on SQLite,
    where the second waits for the first to commit: no version was active, a 500)."""
    from services.letter_templates import _add_version, active_template

    with domus.engine.begin() as connection:
        first = active_template(connection, "tenant_invitation", "fr", now=NOW)
    assert first.version == 1
    with domus.engine.begin() as connection:  # the second, with its count taken before
        _add_version(connection, "tenant_invitation", "fr", 1, {
            "sha256": first.sha256, "path": first.path, "source": "packaged", "note": None,
            "created_by": "domus", "created_at": NOW})
    with domus.engine.begin() as connection:
        again = active_template(connection, "tenant_invitation", "fr", now=NOW)
        rows = connection.execute(select(t.letter_templates.c.version,
                                         t.letter_templates.c.active).where(
            t.letter_templates.c.kind == "tenant_invitation",
            t.letter_templates.c.language == "fr")).all()
    assert again.version == 1 and [tuple(row) for row in rows] == [(1, True)]
