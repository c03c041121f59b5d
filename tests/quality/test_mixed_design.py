"""Agents with both drawn and ad-hoc evaluations: the drawn ones (this month's recorded routine draw) make the score
as a Hájek mean, the ad-hoc ones are reported beside it. Checked against recounts written here (plain loops, our
own one-way ANOVA), by hypothesis against a pandas recount, and end to end: a seeded Neyman plan on a real
warehouse and store, recorded, carried out by the demo's evaluators, and ranked."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import qa_world

from callops import tenancy
from callops.quality import data, demo_evaluations, service
from callops.quality import store as qstore
from callops.quality.forms import load_form
from callops.quality.ranking import design_groups
from callops.quality.sampling import stratum_sds
from callops.store.db import Store
from callops.store.tenants import sync_tenants
from callops.warehouse import Warehouse

P = "2026-11"


def _row(agent: str, contact: str, score: float, plan: dict | None, evaluator: str = "e1") -> dict:
    return {"agent_id": agent, "contact_id": contact, "evaluator": evaluator, "score": score, "plan": plan}


def _drawn(w: float, period: str = P) -> dict:
    return {"period": period, "stream": "routine", "weight": w}


ROWS = [
    # a: three drawn contacts (one evaluated twice), two ad-hoc, one drawn for October (ad-hoc for November)
    _row("a", "a1", 80.0, _drawn(4.0)), _row("a", "a2", 60.0, _drawn(1.0)), _row("a", "a2", 70.0, _drawn(1.0)),
    _row("a", "a3", 90.0, _drawn(2.0)), _row("a", "x1", 100.0, None), _row("a", "x2", 96.0, None),
    _row("a", "o1", 50.0, _drawn(3.0, "2026-10")),
    # b: only ad-hoc; c: only drawn; d: ad-hoc only but a risk pick would have been filtered before (not here)
    _row("b", "b1", 70.0, None), _row("b", "b2", 72.0, None), _row("b", "b3", 68.0, None), _row("b", "b4", 75.0, None),
    _row("c", "c1", 55.0, _drawn(2.0)), _row("c", "c2", 65.0, _drawn(2.0)), _row("c", "c3", 45.0, _drawn(6.0)),
    _row("d", "d1", 88.0, None), _row("d", "d2", 92.0, None),
    _row("e", "e0", 77.0, None, evaluator=""), _row("e", "e9", None, _drawn(9.0)),  # an unscored row is ignored
]  # fmt: skip


def _recount() -> dict[str, dict]:
    """What each agent's score should be made of, counted by hand from ROWS (plain loops)."""
    out: dict[str, dict] = {}
    for agent in sorted({r["agent_id"] for r in ROWS}):
        mine = [r for r in ROWS if r["agent_id"] == agent and r["score"] is not None]
        drawn = [r for r in mine if r["plan"] and r["plan"]["stream"] == "routine" and r["plan"]["period"] == P]
        if drawn:
            per_contact: dict[str, list[float]] = {}
            weight: dict[str, float] = {}
            for r in drawn:
                per_contact.setdefault(r["contact_id"], []).append(r["score"])
                weight[r["contact_id"]] = r["plan"]["weight"]
            ys = [sum(v) / len(v) for _, v in sorted(per_contact.items())]
            ws = [weight[c] for c in sorted(per_contact)]
            rest = [r["score"] for r in mine if r not in drawn]
            out[agent] = {"scores": ys, "weights": ws, "adhoc": rest}
        else:
            out[agent] = {"scores": [r["score"] for r in mine], "weights": None, "adhoc": []}
    return out


