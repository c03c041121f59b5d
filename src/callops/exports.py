"""Tables as an Excel workbook or CSV in memory: what the console downloads and the API and CLI export."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any


def _cell(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no zones; values are already in the tenant's wall clock
    if isinstance(value, float) and value != value:
        return None
    return value


def workbook_bytes(sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]]) -> bytes:
    """An .xlsx with one sheet per ``(title, headers, rows)``, bold header row, frozen below it."""
    from openpyxl import Workbook  # imported here: the CLI and API import this module at start-up
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        ws = wb.create_sheet(title[:31] or "Sheet")
        ws.append(list(headers))
        for c in ws[1]:
            c.font = Font(bold=True)
        for row in rows:
            ws.append([_cell(v) for v in row])
        ws.freeze_panes = "A2"
        for i, h in enumerate(headers, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(40, len(str(h)) + 4))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a BOM (so Excel opens Chinese labels correctly)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    for row in rows:
        w.writerow(["" if v is None else v.isoformat() if isinstance(v, date | datetime) else v for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
