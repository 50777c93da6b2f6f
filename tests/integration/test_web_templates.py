"""Letter templates, for administrators: every version per kind and language, a Word file
with a field Domus does not know is refused with the reason, a good one becomes the version
in use, an earlier one can be used again, and each version can be downloaded."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from domus.bootstrap import Domus
from store import tables as t
from tests.web_support import add_people, logged_in

PACKAGED = Path(__file__).resolve().parents[2] / "templates" / "letters"
INVITATION = (PACKAGED / "fr" / "tenant_invitation.docx").read_bytes()
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def edited(old: str, new: str) -> bytes:
    """The packaged French invitation with one piece of its text replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(INVITATION)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "word/document.xml":
                assert old.encode() in data
                data = data.replace(old.encode(), new.encode(), 1)
            zout.writestr(item, data)
    return out.getvalue()


def send(who, data: bytes, *, kind: str = "tenant_invitation", lang: str = "fr",  # type: ignore[no-untyped-def]
         note: str = ""):
    return who.post("/templates", {"kind": kind, "lang": lang, "note": note},
                    files={"file": ("invitation.docx", data, DOCX)})


def versions(domus: Domus) -> list[tuple[int, bool]]:
    with domus.engine.connect() as connection:
        return [(r.version, r.active) for r in connection.execute(
            select(t.letter_templates).where(t.letter_templates.c.kind == "tenant_invitation",
                                             t.letter_templates.c.language == "fr")
            .order_by(t.letter_templates.c.version))]


def test_the_page_lists_each_letter_and_language_with_the_version_in_use(domus: Domus) -> None:
    add_people(domus)
    page = logged_in(domus, "administrator").get("/templates")
    assert page.status_code == 200
    assert "Uitnodiging aan de huurder" in page.text
    assert "Sociaal verslag voor de rechter" in page.text
    assert page.text.count("<strong>In gebruik</strong>") == 8  # 4 letters × 2 languages
    assert 'href="/templates/court_report/nl/1.docx"' in page.text


def test_a_template_with_a_field_domus_does_not_know_is_refused_with_the_reason(
        domus: Domus) -> None:
    add_people(domus)
    carol = logged_in(domus, "administrator")
    carol.get("/templates")

    answer = send(carol, edited("{{ letter.date }}", "{{ letter.date }} {{ shoe_size }}"))

    assert answer.status_code == 422
    assert "Dit sjabloon werd geweigerd" in answer.text
    assert "undeclared variable" in answer.text and "shoe_size" in answer.text
    assert versions(domus) == [(1, True)]
    broken = send(carol, b"not a word file at all")
    assert broken.status_code == 422 and "not a Word (.docx) document" in broken.text


def test_a_good_template_becomes_the_version_in_use_and_each_version_can_be_used_again(
        domus: Domus) -> None:
    add_people(domus, language="fr")
    carol = logged_in(domus, "administrator")
    carol.get("/templates")
    revised = edited("{{ letter.date }}", "{{ letter.date }} (revu)")

    answer = send(carol, revised, note="date revue")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/templates?added=tenant_invitation.fr.2"
    page = carol.get(answer.headers["location"]).text
    assert "La version 2 de « Invitation au locataire » (Français) a été acceptée" in page
    assert "date revue" in page and "carol@schaerbeek.be" in page
    assert versions(domus) == [(1, False), (2, True)]
    download = carol.get("/templates/tenant_invitation/fr/2.docx")
    assert download.status_code == 200 and download.content == revised
    assert download.headers["content-type"] == DOCX
    assert 'filename="tenant_invitation-fr-v2.docx"' in download.headers["content-disposition"]
    assert carol.get("/templates/tenant_invitation/fr/1.docx").content == INVITATION

    back = carol.post("/templates/tenant_invitation/fr/1/activate")

    assert back.status_code == 303 and versions(domus) == [(1, True), (2, False)]
    assert carol.post("/templates/tenant_invitation/fr/9/activate").status_code == 404
    assert carol.get("/templates/tenant_invitation/fr/9.docx").status_code == 404
    assert carol.get("/templates/no_such_letter/fr/1.docx").status_code == 404


ROUTES = [("GET", "/templates"), ("POST", "/templates"),
          ("POST", "/templates/tenant_invitation/fr/1/activate"),
          ("GET", "/templates/tenant_invitation/fr/1.docx")]


@pytest.mark.parametrize("role", ["caseworker", "team_lead", "monitor", "elsewhere"])
def test_only_administrators_reach_the_templates(domus: Domus, role: str) -> None:
    add_people(domus)
    who = logged_in(domus, role)
    for method, route in ROUTES:
        answer = who.get(route) if method == "GET" else send(who, INVITATION) \
            if route == "/templates" else who.post(route)
        assert answer.status_code == 403, (role, route)
    assert versions(domus) == []
