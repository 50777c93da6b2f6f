"""Hypothesis strategies for structured hostile input: notice-shaped JSON, CSV as Excel or a
careless script might save it, event rows. Shared by tests/unit/test_fuzz_readers.py and
`python -m bench.fuzz --engine hypothesis`."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hypothesis import strategies as st

from bench.fuzz_harness import HOSTILE_NAMES

COLUMNS = (
    "kind", "court", "docket_number", "received_on", "filed_on", "served_on", "hearing_at",
    "judgment_on", "notified_on", "eviction_at", "moratorium_lifted", "tenant_first_name",
    "tenant_last_name", "tenant_language", "tenant_birth_date", "dwelling_postcode",
    "dwelling_municipality", "landlord_kind", "arrears_eur", "monthly_rent_eur",
)
PLAUSIBLE = (
    "petition", "summons", "judgment", "eviction_notice", "objection", "2026-11-02",
    "02/11/2026", "10/12/2026 09:30", "2026-12-10T09:30:00+14:00", "9999-12-31",
    "0001-01-01", "1030", "Schaerbeek", "2.900,50", "-1", "1e999", "NaN", "oui", "fr",
    "social_housing", "", " ", "contact", "outcome", "phone", "reached", "rehoused",
)
cells = st.one_of(st.sampled_from(PLAUSIBLE + HOSTILE_NAMES), st.text(max_size=40))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                    st.text(max_size=30), st.sampled_from(PLAUSIBLE + HOSTILE_NAMES))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=20)


@st.composite
def notice_values(draw: Any) -> Any:
    """Mostly notice-shaped objects with hostile or wrong values, sometimes anything."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    notice: dict[str, Any] = {}
    for column in draw(st.lists(st.sampled_from(COLUMNS), max_size=len(COLUMNS))):
        value = draw(st.one_of(cells, json_values))
        for prefix in ("tenant_", "dwelling_", "landlord_"):
            if column.startswith(prefix):
                part = notice.setdefault(prefix[:-1], {})
                if isinstance(part, dict):
                    part[column[len(prefix):]] = value
                break
        else:
            notice[column] = value
    return notice


@st.composite
def event_values(draw: Any) -> Any:
    names = ("court", "docket_number", "type", "at", "channel", "result", "code", "note")
    return draw(st.one_of(json_values, st.dictionaries(st.sampled_from(names), cells)))


@st.composite
def csv_bytes(draw: Any) -> bytes:
    header = draw(st.lists(st.sampled_from(COLUMNS + ("", "KIND ", "x")), min_size=0,
                           max_size=8))
    rows = draw(st.lists(st.lists(cells, max_size=len(header) + 2), max_size=6))
    delimiter = draw(st.sampled_from(";,\t"))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter,
                        lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if draw(st.booleans()):  # a careless script: a stray quote, a cut line
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(['"', "\n", ";", "\x00", ""])) + text[at:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"]))
    return text.encode(encoding, "surrogatepass" if encoding.startswith("utf-8") else "replace")


@st.composite
def json_bytes(draw: Any) -> bytes:
    values = draw(st.lists(st.one_of(notice_values(), json_values), max_size=4))
    shape = draw(st.sampled_from(["array", "object", "lines"]))
    if shape == "array":
        text = json.dumps(values, ensure_ascii=draw(st.booleans()))
    elif shape == "object":
        text = json.dumps(values[0] if values else {})
    else:
        text = "\n".join(json.dumps(v) for v in values)
    if draw(st.booleans()):  # cut or spliced
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["", "[" * 2000, "}", '"', "\n", ","])) + \
            text[at + draw(st.integers(0, 5)):]
    return text.encode("utf-8", "surrogatepass")
