"""The scenario runner and the demo hotline: schema, validation, generated tables and their rules."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml
from typer.testing import CliRunner

from callops.errors import CallopsError
from callops.sim.cli import simulate_app
from callops.sim.runner import generate_demo, run_scenario
from callops.sim.scenario import ScoreModelCfg, demo_scenario, demo_scenario_text, load_scenario, parse_scenario
from callops.tenancy import get_tenant
from callops.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]
START = date(2024, 9, 30)  # a Monday; Oct 1 (National Day) is a public holiday
DAYS = 2


def _small():
    """The hotline at a tenth of its size, with larger QA and survey samples so rates can be checked."""
    sc = demo_scenario().scaled(agents=0.1, customers=5000)
    queues = tuple(q.model_copy(update={"survey_p": 0.5}) for q in sc.queues)
    return sc.model_copy(update={"quality": sc.quality.model_copy(update={"sample_share": 0.3}), "queues": queues})


@pytest.fixture(scope="module")
def run() -> dict[str, pa.Table]:
    """Two days of the small hotline (with the non-canonical extras on contacts)."""
    return run_scenario(_small(), DAYS, seed=11, start_date=START, extras=True)


@pytest.fixture(scope="module")
def contacts(run: dict[str, pa.Table]) -> list[dict]:
    """Contacts as dicts."""
    return run["contacts"].to_pylist()


# ------------------------------------------------------------------------------------------ the scenario
def test_repo_copy_equals_package_copy() -> None:
    """scenarios/provincial_hotline.yaml (for users) and the package copy (for make demo) are identical."""
    assert (REPO / "scenarios" / "provincial_hotline.yaml").read_text(encoding="utf-8") == demo_scenario_text()


def test_demo_scenario_describes_a_provincial_hotline() -> None:
    """Three centers, >= 10 queues on six channels with self-service stages, about 600 agents, echelons 1-3."""
    sc = demo_scenario()
    assert len(sc.centers) == 3
    assert len(sc.queues) >= 10
    channels = {str(q.channel) for q in sc.queues}
    assert {"voice", "chat", "app", "web", "sms"} <= channels
    assert {s.ivr for s in sc.streams} >= {"voice_ivr", "app_flow", "web_flow", "sms_codes", "chat_bot"}
    assert 550 <= sum(g.count for g in sc.agent_groups) <= 650
    assert {e for g in sc.agent_groups for e in g.echelons} == {1, 2, 3}
    assert any(s.month_start_peak and s.month_start_peak.factor > 1 for s in sc.streams)
    assert sc.country == "CN" and all(s.dispersion_shape for s in sc.streams if s.daily_volume > 1000)
    assert sc.customers.count == 200_000


def _demo_dict() -> dict:
    return yaml.safe_load(demo_scenario_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["queues"][0].update(channel="fax"), "queues.0.channel: Input should be 'voice'"),
        (lambda d: d["streams"][0].update(queue="nowhere"), "streams.0: queue refers to unknown 'nowhere'"),
        (lambda d: d["agent_groups"][0]["skills"].update(telepathy=2), "skill refers to unknown 'telepathy'"),
        (lambda d: d["intraday"].update(short=[1.0] * 24), "profile 'short' needs 48 non-negative"),
        (lambda d: d["shifts"][0].update(start="25:00"), "shifts.0.start: String should match pattern"),
        (lambda d: d["queues"][1].update(fcr=1.5), "queues.1.fcr: Input should be less than or equal to 1"),
        (lambda d: d.pop("customers"), "customers: Field required"),
        (lambda d: d["agent_groups"][0].update(echelons={4: 0.5}), "echelons are 1, 2 or 3"),
    ],
)
def test_validation_errors_name_the_field(change, message: str) -> None:
    """Each mistake gives one CallopsError naming the scenario and the offending field."""
    data = _demo_dict()
    change(data)
    with pytest.raises(CallopsError) as err:
        parse_scenario(yaml.safe_dump(data, allow_unicode=True), "my.yaml")
    assert str(err.value).startswith("invalid scenario my.yaml: ")
    assert message in str(err.value)


def test_unreadable_scenarios(tmp_path: Path) -> None:
    """Missing files, broken YAML and non-mappings are reported plainly."""
    with pytest.raises(CallopsError, match="not found"):
        load_scenario(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(CallopsError, match="not valid YAML"):
        load_scenario(bad)
    bad.write_text("- a list", encoding="utf-8")
    with pytest.raises(CallopsError, match="must be a YAML mapping"):
        load_scenario(bad)


# -------------------------------------------------------------------------------------- generated data
def test_every_table_is_generated(run: dict[str, pa.Table]) -> None:
    """All ten canonical tables come out non-empty, with the roster, customers and campaigns complete."""
    for name, table in run.items():
        assert table.num_rows > 0, name
    assert run["agents"].num_rows == 60 and run["customers"].num_rows == 5000
    customers = run["customers"].to_pylist()
    assert {c["status"] for c in customers} == {"active", "suspended", "arrears", "churned"}
    assert {c["vip_level"] for c in customers} >= {0, 1}
    agents = run["agents"].to_pylist()
    for a in agents:
        for part in a["skills"].split(";"):
            _, lvl = part.split(":")
            assert 1 <= int(lvl) <= 5
        assert a["emergency_echelon"] in (None, 1, 2, 3)
        assert a["hire_date"] < START
    assert {a["center"] for a in agents} == {"hefei", "wuhu", "bengbu"}


def test_channels_and_outcomes(contacts: list[dict]) -> None:
    """Six channels, self-service with named failure reasons, offers with revenue only when accepted."""
    assert {c["channel"] for c in contacts} == {"voice", "chat", "app", "web", "sms"}
    assert {c["outcome"] for c in contacts} >= {"answered", "abandoned", "self_served"}
    reasons = {c["ivr_result"] for c in contacts}
    assert {"identity_verification_failed", "payment_failed", "wants_agent"} <= reasons
    offered = [c for c in contacts if c["offer_id"] is not None]
    assert offered and {c["offer_result"] for c in offered} == {"accepted", "declined"}
    for c in offered:
        assert c["outcome"] == "answered"
        assert (c["revenue"] > 0) == (c["offer_result"] == "accepted")
    assert all(c["revenue"] is None for c in contacts if c["offer_id"] is None)


def test_demo_data_loads_with_zero_rejects_and_again_unchanged(tmp_path: Path) -> None:
    """Every table goes through the normal ingest path with zero rejects; a second run changes nothing."""
    sc = demo_scenario().scaled(agents=0.1, customers=5000)
    with Warehouse(f"duckdb://{tmp_path / 'wh.duckdb'}") as wh:
        first = generate_demo(wh, "hotline", sc, days=1, seed=5, start_date=START)
        assert get_tenant(wh, "hotline").timezone == "Asia/Shanghai"
        second = generate_demo(wh, "hotline", sc, days=1, seed=5, start_date=START)
    assert len(first) == 10
    for name, s in first.items():
        assert s.rejected == 0 and s.skipped == 0, (name, s.reject_reasons)
        assert s.loaded == s.read > 0, (name, s)
    for name, s in second.items():
        assert s.unchanged == s.read and s.loaded == s.updated == s.rejected == 0, (name, s)


def _expected_score(cfg: ScoreModelCfg, mu: np.ndarray) -> np.ndarray:
    """E[clip(round(mu + sd Z), low, high)] from the normal CDF (independent of the generator)."""
    cdf = np.vectorize(lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2))))
    total = np.zeros_like(mu)
    for k in range(cfg.low, cfg.high + 1):
        lo = -np.inf if k == cfg.low else (k - 0.5 - mu) / cfg.sd
        hi = np.inf if k == cfg.high else (k + 0.5 - mu) / cfg.sd
        total += k * (cdf(hi) - cdf(lo))
    return total


def test_surveys_follow_wait_and_resolution(contacts: list[dict]) -> None:
    """Per group (resolved / not, short / long wait) mean CSAT and NPS match the model's expectation."""
    sc = _small()
    answered = [c for c in contacts if c["outcome"] == "answered"]
    assert all(c["csat"] is None for c in contacts if c["outcome"] != "answered")
    for name, cfg in (("csat", sc.surveys.csat), ("nps", sc.surveys.nps)):
        rows = [c for c in answered if c[name] is not None]
        assert len(rows) > 300, name
        score = np.array([c[name] for c in rows])
        assert score.min() >= cfg.low and score.max() <= cfg.high
        resolved = np.array([bool(c["resolved"]) for c in rows])
        wait = np.array([c["wait_s"] for c in rows])
        mu = cfg.base + cfg.resolved * resolved + cfg.wait_per_min * wait / 60
        expected = _expected_score(cfg, mu)
        for group in (resolved, ~resolved, wait > 30, wait <= 30):
            if group.sum() < 30:
                continue
            diff = score[group].mean() - expected[group].mean()
            se = score[group].std(ddof=1) / math.sqrt(group.sum())
            assert abs(diff) < 4 * se + 0.02, (name, diff, se)
        # The effect is there: resolved customers score higher on average.
        assert score[resolved].mean() > score[~resolved].mean()


