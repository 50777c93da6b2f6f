"""The sandboxed, compiled .docx renderer (services/docx_render.py): same letters as docxtpl,
escaping, template acceptance, the sandbox, merging and reproducible bytes."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docx
import pytest
from docx.enum.section import WD_SECTION
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docxtpl import DocxTemplate, RichText
from lxml import etree

from services.docx_render import (
    CompiledTemplate,
    RenderError,
    TemplateRejected,
    merge_documents,
)

NAMES = frozenset({"tenant", "case", "report", "letter"})
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def context(name: str = "Amina El Idrissi", **changes: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "tenant": {"full_name": name, "note": "first line"},
        "case": {"hearing_date": "10 décembre 2026", "docket_number": "26A1234"},
        "report": {"contacts": [{"date": "1 octobre 2026", "result": "joint"},
                                {"date": "3 octobre 2026", "result": "absent"}]},
        "letter": {"reference": "26A1234 / c-1"},
    }
    ctx.update(changes)
    return ctx


def template(build: Callable[[docx.document.Document], None] | None = None,
             header: str = "Réf. {{ letter.reference }}") -> bytes:
    """A small letter: a field, a {%p if %} paragraph, a {%tr for %} table, a header."""
    doc = docx.Document()
    doc.sections[0].header.paragraphs[0].text = header
    p = doc.add_paragraph("Madame, Monsieur ")
    p.add_run("{{ tenant.full_name }}").bold = True
    doc.add_paragraph("{%p if case.hearing_date %}")
    doc.add_paragraph("Audience le {{ case.hearing_date }} (rôle {{ case.docket_number }}).")
    doc.add_paragraph("{%p endif %}")
    table = doc.add_table(rows=4, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Date", "Résultat"
    table.cell(1, 0).text = "{%tr for c in report.contacts %}"
    table.cell(2, 0).text, table.cell(2, 1).text = "{{ c.date }}", "{{ c.result }}"
    table.cell(3, 0).text = "{%tr endfor %}"
    doc.add_paragraph("Note : {{ tenant.note }}")
    if build:
        build(doc)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def compiled(data: bytes | None = None, names: frozenset[str] = NAMES) -> CompiledTemplate:
    return CompiledTemplate.from_bytes(template() if data is None else data,
                                       allowed_names=names, name="test")


def texts(data: bytes) -> dict[str, list[Any]]:
    doc = docx.Document(io.BytesIO(data))
    return {"body": [p.text for p in doc.paragraphs],
            "tables": [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables],
            "header": [p.text for p in doc.sections[0].header.paragraphs]}


def with_docxtpl(data: bytes, ctx: dict[str, Any]) -> bytes:
    tpl = DocxTemplate(io.BytesIO(data))
    tpl.render(ctx, autoescape=True)
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()


def test_render_opens_in_python_docx_with_the_right_text() -> None:
    result = texts(compiled().render(context()))
    assert result["body"] == ["Madame, Monsieur Amina El Idrissi",
                              "Audience le 10 décembre 2026 (rôle 26A1234).",
                              "Note : first line"]
    assert result["tables"] == [[["Date", "Résultat"], ["1 octobre 2026", "joint"],
                                 ["3 octobre 2026", "absent"]]]
    assert result["header"] == ["Réf. 26A1234 / c-1"]


@pytest.mark.parametrize("ctx", [
    context(),
    context(case={"hearing_date": "", "docket_number": "X"}, report={"contacts": []}),
    context("Smith & <Co> \"quoted\" 'single'"),
    context(tenant={"full_name": "Jan", "note": "line one\nline two\tafter a tab"}),
])
def test_same_text_as_docxtpl(ctx: dict[str, Any]) -> None:
    data = template()
    assert texts(compiled(data).render(ctx)) == texts(with_docxtpl(data, ctx))


def test_same_text_as_docxtpl_for_table_columns_and_rich_text() -> None:
    """{%tc for %} loops go through docxtpl's fix_tables; {{r }} takes a RichText."""
    def build(doc: docx.document.Document) -> None:
        table = doc.add_table(rows=1, cols=3)
        table.cell(0, 0).text = "{%tc for c in report.contacts %}"
        table.cell(0, 1).text = "{{ c.result }}"
        table.cell(0, 2).text = "{%tc endfor %}"
        doc.add_paragraph("{{r tenant.rich }}")

    data = template(build)
    rich = RichText("bold & <b>", bold=True)
    ctx = context(tenant={"full_name": "A", "note": "n", "rich": rich})
    ours = compiled(data).render(ctx)
    assert texts(ours) == texts(with_docxtpl(data, ctx))
    assert texts(ours)["tables"][1] == [["joint", "absent"]]
    assert "bold & <b>" in texts(ours)["body"]


