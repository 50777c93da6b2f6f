"""The `stats` document (CONTRACT.md) as a terminal table, CSV, an Excel workbook and charts.

Every function here reads the document that `domain.statistics.statistics` returns and writes
nothing else: the document holds counts, rates and intervals only, already suppressed (a count
below k is the string ``"<k"``) and withheld (a rate whose denominator is below k is ``None``),
so no output can carry personal data or undo a suppression.

openpyxl and matplotlib are imported inside the functions that need them so that the command
line starts fast. Charts use matplotlib's Agg canvas on a bare ``Figure`` (never pyplot, so no
global state) and are byte-stable: fixed size, dpi 150, fixed ``svg.hashsalt``, no dates.
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from services.spreadsheet import csv_text, text_cells_only

WITHHELD = "—"

# The flat fields of a group, in the order of the CONTRACT.
COUNT_FIELDS = (
    "cases",
    "pending",
    "with_contact",
    "without_contact",
    "solved_with_contact",
    "solved_without_contact",
)
FUNNEL_STAGES = (
    ("cases", "Cases"),
    ("contact_attempted", "Contact attempted"),
    ("effective_contact", "Effective contact"),
    ("solved", "Solved"),
)
GROUPING_LABELS = {
    "ocmw": "OCMW",
    "commune": "Commune",
    "quarter": "Quarter",
    "month": "Month",
    None: "All",
}


# --------------------------------------------------------------------------- helpers


def is_suppressed(value: Any) -> bool:
    """A suppressed count is a string such as ``"<5"``."""
    return isinstance(value, str)


def _grouping_label(by: str | None) -> str:
    if by in GROUPING_LABELS:
        return GROUPING_LABELS[by]
    return str(by).replace("_", " ").title()


def _rows(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The groups, then the total."""
    rows = list(document.get("groups") or [])
    total = document.get("total")
    if total is not None:
        rows.append(total)
    return rows


def _is_total(row: Mapping[str, Any]) -> bool:
    return row.get("key") == "total"


def _min_cell(document: Mapping[str, Any]) -> int:
    return int(document.get("min_cell") or 5)


def period_text(document: Mapping[str, Any]) -> str:
    """'cases received 2026-01-01 to 2026-03-31' (or 'from …', 'until …', 'all dates')."""
    start, end = document.get("from"), document.get("to")
    if start and end:
        return f"cases received {start} to {end}"
    if start:
        return f"cases received from {start}"
    if end:
        return f"cases received until {end}"
    return "cases received at any date"


def _percent(value: float) -> int:
    """Half up, not Python's banker's rounding: 0.545 → 55."""
    return math.floor(value * 100 + 0.5)


def _interval(ci: Sequence[float] | None) -> tuple[float | None, float | None]:
    if not ci:
        return None, None
    lo, hi = ci
    return lo, hi


def _number_text(value: Any) -> str:
    """A count, a suppressed count or a median for the terminal."""
    if value is None:
        return WITHHELD
    if isinstance(value, float):
        return f"{value:.1f}" if not value.is_integer() else str(int(value))
    return str(value)


def _rate_text(rate: float | None, ci: Sequence[float] | None) -> str:
    if rate is None:
        return WITHHELD
    text = f"{_percent(rate)} %"
    lo, hi = _interval(ci)
    if lo is not None and hi is not None:
        text += f" [{_percent(lo)}–{_percent(hi)}]"
    return text


# --------------------------------------------------------------------------- table

_TABLE_COLUMNS = (
    # header, how to render a group
    ("cases", lambda g: _number_text(g.get("cases"))),
    ("pending", lambda g: _number_text(g.get("pending"))),
    ("with contact", lambda g: _number_text(g.get("with_contact"))),
    ("solved with", lambda g: _number_text(g.get("solved_with_contact"))),
    ("rate with", lambda g: _rate_text(g.get("rate_with_contact"), g.get("ci_with_contact"))),
    ("without contact", lambda g: _number_text(g.get("without_contact"))),
    ("solved without", lambda g: _number_text(g.get("solved_without_contact"))),
    (
        "rate without",
        lambda g: _rate_text(g.get("rate_without_contact"), g.get("ci_without_contact")),
    ),
    ("home visits", lambda g: _number_text(g.get("home_visits"))),
    ("median days", lambda g: _number_text(g.get("median_days_to_contact"))),
)


