"""Alert rules on hand-made data where the alerts that fire are worked out by hand below.

Tenant ``p`` (Asia/Shanghai), inbound voice:

* 2026-03-01: 4 answered contacts (wait 5 s) in queue q1 at 10:00-10:03 → offered 4.
* 2026-03-02, queue q1: 09:00-09:30 answered with waits 5, 10, 30, 40 → SL(20 s) = 2/4 = 0.5;
  09:30-10:00 answered 5, 50 and one abandon after 30 s → SL = 1/3.
* 2026-03-02, queue q2: 09:00-09:30 answered 5, 5 → SL 1.0; 09:30-10:00 answered 5, abandon after 60 s → 1/2.

Day 2026-03-02: offered 7 + 4 = 11, abandoned 2, answered + abandoned 11 → abandon rate 2/11.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from metrics_testlib import contact
from typer.testing import CliRunner

from callops.errors import CallopsError
from callops.metrics.alerts import Window as AlertWindow
from callops.metrics.alerts import evaluate, parse_rules, read_alerts, window_periods
from callops.metrics.cli import metrics_app
from callops.warehouse import Warehouse

SH = ZoneInfo("Asia/Shanghai")
ROWS = [
    *[contact(f"d{i}", f"2026-03-01T10:0{i}:00+08:00", "answered", 5) for i in range(4)],
    contact("a1", "2026-03-02T09:00:00+08:00", "answered", 5),
    contact("a2", "2026-03-02T09:05:00+08:00", "answered", 10),
    contact("a3", "2026-03-02T09:10:00+08:00", "answered", 30),
    contact("a4", "2026-03-02T09:20:00+08:00", "answered", 40),
    contact("a5", "2026-03-02T09:31:00+08:00", "answered", 5),
    contact("a6", "2026-03-02T09:40:00+08:00", "answered", 50),
    contact("b1", "2026-03-02T09:45:00+08:00", "abandoned", 30),
    contact("c1", "2026-03-02T09:01:00+08:00", "answered", 5, queue="q2"),
    contact("c2", "2026-03-02T09:02:00+08:00", "answered", 5, queue="q2"),
    contact("c3", "2026-03-02T09:35:00+08:00", "answered", 5, queue="q2"),
    contact("c4", "2026-03-02T09:50:00+08:00", "abandoned", 60, queue="q2"),
]

SL_RULE = """
rules:
  - id: sl
    metric: service_level
    scope: {by: [queue]}
    window: {grain: "interval:30", periods: 2, require: REQUIRE}
    levels: {yellow: 0.8, orange: 0.7, red: 0.6, black: 0.4}
"""


@pytest.fixture
def wh(small_wh, load_rows, tmp_path, monkeypatch):
    """Tenant p loaded, with a private CALLOPS_HOME so stored alerts start empty."""
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path))
    load_rows(small_wh, "p", "contacts", ROWS)
    return small_wh


def _eval(wh: Warehouse, text: str, at: str, **kw) -> list[dict]:
    rules = parse_rules(text, "test.yaml")
    return evaluate(wh, "p", datetime.fromisoformat(at), rules, **kw)


def test_sustained_breach_fires_least_severe_shared_level(wh) -> None:
    """require all: q1 is red (0.5) then black (1/3) → red; q2 is fine in the first half-hour → nothing."""
    rows = _eval(wh, SL_RULE.replace("REQUIRE", "all"), "2026-03-02T10:05:00+08:00")
    assert [(r["scope"], r["level"]) for r in rows] == [('{"queue": "q1"}', "red")]
    r = rows[0]
    assert r["period"] == "2026-03-02T09:30:00"
    assert r["value"] == pytest.approx(1 / 3)
    assert r["threshold"] == 0.6
    assert r["comparison"] == "threshold" and r["comparison_value"] is None
    inputs = json.loads(r["inputs"])
    assert [p["value"] for p in inputs["periods"]] == pytest.approx([0.5, 1 / 3])
    assert [p["level"] for p in inputs["periods"]] == ["red", "black"]
    # why: the numerator and denominator of each half-hour
    assert inputs["periods"][0]["measures"] == {"answered_within_t": 2, "answered_plus_abandoned": 4}
    assert inputs["periods"][1]["measures"] == {"answered_within_t": 1, "answered_plus_abandoned": 3}


def test_any_period_fires_worst_level(wh) -> None:
    """require any: q1 black (1/3 < 0.4), q2 red (0.5 < 0.6 in the second half-hour); black sorts first."""
    rows = _eval(wh, SL_RULE.replace("REQUIRE", "any"), "2026-03-02T10:00:00+08:00")
    assert [(json.loads(r["scope"])["queue"], r["level"], r["threshold"]) for r in rows] == [
        ("q1", "black", 0.4), ("q2", "red", 0.6),
    ]


def test_alert_text_reads_in_the_tenant_zone(wh) -> None:
    """Issue 16: evaluated at 2026-03-03 06:00 in Shanghai, which is 2026-03-02 22:00 UTC (another date); q1 on
    2026-03-02 has SL 3/7 (waits 5, 10 and 5 of 7 within 20 s; see the module docstring): red at 0.6."""
    (row, _) = _eval(wh, SL_RULE.replace("REQUIRE", "any").replace('"interval:30", periods: 2', "day, periods: 1"),
                     "2026-03-03T06:00:00+08:00", store=False)
    assert row["text"].endswith("evaluated 2026-03-03 06:00 Asia/Shanghai"), row["text"]
    assert "22:00" not in row["text"] and "queue=q1" in row["text"] and "0.4286 (threshold 0.6000)" in row["text"]


def test_window_is_the_last_complete_periods(wh) -> None:
    """At 09:59 the window is 08:30 and 09:00: 08:30 has no contacts, so a sustained breach cannot fire."""
    assert window_periods(datetime(2026, 3, 2, 9, 59, tzinfo=SH), "Asia/Shanghai",
                          AlertWindow(grain="interval:30", periods=2))[0].isoformat() == "2026-03-02T08:30:00"
    assert _eval(wh, SL_RULE.replace("REQUIRE", "all"), "2026-03-02T09:59:00+08:00") == []
    # a naive --at is the tenant's local time
    assert len(_eval(wh, SL_RULE.replace("REQUIRE", "all"), "2026-03-02T10:05:00")) == 1


def test_previous_period_change(wh) -> None:
    """Offered 4 → 11 (+175 %): a neutral metric alerts both ways (red > 0.5); `better: higher` ignores a rise."""
    text = """
