"""Word letters from .docx templates with Jinja2 fields (docxtpl syntax), fast and sandboxed.

A template is accepted once (`CompiledTemplate.from_bytes`).  The XML parts holding fields
(word/document.xml, the headers and footers it uses, the footnotes) are pre-processed by
docxtpl's own `patch_xml`, so `{%p %}`, `{%tr %}`, `{%tc %}`, `{%r %}`, `{{r }}`,
colspan/cellbg/vm/hm behave as docxtpl documents them; they are parsed in a Jinja2
`ImmutableSandboxedEnvironment` and refused (`TemplateRejected`) on a syntax error, a
top-level name outside `allowed_names`, an attribute or item starting with "_"
(`tenant.__class__`), `|attr('_…')`, `{% include/extends/import %}`, the `**` operator,
a number above MAX_LITERAL, `range()` of more than MAX_RANGE, or a macro calling itself.
The package is checked before any of its XML is parsed (`check_package`): no member
name leaving the package (`../x`, `/x`, `C:`), no more than MAX_PACKAGE_BYTES unpacked (a
zip bomb), no macros (vbaProject, macro-enabled content types), ActiveX or OLE objects, no
DOCTYPE or entity declaration in any XML member (XXE), and no external relationship but
hyperlinks (a remote attached template or image would be fetched when the letter opens).
Each part is compiled once; every other member of the package is compressed once and copied as bytes
into each letter.  Unlike docxtpl, the document properties (docProps/core.xml: title,
description…) are not rendered but copied as they are.

Rendering is bounded (an administrator's template cannot hang or exhaust the letters flow):
one part may take at most MAX_STEPS loop turns, calls and filters together, MAX_SECONDS,
and MAX_OUTPUT characters; no single value (`'a' * n`, `s.ljust(n)`, `s ~ s` in a
recursive macro…) may grow past MAX_VALUE characters, estimated before it is made.  The
environment is not optimised, so no expression is evaluated when a template is uploaded.
A letter over a limit is a `RenderError` naming the limit.

Rendering (`CompiledTemplate.render`) is thread-safe and deterministic: the same context
gives the same bytes (every zip entry is dated 1980-01-01).  Values:

* are XML-escaped (autoescape), so "Smith & <Co>" is safe; objects with `__html__`
  (docxtpl's RichText, Listing) are inserted as XML, as with docxtpl;
* None prints as "" (docxtpl would print "None");
* in plain text "\\n" (and "\\r\\n", "\\r", the vertical tab Word uses for a manual line
  break) becomes a line break and "\\t" a tab, as docxtpl does; other control characters,
  which XML 1.0 forbids (a letter with one would not open), are dropped.  Use docxtpl's
  Listing for "\\a" (new paragraph) and "\\f" (new page);
* a field that does not exist in the context (`tenant.ful_name`) fails the render
  (`RenderError`, naming it): the environment's undefined is `StrictUndefined`.  A field
  whose value is None or "" is fine: `{% if case.hearing_date %}`.

The rendered XML is parsed once (lxml) before it is zipped, so a letter is either well-formed
or `RenderError` is raised; docxtpl's `fix_tables` (column grid after `{%tc %}` loops,
colspan, hm) runs only for templates that use those tags.

`merge_documents` puts several letters in one file (the bilingual letter, a batch to print).
"""

from __future__ import annotations

import copy
import io
import itertools
import re
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from posixpath import dirname, normpath
from posixpath import join as posix_join
from typing import Any

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docxtpl import DocxTemplate
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg
from lxml import etree

__all__ = ["CompiledTemplate", "LimitExceeded", "RenderError", "TemplateRejected",
           "check_package", "merge_documents"]

#: zlib level for the parts written per letter and for merged files (measured: for a letter
#: level 1 is no faster than 6; for a 1,000-letter merge 6 makes the file 3x smaller in the
#: same time)
COMPRESS_LEVEL = 6
#: zlib level for the members compressed once per template
STATIC_COMPRESS_LEVEL = 9

_FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"


class TemplateRejected(ValueError):
    """A template that cannot be accepted: the message names the template, the part
    (word/document.xml, word/header1.xml…), the line when known and the problem."""

    def __init__(self, template: str, part: str | None, problem: str, *,
                 line: int | None = None, names: Iterable[str] = ()) -> None:
        where = ", ".join(x for x in (part, f"line {line}" if line else None) if x)
        super().__init__(f"{template}: {where}: {problem}" if where else f"{template}: {problem}")
        self.template, self.part, self.line, self.problem = template, part, line, problem
        self.names = tuple(names)


class RenderError(RuntimeError):
    """A letter that cannot be rendered from an accepted template with this context (a field
    missing from the context, a filter failing on a value…); the message names the part."""


# ---------------------------------------------------------------------------------------------
# The sandbox


_BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = {"\r": "\n", "\x0b": "\n"}


def _clean_char(match: re.Match[str]) -> str:
    return _LINE_BREAKS.get(match.group(), "")


