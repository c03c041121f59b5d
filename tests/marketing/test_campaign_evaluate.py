"""Campaign benefit evaluation on generated data with a known truth (``campaign_world``): counts, cost and return
against a second computation in pandas from the generated tables, the measured agent time against the seconds
the generator added, the paying campaign continued and the non-paying one paused, tenants ``t1``/``t10`` kept
apart, and bad cost files refused naming the file and line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import campaign_world as cw
import numpy as np
import pandas as pd
import pytest

from callops.errors import CallopsError, NotFound
from callops.marketing.campaigns import evaluate, load_costs
from callops.warehouse import Warehouse

N = {"t1": 20000, "t10": 6000}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, dict[str, dict]]]:
    """t1 and t10 (a name that t1 prefixes) with their generated campaigns, offers and contacts."""
    home = tmp_path_factory.mktemp("campaigns-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    wh = Warehouse()
    data = {"t1": cw.load(wh, "t1", "A", N["t1"], 1), "t10": cw.load(wh, "t10", "B", N["t10"], 2)}
    yield wh, data
    wh.close()
    mp.undo()


def frame(data: dict) -> pd.DataFrame:
    """The generated contacts with their campaign, as pandas."""
    c = data["contacts"].to_pandas()
    o = data["offers"].to_pandas()[["offer_id", "campaign_id", "unit_price", "commission"]]
    return c.merge(o, on="offer_id", how="left")


def stratified_excess(df: pd.DataFrame, cid: str) -> tuple[float, float, float]:
    """(pitch s, acw s, pop-up s) per contact of ``cid`` over the no-offer contacts of the same queue and channel,
    written with pandas group-bys (the second implementation)."""
    h = df[df["answered_at"].notna()].copy()
    h["talk"] = h["talk_s"].fillna(0) + h["hold_s"].fillna(0)
    h["acw"] = h["acw_s"].fillna(0)
    base = h[h["offer_id"].isna()].groupby(["queue", "channel"])[["talk", "acw"]].mean()
    mine = h[h["campaign_id"] == cid]
    out = []
    for pitched in (True, False):
        part = mine[mine["offer_result"].notna() == pitched].join(base, on=["queue", "channel"], rsuffix="_b")
        out.append(((part["talk"] - part["talk_b"]).sum(), (part["acw"] - part["acw_b"]).sum(), len(part)))
    (pt, pa_, pn), (ut, ua, un) = out
    return max(pt, 0) / pn, max(pa_, 0) / pn, max(ut + ua, 0) / un


def test_counts_cost_and_return_match_a_second_computation(world: tuple) -> None:
    """presented, accepted, return, commission, agent time and cost of each campaign, recomputed in pandas."""
    wh, data = world
    costs = load_costs()
    got = {c["campaign_id"]: c for c in evaluate(wh, "t1", costs=costs)["campaigns"]}
    df = frame(data["t1"])
    for cid in cw.CAMPAIGNS:
        mine = df[df["campaign_id"] == cid]
        presented = mine["offer_result"].notna().sum()
        accepted = (mine["offer_result"] == "accepted").sum()
        c = got[cid]
        assert (c["presented"], c["accepted"], c["popups"]) == (presented, accepted,
                                                                mine["offer_result"].isna().sum())
        assert c["return"] == pytest.approx(accepted * cw.CAMPAIGNS[cid][1])
        assert c["cost_parts"]["commission"] == pytest.approx(accepted * cw.CAMPAIGNS[cid][2])
        pitch, acw, popup = stratified_excess(df, cid)
        at = c["evidence"]["agent_time"]
        assert at["method"] == "measured"
        assert (at["pitch_s"], at["acw_s"], at["popup_s"]) == pytest.approx((pitch, acw, popup), rel=1e-9)
        agent = (presented * (pitch + acw) + c["popups"] * popup) / 3600 * costs.agent_cost_per_hour
        assert c["cost_parts"]["agent_time"] == pytest.approx(agent, rel=1e-9)
        assert c["cost"] == pytest.approx(agent + accepted * cw.CAMPAIGNS[cid][2])
        assert c["cost_return_ratio"] == pytest.approx(c["cost"] / c["return"])
        parts = c["score_parts"]
        assert sum(p["contribution"] for p in parts.values()) == pytest.approx(c["score"])
        assert parts["importance"]["value"] == cw.CAMPAIGNS[cid][7]
        assert parts["ease"]["value"] == pytest.approx(1 - cw.CAMPAIGNS[cid][8])
        fits = mine[mine["offer_result"].notna()]["channel"].isin(cw.CAMPAIGNS[cid][4].split(";")).mean()
        assert parts["channel_fit"]["value"] == pytest.approx(fits)


def test_measured_agent_time_finds_the_seconds_the_generator_added(world: tuple) -> None:
    """The excess handle time estimates the generator's +60 s talk and +15 s acw within 4 standard errors."""
    wh, _ = world
    for c in evaluate(wh, "t1")["campaigns"]:
        at = c["evidence"]["agent_time"]
        se = at["se_per_presentation_s"]
        assert abs(at["pitch_s"] + at["acw_s"] - (cw.PITCH_TALK_S + cw.PITCH_ACW_S)) < 4 * se, at
        assert 0 < se < 10


