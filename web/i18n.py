"""The web app's two languages (Babel message catalogs).

The msgids are English; `web/locale/{nl,fr}/LC_MESSAGES/*.po` hold the Dutch and French,
one catalog per part of the app (they are merged), compiled in memory when the app starts
so there is no build step. tests/unit/test_web_i18n.py checks every string the pages use
is translated in both.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("nl", "fr")
DEFAULT_LANGUAGE = "nl"


@cache
def translations(language: str) -> Translations:
    """Every catalog of `language`, merged into one gettext object."""
    merged = Translations()
    for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=path.stem)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        merged.merge(Translations(compiled, domain="messages"))
    return merged


def pick_language(*candidates: str | None, accept_language: str | None = None) -> str:
    """The first of `candidates` that Domus speaks, else the browser's preference (its
    Accept-Language header), else Dutch."""
    for candidate in candidates:
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def used_messages() -> dict[str, str]:
    """Every msgid the web pages use (templates/web and web/*.py), with where it is."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, str] = {}
    roots = ((Path(__file__).resolve().parents[1] / "templates" / "web",
              [("**.html", "jinja2")], {"extensions": "jinja2.ext.i18n"}),
             (Path(__file__).parent, [("*.py", "python")], {}))
    for root, method_map, options in roots:
        for filename, lineno, message, _comments, _context in extract_from_dir(
                str(root), method_map, options_map={"**": options}):
            for msgid in message if isinstance(message, tuple) else (message,):
                if msgid:
                    found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def missing_translations(language: str) -> dict[str, str]:
    """The msgids in use that `language`'s catalogs do not translate, with where they are."""
    known = translations(language)._catalog  # msgid → msgstr, merged from every catalog
    return {msgid: where for msgid, where in used_messages().items()
            if not known.get(msgid)}
