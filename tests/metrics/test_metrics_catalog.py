"""The shipped catalog, user drop-in files, and the errors a bad definition or filter gives."""

from __future__ import annotations

from datetime import date

import pytest
from metrics_testlib import contact

from callops.errors import CallopsError
from callops.metrics.catalog import build_catalog, load_catalog, package_files
from callops.metrics.describe import render_markdown
from callops.metrics.query import query
from callops.metrics.sources import DIMENSIONS

REQUIRED = (
    "contacts_offered",
    "contacts_answered",
    "contacts_abandoned",
    "contacts_self_served",
    "service_level",
    "asa_s",
    "aht_s",
    "abandon_rate",
    "occupancy",
    "utilisation",
    "adherence",
    "shrinkage",
    "transfer_rate",
    "fcr_rate",
    "repeat_rate",
    "csat_top2",
    "nps",
    "ivr_containment",
    "true_containment",
    "e_channel_share",
    "offer_rate",
    "offer_acceptance_rate",
    "revenue_per_contact",
    "qa_score_mean",
)


def test_shipped_catalog_is_valid_and_large() -> None:
    """The package catalog validates, has every required id and 300+ metrics from scopes."""
    cat = build_catalog(package_files())
    assert set(REQUIRED) <= set(cat.metrics)
    assert len(cat.metrics) >= 300
    assert "service_level__voice" in cat.metrics and "aht_s__outbound" in cat.metrics
    sl = cat.metric("service_level__chat")
    assert sl.scope == (("channel", "chat"),) and sl.label.zh.startswith("服务水平")
    for m in cat.metrics.values():
        assert m.label.en and m.label.zh and m.spec.description and m.spec.unit


def test_docs_are_up_to_date() -> None:
    """docs/metrics.md is what `callops metrics docs` generates from the shipped catalog."""
    from callops.metrics.cli import DOCS_PATH

    assert DOCS_PATH.read_text(encoding="utf-8") == render_markdown(build_catalog(package_files())), (
        "docs/metrics.md is stale: run `callops metrics docs`"
    )


def _with(text: str):
    return build_catalog([*package_files(), ("user/extra.yaml", text)])


