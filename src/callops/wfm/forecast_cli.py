"""``callops forecast``: tenant forecasts from the warehouse, and back-tests of any interval-volume file.

``callops forecast --tenant T [--queue Q] --horizon 14d --interval 30 [--json]`` forecasts every
queue (or one), stores a snapshot and prints the per-queue model, WAPE and noise floor.
``callops forecast backtest FILE --timestamp-col COL --value-col COL --interval 5min --horizon 1w
--folds K [--json]`` back-tests every model on a plain file and names the winner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from callops.lake.source import EngineOpt, LakeOpt, MasterOpt, source
from callops.wfm.holidays_calendar import DEFAULT_COUNTRY

forecast_app = typer.Typer(
    help="Forecast contact volume per queue and interval; back-test models on any interval series.",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
)
out = Console()

_HOLIDAYS = typer.Option("--holidays", help="Holiday calendar: ISO country code (CN, US, DE, ...) or none.")


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


@forecast_app.callback()
def forecast_main(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Tenant to forecast.")] = None,
    queue: Annotated[str | None, typer.Option(help="Only this queue (default: every queue).")] = None,
    horizon: Annotated[str, typer.Option(help="How far ahead: 14d, 2w, ... (bare number = days).")] = "14d",
    interval: Annotated[str, typer.Option(help="Interval length: 15, 30min, 1h (bare number = minutes).")] = "30",
    folds: Annotated[int, typer.Option(help="Back-test folds (fewer are used if the history is short).")] = 3,
    holidays: Annotated[str, _HOLIDAYS] = DEFAULT_COUNTRY,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    lake: LakeOpt = None,
    engine: EngineOpt = None,
    spark_master: MasterOpt = None,
) -> None:
    """Forecast a tenant's inbound volume and AHT per queue x interval and store a snapshot."""
    if ctx.invoked_subcommand is not None:
        return
    if tenant is None:
        out.print(ctx.get_help())
        raise typer.Exit(0)
    # Imported here so that every other `callops` command starts without pandas/scipy/statsforecast.
    from callops.wfm.forecast import parse_horizon, parse_interval
    from callops.wfm.forecast_io import forecast_tenant

    h, iv = parse_horizon(horizon), parse_interval(interval)
    with source(lake, engine, spark_master, read_only=False) as wh:  # --lake: the history from the lake
        frame, meta = forecast_tenant(
            wh, tenant, horizon_days=h, interval_min=iv, queue=queue, folds=folds, country=_country(holidays)
        )
    if as_json:
        rows = frame.assign(interval_start=frame["interval_start"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
        print(json.dumps({**meta, "intervals": rows.to_dict(orient="records")}, default=str, allow_nan=False))
        return
    table = Table(title=f"Forecast {tenant} · {h} days · {iv}-min intervals ({meta['timezone']})")
    for col in ("queue", "model", "back-test WAPE", "noise floor", "forecast total", "notes"):
        table.add_column(col, justify="right" if col not in ("queue", "model", "notes") else "left")
    for q in meta["queues"]:
        table.add_row(
            q["queue"],
            q["model"],
            _fmt(q["wape"]),
            _fmt(q["noise_floor"]),
            f"{q['forecast_total']:,.0f}",
            "; ".join(q["notes"]),
        )
    out.print(table)
    out.print(f"snapshot {meta.get('snapshot_id')} stored")


def _country(text: str) -> str | None:
    return None if text.lower() == "none" else text


@forecast_app.command("backtest")
def backtest_cmd(
    file: Annotated[Path, typer.Argument(help="CSV (optionally .gz) or Parquet file of interval volumes.")],
    timestamp_col: Annotated[str, typer.Option(help="Column with the interval start (local time).")],
    value_col: Annotated[str, typer.Option(help="Column with the volume.")],
    interval: Annotated[str, typer.Option(help="Interval length: 5min, 15, 30min (finer data are summed).")] = "30",
    horizon: Annotated[str, typer.Option(help="Horizon of each fold: 1w, 7d, ... (bare number = days).")] = "1w",
    folds: Annotated[int, typer.Option(help="Number of rolling-origin folds.")] = 4,
    holidays: Annotated[str, _HOLIDAYS] = DEFAULT_COUNTRY,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
    intraday: Annotated[
        str | None,
        typer.Option(help="Also re-forecast the rest of each day at these times (10:00,12:00,14:00) and score it."),
    ] = None,
) -> None:
    """Back-test every model on an interval series; print each model's WAPE, the chosen one and the noise floor."""
    from callops.wfm.forecast import BASELINE, backtest, build_grid, parse_horizon, parse_interval
    from callops.wfm.forecast_io import read_interval_file

    iv, h = parse_interval(interval), parse_horizon(horizon)
    times = None
    if intraday is not None:
        from callops.wfm.intraday import backtest_intraday, parse_times

        times = parse_times(intraday)  # bad times fail before the (long) back-test
    grid = build_grid(read_interval_file(file, timestamp_col, value_col), iv)
    bt = backtest(grid, horizon_days=h, folds=folds, country=_country(holidays))
    result = {
        "file": str(file),
        "interval_minutes": iv,
        "horizon_days": h,
        "open_weekdays": list(grid.weekdays),
        "open_days": len(grid.dates),
        "missing_days": int(sum(1 for row in grid.values if all(v != v for v in row))),
        **bt.as_dict(),
    }
    if times is not None:
        result["intraday"] = backtest_intraday(grid, times, model=bt.chosen, horizon_days=h, folds=bt.folds,
                                               country=_country(holidays))  # fmt: skip
    if as_json:
        print(json.dumps(result, default=str))
        return
    table = Table(title=f"Back-test of {file.name}: {bt.folds} folds x {bt.horizon_days} open days")
    table.add_column("model")
    table.add_column("WAPE", justify="right")
    table.add_column("per fold", justify="left")
    for name, s in bt.scores.items():
        mark = " (chosen)" if name == bt.chosen else " (baseline)" if name == BASELINE else ""
        per = " ".join(f"{f.wape:.3f}" for f in s.folds) if s.folds else f"skipped: {s.skipped}"
        table.add_row(name + mark, _fmt(s.wape), per)
    out.print(table)
    out.print(
        f"chosen {bt.chosen}: WAPE {bt.wape:.4f}; Poisson noise floor {bt.noise_floor:.4f} "
        f"(seasons on the observed-interval index: {bt.season_lengths})"
    )
    for r in result.get("intraday", []):
        out.print(
            f"re-forecast at {r['time']}: WAPE of the rest of the day {r['wape']:.4f} vs day-ahead "
            f"{r['day_ahead_wape']:.4f} ({r['improvement']:.1%} better); Poisson floor {r['noise_floor']:.4f}"
        )
