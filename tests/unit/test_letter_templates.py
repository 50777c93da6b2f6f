"""The Word letter templates in templates/letters/{nl,fr}/: they render cleanly with docxtpl
for a complete and for a sparse context, use only the fields of README.md, and keep everything
in the document body (no images, hyperlinks or header/footer fields)."""

from __future__ import annotations

import copy
import importlib.util
import re
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docxtpl import DocxTemplate
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

ROOT = Path(__file__).resolve().parents[2]
LETTERS = ROOT / "templates" / "letters"
LANGS = ("nl", "fr")
KINDS = ("tenant_invitation", "visit_notice", "landlord_mediation", "court_report")
TEMPLATES = [(lang, kind) for lang in LANGS for kind in KINDS]
ALLOWED = {"ocmw", "letter", "tenant", "case", "landlord", "amounts", "appointment",
           "caseworker", "signatory", "report"}
TAG_MARKS = ("{{", "}}", "{%", "%}", "{#", "#}")

FULL = {
    "nl": {
        "ocmw": {
            "name": "OCMW Schaarbeek", "service": "Dienst Huisvesting – Schuldbemiddeling",
            "street": "Reyerslaan 70", "postcode": "1030", "municipality": "Schaarbeek",
            "address_line": "Reyerslaan 70, 1030 Schaarbeek", "phone": "02 555 01 23",
            "email": "schuldbemiddeling@ocmw.example",
            "hours": "maandag tot vrijdag van 9 tot 12 uur",
        },
        "letter": {"date": "4 november 2026", "place": "Schaarbeek",
                   "reference": "26A1234 / D-2026-0042"},
        "tenant": {"first_name": "Amina", "last_name": "El Idrissi",
                   "full_name": "Amina El Idrissi", "salutation": "Geachte mevrouw El Idrissi",
                   "address_lines": ["Koninklijke Sint-Mariastraat 12 bus 3", "1030 Schaarbeek"]},
        "case": {"court": "Vredegerecht van het kanton Schaarbeek", "docket_number": "26A1234",
                 "stage": "petition", "hearing_date": "10 december 2026", "hearing_time": "09:30",
                 "judgment_date": None, "earliest_eviction_date": None, "eviction_date": None,
                 "eviction_time": None, "moratorium": False},
        "landlord": {"name": "Immo Dupont & Zonen BV",
                     "address_lines": ["Louizalaan 200", "1050 Brussel"],
                     "salutation": "Geachte heer Dupont"},
        "amounts": {"arrears": "€ 2.900,50", "monthly_rent": "€ 725,00"},
        "appointment": {"date": "dinsdag 17 november 2026", "time": "10:00",
                        "place": "Reyerslaan 70, 1030 Schaarbeek (onthaal)"},
        "caseworker": {"name": "Sofie Peeters", "email": "sofie.peeters@ocmw.example"},
        "signatory": {"name": "Sofie Peeters", "title": "Maatschappelijk werker"},
        "report": {
            "contacts": [
                {"date": "5 november 2026", "channel": "brief", "result": "niet bereikt",
                 "note": None},
                {"date": "12 november 2026", "channel": "huisbezoek", "result": "bereikt",
                 "note": "Mevrouw was thuis; afspraak gemaakt."},
            ],
            "effective_contact": True,
            "home_visits": 2,
            "tasks_done": [{"label": "Uitnodigingsbrief verstuurd", "date": "5 november 2026"},
                           {"label": "Verhuurder gecontacteerd", "date": None}],
            "flags": ["Minder dan 40 dagen tussen het verzoekschrift en de zitting."],
        },
    },
    "fr": {
        "ocmw": {
            "name": "CPAS de Schaerbeek", "service": "Service Logement – Médiation de dettes",
            "street": "Boulevard Auguste Reyers 70", "postcode": "1030",
            "municipality": "Schaerbeek",
            "address_line": "Boulevard Auguste Reyers 70, 1030 Schaerbeek",
            "phone": "02 555 01 23", "email": "mediation.dettes@cpas.example",
            "hours": "du lundi au vendredi de 9 h à 12 h",
        },
        "letter": {"date": "4 novembre 2026", "place": "Schaerbeek",
                   "reference": "26A1234 / D-2026-0042"},
        "tenant": {"first_name": "Amina", "last_name": "El Idrissi",
                   "full_name": "Amina El Idrissi", "salutation": "Madame",
                   "address_lines": ["Rue Royale Sainte-Marie 12 boîte 3", "1030 Schaerbeek"]},
        "case": {"court": "Justice de paix du canton de Schaerbeek", "docket_number": "26A1234",
                 "stage": "petition", "hearing_date": "10 décembre 2026", "hearing_time": "09:30",
                 "judgment_date": None, "earliest_eviction_date": None, "eviction_date": None,
                 "eviction_time": None, "moratorium": False},
        "landlord": {"name": "Immo Dupont & Fils SRL",
                     "address_lines": ["Avenue Louise 200", "1050 Bruxelles"],
                     "salutation": "Monsieur"},
        "amounts": {"arrears": "2 900,50 €", "monthly_rent": "725,00 €"},
        "appointment": {"date": "mardi 17 novembre 2026", "time": "10:00",
                        "place": "Boulevard Auguste Reyers 70, 1030 Schaerbeek (accueil)"},
        "caseworker": {"name": "Sophie Lambert", "email": "sophie.lambert@cpas.example"},
        "signatory": {"name": "Sophie Lambert", "title": "Assistante sociale"},
        "report": {
            "contacts": [
                {"date": "5 novembre 2026", "channel": "courrier", "result": "non joint",
                 "note": None},
                {"date": "12 novembre 2026", "channel": "visite à domicile", "result": "joint",
                 "note": "Madame était présente ; rendez-vous fixé."},
            ],
            "effective_contact": True,
            "home_visits": 2,
            "tasks_done": [{"label": "Lettre d’invitation envoyée", "date": "5 novembre 2026"},
                           {"label": "Bailleur contacté", "date": None}],
            "flags": ["Moins de 40 jours entre la requête et l’audience."],
        },
    },
}

