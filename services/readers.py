"""Reading notice files as they arrive: `.json` (one object or an array), `.jsonl`, `.csv`.

Each record comes with its 1-based record number, its line, and its raw text verbatim, so
that nothing received is ever lost, and with either the parsed data or why it could not
be parsed. CSV is read as Excel saves it in Belgium (CONTRACT.md): `;` or `,`, UTF-8 with or
without BOM, or Windows-1252 (and UTF-16/32 when the file starts with their byte-order mark).

Hostile input is a record-level problem, never a crash (issue 8): a record nested deeper
than `MAX_DEPTH`, longer than `MAX_RECORD_CHARS`, holding a NUL or a lone surrogate, or a
number too long to convert, carries an `error` and is quarantined; only a file that is not
text at all is `UnreadableFile`. An over-long record is never held whole in memory: its
receipt keeps the first `KEPT_CHARS` characters, its length and the SHA-256 of all of it
(the file's own digest names the file as it was received).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from domain.values import MAX_DEPTH, data_problem

SUFFIXES = (".json", ".jsonl", ".csv")
#: CSV columns that are the flattened parts of a notice (CONTRACT.md, "Notice (CSV)").
NESTED_PREFIXES = ("tenant_", "dwelling_", "landlord_")
#: the longest record read: a notice is about a kilobyte (every field is at most 500
#: characters), so a longer one is not a notice
MAX_RECORD_CHARS = 1 << 20
#: the most lines one CSV record may span (a quoted cell may hold line breaks): past it, or
#: when a record of several lines has the wrong number of cells, a quote never closed
MAX_RECORD_LINES = 50
UNCLOSED_QUOTE = ("a quote (\") opened in this line is never closed; the lines after it are "
                  "read as records of their own")
#: how much of an over-long record its receipt keeps (with its length and digest)
KEPT_CHARS = 4096
#: a NUL byte in this much of the start of a file means binary data (as git and grep tell)
BINARY_SNIFF_BYTES = 8192
#: files that announce their encoding with a byte-order mark (longest first)
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
#: a JSON string or bracket: enough to find where a too-deep element of an array ends
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


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
    digest = hashlib.sha256()
    candidates: dict[str, codecs.IncrementalDecoder] = {}
    first = True
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                if first:
                    candidates = _candidates(path, block)
                    first = False
                digest.update(block)
                candidates = {name: decoder for name, decoder in candidates.items()
                              if _decodes(decoder, block)}
    except OSError as exc:
        raise UnreadableFile(f"{path}: {exc.strerror or exc}") from None
    readable = [name for name, decoder in candidates.items() if _decodes(decoder, b"", True)]
    if first:  # an empty file: no records
        readable = ["utf-8-sig"]
    if not readable:
        if len(candidates) == 1:
            raise UnreadableFile(f"{path}: not {next(iter(candidates)).upper()} text, though "
                                 "it starts with that byte-order mark")
        raise UnreadableFile(f"{path}: neither UTF-8 nor Windows-1252 text")
    return SourceFile(str(path), digest.hexdigest(), readable[0], path)


def _candidates(path: Path, head: bytes) -> dict[str, codecs.IncrementalDecoder]:
    """The encodings the file may be in, judged from its first block."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return {encoding: codecs.getincrementaldecoder(encoding)()}
    nul = head.find(b"\x00", 0, BINARY_SNIFF_BYTES)
    if nul >= 0:
        raise UnreadableFile(f"{path}: binary data, not text (a NUL byte at offset {nul}; "
                             "UTF-16 needs its byte-order mark)")
    # validity is checked with plain UTF-8: the utf-8-sig decoder accepts a cut BOM (b"\xef")
    return {"utf-8-sig": codecs.getincrementaldecoder("utf-8")(),
            "cp1252": codecs.getincrementaldecoder("cp1252")()}


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


# -- limits ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Long:
    """An over-long record: its start, its length and its digest (never held whole)."""

    head: str
    chars: int
    sha256: str

    @property
    def raw(self) -> str:
        return kept_raw(self.head + f"\n[… Domus kept the first {len(self.head)} of "
                        f"{self.chars} characters; SHA-256 of all of them in UTF-8, "
                        f"line end included: {self.sha256}]")

    @property
    def error(self) -> str:
        return (f"the record is too long: {self.chars} characters read, a record may have "
                f"{MAX_RECORD_CHARS} (a notice has about a thousand)")


def _long_text(text: str) -> _Long:
    return _Long(text[:KEPT_CHARS], len(text),
                 hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())


