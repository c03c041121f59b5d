"""Where forecasts get their history and where they are kept.

* :func:`read_interval_file`: any CSV/Parquet of interval volumes (a timestamp column and a value column).
* :func:`warehouse_intervals`: offered volume, answered count and handle time per queue x interval
  from a tenant's ``contacts`` (read through :func:`callops.tenancy.scoped`; inbound contacts,
  counted by ``offered_at`` in the tenant's local wall-clock time; handle = talk + hold + acw of
  answered contacts). In zones with daylight saving the repeated autumn hour falls into the same
  local intervals and the skipped spring hour is empty.
* Snapshots: every tenant forecast is kept as ``$CALLOPS_HOME/forecasts/<tenant>/<id>.parquet``
  with a JSON sidecar ``<id>.json`` (created_at, model, horizon, WAPE, noise floor per queue).
  Files rather than a warehouse table because the warehouse schema is owned by the canonical
  tables; Parquet files are readable by DuckDB, pandas and Excel add-ins alike, and
  :func:`compare_snapshot_to_actuals` re-reads actuals from the warehouse when they exist.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.metrics.grains import local_time
from callops.settings import callops_home
from callops.warehouse import Warehouse
from callops.wfm import accuracy
from callops.wfm.forecast import IntervalGrid, aht_profile, build_grid, forecast
from callops.wfm.holidays_calendar import DEFAULT_COUNTRY

SNAPSHOT_ID = re.compile(r"^F\d{8}T\d{6}-[0-9a-f]{6}$")
NO_QUEUE = "(no queue)"


# --------------------------------------------------------------------------------------------------- inputs
def read_interval_file(path: Path, timestamp_col: str, value_col: str) -> pd.Series:
    """Volumes from a CSV (optionally gzipped) or Parquet file, indexed by naive local timestamps."""
    path = Path(path)
    if not path.exists():
        raise CallopsError(f"no such file: {path}")
    try:
        if path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path, columns=[timestamp_col, value_col])
        else:
            df = pd.read_csv(path, usecols=[timestamp_col, value_col])
    except ValueError as exc:
        raise CallopsError(f"{path}: {exc} (columns wanted: {timestamp_col!r}, {value_col!r})") from None
    ts = pd.to_datetime(df[timestamp_col], errors="coerce")
    if ts.isna().any():
        bad = df.loc[ts.isna(), timestamp_col].iloc[0]
        raise CallopsError(f"{path}: column {timestamp_col!r} has a value that is not a timestamp: {bad!r}")
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_localize(None)  # keep the wall-clock time as written
    vals = pd.to_numeric(df[value_col], errors="coerce")
    if vals.isna().any():
        raise CallopsError(f"{path}: column {value_col!r} has non-numeric values")
    return pd.Series(vals.to_numpy(float), index=pd.DatetimeIndex(ts), name=value_col)


def warehouse_intervals(wh: Warehouse, tenant: str, interval_min: int, queue: str | None = None,
                        dense: bool = True) -> pd.DataFrame:  # fmt: skip
    """Per queue x local interval: ``offered``, ``answered``, ``handle_s`` (sum over answered contacts).

    With ``dense`` (the default) a sparse earlier period is left out (:func:`dense_start`)."""
    t = tenancy.get_tenant(wh, tenant)
    c = tenancy.scoped(wh, t, "contacts")
    c = c.filter(c.direction == "inbound")
    if queue is not None:
        c = c.filter(c.queue == queue)
    local = local_time(c.offered_at, t.timezone, wh.backend.name)  # the warehouse, or the lake on DuckDB/Spark
    step = interval_min * 60
    # Interval keys from epoch seconds of the local wall-clock time (portable across backends).
    key = (local.epoch_seconds() // step) * step
    answered = (c.outcome == "answered") & c.answered_at.notnull()
    handle = c.talk_s.fill_null(0) + c.hold_s.fill_null(0) + c.acw_s.fill_null(0)
    agg = (
        c.mutate(queue_key=c.queue.fill_null(NO_QUEUE), k=key, ans=answered, hdl=handle)
        .group_by(["queue_key", "k"])
        .aggregate(
            offered=ibis._.count(),
            answered=ibis._.ans.cast("int64").sum(),
            handle_s=ibis.ifelse(ibis._.ans, ibis._.hdl, 0.0).sum(),
        )
        .to_pandas()
    )
    if agg.empty:
        where = f" in queue {queue!r}" if queue else ""
        raise CallopsError(f"tenant {tenant!r} has no inbound contacts{where} to forecast")
    agg["interval_start"] = pd.to_datetime(agg.pop("k"), unit="s")
    agg = agg.rename(columns={"queue_key": "queue"})
    if dense:
        first = dense_start(agg.groupby(agg["interval_start"].dt.normalize())["offered"].sum())
        if first is not None:
            agg = agg[agg["interval_start"] >= first]
    return agg.sort_values(["queue", "interval_start"]).reset_index(drop=True)


def dense_start(daily: pd.Series, ratio: float = 0.25, run_days: int = 7, recent_days: int = 7) -> pd.Timestamp | None:
    """The first day of the dense history, or None when it is all dense.

    ``daily`` is the volume per local day. A day below ``ratio`` × the mean of the last ``recent_days`` days is
    sparse; a run of at least ``run_days`` sparse days before those recent days is a sparse period (a back-fill
    of identified customers' contacts, such as the demo's months of customer contacts, or the weeks before a
    center went live), and the history starts the day after the last such run. Training a forecast across it
    would read the sparse period as a level shift. Holidays and closed days shorter than a run stay history.
    """
    if daily.empty:
        return None
    full = daily.sort_index().asfreq("D", fill_value=0.0)
    if len(full) < run_days + recent_days:
        return None
    ref = float(full.iloc[-recent_days:].mean())
    if ref <= 0:
        return None
    # the recent days are the reference, never a sparse period (a quiet last week only makes fewer days sparse)
    low = (full.to_numpy(dtype=float) < ratio * ref)[:-recent_days]
    last, run = -1, 0
    for i, sparse in enumerate(low.tolist()):
        run = run + 1 if sparse else 0
        if run >= run_days:
            last = i
    return None if last < 0 else full.index[last + 1]


def queue_grids(frame: pd.DataFrame, interval_min: int) -> dict[str, dict[str, IntervalGrid]]:
    """Per queue: ``offered``, ``answered`` and ``handle_s`` grids sharing one set of open days and slots."""
    out: dict[str, dict[str, IntervalGrid]] = {}
    for q, part in frame.groupby("queue", sort=True):
        s = part.set_index("interval_start")
        offered = build_grid(s["offered"], interval_min, fill="zero")
        grids = {"offered": offered}
        for col in ("answered", "handle_s"):
            g = build_grid(s[col], interval_min, fill="zero", weekdays=offered.weekdays)
            grids[col] = _align(g, offered)
        out[str(q)] = grids
    return out


def _align(g: IntervalGrid, like: IntervalGrid) -> IntervalGrid:
    """``g`` re-indexed onto ``like``'s days and slots (0 where absent)."""
    vals = np.zeros_like(like.values)
    rows = {d: i for i, d in enumerate(g.dates)}
    cols = {int(m): j for j, m in enumerate(g.slot_minutes)}
    for i, d in enumerate(like.dates):
        if d in rows:
            for j, m in enumerate(like.slot_minutes):
                if int(m) in cols:
                    vals[i, j] = np.nan_to_num(g.values[rows[d], cols[int(m)]])
    return IntervalGrid(like.dates, like.slot_minutes, like.interval_min, like.weekdays, vals)


