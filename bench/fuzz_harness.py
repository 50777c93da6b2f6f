"""The fuzz harness that the CI test (tests/unit/test_fuzz_readers.py) and the benchmark
(`python -m bench.fuzz`) share: one input in, every promise of issue 8 checked.

* a file (CSV, JSON, JSONL; any bytes) is either `UnreadableFile`, with a message naming the
  file, or records: each is data or has an error reason, keeps its raw text (verbatim, or
  its head, length and digest when over-long; never a NUL, which PostgreSQL refuses), and
  the data of each is validated as a notice and as an event;
* a notice is a `Notice` (storable as JSON, with a fingerprint, and assessed by the legal
  rules without an exception) or `NoticeInvalid` naming each field with a short reason;
* an event row is used or refused with `RowError` (field and reason);
* a spreadsheet text cell never starts like a formula.

Anything else raised is a crash: `check_*` let it propagate, so a fuzzer reports it.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from domain.notices import Notice, NoticeInvalid, validate_notice
from services.readers import (
    MAX_RECORD_CHARS,
    RawRecord,
    UnreadableFile,
    inspect_file,
    read_records,
)
from services.spreadsheet import FORMULA_STARTS, csv_text

#: the longest reason a quarantine entry may carry (one readable line)
MAX_REASON_CHARS = 400
NOW = datetime(2026, 11, 20, 12, 0)
#: what a receipt of an over-long record says after the record's head
TRUNCATED = "[… Domus kept the first"
SUFFIXES = (".csv", ".json", ".jsonl")


@cache
def _rules() -> Any:
    from domain.calendar import BelgianCalendar
    from domain.playbook import default_playbook
    from domain.regions import region_rules
    from domain.rulebook import RuleBook

    return RuleBook(region_rules("brussels"), BelgianCalendar(()), default_playbook(), {})


@cache
def scratch_dir() -> Path:
    """Where fuzzed files are written (memory-backed when the machine has /dev/shm)."""
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="domus-fuzz-", dir=shm if shm.is_dir() else None))


def check_file(data: bytes, suffix: str, reasons: Counter[str] | None = None) -> int:
    """Read `data` as a notice file of kind `suffix`; check every record; return how many."""
    path = scratch_dir() / f"input{suffix}"
    path.write_bytes(data)
    try:
        source = inspect_file(path)
    except UnreadableFile as exc:
        assert str(path) in str(exc), exc
        _count(reasons, "unreadable: " + str(exc).split(": ", 1)[1])
        return 0
    text = None
    if len(data) <= 1 << 16:
        text = data.decode(source.encoding)
    count = 0
    for record in read_records(source):
        count += 1
        check_record(record, text, reasons)
    return count


def check_record(record: RawRecord, text: str | None, reasons: Counter[str] | None) -> None:
    assert record.record_no >= 1 and record.line_no >= 1
    assert isinstance(record.raw, str) and "\x00" not in record.raw
    assert len(record.raw) <= MAX_RECORD_CHARS
    if text is not None and "\x00" not in text and TRUNCATED not in record.raw:
        assert record.raw.strip() in text  # the raw text is the file's own, verbatim
    if record.error is not None:
        assert record.data is None and record.error.strip()
        assert len(record.error) <= MAX_REASON_CHARS, record.error
        _storable(record.error)
        _count(reasons, record.error)
        return
    check_notice(record.data, reasons)
    check_event(record.data, reasons)


def check_notice(data: Any, reasons: Counter[str] | None = None) -> Notice | None:
    """Validate `data` as a notice; a valid one is stored, fingerprinted and assessed."""
    try:
        notice = validate_notice(data)
    except NoticeInvalid as invalid:
        assert invalid.errors
        for error in invalid.errors:
            assert error.field and error.reason, invalid
            assert len(error.reason) <= MAX_REASON_CHARS, error.reason
            _storable(error.field + error.reason)
            _count(reasons, f"{error.field}: {error.reason}")
        return None
    stored = notice.model_dump(mode="json", exclude_none=True)
    json.dumps(stored, ensure_ascii=False).encode("utf-8")  # storable (no lone surrogate)
    assert len(notice.fingerprint()) == 32
    _rules().assess([notice.facts()], None)
    _count(reasons, "valid notice")
    return notice


def check_event(data: Any, reasons: Counter[str] | None = None) -> None:
    """The checks `import-events` makes on a row before it looks the case up."""
    from domain.statistics import OUTCOMES
    from domain.sweep import CHANNELS, RESULTS
    from services.import_events import RowError, _choice, _day, _moment, _text

    try:
        if not isinstance(data, dict):
            raise RowError("record", "expected one object")
        _text(data, "court"), _text(data, "docket_number")
        kind = _text(data, "type")
        if kind == "contact":
            _moment(data.get("at"), NOW)
            _choice(data, "channel", CHANNELS), _choice(data, "result", RESULTS)
        else:
            _choice(data, "code", OUTCOMES), _day(data.get("at"), NOW)
    except RowError as error:
        assert error.field and error.reason
        assert len(error.reason) <= MAX_REASON_CHARS, error.reason
        _storable(error.field + error.reason)
        _count(reasons, f"event {error.field}: {error.reason}")
        return
    _count(reasons, "valid event")


def _storable(text: str) -> None:
    """A reason goes to a JSON column and a terminal: valid UTF-8, no NUL."""
    assert "\x00" not in text
    text.encode("utf-8")


def check_cell(value: str) -> None:
    cell = csv_text(value)
    assert not cell.startswith(FORMULA_STARTS)
    assert cell == value or cell == "'" + value


def _count(reasons: Counter[str] | None, reason: str) -> None:
    """Count a reason by its shape (quoted values and numbers left out)."""
    if reasons is not None:
        reasons[_shape(reason)] += 1


def _shape(reason: str) -> str:
    import re

    reason = re.sub(r"'[^']*'(?=[^']*$)|'.*?'", "'…'", reason)
    return re.sub(r"\d+", "N", reason)[:120]


# -- hostile inputs everyone must survive (issue 8) ---------------------------------------------
HOSTILE_NAMES = (
    '=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-1+1", "@SUM(1)",
    "\t=1+1", "\r=1+1", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
    "{{7*7}}", "{% raw %}", "Tom & Jerry", "Ünïcødé \u202e evil", "a\u0000b", "\ud800",
)


def hostile_files(large: bool = True) -> dict[str, bytes]:
    """Named files of each hostile kind the issue lists (with `large`, the 50 MB ones)."""
    deep_array = b"[" * 100_000 + b"]" * 100_000
    deep_object = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    big = b"x" * ((50 << 20) if large else 100)
    header = b"kind;court;docket_number;received_on\n"
    files = {
        "empty.csv": b"", "empty.json": b"", "empty.jsonl": b"",
        "blank.csv": b" \r\n\t\r\n", "blank.json": b"  \n ", "blank.jsonl": b"\n \n",
        "header-only.csv": header,
        "deep-array.json": deep_array, "deep-object.json": deep_object,
        "deep-array.jsonl": deep_array + b"\n" + deep_object + b"\n",
        "deep-in-array.json": b"[{}, " + deep_array + b", {}]",
        "long-line.csv": header + b"petition;" + big + b";1;2026-11-02\npetition;c;2;x\n",
        "long-line.jsonl": b'{"kind": "' + big + b'"}\n{}\n',
        "long-record.json": b'[{"kind": "' + big + b'"}, {}]',
        "long-object.json": b'{"kind": "' + big + b'"}',
        "long-cell.csv": header + b'petition;"' + b"ab\n" * 100_000 + b'";1;x\n',
        "nul-late.csv": header + b"petition;c;1;x\n" * 600 + b"petition;a\x00b;2;x\n",
        "nul-escape.jsonl": b'{"kind": "a\\u0000b"}\n',
        "surrogate.json": b'[{"kind": "\\ud800"}, {"\\udfff": 1}]',
        "huge-int.jsonl": b'{"arrears_eur": 1' + b"0" * 5000 + b"}\n",
        "nan.json": b'{"arrears_eur": NaN, "monthly_rent_eur": -Infinity}',
        "utf16.csv": "kind;court\npetition;Vredegerecht\n".encode("utf-16"),
        "utf16-nobom.csv": "kind;court\npetition;x\n".encode("utf-16-le"),
        "utf32.json": '{"kind": "petition"}'.encode("utf-32"),
        "undefined-cp1252.csv": header + b"petition;\x81\x8d\x8f\x90\x9d;1;x\n",
        "lone-quote.csv": header + b'"petition;c;1;x\n',
        "png.json": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        "zip.csv": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4,
        "random.jsonl": bytes((i * 7919 + 13) % 256 for i in range(4096)),
        "bom-only.csv": b"\xef\xbb\xbf",
        "year-9999.json": json.dumps({
            "kind": "petition", "court": "c", "docket_number": "d", "received_on": "9999-12-31",
            "filed_on": "0001-01-01", "hearing_at": "9999-12-31T23:59:59",
            "tenant": {"last_name": "x"},
            "dwelling": {"postcode": "1030", "municipality": "Schaerbeek"}}).encode(),
    }
    return files if large else {k: v for k, v in files.items() if not k.startswith("long")}
