"""`callops qa …` end to end (a real process, a real warehouse and store in a temporary home), and tenants
whose names are prefixes of each other (t1, t10) never see each other's QA data."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import qa_world

from callops.quality import service
from callops.quality import store as qstore
from callops.store.db import Store
from callops.store.tenants import sync_tenants
from callops.warehouse import Warehouse

CALLOPS = Path(sys.executable).parent / "callops"


def run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CALLOPS_HOME": str(home)}
    env.pop("CALLOPS_WAREHOUSE", None)
    env.pop("CALLOPS_STORE_URL", None)
    return subprocess.run([str(CALLOPS), *args], capture_output=True, text=True, env=env, timeout=180)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("qa")
    home = tmp / "home"
    os.environ["CALLOPS_HOME"] = str(home)
    try:
        with Warehouse() as wh:
            qa_world.build(wh, tmp, "t1", seed=1, bad_item=True)
            (tmp / "t10").mkdir()
            qa_world.build(wh, tmp / "t10", "t10", seed=2, agents=5)
            with Store() as st:
                sync_tenants(st, wh)
    finally:
        os.environ.pop("CALLOPS_HOME", None)
    return home


def test_sample_size_json(world: Path) -> None:
    res = run(world, "qa", "sample-size", "--sd", "12", "--margin", "3", "--population", "400", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert (doc["n"], doc["n_without_fpc"]) == (54, 62)
    bad = run(world, "qa", "sample-size", "--sd", "12", "--margin", "-1", "--json")
    assert bad.returncode == 2 and bad.stdout == "" and len(bad.stderr.strip().splitlines()) == 1


def test_agreement_json_on_a_long_file(world: Path, tmp_path: Path) -> None:
    from test_agreement import K2011_ALPHA, k2011_ratings

    path = tmp_path / "ratings.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["contact", "evaluator", "score"])
        w.writerows([[u, r, v] for u, r, v in k2011_ratings()])
    res = run(world, "qa", "agreement", str(path), "--unit-col", "contact", "--rater-col", "evaluator",
              "--value-col", "score", "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert {k: round(v, 3) for k, v in doc["alpha"].items()} == K2011_ALPHA
    assert doc["icc"] is None and "fleiss_kappa" in doc
    with path.open("a") as f:
        f.write(",qa1,3\n")
    bad = run(world, "qa", "agreement", str(path), "--unit-col", "contact", "--rater-col", "evaluator",
              "--value-col", "score", "--json")  # fmt: skip
    assert bad.returncode == 2 and f"row {len(k2011_ratings()) + 2}, column contact" in bad.stderr


def test_plan_draw_ranking_and_isolation(world: Path, tmp_path: Path) -> None:
    plan = run(world, "qa", "plan", "--tenant", "t1", "--period", "2026-11", "--margin", "5", "--json")
    assert plan.returncode == 0, plan.stderr
    doc = json.loads(plan.stdout)
    assert len(doc["agents"]) == 12 and all(a["population"] == 60 for a in doc["agents"])
    again = json.loads(run(world, "qa", "plan", "--tenant", "t1", "--period", "2026-11", "--margin", "5",
                           "--json").stdout)  # fmt: skip
    assert again == doc  # seeded: the same draw
    t10 = json.loads(run(world, "qa", "plan", "--tenant", "t10", "--period", "2026-11", "--margin", "5",
                         "--json").stdout)  # fmt: skip
    assert {a["agent_id"] for a in t10["agents"]} == {f"A{i:03d}" for i in range(5)}
    assert all(d["contact_id"].startswith("t10-") for a in t10["agents"] for d in a["draw"])

    out = tmp_path / "draw.xlsx"
    draw = run(world, "qa", "draw", "--tenant", "t1", "--period", "2026-11", "--margin", "5", "--out", str(out),
               "--json")  # fmt: skip
    assert draw.returncode == 0, draw.stderr
    summary = json.loads(draw.stdout)
    assert summary["risk"] > 0 and out.stat().st_size > 0

    rank = run(world, "qa", "ranking", "--tenant", "t1", "--period", "2026-11", "--top", "3", "--json")
    assert rank.returncode == 0, rank.stderr
    agents = json.loads(rank.stdout)["agents"]
    keys = {"agent_id", "n", "mean", "shrunk_mean", "interval", "rank_interval", "p_top", "reliability"}
    assert all(keys <= set(a) for a in agents)
    assert sum(a["p_top"] for a in agents) == pytest.approx(3.0, abs=1e-9)  # exactly K agents are in the top K
    # risk-stream contacts recorded by the draw are left out of agent scores
    with Warehouse(f"duckdb://{world / 'warehouse.duckdb'}", read_only=True) as wh, \
            Store(f"sqlite:///{world / 'store.sqlite3'}") as st:  # fmt: skip
        risk = qstore.risk_contacts(st, "t1")
        assert risk and not qstore.risk_contacts(st, "t10")
        kept = service.routine_scores(wh, "t1", "2026-11", st)
        assert not {r["contact_id"] for r in kept} & risk
        assert any(r["plan"] and r["plan"]["stream"] == "routine" for r in kept)  # scores record their plan
        assert all(r["form"] == "hotline_voice@1" for r in kept)

    score = run(world, "qa", "score", "--tenant", "t1", "--period", "2026-11", "--json")
    rejects = json.loads(score.stdout)["rejects"]
    assert [r["evaluation_id"] for r in rejects] == ["BAD-1"] and "smile" in rejects[0]["reason"]
    t10_score = json.loads(run(world, "qa", "score", "--tenant", "t10", "--period", "2026-11", "--json").stdout)
    assert not t10_score["rejects"] and {e["agent_id"] for e in t10_score["evaluations"]} <= {
        f"A{i:03d}" for i in range(5)}

    coach = run(world, "qa", "coaching", "--tenant", "t1", "--period", "2026-11", "--json")
    assert coach.returncode == 0, coach.stderr
    c = json.loads(coach.stdout)
    assert {"coaching", "recognition", "changes", "stability"} <= set(c)


def test_coaching_tasks_are_tenant_owned(world: Path) -> None:
    res = run(world, "qa", "task", "--tenant", "t1", "--agent", "A001", "--owner", "lead1", "--reason", "decline",
              "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    task = json.loads(res.stdout)
    with Store(f"sqlite:///{world / 'store.sqlite3'}") as st:
        assert [t["id"] for t in qstore.list_tasks(st, "t1")] == [task["id"]]
        assert qstore.list_tasks(st, "t10") == []
        from callops.errors import NotFound

        with pytest.raises(NotFound):
            qstore.update_task(st, "t10", task["id"], status="done")
        assert qstore.update_task(st, "t1", task["id"], status="done", outcome="ok")["status"] == "done"