def test_the_paying_campaign_continues_and_the_other_is_paused(world: tuple) -> None:
    """C-PAY (30 % of sales at 100, commission 10) continues; C-LOSE (2 % at 20) is paused by the test, after
    fewer presentations than it had, with cost/return above 1."""
    wh, _ = world
    got = {c["campaign_id"]: c for c in evaluate(wh, "t1")["campaigns"]}
    pay, lose = got["C-PAY"], got["C-LOSE"]
    assert pay["decision"] == "continue" and pay["cost_return_ratio"] < 1
    assert lose["decision"] == "pause" and lose["cost_return_ratio"] > 1
    t = lose["evidence"]["test"]
    assert t["decision"] == "pause" and t["n"] < lose["presented"] and t["llr"] <= t["log_b"]
    # break-even: cost per presentation without commission / (price - commission)
    per = (lose["cost_parts"]["agent_time"] + lose["cost_parts"]["other"]) / lose["presented"]
    assert lose["evidence"]["break_even_rate"] == pytest.approx(per / (20.0 - 5.0))
    assert pay["score"] > lose["score"]


def test_a_period_counts_only_its_days(world: tuple) -> None:
    """--from/--to are local days of the tenant (Asia/Shanghai): counts equal the generated rows of those days."""
    wh, data = world
    df = frame(data["t1"])
    local = pd.to_datetime(df["offered_at"]).dt.tz_convert("Asia/Shanghai").dt.date
    d0, d1 = date(2026, 9, 10), date(2026, 9, 19)
    mine = df[(local >= d0) & (local <= d1) & (df["campaign_id"] == "C-PAY")]
    c = next(c for c in evaluate(wh, "t1", d0, d1)["campaigns"] if c["campaign_id"] == "C-PAY")
    assert c["presented"] == mine["offer_result"].notna().sum()
    assert c["accepted"] == (mine["offer_result"] == "accepted").sum()
    with pytest.raises(CallopsError, match="before"):
        evaluate(wh, "t1", d1, d0)


def test_other_costs_are_prorated_over_the_campaigns_days(world: tuple, tmp_path: Path) -> None:
    """6,000 of other costs over a 60-day campaign: 1,000 in a 10-day period."""
    wh, _ = world
    f = tmp_path / "costs.yaml"
    f.write_text("campaigns:\n  - {campaign_id: C-LOSE, other_costs: 6000}\n", encoding="utf-8")
    c = next(c for c in evaluate(wh, "t1", date(2026, 9, 10), date(2026, 9, 19), costs=load_costs(f))["campaigns"]
             if c["campaign_id"] == "C-LOSE")
    assert c["cost_parts"]["other"] == pytest.approx(1000.0)


def test_tenants_are_kept_apart(world: tuple) -> None:
    """t10's contacts never count in t1 (a prefix of its name) and the other way round."""
    wh, data = world
    for tenant in ("t1", "t10"):
        df = frame(data[tenant])
        got = {c["campaign_id"]: c["presented"] for c in evaluate(wh, tenant)["campaigns"]}
        assert got == {cid: int(df[df["campaign_id"] == cid]["offer_result"].notna().sum())
                       for cid in cw.CAMPAIGNS}


