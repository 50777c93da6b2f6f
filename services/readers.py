"""Reading notice files as they arrive: `.json` (one object or an array), `.jsonl`, `.csv`.

Each record comes with its 1-based record number, its line, and its raw text verbatim, so
that nothing received is ever lost, and with either the parsed data or why it could not
be parsed. CSV is read as Excel saves it in Belgium (CONTRACT.md): `;` or `,`, UTF-8 with or
without BOM, or Windows-1252.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

SUFFIXES = (".json", ".jsonl", ".csv")
#: CSV columns that are the flattened parts of a notice (CONTRACT.md, "Notice (CSV)").
NESTED_PREFIXES = ("tenant_", "dwelling_", "landlord_")


class UnreadableFile(Exception):
    """A file that cannot be read at all (exit status 2); the message names the file."""


@dataclass(frozen=True)
class RawRecord:
    record_no: int
    line_no: int
    raw: str
    data: Any = None
    error: str | None = None  # why the record could not be parsed (it is then quarantined)


@dataclass(frozen=True)
class SourceFile:
    name: str  # how quarantine entries name the file
    sha256: str
    encoding: str = "utf-8"
    path: Path | None = None


def inspect_file(path: Path) -> SourceFile:
    """Digest and text encoding of a notice file, read once in a stream."""
    if path.suffix.lower() not in SUFFIXES:
        raise UnreadableFile(f"{path}: unknown file type (expected .json, .jsonl or .csv)")
    digest, decoder = hashlib.sha256(), codecs.getincrementaldecoder("utf-8")()
    utf8 = cp1252 = True
    fallback = codecs.getincrementaldecoder("cp1252")()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                utf8 = utf8 and _decodes(decoder, block)
                cp1252 = cp1252 and _decodes(fallback, block)
    except OSError as exc:
        raise UnreadableFile(f"{path}: {exc.strerror or exc}") from None
    utf8 = utf8 and _decodes(decoder, b"", final=True)
    if not (utf8 or cp1252):
        raise UnreadableFile(f"{path}: neither UTF-8 nor Windows-1252 text")
    return SourceFile(str(path), digest.hexdigest(), "utf-8-sig" if utf8 else "cp1252", path)


def _decodes(decoder: codecs.IncrementalDecoder, block: bytes, final: bool = False) -> bool:
    try:
        decoder.decode(block, final)
        return True
    except UnicodeDecodeError:
        return False


def read_records(source: SourceFile) -> Iterator[RawRecord]:
    """The records of the file, streamed (JSON arrays are read whole)."""
    assert source.path is not None
    suffix = source.path.suffix.lower()
    if suffix == ".csv":
        return _csv_records(source)
    if suffix == ".jsonl":
        return _jsonl_records(source)
    return _json_records(source)


def _jsonl_records(source: SourceFile) -> Iterator[RawRecord]:
    assert source.path is not None
    with source.path.open(encoding=source.encoding, newline="") as handle:
        record_no = 0
        for line_no, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            record_no += 1
            yield _json_record(record_no, line_no, text)


def _json_record(record_no: int, line_no: int, text: str) -> RawRecord:
    try:
        return RawRecord(record_no, line_no, text, data=orjson.loads(text))
    except orjson.JSONDecodeError:
        pass  # the standard parser decides (NaN, huge integers) and words the error
    try:
        return RawRecord(record_no, line_no, text, data=json.loads(text))
    except json.JSONDecodeError as exc:
        return RawRecord(record_no, line_no, text, error=f"not valid JSON: {exc.msg} "
                         f"(column {exc.colno})")


def _json_records(source: SourceFile) -> Iterator[RawRecord]:
    assert source.path is not None
    text = source.path.read_text(encoding=source.encoding)
    decoder = json.JSONDecoder()
    start = _skip_space(text, 0)
    if not text.startswith("[", start):
        yield _json_record(1, text.count("\n", 0, start) + 1, text.strip())
        return
    position, record_no = _skip_space(text, start + 1), 0
    while position < len(text) and text[position] != "]":
        record_no += 1
        line_no = text.count("\n", 0, position) + 1
        try:
            data, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            yield RawRecord(record_no, line_no, text[position:].strip(),
                            error=f"not valid JSON: {exc.msg} (line {exc.lineno})")
            return
        yield RawRecord(record_no, line_no, text[position:end], data=data)
        position = _skip_space(text, end)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
    rest = _skip_space(text, position + 1)
    if rest < len(text):
        yield RawRecord(record_no + 1, text.count("\n", 0, rest) + 1, text[rest:].strip(),
                        error="not valid JSON: text after the end of the array")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _csv_records(source: SourceFile) -> Iterator[RawRecord]:
    assert source.path is not None
    with source.path.open(encoding=source.encoding, newline="") as handle:
        lines = _LineTap(handle)
        header_line = next(lines, "")
        lines.take()
        delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
        cells = next(csv.reader([header_line], delimiter=delimiter))
        header = [cell.strip().lower() for cell in cells]
        if not any(header):
            return
        reader = csv.reader(lines, delimiter=delimiter)
        for record_no, row in enumerate(reader, start=1):
            raw, line_no = lines.take()
            if not any(cell.strip() for cell in row):
                continue
            yield _csv_record(record_no, line_no, raw, header, row)


def _csv_record(record_no: int, line_no: int, raw: str, header: list[str],
                row: list[str]) -> RawRecord:
    if len(row) != len(header):
        return RawRecord(record_no, line_no, raw,
                         error=f"the row has {len(row)} cells, the header has {len(header)}")
    return RawRecord(record_no, line_no, raw, data=unflatten(dict(zip(header, row, strict=True))))


def unflatten(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the notice object: tenant_last_name → tenant.last_name; empty cells
    are left out; unknown columns are kept as they are."""
    notice: dict[str, Any] = {}
    for column, value in row.items():
        if not value.strip():
            continue
        prefix = next((p for p in NESTED_PREFIXES if column.startswith(p)), None)
        if prefix:
            notice.setdefault(prefix[:-1], {})[column[len(prefix):]] = value
        else:
            notice[column] = value
    return notice


class _LineTap:
    """Feeds lines to csv.reader and remembers them, so each row keeps its raw text."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._taken: list[str] = []
        self._line_no = 0
        self._row_start = 1

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._handle)
        self._line_no += 1
        self._taken.append(line)
        return line

    def take(self) -> tuple[str, int]:
        raw, start = "".join(self._taken).rstrip("\r\n"), self._row_start
        self._taken, self._row_start = [], self._line_no + 1
        return raw, start
