"""Funnels, failure reasons, channel KPIs, related items, suggestions and replays on a small hand-checked log.

Tenants ``t1`` and ``t10`` (a name that starts with the other) hold different logs: nothing of one shows in
the other. Every expected number below is counted by hand from the CSV.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from journey_testlib import CONTACTS, T1_LOG, T10_LOG

from callops.errors import CallopsError, NotFound
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.journey import analysis, views
from callops.journey.events import Selection
from callops.journey.funnels import Funnel, depth, evaluate, parse_funnels
from callops.journey.replay import customer_journey
from callops.tenancy import Tenant, create_tenant, get_tenant
from callops.warehouse import Warehouse


@pytest.fixture
def world(home: Warehouse, tmp_path: Path) -> Warehouse:
    """Tenants t1 (the log above, with contacts) and t10 (one web session)."""
    for name, log in (("t1", T1_LOG), ("t10", T10_LOG)):
        t = create_tenant(home, name, "Asia/Shanghai")
        p = tmp_path / f"{name}.csv"
        p.write_text(log, encoding="utf-8")
        load_files(home, t, "journey_events", [p], load_mapping("canonical", "journey_events"))
    c = tmp_path / "contacts.csv"
    c.write_text(CONTACTS, encoding="utf-8")
    load_files(home, get_tenant(home, "t1"), "contacts", [c], load_mapping("canonical", "contacts"))
    return home


def _t(wh: Warehouse, name: str) -> Tenant:
    return get_tenant(wh, name)


def test_summary_and_isolation(world: Warehouse) -> None:
    s = views.summary(world, _t(world, "t1"))
    assert (s["events"], s["sessions"], s["steps"], s["variants"], s["edges"]) == (10, 4, 5, 4, 4)
    assert s["rework_share"] == pytest.approx(1 / 4)  # S4 repeats verify_identity
    assert s["self_loops"] == 1
    # durations: S1 60 s, S2 120 s, S3 150 s, S4 26 h = 93600 s -> median (120 + 150) / 2
    assert s["median_duration_s"] == pytest.approx(135.0)
    assert s["mean_duration_s"] == pytest.approx((60 + 120 + 150 + 93600) / 4)
    s10 = views.summary(world, _t(world, "t10"))
    assert (s10["events"], s10["sessions"]) == (1, 1)


def test_selection_by_period_and_where(world: Warehouse) -> None:
    t = _t(world, "t1")
    assert views.summary(world, t, Selection(where="channel = 'voice'"))["sessions"] == 1
    assert views.summary(world, t, Selection(where="business_type = 'data_plan'"))["sessions"] == 1
    from datetime import date

    # sessions starting on local 2026-03-04 only: S4 (its later event on 03-05 stays in)
    s = views.summary(world, t, Selection(start=date(2026, 3, 4), end=date(2026, 3, 4)))
    assert (s["sessions"], s["events"]) == (1, 3)
    with pytest.raises(CallopsError, match="unknown column"):
        views.summary(world, t, Selection(where="colour = 'red'"))


def test_dfg_waits(world: Warehouse) -> None:
    d = views.dfg(world, _t(world, "t1"))
    edges = {(e["from"], e["to"]): e for e in d["edges"]}
    e = edges[("app_login", "verify_identity")]
    assert e["count"] == 3
    assert e["mean_wait_s"] == pytest.approx((60 + 30 + 60) / 3)
    assert e["median_wait_s"] == pytest.approx(60)
    assert edges[("verify_identity", "verify_identity")]["count"] == 1
    assert d["start_steps"] == {"app_login": 3, "ivr_menu": 1}
    assert d["end_steps"] == {"verify_identity": 2, "agent": 1, "self_service": 1}


def test_failure_reasons_and_the_call_that_followed(world: Warehouse) -> None:
    rows = analysis.failure_reasons(world, _t(world, "t1"), within_h=24)
    assert len(rows) == 1
    r = rows[0]
    assert (r["reason"], r["step"], r["channel"], r["sessions"], r["then_voice_sessions"]) == (
        "identity_verification_failed", "verify_identity", "app", 2, 1)  # C1 called 2 h later; C3 never called
    assert analysis.failure_reasons(world, _t(world, "t1"), within_h=1)[0]["then_voice_sessions"] == 0


def test_channel_kpis(world: Warehouse) -> None:
    rows = {r["channel"]: r for r in analysis.channel_kpis(world, _t(world, "t1"))}
    app, voice = rows["app"], rows["voice"]
    assert app["sessions"] == 3 and voice["sessions"] == 1
    assert app["completion"] == pytest.approx(1 / 3) and app["failure"] == pytest.approx(2 / 3)
    assert app["escalation"] == 0 and voice["escalation"] == 1
    assert app["median_resolution_s"] == pytest.approx(150)


def test_related_support_confidence_lift(world: Warehouse) -> None:
    rules = {(r["if"], r["then"]): r for r in analysis.related(world, _t(world, "t1"), min_support=0, top=500)}
    # customers: C1 {billing, app_login, verify_identity, ivr_menu, agent}, C2 {data_plan, app_login,
    # verify_identity, self_service}, C3 {billing, app_login, verify_identity}
    r = rules[("step:agent", "business:billing")]
    assert (r["baskets"], r["support"], r["confidence"]) == (1, pytest.approx(1 / 3), pytest.approx(1.0))
    assert r["lift"] == pytest.approx(1.0 / (2 / 3))
    assert ("business:billing", "step:app_login") not in rules  # app_login is in every basket: lift 1, left out


FUNNELS = """funnels:
  - name: app
    steps: [app_login, {step: verify_identity, outcome: ok}, {step: self_service, outcome: ok}]
  - name: failed then call
    per: customer
    within_hours: 24
    steps: [app_login, {step: verify_identity, outcome: failed}, {step: ivr_menu, channel: voice}]