def render_table(document: Mapping[str, Any]) -> str:
    """The document as an aligned monospace table: one row per group, a rule, the total, and a
    footer that explains ``<k`` and ``—`` and names the period."""
    by = document.get("by")
    k = _min_cell(document)
    header = [_grouping_label(by) if by else "group"] + [h for h, _ in _TABLE_COLUMNS]
    body: list[list[str]] = []
    for row in _rows(document):
        key = "Total" if _is_total(row) else str(row.get("key"))
        body.append([key] + [render(row) for _, render in _TABLE_COLUMNS])

    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("─" * width for width in widths)
    out = [line(header), rule]
    rows = _rows(document)
    for row, cells in zip(rows, body, strict=True):
        if _is_total(row) and len(rows) > 1:
            out.append(rule)
        out.append(line(cells))
    out.append("")
    out.append(
        f'"<{k}": fewer than {k} cases, suppressed · "x": hidden too, so that a small count '
        f'cannot be worked out from the others · "{WITHHELD}": rate withheld (fewer than '
        f"{k} cases with a final outcome) or no value · rate: share solved, "
        "[95 % Wilson interval] · median days: working days from receipt to first effective "
        f"contact · period: {period_text(document)}"
    )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- CSV

CSV_COLUMNS = (
    "key",
    "cases",
    "pending",
    "with_contact",
    "without_contact",
    "solved_with_contact",
    "solved_without_contact",
    "rate_with_contact",
    "ci_with_contact_lo",
    "ci_with_contact_hi",
    "rate_without_contact",
    "ci_without_contact_lo",
    "ci_without_contact_hi",
    "home_visits",
    "median_days_to_contact",
    "funnel_contact_attempted",
    "funnel_effective_contact",
    "funnel_solved",
)


def _decimal_comma(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return _decimal_comma(value)
    if isinstance(value, str):
        return csv_text(value)  # a commune or programme received from outside
    return str(value)


def flat_row(group: Mapping[str, Any]) -> dict[str, Any]:
    """A group's flat fields, the intervals split into lo/hi and the funnel flattened."""
    row: dict[str, Any] = {"key": group.get("key")}
    for name in COUNT_FIELDS:
        row[name] = group.get(name)
    for side in ("with_contact", "without_contact"):
        row[f"rate_{side}"] = group.get(f"rate_{side}")
        lo, hi = _interval(group.get(f"ci_{side}"))
        row[f"ci_{side}_lo"], row[f"ci_{side}_hi"] = lo, hi
    row["home_visits"] = group.get("home_visits")
    row["median_days_to_contact"] = group.get("median_days_to_contact")
    funnel = group.get("funnel") or {}
    for stage in ("contact_attempted", "effective_contact", "solved"):
        row[f"funnel_{stage}"] = funnel.get(stage)
    return row


def write_csv(document: Mapping[str, Any], path: str | Path) -> Path:
    """One row per group and one for the total (key ``total``), the flat fields as columns.

    Written for Excel as Belgium sets it up, so that a double click opens it in columns:
    UTF-8 with a byte-order mark (otherwise Excel reads Windows-1252 and breaks "—" and
    accents), ``;`` as separator (the list separator of the nl-BE and fr-BE locales) and a
    decimal comma in rates, intervals and medians (``0,54``), which that locale reads as a
    number. A suppressed count stays the text ``<5``; a withheld rate or interval is an empty
    cell. Referrals are not in the CSV (they are a list per group): see the workbook.
    """
    path = Path(path)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for group in _rows(document):
            row = flat_row(group)
            writer.writerow([_csv_cell(row[name]) for name in CSV_COLUMNS])
    return path


# --------------------------------------------------------------------------- XLSX

# (field, header, kind) — kind: "key", "count", "rate", "days"
_SHEET_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("key", "", "key"),
    ("cases", "Cases", "count"),
    ("pending", "Pending", "count"),
    ("with_contact", "With effective contact", "count"),
    ("without_contact", "Without effective contact", "count"),
    ("solved_with_contact", "Solved with contact", "count"),
    ("solved_without_contact", "Solved without contact", "count"),
    ("rate_with_contact", "Rate with contact", "rate"),
    ("ci_with_contact_lo", "95 % CI low (with)", "rate"),
    ("ci_with_contact_hi", "95 % CI high (with)", "rate"),
    ("rate_without_contact", "Rate without contact", "rate"),
    ("ci_without_contact_lo", "95 % CI low (without)", "rate"),
    ("ci_without_contact_hi", "95 % CI high (without)", "rate"),
    ("home_visits", "Home visits", "count"),
    ("median_days_to_contact", "Median working days to contact", "days"),
    ("funnel_contact_attempted", "Contact attempted", "count"),
    ("funnel_effective_contact", "Effective contact", "count"),
    ("funnel_solved", "Solved", "count"),
)
_PERCENT_FORMAT = "0.0%"
_DAYS_FORMAT = "0.0"
_HEADER_FILL = "DDEBF7"
_INVALID_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def _sheet_title(name: str, taken: set[str]) -> str:
    base = name.translate(_INVALID_SHEET_CHARS).strip()[:31] or "Sheet"
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _style_header(sheet: Any, columns: int) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    fill = PatternFill("solid", start_color=_HEADER_FILL, end_color=_HEADER_FILL)
    bottom = Border(bottom=Side(style="thin"))
    for cell in sheet[1][:columns]:
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.border = bottom
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    sheet.freeze_panes = "A2"