def _finalize(value: Any) -> Any:
    """Applied to every `{{ }}` value before escaping: None → "", no XML-illegal chars."""
    if value is None:
        return ""
    if type(value) is str:
        text = value
    elif isinstance(value, int | float) or hasattr(value, "__html__"):
        return value
    else:
        text = str(value)  # StrictUndefined raises here, naming the missing field
    if _BAD_CHARS.search(text) is None:
        return text
    return _BAD_CHARS.sub(_clean_char, text.replace("\r\n", "\n"))


# -- limits: what one rendered part may cost --------------------------------------------------
#: loop turns, calls, filters and operators in one part of one letter
MAX_STEPS = 200_000
#: wall-clock seconds for one part of one letter
MAX_SECONDS = 10.0
#: characters of one part's rendered XML
MAX_OUTPUT = 20_000_000
#: characters (or items) of any one value a template makes, estimated before it is made
MAX_VALUE = 5_000_000
#: the longest range() a template may ask for
MAX_RANGE = 10_000
#: the largest number written in a template
MAX_LITERAL = 1_000_000
#: the package unpacked, and how many members it may have
MAX_PACKAGE_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 2_000


class LimitExceeded(Exception):
    """A render went over one of the limits above (caught and reported as RenderError)."""


class _Budget:
    """What is left for the part being rendered (one per render, in a ContextVar)."""

    __slots__ = ("deadline", "next_check", "used")

    def __init__(self) -> None:
        self.used = 0
        self.next_check = 1024
        self.deadline = time.monotonic() + MAX_SECONDS

    def charge(self, steps: int = 1) -> None:
        self.used += steps
        if self.used > MAX_STEPS:
            raise LimitExceeded(f"more than {MAX_STEPS:,} loop turns and calls")
        if self.used >= self.next_check:
            self.next_check = self.used + 1024
            if time.monotonic() > self.deadline:
                raise LimitExceeded(f"more than {MAX_SECONDS:g} s")


_BUDGET: ContextVar[_Budget | None] = ContextVar("domus_render_budget", default=None)


def _charge(steps: int = 1) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(steps)


def _weight(value: Any) -> int:
    """What a value counts for when estimating the size of what is made from it: a
    string's or list's length (with its strings' lengths), an integer's value."""
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int):
        return abs(value)
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return len(value) + sum(len(x) for x in value if isinstance(x, str))
    if isinstance(value, dict | set | frozenset):
        return len(value)
    return 1


_BIG_NUMBER = re.compile(r"\d{7,}")


def _too_big(what: str, estimate: int) -> None:
    if estimate > MAX_VALUE:
        raise LimitExceeded(f"{what} would make a value of more than {MAX_VALUE:,} characters")


def _check_values(what: str, values: Iterable[Any]) -> None:
    """A call or filter: the two largest weights multiplied must stay under MAX_VALUE
    (`s.ljust(n)`, `s.replace(a, b)`, `s|indent(n)`, `items|join(s)`…)."""
    weights = sorted((_weight(v) for v in values), reverse=True)
    if len(weights) >= 2:
        _too_big(what, (weights[0] + 1) * max(weights[1], 1))
    elif weights:
        _too_big(what, weights[0])


def _check_format(text: str) -> None:
    if _BIG_NUMBER.search(text):
        raise LimitExceeded("a format with a width or precision of seven digits")


class _LetterEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with every operator, call and filter counted and size-checked."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _charge()
        numbers = all(isinstance(x, int | float) for x in (left, right))
        if operator == "**":
            if numbers and isinstance(right, int) and (
                    right > 64 or abs(int(left)).bit_length() * max(right, 0) > 4096):
                raise LimitExceeded("a power too large")
        elif operator == "*":
            if numbers:
                if isinstance(left, int) and isinstance(right, int) and \
                        left.bit_length() + right.bit_length() > 4096:
                    raise LimitExceeded("a product too large")
            else:
                _too_big("'*'", _weight(left) * _weight(right))
        elif operator in ("+", "%") and not numbers:
            if operator == "%" and isinstance(left, str):
                _check_format(left)
            _too_big(f"{operator!r}", _weight(left) + _weight(right))
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any,  # noqa: N805
             **kwargs: Any) -> Any:
        _charge()
        owner = getattr(__obj, "__self__", None)
        _check_values("a call", [owner, *args, *kwargs.values()] if owner is not None
                      else [*args, *kwargs.values()])
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, str) and attribute in ("format", "format_map"):
            _check_format(obj)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, str) and argument in ("format", "format_map"):
            _check_format(obj)
        return super().getitem(obj, argument)