def test_repeat_contacts_follow_the_rule(contacts: list[dict]) -> None:
    """A repeat has the source's customer, follows an unresolved or failed contact, within its window."""
    sc = _small()
    by_id = {c["contact_id"]: c for c in contacts}
    repeats = [c for c in contacts if c["repeat_of"] is not None]
    assert len(repeats) > 50
    ladder = {str(k): str(v) for k, v in sc.repeats.ladder.items()}
    kinds = defaultdict(int)
    for c in repeats:
        src = by_id[c["repeat_of"]]
        assert src["customer_id"] == c["customer_id"] is not None
        gap = (c["offered_at"] - src["ended_at"]).total_seconds()
        assert gap >= 0
        by_reason = sc.repeats.by_reason.get(src["ivr_result"] or "")
        if by_reason is not None and c["channel"] == str(by_reason.to) and gap <= by_reason.within_h * 3600:
            kinds["by_reason"] += 1  # e.g. identity verification failed in the app, then a voice call
            assert src["outcome"] != "self_served"
        elif ladder.get(src["channel"]) == c["channel"] and gap <= 6 * 3600:
            kinds["escalation"] += 1
            assert src["outcome"] != "self_served" or not src["resolved"]
        else:
            kinds["repeat"] += 1
            assert c["channel"] == src["channel"]
            assert not src["resolved"]
            assert gap <= sc.repeats.window_days * 86400
    assert kinds["escalation"] > 10 and kinds["repeat"] > 10 and kinds["by_reason"] > 10
    # Repeats follow unresolved contacts: none point at a resolved same-channel source.
    unresolved = [c for c in contacts if c["resolved"] is False and "-" not in c["contact_id"]
                  and c["customer_id"] is not None and c["direction"] == "inbound"]
    share = sum(1 for c in repeats if not by_id[c["repeat_of"]]["resolved"]) / len(unresolved)
    assert 0.1 < share < sc.repeats.p_unresolved + sc.repeats.escalation_p