def _set_widths(sheet: Any, widths: Iterable[int]) -> None:
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _write_value(cell: Any, value: Any, kind: str) -> None:
    from openpyxl.styles import Alignment

    if kind == "key":
        cell.value = "Total" if value == "total" else value
        return
    if value is None:
        cell.value = WITHHELD
        cell.alignment = Alignment(horizontal="right")
    elif is_suppressed(value):
        cell.value = str(value)
        cell.data_type = "s"
        cell.alignment = Alignment(horizontal="right")
    else:
        cell.value = value
        if kind == "rate":
            cell.number_format = _PERCENT_FORMAT
        elif kind == "days":
            cell.number_format = _DAYS_FORMAT


def _group_sheet(sheet: Any, document: Mapping[str, Any], label: str) -> None:
    from openpyxl.styles import Border, Font, Side

    headers = [label if kind == "key" else header for _, header, kind in _SHEET_COLUMNS]
    sheet.append(headers)
    _style_header(sheet, len(headers))
    widths = [max(10, len(label) + 2)] + [
        max(10, min(16, len(header) // 2 + 4)) for header in headers[1:]
    ]
    bold = Font(bold=True)
    top = Border(top=Side(style="thin"))
    for row_index, group in enumerate(_rows(document), start=2):
        flat = flat_row(group)
        for col_index, (name, _, kind) in enumerate(_SHEET_COLUMNS, start=1):
            cell = sheet.cell(row=row_index, column=col_index)
            _write_value(cell, flat[name], kind)
            if kind == "key":
                widths[0] = max(widths[0], len(str(cell.value)) + 2)
            if _is_total(group):
                cell.font = bold
                cell.border = top
    sheet.row_dimensions[1].height = 45
    _set_widths(sheet, widths)


def _referrals_sheet(sheet: Any, documents: Mapping[str, Mapping[str, Any]]) -> None:
    from openpyxl.styles import Font

    headers = ["Grouping", "Group", "Programme", "Status", "Referrals"]
    sheet.append(headers)
    _style_header(sheet, len(headers))
    bold = Font(bold=True)
    for name, document in documents.items():
        label = _grouping_label(document.get("by", name))
        for group in _rows(document):
            for referral in group.get("referrals") or []:
                key = "Total" if _is_total(group) else group.get("key")
                sheet.append([label, key, referral.get("programme"), referral.get("status")])
                row = sheet.max_row
                _write_value(sheet.cell(row=row, column=5), referral.get("referrals"), "count")
                if _is_total(group):
                    for cell in sheet[row]:
                        cell.font = bold
    _set_widths(sheet, [12, 12, 32, 12, 12])


def _definitions_sheet(sheet: Any, documents: Mapping[str, Mapping[str, Any]]) -> None:
    from openpyxl.styles import Alignment, Font

    headers = ["Field", "Definition"]
    sheet.append(headers)
    _style_header(sheet, len(headers))
    definitions: dict[str, str] = {}
    for document in documents.values():
        for field, text in (document.get("definitions") or {}).items():
            definitions.setdefault(field, text)
    for field, text in definitions.items():
        sheet.append([field, text])
    sheet.append([])

    bold = Font(bold=True)
    first = next(iter(documents.values()), {})
    periods = {_grouping_label(d.get("by", n)): period_text(d) for n, d in documents.items()}
    cells = {_min_cell(d) for d in documents.values()} or {5}
    k = min(cells)
    notes: list[tuple[str, str]] = []
    if len(set(periods.values())) <= 1:
        notes.append(("Period", period_text(first).capitalize()))
    else:
        notes += [(f"Period ({label})", text.capitalize()) for label, text in periods.items()]
    notes.append(("Minimum cell size (k)", ", ".join(str(c) for c in sorted(cells))))
    notes.append(
        (
            "Suppression rule",
            f"A count below {k} is shown as the text <{k}; a rate or interval whose "
            f"denominator is below {k} is withheld and shown as {WITHHELD}. Further counts "
            f"are hidden as x (each at least {k}) so that no suppressed cell can be worked out "
            "from totals or from the other groups.",
        )
    )
    notes.append(("Intervals", "95 % Wilson score interval of each rate (low and high)."))
    notes.append(
        (
            "Personal data",
            "This file contains no personal data: aggregated counts, rates and intervals "
            "only — no name, address, docket number or date of birth.",
        )
    )
    for label, text in notes:
        sheet.append([label, text])
        sheet.cell(row=sheet.max_row, column=1).font = bold
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    _set_widths(sheet, [28, 100])


def write_xlsx(documents_by_grouping: Mapping[str, Mapping[str, Any]], path: str | Path) -> Path:
    """An Excel workbook: one sheet per grouping (named from its ``by``: OCMW, Commune, Quarter,
    Month), a Referrals sheet and a Definitions sheet (fields, period, k, suppression rule and
    a statement that the file holds no personal data).

    Rates and intervals are numbers with a percentage format; a suppressed count is the text
    ``<5`` aligned right; a withheld value is ``—``; the total is the last row, in bold.
    """
    from openpyxl import Workbook

    path = Path(path)
    workbook = Workbook()
    workbook.remove(workbook.active)
    taken: set[str] = set()
    for name, document in documents_by_grouping.items():
        label = _grouping_label(document.get("by", name))
        _group_sheet(workbook.create_sheet(_sheet_title(label, taken)), document, label)
    _referrals_sheet(workbook.create_sheet(_sheet_title("Referrals", taken)), documents_by_grouping)
    _definitions_sheet(
        workbook.create_sheet(_sheet_title("Definitions", taken)), documents_by_grouping
    )
    workbook.properties.creator = "Domus"
    text_cells_only(workbook).save(path)
    return path


# --------------------------------------------------------------------------- charts

_RC = {
    "svg.hashsalt": "domus-stats",
    "svg.fonttype": "none",
    # labels are data (a commune as received): "$…$" is text, not mathtext to parse (a
    # postcode "$\\frac{$" made every chart of its group a ValueError, the page's a 500)
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_FIGSIZE = (10.0, 5.5)
_DPI = 150
_WITH_COLOUR = "#1b6ca8"
_WITHOUT_COLOUR = "#e08a2c"


def _figure() -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=_FIGSIZE, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, folder: Path, stem: str) -> list[Path]:
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    figure.savefig(png, format="png", dpi=_DPI, metadata={"Software": None})
    figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return [png, svg]


def _chart_label(row: Mapping[str, Any]) -> str:
    return "Total" if _is_total(row) else str(row.get("key"))


def _rate_chart(document: Mapping[str, Any], folder: Path) -> list[Path]:
    by = document.get("by")
    stem = f"solution_rate_by_{by}" if by else "solution_rate"
    return _save(_rate_figure(document), folder, stem)


def _rate_figure(document: Mapping[str, Any]) -> Any:
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    by = document.get("by")
    k = _min_cell(document)
    rows = _rows(document)
    figure = _figure()
    axes = figure.add_subplot()
    width = 0.38
    withheld = False
    series = (
        ("with_contact", -width / 2, _WITH_COLOUR, "With effective contact"),
        ("without_contact", width / 2, _WITHOUT_COLOUR, "Without effective contact"),
    )
    for side, offset, colour, _ in series:
        xs, heights, below, above = [], [], [], []
        for index, row in enumerate(rows):
            rate = row.get(f"rate_{side}")
            if rate is None:
                withheld = True
                axes.text(
                    index + offset,
                    0.01,
                    WITHHELD,
                    ha="center",
                    va="bottom",
                    color=colour,
                    fontsize=14,
                )
                continue
            xs.append(index + offset)
            heights.append(rate)
            lo, hi = _interval(row.get(f"ci_{side}"))
            below.append(max(0.0, rate - lo) if lo is not None else 0.0)
            above.append(max(0.0, hi - rate) if hi is not None else 0.0)
        if xs:
            axes.bar(xs, heights, width, color=colour)
            axes.errorbar(
                xs, heights, yerr=[below, above], fmt="none", ecolor="#333333", capsize=3, lw=1
            )
    axes.set_xticks(range(len(rows)), [_chart_label(r) for r in rows])
    if len(rows) > 8:
        for tick in axes.get_xticklabels():
            tick.set_rotation(45)
            tick.set_horizontalalignment("right")
    axes.set_xlim(-0.6, max(len(rows), 1) - 0.4)
    axes.set_ylim(0, 1.05)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_ylabel("Cases with a solution (share of cases with a final outcome)")
    axes.set_xlabel(_grouping_label(by) if by else "")
    axes.legend(
        handles=[Patch(color=colour, label=label) for _, _, colour, label in series],
        loc="upper right",
        frameon=False,
    )
    figure.suptitle(
        f"Solution rate with and without effective contact, by {_grouping_label(by)}",
        fontweight="bold",
    )
    axes.set_title(period_text(document).capitalize(), fontsize=9)
    note = "Error bars: 95 % Wilson interval."
    if withheld:
        note += f" {WITHHELD}: rate withheld, fewer than {k} cases with a final outcome."
    figure.supxlabel(note, fontsize=8, color="#555555")
    return figure


def _funnel_chart(document: Mapping[str, Any], folder: Path) -> list[Path]:
    return _save(_funnel_figure(document), folder, "funnel")


def _funnel_figure(document: Mapping[str, Any]) -> Any:
    total = document.get("total") or {}
    funnel = total.get("funnel") or {}
    k = _min_cell(document)
    figure = _figure()
    axes = figure.add_subplot()
    values = [funnel.get(stage) for stage, _ in FUNNEL_STAGES]
    drawn = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    longest = max(drawn, default=0) or 1
    suppressed = False
    for index, value in enumerate(values):
        if value is None or is_suppressed(value):
            suppressed = suppressed or is_suppressed(value)
            label = str(value) if value is not None else WITHHELD
            axes.text(longest * 0.01, index, label, va="center", ha="left", fontweight="bold")
            continue
        axes.barh(index, value, color=_WITH_COLOUR, height=0.6)
        axes.text(value + longest * 0.01, index, str(value), va="center", ha="left")
    axes.set_yticks(range(len(FUNNEL_STAGES)), [label for _, label in FUNNEL_STAGES])
    axes.set_ylim(len(FUNNEL_STAGES) - 0.5, -0.5)
    axes.set_xlim(0, longest * 1.12)
    axes.set_xlabel("Cases")
    figure.suptitle(
        "From notice to solution: cases, contact attempted, effective contact, solved",
        fontweight="bold",
    )
    axes.set_title(f"All groups — {period_text(document)}", fontsize=9)
    if suppressed:
        figure.supxlabel(
            f"<{k}: fewer than {k} cases, suppressed and not drawn.", fontsize=8, color="#555555"
        )
    return figure


def write_charts(document: Mapping[str, Any], folder: str | Path) -> list[Path]:
    """PNG and SVG of (1) the solution rate with and without effective contact per group and
    for the total, with 95 % interval error bars (``solution_rate_by_<by>``), and (2) the
    funnel of the total (``funnel``; skipped when the total has no funnel)."""
    import matplotlib

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(_RC):
        paths = _rate_chart(document, folder)
        if (document.get("total") or {}).get("funnel"):
            paths += _funnel_chart(document, folder)
    return paths


_CHART_LOCK = threading.Lock()  # rc_context changes matplotlib's global settings


def chart_svg(document: Mapping[str, Any], chart: str = "rate") -> bytes:
    """One chart of `write_charts` as SVG bytes, nothing written to disk (the web app serves
    it): ``"rate"``, the solution rate per group, or ``"funnel"``, the total's funnel."""
    import matplotlib

    draw = {"rate": _rate_figure, "funnel": _funnel_figure}[chart]
    buffer = io.BytesIO()
    with _CHART_LOCK, matplotlib.rc_context(_RC):
        draw(document).savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def write_trend_chart(monthly_document: Mapping[str, Any], folder: str | Path) -> list[Path]:
    """PNG and SVG of the monthly solution rate with and without effective contact
    (``trend_by_month``): one line each, a shaded 95 % interval, gaps where withheld."""
    import matplotlib

    if monthly_document.get("by") != "month":
        raise ValueError(
            f"the trend chart needs a by='month' document, not {monthly_document.get('by')!r}"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    groups = list(monthly_document.get("groups") or [])
    k = _min_cell(monthly_document)
    nan = float("nan")
    with matplotlib.rc_context(_RC):
        from matplotlib.ticker import PercentFormatter

        figure = _figure()
        axes = figure.add_subplot()
        xs = list(range(len(groups)))
        withheld = False
        for side, colour, label in (
            ("with_contact", _WITH_COLOUR, "With effective contact"),
            ("without_contact", _WITHOUT_COLOUR, "Without effective contact"),
        ):
            rates = [g.get(f"rate_{side}") for g in groups]
            withheld = withheld or any(r is None for r in rates)
            ys = [nan if r is None else r for r in rates]
            axes.plot(xs, ys, marker="o", color=colour, label=label, lw=1.8)
            los, his, present = [], [], []
            for group, rate in zip(groups, rates, strict=True):
                lo, hi = _interval(group.get(f"ci_{side}"))
                ok = rate is not None and lo is not None and hi is not None
                present.append(ok)
                los.append(lo if ok else 0.0)
                his.append(hi if ok else 0.0)
            if any(present):
                axes.fill_between(
                    xs, los, his, where=present, color=colour, alpha=0.15, lw=0, step=None
                )
        axes.set_xticks(xs, [str(g.get("key")) for g in groups])
        if len(groups) > 12:
            for tick in axes.get_xticklabels():
                tick.set_rotation(45)
                tick.set_horizontalalignment("right")
        if groups:
            axes.set_xlim(-0.5, len(groups) - 0.5)
        axes.set_ylim(0, 1.05)
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        axes.set_xlabel("Month the first notice was received")
        axes.set_ylabel("Cases with a solution (share of cases with a final outcome)")
        axes.legend(loc="upper right", frameon=False)
        figure.suptitle(
            "Solution rate with and without effective contact, by month", fontweight="bold"
        )
        axes.set_title(period_text(monthly_document).capitalize(), fontsize=9)
        note = "Shaded: 95 % Wilson interval."
        if withheld:
            note += f" Gaps: rate withheld, fewer than {k} cases with a final outcome."
        figure.supxlabel(note, fontsize=8, color="#555555")
        return _save(figure, folder, "trend_by_month")