def _guarded(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter counted and size-checked; taking the context also keeps Jinja from running
    it when the template is compiled (constant folding)."""
    passes = _PassArg.from_obj(func)

    @pass_context
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        _charge()
        if name == "format" and isinstance(value, str):
            _check_format(value)
        _check_values(f"|{name}", [value, *args, *kwargs.values()])
        if passes is _PassArg.context:
            return func(context, value, *args, **kwargs)
        if passes is _PassArg.eval_context:
            return func(context.eval_ctx, value, *args, **kwargs)
        if passes is _PassArg.environment:
            return func(context.environment, value, *args, **kwargs)
        return func(value, *args, **kwargs)

    guarded.__name__ = name
    return guarded


def _counted(iterable: Any) -> Iterator[Any]:
    """A for loop's items, each turn charged to the budget."""
    budget = _BUDGET.get()
    for item in iterable:
        if budget is not None:
            budget.charge()
        yield item


@pass_context
def _concat(context: Context, items: list[Any]) -> str:
    """`a ~ b`, size-checked (a macro doubling a string would otherwise grow unbounded)."""
    _charge()
    _too_big("'~'", sum(_weight(x) if isinstance(x, str) else len(str(x)) for x in items))
    return markup_join(items) if context.eval_ctx.autoescape else str_join(items)


def _range(*args: int) -> range:
    found = range(*args)
    if len(found) > MAX_RANGE:
        raise LimitExceeded(f"range() of more than {MAX_RANGE:,}")
    return found


_COUNTED, _CONCAT = "domus_counted", "domus_concat"


def _environment() -> ImmutableSandboxedEnvironment:
    # not optimised: no expression of an uploaded template is evaluated when it is compiled
    env = _LetterEnvironment(autoescape=True, undefined=StrictUndefined, finalize=_finalize,
                             auto_reload=False, cache_size=0, optimized=False)
    for name in ("lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    env.globals["range"] = _range
    env.filters = {name: _guarded(name, func) for name, func in env.filters.items()}
    env.filters[_COUNTED] = _counted
    env.filters[_CONCAT] = _concat
    return env


def _bounded(ast: nodes.Template) -> nodes.Template:
    """Every for loop's items counted and every `~` size-checked (rewritten in the tree)."""
    for loop in ast.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, _COUNTED, [], [], None, None, lineno=loop.lineno)
    for parent in list(ast.find_all(nodes.Node)):
        for field_name, value in parent.iter_fields():
            if isinstance(value, nodes.Concat):
                setattr(parent, field_name, _concat_node(value))
            elif isinstance(value, list):
                setattr(parent, field_name, [_concat_node(v) if isinstance(v, nodes.Concat)
                                             else v for v in value])
    return ast


def _concat_node(node: nodes.Concat) -> nodes.Filter:
    return nodes.Filter(nodes.List(node.nodes, lineno=node.lineno), _CONCAT, [], [], None,
                        None, lineno=node.lineno)


_ENV = _environment()
#: names a template may use without their being in allowed_names: range, dict, namespace
IMPLICIT_NAMES = frozenset(_ENV.globals)


def _unsafe(ast: nodes.Template) -> tuple[str, int] | None:
    """The first construct the sandbox would refuse (or that has no place in a letter)."""
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Include,
                              nodes.Extends, nodes.Import, nodes.FromImport)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            return f"access to {node.attr!r} is not allowed (sandbox)", node.lineno
        if isinstance(node, nodes.Getitem) and _private_const(node.arg):
            return f"access to [{node.arg.value!r}] is not allowed (sandbox)", node.lineno
        if (isinstance(node, nodes.Filter) and node.name == "attr" and node.args
                and _private_const(node.args[0])):
            return f"attr({node.args[0].value!r}) is not allowed (sandbox)", node.lineno
        if isinstance(node, nodes.Include | nodes.Extends | nodes.Import | nodes.FromImport):
            return "include, extends and import are not allowed in a letter", node.lineno
    for power in ast.find_all(nodes.Pow):
        return "the ** operator is not allowed in a letter", power.lineno
    for const in ast.find_all(nodes.Const):
        if isinstance(const.value, int | float) and not isinstance(const.value, bool) \
                and abs(const.value) > MAX_LITERAL:
            return f"a number above {MAX_LITERAL:,} is not allowed in a letter", const.lineno
    for call in ast.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "range" and any(
                isinstance(a, nodes.Const) and isinstance(a.value, int)
                and abs(a.value) > MAX_RANGE for a in call.args):
            return f"range() of more than {MAX_RANGE:,} is not allowed", call.lineno
    for macro in ast.find_all(nodes.Macro):
        for call in macro.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == macro.name:
                return f"macro {macro.name!r} calls itself", call.lineno
    return None


def _private_const(node: nodes.Node) -> bool:
    return (isinstance(node, nodes.Const) and isinstance(node.value, str)
            and node.value.startswith("_"))


# ---------------------------------------------------------------------------------------------
# Zip writing: members compressed once, copied as bytes


_DOS_DATE, _DOS_TIME = (1 << 5) | 1, 0  # 1980-01-01 00:00:00
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_LIMIT = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class _Packed:
    """One zip member, compressed: its local header and data, ready to copy."""

    name: bytes
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    local: bytes


