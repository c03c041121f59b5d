"""Staffing plans out to Excel (openpyxl) and to the requirements CSV that ``callops schedule`` reads.

Workbook layout: ``Summary`` (targets, patience and per-queue totals), ``Staff grid`` and ``Agents grid``
(interval rows × queue columns), then one sheet per queue with every interval's forecast, AHT, offered load,
required agents, staff and the expected figures at those agents. Numbers are written as numbers (not text) so
planners can keep calculating on them.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from callops.errors import CallopsError
from callops.wfm.staffing import StaffingPlan

QUEUE_COLUMNS = (
    ("interval_start", "interval start", "yyyy-mm-dd hh:mm"),
    ("forecast", "forecast contacts", "0.0"),
    ("aht_s", "AHT (s)", "0.0"),
    ("traffic_erlangs", "offered load (Erlangs)", "0.00"),
    ("queue_agents", "required agents (model)", "0"),
    ("agents", "agents (after minimum)", "0"),
    ("staff", "staff (after shrinkage)", "0"),
    ("service_level", "expected SL", "0.0%"),
    ("asa_s", "ASA (s)", "0.0"),
    ("abandon_rate", "abandon rate", "0.0%"),
    ("occupancy", "occupancy", "0.0%"),
)
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _BAD_SHEET.sub("_", name)[:28] or "queue"
    cand, i = base, 2
    while cand.lower() in taken:
        cand, i = f"{base[:25]}~{i}", i + 1
    taken.add(cand.lower())
    return cand


def _num(v: Any) -> Any:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return v
    return x if x == x and abs(x) != float("inf") else None


def write_xlsx(plan: StaffingPlan, path: Path) -> Path:
    """Write the plan as an Excel workbook at ``path`` (see the module docstring for the sheets)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    path = Path(path)
    if path.parent and not path.parent.exists():
        raise CallopsError(f"folder {path.parent} does not exist")
    bold = Font(bold=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["Staffing plan"])
    ws["A1"].font = bold
    for k, v in plan.meta.items():
        if not isinstance(v, dict):
            ws.append([k, v if v is None or isinstance(v, (int, float, str)) else str(v)])
    ws.append(["interval (min)", plan.interval_min])
    zone = plan.meta.get("timezone")
    if zone:  # interval starts are the tenant's wall clock (naive, as the forecast made them)
        ws.append(["times", f"interval starts are local wall-clock time in {zone}"])
    for k, v in plan.targets.__dict__.items():
        ws.append([k, v])
    ws.append([])
    summary = plan.summary()
    ws.append(list(summary.columns))
    for c in ws[ws.max_row]:
        c.font = bold
    for r in summary.itertuples(index=False):
        ws.append([_num(v) if not isinstance(v, str) else v for v in r])
    if plan.notes:
        ws.append([])
        for n in plan.notes:
            ws.append(["note", n])

    for title, column in (("Staff grid", "staff"), ("Agents grid", "agents")):
        g = plan.grid(column)
        gs = wb.create_sheet(title)
        gs.append(["interval start", *[str(q) for q in g.columns]])
        for c in gs[1]:
            c.font = bold
        for ts, row in zip(g.index, g.to_numpy(), strict=True):
            gs.append([ts.to_pydatetime(), *[int(v) for v in row]])
            gs.cell(row=gs.max_row, column=1).number_format = "yyyy-mm-dd hh:mm"
        gs.freeze_panes = "B2"
        gs.column_dimensions["A"].width = 18

    taken = {"summary", "staff grid", "agents grid"}
    for q, part in plan.frame.groupby("queue", sort=True):
        qs = wb.create_sheet(_sheet_name(str(q), taken))
        qs.append([label for _, label, _ in QUEUE_COLUMNS])
        for c in qs[1]:
            c.font = bold
        cols = [part[name].tolist() for name, _, _ in QUEUE_COLUMNS]
        for values in zip(*cols, strict=True):
            qs.append([values[0].to_pydatetime(), *(_num(v) for v in values[1:])])
        for j, (_, _, fmt) in enumerate(QUEUE_COLUMNS, start=1):
            for (cell,) in qs.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
        qs.freeze_panes = "B2"
        qs.column_dimensions["A"].width = 18
    from callops.exports import text_formulas

    text_formulas(wb).save(path)  # a queue named "=..." stays text (issue 21)
    return path


def write_requirements_csv(plan: StaffingPlan, path: Path) -> Path:
    """``interval_start,required,skill`` rows (required = staff) for ``callops schedule --requirements``."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["interval_start", "required", "skill"])
        w.writeheader()
        w.writerows(plan.requirements_rows())
    return path
