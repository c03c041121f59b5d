"""Intraday re-forecast on the bank 5-minute series: WAPE of the rest of the day, re-forecast vs day-ahead.

    .venv/bin/python bench/intraday_reforecast.py [--times 10:00,12:00,14:00] [--folds 4]

Runs ``callops forecast backtest … --intraday TIMES --json`` (the baseline, the day-ahead forecast of the chosen
model, is scored in the same run on the same intervals) and prints, per re-forecast time, both WAPEs, their
ratio, the Poisson floor and the share of the day-ahead excess over the floor that the re-forecast removes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _common import SHARED_DATA, run_cli

BANK = SHARED_DATA / "bank-calls-5min-2003" / "bank_calls_5min.csv.gz"


def main() -> None:
    """Print the intraday figures of the bank series."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", default="10:00,12:00,14:00")
    parser.add_argument("--folds", type=int, default=4)
    args = parser.parse_args()
    if not BANK.exists():
        sys.exit(f"no data at {BANK}")
    with tempfile.TemporaryDirectory() as tmp:
        seconds, out, _ = run_cli(["forecast", "backtest", str(BANK), "--timestamp-col", "DateTime", "--value-col",
                                   "Calls", "--interval", "5min", "--horizon", "1w", "--folds", str(args.folds),
                                   "--holidays", "US", "--intraday", args.times, "--json"], Path(tmp))  # fmt: skip
    assert out is not None
    print(f"chosen model {out['chosen']}, day-ahead WAPE of whole days {out['wape']:.4f}, {seconds:.1f} s in all")
    print(f"{'time':>5} {'day-ahead':>9} {'re-fc':>7} {'re/day-ahead':>12} {'floor':>7} {'excess removed':>14} "
          f"{'rho':>5} {'days':>5}")  # fmt: skip
    for e in out["intraday"]:
        removed = (e["day_ahead_wape"] - e["wape"]) / (e["day_ahead_wape"] - e["noise_floor"])
        print(f"{e['time']:>5} {e['day_ahead_wape']:9.4f} {e['wape']:7.4f} {e['wape'] / e['day_ahead_wape']:12.3f} "
              f"{e['noise_floor']:7.4f} {removed:14.1%} {e['rho']:5.2f} {e['days']:5d}")  # fmt: skip


if __name__ == "__main__":
    main()
