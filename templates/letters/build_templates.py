"""Build the Word letter templates `templates/letters/{nl,fr}/<kind>.docx` with python-docx.

    python templates/letters/build_templates.py [--out DIR]

The templates are the starting point that OCMW administrators then open and adapt in Word, so
the output is meant to read like a careful Belgian public-service letter: A4, 2 cm margins,
Calibri 10.5 pt, a letterhead at the top of the body, the recipient's address placed for a
window envelope (right-hand side), reference and subject lines, body, closing formula,
signature block and a small contact footer at the end of the body.

Constraints that Domus relies on (see README.md beside this file):

* everything lives in word/document.xml: no Word header or footer parts, no images, no
  hyperlinks, no numbering definitions (list dashes are typed, with a hanging indent);
* only the default styles plus the `Domus …` paragraph styles defined below, identical in all
  eight files, because Domus merges the bodies of several letters (the bilingual letter, the
  print batch) into one document;
* the fields are those of README.md, in docxtpl's Jinja2 syntax; every Jinja tag sits inside a
  single run, and `{%p … %}` / `{%tr … %}` tags sit alone in their paragraph / table row
  (docxtpl replaces that whole paragraph or row by the tag);
* every optional value is guarded, so an unknown value leaves no "None" and no empty label.

Grey 8 pt paragraphs in the templates are the logic lines (`{%p if … %}`); they disappear
when Domus renders a letter.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
LANGS = ("nl", "fr")
KINDS = ("tenant_invitation", "visit_notice", "landlord_mediation", "court_report")
LOCALE = {"nl": "nl-BE", "fr": "fr-BE"}

FONT = "Calibri"
BODY_PT = 10.5
TEXT_WIDTH_CM = 17.0  # A4 (21 cm) less two 2 cm margins
GREY_RULE = "808080"
GREY_TEXT = RGBColor(0x40, 0x40, 0x40)
GREY_LOGIC = RGBColor(0x8C, 0x8C, 0x8C)
LABEL_FILL = "F2F2F2"
BLOCK_GAP = 26  # pt between the letterhead and the date / address block

# --------------------------------------------------------------------------- styles

S_LETTERHEAD = "Domus Letterhead"
S_ADDRESS = "Domus Address"
S_COMPACT = "Domus Compact"
S_SUBJECT = "Domus Subject"
S_TITLE = "Domus Title"
S_HEADING = "Domus Heading"
S_LIST = "Domus List"
S_BOX = "Domus Box"
S_TABLE = "Domus Table"
S_FOOTER = "Domus Footer"
STYLE_NAMES = (S_LETTERHEAD, S_ADDRESS, S_COMPACT, S_SUBJECT, S_TITLE, S_HEADING, S_LIST,
               S_BOX, S_TABLE, S_FOOTER)

# successors of w:pBdr / w:shd inside w:pPr (ECMA-376 order), for inserting them in place
_PPR_AFTER_PBDR = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
                   "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN",
                   "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
                   "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
                   "w:textDirection", "w:textAlignment", "w:textboxTightWrap",
                   "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
                   "w:pPrChange")
_PPR_AFTER_OUTLINE = ("w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
_RPR_AFTER_LANG = ("w:eastAsianLayout", "w:specVanish", "w:oMath")
_TCPR_AFTER_SHD = ("w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign",
                   "w:hideMark", "w:headers", "w:cellIns", "w:cellDel", "w:cellMerge",
                   "w:tcPrChange")
_TBLPR_AFTER_BORDERS = ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption",
                        "w:tblDescription", "w:tblPrChange")


def _border(tag: str, size: int = 6, space: int = 1, color: str = GREY_RULE):
    el = OxmlElement(tag)
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(size))
    el.set(qn("w:space"), str(space))
    el.set(qn("w:color"), color)
    return el


def _shading(fill: str):
    el = OxmlElement("w:shd")
    el.set(qn("w:val"), "clear")
    el.set(qn("w:color"), "auto")
    el.set(qn("w:fill"), fill)
    return el


def _set_fonts(rpr_owner) -> None:
    """Calibri for every script, replacing the theme font references of the defaults."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def _paragraph_style(doc, name: str, *, size: float | None = None, bold: bool = False,
                     color: RGBColor | None = None, before: float = 0, after: float = 0,
                     keep_next: bool = False, left_cm: float = 0, hanging_cm: float = 0):
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles["Normal"]
    style.next_paragraph_style = doc.styles["Normal"]
    style.quick_style = True
    pf = style.paragraph_format
    pf.space_before = Pt(before)
    pf.space_after = Pt(after)
    if keep_next:
        pf.keep_with_next = True
    if left_cm:
        pf.left_indent = Cm(left_cm)
    if hanging_cm:
        pf.first_line_indent = Cm(-hanging_cm)
    font = style.font
    if size is not None:
        font.size = Pt(size)
    if bold:
        font.bold = True
    if color is not None:
        font.color.rgb = color
    return style


