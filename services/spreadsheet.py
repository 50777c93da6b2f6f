"""Cells that a spreadsheet shows as text, never runs as a formula (CSV/formula injection).

A value received from outside (a commune, a name, a court) may start with `=`, `+`, `-`, `@`,
a tab or a carriage return; Excel and LibreOffice read such a CSV cell as a formula
(`=HYPERLINK("http://evil","x")`), and openpyxl stores a string that starts with `=` as a
formula. Every CSV and XLSX file Domus writes goes through this module (OWASP, "CSV
Injection"): a CSV text cell gets a leading `'`, an XLSX cell is always a string cell.
"""

from __future__ import annotations

from typing import Any

#: the first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text cell for a CSV file: prefixed with `'` when a spreadsheet would run it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def text_cells_only(workbook: Any) -> Any:
    """Turn every formula cell of an openpyxl workbook back into the text it was given
    (Domus writes no formula of its own; a cell that became one came from data)."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    return workbook