def test_values_are_escaped_and_the_xml_stays_valid() -> None:
    name = "Smith & <Co> ]]> </w:t><w:t>"
    out = compiled().render(context(name))
    document = zipfile.ZipFile(io.BytesIO(out)).read("word/document.xml")
    etree.fromstring(document)  # well-formed
    assert b"Smith &amp; &lt;Co&gt;" in document
    assert texts(out)["body"][0] == f"Madame, Monsieur {name}"


def test_none_newlines_and_control_characters() -> None:
    ctx = context(tenant={"full_name": None, "note": "a\r\nb\x0bc\x01d\x0c"})
    body = texts(compiled().render(ctx))["body"]
    assert body[0] == "Madame, Monsieur "  # None prints as nothing, not "None"
    assert body[-1] == "Note : a\nb\ncd"  # line breaks; XML-illegal characters dropped


def test_literal_braces_escape() -> None:
    data = template(lambda doc: doc.add_paragraph("Write {_{ this }_} and {_% that %_}"))
    assert texts(compiled(data).render(context()))["body"][-1] == \
        "Write {{ this }} and {% that %}"


def test_package_is_complete_and_content_types_first() -> None:
    data = template()
    out = compiled(data).render(context())
    archive = zipfile.ZipFile(io.BytesIO(out))
    assert archive.testzip() is None
    names = archive.namelist()
    assert names[0] == "[Content_Types].xml"
    assert sorted(names) == sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert archive.read("word/styles.xml") == zipfile.ZipFile(io.BytesIO(data)).read(
        "word/styles.xml")


def test_render_is_deterministic() -> None:
    data = template()
    first = compiled(data).render(context())
    again = compiled(data).render(context())
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(again).hexdigest()
    assert compiled(data).render(context("Other")) != first
    assert {i.date_time for i in zipfile.ZipFile(io.BytesIO(first)).infolist()} == \
        {(1980, 1, 1, 0, 0, 0)}


def test_concurrent_renders_match_sequential_ones() -> None:
    tpl = compiled()
    contexts = [context(f"Tenant {i}") for i in range(40)]
    expected = [tpl.render(c) for c in contexts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(tpl.render, contexts)) == expected


def test_template_variables_and_parts() -> None:
    tpl = compiled()
    assert tpl.variables == NAMES
    assert tpl.parts == ("word/document.xml", "word/header1.xml")


# --- acceptance ------------------------------------------------------------------------------


def rejected(data: bytes, names: frozenset[str] = NAMES) -> TemplateRejected:
    with pytest.raises(TemplateRejected) as caught:
        compiled(data, names)
    return caught.value


def test_syntax_error_names_the_part_and_line() -> None:
    error = rejected(template(lambda doc: doc.add_paragraph("{% if tenant.full_name %}oops")))
    assert error.part == "word/document.xml"
    assert error.line and "syntax error" in str(error)
    assert "word/document.xml" in str(error) and "test" in str(error)

    error = rejected(template(header="Réf. {{ letter.reference }"))
    assert error.part == "word/header1.xml"
    assert "syntax error" in error.problem


def test_unknown_filter_is_a_syntax_error() -> None:
    error = rejected(template(lambda doc: doc.add_paragraph("{{ tenant.full_name|shout }}")))
    assert "shout" in str(error)


def test_undeclared_variables_are_listed() -> None:
    def build(doc: docx.document.Document) -> None:
        doc.add_paragraph("{{ tenantt.full_name }} {{ landlord.name }}")

    error = rejected(template(build))
    assert error.names == ("landlord", "tenantt")
    assert "undeclared variable(s): landlord, tenantt" in str(error)
    assert error.part == "word/document.xml" and error.line
    # names from the header too
    error = rejected(template(header="{{ ocmw.name }}"))
    assert error.names == ("ocmw",) and error.part == "word/header1.xml"


@pytest.mark.parametrize("field", [
    "{{ tenant.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ tenant['__class__'] }}",
    "{{ tenant|attr('__class__') }}",
    "{{ tenant._private }}",
])
def test_python_internals_are_refused_at_acceptance(field: str) -> None:
    error = rejected(template(lambda doc: doc.add_paragraph(field)),
                     names=NAMES | {"cycler"})
    assert "not allowed" in str(error)
    assert error.part == "word/document.xml"


def test_include_and_import_are_refused() -> None:
    error = rejected(template(lambda doc: doc.add_paragraph('{% include "x.xml" %}')))
    assert "include" in str(error)