"""


def test_funnels(world: Warehouse) -> None:
    app, call = (evaluate(world, _t(world, "t1"), f) for f in parse_funnels(FUNNELS))
    assert [s["reached"] for s in app["steps"]] == [3, 1, 1]
    assert [s["fallout"] for s in app["steps"]] == [0, 2, 0]
    assert app["units"] == 4  # one of the 4 sessions never opened the app
    assert [s["reached"] for s in call["steps"]] == [3, 2, 1]


def test_funnel_depth_brute_force() -> None:
    """``depth`` against enumerating every increasing index tuple (small sequences)."""
    import itertools
    import random

    rnd = random.Random(7)
    for _ in range(300):
        names = "abc"
        steps = [rnd.choice(names) for _ in range(rnd.randint(2, 3))]
        for mode in ("eventually", "next"):
            f = Funnel(name="x", mode=mode, within_hours=rnd.choice([None, 1.0]), steps=steps)
            seq = [(rnd.choice(names), "ok", None, float(sorted(rnd.sample(range(7200), 1))[0]))
                   for _ in range(rnd.randint(0, 6))]
            seq.sort(key=lambda e: e[3])
            best = 0
            for k in range(1, len(steps) + 1):
                for idx in itertools.combinations(range(len(seq)), k):
                    ok = all(seq[i][0] == steps[j] for j, i in enumerate(idx))
                    ok &= mode == "eventually" or all(b == a + 1 for a, b in itertools.pairwise(idx))
                    ok &= f.within_hours is None or seq[idx[-1]][3] - seq[idx[0]][3] <= 3600
                    if ok:
                        best = max(best, k)
            assert depth(f, seq) == best, (steps, mode, seq)


def test_funnel_yaml_errors_name_the_line() -> None:
    with pytest.raises(CallopsError, match=r"line 3: funnel 2 at steps: List should have at least 2"):
        parse_funnels("funnels:\n  - {name: a, steps: [x, y]}\n  - name: b\n    steps: [x]\n", "f.yaml")
    with pytest.raises(CallopsError, match="top-level `funnels:`"):
        parse_funnels("steps: [a]\n", "f.yaml")


def test_suggestions_rank_by_sessions_with_evidence(world: Warehouse) -> None:
    out = analysis.suggestions(world, _t(world, "t1"))
    assert [s["rank"] for s in out] == list(range(1, len(out) + 1))
    assert [s["sessions"] for s in out] == sorted((s["sessions"] for s in out), reverse=True)
    top = out[0]
    assert (top["kind"], top["target"], top["sessions"]) == ("fallout", "verify_identity", 2)
    assert top["evidence"]["reached"] == 3
    kinds = {(s["kind"], s["target"]) for s in out}
    assert ("failure_drives_calls", "identity_verification_failed") in kinds
    assert ("loop", "verify_identity") in kinds


def test_customer_replay(world: Warehouse) -> None:
    r = customer_journey(world, _t(world, "t1"), "C1")
    assert (r["sessions"], r["steps"], r["contacts"], r["channels"]) == (2, 4, 2, ["app", "voice"])
    kinds = [x["kind"] for x in r["timeline"]]
    assert kinds == ["contact", "step", "step", "contact", "step", "step"]
    assert r["timeline"][4]["wait_s"] == pytest.approx(7140)  # 09:01 -> 11:00
    assert r["mean_csat"] == 2.0
    with pytest.raises(NotFound):
        customer_journey(world, _t(world, "t10"), "C1")  # another tenant's customer
