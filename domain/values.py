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
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
MAX_AMOUNT = Decimal("1e12")

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_DMY_TIME = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")
_TRUE = {"1", "true", "yes", "y", "ja", "oui", "waar", "vrai", "x"}
_FALSE = {"0", "false", "no", "n", "nee", "non", "onwaar", "faux"}


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
        raise ValueError(f"'{text}' is not a date (use 2026-11-02 or 02/11/2026)") from None


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
            raise ValueError(f"'{value}' is out of the range of dates") from None
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
            f"'{text}' is not a date and time (use 2026-12-10T09:30 or 10/12/2026 09:30)"
        ) from None


def parse_amount(value: object) -> Decimal:
    """Euros from 2900.50, "2900.50", "2.900,50", "2 900,50 €" or "€ 2.900,50"."""
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not an amount in euros")
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
                f"'{value}' is not an amount in euros (use 2900.50 or 2.900,50)"
            ) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
        raise ValueError(f"'{value}' is not a positive amount in euros")
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
    raise ValueError(f"'{value}' is not yes or no (use true/false or 1/0)")


def fold_key(text: str) -> str:
    """The key two spellings of a court or docket share: case, spaces and punctuation ignored."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())