def test_the_sandbox_refuses_at_render_time() -> None:
    """What the acceptance check cannot see (a computed attribute name, mutating a value)
    the sandbox stops when rendering."""
    dynamic = compiled(template(lambda doc: doc.add_paragraph(
        "{{ tenant|attr(letter.reference) }}")))
    with pytest.raises(TemplateRejected, match="unsafe|sandbox"):
        dynamic.render(context(letter={"reference": "__class__"}))
    mutating = compiled(template(lambda doc: doc.add_paragraph(
        "{{ report.contacts.append(1) }}")))
    ctx = context()
    with pytest.raises(TemplateRejected, match="sandbox"):
        mutating.render(ctx)
    assert len(ctx["report"]["contacts"]) == 2


def test_a_missing_field_fails_the_render_by_name() -> None:
    tpl = compiled(template(lambda doc: doc.add_paragraph("{{ tenant.ful_name }}")))
    with pytest.raises(RenderError, match="ful_name"):
        tpl.render(context())


def test_not_a_docx_is_rejected() -> None:
    with pytest.raises(TemplateRejected, match="not a Word"):
        CompiledTemplate.from_bytes(b"not a zip", allowed_names=NAMES)


# --- merging ---------------------------------------------------------------------------------


def test_merge_keeps_the_documents_in_order_each_on_a_new_page() -> None:
    tpl = compiled()
    letters = [tpl.render(context(name)) for name in ("Anna", "Bert", "Chloé")]
    merged = merge_documents(letters)
    doc = docx.Document(io.BytesIO(merged))
    firsts = [p.text for p in doc.paragraphs if p.text.startswith("Madame")]
    assert firsts == ["Madame, Monsieur Anna", "Madame, Monsieur Bert",
                      "Madame, Monsieur Chloé"]
    assert len(doc.tables) == 3
    assert len(doc.sections) == 3
    assert all(s.start_type == WD_SECTION.NEW_PAGE for s in doc.sections)
    body = doc.element.body
    starts = body.findall(f".//{{{W}}}pgNumType")
    assert [s.get(f"{{{W}}}start") for s in starts] == ["1", "1", "1"]
    assert zipfile.ZipFile(io.BytesIO(merged)).testzip() is None
    etree.fromstring(zipfile.ZipFile(io.BytesIO(merged)).read("word/document.xml"))


def test_merge_without_page_breaks_and_of_one_document() -> None:
    tpl = compiled()
    letters = [tpl.render(context(name)) for name in ("Anna", "Bert")]
    doc = docx.Document(io.BytesIO(merge_documents(letters, page_breaks=False)))
    assert len(doc.sections) == 1
    assert [p.text for p in doc.paragraphs].count("Note : first line") == 2
    assert merge_documents(letters[:1]) == letters[0]
    with pytest.raises(ValueError):
        merge_documents([])


def with_hyperlink(doc: docx.document.Document) -> None:
    r_id = doc.part.relate_to("https://example.org", RT.HYPERLINK, is_external=True)
    paragraph = doc.add_paragraph()
    paragraph._p.append(parse_xml(
        f'<w:hyperlink xmlns:w="{W}" xmlns:r="http://schemas.openxmlformats.org/'
        f'officeDocument/2006/relationships" r:id="{r_id}"><w:r><w:t>link</w:t></w:r>'
        "</w:hyperlink>"))


def test_merge_refuses_references_that_would_dangle() -> None:
    plain = compiled().render(context())
    linked = compiled(template(with_hyperlink)).render(context())
    with pytest.raises(ValueError, match="document 2.*dangle"):
        merge_documents([plain, linked])
    # the first document's own references stay valid: its package is the merged one's
    assert texts(merge_documents([linked, plain]))["body"].count("link") == 1
    # letters from one template share their relationships: allowed
    tpl = compiled(template(with_hyperlink))
    merged = merge_documents([tpl.render(context("A")), tpl.render(context("B"))])
    assert texts(merged)["body"].count("link") == 2


def test_merge_refuses_footnote_references() -> None:
    plain = compiled().render(context())
    archive = zipfile.ZipFile(io.BytesIO(plain))
    document = archive.read("word/document.xml").replace(
        b"</w:p>", b'<w:r><w:footnoteReference w:id="1"/></w:r></w:p>', 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as rewritten:
        for info in archive.infolist():
            rewritten.writestr(info, document if info.filename == "word/document.xml"
                               else archive.read(info))
    with pytest.raises(ValueError, match="footnote"):
        merge_documents([plain, out.getvalue()])
