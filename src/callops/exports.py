"""Tables as an Excel workbook or CSV in memory: what the console downloads and the API and CLI export."""

from __future__ import annotations

import csv
import io
import zoneinfo
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection"); a name such as
# ``=HYPERLINK(...)`` must stay text in every export (issue 21).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV value that no spreadsheet runs: text starting with ``= + - @`` (or tab/CR) gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def text_formulas(workbook: Any) -> Any:
    """Mark every cell openpyxl took for a formula (text starting with ``=``) as plain text; returns the book.

    For ordinary workbooks, called just before saving; write-only ones use :func:`xlsx_row` instead.
    """
    for ws in workbook.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    c.data_type = "s"
    return workbook


def xlsx_row(ws: Any, values: Sequence[Any]) -> list[Any]:
    """Values for ``ws.append`` of a write-only sheet, with formula-like text written as text cells."""
    from openpyxl.cell import WriteOnlyCell

    out: list[Any] = []
    for v in values:
        if isinstance(v, str) and v.startswith("="):
            cell = WriteOnlyCell(ws, value=v)
            cell.data_type = "s"
            out.append(cell)
        else:
            out.append(v)
    return out


def local_cell(value: Any, zone: str | None = None) -> Any:
    """A cell value people read: an aware instant as naive wall-clock time in ``zone``, NaN as empty (None).

    Excel has no zones, so an aware datetime becomes the tenant's wall clock when ``zone`` is given (its own
    wall clock otherwise); naive datetimes are taken as already local (query periods are computed in the zone).
    """
    if isinstance(value, datetime) and value.tzinfo is not None:
        if zone:
            value = value.astimezone(zoneinfo.ZoneInfo(zone))
        return value.replace(tzinfo=None)
    if isinstance(value, float) and value != value:
        return None
    return value


def zone_headers(headers: Sequence[str], rows: Sequence[Sequence[Any]], zone: str | None) -> list[str]:
    """Headers with the zone named on every column holding a time, e.g. ``start (Asia/Shanghai)``."""
    if not zone:
        return list(headers)
    timed = {i for row in rows for i, v in enumerate(row) if isinstance(v, datetime)}
    return [f"{h} ({zone})" if i in timed else h for i, h in enumerate(headers)]


def table_headers(table: Any, zone: str | None) -> list[str]:
    """Column names of an Arrow ``table`` with the zone named on every time column (timestamps: instants, or local
    period starts computed in the zone), e.g. ``period (Asia/Shanghai)``; dates and other columns unchanged.

    Exports convert their cells to text first (so :func:`zone_headers` no longer sees the times): this reads the
    table's types instead."""
    import pyarrow as pa

    if not zone:
        return list(table.column_names)
    return [f"{f.name} ({zone})" if pa.types.is_timestamp(f.type) else f.name for f in table.schema]


def workbook_bytes(
    sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]], zone: str | None = None
) -> bytes:
    """An .xlsx with one sheet per ``(title, headers, rows)``, bold header row, frozen below it.

    With ``zone`` (the tenant's), times are written as wall-clock time there and their headers name the zone.
    """
    from openpyxl import Workbook  # imported here: the CLI and API import this module at start-up
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        ws = wb.create_sheet(title[:31] or "Sheet")
        ws.append(zone_headers(headers, rows, zone))
        for c in ws[1]:
            c.font = Font(bold=True)
        for row in rows:
            ws.append([local_cell(v, zone) for v in row])
        ws.freeze_panes = "A2"
        for i, h in enumerate(headers, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(40, len(str(h)) + 4))
    buf = io.BytesIO()
    text_formulas(wb).save(buf)
    return buf.getvalue()


def csv_bytes(headers: Sequence[str], rows: Sequence[Sequence[Any]], zone: str | None = None) -> bytes:
    """UTF-8 CSV with a BOM (so Excel opens Chinese labels correctly); times as in :func:`workbook_bytes`."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([csv_cell(h) for h in zone_headers(headers, rows, zone)])
    for row in rows:
        cells = [local_cell(v, zone) for v in row]
        w.writerow(["" if v is None else v.isoformat() if isinstance(v, date | datetime) else csv_cell(v)
                    for v in cells])  # fmt: skip
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