rules:
  - id: jump
    metric: contacts_offered
    window: {grain: day}
    compare: previous
    levels: {yellow: 0.2, orange: 0.35, red: 0.5}
"""
    (r,) = _eval(wh, text, "2026-03-03T08:00:00+08:00")
    assert (r["level"], r["value"], r["comparison_value"], r["threshold"]) == ("red", 11, 4, 0.5)
    assert r["deviation"] == pytest.approx(7 / 4)
    assert r["period"] == "2026-03-02T00:00:00"
    assert _eval(wh, text.replace("compare: previous", "compare: previous\n    better: higher"),
                 "2026-03-03T08:00:00+08:00") == []


@pytest.mark.parametrize(
    ("extra", "level", "threshold", "deviation"),
    [
        ("", "black", 2.0, (2 / 11 - 0.05) / 0.05),  # 2.64 × worse than target
        ("    relative: false\n", "orange", 0.1, 2 / 11 - 0.05),  # 0.132 above target
    ],
)
def test_target(wh, extra: str, level: str, threshold: float, deviation: float) -> None:
    """Abandon rate 2/11 vs target 5 %: relative and absolute deviations (lower is better)."""
    relative, absolute = "{yellow: 0.2, orange: 0.5, red: 1.0, black: 2.0}", "{yellow: 0.05, orange: 0.1, red: 0.2}"
    levels = absolute if extra else relative
    text = f"""
rules:
  - id: ab
    metric: abandon_rate
    window: {{grain: day}}
    compare: target
    target: 0.05
{extra}    levels: {levels}
"""
    (r,) = _eval(wh, text, "2026-03-03T00:00:00+08:00")
    assert (r["level"], r["threshold"], r["comparison_value"]) == (level, threshold, 0.05)
    assert r["value"] == pytest.approx(2 / 11)
    assert r["deviation"] == pytest.approx(deviation)


def test_lower_is_better_threshold_scope_filter_and_params(wh) -> None:
    """ASA 09:00-10:00 in q1 = (5+10+30+40+5+50)/6 = 23.3 s > 20 → yellow; q2 (5 s) is filtered out."""
    text = """
rules:
  - id: asa
    metric: asa_s
    scope: {by: [queue], where: "queue = 'q1' or queue = 'q2'"}
    window: {grain: hour}
    levels: {yellow: 20, red: 60}
  - id: sl_t60
    metric: service_level
    window: {grain: day}
    params: {sl_threshold_s: 60}
    levels: {yellow: 0.95}
