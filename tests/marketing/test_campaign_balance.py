"""Service against marketing (V3 link): the balance model's marketing figures measured from the generated contacts
(checked against pandas), the model fed with them (its marketing hours are the evaluation's agent hours), the
``--marketing-from`` option of ``callops staffing balance``, and the declared seconds when the data shows no
extra time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import campaign_world as cw
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.errors import CallopsError
from callops.marketing.campaigns import balance_figures, evaluate, load_costs, service_vs_marketing
from callops.warehouse import Warehouse


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Warehouse, dict]]:
    """t1 with generated data (offers add time), t2 whose offers add none."""
    home = tmp_path_factory.mktemp("balance-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    wh = Warehouse()
    data = cw.load(wh, "t1", "A", 12000, 7)
    cw.load(wh, "t2", "Z", 12000, 8, added=(0.0, 0.0, 0.0))
    yield home, wh, data
    wh.close()
    mp.undo()


def test_measured_figures_match_pandas(world: tuple) -> None:
    """Volume, answer rate, service handle, pop-up, recommendation and success rates, price and commission."""
    _, wh, data = world
    c = data["contacts"].to_pandas()
    o = data["offers"].to_pandas()
    m = balance_figures(wh, "t1")
    handled = c[c["answered_at"].notna()]
    plain = handled[handled["offer_id"].isna()]
    popped = handled[handled["offer_id"].notna()]
    pitched = popped[popped["offer_result"].notna()]
    acc = pitched[pitched["offer_result"] == "accepted"].merge(o, on="offer_id")
    assert m["volume"] == len(c)
    assert m["answer_rate"] == pytest.approx(len(handled) / len(c))
    assert m["service_handle_s"] == pytest.approx((plain["talk_s"] + plain["hold_s"] + plain["acw_s"]).mean())
    assert m["marketing_popup_rate"] == pytest.approx(len(popped) / len(handled))
    assert m["marketing_recommend_rate"] == pytest.approx(len(pitched) / len(popped))
    assert m["marketing_success_rate"] == pytest.approx(len(acc) / len(pitched))
    assert m["marketing_unit_price"] == pytest.approx(acc["unit_price"].mean())
    assert m["marketing_commission"] == pytest.approx(acc["commission"].mean())


def test_the_model_carries_the_evaluations_agent_hours(world: tuple) -> None:
    """Marketing hours of the balance model = the agent hours the evaluation charges all campaigns; revenue = the
    campaigns' return; the marketing stream's commission cost too."""
    _, wh, _ = world
    ev = evaluate(wh, "t1")
    out = service_vs_marketing(wh, "t1", evaluation=ev)
    hours = sum(c["evidence"]["agent_time"]["agent_hours"] for c in ev["campaigns"])
    assert out["result"]["marketing_hours"] == pytest.approx(hours)
    mk = out["comparison"]["marketing"]
    assert mk["revenue"] == pytest.approx(sum(c["return"] for c in ev["campaigns"]))
    commission = sum(c["cost_parts"]["commission"] for c in ev["campaigns"])
    assert mk["cost"] == pytest.approx(mk["paid_hours"] * 60.0 + commission)
    assert mk["yield_per_agent_hour"] > out["comparison"]["service"]["yield_per_agent_hour"]


def test_no_extra_time_falls_back_to_the_declared_seconds(world: tuple) -> None:
    """When offers add no time, the measured excess is noise around 0: the declared seconds are charged and the
    evidence keeps the measured figure and its standard error."""
    _, wh, _ = world
    costs = load_costs()
    for c in evaluate(wh, "t2")["campaigns"]:
        at = c["evidence"]["agent_time"]
        assert at["method"] == "declared"
        assert at["measured_per_presentation_s"] <= 2 * at["se_per_presentation_s"]
        assert (at["pitch_s"], at["acw_s"]) == (costs.pitch_s, costs.acw_s)


def test_staffing_balance_takes_the_measured_figures(tmp_path: Path) -> None:
    """``callops staffing balance --marketing-from t1`` solves with the measured figures; a given option wins."""
    home = tmp_path / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        with Warehouse() as wh:
            cw.load(wh, "t1", "A", 4000, 9)
            m = balance_figures(wh, "t1")
    env = {**os.environ, "CALLOPS_HOME": str(home)}
    env.pop("CALLOPS_WAREHOUSE", None)
    cmd = [sys.executable, "-m", "callops.cli", "staffing", "balance", "--marketing-from", "t1", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["inputs"]["marketing_popup_rate"] == pytest.approx(m["marketing_popup_rate"])
    assert doc["inputs"]["marketing_handle_s"] == pytest.approx(m["marketing_handle_s"])
    assert doc["inputs"]["volume"] == m["volume"]
    r = subprocess.run([*cmd, "--popup-rate", "0.5"], capture_output=True, text=True, env=env, timeout=300)
    assert json.loads(r.stdout)["inputs"]["marketing_popup_rate"] == 0.5


@settings(max_examples=40, deadline=None)
@given(other=st.floats(0, 1e9, allow_nan=False), target=st.floats(0.001, 0.999))
def test_any_valid_cost_entry_loads_and_a_negative_one_does_not(tmp_path_factory: pytest.TempPathFactory,
                                                                 other: float, target: float) -> None:
    """Non-negative other costs and a target rate in (0, 1) load as written; the negated cost is refused."""
    f = tmp_path_factory.mktemp("costs") / "c.yaml"
    # fixed notation: YAML 1.1 (PyYAML) reads 1e-05 as text, which the loader refuses as "not a number"
    f.write_text(f"campaigns:\n  - {{campaign_id: X, other_costs: {other:.6f}, target_rate: {target:.6f}}}\n",
                 encoding="utf-8")
    c = load_costs(f).campaigns["X"]
    assert c.other_costs == pytest.approx(other, abs=1e-6) and c.target_rate == pytest.approx(target, abs=1e-6)
    assert c.line == 2
    if other >= 1e-6:
        f.write_text(f"campaigns:\n  - {{campaign_id: X, other_costs: {-other:.6f}}}\n", encoding="utf-8")
        with pytest.raises(CallopsError, match=r"line 2: .*other_costs must be at least 0"):
            load_costs(f)