# ------------------------------------------------------------------------------------------------ snapshots
def snapshot_dir(tenant: str) -> Path:
    """``$CALLOPS_HOME/forecasts/<tenant>``."""
    if not tenancy.TENANT_ID.match(tenant):
        raise CallopsError(f"invalid tenant name {tenant!r}")
    return callops_home() / "forecasts" / tenant


def save_snapshot(tenant: str, frame: pd.DataFrame, meta: dict) -> str:
    """Store a forecast (columns queue, interval_start, forecast[, aht_s, model]) and its metadata; return its id."""
    snap_id = datetime.now(UTC).strftime("F%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    folder = snapshot_dir(tenant)
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / f"{snap_id}.parquet", index=False)
    sidecar = {"snapshot_id": snap_id, "tenant": tenant, "created_at": datetime.now(UTC).isoformat(), **meta}
    tmp = folder / f".{snap_id}.json.tmp"
    tmp.write_text(json.dumps(sidecar, indent=2, default=str))
    tmp.replace(folder / f"{snap_id}.json")  # the sidecar appears last and atomically: it marks a complete snapshot
    return snap_id


def list_snapshots(tenant: str) -> list[dict]:
    """Metadata of a tenant's snapshots, oldest first."""
    folder = snapshot_dir(tenant)
    if not folder.exists():
        return []
    metas = [json.loads(p.read_text()) for p in folder.glob("F*.json")]
    return sorted(metas, key=lambda m: m["created_at"])