METRIC = """
metrics:
  - id: {id}
    type: {type}
    {body}
    label: {{en: X, zh-CN: 甲}}
    description: test
    unit: {unit}
    direction: higher
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (METRIC.format(id="m1", type="simple", body="measure: nope", unit="count"), "unknown measure 'nope'"),
        (METRIC.format(id="m1", type="derived", body="expr: contacts_offered + asa_s", unit="count"),
         "unit mismatch"),
        (METRIC.format(id="m1", type="ratio", body="numerator: wait_answered_s\n    denominator: answered",
                       unit="ratio"), "gives s"),
        (METRIC.format(id="service_level", type="simple", body="measure: answered", unit="count"),
         "duplicate metric id 'service_level'"),
        (METRIC.format(id="m1", type="derived", body="expr: m2 + 1", unit="count")
         + METRIC.format(id="m2", type="derived", body="expr: m1 * 2", unit="count").replace("metrics:", ""),
         "metric cycle: m1 -> m2 -> m1"),
        (METRIC.format(id="m1", type="derived", body="expr: no_such_metric * 2", unit="count"),
         "unknown metric\\(s\\) no_such_metric"),
        (METRIC.format(id="m1", type="simple", body="measure: answered\n    scopes: [planet]", unit="count"),
         "unknown scope group 'planet'"),
        (METRIC.format(id="m1", type="simple", body="measure: answered", unit="parsecs"), "unknown unit 'parsecs'"),
        (METRIC.format(id="m1", type="simple", body="measure: state_busy_s\n    scopes: [channel]", unit="s"),
         "lacks"),
        ("measures:\n  - {id: m, agg: count, filter: \"colour = 'red'\"}\n", "unknown column 'colour'"),
        ("measures:\n  - {id: m, agg: count, filter: \"(select 1) = 1\"}\n", "not allowed"),
        ("measures:\n  - {id: m, agg: sum}\n", "needs an expr"),
        ("measures:\n  - {id: m, agg: median, expr: wait_s}\n", "agg"),
        ("metrics: [\n", "not valid YAML"),
        (METRIC.format(id="m1", type="simple", body="measure: answered", unit="count").replace("zh-CN: 甲", ""),
         "zh-CN"),
    ],
)
def test_bad_definitions_give_clear_errors(text: str, message: str) -> None:
    """Each broken file is refused with a message naming the file and the problem."""
    with pytest.raises(CallopsError, match=message) as info:
        _with(text)
    assert "user/extra.yaml" in str(info.value)


def test_user_metric_dropped_in_home(small_wh, load_rows, metrics_home) -> None:
    """A YAML file in $CALLOPS_HOME/metrics adds a queryable metric."""
    folder = metrics_home / "metrics"
    folder.mkdir(exist_ok=True)
    path = folder / "mine.yaml"
    path.write_text(
        METRIC.format(id="long_waits", type="ratio",
                      body="numerator: long_wait\n    denominator: answered", unit="ratio")
        + "measures:\n  - {id: long_wait, agg: count, filter: \"answered_at is not null and wait_s > 30\"}\n",
        encoding="utf-8",
    )
    try:
        cat = load_catalog()
        assert "long_waits" in cat.metrics
        load_rows(small_wh, "p", "contacts", [
            contact("a", "2026-03-02T09:00:00+08:00", "answered", 10),
            contact("b", "2026-03-02T09:00:00+08:00", "answered", 50),
        ])
        rows = query(small_wh, "p", ["long_waits"], grain="day").to_pylist()
        assert rows[0]["long_waits"] == 0.5
    finally:
        path.unlink()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("colour = 'red'", "unknown column 'colour'"),
        ("queue = 'q1'; drop table contacts", "cannot parse|not allowed"),
        ("queue in (select queue from agents)", "not allowed"),
        ("contacts.queue = 'q1'", "qualified"),
        ("sleep(5) = 1", "unknown function"),
        ("", None),
    ],
)
def test_bad_filter_is_refused(small_wh, load_rows, where: str, message: str | None) -> None:
    """A filter outside the whitelist is refused before any SQL runs; an empty one is ignored."""
    load_rows(small_wh, "p", "contacts", [contact("a", "2026-03-02T09:00:00+08:00", "answered", 10)])
    if message is None:
        assert query(small_wh, "p", ["contacts_answered"], where=where).num_rows == 1
        return
    with pytest.raises(CallopsError, match=message):
        query(small_wh, "p", ["contacts_answered"], where=where)


def test_filter_and_dimension_errors(small_wh, load_rows) -> None:
    """Filters work on dimensions; unknown metrics, grains and unavailable dimensions are clear errors."""
    load_rows(small_wh, "p", "contacts", [
        contact("a", "2026-03-02T09:00:00+08:00", "answered", 10),
        contact("b", "2026-03-02T09:00:00+08:00", "answered", 10, queue="q2", channel="chat"),
    ])
    rows = query(small_wh, "p", ["contacts_answered"], where="queue = 'q2' and channel in ('chat', 'sms')")
    assert rows.to_pylist()[0]["contacts_answered"] == 1
    with pytest.raises(CallopsError, match="did you mean service_level"):
        query(small_wh, "p", ["service_levle"])
    with pytest.raises(CallopsError, match="unknown grain"):
        query(small_wh, "p", ["contacts_answered"], grain="fortnight")
    with pytest.raises(CallopsError, match="dimension 'channel' is not available"):
        query(small_wh, "p", ["occupancy"], by=["channel"])
    with pytest.raises(CallopsError, match="unknown dimension"):
        query(small_wh, "p", ["occupancy"], by=["planet"])
    with pytest.raises(CallopsError, match="before"):
        query(small_wh, "p", ["contacts_answered"], start=date(2026, 3, 2), end=date(2026, 3, 1))
    assert set(DIMENSIONS) == {"center", "queue", "channel", "direction", "business_type", "team", "agent"}