def _pack(name: str, data: bytes, *, level: int, stored: bool = False) -> _Packed:
    encoded = name.encode("utf-8")
    flags = 0 if encoded.isascii() else 0x800
    if stored:
        method, payload = zipfile.ZIP_STORED, data
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
        method, payload = zipfile.ZIP_DEFLATED, compressor.compress(data) + compressor.flush()
    if len(data) >= _LIMIT or len(payload) >= _LIMIT:
        raise ValueError(f"{name}: too large for a zip without zip64")
    crc = zlib.crc32(data)
    header = _LOCAL.pack(b"PK\x03\x04", 20, 0, flags, method, _DOS_TIME, _DOS_DATE, crc,
                         len(payload), len(data), len(encoded), 0)
    return _Packed(encoded, flags, method, crc, len(payload), len(data),
                   header + encoded + payload)


def _zip(members: Iterable[_Packed]) -> bytes:
    chunks: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for m in members:
        central.append(_CENTRAL.pack(b"PK\x01\x02", 20, 0, 20, 0, m.flags, m.method,
                                     _DOS_TIME, _DOS_DATE, m.crc, m.csize, m.usize,
                                     len(m.name), 0, 0, 0, 0, 0, offset) + m.name)
        chunks.append(m.local)
        offset += len(m.local)
    directory = b"".join(central)
    if offset >= _LIMIT or len(central) > 0xFFFF:
        raise ValueError("document too large for a zip without zip64")
    end = _END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0)
    chunks += (directory, end)
    return b"".join(chunks)


def _static_members(zf: zipfile.ZipFile, skip: set[str]) -> list[_Packed | str]:
    """Every member in the package's order ([Content_Types].xml first), compressed once;
    the names in `skip` (rendered per letter) stay as names."""
    infos = sorted(zf.infolist(), key=lambda i: i.filename != "[Content_Types].xml")
    return [info.filename if info.filename in skip else
            _pack(info.filename, zf.read(info), level=STATIC_COMPRESS_LEVEL,
                  stored=info.compress_type == zipfile.ZIP_STORED)
            for info in infos]


# ---------------------------------------------------------------------------------------------
# Templates


_PARAGRAPH = re.compile(r"<w:p([ >])")
_TAGS = re.compile(r"<[^>]+>")
_TABLE_FIX = re.compile(r"\{[%{]tc |\{%\s*(?:colspan|hm)\b")
_DOCPR = re.compile(r'(<wp:docPr\b[^>]*?\sid=")\d+(")')
_BODY_START = re.compile(r"<(?:\w+:)?body\b[^>]*>")
_LISTING_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", re.DOTALL)  # as resolve_listing
_LISTING_CHARS = re.compile("[\t\n\a\f]")


@dataclass(frozen=True, slots=True)
class _Part:
    member: str
    template: Template
    prefix: bytes = b""  # document.xml: everything before <w:body>
    suffix: bytes = b""  # document.xml: everything after </w:body>
    fix_tables: bool = False
    docpr: bool = False


def _has_fields(xml: str) -> bool:
    return any(mark in xml for mark in ("{{", "{%", "{#", "{_", "_}"))


_MACRO_MEMBER = re.compile(r"(^|/)(vbaProject\.bin|vbaData\.xml)$|(^|/)(activeX|embeddings)/",
                           re.IGNORECASE)
_MACRO_TYPES = ("macroenabled", "vbaproject", "activex", "oleobject")
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_EXTERNAL = re.compile(rb'TargetMode\s*=\s*["\']External["\']', re.IGNORECASE)
_HYPERLINK = re.compile(rb'Type\s*=\s*["\'][^"\']*/hyperlink["\']')