def test_mixed_agent_is_scored_on_its_drawn_contacts_by_brute_force() -> None:
    want = _recount()
    assert want["a"]["scores"] == [80.0, 65.0, 90.0] and want["a"]["adhoc"] == [100.0, 96.0, 50.0]
    rep = service.rank_rows(ROWS, P, top=2, threshold=0.0, adjust_evaluators=False)
    # variance components by our own one-way ANOVA on what the model uses (drawn contacts for a and c)
    groups = {a: np.array(v["scores"]) for a, v in want.items()}
    k, big_n = len(groups), sum(len(v) for v in groups.values())
    grand = np.concatenate(list(groups.values())).mean()
    msw = sum(((v - v.mean()) ** 2).sum() for v in groups.values()) / (big_n - k)
    msb = sum(len(v) * (v.mean() - grand) ** 2 for v in groups.values()) / (k - 1)
    n0 = (big_n - sum(len(v) ** 2 for v in groups.values()) / big_n) / (k - 1)
    tau2 = max(0.0, (msb - msw) / n0)
    assert rep["components"]["sigma2"] == pytest.approx(msw) and rep["components"]["tau2"] == pytest.approx(tau2)
    assert tau2 > 0
    mean, n_eff = {}, {}
    for a, v in want.items():
        w = v["weights"] or [1.0] * len(v["scores"])
        mean[a] = sum(wi * yi for wi, yi in zip(w, v["scores"], strict=True)) / sum(w)
        n_eff[a] = sum(w) ** 2 / sum(wi * wi for wi in w)
    prec = {a: 1.0 / (tau2 + msw / n_eff[a]) for a in want}
    mu = sum(prec[a] * mean[a] for a in want) / sum(prec.values())
    assert rep["components"]["mu"] == pytest.approx(mu)
    by = {x["agent_id"]: x for x in rep["agents"]}
    for a, v in want.items():
        x = by[a]
        lam = tau2 / (tau2 + msw / n_eff[a])
        assert x["n"] == len(v["scores"]) and x["weighted"] is (v["weights"] is not None)
        assert x["mean"] == pytest.approx(mean[a]) and x["n_effective"] == pytest.approx(n_eff[a])
        assert x["shrunk_mean"] == pytest.approx(mu + lam * (mean[a] - mu))
        if v["adhoc"]:
            assert x["adhoc"] == {"n": len(v["adhoc"]), "mean": pytest.approx(np.mean(v["adhoc"])),
                                  "adjusted_mean": pytest.approx(np.mean(v["adhoc"]))}  # fmt: skip
        else:
            assert x["adhoc"] is None
    d = rep["design"]
    assert (d["weighted_agents"], d["unweighted_agents"], d["drawn_contacts"], d["adhoc_evaluations"]) == (2, 3, 6, 3)
    # all of a's evaluations with equal weights would give another score (78.0): the rule changes the number
    assert by["a"]["mean"] == pytest.approx((4 * 80 + 1 * 65 + 2 * 90) / 7) != pytest.approx(78.0)


_plans = st.one_of(st.none(), st.builds(lambda w, p, s: {"weight": w, "period": p, "stream": s},
                                        st.sampled_from([0.5, 1.0, 2.5, 7.0]), st.sampled_from([P, "2026-10"]),
                                        st.sampled_from(["routine", "routine", "risk"])))  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 5), st.floats(0, 100), _plans), min_size=1,
                max_size=30))  # fmt: skip
def test_design_groups_match_a_pandas_recount(spec: list) -> None:
    # one draw record per contact: a contact's plan is the first one the example gives it
    plan_of: dict[str, dict | None] = {}
    rows = []
    for agent, c, score, plan in spec:
        cid = f"{agent}{c}"
        plan_of.setdefault(cid, plan)
        rows.append(_row(agent, cid, score, plan_of[cid]))
    got = design_groups(rows, P, adjust_evaluators=False)
    df = pd.DataFrame([{"agent": r["agent_id"], "contact": r["contact_id"], "score": r["score"],
                        "drawn": bool(r["plan"] and r["plan"]["stream"] == "routine" and r["plan"]["period"] == P),
                        "w": (r["plan"] or {}).get("weight")} for r in rows])  # fmt: skip
    assert sorted(got.groups) == sorted(df["agent"].unique())
    for agent, g in df.groupby("agent"):
        if g["drawn"].any():
            per = g[g["drawn"]].groupby("contact").agg(score=("score", "mean"), w=("w", "first")).sort_index()
            assert got.groups[agent] == pytest.approx(per["score"].tolist())
            assert got.weights[agent] == pytest.approx(per["w"].tolist())
            rest = g[~g["drawn"]]
            assert (got.adhoc.get(agent) or {"n": 0})["n"] == len(rest)
            if len(rest):
                assert got.adhoc[agent]["mean"] == pytest.approx(rest["score"].mean())
        else:
            assert got.weights[agent] is None and agent not in got.adhoc
            assert sorted(got.groups[agent]) == pytest.approx(sorted(g["score"].tolist()))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.floats(0, 100), min_size=1, max_size=6), min_size=1, max_size=5),
       st.lists(st.floats(-30, 30), min_size=5, max_size=5))  # fmt: skip