def kept_raw(text: str) -> str:
    """The raw text as a receipt can hold it: a NUL (which no PostgreSQL text holds)
    becomes U+FFFD, a record longer than `MAX_RECORD_CHARS` its head, length and digest."""
    if len(text) > MAX_RECORD_CHARS:
        return _long_text(text).raw
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _record(record_no: int, line_no: int, raw: str, data: Any = None,
            error: str | None = None) -> RawRecord:
    """A record whose data is checked (`data_problem`) and whose raw text is storable."""
    if error is None:
        error = data_problem(data)
    if error is not None:
        data = None
    return RawRecord(record_no, line_no, kept_raw(raw), data=data, error=error)


# -- JSON -----------------------------------------------------------------------------------
def parse_json(text: str) -> tuple[Any, str | None]:
    """(data, None) or (None, why the text is not usable JSON); never raises."""
    try:
        return orjson.loads(text), None
    except orjson.JSONDecodeError:
        pass  # the standard parser decides (NaN, huge integers) and words the error
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except RecursionError:
        return None, f"nested too deeply (more than {MAX_DEPTH} levels)"
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        return None, f"not usable JSON: {str(exc).split(';')[0]}"


def _jsonl_records(source: SourceFile) -> Iterator[RawRecord]:
    assert source.path is not None
    with source.path.open(encoding=source.encoding, newline="") as handle:
        record_no = 0
        for line_no, line in enumerate(_bounded_lines(handle), start=1):
            if isinstance(line, _Long):
                record_no += 1
                yield RawRecord(record_no, line_no, line.raw, error=line.error)
                continue
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            record_no += 1
            yield _json_record(record_no, line_no, text)


def _bounded_lines(handle: Any) -> Iterator[str | _Long]:
    """The lines of a text file, a line longer than `MAX_RECORD_CHARS` as a `_Long`."""
    while line := _read_line(handle, MAX_RECORD_CHARS, []):
        yield line


def _read_line(handle: Any, budget: int, before: list[str]) -> str | _Long:
    """The next line if it has at most `budget` characters ("" at the end); otherwise the
    record made of the lines `before` and this whole line as a `_Long`, read in blocks (so
    a 50 MB line costs no more memory than a short one)."""
    line = handle.readline(budget + 1)
    if len(line) <= budget or line.endswith("\n"):
        return line
    start = "".join(before) + line
    digest, chars = hashlib.sha256(start.encode("utf-8", "surrogatepass")), len(start)
    while block := handle.readline(1 << 20):
        digest.update(block.encode("utf-8", "surrogatepass"))
        chars += len(block)
        if block.endswith("\n"):
            break
    return _Long(start[:KEPT_CHARS], chars, digest.hexdigest())


def _json_record(record_no: int, line_no: int, text: str) -> RawRecord:
    if len(text) > MAX_RECORD_CHARS:
        long = _long_text(text)
        return RawRecord(record_no, line_no, long.raw, error=long.error)
    data, error = parse_json(text)
    return _record(record_no, line_no, text, data, error)


def _json_records(source: SourceFile) -> Iterator[RawRecord]:
    assert source.path is not None
    with source.path.open(encoding=source.encoding, newline="") as handle:
        text = handle.read()  # newline="": the raw text keeps its line ends as received
    decoder = json.JSONDecoder()
    start = _skip_space(text, 0)
    if start == len(text):
        return  # an empty file: no records
    if not text.startswith("[", start):
        yield _json_record(1, text.count("\n", 0, start) + 1, text.strip())
        return
    position, record_no = _skip_space(text, start + 1), 0
    line_no, counted = 1, 0
    while position < len(text) and text[position] != "]":
        record_no += 1
        line_no, counted = line_no + text.count("\n", counted, position), position
        try:
            data, end = decoder.raw_decode(text, position)
            error = None
        except json.JSONDecodeError as exc:
            yield _record(record_no, line_no, text[position:].strip(),
                          error=f"not valid JSON: {exc.msg} (line {exc.lineno})")
            return
        except (RecursionError, ValueError) as exc:
            end = _element_end(text, position)
            error = (f"nested too deeply (more than {MAX_DEPTH} levels)"
                     if isinstance(exc, RecursionError)
                     else f"not usable JSON: {str(exc).split(';')[0]}")
            if end is None:
                yield _record(record_no, line_no, text[position:].strip(), error=error)
                return
            data = None
        if end - position > MAX_RECORD_CHARS:
            long = _long_text(text[position:end])
            yield RawRecord(record_no, line_no, long.raw, error=long.error)
        else:
            yield _record(record_no, line_no, text[position:end], data, error)
        position = _skip_space(text, end)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
    rest = _skip_space(text, position + 1)
    if rest < len(text):
        yield _record(record_no + 1, text.count("\n", 0, rest) + 1, text[rest:].strip(),
                      error="not valid JSON: text after the end of the array")