def test_transcripts_contain_phrases_at_the_configured_rates(run: dict[str, pa.Table]) -> None:
    """The required greeting is missing, and a forbidden phrase said, at the configured rates (4 SE)."""
    q = _small().quality
    by_contact = defaultdict(list)
    for r in run["transcripts"].to_pylist():
        by_contact[r["contact_id"]].append(r)
    zh = {k: sorted(v, key=lambda r: r["seq"]) for k, v in by_contact.items() if v[0]["language"] == "zh"}
    n = len(zh)
    assert n > 300
    missing = sum(1 for rows in zh.values() if q.greeting not in rows[0]["text"])
    forbidden = sum(1 for rows in zh.values() if any(p in r["text"] for r in rows for p in q.forbidden))
    for count, p in ((missing, q.greeting_missing_p), (forbidden, q.forbidden_p)):
        assert abs(count / n - p) < 4 * math.sqrt(p * (1 - p) / n), (count, n, p)
    for rows in zh.values():
        assert [r["seq"] for r in rows] == list(range(len(rows)))
        assert all(a["end_s"] <= b["start_s"] + 1e-6 for a, b in pairwise(rows))
        assert q.closing in rows[-1]["text"]
    # QA items follow the transcript: greeting 0 iff missing, compliance 0 iff a forbidden phrase.
    evals = defaultdict(dict)
    for r in run["qa_evaluations"].to_pylist():
        evals[r["contact_id"]][r["item"]] = r["score"]
    for cid, rows in zh.items():
        said = any(p in r["text"] for r in rows for p in q.forbidden)
        assert (evals[cid]["greeting"] == 0) == (q.greeting not in rows[0]["text"])
        assert (evals[cid]["compliance"] == 0) == said


