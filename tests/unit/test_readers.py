"""Reading notice files as they arrive: JSON, JSONL and CSV as Excel saves it in Belgium."""

import hashlib
import json

import pytest

from services.readers import UnreadableFile, inspect_file, read_records, unflatten

CSV_HEADER = (
    "kind;court;docket_number;received_on;filed_on;hearing_at;tenant_first_name;"
    "tenant_last_name;tenant_language;dwelling_street;dwelling_number;dwelling_postcode;"
    "dwelling_municipality;landlord_name;landlord_kind;arrears_eur"
)
CSV_ROWS = [
    "petition;Vredegerecht Schaarbeek;26A1234;02/11/2026;27/10/2026;10/12/2026 09:30;Amina;"
    "El Idrissi;fr;Rue Josaphat;112;1030;Schaerbeek;Immo Josaphat SRL;private;2.900,50",
    "summons;Justice de paix d'Ixelles;26B0077;03/11/2026;;15/12/2026 10:00;Hélène;"
    "Dupré;fr;Rue du Trône;5;1050;Ixelles;;;750,00",
]


def records_of(path):
    return list(read_records(inspect_file(path)))


def write_excel_csv(path, lines, encoding="cp1252"):
    """Bytes as Excel saves a CSV in Belgium: CRLF line ends, Windows-1252 by default."""
    path.write_bytes("".join(line + "\r\n" for line in lines).encode(encoding))
    return path


# --- JSON --------------------------------------------------------------------------------


def test_a_json_array_gives_numbered_records_with_their_verbatim_text_and_lines(tmp_path):
    text = (
        "[\n"
        '  {"kind": "petition",\n'
        '   "docket_number": "26A1234"},\n'
        '  {"kind": "judgment", "docket_number": "26A1234"}  ,\n'
        "\n"
        '  {"kind": "objection", "note": "a ] in a string, and a {"}\n'
        "]\n"
    )
    path = tmp_path / "notices.json"
    path.write_text(text, encoding="utf-8")
    records = records_of(path)
    assert [r.record_no for r in records] == [1, 2, 3]
    assert [r.line_no for r in records] == [2, 4, 6]
    assert [r.data["kind"] for r in records] == ["petition", "judgment", "objection"]
    assert all(r.error is None for r in records)
    for record in records:
        assert record.raw in text
        assert json.loads(record.raw) == record.data
    assert records[0].raw == '{"kind": "petition",\n   "docket_number": "26A1234"}'


def test_a_json_file_with_a_single_object_is_one_record(tmp_path):
    path = tmp_path / "one.json"
    path.write_text('\n\n  {"kind": "petition", "court": "Vredegerecht Anderlecht"}\n',
                    encoding="utf-8")
    (record,) = records_of(path)
    assert (record.record_no, record.line_no) == (1, 3)
    assert record.data == {"kind": "petition", "court": "Vredegerecht Anderlecht"}
    assert record.raw == '{"kind": "petition", "court": "Vredegerecht Anderlecht"}'


