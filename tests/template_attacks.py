"""Hostile letter templates (issue 8): server-side template injection, denial of service,
XXE, zip bombs, path traversal and macros, each as a .docx an administrator could upload.
Built from the packaged French invitation so everything else in the package is real."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

PACKAGED = Path(__file__).resolve().parents[1] / "templates" / "letters"
INVITATION = (PACKAGED / "fr" / "tenant_invitation.docx").read_bytes()
BODY = b"<w:body>"


def rebuilt(change: Callable[[str, bytes], bytes | None] = lambda name, data: data,
            extra: dict[str, bytes] | None = None) -> bytes:
    """The invitation with each member passed through `change` (None drops it) and
    `extra` members added (written as given, names unchecked)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(INVITATION)) as zin, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = change(item.filename, zin.read(item.filename))
            if data is not None:
                zout.writestr(item.filename, data)
        for name, data in (extra or {}).items():
            zout.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def with_text(text: str) -> bytes:
    """The invitation with one more paragraph, first in the body, holding `text` in one run."""
    paragraph = (f'<w:p><w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'
                 ).encode()

    def change(name: str, data: bytes) -> bytes:
        return data.replace(BODY, BODY + paragraph, 1) if name == "word/document.xml" \
            else data
    return rebuilt(change)


#: Jinja payloads: (label, text). Each is refused at upload.
INJECTIONS = {
    "subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler globals os.popen": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "import os": "{% import 'os' as os %}",
    "self globals": "{{ self.__init__.__globals__ }}",
    "lipsum globals": "{{ lipsum.__globals__ }}",
    "config": "{{ config }}",
    "request": "{{ request }}",
    "include /etc/passwd": "{% include '/etc/passwd' %}",
    "extends (bare)": "{% extends %}",
    "extends a file": "{% extends '/etc/passwd' %}",
    "range(10**9)": "{% for i in range(10**9) %}x{% endfor %}",
    "range(1000000000)": "{% for i in range(1000000000) %}x{% endfor %}",
    "'a' * 10**9": "{{ 'a' * 10**9 }}",
    "'a' * 1000000000": "{{ 'a' * 1000000000 }}",
    "ljust(10**9)": "{{ 'a'.ljust(1000000000) }}",
    "macro recursion": "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    "attr('__class__')": "{{ tenant|attr('__class__') }}",
}


def _xxe(name: str, data: bytes) -> bytes:
    if name != "word/document.xml":
        return data
    head, _, rest = data.partition(b"?>")
    return (head + b'?><!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + rest.replace(BODY, BODY + b"<w:p><w:r><w:t>&xxe;</w:t></w:r></w:p>", 1))


def _xxe_styles(name: str, data: bytes) -> bytes:
    if name != "word/styles.xml":
        return data
    head, _, rest = data.partition(b"?>")
    return head + b'?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>' + rest


def _macro_enabled(name: str, data: bytes) -> bytes:
    if name != "[Content_Types].xml":
        return data
    return data.replace(b"wordprocessingml.document.main+xml",
                        b"ms-word.document.macroEnabled.main+xml")


def _remote_template(name: str, data: bytes) -> bytes:
    if name != "word/_rels/document.xml.rels":
        return data
    return data.replace(b"</Relationships>", (
        b'<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/image" Target="http://127.0.0.1:9/tracker.png" '
        b'TargetMode="External"/></Relationships>'))


def zip_bomb(megabytes: int = 100) -> bytes:
    """A package holding `megabytes` of zeros, ~1,000 times smaller packed."""
    return rebuilt(extra={"word/media/bomb.bin": bytes(megabytes * 2**20)})


#: broken or hostile packages: label → (bytes, a word the refusal must contain)
PACKAGES: dict[str, Callable[[], tuple[bytes, str]]] = {
    "XXE in document.xml": lambda: (rebuilt(_xxe), "DOCTYPE"),
    "external DTD in styles.xml": lambda: (rebuilt(_xxe_styles), "DOCTYPE"),
    "zip bomb": lambda: (zip_bomb(), "zip bomb"),
    "path traversal member": lambda: (rebuilt(extra={"../../x": b"pwned"}), "outside"),
    "absolute member": lambda: (rebuilt(extra={"/etc/cron.d/x": b"pwned"}), "outside"),
    ".docm (macro-enabled)": lambda: (rebuilt(_macro_enabled, extra={
        "word/vbaProject.bin": b"\xd0\xcf\x11\xe0 not really OLE"}), "macro"),
    "macro content type only": lambda: (rebuilt(_macro_enabled), "macro"),
    "vbaProject in a .docx": lambda: (rebuilt(extra={"word/vbaProject.bin": b"x"}), "macro"),
    "remote image fetched on open": lambda: (rebuilt(_remote_template), "external"),
    "not a zip": lambda: (b"MZ\x90\x00 an executable", "not a Word"),
}