def test_journeys_are_ordered_and_reference_contacts(run: dict[str, pa.Table], contacts: list[dict]) -> None:
    """Steps of a session are numbered 0..n-1 in time order and point at contacts of the same customer."""
    by_id = {c["contact_id"]: c for c in contacts}
    sessions = defaultdict(list)
    for r in run["journey_events"].to_pylist():
        sessions[r["session_id"]].append(r)
    assert len(sessions) > 100
    multi_channel = 0
    failures = set()
    for rows in sessions.values():
        rows.sort(key=lambda r: r["seq"])
        assert [r["seq"] for r in rows] == list(range(len(rows)))
        assert all(a["ts"] <= b["ts"] for a, b in pairwise(rows))
        for r in rows:
            c = by_id[r["contact_id"]]
            assert c["customer_id"] == r["customer_id"] and c["channel"] == r["channel"]
            assert c["offered_at"] <= r["ts"] <= c["ended_at"]
            if r["outcome"] == "failed":
                failures.add(r["error_code"])
        multi_channel += len({r["channel"] for r in rows}) > 1
    assert multi_channel > 5
    assert "identity_verification_failed" in failures


def test_deterministic_for_a_seed() -> None:
    """Same scenario, days, seed and start: identical tables; another seed: different contacts."""
    sc = demo_scenario().scaled(agents=0.05, customers=2000)
    a = run_scenario(sc, 1, seed=3, start_date=START)
    b = run_scenario(sc, 1, seed=3, start_date=START)
    c = run_scenario(sc, 1, seed=4, start_date=START)
    for name in a:
        assert a[name].equals(b[name]), name
    assert not a["contacts"].equals(c["contacts"])


def test_default_start_ends_yesterday() -> None:
    """Without a start date the run covers the days that end yesterday (local time)."""
    from callops.sim.runner import run_start

    sc = demo_scenario()
    start = run_start(sc, 28)
    today = datetime.now(start.tzinfo).date()
    assert start.date() == today - timedelta(days=28)


# ------------------------------------------------------------------------------------------------- CLI
def test_cli_runs_a_scenario_file(tmp_path: Path, home: Warehouse) -> None:
    """`callops simulate --scenario FILE --days N --tenant T --json` loads every table with zero rejects."""
    home.close()  # the CLI opens the warehouse itself
    data = _demo_dict()
    for g in data["agent_groups"]:
        g["count"] = max(1, g["count"] // 20)
    for s in data["streams"]:
        s["daily_volume"] /= 20
    for o in data["outbound"]:
        o["dials_per_hour"] /= 20
    data["customers"]["count"] = 2000
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(simulate_app, ["--scenario", str(path), "--days", "1", "--tenant", "tiny",
                                               "--start", "2024-03-01", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["tenant"] == "tiny" and out["days"] == 1
    assert all(t["rejected"] == 0 for t in out["tables"].values())
    assert out["tables"]["contacts"]["loaded"] > 100


def test_cli_scenario_errors() -> None:
    """Missing options and bad dates are clear errors."""
    result = CliRunner().invoke(simulate_app, ["--days", "3"])
    assert isinstance(result.exception, CallopsError) and "--scenario" in str(result.exception)
    result = CliRunner().invoke(simulate_app, ["--scenario", "x.yaml", "--days", "3", "--tenant", "t",
                                               "--start", "March"])
    assert isinstance(result.exception, CallopsError) and "YYYY-MM-DD" in str(result.exception)