def check_package(data: bytes, name: str = "template") -> None:
    """Refuse what no letter template needs and an attacker would: member names leaving
    the package, a zip bomb, macros, ActiveX or OLE objects, DOCTYPE/ENTITY declarations
    (XXE) and external relationships other than hyperlinks. Only the zip directory and
    the (bounded) XML members are read; nothing is parsed as XML yet."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise TemplateRejected(name, None, f"not a Word (.docx) document: {exc}") from None
    if len(infos) > MAX_MEMBERS:
        raise TemplateRejected(name, None, f"more than {MAX_MEMBERS:,} members in the package")
    if sum(info.file_size for info in infos) > MAX_PACKAGE_BYTES:
        raise TemplateRejected(name, None, f"more than {MAX_PACKAGE_BYTES // 2**20} MB "
                               "unpacked (a zip bomb?)")
    seen: set[str] = set()
    for info in infos:
        member = info.filename
        parts = member.replace("\\", "/").split("/")
        if (member.startswith(("/", "\\")) or "\\" in member or ".." in parts
                or re.match(r"^[A-Za-z]:", member) or "\x00" in member):
            raise TemplateRejected(name, member, "a member name outside the package")
        if member.lower() in seen:
            raise TemplateRejected(name, member, "a member name appears twice")
        seen.add(member.lower())
        if _MACRO_MEMBER.search(member):
            raise TemplateRejected(name, member, "macros, ActiveX and embedded objects are "
                                   "not allowed in a letter template (save it as .docx)")
    for info in infos:
        if not info.filename.lower().endswith((".xml", ".rels")):
            continue
        try:
            content = zf.read(info)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
            raise TemplateRejected(name, info.filename, f"cannot be read: {exc}") from None
        if _DECLARATION.search(content):
            raise TemplateRejected(name, info.filename, "a DOCTYPE or ENTITY declaration is "
                                   "not allowed (external entities)")
        if info.filename == "[Content_Types].xml" and any(
                kind in content.lower().decode("utf-8", "replace") for kind in _MACRO_TYPES):
            raise TemplateRejected(name, info.filename, "a macro-enabled document (.docm) or "
                                   "one with ActiveX or embedded objects: save it as .docx")
        if info.filename.endswith(".rels"):
            for rel in _RELATIONSHIP.findall(content):
                if _EXTERNAL.search(rel) and not _HYPERLINK.search(rel):
                    raise TemplateRejected(name, info.filename, "an external relationship "
                                           "other than a hyperlink (it would be fetched "
                                           "when the letter is opened): "
                                           + rel.decode("utf-8", "replace")[:200])


class CompiledTemplate:
    """A .docx template checked and compiled once; `render` makes one letter."""

    __slots__ = ("_helper", "_members", "_parts", "name", "variables")

    def __init__(self, name: str, parts: tuple[_Part, ...], members: tuple[_Packed | str, ...],
                 variables: frozenset[str], helper: DocxTemplate) -> None:
        self.name = name
        #: the top-level names the template uses
        self.variables = variables
        self._parts = parts
        self._members = members
        self._helper = helper  # only for docxtpl's stateless resolve_listing / fix_tables

    @property
    def parts(self) -> tuple[str, ...]:
        """The package members rendered per letter."""
        return tuple(p.member for p in self._parts)

    @classmethod
    def from_bytes(cls, data: bytes, *, allowed_names: frozenset[str],
                   name: str = "template") -> CompiledTemplate:
        """Check and compile a .docx template; TemplateRejected says what is wrong."""
        check_package(data, name)
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            helper = DocxTemplate(io.BytesIO(data))
            helper.init_docx()
        except (zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as exc:
            raise TemplateRejected(name, None, f"not a Word (.docx) document: {exc}") from None
        names = set(zf.namelist())
        document = helper.docx
        sources: list[tuple[str, str]] = []  # (member, jinja source)

        # the body, as docxtpl renders it (its get_xml + patch_xml), and the rest of the part
        main = str(document.part.partname).lstrip("/")
        root = copy.deepcopy(document.element)
        body = root.body
        body_source = helper.patch_xml(helper.get_xml())
        if dict(body.nsmap) == dict(root.nsmap) and not body.attrib:
            # the declarations repeated on <w:body> are already on the root
            body_source = _BODY_START.sub(_qname(body), body_source, count=1)
        for child in list(body):
            body.remove(child)
        body.text = None
        whole = etree.tostring(root, encoding="UTF-8", standalone=True)
        empty = f"<{_qname(body)[1:-1]}/>".encode()
        if whole.count(empty) != 1:
            raise TemplateRejected(name, main, "cannot locate the document body")
        prefix, suffix = whole.split(empty)
        sources.append((main, body_source))

        # headers and footers (those docxtpl renders) and footnotes.  Unlike docxtpl, the
        # core properties (title, description…) are not rendered: they are not part of the
        # letter and a description explaining `{%p …%}` would not compile.
        for rel in document.part.rels.values():
            if rel.reltype in (RT.HEADER, RT.FOOTER) and not rel.is_external:
                part = rel.target_part
                xml = helper.patch_xml(helper.get_part_xml(part)) if part.blob else ""
                if _has_fields(xml):
                    sources.append((str(part.partname).lstrip("/"), _XML_DECLARATION + xml))
        for part in document.part.package.iter_parts():
            member = str(part.partname).lstrip("/")
            if part.content_type == _FOOTNOTES_CT:
                try:
                    xml = helper.patch_xml(part.blob.decode("utf-8"))
                except UnicodeDecodeError:
                    continue
                if _has_fields(xml):
                    sources.append((member, xml))
        if any(member not in names for member, _ in sources):
            raise TemplateRejected(name, None, "unsupported package layout")

        parts: list[_Part] = []
        variables: set[str] = set()
        for member, source in sources:
            template, used = _compile(name, member, source, allowed_names)
            variables |= used
            if member == main:
                text = _TAGS.sub("", body_source)
                parts.append(_Part(member, template, prefix, suffix,
                                   fix_tables=bool(_TABLE_FIX.search(text)),
                                   docpr="<wp:docPr" in body_source))
            else:
                parts.append(_Part(member, template))

        members = _static_members(zf, {p.member for p in parts})
        helper.docx = None  # the python-docx document is not needed any more
        return cls(name, tuple(parts), tuple(members), frozenset(variables), helper)

    def render(self, context: Mapping[str, Any]) -> bytes:
        """The .docx of one letter.  RenderError if a field is missing from the context;
        TemplateRejected if the sandbox refuses an operation."""
        context = dict(context)
        rendered: dict[str, _Packed] = {}
        for part in self._parts:
            xml = self._render_part(part, context)
            data = (part.prefix + xml.encode("utf-8") + part.suffix) if part.prefix else \
                xml.encode("utf-8")
            try:
                tree = etree.fromstring(data, _parser())
            except etree.XMLSyntaxError as exc:
                raise RenderError(f"{self.name}: {part.member}: the rendered XML is not "
                                  f"well-formed ({exc}); check the template's tags") from None
            if part.fix_tables:
                tree = self._helper.fix_tables(data)
                data = etree.tostring(tree, encoding="UTF-8", standalone=True)
            del tree
            rendered[part.member] = _pack(part.member, data, level=COMPRESS_LEVEL)
        return _zip(m if isinstance(m, _Packed) else rendered[m] for m in self._members)

    def _render_part(self, part: _Part, context: dict[str, Any]) -> str:
        # docxtpl's render_xml_part, around a template compiled once
        budget = _Budget()
        reset = _BUDGET.set(budget)
        try:
            chunks: list[str] = []
            size = 0
            for chunk in part.template.generate(context):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise LimitExceeded(f"more than {MAX_OUTPUT:,} characters of XML")
                chunks.append(chunk)
            xml = "".join(chunks)
        except LimitExceeded as exc:
            raise RenderError(f"{self.name}: {part.member}: the letter goes over a limit "
                              f"for templates: {exc}") from None
        except RecursionError:
            raise RenderError(f"{self.name}: {part.member}: the letter goes over a limit "
                              "for templates: macros nested too deep") from None
        except SecurityError as exc:
            raise TemplateRejected(self.name, part.member, f"{exc} (sandbox)") from None
        except TemplateError as exc:  # StrictUndefined: the missing field is named
            raise RenderError(f"{self.name}: {part.member}: {exc}") from exc
        except Exception as exc:  # a filter or method failing on a value
            raise RenderError(f"{self.name}: {part.member}: {type(exc).__name__}: {exc}") \
                from exc
        finally:
            _BUDGET.reset(reset)
        xml = xml.replace("\n<w:p ", "<w:p ").replace("\n<w:p>", "<w:p>")
        if "{_" in xml or "_}" in xml:
            xml = (xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%")
                   .replace("%_}", "%}"))
        if any(c in xml for c in "\t\n\a\f"):
            # docxtpl's resolve_listing, applied only to the paragraphs it would change
            resolve = self._helper.resolve_listing
            xml = _LISTING_PARAGRAPH.sub(
                lambda m: resolve(m.group()) if _LISTING_CHARS.search(m.group()) else m.group(),
                xml)
        if part.docpr:
            counter = itertools.count(1001)
            xml = _DOCPR.sub(lambda m: f"{m.group(1)}{next(counter)}{m.group(2)}", xml)
        return xml


def _qname(element: etree._Element) -> str:
    local = etree.QName(element).localname
    return f"<{element.prefix}:{local}>" if element.prefix else f"<{local}>"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True)


def _compile(name: str, member: str, source: str,
             allowed: frozenset[str]) -> tuple[Template, set[str]]:
    """One part's Jinja source checked (syntax, sandbox, names) and compiled."""
    if "<!DOCTYPE" in source:
        raise TemplateRejected(name, member, "a DOCTYPE is not allowed")
    source = _PARAGRAPH.sub(r"\n<w:p\1", source)
    try:
        ast = _ENV.parse(source, member, member)
        unsafe = _unsafe(ast)
        if unsafe:
            raise TemplateRejected(name, member, unsafe[0], line=unsafe[1])
        used = meta.find_undeclared_variables(ast)  # compiles: an unknown filter fails here
        unknown = sorted(used - allowed - IMPLICIT_NAMES)
        if unknown:
            line = min((n.lineno for n in ast.find_all(nodes.Name) if n.name in unknown),
                       default=None)
            raise TemplateRejected(name, member, "undeclared variable(s): "
                                   + ", ".join(unknown), line=line, names=unknown)
        code = _ENV.compile(_bounded(ast), member, member)
    except TemplateSyntaxError as exc:
        raise _syntax(name, member, source, exc) from None
    return _ENV.template_class.from_code(_ENV, code, _ENV.make_globals(None), None), set(used)