def test_stratum_sd_takes_each_agents_level_out(per_agent: list[list[float]], shift: list[float]) -> None:
    rows = [("s", f"A{i}", y) for i, ys in enumerate(per_agent) for y in ys]
    moved = [("s", f"A{i}", y + shift[i]) for i, ys in enumerate(per_agent) for y in ys]
    df = sum(len(v) for v in per_agent) - len(per_agent)
    got, got_moved = stratum_sds(rows), stratum_sds(moved)
    if df < 2:
        assert got == {} and got_moved == {}
        return
    ss = sum(sum((y - sum(v) / len(v)) ** 2 for y in v) for v in per_agent)
    assert got["s"] == pytest.approx((ss / df) ** 0.5, abs=1e-9)
    assert got_moved["s"] == pytest.approx(got["s"], abs=1e-6)  # agent levels are not stratum dispersion


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, Store]]:
    tmp = tmp_path_factory.mktemp("qa-mixed")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(tmp / "home"))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    with Warehouse() as wh, Store(f"sqlite:///{tmp / 'store.sqlite3'}") as st_:
        qa_world.build(wh, tmp, "t1", seed=3, agents=6)
        sync_tenants(st_, wh)
        yield wh, st_
    mp.undo()


def _evaluation_scores(wh: Warehouse, tenant: str) -> pd.DataFrame:
    """Each evaluation's score recounted from its stored item rows with the form's item weights."""
    weight = {i.id: i.weight for i in load_form().items.values()}
    t = tenancy.scoped(wh, tenant, "qa_evaluations")
    df = t.select("evaluation_id", "contact_id", "agent_id", "item", "score", "max_score", "evaluated_at").to_pandas()
    df["w"] = df["item"].map(weight)
    df["earned"], df["possible"] = df["w"] * df["score"], df["w"] * df["max_score"]
    g = df.groupby(["evaluation_id", "contact_id", "agent_id"], as_index=False).agg(
        earned=("earned", "sum"), possible=("possible", "sum"), evaluated_at=("evaluated_at", "first"))
    g["score"] = 100 * g["earned"] / g["possible"]
    return g


def test_a_recorded_neyman_draw_carried_out_makes_the_ranking_design_weighted(world: tuple[Warehouse, Store]
                                                                              ) -> None:  # fmt: skip
    wh, st_ = world
    before = _evaluation_scores(wh, "t1")
    plan = service.plan(wh, "t1", P, margin=4, strata=("channel", "risk"), allocation="neyman", seed=5)
    again = service.plan(wh, "t1", P, margin=4, strata=("channel", "risk"), allocation="neyman", seed=5)
    assert service.draw_rows(plan) == service.draw_rows(again)  # seeded: the same draw
    assert plan["stratum_sds"] and set(plan["stratum_sds"]) <= {s["stratum"] for a in plan["agents"]
                                                                for s in a["strata"]}  # fmt: skip
    rows = service.draw_rows(plan)
    qstore.save_draw(st_, "t1", P, rows, "hotline_voice@1", plan["seed"])
    routine = [r for r in rows if r["stream"] == "routine"]
    left = routine[0]["contact_id"]
    done = demo_evaluations.evaluate_draw(wh, "t1", P, rows, leave={left}, now=datetime(2026, 12, 6, tzinfo=UTC))
    already = {r["contact_id"] for r in routine} & set(before["contact_id"])
    assert done["already_evaluated"] == len(already)
    assert done["evaluated"] == len({r["contact_id"] for r in routine} - already - {left})
    after = _evaluation_scores(wh, "t1")
    new = after[~after["evaluation_id"].isin(before["evaluation_id"])]
    # one evaluation per drawn contact, in the month, by the contact's agent
    assert sorted(new["contact_id"]) == sorted({r["contact_id"] for r in routine} - already - {left})
    agent_of = {r["contact_id"]: r["agent_id"] for r in routine}
    assert all(agent_of[c] == a for c, a in zip(new["contact_id"], new["agent_id"], strict=True))
    local = pd.to_datetime(new["evaluated_at"], utc=True).dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m")
    assert set(local) == {P}
    # the ranking, recounted from the stored rows and the recorded draw
    rep = service.ranking_report(wh, "t1", P, store=st_, adjust_evaluators=False)
    drawn = {d["contact_id"]: d for d in qstore.draws(st_, "t1", P) if d["stream"] == "routine"}
    risk = {d["contact_id"] for d in qstore.draws(st_, "t1", P) if d["stream"] == "risk"}
    month = after[pd.to_datetime(after["evaluated_at"], utc=True).dt.tz_convert("Asia/Shanghai")
                  .dt.strftime("%Y-%m") == P]  # fmt: skip
    month = month[~month["contact_id"].isin(risk)]
    assert rep["design"]["weighted_agents"] == 6 and rep["design"]["adhoc_evaluations"] > 0  # mixed agents
    for a in rep["agents"]:
        mine = month[month["agent_id"] == a["agent_id"]]
        d = mine[mine["contact_id"].isin(drawn)].groupby("contact_id")["score"].mean()
        w = np.array([drawn[c]["weight"] for c in d.index])
        assert a["weighted"] and a["n"] == len(d)
        assert a["mean"] == pytest.approx(float((w * d.to_numpy()).sum() / w.sum()))
        assert a["n_effective"] == pytest.approx(float(w.sum() ** 2 / (w**2).sum()))
        rest = mine[~mine["contact_id"].isin(drawn)]
        assert (a["adhoc"] or {"n": 0})["n"] == len(rest)
        if len(rest):
            assert a["adhoc"]["mean"] == pytest.approx(float(rest["score"].mean()))
    # each score records the draw that chose its contact (what `qa score --json` and /api/qa/scores print)
    scored = service.attach_plans(data.scored(wh, "t1", P).scored, st_, "t1")
    for r in scored:
        d = drawn.get(r["contact_id"])
        if d is not None:
            assert r["plan"] == {"period": P, "stream": "routine", "stratum": d["stratum"], "seed": 5,
                                 "inclusion_probability": pytest.approx(1 / d["weight"]), "weight": d["weight"]}
        elif r["contact_id"] not in risk:
            assert r["plan"] is None
    # Neyman: the strata's weights differ, so an agent's draw is not self-weighting
    assert len({round(r["weight"], 6) for r in routine}) > 1
    assert data.latest_period(wh, "t1") == P