JUDGMENT = {"stage": "judgment", "judgment_date": {"nl": "8 januari 2027", "fr": "8 janvier 2027"},
            "earliest_eviction_date": {"nl": "9 februari 2027", "fr": "9 février 2027"}}
EVICTION = {"nl": "3 december 2027", "fr": "3 décembre 2027"}
MORATORIUM_WORD = {"nl": "wintermoratorium", "fr": "trêve hivernale"}


def sparse(lang: str) -> dict:
    """What Domus knows at worst: no hearing, no landlord address, no amounts, no OCMW
    address or phone, nobody to sign, empty report lists."""
    full = FULL[lang]
    return {
        "ocmw": {"name": full["ocmw"]["name"], "service": full["ocmw"]["service"],
                 "street": None, "postcode": None, "municipality": None, "address_line": "",
                 "phone": None, "email": None, "hours": None},
        "letter": {"date": full["letter"]["date"], "place": None,
                   "reference": full["letter"]["reference"]},
        "tenant": {"first_name": None, "last_name": "Janssens", "full_name": "Janssens",
                   "salutation": None, "address_lines": []},
        "case": {"court": full["case"]["court"], "docket_number": "26A0007",
                 "stage": "petition", "hearing_date": None, "hearing_time": None,
                 "judgment_date": None, "earliest_eviction_date": None, "eviction_date": None,
                 "eviction_time": None, "moratorium": False},
        "landlord": {"name": None, "address_lines": None, "salutation": None},
        "amounts": {"arrears": None, "monthly_rent": None},
        "appointment": {"date": None, "time": None, "place": None},
        "caseworker": {"name": None, "email": None},
        "signatory": {"name": None, "title": None},
        "report": {"contacts": [], "effective_contact": False, "home_visits": 0,
                   "tasks_done": [], "flags": []},
    }


def template_path(lang: str, kind: str) -> Path:
    return LETTERS / lang / f"{kind}.docx"


def render(path: Path, context: dict, jinja_env=None) -> bytes:
    template = DocxTemplate(path)
    template.render(context, jinja_env=jinja_env, autoescape=True)
    out = BytesIO()
    template.save(out)
    return out.getvalue()