def _syntax(name: str, member: str, source: str, exc: TemplateSyntaxError) -> TemplateRejected:
    line = exc.lineno
    near = ""
    if line:
        lines = source.splitlines()
        text = " ".join(_TAGS.sub("", lines[line - 1]).split()) if line <= len(lines) else ""
        near = f" (near {text[:80]!r})" if text else ""
    return TemplateRejected(name, member, f"syntax error: {exc.message}{near}", line=line)


# ---------------------------------------------------------------------------------------------
# Merging


_BODY_OPEN = re.compile(rb"<w:body(?:\s[^>]*)?>")
_FINAL_SECT = re.compile(rb"<w:sectPr\b(?:[^>]*/>|.*?</w:sectPr>)\s*", re.S)
_REFERENCE = re.compile(rb'\br:(?:id|embed|link|pict)="([^"]*)"')
_NOTE = re.compile(rb"<w:(?:footnoteReference|endnoteReference|commentReference)\b")
_BOOKMARK = re.compile(rb"<w:bookmark(?:Start|End)\b[^>]*/>")
_MERGE_DOCPR = re.compile(rb'(<wp:docPr\b[^>]*?\sid=")\d+(")')
_PGNUM = re.compile(rb"<w:pgNumType\b([^>]*?)(/?)>")
_AFTER_PGNUM = re.compile(rb"<w:(?:cols|formProt|vAlign|noEndnote|titlePg|textDirection|bidi|"
                          rb"rtlGutter|docGrid|printerSettings|sectPrChange)\b|</w:sectPr>")
