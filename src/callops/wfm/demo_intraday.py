"""Demo step of the intraday re-forecast (issue 18, part 4): on the simulated hotline's last week, the WAPE of the
rest of each day re-forecast at 10:00, 12:00 and 14:00 next to the day-ahead forecast's and the Poisson floor.

Runs on the hotline the demo has just loaded; nothing here generates data.
"""

from __future__ import annotations

from rich.console import Console

from callops.errors import CallopsError
from callops.warehouse import Warehouse

TENANT = "demo"
TIMES = "10:00,12:00,14:00"


def run(wh: Warehouse, console: Console) -> None:
    """Back-test the intraday re-forecast per queue on the demo's last week (ρ fitted on the weeks before)."""
    from callops.cli import print_rows
    from callops.wfm.forecast_io import queue_grids, warehouse_intervals
    from callops.wfm.holidays_calendar import DEFAULT_COUNTRY
    from callops.wfm.intraday import backtest_intraday, parse_times

    times = parse_times(TIMES)
    rows = []
    for queue, grids in queue_grids(warehouse_intervals(wh, TENANT, 30), 30).items():
        try:
            result = backtest_intraday(grids["offered"], times, model="weekly_profile", horizon_days=7, folds=1,
                                       country=DEFAULT_COUNTRY)  # fmt: skip
        except CallopsError as exc:
            console.print(f"  {queue}: no intraday back-test ({exc})")
            continue
        rows.append({"queue": queue, **{e["time"]: f"{e['day_ahead_wape']:.3f} → {e['wape']:.3f} "
                                                   f"(floor {e['noise_floor']:.3f})" for e in result}})  # fmt: skip
    print_rows(rows, title="WAPE of the rest of the day, last week: day-ahead → re-forecast at that time")