def _element_end(text: str, position: int) -> int | None:
    """Where the JSON array element that starts at `position` ends, by its brackets (for
    an element the parser refused, e.g. nested too deeply), or None."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text, position):
        char = token.group()
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth <= 0:
                return token.end() if depth == 0 else None
        elif depth == 0:
            return token.end()  # a string element
    return None


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


# -- CSV ------------------------------------------------------------------------------------
def _csv_records(source: SourceFile) -> Iterator[RawRecord]:
    assert source.path is not None
    with source.path.open(encoding=source.encoding, newline="") as handle:
        lines = _LineTap(handle)
        try:
            header_line = next(lines, "")
            lines.take()
            counts = {d: header_line.count(d) for d in (";", ",", "\t")}
            delimiter = max(counts, key=lambda d: (counts[d], d == ";"))
            cells = next(csv.reader([header_line], delimiter=delimiter), [])
        except (_TooLong, csv.Error) as exc:
            raise UnreadableFile(f"{source.name}: line 1 is not a CSV header "
                                 f"({exc})") from None
        header = [cell.strip().lower() for cell in cells]
        if not any(header):
            return
        reader = csv.reader(lines, delimiter=delimiter)
        record_no = 0
        while True:
            error = None
            try:
                row = next(reader)
            except StopIteration:
                break
            except _Unclosed:
                row, error = [], UNCLOSED_QUOTE
            except (csv.Error, _TooLong) as exc:
                row, error = [], (exc.long.error if isinstance(exc, _TooLong)
                                  else f"not valid CSV: {exc}")
            if error is None and len(row) != len(header) \
                    and lines.swallowed_a_row(delimiter, len(header)):
                # a stray quote swallowed the lines after it up to the next quote (or the
                # end): this line is the bad record, the others are read again
                lines.give_back()
                row, error = [], UNCLOSED_QUOTE
            record_no += 1
            raw, line_no, long = lines.take()
            if long is not None:
                yield RawRecord(record_no, line_no, long.raw, error=long.error)
            elif error is not None:
                yield _record(record_no, line_no, raw, error=error)
            elif any(cell.strip() for cell in row):
                yield _csv_record(record_no, line_no, raw, header, row)


def _csv_record(record_no: int, line_no: int, raw: str, header: list[str],
                row: list[str]) -> RawRecord:
    if len(row) != len(header):
        return _record(record_no, line_no, raw,
                       error=f"the row has {len(row)} cells, the header has {len(header)}")
    return _record(record_no, line_no, raw, data=unflatten(dict(zip(header, row, strict=True))))


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


class _TooLong(Exception):
    """Raised through csv.reader when a record outgrows `MAX_RECORD_CHARS`."""

    def __init__(self, long: _Long) -> None:
        super().__init__(long.error)
        self.long = long


class _Unclosed(Exception):
    """Raised through csv.reader when a record runs past `MAX_RECORD_LINES`."""


class _LineTap:
    """Feeds lines to csv.reader and remembers them, so each row keeps its raw text; a
    record that outgrows `MAX_RECORD_CHARS` is cut short (`_TooLong`) and only digested; a
    record that a never-closed quote ran into the following lines is cut back to its first
    line (`give_back`) and those lines are fed again."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self._again: deque[str] = deque()
        self._taken: list[str] = []
        self._size = 0
        self._line_no = 0
        self._row_start = 1
        self._long: _Long | None = None

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        if len(self._taken) >= MAX_RECORD_LINES:
            self.give_back()
            raise _Unclosed
        if self._again:
            line: str | _Long = self._again.popleft()
        else:
            line = _read_line(self._handle, MAX_RECORD_CHARS - self._size, self._taken)
        if not line:
            raise StopIteration
        self._line_no += 1
        if isinstance(line, _Long):
            self._long, self._taken, self._size = line, [], 0
            raise _TooLong(line)
        self._taken.append(line)
        self._size += len(line)
        return line

    def swallowed_a_row(self, delimiter: str, cells: int) -> bool:
        """Whether the second line of the record read so far is a whole row on its own:
        then a quote on the first line ran into it (a quoted cell's own line breaks leave
        fragments, not rows)."""
        if len(self._taken) < 2:
            return False
        try:
            row = next(csv.reader([self._taken[1]], delimiter=delimiter), [])
        except csv.Error:
            return False
        return len(row) == cells

    def give_back(self) -> None:
        """Keep the first line of the record read so far as the record; the lines after it
        are read again."""
        first, rest = self._taken[0], self._taken[1:]
        self._again.extendleft(reversed(rest))
        self._line_no -= len(rest)
        self._taken, self._size = [first], len(first)

    def take(self) -> tuple[str, int, _Long | None]:
        raw, start, long = "".join(self._taken).rstrip("\r\n"), self._row_start, self._long
        self._taken, self._size, self._row_start, self._long = [], 0, self._line_no + 1, None
        return raw, start, long
