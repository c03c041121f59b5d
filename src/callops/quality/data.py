"""Reads of one tenant's QA data (evaluations, contacts, transcripts) — always through ``tenancy.scoped``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from callops import tenancy
from callops.errors import CallopsError
from callops.quality.forms import Form, ScoreRun, load_form, score_rows
from callops.timezones import to_local
from callops.warehouse import Warehouse

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
REPEAT_WINDOW_S = 7 * 86400.0


def parse_period(period: str) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month); a clear error otherwise."""
    m = _PERIOD.match(period or "")
    if not m:
        raise CallopsError(f"period {period!r} is not YYYY-MM (e.g. 2026-11)")
    return int(m.group(1)), int(m.group(2))


# Months a caller may ask for: the engine holds instants as nanoseconds since 1970 (pandas), which overflow
# after 2262, and a period's bounds, its previous month and local-zone shifts must all fit.
FIRST_YEAR, LAST_YEAR = 1970, 2200


def check_period(period: str) -> str:
    """``period`` when it is a ``YYYY-MM`` month of the years 1970 to 2200; a clear error otherwise."""
    year, _ = parse_period(period)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CallopsError(f"period {period!r}: expected a month of the years {FIRST_YEAR} to {LAST_YEAR}")
    return period


def previous_period(period: str) -> str:
    """The month before ``period``."""
    y, m = parse_period(period)
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def _month_bounds(period: str, zone: str) -> tuple[datetime, datetime]:
    y, m = parse_period(period)
    tz = ZoneInfo(zone)
    start = datetime(y, m, 1, tzinfo=tz)
    end = datetime(y + (m == 12), 1 if m == 12 else m + 1, 1, tzinfo=tz)
    return start, end


def evaluations(wh: Warehouse, tenant: str, period: str | None = None) -> pd.DataFrame:
    """The tenant's ``qa_evaluations`` rows (one per item), of the month ``period`` in the tenant's zone."""
    ten = tenancy.get_tenant(wh, tenant)
    t = tenancy.scoped(wh, ten, "qa_evaluations")
    if period:
        start, end = _month_bounds(period, ten.timezone)
        t = t.filter((t.evaluated_at >= start) & (t.evaluated_at < end))
    cols = ["evaluation_id", "item", "contact_id", "agent_id", "evaluator", "evaluated_at", "score", "max_score",
            "weight"]  # fmt: skip
    return t.select(*cols).order_by(["evaluation_id", "item"]).to_pandas()


def scored(wh: Warehouse, tenant: str, period: str | None = None, form: Form | None = None) -> ScoreRun:
    """The tenant's evaluations of ``period`` scored under ``form`` (the built-in hotline form by default)."""
    df = evaluations(wh, tenant, period)
    rows = df.astype(object).where(df.notna(), None).to_dict("records")
    run = score_rows(form or load_form(), rows)
    for r in run.scored:
        if r.get("evaluated_at") is not None:
            r["evaluated_at"] = pd.Timestamp(r["evaluated_at"]).isoformat()
    return run


def contacts(wh: Warehouse, tenant: str, period: str, agents: Sequence[str] | None = None) -> pd.DataFrame:
    """Handled contacts of ``period`` (those with an agent), with the fields strata and risk picks use and a
    ``repeat`` flag (the same customer had another contact in the 7 days before)."""
    ten = tenancy.get_tenant(wh, tenant)
    t = tenancy.scoped(wh, ten, "contacts")
    start, end = _month_bounds(period, ten.timezone)
    lookback = pd.Timestamp(start) - pd.Timedelta(seconds=REPEAT_WINDOW_S)
    t = t.filter((t.offered_at >= lookback.to_pydatetime()) & (t.offered_at < end))
    cols = ["contact_id", "agent_id", "customer_id", "queue", "channel", "outcome", "business_type", "talk_s",
            "csat", "offered_at"]  # fmt: skip
    df = t.select(*cols, local_day=to_local(t.offered_at, ten.timezone).date()).to_pandas()
    df = df.sort_values(["customer_id", "offered_at"], kind="stable")
    prev = df.groupby("customer_id", dropna=True)["offered_at"].shift(1)
    gap = (df["offered_at"] - prev).dt.total_seconds()
    df["repeat"] = df["customer_id"].notna() & (gap <= REPEAT_WINDOW_S)
    df = df[(df["offered_at"] >= pd.Timestamp(start)) & df["agent_id"].notna() & (df["agent_id"] != "")]
    if agents is not None:
        df = df[df["agent_id"].isin(list(agents))]
    return df.sort_values("contact_id").reset_index(drop=True)


def transcripts(wh: Warehouse, tenant: str, contact_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """The tenant's transcript utterances (optionally of some contacts), in order."""
    t = tenancy.scoped(wh, tenant, "transcripts")
    if contact_ids is not None:
        t = t.filter(t.contact_id.isin(list(contact_ids)))
    return t.select("contact_id", "seq", "speaker", "start_s", "end_s", "text", "language").order_by(
        ["contact_id", "seq"]
    ).to_pandas()


def latest_period(wh: Warehouse, tenant: str) -> str:
    """The latest month (tenant zone) with evaluations — the month before when the latest has less than half as
    many evaluations as it (a month only begun is not the one to rank)."""
    ten = tenancy.get_tenant(wh, tenant)
    t = tenancy.scoped(wh, ten, "qa_evaluations")
    month = to_local(t.evaluated_at, ten.timezone).strftime("%Y-%m")
    counts = t.group_by(month=month).aggregate(n=t.evaluation_id.nunique()).order_by("month").to_pandas()
    counts = counts.dropna()
    if counts.empty:
        raise CallopsError(f"tenant {tenant!r} has no QA evaluations")
    if len(counts) >= 2 and counts["n"].iloc[-1] < 0.5 * counts["n"].iloc[-2]:
        return str(counts["month"].iloc[-2])
    return str(counts["month"].iloc[-1])