def test_drawn_evaluations_take_greeting_and_compliance_from_the_transcript() -> None:
    utts = [{"contact_id": "c1", "seq": 0, "speaker": "agent", "text": "您好，很高兴为您服务"},
            {"contact_id": "c1", "seq": 1, "speaker": "customer", "text": "我不知道怎么办"},  # the customer may say it
            {"contact_id": "c2", "seq": 1, "speaker": "agent", "text": "这个我也不知道"},
            {"contact_id": "c2", "seq": 0, "speaker": "agent", "text": "喂，请讲"}]  # fmt: skip
    facts = demo_evaluations.transcript_facts(utts, ["您好，很高兴为您服务"], ["不知道", "没办法"])
    assert facts == {"c1": (False, False), "c2": (True, True)}
    form = load_form()
    contacts = [{"contact_id": c, "agent_id": "A1", "resolved": True, "ended_at": datetime(2026, 11, 3, tzinfo=UTC)}
                for c in ("c1", "c2", "c3")]  # fmt: skip
    rows = demo_evaluations.simulate_rows(contacts, {"A1": 0.8}, evaluators=["q1"], severity=[0.0],
                                          greeting_missing_p=1.0, forbidden_p=1.0, form=form,
                                          period_end=datetime(2026, 12, 1, tzinfo=UTC),
                                          now=datetime(2026, 12, 6, tzinfo=UTC), seed=1, facts=facts)  # fmt: skip
    got = {(r["contact_id"], r["item"]): r["score"] for r in rows if r["item"] in ("greeting", "compliance")}
    # c1/c2 from their transcripts; c3 has none and draws with rates 1.0 (missed, said)
    assert got == {("c1", "greeting"): 10.0, ("c1", "compliance"): 20.0, ("c2", "greeting"): 0.0,
                   ("c2", "compliance"): 0.0, ("c3", "greeting"): 0.0, ("c3", "compliance"): 0.0}  # fmt: skip
    assert all(datetime(2026, 11, 3, tzinfo=UTC) <= r["evaluated_at"] < datetime(2026, 12, 1, tzinfo=UTC)
               for r in rows)  # fmt: skip