def _define_styles(doc) -> None:
    """Normal and the Domus styles: the same definitions in every template."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr_default = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = rpr_default.find(qn("w:rFonts"))
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)
    spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "240")

    normal = doc.styles["Normal"]
    _set_fonts(normal.element)
    normal.font.size = Pt(BODY_PT)
    pf = normal.paragraph_format
    pf.space_before = Pt(0)
    pf.space_after = Pt(4)
    pf.line_spacing = 1.0
    pf.widow_control = True

    letterhead = _paragraph_style(doc, S_LETTERHEAD, size=9, color=GREY_TEXT)
    # one rule under the whole letterhead: consecutive paragraphs with the same border form a
    # group, so only the last line of the letterhead (whichever lines are left) carries it
    ppr = letterhead.element.get_or_add_pPr()
    pbdr = OxmlElement("w:pBdr")
    pbdr.append(_border("w:bottom", size=6, space=4))
    ppr.insert_element_before(pbdr, *_PPR_AFTER_PBDR)

    _paragraph_style(doc, S_ADDRESS)
    _paragraph_style(doc, S_COMPACT)
    _paragraph_style(doc, S_SUBJECT, bold=True, before=16, after=10, keep_next=True)
    _paragraph_style(doc, S_TITLE, size=15, bold=True, before=6, after=2, keep_next=True)
    heading = _paragraph_style(doc, S_HEADING, size=11, bold=True, before=9, after=3,
                               keep_next=True)
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), "0")  # shows in Word's navigation pane
    heading.element.get_or_add_pPr().insert_element_before(outline, *_PPR_AFTER_OUTLINE)

    lst = _paragraph_style(doc, S_LIST, after=2, left_cm=0.6, hanging_cm=0.6)
    lst.paragraph_format.tab_stops.add_tab_stop(Cm(0.6), WD_TAB_ALIGNMENT.LEFT)

    box = _paragraph_style(doc, S_BOX, after=3, left_cm=0.25)
    box.paragraph_format.right_indent = Cm(0.25)
    ppr = box.element.get_or_add_pPr()
    pbdr = OxmlElement("w:pBdr")
    for side in ("w:top", "w:left", "w:bottom", "w:right"):
        pbdr.append(_border(side, size=6, space=5))
    ppr.insert_element_before(pbdr, *_PPR_AFTER_PBDR)
    ppr.insert_element_before(_shading(LABEL_FILL), *_PPR_AFTER_PBDR[1:])

    table = _paragraph_style(doc, S_TABLE, size=9.5, before=1, after=1)
    table.paragraph_format.line_spacing = 1.0

    footer = _paragraph_style(doc, S_FOOTER, size=8, color=GREY_TEXT, before=12)
    ppr = footer.element.get_or_add_pPr()
    pbdr = OxmlElement("w:pBdr")
    pbdr.append(_border("w:top", size=4, space=4))
    ppr.insert_element_before(pbdr, *_PPR_AFTER_PBDR)


# --------------------------------------------------------------------------- document

_TAG = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.DOTALL)
_FR_SPACE = re.compile(r" ([:;?!»])|(«) ")
_GLUED = re.compile(r"(\bart\.|§) ")  # "art. 1344ter", "§ 4" never split over two lines


def _typography(text: str, french: bool) -> str:
    """Non-breaking spaces (outside Jinja tags): after "art." and "§", and in French before
    : ; ? ! » and after «."""

    def fix(chunk: str) -> str:
        chunk = _GLUED.sub(lambda m: m.group(1) + "\u00a0", chunk)
        return _FR_SPACE.sub(_nbsp, chunk) if french else chunk

    out, pos = [], 0
    for m in _TAG.finditer(text):
        out.append(fix(text[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(fix(text[pos:]))
    return "".join(out)


def _nbsp(m: re.Match) -> str:
    return "\u00a0" + m.group(1) if m.group(1) else m.group(2) + "\u00a0"


Run = tuple[str, dict]


class Letter:
    """One template under construction, in one language."""

    def __init__(self, lang: str, title: str, subject: str):
        self.lang = lang
        self.doc = Document()
        self._container = None  # a table cell that p() writes into, else the body
        self._setup(title, subject)

    # -- language
    def L(self, nl: str, fr: str) -> str:  # noqa: N802 - reads like a translation call
        return _typography(nl, False) if self.lang == "nl" else _typography(fr, True)

    # -- package and page
    def _setup(self, title: str, subject: str) -> None:
        doc = self.doc
        pkg_rels = doc.part.package.rels
        for rid, rel in list(pkg_rels.items()):
            if rel.reltype == RT.THUMBNAIL:  # python-docx's default preview image
                pkg_rels.pop(rid)
        settings = doc.settings.element
        proof = settings.find(qn("w:proofState"))
        if proof is not None:
            settings.remove(proof)
        for setting in settings.iter(qn("w:compatSetting")):
            if setting.get(qn("w:name")) == "compatibilityMode":
                setting.set(qn("w:val"), "15")
        section = doc.sections[0]
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        for side in ("top_margin", "bottom_margin", "left_margin", "right_margin"):
            setattr(section, side, Cm(2.0))
        section.header_distance = section.footer_distance = Cm(1.0)
        _define_styles(doc)
        props = doc.core_properties
        props.title = title
        props.subject = subject
        props.author = "Domus"
        props.last_modified_by = "Domus"
        props.keywords = "Domus; OCMW; CPAS"
        # no Jinja here: docxtpl renders these properties too
        props.comments = ("Domus letter template; fields in templates/letters/README.md. "
                          "The small grey lines are template logic and vanish in the letter.")
        props.language = LOCALE[self.lang]
        props.category = "Domus"
        props.revision = 1
        stamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        props.created = props.modified = stamp
        props.last_printed = stamp

    # -- paragraphs
    def _runs(self, content: str | Sequence[Run]) -> list[Run]:
        if not isinstance(content, str):
            return list(content)
        runs: list[Run] = []
        for i, piece in enumerate(content.split("**")):
            if piece:
                runs.append((piece, {"bold": True} if i % 2 else {}))
        return runs

    def _mark_language(self, paragraph) -> None:
        ppr = paragraph._p.get_or_add_pPr()
        rpr = OxmlElement("w:rPr")
        rpr.append(self._lang_el())
        ppr.insert_element_before(rpr, "w:sectPr", "w:pPrChange")

    def _lang_el(self):
        lang = OxmlElement("w:lang")
        lang.set(qn("w:val"), LOCALE[self.lang])
        return lang

    def p(self, content: str | Sequence[Run] = "", style: str | None = None, *,
          align: WD_ALIGN_PARAGRAPH | None = None, before: float | None = None,
          after: float | None = None, keep_next: bool | None = None, container=None):
        """A paragraph; `content` is text with **bold** parts, or (text, format) runs."""
        target = container if container is not None else (self._container or self.doc)
        paragraph = target.add_paragraph(style=style)
        if align is not None:
            paragraph.alignment = align
        pf = paragraph.paragraph_format
        if before is not None:
            pf.space_before = Pt(before)
        if after is not None:
            pf.space_after = Pt(after)
        if keep_next is not None:
            pf.keep_with_next = keep_next
        for text, fmt in self._runs(content):
            run = paragraph.add_run(text)
            if fmt.get("bold"):
                run.bold = True
            if fmt.get("italic"):
                run.italic = True
            if fmt.get("size"):
                run.font.size = Pt(fmt["size"])
            if fmt.get("color") is not None:
                run.font.color.rgb = fmt["color"]
            run._r.get_or_add_rPr().insert_element_before(self._lang_el(), *_RPR_AFTER_LANG)
        self._mark_language(paragraph)
        return paragraph

    def logic(self, tag: str, container=None):
        """A `{%p … %}` paragraph (removed at rendering), shown small and grey in Word."""
        assert tag.startswith("{%p ") and tag.endswith(" %}"), tag
        return self.p([(tag, {"size": 8, "color": GREY_LOGIC})], after=0, container=container)

    def if_(self, condition: str) -> None:
        self.logic("{%p if " + condition + " %}")

    def elif_(self, condition: str) -> None:
        self.logic("{%p elif " + condition + " %}")

    def else_(self) -> None:
        self.logic("{%p else %}")

    def endif(self) -> None:
        self.logic("{%p endif %}")

    def guarded(self, condition: str, content: str, style: str | None = None, **kw) -> None:
        self.if_(condition)
        self.p(content, style, **kw)
        self.endif()

    # -- tables
    def table(self, widths_cm: Sequence[float], rows: Sequence[Sequence[str] | str], *,
              header: bool = False, label_column: bool = False,
              min_height_cm: float | None = None, borders: str = "BFBFBF"):
        """A bordered table. A row given as a string is a `{%tr … %}` logic row."""
        doc = self.doc
        table = doc.add_table(rows=0, cols=len(widths_cm))
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        table.autofit = False
        tblpr = table._tbl.tblPr
        tblw = tblpr.find(qn("w:tblW"))
        tblw.set(qn("w:type"), "dxa")
        tblw.set(qn("w:w"), str(int(sum(widths_cm) * 567)))
        tblborders = OxmlElement("w:tblBorders")
        for side in ("w:top", "w:left", "w:bottom", "w:right", "w:insideH", "w:insideV"):
            tblborders.append(_border(side, size=4, space=0, color=borders))
        tblpr.insert_element_before(tblborders, *_TBLPR_AFTER_BORDERS)
        for column, width in zip(table.columns, widths_cm, strict=True):
            column.width = Cm(width)
        first_data_row = True
        for spec in rows:
            row = table.add_row()
            trpr = row._tr.get_or_add_trPr()
            trpr.append(OxmlElement("w:cantSplit"))
            if isinstance(spec, str):
                assert spec.startswith("{%tr ") and spec.endswith(" %}"), spec
                cells_text: Sequence[str] = [spec] + [""] * (len(widths_cm) - 1)
                logic_row = True
            else:
                cells_text = spec
                logic_row = False
            is_header = header and first_data_row and not logic_row
            if min_height_cm and not logic_row:
                row.height = Cm(min_height_cm)
                row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
            if is_header:
                trpr.append(OxmlElement("w:tblHeader"))
            for i, (cell, text) in enumerate(zip(row.cells, cells_text, strict=True)):
                cell.width = Cm(widths_cm[i])
                paragraph = cell.paragraphs[0]
                paragraph.style = self.doc.styles[S_TABLE]
                if logic_row:
                    if text:
                        paragraph.add_run(text)
                        run = paragraph.runs[0]
                        run.font.size = Pt(8)
                        run.font.color.rgb = GREY_LOGIC
                    self._mark_language(paragraph)
                    continue
                shaded = is_header or (label_column and i == 0)
                if shaded:
                    cell._tc.get_or_add_tcPr().insert_element_before(
                        _shading(LABEL_FILL), *_TCPR_AFTER_SHD)
                content = f"**{text}**" if is_header and text else text
                for run_text, fmt in self._runs(content):
                    run = paragraph.add_run(run_text)
                    if fmt.get("bold"):
                        run.bold = True
                    run._r.get_or_add_rPr().insert_element_before(self._lang_el(),
                                                                  *_RPR_AFTER_LANG)
                self._mark_language(paragraph)
            if not logic_row:
                first_data_row = False
        return table

    @contextmanager
    def into(self, cell):
        """Write the paragraphs of the block into `cell` (its initial empty paragraph goes)."""
        placeholder = cell.paragraphs[0]._p
        previous, self._container = self._container, cell
        try:
            yield cell
        finally:
            self._container = previous
            if len(cell.paragraphs) > 1:
                cell._tc.remove(placeholder)

    def columns(self, widths_cm: Sequence[float]):
        """A borderless one-row layout table (no cell padding, so text stays aligned with the
        margin); returns its cells."""
        table = self.doc.add_table(rows=1, cols=len(widths_cm))
        table.autofit = False
        tblpr = table._tbl.tblPr
        tblw = tblpr.find(qn("w:tblW"))
        tblw.set(qn("w:type"), "dxa")
        tblw.set(qn("w:w"), str(int(sum(widths_cm) * 567)))
        margins = OxmlElement("w:tblCellMar")
        for side in ("w:left", "w:right"):
            el = OxmlElement(side)
            el.set(qn("w:w"), "0")
            el.set(qn("w:type"), "dxa")
            margins.append(el)
        tblpr.insert_element_before(margins, "w:tblLook", "w:tblCaption", "w:tblDescription",
                                    "w:tblPrChange")
        cells = table.rows[0].cells
        for column, cell, width in zip(table.columns, cells, widths_cm, strict=True):
            column.width = cell.width = Cm(width)
        return cells

    def writing_box(self, height_cm: float = 4.5) -> None:
        """An empty bordered cell for the caseworker to complete after generation."""
        self.table([TEXT_WIDTH_CM], [[""]], min_height_cm=height_cm, borders=GREY_RULE)

    def save(self, path: Path) -> None:
        _check_tags(self.doc)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.doc.save(str(path))


def _check_tags(doc) -> None:
    """Every Jinja tag inside one run; `{%p`/`{%tr` tags alone in their paragraph."""
    body = doc.element.body
    for r in body.iter(qn("w:r")):
        text = "".join(t.text or "" for t in r.iter(qn("w:t")))
        stripped = _TAG.sub("", text)
        if any(mark in stripped for mark in ("{{", "}}", "{%", "%}", "{#", "#}")):
            raise ValueError(f"Jinja tag split across runs or unbalanced: {text!r}")
    for p in body.iter(qn("w:p")):
        text = "".join(t.text or "" for t in p.iter(qn("w:t")))
        if re.search(r"{%(p|tr) ", text) and not re.fullmatch(r"{%(p|tr) [^}%]*%}", text):
            raise ValueError(f"paragraph/row tag not alone in its paragraph: {text!r}")


# --------------------------------------------------------------------------- common blocks

SALUTATION_TENANT = ("{% if tenant.salutation %}{{ tenant.salutation }}"
                     "{% else %}{fallback}{% endif %}")
SALUTATION_LANDLORD = ("{% if landlord.salutation %}{{ landlord.salutation }}"
                       "{% else %}{fallback}{% endif %}")


def salutation(expr: str, fallback: str) -> str:
    return expr.replace("{fallback}", fallback)


def letterhead(b: Letter) -> None:
    b.p([("{{ ocmw.name }}", {"bold": True, "size": 13, "color": RGBColor(0, 0, 0)})],
        S_LETTERHEAD)
    b.guarded("ocmw.service", "{{ ocmw.service }}", S_LETTERHEAD)
    b.guarded("ocmw.address_line", "{{ ocmw.address_line }}", S_LETTERHEAD)


def tenant_address(b: Letter) -> None:
    b.p("{{ tenant.full_name }}", S_ADDRESS, before=BLOCK_GAP)
    b.logic("{%p for line in tenant.address_lines or [] %}")
    b.p("{{ line }}", S_ADDRESS)
    b.logic("{%p endfor %}")


def landlord_address(b: Letter) -> None:
    b.p("{% if landlord.name %}{{ landlord.name }}{% endif %}", S_ADDRESS, before=BLOCK_GAP)
    b.logic("{%p for line in landlord.address_lines or [] %}")
    b.p("{{ line }}", S_ADDRESS)
    b.logic("{%p endfor %}")


def judge_address(b: Letter) -> None:
    b.p(b.L("Aan de vrederechter", "Madame, Monsieur le Juge de paix"), S_ADDRESS,
        before=BLOCK_GAP)
    b.p("{{ case.court }}", S_ADDRESS)


def meta(b: Letter) -> None:
    """Place and date, our reference, the contact person."""
    b.p(b.L("{% if letter.place %}{{ letter.place }}, {% endif %}{{ letter.date }}",
            "{% if letter.place %}{{ letter.place }}, le {% endif %}{{ letter.date }}"),
        S_COMPACT, before=BLOCK_GAP)
    b.p(b.L("Ons kenmerk: {{ letter.reference }}",
            "Notre référence : {{ letter.reference }}"), S_COMPACT)
    b.guarded("caseworker.name", b.L("Contactpersoon: {{ caseworker.name }}",
                                     "Personne de contact : {{ caseworker.name }}"), S_COMPACT)
    b.guarded("caseworker.email", "{{ caseworker.email }}", S_COMPACT)


def header_block(b: Letter, recipient: Callable[[Letter], None]) -> None:
    """Date, reference and contact person on the left; the recipient on the right, where a
    window envelope shows it (11.5 cm from the page's left edge)."""
    left, right = b.columns([9.5, 7.5])
    with b.into(left):
        meta(b)
    with b.into(right):
        recipient(b)


def contact_paragraphs(b: Letter, style: str | None = None) -> None:
    b.guarded("ocmw.phone or ocmw.email", b.L(
        "U kunt ons bereiken{% if ocmw.phone %} op het nummer **{{ ocmw.phone }}**{% endif %}"
        "{% if ocmw.phone and ocmw.email %} of{% endif %}"
        "{% if ocmw.email %} per e-mail via **{{ ocmw.email }}**{% endif %}"
        "{% if ocmw.hours %} (openingsuren: {{ ocmw.hours }}){% endif %}.",
        "Vous pouvez nous joindre{% if ocmw.phone %} au **{{ ocmw.phone }}**{% endif %}"
        "{% if ocmw.phone and ocmw.email %} ou{% endif %}"
        "{% if ocmw.email %} par e-mail à l’adresse **{{ ocmw.email }}**{% endif %}"
        "{% if ocmw.hours %} (heures d’ouverture : {{ ocmw.hours }}){% endif %}."), style)


def signature(b: Letter, closing: str) -> None:
    b.p(closing, before=6, after=26, keep_next=True)
    b.guarded("signatory.name", "**{{ signatory.name }}**", S_COMPACT, keep_next=True)
    b.guarded("signatory.title", "{{ signatory.title }}", S_COMPACT, keep_next=True)
    b.p("{{ ocmw.name }}", S_COMPACT)


def footer(b: Letter) -> None:
    b.p(b.L(
        "{{ ocmw.name }}{% if ocmw.service %} · {{ ocmw.service }}{% endif %}"
        "{% if ocmw.address_line %} · {{ ocmw.address_line }}{% endif %}"
        "{% if ocmw.phone %} · Tel. {{ ocmw.phone }}{% endif %}"
        "{% if ocmw.email %} · {{ ocmw.email }}{% endif %}"
        "{% if ocmw.hours %} · Openingsuren: {{ ocmw.hours }}{% endif %}",
        "{{ ocmw.name }}{% if ocmw.service %} · {{ ocmw.service }}{% endif %}"
        "{% if ocmw.address_line %} · {{ ocmw.address_line }}{% endif %}"
        "{% if ocmw.phone %} · Tél. {{ ocmw.phone }}{% endif %}"
        "{% if ocmw.email %} · {{ ocmw.email }}{% endif %}"
        "{% if ocmw.hours %} · Heures d’ouverture : {{ ocmw.hours }}{% endif %}"), S_FOOTER)


def bullet(b: Letter, text: str) -> None:
    b.p("–\t" + text, S_LIST)


def appointment_box(b: Letter, with_documents: bool) -> None:
    b.if_("appointment.date")
    b.p(b.L(
        "Wij nodigen u uit voor een gesprek op **{{ appointment.date }}"
        "{% if appointment.time %} om {{ appointment.time }}{% endif %}**"
        "{% if appointment.place %}, {{ appointment.place }}{% endif %}. Past dit moment "
        "niet, neem dan contact met ons op om een ander moment af te spreken.",
        "Nous vous invitons à un entretien le **{{ appointment.date }}"
        "{% if appointment.time %} à {{ appointment.time }}{% endif %}**"
        "{% if appointment.place %}, {{ appointment.place }}{% endif %}. Si ce moment ne "
        "vous convient pas, contactez-nous pour fixer un autre rendez-vous."), S_BOX)
    b.else_()
    b.p(b.L("Neem zo snel mogelijk contact met ons op om een afspraak te maken.",
            "Contactez-nous dès que possible pour fixer un rendez-vous."), S_BOX)
    b.endif()
    if with_documents:
        b.p(b.L("Breng indien mogelijk mee: uw identiteitskaart, uw huurcontract, de brieven van "
                "het gerecht of van de gerechtsdeurwaarder en uw recentste inkomensbewijzen.",
                "Si possible, apportez : votre carte d’identité, votre bail, les courriers du "
                "tribunal ou de l’huissier de justice et vos dernières preuves de revenus."),
            S_BOX)


# --------------------------------------------------------------------------- the letters

def tenant_invitation(lang: str) -> Letter:
    b = Letter(lang, *{
        "nl": ("Uitnodiging aan de huurder", "Procedure bij de vrederechter – hulp van het OCMW"),
        "fr": ("Invitation au locataire", "Procédure devant le juge de paix – aide du CPAS"),
    }[lang])
    letterhead(b)
    header_block(b, tenant_address)
    b.p(b.L("Betreft: uw huurwoning – procedure bij de vrederechter "
            "(rolnummer {{ case.docket_number }}) – het OCMW kan u helpen",
            "Objet : votre logement – procédure devant le juge de paix "
            "(numéro de rôle {{ case.docket_number }}) – le CPAS peut vous aider"), S_SUBJECT)
    b.p(salutation(SALUTATION_TENANT, b.L("Geachte mevrouw, geachte heer",
                                          "Madame, Monsieur")) + ",")

    b.if_("case.stage == 'judgment'")
    b.p(b.L(
        "Het OCMW werd op de hoogte gebracht van een vonnis van de vrederechter "
        "({{ case.court }}, rolnummer **{{ case.docket_number }}**)"
        "{% if case.judgment_date %} van {{ case.judgment_date }}{% endif %}"
        " dat uw uithuiszetting beveelt.",
        "Le CPAS a été informé d’un jugement du juge de paix "
        "({{ case.court }}, numéro de rôle **{{ case.docket_number }}**)"
        "{% if case.judgment_date %} du {{ case.judgment_date }}{% endif %}"
        " qui ordonne votre expulsion."))
    b.guarded("case.earliest_eviction_date", b.L(
        "De uithuiszetting kan ten vroegste plaatsvinden op "
        "**{{ case.earliest_eviction_date }}**. Er is dus nog tijd om samen een oplossing te "
        "zoeken.",
        "L’expulsion peut avoir lieu au plus tôt le **{{ case.earliest_eviction_date }}**. "
        "Il reste donc du temps pour chercher une solution ensemble."))
    b.elif_("case.stage == 'eviction'")
    b.p(b.L(
        "Het OCMW werd op de hoogte gebracht dat een gerechtsdeurwaarder uw uithuiszetting "
        "heeft aangekondigd{% if case.eviction_date %} voor **{{ case.eviction_date }}"
        "{% if case.eviction_time %} om {{ case.eviction_time }}{% endif %}**{% endif %}, "
        "ter uitvoering van het vonnis van de vrederechter "
        "({{ case.court }}, rolnummer **{{ case.docket_number }}**).",
        "Le CPAS a été informé qu’un huissier de justice a annoncé votre expulsion"
        "{% if case.eviction_date %} pour le **{{ case.eviction_date }}"
        "{% if case.eviction_time %} à {{ case.eviction_time }}{% endif %}**{% endif %}, "
        "en exécution du jugement du juge de paix "
        "({{ case.court }}, numéro de rôle **{{ case.docket_number }}**)."))
    b.guarded("case.moratorium", b.L(
        "Die datum valt in het wintermoratorium (van 1 november tot en met 15 maart). In het "
        "Brussels Hoofdstedelijk Gewest mag een uithuiszetting in die periode in principe niet "
        "worden uitgevoerd (Brusselse Huisvestingscode). Neem zo snel mogelijk contact met ons "
        "op, zodat wij dit samen met u kunnen bekijken.",
        "Cette date tombe pendant la trêve hivernale (du 1er novembre au 15 mars inclus). En "
        "Région de Bruxelles-Capitale, une expulsion ne peut en principe pas être exécutée "
        "pendant cette période (Code bruxellois du Logement). Contactez-nous au plus vite pour "
        "que nous puissions examiner la situation avec vous."))
    b.p(b.L("Ook nu kan het OCMW u nog helpen, bijvoorbeeld om een andere woning of een "
            "tijdelijke opvang te vinden. Neem dringend contact met ons op.",
            "Même à ce stade, le CPAS peut encore vous aider, par exemple à trouver un autre "
            "logement ou un hébergement temporaire. Contactez-nous d’urgence."))
    b.else_()
    b.p(b.L(
        "Het OCMW werd op de hoogte gebracht dat uw verhuurder"
        "{% if landlord.name %} ({{ landlord.name }}){% endif %} de vrederechter "
        "({{ case.court }}) heeft gevraagd om uw huurovereenkomst te beëindigen en uw "
        "uithuiszetting te bevelen (rolnummer **{{ case.docket_number }}**). De wet voorziet "
        "dat het OCMW hiervan verwittigd wordt, zodat wij u kunnen helpen voordat u uw woning "
        "verliest.",
        "Le CPAS a été informé que votre propriétaire"
        "{% if landlord.name %} ({{ landlord.name }}){% endif %} a demandé au juge de paix "
        "({{ case.court }}) de mettre fin à votre bail et d’ordonner votre expulsion (numéro "
        "de rôle **{{ case.docket_number }}**). La loi prévoit que le CPAS en soit informé, "
        "afin que nous puissions vous aider avant que vous ne perdiez votre logement."))
    b.guarded("case.hearing_date", b.L(
        "De zaak wordt behandeld op de zitting van **{{ case.hearing_date }}"
        "{% if case.hearing_time %} om {{ case.hearing_time }}{% endif %}**. Wij raden u sterk "
        "aan om daar aanwezig te zijn of u te laten vertegenwoordigen.",
        "L’affaire sera examinée à l’audience du **{{ case.hearing_date }}"
        "{% if case.hearing_time %} à {{ case.hearing_time }}{% endif %}**. Nous vous "
        "conseillons vivement d’y assister ou de vous y faire représenter."))
    b.endif()

    b.p(b.L("Wat kan het OCMW voor u doen?", "Que peut faire le CPAS pour vous ?"), S_HEADING)
    b.p(b.L("Onze dienst kan:", "Notre service peut :"), after=2, keep_next=True)
    bullet(b, b.L("naar u luisteren en samen met u uw situatie en uw rechten bekijken;",
                  "vous écouter et examiner avec vous votre situation et vos droits ;"))
    bullet(b, b.L("u helpen een afbetalingsplan met uw verhuurder af te spreken, of bemiddelen;",
                  "vous aider à convenir d’un plan de paiement avec votre propriétaire, ou "
                  "servir d’intermédiaire ;"))
    bullet(b, b.L("samen met u een andere woning zoeken als u niet in uw woning kunt blijven;",
                  "chercher avec vous un autre logement si vous ne pouvez pas rester dans le "
                  "vôtre ;"))
    bullet(b, b.L("nagaan of u recht hebt op financiële hulp van het OCMW.",
                  "vérifier si vous avez droit à une aide financière du CPAS."))
    b.p(b.L("Deze hulp is gratis en vertrouwelijk: de medewerkers van het OCMW zijn gebonden "
            "door het beroepsgeheim.",
            "Cette aide est gratuite et confidentielle : le personnel du CPAS est tenu au secret "
            "professionnel."), before=3)

    b.p(b.L("Afspraak en contact", "Rendez-vous et contact"), S_HEADING)
    appointment_box(b, with_documents=True)
    contact_paragraphs(b, S_BOX)

    b.p(b.L("Uw rechten", "Vos droits"), S_HEADING)
    b.if_("case.stage not in ['judgment', 'eviction']")
    bullet(b, b.L("U hebt het recht om de zitting bij te wonen en er uw standpunt toe te "
                  "lichten. U kunt de vrederechter vragen om u betalingstermijnen toe te staan.",
                  "Vous avez le droit d’assister à l’audience et d’y faire valoir votre point de "
                  "vue. Vous pouvez demander au juge de paix de vous accorder des termes et "
                  "délais de paiement."))
    b.endif()
    bullet(b, b.L("U kunt zich laten bijstaan door een advocaat, die afhankelijk van uw inkomen "
                  "volledig of gedeeltelijk gratis is (juridische tweedelijnsbijstand of pro "
                  "Deo, via het Bureau voor Juridische Bijstand van de balie).",
                  "Vous pouvez vous faire assister par un avocat, totalement ou partiellement "
                  "gratuit selon vos revenus (aide juridique de deuxième ligne ou « pro deo », "
                  "via le Bureau d’aide juridique du barreau)."))
    b.if_("case.stage not in ['judgment', 'eviction']")
    bullet(b, b.L("U kunt zich ertegen verzetten dat het OCMW van de procedure op de hoogte "
                  "wordt gebracht (art. 1344ter, § 4, Gerechtelijk Wetboek). Wenst u geen "
                  "contact met het OCMW, laat het ons dan gewoon weten.",
                  "Vous pouvez vous opposer à ce que le CPAS soit informé de la procédure "
                  "(art. 1344ter, § 4, du Code judiciaire). Si vous ne souhaitez pas de contact "
                  "avec le CPAS, il suffit de nous le faire savoir."))
    b.endif()

    signature(b, b.L(
        "Wij hopen u binnenkort te ontmoeten. Met vriendelijke groeten,",
        "Dans l’attente de vous rencontrer, nous vous prions d’agréer, "
        + salutation(SALUTATION_TENANT, "Madame, Monsieur")
        + ", nos salutations distinguées."))
    footer(b)
    return b


def visit_notice(lang: str) -> Letter:
    b = Letter(lang, *{
        "nl": ("Bericht van huisbezoek", "Het OCMW kwam langs – procedure bij de vrederechter"),
        "fr": ("Avis de passage", "Passage du CPAS – procédure devant le juge de paix"),
    }[lang])
    letterhead(b)
    header_block(b, tenant_address)
    b.p(b.L("Betreft: bezoek van het OCMW – procedure bij de vrederechter "
            "(rolnummer {{ case.docket_number }})",
            "Objet : passage du CPAS – procédure devant le juge de paix "
            "(numéro de rôle {{ case.docket_number }})"), S_SUBJECT)
    b.p(salutation(SALUTATION_TENANT, b.L("Geachte mevrouw, geachte heer",
                                          "Madame, Monsieur")) + ",")
    b.p(b.L("Vandaag, {{ letter.date }}, is een medewerker van het OCMW bij u langsgekomen, "
            "maar wij hebben niemand aangetroffen.",
            "Aujourd’hui, {{ letter.date }}, un membre du service social du CPAS est passé chez "
            "vous, mais nous n’avons trouvé personne."))
    b.p(b.L("Wij kwamen langs in verband met de procedure over uw woning bij de vrederechter "
            "({{ case.court }}, rolnummer **{{ case.docket_number }}**).",
            "Notre visite concerne la procédure relative à votre logement devant le juge de "
            "paix ({{ case.court }}, numéro de rôle **{{ case.docket_number }}**)."))
    b.if_("case.stage == 'eviction' and case.eviction_date")
    b.p(b.L("Een gerechtsdeurwaarder heeft de uithuiszetting aangekondigd voor "
            "**{{ case.eviction_date }}{% if case.eviction_time %} om {{ case.eviction_time }}"
            "{% endif %}**.",
            "Un huissier de justice a annoncé l’expulsion pour le **{{ case.eviction_date }}"
            "{% if case.eviction_time %} à {{ case.eviction_time }}{% endif %}**."))
    b.elif_("case.stage == 'judgment' and case.earliest_eviction_date")
    b.p(b.L("De vrederechter heeft een vonnis uitgesproken; de uithuiszetting kan ten "
            "vroegste plaatsvinden op **{{ case.earliest_eviction_date }}**.",
            "Le juge de paix a rendu un jugement ; l’expulsion peut avoir lieu au plus tôt le "
            "**{{ case.earliest_eviction_date }}**."))
    b.elif_("case.stage == 'petition' and case.hearing_date")
    b.p(b.L("De zitting is vastgesteld op **{{ case.hearing_date }}"
            "{% if case.hearing_time %} om {{ case.hearing_time }}{% endif %}**.",
            "L’audience est fixée au **{{ case.hearing_date }}"
            "{% if case.hearing_time %} à {{ case.hearing_time }}{% endif %}**."))
    b.endif()
    b.p(b.L("Het OCMW kan u helpen: samen met u uw situatie bekijken, een afbetalingsplan of "
            "een regeling met uw verhuurder zoeken, of een andere woning zoeken. Neem zo snel "
            "mogelijk contact met ons op.",
            "Le CPAS peut vous aider : examiner votre situation avec vous, chercher un plan de "
            "paiement ou un accord avec votre propriétaire, ou vous aider à trouver un autre "
            "logement. Contactez-nous dès que possible."))
    appointment_box(b, with_documents=False)
    contact_paragraphs(b, S_BOX)
    b.p(b.L("De medewerkers van het OCMW zijn gebonden door het beroepsgeheim.",
            "Le personnel du CPAS est tenu au secret professionnel."), before=10)
    signature(b, b.L("Met vriendelijke groeten,",
                     "Nous vous prions d’agréer, "
                     + salutation(SALUTATION_TENANT, "Madame, Monsieur")
                     + ", nos salutations distinguées."))
    footer(b)
    return b


def landlord_mediation(lang: str) -> Letter:
    b = Letter(lang, *{
        "nl": ("Brief aan de verhuurder", "Voorstel tot minnelijke oplossing"),
        "fr": ("Lettre au bailleur", "Proposition de solution amiable"),
    }[lang])
    letterhead(b)
    header_block(b, landlord_address)
    b.p(b.L("Betreft: procedure bij de vrederechter – rolnummer {{ case.docket_number }} – "
            "uw huurder {{ tenant.full_name }}",
            "Objet : procédure devant le juge de paix – numéro de rôle "
            "{{ case.docket_number }} – votre locataire {{ tenant.full_name }}"), S_SUBJECT)
    b.p(salutation(SALUTATION_LANDLORD, b.L("Geachte mevrouw, geachte heer",
                                            "Madame, Monsieur")) + ",")
    b.if_("case.stage == 'judgment'")
    b.p(b.L("Overeenkomstig de Brusselse Huisvestingscode werd het OCMW op de hoogte gebracht "
            "van het vonnis{% if case.judgment_date %} van {{ case.judgment_date }}{% endif %} "
            "dat de vrederechter ({{ case.court }}) heeft uitgesproken in de procedure tegen uw "
            "huurder, {{ tenant.full_name }} (rolnummer **{{ case.docket_number }}**).",
            "Conformément au Code bruxellois du Logement, le CPAS a été informé du jugement"
            "{% if case.judgment_date %} du {{ case.judgment_date }}{% endif %} rendu par le "
            "juge de paix ({{ case.court }}) dans la procédure qui vous oppose à votre "
            "locataire, {{ tenant.full_name }} (numéro de rôle **{{ case.docket_number }}**)."))
    b.elif_("case.stage == 'eviction'")
    b.p(b.L("Overeenkomstig de Brusselse Huisvestingscode werd het OCMW op de hoogte gebracht "
            "van de uithuiszetting{% if case.eviction_date %} die is aangekondigd voor "
            "{{ case.eviction_date }}{% endif %} in de procedure tegen uw huurder, "
            "{{ tenant.full_name }} (rolnummer **{{ case.docket_number }}**, "
            "{{ case.court }}).",
            "Conformément au Code bruxellois du Logement, le CPAS a été informé de l’expulsion"
            "{% if case.eviction_date %} annoncée pour le {{ case.eviction_date }}{% endif %} "
            "dans la procédure qui vous oppose à votre locataire, {{ tenant.full_name }} "
            "(numéro de rôle **{{ case.docket_number }}**, {{ case.court }})."))
    b.else_()
    b.p(b.L("Overeenkomstig het Gerechtelijk Wetboek (art. 1344ter) werd het OCMW op de hoogte "
            "gebracht van de procedure tot uithuiszetting die u bij de vrederechter "
            "({{ case.court }}) hebt ingeleid tegen uw huurder, {{ tenant.full_name }} "
            "(rolnummer **{{ case.docket_number }}**).",
            "Conformément au Code judiciaire (art. 1344ter), le CPAS a été informé de la "
            "procédure en expulsion que vous avez introduite devant le juge de paix "
            "({{ case.court }}) contre votre locataire, {{ tenant.full_name }} "
            "(numéro de rôle **{{ case.docket_number }}**)."))
    b.endif()
    b.guarded("tenant.address_lines", b.L(
        "Het gaat om de woning op het adres {{ tenant.address_lines | join(', ') }}.",
        "Il s’agit du logement situé à l’adresse {{ tenant.address_lines | join(', ') }}."))
    b.p(b.L("Het OCMW heeft als opdracht de huurder sociaal te begeleiden. Het OCMW is geen "
            "partij in de procedure en kan niet instaan voor de betaling van de huur of van de "
            "achterstal.",
            "Le CPAS a pour mission d’accompagner le locataire sur le plan social. Il n’est pas "
            "partie à la procédure et ne peut garantir le paiement du loyer ni des arriérés."))
    b.guarded("amounts.arrears or amounts.monthly_rent", b.L(
        "Volgens de gegevens waarover wij beschikken"
        "{% if amounts.arrears %} bedraagt de huurachterstal **{{ amounts.arrears }}**"
        "{% if amounts.monthly_rent %}, voor een maandelijkse huur van "
        "**{{ amounts.monthly_rent }}**{% endif %}"
        "{% else %} bedraagt de maandelijkse huur **{{ amounts.monthly_rent }}**{% endif %}.",
        "Selon les informations dont nous disposons"
        "{% if amounts.arrears %}, les arriérés de loyer s’élèvent à **{{ amounts.arrears }}**"
        "{% if amounts.monthly_rent %}, pour un loyer mensuel de "
        "**{{ amounts.monthly_rent }}**{% endif %}"
        "{% else %}, le loyer mensuel s’élève à **{{ amounts.monthly_rent }}**{% endif %}."))
    b.p(b.L("Een uithuiszetting heeft zware gevolgen voor alle betrokkenen. Wij stellen u daarom "
            "voor om samen na te gaan of een minnelijke oplossing mogelijk is"
            "{% if case.stage == 'petition' and case.hearing_date %}, bij voorkeur vóór de "
            "zitting van **{{ case.hearing_date }}**"
            "{% elif case.stage == 'eviction' %}, vóór de aangekondigde uithuiszetting"
            "{% elif case.stage == 'judgment' %}, vóór een eventuele uithuiszetting{% endif %}: "
            "bijvoorbeeld een afbetalingsplan voor de achterstal dat haalbaar is voor uw "
            "huurder, of een bemiddeling tussen u en uw huurder. Een akkoord kan schriftelijk "
            "worden vastgelegd{% if case.stage == 'petition' %} en aan de vrederechter worden "
            "voorgelegd{% endif %}.",
            "Une expulsion est lourde de conséquences pour toutes les parties. Nous vous "
            "proposons dès lors d’examiner ensemble si une solution amiable est possible"
            "{% if case.stage == 'petition' and case.hearing_date %}, de préférence avant "
            "l’audience du **{{ case.hearing_date }}**"
            "{% elif case.stage == 'eviction' %}, avant la date d’expulsion annoncée"
            "{% elif case.stage == 'judgment' %}, avant toute expulsion{% endif %} : "
            "par exemple un plan de paiement des arriérés adapté aux possibilités de votre "
            "locataire, ou une médiation entre vous et votre locataire. Un accord peut être "
            "mis par écrit{% if case.stage == 'petition' %} et soumis au juge de paix"
            "{% endif %}."))
    b.p(b.L("Wij vragen u vriendelijk om contact op te nemen met "
            "{% if caseworker.name %}{{ caseworker.name }}, die het dossier in onze dienst "
            "opvolgt{% else %}onze dienst{% endif %}, met vermelding van ons kenmerk.",
            "Nous vous invitons à prendre contact avec "
            "{% if caseworker.name %}{{ caseworker.name }}, qui suit le dossier au sein de "
            "notre service{% else %}notre service{% endif %}, en mentionnant notre référence."))
    contact_paragraphs(b)
    b.p(b.L("Het OCMW is gebonden door het beroepsgeheim: informatie over de situatie van uw "
            "huurder kunnen wij enkel met diens toestemming met u delen.",
            "Le CPAS est tenu au secret professionnel : nous ne pouvons vous communiquer "
            "d’informations sur la situation de votre locataire qu’avec son accord."))
    b.p(b.L("Wij danken u voor uw medewerking.", "Nous vous remercions de votre collaboration."))
    signature(b, b.L("Hoogachtend,",
                     "Nous vous prions d’agréer, "
                     + salutation(SALUTATION_LANDLORD, "Madame, Monsieur")
                     + ", l’expression de nos salutations distinguées."))
    footer(b)
    return b


def court_report(lang: str) -> Letter:
    b = Letter(lang, *{
        "nl": ("Sociaal verslag voor de vrederechter", "Procedure tot uithuiszetting"),
        "fr": ("Rapport social au juge de paix", "Procédure en expulsion"),
    }[lang])
    letterhead(b)
    header_block(b, judge_address)
    b.p(b.L("Sociaal verslag", "Rapport social"), S_TITLE, before=16)
    b.p(b.L("Procedure tot uithuiszetting – rolnummer {{ case.docket_number }}",
            "Procédure en expulsion – numéro de rôle {{ case.docket_number }}"),
        S_SUBJECT, before=0)
    b.p(b.L("Geachte vrederechter,", "Madame, Monsieur le Juge de paix,"))
    b.p(b.L("Wij hebben de eer u het sociaal verslag van het OCMW in de bovenvermelde zaak te "
            "bezorgen. Het OCMW werd van de procedure op de hoogte gebracht op grond van "
            "artikel 1344ter van het Gerechtelijk Wetboek"
            "{% if case.stage != 'petition' %} en van de Brusselse Huisvestingscode{% endif %}.",
            "Nous avons l’honneur de vous transmettre le rapport social du CPAS dans la cause "
            "reprise sous rubrique. Le CPAS a été informé de la procédure en application de "
            "l’article 1344ter du Code judiciaire"
            "{% if case.stage != 'petition' %} et du Code bruxellois du Logement{% endif %}."))

    unknown = b.L("onbekend", "inconnu")
    b.p(b.L("1. Identificatie", "1. Identification"), S_HEADING)
    b.table([4.5, 12.5], [
        [b.L("Rolnummer", "Numéro de rôle"), "**{{ case.docket_number }}**"],
        [b.L("Vredegerecht", "Justice de paix"), "{{ case.court }}"],
        [b.L("Huurder", "Locataire"), "{{ tenant.full_name }}"],
        [b.L("Verhuurder", "Bailleur"),
         "{% if landlord.name %}{{ landlord.name }}{% else %}" + unknown + "{% endif %}"],
        [b.L("Gehuurde woning", "Logement loué"),
         "{% if tenant.address_lines %}{{ tenant.address_lines | join(', ') }}"
         "{% else %}" + unknown + "{% endif %}"],
    ], label_column=True)

    b.p(b.L("2. Procedure", "2. Procédure"), S_HEADING)
    b.table([4.5, 12.5], [
        [b.L("Stand van de procedure", "Stade de la procédure"), b.L(
            "{% if case.stage == 'eviction' %}uithuiszetting aangekondigd door de "
            "gerechtsdeurwaarder{% elif case.stage == 'judgment' %}vonnis uitgesproken"
            "{% else %}inleiding van de zaak (verzoekschrift of dagvaarding){% endif %}",
            "{% if case.stage == 'eviction' %}expulsion annoncée par l’huissier de justice"
            "{% elif case.stage == 'judgment' %}jugement rendu"
            "{% else %}introduction de la cause (requête ou citation){% endif %}")],
        "{%tr if case.hearing_date %}",
        [b.L("Zitting", "Audience"),
         "{{ case.hearing_date }}{% if case.hearing_time %}" + b.L(" om ", " à ")
         + "{{ case.hearing_time }}{% endif %}"],
        "{%tr endif %}",
        "{%tr if case.judgment_date %}",
        [b.L("Vonnis", "Jugement"), "{{ case.judgment_date }}"],
        "{%tr endif %}",
        "{%tr if case.earliest_eviction_date %}",
        [b.L("Vroegst mogelijke uithuiszetting", "Expulsion possible au plus tôt le"),
         "{{ case.earliest_eviction_date }}"],
        "{%tr endif %}",
        "{%tr if case.eviction_date %}",
        [b.L("Aangekondigde uithuiszetting", "Expulsion annoncée"),
         "{{ case.eviction_date }}{% if case.eviction_time %}" + b.L(" om ", " à ")
         + "{{ case.eviction_time }}{% endif %}"],
        "{%tr endif %}",
        "{%tr if case.moratorium %}",
        [b.L("Wintermoratorium", "Trêve hivernale"), b.L(
            "De aangekondigde datum valt tussen 1 november en 15 maart, periode waarin een "
            "uithuiszetting in principe niet mag worden uitgevoerd (Brusselse "
            "Huisvestingscode).",
            "La date annoncée tombe entre le 1er novembre et le 15 mars, période pendant "
            "laquelle une expulsion ne peut en principe pas être exécutée (Code bruxellois du "
            "Logement).")],
        "{%tr endif %}",
    ], label_column=True)

    b.p(b.L("3. Tussenkomsten van het OCMW", "3. Interventions du CPAS"), S_HEADING)
    b.p(b.L("Effectief contact met het gezin: "
            "**{% if report.effective_contact %}ja{% else %}nee{% endif %}**",
            "Contact effectif avec le ménage : "
            "**{% if report.effective_contact %}oui{% else %}non{% endif %}**"), S_COMPACT)
    b.p(b.L("Aantal huisbezoeken: **{{ report.home_visits or 0 }}**",
            "Nombre de visites à domicile : **{{ report.home_visits or 0 }}**"),
        S_COMPACT, after=6)
    b.p(b.L("**Contacten en contactpogingen**", "**Contacts et tentatives de contact**"),
        keep_next=True, after=3, before=3)
    b.if_("report.contacts")
    b.table([3.3, 3.0, 3.0, 7.7], [
        [b.L("Datum", "Date"), b.L("Kanaal", "Canal"), b.L("Resultaat", "Résultat"),
         b.L("Opmerking", "Remarque")],
        "{%tr for c in report.contacts %}",
        ["{% if c.date %}{{ c.date }}{% endif %}", "{% if c.channel %}{{ c.channel }}{% endif %}",
         "{% if c.result %}{{ c.result }}{% endif %}", "{% if c.note %}{{ c.note }}{% endif %}"],
        "{%tr endfor %}",
    ], header=True)
    b.else_()
    b.p(b.L("Er werden nog geen contacten geregistreerd.",
            "Aucun contact n’a encore été enregistré."))
    b.endif()
    b.if_("report.tasks_done")
    b.p(b.L("**Uitgevoerde stappen**", "**Démarches effectuées**"), keep_next=True, after=3,
        before=8)
    b.logic("{%p for t in report.tasks_done %}")
    bullet(b, "{{ t.label }}{% if t.date %} ({{ t.date }}){% endif %}")
    b.logic("{%p endfor %}")
    b.endif()

    b.p(b.L("4. Juridische aandachtspunten", "4. Points d’attention juridiques"), S_HEADING)
    b.if_("report.flags")
    b.p(b.L("Bij het nazicht van de ontvangen stukken stelde het OCMW het volgende vast:",
            "À l’examen des pièces reçues, le CPAS a relevé les points suivants :"),
        keep_next=True, after=2)
    b.logic("{%p for f in report.flags %}")
    bullet(b, "{{ f }}")
    b.logic("{%p endfor %}")
    b.else_()
    b.p(b.L("Het OCMW stelde bij het nazicht van de ontvangen stukken geen bijzondere "
            "aandachtspunten vast.",
            "L’examen des pièces reçues n’a révélé aucun point d’attention particulier."))
    b.endif()

    b.p(b.L("5. Financiële gegevens", "5. Éléments financiers"), S_HEADING)
    b.if_("amounts.arrears or amounts.monthly_rent")
    b.guarded("amounts.arrears", b.L("Gevorderde huurachterstal: **{{ amounts.arrears }}**",
                                     "Arriérés de loyer réclamés : **{{ amounts.arrears }}**"),
              S_COMPACT)
    b.guarded("amounts.monthly_rent", b.L("Maandelijkse huur: **{{ amounts.monthly_rent }}**",
                                          "Loyer mensuel : **{{ amounts.monthly_rent }}**"),
              S_COMPACT)
    b.else_()
    b.p(b.L("De ontvangen stukken vermelden geen bedragen.",
            "Les pièces reçues ne mentionnent pas de montants."))
    b.endif()

    b.p(b.L("6. Situatie van het gezin", "6. Situation du ménage"), S_HEADING)
    b.writing_box(5.0)
    b.p(b.L("7. Voorstel", "7. Proposition"), S_HEADING)
    b.writing_box(4.0)

    b.p([(b.L("Dit verslag werd opgesteld met respect voor het beroepsgeheim: het bevat enkel "
              "de gegevens die noodzakelijk zijn voor de beoordeling van de zaak door de "
              "vrederechter.",
              "Le présent rapport est établi dans le respect du secret professionnel : il ne "
              "contient que les éléments nécessaires à l’appréciation de la cause par le juge "
              "de paix."), {"italic": True, "size": 9})], before=8)
    signature(b, b.L("Met de meeste hoogachting,",
                     "Veuillez agréer, Madame, Monsieur le Juge de paix, l’expression de notre "
                     "haute considération."))
    footer(b)
    return b


BUILDERS: dict[str, Callable[[str], Letter]] = {
    "tenant_invitation": tenant_invitation,
    "visit_notice": visit_notice,
    "landlord_mediation": landlord_mediation,
    "court_report": court_report,
}


def build(out_dir: Path = HERE) -> list[Path]:
    written = []
    for lang in LANGS:
        for kind in KINDS:
            path = out_dir / lang / f"{kind}.docx"
            BUILDERS[kind](lang).save(path)
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE,
                        help="directory that receives nl/ and fr/ (default: beside this script)")
    args = parser.parse_args(argv)
    for path in build(args.out):
        print(path)


if __name__ == "__main__":
    main()


__all__ = ["BUILDERS", "KINDS", "LANGS", "STYLE_NAMES", "build"]
