"""Parsers for the values a court notice carries, as people and Excel write them.

Pure functions: a JSON file says "2026-11-02" and 2900.5, a Belgian Excel CSV says
"02/11/2026" and "2.900,50"; both must mean the same notice (CONTRACT.md, "Notice (CSV)").
Each parser raises ValueError with a message fit for a quarantine reason.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
MAX_AMOUNT = Decimal("1e12")

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_DMY_TIME = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
#: how much of a bad value an error message quotes (a reason must stay one readable line)
SHOWN_CHARS = 60
#: the deepest nesting a received record may have: a notice is two levels deep
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_TRUE = {"1", "true", "yes", "y", "ja", "oui", "waar", "vrai", "x"}
_FALSE = {"0", "false", "no", "n", "nee", "non", "onwaar", "faux"}


def shown(value: object) -> str:
    """A received value as an error message quotes it: at most `SHOWN_CHARS` characters on
    one line (a 100 kB cell must not become a 100 kB reason), a NUL or lone surrogate
    escaped (no database or terminal takes them)."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    if "\x00" in text or _SURROGATE.search(text):  # a reason is stored and printed: escaped
        text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + f"… ({len(text)} characters)"


def parse_date(value: object) -> date:
    """A calendar date from ISO 8601 (2026-11-02) or Belgian dd/mm/yyyy (02/11/2026)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = _DMY.match(text)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{shown(text)}' is not a date (use 2026-11-02 or 02/11/2026)") from None


def parse_local_datetime(value: object) -> datetime:
    """A wall-clock time in Brussels: ISO 8601 or dd/mm/yyyy hh:mm; offsets are converted,
    a bare date means midnight (CONTRACT.md: Europe/Brussels when no offset)."""
    if isinstance(value, datetime):
        moment = value
    else:
        moment = _parse_datetime_text(str(value).strip())
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(BRUSSELS).replace(tzinfo=None)
        except OverflowError:
            raise ValueError(f"'{shown(value)}' is out of the range of dates") from None
    return moment


def _parse_datetime_text(text: str) -> datetime:
    match = _DMY_TIME.match(text)
    try:
        if match:
            day, month, year, hour, minute, second = match.groups()
            return datetime(int(year), int(month), int(day), int(hour), int(minute),
                            int(second or 0))
        if _DMY.match(text):
            return datetime.combine(parse_date(text), datetime.min.time())
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"'{shown(text)}' is not a date and time (use 2026-12-10T09:30 or 10/12/2026 09:30)"
        ) from None


def parse_amount(value: object) -> Decimal:
    """Euros from 2900.50, "2900.50", "2.900,50", "2 900,50 €" or "€ 2.900,50"."""
    if isinstance(value, bool):
        raise ValueError(f"'{shown(value)}' is not an amount in euros")
    if isinstance(value, int | float | Decimal):
        amount = Decimal(str(value))
    else:
        text = str(value).strip().replace("€", "").replace("EUR", "").replace("\u00a0", "")
        text = text.replace(" ", "")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        elif text.count(".") > 1 or re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
            text = text.replace(".", "")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(
                f"'{shown(value)}' is not an amount in euros (use 2900.50 or 2.900,50)"
            ) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        raise ValueError(f"'{shown(value)}' is not a positive amount in euros")
    return amount.quantize(Decimal("0.01"))


def parse_flag(value: object) -> bool:
    """A yes/no cell: true/false, 1/0, ja/nee, oui/non; empty means no."""
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE or text == "":
        return False
    raise ValueError(f"'{shown(value)}' is not yes or no (use true/false or 1/0)")


def fold_key(text: str) -> str:
    """The key two spellings of a court or docket share: case, spaces and punctuation ignored."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def data_problem(data: Any) -> str | None:
    """Why received data cannot be kept (nested too deeply, a NUL or a lone surrogate in a
    string, which neither PostgreSQL nor a letter can hold), or None."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list):
            items = ((str(i + 1), item) for i, item in enumerate(value))
        elif isinstance(value, str):
            if problem := _text_problem(value):
                return f"{where or 'the record'}: {problem}"
            continue
        else:
            continue
        if depth > MAX_DEPTH:
            return f"nested too deeply (more than {MAX_DEPTH} levels)"
        for key, item in items:
            path = f"{where}.{shown(key)}" if where else shown(key)
            if len(path) > 200:
                path = "…" + path[-200:]
            if problem := _text_problem(str(key)):
                return f"the name of {path}: {problem}"
            stack.append((item, depth + 1, path))
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    if match := _SURROGATE.search(text):
        return f"contains a lone surrogate (U+{ord(match.group()):04X}), not a character"
    return None