def test_unknown_campaign_is_not_found(world: tuple) -> None:
    """One campaign asked by id: a missing id is NotFound (404 in the API)."""
    wh, _ = world
    with pytest.raises(NotFound, match="no campaign 'NOPE'"):
        evaluate(wh, "t1", campaign_id="NOPE")


def test_few_presentations_fall_back_to_the_declared_seconds(world: tuple, tmp_path: Path) -> None:
    """Below ``min_presented`` the cost file's seconds are used, and the evidence says so."""
    wh, _ = world
    f = tmp_path / "costs.yaml"
    f.write_text("agent_time: {min_presented: 1000000, pitch_s: 30, acw_s: 5, popup_s: 2}\n", encoding="utf-8")
    c = evaluate(wh, "t1", costs=load_costs(f))["campaigns"][0]
    at = c["evidence"]["agent_time"]
    assert at["method"] == "declared" and (at["pitch_s"], at["acw_s"], at["popup_s"]) == (30, 5, 2)
    assert at["agent_hours"] == pytest.approx((c["presented"] * 35 + c["popups"] * 2) / 3600)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("campaigns:\n  - {campaign_id: C-PAY}\n  - {campaign_id: C-LOSE}\n  - {campaign_id: C-PAY}\n", 4,
     "repeated campaign id 'C-PAY' \\(first on line 2\\)"),
    ("campaigns:\n  - campaign_id: C-PAY\n    other_costs: -5\n", 3, "other_costs must be at least 0"),
    ("service_unit_price: -1\n", 1, "service_unit_price must be at least 0"),
    ("test:\n  alpha: 0.7\n", 2, "alpha must be below 0.5"),
    ("campaigns:\n  - {campaign_id: C-PAY, target_rate: 1.5}\n", 2, "target_rate must be below 1"),
    ("score_weights: {economics: x}\n", 1, "must be a number"),
    ("thresholds: {}\n", 1, "unknown key 'thresholds'"),
])
def test_bad_cost_files_name_the_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    """A repeated campaign id, a negative cost, an error rate out of range, an unknown key: file and line."""
    f = tmp_path / "bad.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(CallopsError, match=f"bad.yaml, line {line}: .*{message}"):
        load_costs(f)


def test_the_agent_cost_per_hour_is_the_tenants_metric_parameter(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """One setting for every cost: campaign costs take the tenant's metric parameter (t1 and t10 apart), and a
    cost file that still sets it is refused with where it moved."""
    from callops.marketing.campaigns import tenant_costs

    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    folder = tmp_path / "home" / "tenants" / "t1"
    folder.mkdir(parents=True)
    (folder / "metrics.yaml").write_text("parameters: {agent_cost_per_hour: 84.5}\n", encoding="utf-8")
    assert tenant_costs("t1").agent_cost_per_hour == 84.5
    assert tenant_costs("t10").agent_cost_per_hour == 60.0  # the parameter's default
    f = tmp_path / "old.yaml"
    f.write_text("agent_cost_per_hour: 70\n", encoding="utf-8")
    with pytest.raises(CallopsError, match=r"old\.yaml: agent_cost_per_hour is a metric parameter now.*metrics\.yaml"):
        load_costs(f)


def test_a_cost_file_naming_an_unknown_campaign_is_refused(world: tuple, tmp_path: Path) -> None:
    """A campaign the warehouse does not have: the file and its line."""
    wh, _ = world
    f = tmp_path / "costs.yaml"
    f.write_text("campaigns:\n  - {campaign_id: C-PAY}\n  - {campaign_id: C-GHOST, other_costs: 5}\n",
                 encoding="utf-8")
    with pytest.raises(CallopsError, match=r"costs\.yaml, line 3: unknown campaign 'C-GHOST'"):
        evaluate(wh, "t1", costs=load_costs(f))


def test_the_shipped_cost_file_loads() -> None:
    """The default file is valid and its weights sum to 1."""
    c = load_costs()
    assert sum(c.weights.values()) == pytest.approx(1.0) and 0 < c.alpha < 0.5 and np.isfinite(c.target_lift)