_SECT_TYPE = re.compile(rb"<w:type\b[^>]*/>")
_OFFICE_DOCUMENT = re.compile(
    rb'<Relationship\b[^>]*?Type="[^"]*/officeDocument"[^>]*?Target="([^"]*)"'
    rb'|<Relationship\b[^>]*?Target="([^"]*)"[^>]*?Type="[^"]*/officeDocument"')
_RELATIONSHIP = re.compile(rb"<Relationship\b[^>]*>")
_ATTRIBUTE = re.compile(rb'(\w+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class _Body:
    start: bytes  # <w:body …>
    inner: bytes  # the content before the final sectPr
    sect: bytes  # the final sectPr, or b""


def _main_member(zf: zipfile.ZipFile) -> str:
    match = _OFFICE_DOCUMENT.search(zf.read("_rels/.rels"))
    if not match:
        raise ValueError("not a Word document: no officeDocument relationship")
    return normpath((match.group(1) or match.group(2)).decode()).lstrip("/")


def _split_body(xml: bytes, where: str) -> tuple[int, int, _Body]:
    opening = _BODY_OPEN.search(xml)
    end = xml.rfind(b"</w:body>")
    if not opening or end < opening.end():
        raise ValueError(f"{where}: no <w:body> in word/document.xml")
    start = opening.end()
    sect = xml.rfind(b"<w:sectPr", start, end)
    if sect != -1 and _FINAL_SECT.fullmatch(xml, sect, end):
        inner, final = xml[start:sect], xml[sect:end].rstrip()
    else:
        inner, final = xml[start:end], b""
    return opening.start(), end + len(b"</w:body>"), _Body(opening.group(), inner, final)


def _relationships(data: bytes) -> dict[bytes, tuple[bytes, bool]]:
    found = {}
    for rel in _RELATIONSHIP.findall(data):
        attributes = dict(_ATTRIBUTE.findall(rel))
        found[attributes.get(b"Id", b"")] = (attributes.get(b"Target", b""),
                                             attributes.get(b"TargetMode") == b"External")
    return found


def _section(final: bytes) -> bytes:
    """The first document's final sectPr as each letter's own section: a new page, page
    numbers starting at 1."""
    sect = _SECT_TYPE.sub(b"", final)
    pgnum = _PGNUM.search(sect)
    if pgnum and b"w:start=" in pgnum.group(1):
        return sect
    if pgnum:
        return sect[:pgnum.start()] + b'<w:pgNumType w:start="1"' + pgnum.group(1) + \
            pgnum.group(2) + b">" + sect[pgnum.end():]
    after = _AFTER_PGNUM.search(sect)
    if not after:
        return sect
    return sect[:after.start()] + b'<w:pgNumType w:start="1"/>' + sect[after.start():]


def _end_section(inner: bytes, sect: bytes) -> bytes:
    """`inner` with a section break after it: `sect` in its last paragraph's properties,
    or in an empty paragraph of its own when it does not end with a plain paragraph."""
    trimmed = inner.rstrip()
    if trimmed.endswith(b"</w:p>"):
        at = max(trimmed.rfind(b"<w:p>"), trimmed.rfind(b"<w:p "))
        opened = trimmed.find(b">", at) + 1
        paragraph = trimmed[opened:-len(b"</w:p>")]
        if at >= 0 and not any(x in paragraph for x in (b"</w:p>", b"<w:sectPr", b"<w:pPrChange",
                                                        b"<w:tbl")):
            if paragraph.startswith(b"<w:pPr>"):
                cut = opened + paragraph.find(b"</w:pPr>")
                return trimmed[:cut] + sect + trimmed[cut:]
            if paragraph.startswith(b"<w:pPr/>"):
                return (trimmed[:opened] + b"<w:pPr>" + sect + b"</w:pPr>"
                        + trimmed[opened + len(b"<w:pPr/>"):])
            if not paragraph.startswith(b"<w:pPr"):
                return trimmed[:opened] + b"<w:pPr>" + sect + b"</w:pPr>" + trimmed[opened:]
    return inner + b"<w:p><w:pPr>" + sect + b"</w:pPr></w:p>"


def merge_documents(documents: Sequence[bytes], *, page_breaks: bool = True) -> bytes:
    """One .docx holding the bodies of `documents` one after another.

    The package (styles, numbering, settings, headers, footers, the final section's page
    setup, images and hyperlinks of the first document) is the first document's.  With
    `page_breaks` each document becomes a section of its own, starting on a new page with
    page numbers restarting at 1 and the first document's headers and footers (titlePg
    first-page headers included); without, the bodies simply follow each other.

    Meant for documents rendered from templates that share style ids and list definitions
    (one template for a batch, or the fr and nl versions of one letter): a style missing
    from the first document falls back to Normal.  Headers and footers come from the first
    document only, so per-letter data belongs in the body.  A later document's body may
    refer to relationships (images, hyperlinks: r:id/r:embed) only when its
    word/_rels/document.xml.rels is identical to the first's and every part so referred
    to is identical too (true for letters from one template); otherwise, or when it holds
    footnote, endnote or comment references, ValueError: they would dangle.  Bookmarks of
    later documents are dropped (their names would clash) and picture ids renumbered.
    Linear time: each body is cut out of its XML by string search and the merged body is
    one join.
    """
    if not documents:
        raise ValueError("nothing to merge")
    if len(documents) == 1:
        return bytes(documents[0])
    first = zipfile.ZipFile(io.BytesIO(documents[0]))
    main = _main_member(first)
    rels_member = posix_join(dirname(main), "_rels", main.rsplit("/", 1)[-1] + ".rels")
    first_rels = first.read(rels_member) if rels_member in first.NameToInfo else b""
    relationships = _relationships(first_rels)
    first_xml = first.read(main)
    head_end, tail_start, first_body = _split_body(first_xml, "document 1")
    sect = _section(first_body.sect) if page_breaks and first_body.sect else b""

    pieces: list[bytes] = [first_xml[:head_end], first_body.start]
    docpr = itertools.count(100001)
    previous = first_body.inner
    for index, data in enumerate(documents[1:], start=2):
        where = f"document {index}"
        zf = zipfile.ZipFile(io.BytesIO(data))
        member = _main_member(zf)
        body = _split_body(zf.read(member), where)[2]
        inner = body.inner
        if _NOTE.search(inner):
            raise ValueError(f"{where}: its body has footnote, endnote or comment references, "
                             "which would point at the first document's notes")
        refs = set(_REFERENCE.findall(inner))
        if refs:
            _check_references(where, refs, zf, member, rels_member, first_rels, first,
                              relationships, main)
        if b"<w:bookmark" in inner:
            inner = _BOOKMARK.sub(b"", inner)
        if b"<wp:docPr" in inner:
            inner = _MERGE_DOCPR.sub(lambda m: m.group(1) + str(next(docpr)).encode()
                                     + m.group(2), inner)
        pieces.append(_end_section(previous, sect) if sect else previous)
        previous = inner
    pieces += (previous, sect or first_body.sect, b"</w:body>", first_xml[tail_start:])
    merged = b"".join(pieces)

    members = []
    for info in sorted(first.infolist(), key=lambda i: i.filename != "[Content_Types].xml"):
        content = merged if info.filename == main else first.read(info)
        members.append(_pack(info.filename, content, level=COMPRESS_LEVEL,
                             stored=info.compress_type == zipfile.ZIP_STORED))
    return _zip(members)


def _check_references(where: str, refs: set[bytes], zf: zipfile.ZipFile, member: str,
                      rels_member: str, first_rels: bytes, first: zipfile.ZipFile,
                      relationships: dict[bytes, tuple[bytes, bool]], main: str) -> None:
    rels_here = (zf.read(rels_member) if member == main and rels_member in zf.NameToInfo
                 else None)
    shown = ", ".join(sorted(r.decode() for r in refs)[:5])
    if rels_here != first_rels:
        raise ValueError(f"{where}: its body refers to relationships ({shown}: images, "
                         "hyperlinks) that are not the first document's; they would dangle")
    for ref in refs:
        if ref not in relationships:
            raise ValueError(f"{where}: relationship {ref.decode()} does not exist")
        target, external = relationships[ref]
        if external:
            continue
        path = normpath(posix_join(dirname(main), target.decode())).lstrip("/")
        mine, theirs = zf.NameToInfo.get(path), first.NameToInfo.get(path)
        if (mine is None or theirs is None or mine.CRC != theirs.CRC
                or mine.file_size != theirs.file_size):
            raise ValueError(f"{where}: its {path} differs from the first document's; "
                             "the merged file would show the first one")
