"""The decision at contact time with its offer, the ranking against a brute force from the stored model, a paused
campaign leaving decisions, training and the back-test, and the CLI's one JSON document — on tenant ``mk1``."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from callops import tenancy
from callops.marketing import arbitrate, decisionlog, propensity
from callops.marketing.offers import library
from callops.marketing.state import pause, resume
from callops.store.db import Store
from callops.store.models_marketing import OfferDecision
from callops.store.scoping import scoped
from callops.value import snapshot
from callops.value.decide import decide
from callops.warehouse import Warehouse

SPLIT = date.today() - timedelta(days=7)  # as the marketing_world fixture's scores (conftest)


def _tenant() -> tenancy.Tenant:
    with Warehouse() as wh:
        return tenancy.get_tenant(wh, "mk1")


@pytest.fixture(scope="module")
def trained(marketing_world):
    with Warehouse() as wh:
        doc = propensity.train(wh, tenancy.get_tenant(wh, "mk1"))
    return doc


def _customers(n: int) -> list[str]:
    index = snapshot.decide_index("mk1")
    return list(index.rows)[:n]


def test_decide_returns_an_offer_with_score_parts_and_guidance(trained) -> None:
    assert trained["rows"] > 500 and trained["version"] >= 1
    store = Store(os.environ["CALLOPS_STORE_URL"], upgrade=False)
    lib = library("mk1")
    model = propensity.current_model("mk1")
    t = _tenant()
    seen = 0
    for cid in _customers(40):
        d = decide(t, cid, "voice", "data_plan", contact_id=f"c-{cid}", store=store)
        o = d["offer"]
        if o is None:
            assert d["offer_why"]
            continue
        seen += 1
        s = o["score"]
        offer = lib.offer(o["offer_id"])
        # brute force from the stored JSON: logistic of the summed weights of the listed features
        ctx = propensity.context_features(d["tags"], d["value_class"], d["score"], "data_plan", "voice")
        feats = propensity.pair_features(offer.id, ctx)
        z = model.intercept + sum(model.weights.get(f, 0.0) for f in feats)
        assert s["propensity"] == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-12)
        c = lib.campaigns[offer.campaign]
        weight = (1 + lib.levers.importance * c.importance) * (1 - lib.levers.difficulty * c.difficulty)
        assert s["weight"] == pytest.approx(weight) and s["value"] == offer.unit_price - offer.commission
        assert s["score"] == pytest.approx(s["propensity"] * s["value"] * s["weight"])
        # the best of all eligible offers, unless explored (then its probability is epsilon / k)
        eligible = [x for x in lib.offers if "voice" in x.channels
                    and x.eligible.admits(frozenset(d["tags"]), d["value_class"], "data_plan")]  # fmt: skip

        def score_of(x, ctx=ctx):
            zz = model.intercept + sum(model.weights.get(f, 0.0) for f in propensity.pair_features(x.id, ctx))
            cc = lib.campaigns[x.campaign]
            w = (1 + lib.levers.importance * cc.importance) * (1 - lib.levers.difficulty * cc.difficulty)
            return 1 / (1 + math.exp(-zz)) * x.value * w

        best = max(eligible, key=score_of)
        eps, k = lib.levers.exploration, len(eligible)
        if o["explored"]:
            assert o["probability"] == pytest.approx(eps / k + (1 - eps) * (o["offer_id"] == best.id))
        else:
            assert o["offer_id"] == best.id and o["probability"] == pytest.approx(1 - eps + eps / k)
        for lang in ("en", "zh-CN"):
            assert o["guidance"][lang]["offer"] and o["guidance"][lang]["phrase"]
        assert o["policy"] == "learned" and o["propensity_source"].startswith("model v")
    assert seen >= 10
    decisionlog.flush(store)
    with store.session() as s:
        rows = list(s.scalars(scoped(OfferDecision, "mk1").where(OfferDecision.offer_id.is_not(None))))
    assert len(rows) >= seen and all(0 < r.probability <= 1 for r in rows)


def test_a_data_heavy_customer_is_reminded_of_their_usage(trained) -> None:
    from callops.marketing.arbitrate import guidance

    g = guidance(library("mk1").offer("OF-DATA10G"), {"heavy_data_user"})
    assert "60 GB" in g["en"]["remind"] and "60GB" in g["zh-CN"]["remind"] and "alert" in g["en"]["offer"]


def test_never_during_a_complaint(trained) -> None:
    store = Store(os.environ["CALLOPS_STORE_URL"], upgrade=False)
    t = _tenant()
    for cid in _customers(10):
        d = decide(t, cid, "voice", "complaint", store=store)
        assert d["offer"] is None and "complaint" in d["offer_why"]
        d = decide(t, cid, "voice", "billing", complaint=True, store=store)
        assert d["offer"] is None and "complaint" in d["offer_why"]
    decisionlog.flush(store)


def test_a_paused_campaign_leaves_decisions(trained) -> None:
    assert arbitrate.PAUSED_TTL_S <= 60
    store = Store(os.environ["CALLOPS_STORE_URL"], upgrade=False)
    t = _tenant()
    with store.session() as s:
        pause(s, "mk1", "C5G-UPGRADE", actor="test", reason="does not pay")
    arbitrate.forget_paused()  # what the TTL does within a minute
    try:
        for cid in _customers(30):
            o = decide(t, cid, "voice", "upgrade_5g", store=store)["offer"]
            assert o is None or o["campaign_id"] != "C5G-UPGRADE"
    finally:
        with store.session() as s:
            resume(s, "mk1", "C5G-UPGRADE", actor="test", reason="test over")
        arbitrate.forget_paused()
        decisionlog.flush(store)


def test_backtest_reports_auc_and_policies_with_intervals(marketing_world) -> None:
    from callops.marketing.backtest import backtest

    with Warehouse() as wh:
        bt = backtest(wh, tenancy.get_tenant(wh, "mk1"), SPLIT, reps=200)
    assert bt["train_offers"] > 0 and bt["holdout_offers"] > 0 and bt["holdout_left_out"] == 0
    assert 0.5 < bt["auc"] <= 1
    for name in ("rules", "learned", "lift"):
        for metric in ("acceptance_rate", "revenue_per_contact"):
            f = bt[name][metric]
            for est in ("dr", "ips"):
                lo, hi = f[f"{est}_ci95"]
                assert lo <= f[est] <= hi
    assert bt["value_snapshot"]["as_of"] < SPLIT.isoformat()  # no look-ahead in the customers' tags


def test_cli_json_is_one_document(trained, marketing_world) -> None:
    env = {**os.environ}
    for args in (["offers", "backtest", "--tenant", "mk1", "--split", SPLIT.isoformat(), "--reps", "100", "--json"],
                 ["offers", "list", "--tenant", "mk1", "--json"],
                 ["decide", _customers(1)[0], "--tenant", "mk1", "--reason", "data_plan", "--json"]):
        run = subprocess.run([sys.executable, "-m", "callops.cli", *args], capture_output=True, text=True, env=env,
                             check=False, timeout=300)  # fmt: skip
        assert run.returncode == 0, run.stderr
        doc = json.loads(run.stdout)  # exactly one document: json.loads refuses trailing text
        assert isinstance(doc, dict)
    assert "auc" in json.loads(subprocess.run(
        [sys.executable, "-m", "callops.cli", "offers", "backtest", "--tenant", "mk1", "--split",
         SPLIT.isoformat(), "--reps", "50", "--json"], capture_output=True, text=True, env=env, check=True,
        timeout=300).stdout)  # fmt: skip
    bad = subprocess.run([sys.executable, "-m", "callops.cli", "offers", "backtest", "--tenant", "mk1", "--split",
                          "2026-13-01", "--json"], capture_output=True, text=True, env=env, check=False, timeout=300)
    assert bad.returncode == 2 and "--split" in bad.stderr and "Traceback" not in bad.stderr


def test_outcome_of_another_tenants_decision_is_not_found(trained) -> None:
    from callops.errors import NotFound

    store = Store(os.environ["CALLOPS_STORE_URL"], upgrade=False)
    offer, _ = arbitrate.offer_for("mk1", "OUT1", "voice", "billing", [], "standard", 50.0,
                                   datetime.now(UTC).date(), store=store)  # fmt: skip
    assert offer is not None
    with pytest.raises(NotFound):
        decisionlog.record_outcome(store, "mk10", offer["decision_id"], "accepted", datetime.now(UTC))
    assert decisionlog.record_outcome(store, "mk1", offer["decision_id"], "declined",
                                      datetime.now(UTC))["outcome"] == "declined"


def test_demo_step_prints_the_lift_and_decisions(trained) -> None:
    import io

    from rich.console import Console

    from callops.marketing.demo_offers import run

    buf = io.StringIO()
    with Warehouse() as wh:
        run(wh, Console(file=buf, width=200), "mk1")
    text = buf.getvalue()
    assert "propensity AUC" in text and "lift" in text and "offer propensity model v" in text
    assert text.count("decision for ") == 3 and "never during a complaint" in text