def paragraphs(docx_bytes: bytes) -> list[str]:
    """The text of every paragraph of the body, table cells included."""
    body = Document(BytesIO(docx_bytes)).element.body
    return ["".join(t.text or "" for t in p.iter(qn("w:t"))) for p in body.iter(qn("w:p"))]


def assert_clean(texts: list[str]) -> str:
    for text in texts:
        for mark in TAG_MARKS:
            assert mark not in text, f"template tag left in {text!r}"
        assert "None" not in text, f"'None' printed in {text!r}"
    return "\n".join(texts)


def readme_fields() -> set[str]:
    readme = (LETTERS / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"`([a-z_]+\.[a-z_]+)`", readme))


@pytest.fixture(scope="module", params=TEMPLATES, ids=[f"{lang}-{kind}" for lang, kind in
                                                       TEMPLATES])
def template(request) -> tuple[str, str, Path]:
    lang, kind = request.param
    path = template_path(lang, kind)
    assert path.is_file(), f"missing {path}; run templates/letters/build_templates.py"
    return lang, kind, path


def test_full_context_renders_every_field(template):
    lang, kind, path = template
    context = FULL[lang]
    text = assert_clean(paragraphs(render(path, context)))
    assert context["tenant"]["full_name"] in text
    assert context["case"]["docket_number"] in text
    assert context["ocmw"]["name"] in text
    assert context["case"]["hearing_date"] in text
    assert context["letter"]["reference"] in text
    assert context["signatory"]["name"] in text
    if kind in ("landlord_mediation", "court_report"):
        assert context["amounts"]["arrears"] in text
        assert context["amounts"]["monthly_rent"] in text
        assert context["landlord"]["name"] in text  # escaped "&" survives the round trip
    if kind in ("tenant_invitation", "visit_notice"):
        assert context["appointment"]["date"] in text
        assert context["appointment"]["place"] in text
    if kind == "landlord_mediation":
        assert "Louizalaan 200" in text or "Avenue Louise 200" in text
    if kind == "court_report":
        for contact in context["report"]["contacts"]:
            assert contact["date"] in text and contact["channel"] in text
        assert context["report"]["contacts"][1]["note"] in text
        assert context["report"]["tasks_done"][0]["label"] in text
        assert context["report"]["flags"][0] in text


def test_address_lines_give_one_paragraph_each(template):
    lang, kind, path = template
    texts = paragraphs(render(path, FULL[lang]))
    recipient = "landlord" if kind == "landlord_mediation" else "tenant"
    for line in FULL[lang][recipient]["address_lines"]:
        if kind == "court_report":  # the dwelling, on one line of the identification table
            assert any(line in text for text in texts)
        else:
            assert line in texts


@pytest.mark.parametrize("stage", ["judgment", "eviction"])
def test_later_stages_render(template, stage):
    lang, kind, path = template
    context = copy.deepcopy(FULL[lang])
    case = context["case"]
    case["stage"] = stage
    case["judgment_date"] = JUDGMENT["judgment_date"][lang]
    case["earliest_eviction_date"] = JUDGMENT["earliest_eviction_date"][lang]
    if stage == "eviction":
        case.update(eviction_date=EVICTION[lang], eviction_time="08:00", moratorium=True)
    text = assert_clean(paragraphs(render(path, context)))
    assert case["docket_number"] in text
    if stage == "eviction" and kind in ("tenant_invitation", "visit_notice", "court_report"):
        assert EVICTION[lang] in text
    if stage == "eviction" and kind in ("tenant_invitation", "court_report"):
        assert MORATORIUM_WORD[lang] in text.lower()
    if stage == "judgment" and kind in ("tenant_invitation", "visit_notice", "court_report"):
        assert case["earliest_eviction_date"] in text


def test_sparse_context_renders_cleanly(template):
    lang, kind, path = template
    context = sparse(lang)
    texts = paragraphs(render(path, context))
    text = assert_clean(texts)
    assert "Janssens" in text
    assert "26A0007" in text
    assert context["ocmw"]["name"] in text
    assert FULL[lang]["case"]["hearing_date"] not in text
    for label in ("Tel.", "Tél.", "e-mail", "openingsuren", "heures d’ouverture"):
        assert label not in text, f"{label!r} shown without a value"
    if kind == "court_report":
        assert any(word in text for word in ("onbekend", "inconnu"))