"""
    rows = _eval(wh, text, "2026-03-02T10:30:00+08:00")
    asa = [r for r in rows if r["rule"] == "asa"]
    assert [(json.loads(r["scope"]), r["level"]) for r in asa] == [({"queue": "q1"}, "yellow")]
    assert asa[0]["value"] == pytest.approx(140 / 6)
    # day 03-02 with T = 60 s: every answered contact (9) within T, abandons 2 → 9/11 < 0.95
    (sl,) = [r for r in _eval(wh, text, "2026-03-03T00:00:00+08:00") if r["rule"] == "sl_t60"]
    assert sl["value"] == pytest.approx(9 / 11)
    assert json.loads(sl["inputs"])["parameters"]["sl_threshold_s"] == 60


def test_results_are_stored_with_inputs(wh, tmp_path) -> None:
    """Fired alerts land as Parquet under $CALLOPS_HOME/alerts/<tenant>/ and read back with their inputs."""
    assert read_alerts("p").num_rows == 0
    _eval(wh, SL_RULE.replace("REQUIRE", "any"), "2026-03-02T10:00:00+08:00")
    _eval(wh, SL_RULE.replace("REQUIRE", "any"), "2026-03-02T10:00:00+08:00", store=False)
    files = list((tmp_path / "alerts" / "p").glob("*.parquet"))
    assert len(files) == 1
    table = read_alerts("p")
    assert table.num_rows == 2
    row = table.to_pylist()[0]
    assert {"rule", "metric", "scope", "period", "value", "comparison_value", "threshold", "level", "evaluated_at",
            "inputs"} <= set(row)
    assert json.loads(row["inputs"])["periods"][0]["measures"]["answered_plus_abandoned"] in (2, 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [{id: x, metric: service_levl, levels: {red: 0.5}}]", "did you mean service_level"),
        ("rules: [{id: x, metric: service_level, levels: {yellow: 0.5, red: 0.8}}]", "must decrease"),
        ("rules: [{id: x, metric: asa_s, levels: {yellow: 60, red: 20}}]", "must increase"),
        ("rules: [{id: x, metric: contacts_offered, levels: {red: 10}}]", "set `better: higher`"),
        ("rules: [{id: x, metric: asa_s, compare: target, levels: {red: 1}}]", "needs `target:`"),
        ("rules: [{id: x, metric: asa_s, compare: previous, levels: {yellow: 0.5, red: 0.2}}]", "must increase"),
        ("rules: [{id: x, metric: asa_s, levels: {purple: 1}}]", "rule 'x' levels.purple: Extra inputs"),
        ("rules: [{id: x, metric: asa_s, levels: {}}]", "at least one"),
        ("rules: [{id: x, metric: asa_s, scope: {by: [site]}, levels: {red: 1}}]", "unknown dimension 'site'"),
        ("rules: [{id: x, metric: asa_s, scope: {where: \"queue = \"}, levels: {red: 1}}]", "scope.where"),
        ("rules: [{id: x, metric: asa_s, window: {grain: fortnight}, levels: {red: 1}}]", "unknown grain"),
        ("rules: [{id: x, metric: asa_s, params: {sl_variant: nope}, levels: {red: 1}}]", "params: sl_variant"),
        ("rules: [{id: x, metric: asa_s, levels: {red: 1}}, {id: x, metric: aht_s, levels: {red: 1}}]",
         "duplicate id"),
        ("rules: [{id: x, metric: asa_s, levels: {red: 1}, wnidow: {}}]", "wnidow: Extra inputs"),
        ("rules: [", "not valid YAML"),
    ],
)
def test_validation_messages(text: str, message: str) -> None:
    """Bad rules are refused with a message naming the file, the rule and the problem."""
    with pytest.raises(CallopsError, match=r"test\.yaml") as info:
        parse_rules(text, "test.yaml")
    assert message in str(info.value)


def test_default_rules_are_valid() -> None:
    """The shipped default rules pass validation."""
    from callops.metrics.alerts import load_rules

    assert len(load_rules("nobody").rules) >= 3


def test_cli_alerts_json(tmp_path, monkeypatch, load_rows) -> None:
    """`metrics alerts --json` prints only JSON; a tenant's own rules file is used; --rules overrides it."""
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path))
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    monkeypatch.setenv("CALLOPS_WAREHOUSE", url)
    with Warehouse(url) as w:
        load_rows(w, "p", "contacts", ROWS)
    own = tmp_path / "tenants" / "p" / "alerts.yaml"
    own.parent.mkdir(parents=True)
    own.write_text(SL_RULE.replace("REQUIRE", "all"), encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(metrics_app, ["alerts", "--tenant", "p", "--at", "2026-03-02T10:05:00+08:00", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["rule"], r["level"]) for r in rows] == [("sl", "red")]
    other = tmp_path / "other.yaml"
    other.write_text(SL_RULE.replace("REQUIRE", "any"), encoding="utf-8")
    res = runner.invoke(metrics_app, ["alerts", "--tenant", "p", "--at", "2026-03-02T10:00", "--rules", str(other),
                                      "--no-store"])
    assert res.exit_code == 0, res.output
    assert "black" in res.output and "q2" in res.output
    assert read_alerts("p").num_rows == 1  # the --no-store run added nothing
    bad = runner.invoke(metrics_app, ["alerts", "--tenant", "p", "--at", "soon"])
    assert bad.exit_code != 0 and "--at" in str(bad.exception)