def test_regression_to_the_mean_with_design_weights_by_hand() -> None:
    from callops.quality.coaching import regression_to_mean

    prev = {"a": [60.0, 80.0, 70.0], "b": [75.0, 71.0, 73.0, 77.0], "c": [90.0, 94.0]}
    cur = {"a": [72.0, 78.0], "b": [74.0, 70.0], "c": [88.0, 85.0, 91.0]}
    wp, wc = {"a": [1.0, 3.0, 2.0], "b": None, "c": None}, {"a": [4.0, 1.0], "b": None, "c": [1.0, 1.0, 2.0]}
    ch = {x["agent_id"]: x for x in regression_to_mean(prev, cur, wp, wc)}
    # the components of the previous month, by our own one-way ANOVA
    g = {k: np.array(v) for k, v in prev.items()}
    big_n, k = sum(len(v) for v in g.values()), len(g)
    grand = np.concatenate(list(g.values())).mean()
    msw = sum(((v - v.mean()) ** 2).sum() for v in g.values()) / (big_n - k)
    msb = sum(len(v) * (v.mean() - grand) ** 2 for v in g.values()) / (k - 1)
    tau2 = max(0.0, (msb - msw) / ((big_n - sum(len(v) ** 2 for v in g.values()) / big_n) / (k - 1)))
    prec = {a: 1 / (tau2 + msw / len(v)) for a, v in g.items()}
    mu = sum(prec[a] * g[a].mean() for a in g) / sum(prec.values())
    for a in prev:
        w1 = np.array(wp[a] or [1.0] * len(prev[a]))
        w2 = np.array(wc[a] or [1.0] * len(cur[a]))
        m1, m2 = (w1 * prev[a]).sum() / w1.sum(), (w2 * cur[a]).sum() / w2.sum()
        n1, n2 = w1.sum() ** 2 / (w1**2).sum(), w2.sum() ** 2 / (w2**2).sum()
        lam = tau2 / (tau2 + msw / n1)
        expected = mu + lam * (m1 - mu)
        z = (m2 - expected) / np.sqrt(lam * msw / n1 + msw / n2)
        assert ch[a]["previous_mean"] == pytest.approx(m1) and ch[a]["current_mean"] == pytest.approx(m2)
        assert ch[a]["expected_change"] == pytest.approx(expected - m1) and ch[a]["z"] == pytest.approx(z)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(40, 100), min_size=2, max_size=6), st.floats(0.1, 30))
def test_equal_design_weights_leave_the_regression_unchanged(scores: list[float], scale: float) -> None:
    from callops.quality.coaching import regression_to_mean

    prev = {"a": scores, "b": [70.0, 72.0, 68.0], "c": [90.0, 80.0]}
    cur = {"a": scores[::-1], "b": [71.0, 69.0], "c": [85.0, 95.0, 90.0]}
    plain = regression_to_mean(prev, cur)
    same = regression_to_mean(prev, cur, {"a": [scale] * len(scores)}, {"a": [scale] * len(scores)})
    for x, y in zip(plain, same, strict=True):
        for key in ("previous_mean", "current_mean", "expected_change", "z"):
            assert x[key] == pytest.approx(y[key], abs=1e-9)


def test_a_stored_row_whose_points_match_no_option_is_rejected_and_the_rest_kept() -> None:
    from callops.quality.forms import parse_form, score_rows

    form = parse_form("""
form: opt
version: 3
sections:
  - id: s
    items:
      - {id: greet, points: 10, weight: 1}
      - {id: fraud, points: 10, weight: 3, fatal: true, options: {ok: 1, partly: 0.5, breach: 0}}
""", "opt.yaml")
    rows = [{"evaluation_id": "E1", "item": "greet", "score": 10.0, "agent_id": "A"},
            {"evaluation_id": "E1", "item": "fraud", "score": 5.0, "agent_id": "A"},  # "partly": 0.5 × 10
            {"evaluation_id": "E2", "item": "greet", "score": 10.0, "agent_id": "A"},
            {"evaluation_id": "E2", "item": "fraud", "score": 7.0, "agent_id": "A"}]  # no option is worth 7
    run = score_rows(form, rows)
    assert [r["evaluation_id"] for r in run.scored] == ["E1"]
    assert run.scored[0]["score"] == pytest.approx(100 * (10 + 3 * 5) / 40) and run.scored[0]["form"] == "opt@3"
    assert len(run.rejects) == 1 and run.rejects[0]["evaluation_id"] == "E2"
    assert "fraud" in run.rejects[0]["reason"] and "not the points of any option" in run.rejects[0]["reason"]