def test_sandboxed_strict_rendering(template):
    """Domus renders in a sandbox; the templates read no field outside the context."""
    lang, _kind, path = template
    for context in (FULL[lang], sparse(lang)):
        env = SandboxedEnvironment(undefined=StrictUndefined)
        assert_clean(paragraphs(render(path, context, jinja_env=env)))


def test_declared_variables_are_readme_fields(template):
    _lang, _kind, path = template
    names = DocxTemplate(path).get_undeclared_template_variables()
    assert names, "no fields found"
    assert names <= ALLOWED, names - ALLOWED
    # and the attributes read on them are README fields
    with zipfile.ZipFile(path) as package:
        xml = package.read("word/document.xml").decode("utf-8")
    text = re.sub(r"<[^>]+>", "", xml)
    used = set(re.findall(r"\b(" + "|".join(sorted(ALLOWED)) + r")\.([a-z_]+)", text))
    unknown = {f"{a}.{b}" for a, b in used} - readme_fields()
    assert not unknown, unknown


def test_tags_each_inside_one_run(template):
    _lang, _kind, path = template
    body = Document(path).element.body
    tag = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}")
    for run in body.iter(qn("w:r")):
        text = "".join(t.text or "" for t in run.iter(qn("w:t")))
        rest = tag.sub("", text)
        assert not any(mark in rest for mark in TAG_MARKS), f"split tag in run {text!r}"
    for p in body.iter(qn("w:p")):
        text = "".join(t.text or "" for t in p.iter(qn("w:t")))
        if re.search(r"{%(p|tr) ", text):
            assert re.fullmatch(r"{%(p|tr) [^}%]*%}", text), f"{text!r} must stand alone"


def test_package_keeps_everything_in_the_body(template):
    _lang, _kind, path = template
    with zipfile.ZipFile(path) as package:
        names = package.namelist()
        document = package.read("word/document.xml").decode("utf-8")
        assert "<w:hyperlink" not in document
        assert "<w:drawing" not in document and "<w:pict" not in document
        assert not [n for n in names if n.startswith("word/media/")]
        assert not [n for n in names if n.lower().endswith((".jpeg", ".jpg", ".png", ".emf"))]
        for name in names:
            if re.fullmatch(r"word/(header|footer)\d*\.xml", name):
                part = package.read(name).decode("utf-8")
                assert not any(mark in part for mark in TAG_MARKS), name
        assert "<w:headerReference" not in document and "<w:footerReference" not in document
    section = Document(path).sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.page_height.cm, 1) == 29.7
    for margin in (section.top_margin, section.bottom_margin, section.left_margin,
                   section.right_margin):
        assert round(margin.cm, 2) == 2.0


def test_styles_identical_in_all_templates():
    """Domus merges letter bodies into one document: same style definitions everywhere."""
    blobs = set()
    for lang, kind in TEMPLATES:
        with zipfile.ZipFile(template_path(lang, kind)) as package:
            blobs.add(package.read("word/styles.xml"))
    assert len(blobs) == 1
    styles = Document(template_path("nl", "tenant_invitation")).styles
    domus = {s.name for s in styles if s.name and s.name.startswith("Domus ")}
    assert {"Domus Letterhead", "Domus Address", "Domus Subject", "Domus Footer"} <= domus
    used = set()
    for lang, kind in TEMPLATES:
        for p in Document(template_path(lang, kind)).element.body.iter(qn("w:pStyle")):
            used.add(p.get(qn("w:val")))
    ids = {s.style_id for s in styles if s.name and s.name.startswith("Domus ")}
    assert used <= ids, used - ids


def test_build_script_reproduces_the_templates(tmp_path):
    """The committed .docx files are what build_templates.py makes (body and styles)."""
    spec = importlib.util.spec_from_file_location("build_templates",
                                                  LETTERS / "build_templates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path)
    for lang, kind in TEMPLATES:
        with zipfile.ZipFile(template_path(lang, kind)) as committed, \
                zipfile.ZipFile(tmp_path / lang / f"{kind}.docx") as fresh:
            for part in ("word/document.xml", "word/styles.xml"):
                assert committed.read(part) == fresh.read(part), (lang, kind, part)