def test_an_empty_json_array_has_no_records(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("[ ]\n", encoding="utf-8")
    assert records_of(path) == []


def test_a_broken_element_of_a_json_array_keeps_the_earlier_records_and_the_rest_as_raw(
    tmp_path,
):
    text = '[\n{"kind": "petition"},\n{"kind": "judgment",,},\n{"kind": "objection"}\n]'
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    first, broken = records_of(path)
    assert first.data == {"kind": "petition"}
    assert (broken.record_no, broken.line_no) == (2, 3)
    assert broken.data is None
    assert "not valid JSON" in broken.error
    assert broken.raw.startswith('{"kind": "judgment",,}')
    assert '"objection"' in broken.raw


def test_a_json_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes('[{"tenant": {"last_name": "Dupré"}}]'.encode("utf-8-sig"))
    (record,) = records_of(path)
    assert record.data == {"tenant": {"last_name": "Dupré"}}


# --- JSONL -------------------------------------------------------------------------------


def test_jsonl_skips_blank_lines_and_reports_a_broken_line_without_losing_the_others(tmp_path):
    lines = [
        '{"kind": "petition", "docket_number": "26A1"}',
        "",
        '{"kind": "judgment", "docket_number": ',
        '{"kind": "objection", "docket_number": "26A3"}',
    ]
    path = tmp_path / "notices.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = records_of(path)
    assert [r.record_no for r in records] == [1, 2, 3]
    assert [r.line_no for r in records] == [1, 3, 4]
    assert [r.raw for r in records] == [lines[0], lines[2], lines[3]]
    good_first, broken, good_last = records
    assert good_first.data["docket_number"] == "26A1" and good_first.error is None
    assert good_last.data["docket_number"] == "26A3" and good_last.error is None
    assert broken.data is None
    assert "not valid JSON" in broken.error


def test_jsonl_with_crlf_line_ends_keeps_no_carriage_return_in_the_raw_text(tmp_path):
    path = tmp_path / "windows.jsonl"
    path.write_bytes(b'{"kind": "petition"}\r\n{"kind": "summons"}\r\n')
    records = records_of(path)
    assert [r.raw for r in records] == ['{"kind": "petition"}', '{"kind": "summons"}']
    assert [r.data["kind"] for r in records] == ["petition", "summons"]


# --- CSV ---------------------------------------------------------------------------------


def test_a_csv_saved_by_belgian_excel_is_read_back_as_it_is(tmp_path):
    path = write_excel_csv(tmp_path / "export.csv", [CSV_HEADER, *CSV_ROWS])
    assert inspect_file(path).encoding == "cp1252"
    first, second = records_of(path)
    assert (first.record_no, first.line_no) == (1, 2)
    assert (second.record_no, second.line_no) == (2, 3)
    assert first.raw == CSV_ROWS[0]
    assert second.raw == CSV_ROWS[1]
    assert first.error is None and second.error is None
    assert first.data == {
        "kind": "petition",
        "court": "Vredegerecht Schaarbeek",
        "docket_number": "26A1234",
        "received_on": "02/11/2026",
        "filed_on": "27/10/2026",
        "hearing_at": "10/12/2026 09:30",
        "tenant": {"first_name": "Amina", "last_name": "El Idrissi", "language": "fr"},
        "dwelling": {"street": "Rue Josaphat", "number": "112", "postcode": "1030",
                     "municipality": "Schaerbeek"},
        "landlord": {"name": "Immo Josaphat SRL", "kind": "private"},
        "arrears_eur": "2.900,50",
    }


def test_accented_names_in_a_windows_1252_csv_are_decoded(tmp_path):
    path = write_excel_csv(tmp_path / "export.csv", [CSV_HEADER, *CSV_ROWS])
    second = records_of(path)[1]
    assert second.data["tenant"] == {"first_name": "Hélène", "last_name": "Dupré",
                                     "language": "fr"}
    assert second.data["dwelling"]["street"] == "Rue du Trône"


def test_empty_csv_cells_are_left_out_of_the_notice(tmp_path):
    path = write_excel_csv(tmp_path / "export.csv", [CSV_HEADER, *CSV_ROWS])
    second = records_of(path)[1]
    assert "filed_on" not in second.data
    assert "landlord" not in second.data


def test_a_utf8_csv_with_a_byte_order_mark_and_commas_is_read(tmp_path):
    lines = ["kind,court,docket_number,tenant_last_name",
             "petition,Vredegerecht Sint-Gillis,26A9,Dupré"]
    path = tmp_path / "utf8.csv"
    path.write_bytes("\n".join(lines).encode("utf-8-sig") + b"\n")
    assert inspect_file(path).encoding == "utf-8-sig"
    (record,) = records_of(path)
    assert record.data == {"kind": "petition", "court": "Vredegerecht Sint-Gillis",
                           "docket_number": "26A9", "tenant": {"last_name": "Dupré"}}
    assert record.raw == lines[1]


def test_header_names_are_read_whatever_their_case_and_padding(tmp_path):
    path = write_excel_csv(tmp_path / "caps.csv", ["Kind ; Tenant_Last_Name", "petition;Peeters"])
    (record,) = records_of(path)
    assert record.data == {"kind": "petition", "tenant": {"last_name": "Peeters"}}


def test_a_quoted_cell_with_a_newline_keeps_its_raw_text_and_the_next_line_number(tmp_path):
    lines = [
        "kind;docket_number;note",
        'petition;26A1;"first line',
        'second line"',
        "judgment;26A2;plain",
    ]
    path = write_excel_csv(tmp_path / "multiline.csv", lines)
    first, second = records_of(path)
    assert (first.record_no, first.line_no) == (1, 2)
    assert first.raw == 'petition;26A1;"first line\r\nsecond line"'
    assert first.data["note"] == "first line\r\nsecond line"
    assert (second.record_no, second.line_no) == (2, 4)
    assert second.raw == "judgment;26A2;plain"


def rows(count, start=0):
    return [f"petition;26A{n};Vredegerecht Elsene" for n in range(start, start + count)]


def test_a_quote_never_closed_is_one_bad_record_and_the_rows_after_it_are_read(tmp_path):
    """A stray quote used to swallow the rest of the file: one huge record, then one
    quarantined record per line. Its line is now the bad record, the others are read."""
    lines = ["kind;docket_number;court", *rows(3), 'petition;"26X;Vredegerecht Elsene',
             *rows(300, start=3)]
    records = records_of(write_excel_csv(tmp_path / "stray.csv", lines))
    assert len(records) == 304
    (bad,) = [r for r in records if r.error]
    assert (bad.record_no, bad.line_no, bad.raw) == (4, 5, 'petition;"26X;Vredegerecht Elsene')
    assert "never closed" in bad.error
    after = records[4]
    assert (after.record_no, after.line_no, after.raw) == (5, 6, lines[5])
    assert after.data["docket_number"] == "26A3"
    assert [r.line_no for r in records] == list(range(2, 306))


@pytest.mark.parametrize("tail", [0, 10])
def test_a_quote_closed_rows_later_or_at_the_end_gives_back_the_rows_it_swallowed(
        tmp_path, tail):
    lines = ["kind;docket_number;court", 'petition;"26X;Vredegerecht Elsene', *rows(5),
             *(['judgment;26B1;"Vredegerecht" Elsene'] if tail else []), *rows(tail, 10)]
    records = records_of(write_excel_csv(tmp_path / "stray.csv", lines))
    assert [r.raw for r in records] == lines[1:]
    assert [bool(r.error) for r in records] == [True] + [False] * (len(lines) - 2)


def test_a_row_with_too_many_cells_is_an_error_naming_both_counts(tmp_path):
    lines = ["kind;docket_number;court", "petition;26A1;Vredegerecht Elsene;extra",
             "judgment;26A2;Vredegerecht Elsene"]
    path = write_excel_csv(tmp_path / "ragged.csv", lines)
    bad, good = records_of(path)
    assert bad.data is None
    assert bad.error == "the row has 4 cells, the header has 3"
    assert bad.raw == lines[1]
    assert (bad.record_no, bad.line_no) == (1, 2)
    assert good.error is None and good.data["docket_number"] == "26A2"


def test_a_blank_csv_row_gives_no_record_and_keeps_the_line_numbers_right(tmp_path):
    lines = ["kind;docket_number", "petition;26A1", ";", "judgment;26A2"]
    path = write_excel_csv(tmp_path / "gap.csv", lines)
    first, last = records_of(path)
    assert first.line_no == 2
    assert (last.line_no, last.raw) == (4, "judgment;26A2")


@pytest.mark.parametrize("content", [b"", b"\r\n"])
def test_a_csv_without_a_header_has_no_records(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    assert records_of(path) == []


def test_unflatten_nests_the_tenant_dwelling_and_landlord_columns():
    row = {"kind": "petition", "tenant_last_name": "Peeters", "tenant_phone": "",
           "dwelling_postcode": "1000", "landlord_kind": "public", "custom_ref": "X1"}
    assert unflatten(row) == {
        "kind": "petition",
        "tenant": {"last_name": "Peeters"},
        "dwelling": {"postcode": "1000"},
        "landlord": {"kind": "public"},
        "custom_ref": "X1",
    }


def test_unflatten_of_an_all_blank_row_is_empty():
    assert unflatten({"kind": " ", "tenant_last_name": ""}) == {}


# --- inspect_file ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["notices.xlsx", "notices.txt", "notices"])
def test_a_file_of_an_unknown_type_is_unreadable_and_named(tmp_path, name):
    path = tmp_path / name
    path.write_text("kind\npetition\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="unknown file type") as refused:
        inspect_file(path)
    assert str(path) in str(refused.value)


def test_a_missing_file_is_unreadable_and_named(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(UnreadableFile) as refused:
        inspect_file(path)
    assert str(path) in str(refused.value)


def test_the_suffix_is_recognised_whatever_its_case(tmp_path):
    path = tmp_path / "NOTICES.CSV"
    path.write_bytes(b"kind\r\npetition\r\n")
    assert [r.data for r in records_of(path)] == [{"kind": "petition"}]


def test_the_digest_is_the_sha256_of_the_bytes_and_is_stable(tmp_path):
    path = write_excel_csv(tmp_path / "export.csv", [CSV_HEADER, *CSV_ROWS])
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert inspect_file(path).sha256 == expected
    assert inspect_file(path).sha256 == expected


def test_files_with_different_bytes_have_different_digests(tmp_path):
    one = write_excel_csv(tmp_path / "one.csv", [CSV_HEADER, CSV_ROWS[0]])
    two = write_excel_csv(tmp_path / "two.csv", [CSV_HEADER, CSV_ROWS[1]])
    assert inspect_file(one).sha256 != inspect_file(two).sha256


def test_the_source_is_named_by_its_path(tmp_path):
    path = write_excel_csv(tmp_path / "export.csv", [CSV_HEADER])
    source = inspect_file(path)
    assert source.name == str(path)
    assert source.path == path


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        ("Dupré;Trône".encode("cp1252"), "cp1252"),
        ("Dupré;Trône".encode(), "utf-8-sig"),
        ("Dupré;Trône".encode("utf-8-sig"), "utf-8-sig"),
        (b"plain ascii", "utf-8-sig"),
    ],
)
def test_the_encoding_is_utf8_when_the_bytes_decode_as_utf8_and_windows_1252_otherwise(
    tmp_path, content, encoding
):
    path = tmp_path / "names.csv"
    path.write_bytes(content)
    assert inspect_file(path).encoding == encoding


def test_a_utf8_character_split_across_read_blocks_is_still_utf8(tmp_path):
    path = tmp_path / "big.csv"
    # 1 MiB - 1 ASCII bytes, then "é" (two bytes) straddles the first block boundary
    path.write_bytes(b"a" * ((1 << 20) - 1) + "é\n".encode())
    assert inspect_file(path).encoding == "utf-8-sig"


# --- formerly known bugs, now fixed ---


def test_text_after_the_closing_bracket_of_a_json_array_is_not_silently_dropped(tmp_path):
    path = tmp_path / "two_arrays.json"
    path.write_text('[{"kind": "petition"}]\n[{"kind": "judgment"}]\n', encoding="utf-8")
    records = records_of(path)
    assert any('"judgment"' in r.raw and r.error for r in records)


def test_a_file_that_is_neither_utf8_nor_windows_1252_is_unreadable_and_named(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"kind;court\r\npetition;A\x81\r\n")
    with pytest.raises(UnreadableFile) as refused:
        records_of(path)
    assert str(path) in str(refused.value)