def load_snapshot(tenant: str, snapshot_id: str) -> tuple[pd.DataFrame, dict]:
    """A stored forecast and its metadata."""
    if not SNAPSHOT_ID.match(snapshot_id):
        raise CallopsError(f"invalid snapshot id {snapshot_id!r}")
    folder = snapshot_dir(tenant)
    meta_path = folder / f"{snapshot_id}.json"
    if not meta_path.exists():
        known = ", ".join(m["snapshot_id"] for m in list_snapshots(tenant)[-5:]) or "none"
        raise NotFound(f"no forecast snapshot {snapshot_id!r} for tenant {tenant!r} (latest: {known})")
    return pd.read_parquet(folder / f"{snapshot_id}.parquet"), json.loads(meta_path.read_text())


def compare_snapshot_to_actuals(wh: Warehouse, tenant: str, snapshot_id: str) -> dict:
    """WAPE of a stored forecast against what happened, per queue and overall, with the noise floor.

    Only intervals up to the last contact in the warehouse are compared (later ones have not
    happened yet); within that range an interval with no contacts counts as 0.
    """
    frame, meta = load_snapshot(tenant, snapshot_id)
    actual = warehouse_intervals(wh, tenant, int(meta["interval_min"]))
    last_seen = actual["interval_start"].max()
    cmp = frame[frame["interval_start"] <= last_seen].merge(
        actual[["queue", "interval_start", "offered"]], on=["queue", "interval_start"], how="left"
    )
    cmp["offered"] = cmp["offered"].fillna(0.0)
    result: dict = {"snapshot_id": snapshot_id, "compared_intervals": len(cmp), "by_queue": {}}
    for q, part in cmp.groupby("queue"):
        result["by_queue"][str(q)] = {
            "wape": accuracy.wape(part["offered"], part["forecast"]),
            "noise_floor": accuracy.noise_floor(part["forecast"]),
            "actual": float(part["offered"].sum()),
            "forecast": float(part["forecast"].sum()),
        }
    result["wape"] = accuracy.wape(cmp["offered"], cmp["forecast"]) if len(cmp) else None
    result["noise_floor"] = accuracy.noise_floor(cmp["forecast"]) if len(cmp) else None
    return result


# --------------------------------------------------------------------------------------------- tenant forecast
def forecast_tenant(
    wh: Warehouse,
    tenant: str,
    *,
    horizon_days: int,
    interval_min: int,
    queue: str | None = None,
    folds: int = 3,
    country: str | None = DEFAULT_COUNTRY,
    save: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Forecast volume and AHT per queue for ``horizon_days``; store a snapshot; return (intervals, summary)."""
    frame = warehouse_intervals(wh, tenant, interval_min, queue)
    parts, queues = [], []
    for q, grids in queue_grids(frame, interval_min).items():
        fc = forecast(grids["offered"], horizon_days=horizon_days, folds=folds, country=country)
        future = grids["offered"].future_dates(horizon_days)
        aht = aht_profile(grids["handle_s"], grids["answered"], future)
        parts.append(
            pd.DataFrame(
                {"queue": q, "interval_start": fc.timestamps, "forecast": fc.values, "aht_s": aht, "model": fc.model}
            )
        )
        bt = fc.backtest.as_dict() if fc.backtest else None
        queues.append(
            {
                "queue": q,
                "model": fc.model,
                "wape": bt["wape"] if bt else None,
                "noise_floor": bt["noise_floor"] if bt else None,
                "forecast_total": float(fc.values.sum()),
                "season_lengths": grids["offered"].season_lengths,
                "backtest": bt,
                "notes": fc.notes,
            }
        )
    out = pd.concat(parts, ignore_index=True)
    t = tenancy.get_tenant(wh, tenant)
    meta = {
        "timezone": t.timezone,
        "interval_min": interval_min,
        "horizon_days": horizon_days,
        "holiday_country": country,
        "history_end": str(frame["interval_start"].max()),
        "queues": queues,
    }
    if save:
        meta["snapshot_id"] = save_snapshot(tenant, out, meta)
    return out, meta
