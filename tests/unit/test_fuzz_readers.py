"""Hostile and broken input (issue 8): property tests over the readers, the notice and event
validation and the spreadsheet cell neutraliser, through the harness `python -m bench.fuzz`
runs for a million inputs. CI runs a few hundred examples each."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz_harness import (
    HOSTILE_NAMES,
    check_cell,
    check_event,
    check_file,
    check_notice,
    hostile_files,
)
from bench.fuzz_strategies import csv_bytes, event_values, json_bytes, notice_values
from services.readers import MAX_DEPTH, MAX_RECORD_CHARS, inspect_file, read_records

FAST = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".csv", ".json", ".jsonl"]))
def test_any_bytes_are_records_or_an_unreadable_file_never_a_crash(data, suffix):
    check_file(data, suffix)


@FAST
@given(data=csv_bytes())
def test_csv_that_excel_might_save_is_read_record_by_record(data):
    check_file(data, ".csv")


@FAST
@given(data=json_bytes(), suffix=st.sampled_from([".json", ".jsonl"]))
def test_json_of_any_shape_is_read_record_by_record(data, suffix):
    check_file(data, suffix)


@FAST
@given(value=notice_values())
def test_validate_notice_takes_any_json_value(value):
    check_notice(value)


@FAST
@given(value=event_values())
def test_event_rows_are_used_or_refused_with_a_field_and_reason(value):
    check_event(value)


@FAST
@given(value=st.text())
def test_no_spreadsheet_text_cell_starts_like_a_formula(value):
    check_cell(value)


SMALL_HOSTILE = hostile_files(large=False)


@pytest.mark.parametrize("name", sorted(SMALL_HOSTILE))
def test_each_hostile_file_is_records_with_reasons_or_unreadable(name):
    check_file(SMALL_HOSTILE[name], "." + name.rsplit(".", 1)[1], Counter())


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 100_000 + "1" + "}" * 100_000,
])
def test_100000_deep_nesting_is_a_record_nested_too_deeply(tmp_path, text):
    for suffix in (".json", ".jsonl"):
        path = tmp_path / f"deep{suffix}"
        path.write_text(text + "\n")
        (record,) = read_records(inspect_file(path))
        assert record.error == f"nested too deeply (more than {MAX_DEPTH} levels)"
        assert record.raw in text and len(record.raw) >= len(text) - 2  # kept whole


def test_a_deep_element_of_an_array_does_not_stop_the_rest(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('[{"kind": "petition"}, ' + "[" * 5000 + "]" * 5000 + ', {"kind": "x"}]')
    first, deep, last = read_records(inspect_file(path))
    assert first.data == {"kind": "petition"} and last.data == {"kind": "x"}
    assert deep.error.startswith("nested too deeply") and deep.raw == "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".json"])
def test_a_50_mb_line_is_one_record_too_long_kept_as_its_head_length_and_digest(
        tmp_path, suffix):
    import hashlib

    line = '{"kind": "' + "x" * (50 << 20) + '"}'
    path = tmp_path / f"long{suffix}"
    content = {".csv": "kind;court\n" + line + ";c\npetition;c2\n",
               ".jsonl": line + '\n{"kind": "petition"}\n',
               ".json": "[" + line + ', {"kind": "petition"}]'}[suffix]
    path.write_text(content)
    long, after = read_records(inspect_file(path))
    assert long.error.startswith("the record is too long") and long.data is None
    assert len(long.raw) < 5000 and long.raw.startswith(line[:1000])
    whole = line + {".csv": ";c\n", ".jsonl": "\n", ".json": ""}[suffix]
    assert hashlib.sha256(whole.encode()).hexdigest() in long.raw
    assert str(len(whole)) in long.error
    assert after.record_no == 2 and after.error is None
    assert len(whole) > MAX_RECORD_CHARS


def test_a_nul_in_a_record_is_quarantined_and_its_raw_text_is_storable(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"kind;court\n" + b"petition;c\n" * 1000 + b"petition;a\x00b\n")
    last = list(read_records(inspect_file(path)))[-1]
    assert last.error == "court: contains a NUL character"
    assert last.raw == "petition;a\ufffdb"


def test_binary_data_is_an_unreadable_file_named_by_its_path(tmp_path):
    from services.readers import UnreadableFile

    path = tmp_path / "photo.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(UnreadableFile, match=r"photo\.json: binary data"):
        inspect_file(path)


def test_a_utf16_csv_with_its_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "unicode.csv"
    path.write_bytes("kind;court\npetition;Vredegerecht Sint-Gillis\n".encode("utf-16"))
    (record,) = read_records(inspect_file(path))
    assert record.data == {"kind": "petition", "court": "Vredegerecht Sint-Gillis"}


def test_hostile_names_stay_data_and_are_stored_as_received():
    for name in HOSTILE_NAMES:
        notice = check_notice({"kind": "petition", "court": name, "docket_number": "1",
                               "received_on": "2026-11-02", "filed_on": "2026-10-27",
                               "hearing_at": "2026-12-10T09:30",
                               "tenant": {"last_name": name},
                               "dwelling": {"postcode": "1030", "municipality": name}})
        if "\x00" not in name and "\ud800" not in name and name.strip():
            assert notice is not None and notice.tenant.last_name == name.strip()
            json.dumps(notice.model_dump(mode="json"))
