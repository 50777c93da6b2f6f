"""The stats document as table, CSV, workbook and charts (services/stats_output.py)."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from services.stats_output import (
    CSV_COLUMNS,
    WITHHELD,
    flat_row,
    render_table,
    write_charts,
    write_csv,
    write_trend_chart,
    write_xlsx,
)

DEFINITIONS = {
    "cases": "Cases whose first notice was received in the period.",
    "pending": "Cases without a final outcome yet.",
    "rate_with_contact": "Solved with contact / with contact.",
}


def group(key: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": key,
        "cases": 120,
        "pending": 30,
        "with_contact": 50,
        "without_contact": 40,
        "solved_with_contact": 27,
        "solved_without_contact": "<5",
        "rate_with_contact": 0.54,
        "rate_without_contact": None,
        "ci_with_contact": [0.41, 0.67],
        "ci_without_contact": None,
        "home_visits": 33,
        "median_days_to_contact": 6.5,
        "funnel": {"cases": 120, "contact_attempted": 80, "effective_contact": 60, "solved": "<5"},
        "referrals": [
            {"programme": "housing_first_smes", "status": "accepted", "referrals": 6},
            {"programme": "uitweg", "status": "sent", "referrals": "<5"},
        ],
    }
    data.update(changes)
    return data


def document(by: str | None = "ocmw", groups: list[dict[str, Any]] | None = None) -> dict:
    if groups is None:
        groups = [
            group("21015"),
            group(
                "21004",
                cases=17,
                pending="<5",
                rate_without_contact=0.3,
                ci_without_contact=[0.2, 0.42],
                median_days_to_contact=None,
            ),
        ]
    return {
        "from": "2026-01-01",
        "to": "2026-06-30",
        "min_cell": 5,
        "by": by,
        "groups": groups,
        "total": group(
            "total", cases=137, rate_without_contact=0.25, ci_without_contact=[0.15, 0.38]
        ),
        "definitions": DEFINITIONS,
    }


def monthly() -> dict:
    return document(
        "month",
        [
            group("2026-01"),
            group("2026-02", rate_without_contact=0.3, ci_without_contact=[0.2, 0.42]),
            group("2026-03", rate_with_contact=None, ci_with_contact=None),
            group("2026-04", rate_without_contact=0.35, ci_without_contact=[0.25, 0.45]),
        ],
    )


# --------------------------------------------------------------------------- table


def test_table_has_every_group_the_total_and_the_markers() -> None:
    text = render_table(document())
    lines = text.splitlines()
    assert lines[0].split()[0] == "OCMW"
    assert any(line.startswith("21015") for line in lines)
    assert any(line.startswith("21004") for line in lines)
    total = next(line for line in lines if line.startswith("Total"))
    assert "54 % [41–67]" in total and "25 % [15–38]" in total
    row = next(line for line in lines if line.startswith("21015"))
    assert "<5" in row and WITHHELD in row and "6.5" in row
    footer = lines[-1]
    assert '"<5"' in footer and f'"{WITHHELD}"' in footer and "2026-01-01" in footer
    assert "2026-06-30" in footer


def test_table_columns_are_aligned() -> None:
    lines = render_table(document()).splitlines()
    table = [line for line in lines[:6] if line]
    # right-aligned numeric columns end at the same place on every row
    assert len({len(line) for line in table}) == 1


def test_table_without_grouping_and_period() -> None:
    doc = document(None, [])
    doc["from"] = doc["to"] = None
    text = render_table(doc)
    assert "Total" in text and "any date" in text


# --------------------------------------------------------------------------- CSV


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def test_csv_round_trip(tmp_path: Path) -> None:
    path = write_csv(document(), tmp_path / "stats.csv")
    rows = read_csv(path)
    assert [r["key"] for r in rows] == ["21015", "21004", "total"]
    assert list(rows[0]) == list(CSV_COLUMNS)
    first, second, total = rows
    assert first["cases"] == "120" and first["solved_without_contact"] == "<5"
    assert first["rate_with_contact"] == "0,54"
    assert (first["ci_with_contact_lo"], first["ci_with_contact_hi"]) == ("0,41", "0,67")
    assert first["rate_without_contact"] == "" and first["ci_without_contact_lo"] == ""
    assert first["median_days_to_contact"] == "6,5"
    assert second["pending"] == "<5" and second["median_days_to_contact"] == ""
    assert total["rate_without_contact"] == "0,25" and total["cases"] == "137"
    assert total["funnel_solved"] == "<5" and total["funnel_contact_attempted"] == "80"


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def test_csv_contains_only_the_document_values(tmp_path: Path) -> None:
    doc = document()
    rows = read_csv(write_csv(doc, tmp_path / "stats.csv"))
    for row, source in zip(rows, [*doc["groups"], doc["total"]], strict=True):
        expected = {name: _csv_text(value) for name, value in flat_row(source).items()}
        assert row == expected


# --------------------------------------------------------------------------- XLSX


@pytest.fixture
def workbook(tmp_path: Path):
    from openpyxl import load_workbook

    documents = {"ocmw": document("ocmw"), "month": monthly()}
    path = write_xlsx(documents, tmp_path / "stats.xlsx")
    return load_workbook(path)


def header(sheet) -> list[Any]:
    return [cell.value for cell in sheet[1]]


def test_xlsx_sheets_and_header(workbook) -> None:
    assert workbook.sheetnames == ["OCMW", "Month", "Referrals", "Definitions"]
    sheet = workbook["OCMW"]
    names = header(sheet)
    assert names[0] == "OCMW" and "Cases" in names and "Rate with contact" in names
    assert "95 % CI low (with)" in names and "95 % CI high (with)" in names
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet[1][0].fill.fgColor.rgb.endswith("DDEBF7")
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 10


def test_xlsx_values_formats_and_total(workbook) -> None:
    sheet = workbook["OCMW"]
    names = header(sheet)
    col = {name: index for index, name in enumerate(names)}
    rows = list(sheet.iter_rows(min_row=2))
    assert [row[0].value for row in rows] == ["21015", "21004", "Total"]
    first, second, total = rows
    rate = first[col["Rate with contact"]]
    assert rate.value == pytest.approx(0.54) and "%" in rate.number_format
    assert first[col["95 % CI low (with)"]].value == pytest.approx(0.41)
    assert "%" in first[col["95 % CI high (with)"]].number_format
    suppressed = first[col["Solved without contact"]]
    assert suppressed.value == "<5" and suppressed.data_type == "s"
    assert suppressed.alignment.horizontal == "right"
    assert first[col["Rate without contact"]].value == WITHHELD
    assert second[col["Pending"]].value == "<5"
    assert second[col["Median working days to contact"]].value == WITHHELD
    assert first[col["Cases"]].value == 120
    assert all(cell.font.bold for cell in total)
    assert not any(cell.font.bold for cell in first)
    assert total[col["Rate without contact"]].value == pytest.approx(0.25)
    assert sheet.max_row == 4


def test_xlsx_contains_only_the_document_values(workbook) -> None:
    doc = document("ocmw")
    sheet = workbook["OCMW"]
    for row, source in zip(
        sheet.iter_rows(min_row=2, values_only=True), [*doc["groups"], doc["total"]], strict=True
    ):
        flat = flat_row(source)
        expected = [WITHHELD if v is None else v for v in flat.values()]
        expected[0] = "Total" if flat["key"] == "total" else flat["key"]
        assert list(row) == expected


def test_xlsx_referrals_sheet(workbook) -> None:
    sheet = workbook["Referrals"]
    assert header(sheet) == ["Grouping", "Group", "Programme", "Status", "Referrals"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert ("OCMW", "21015", "housing_first_smes", "accepted", 6) in rows
    assert ("OCMW", "Total", "uitweg", "sent", "<5") in rows
    assert ("Month", "2026-03", "uitweg", "sent", "<5") in rows


def test_xlsx_definitions_sheet(workbook) -> None:
    sheet = workbook["Definitions"]
    rows = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    for field, text in DEFINITIONS.items():
        assert rows[field] == text
    assert "2026-01-01" in rows["Period"] and "2026-06-30" in rows["Period"]
    assert rows["Minimum cell size (k)"] == "5"
    assert "<5" in rows["Suppression rule"] and WITHHELD in rows["Suppression rule"]
    assert "no personal data" in rows["Personal data"]


def test_xlsx_single_grouping_without_by(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = write_xlsx({"all": document(None, [])}, tmp_path / "one.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["All", "Referrals", "Definitions"]
    assert [c.value for c in book["All"]["A"]] == ["All", "Total"]


# --------------------------------------------------------------------------- charts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_images(paths: list[Path], stems: list[str]) -> None:
    assert sorted(p.name for p in paths) == sorted(
        f"{stem}.{ext}" for stem in stems for ext in ("png", "svg")
    )
    for path in paths:
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.startswith(PNG_SIGNATURE)
            assert 5_000 < len(data) < 2_000_000
        else:
            root = ET.fromstring(data)
            assert root.tag.endswith("svg")
            assert b"<dc:date>" not in data


def test_charts_are_written(tmp_path: Path) -> None:
    paths = write_charts(document(), tmp_path / "charts")
    check_images(paths, ["solution_rate_by_ocmw", "funnel"])
    funnel = (tmp_path / "charts" / "funnel.svg").read_text()
    assert "&lt;5" in funnel  # the suppressed stage is labelled, not drawn
    rate = (tmp_path / "charts" / "solution_rate_by_ocmw.svg").read_text()
    assert "21015" in rate and "21004" in rate and "2026-01-01" in rate


def test_trend_chart_is_written(tmp_path: Path) -> None:
    paths = write_trend_chart(monthly(), tmp_path)
    check_images(paths, ["trend_by_month"])
    assert "2026-03" in (tmp_path / "trend_by_month.svg").read_text()


def test_trend_chart_needs_a_monthly_document(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="month"):
        write_trend_chart(document("ocmw"), tmp_path)


def test_svg_is_byte_stable(tmp_path: Path) -> None:
    first = write_charts(document(), tmp_path / "a") + write_trend_chart(monthly(), tmp_path / "a")
    second = write_charts(document(), tmp_path / "b") + write_trend_chart(monthly(), tmp_path / "b")
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes(), one.name


def test_charts_with_everything_withheld(tmp_path: Path) -> None:
    empty = group(
        "total",
        rate_with_contact=None,
        ci_with_contact=None,
        funnel={"cases": "<5", "contact_attempted": "<5", "effective_contact": 0, "solved": 0},
    )
    doc = document(None, [])
    doc["total"] = empty
    paths = write_charts(doc, tmp_path)
    check_images(paths, ["solution_rate", "funnel"])
