"""Survivors of `make mutate` on metrics/compiler.py, third round (docs/testing.md): measures that share one
aggregate, a scope on an unfiltered measure, ``scale``, the nesting limit of derived formulas, a derived metric over a
variant ratio, ``keep_measures``, the user filter's columns, and the compiler's error messages.

A user catalog over a few loaded contacts; every value is counted here from the rows."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from metrics_testlib import contact

from callops import tenancy
from callops.errors import CallopsError
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.metrics.catalog import Catalog, build_catalog, package_files
from callops.metrics.compiler import compile_query
from callops.metrics.query import query
from callops.metrics.sources import DIMENSIONS, SOURCES
from callops.metrics.spec import Parameters
from callops.warehouse import Warehouse

_L = "label: {en: x, zh-CN: x}, description: x, direction: neutral"
CHAIN = 21  # u_d1 = u_q1, u_d2 = u_d1, ... u_d21 = u_d20
USER = f"""
measures:
  - {{id: u_all, agg: count}}
  - {{id: u_all_twin, agg: count}}
  - {{id: u_wait, agg: sum, expr: wait_s, unit: s}}
  - {{id: u_wait_twin, agg: sum, expr: wait_s, unit: s}}
  - {{id: u_q1, agg: count, filter: "queue = 'q1'"}}
metrics:
  - {{id: u_all, type: simple, measure: u_all, unit: count, scopes: [channel], {_L}}}
  - {{id: u_all_twin, type: simple, measure: u_all_twin, unit: count, {_L}}}
  - {{id: u_wait, type: simple, measure: u_wait, unit: s, {_L}}}
  - {{id: u_wait_twin, type: simple, measure: u_wait_twin, unit: s, {_L}}}
  - {{id: u_q1, type: simple, measure: u_q1, unit: count, {_L}}}
  - {{id: u_q1_pct, type: ratio, numerator: u_q1, denominator: u_all, unit: points, scale: 100, {_L}}}
  - {{id: u_sl_x2, type: derived, expr: 2 * service_level, unit: ratio, {_L}}}
  - {{id: u_ready, type: simple, measure: state_ready_s, unit: s, {_L}}}
  - {{id: u_busy, type: simple, measure: state_busy_s, unit: s, {_L}}}
""" + "".join(
    f"  - {{id: u_d{k}, type: derived, expr: u_{'q1' if k == 1 else f'd{k - 1}'}, unit: count, {_L}}}\n"
    for k in range(1, CHAIN + 1)
)

DAY1, DAY2 = "2024-03-04", "2024-03-05"


def _rows() -> list[dict]:
    """Contacts over two days: queues q1/q2, voice and chat, agents A1 (team ta) and A2 (team tb)."""
    rows = []
    for i in range(24):
        day = DAY1 if i < 14 else DAY2
        rows.append(contact(f"c{i}", f"{day}T{8 + i % 10:02d}:{i % 6 * 7:02d}:00+08:00",
                            "answered" if i % 4 else "abandoned", None if i % 5 == 0 else float(3 * i + 1),
                            queue="q1" if i % 3 else "q2", channel="chat" if i % 4 == 1 else "voice",
                            agent_id="A1" if i % 2 else "A2"))  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def loaded(metrics_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, Catalog]]:
    """Tenant ``f`` with the contacts of :func:`_rows` and two agents; the user catalog. Loaded once for the
    module (the tests only read): ``tools/mutate.py compiler`` runs the module once per mutant."""
    folder = tmp_path_factory.mktemp("compiler-mutants")
    wh = Warehouse("duckdb://:memory:")
    tenant = tenancy.create_tenant(wh, "f", "Asia/Shanghai")
    agents = [{"agent_id": "A1", "name": "a", "team": "ta"}, {"agent_id": "A2", "name": "b", "team": "tb"}]
    for table, rows in (("agents", agents), ("contacts", _rows())):
        path = folder / f"{table}.csv"
        columns = list(dict.fromkeys(k for r in rows for k in r))
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, columns)
            w.writeheader()
            w.writerows({k: "" if r.get(k) is None else r[k] for k in columns} for r in rows)
        summary = load_files(wh, tenant, table, [path], load_mapping("canonical", table))
        assert (summary.loaded, summary.rejected) == (len(rows), 0), summary
    try:
        yield wh, build_catalog([*package_files(), ("user/u.yaml", USER)])
    finally:
        wh.close()


def _by_day(rows: list[dict], keep=lambda r: True) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {DAY1: [], DAY2: []}
    for r in rows:
        if keep(r):
            out[r["offered_at"][:10]].append(r)
    return out


def test_shared_aggregates_scopes_without_a_filter_and_scale(loaded) -> None:
    """Twin measures (same aggregation, value and filter) share one aggregate and both get its value; a channel
    scope on a measure without a filter counts that channel; ``scale: 100`` makes a share a percentage."""
    wh, cat = loaded
    ids = ["u_all_twin", "u_all", "u_wait", "u_wait_twin", "u_q1", "u_all__voice", "u_all__chat", "u_q1_pct"]
    got = {str(r["period"])[:10]: r for r in query(wh, "f", ids, grain="day", catalog=cat).to_pylist()}
    assert sorted(got) == [DAY1, DAY2]
    for day, rows in _by_day(_rows()).items():
        g = got[day]
        waits = sum(r["wait_s"] for r in rows if r["wait_s"] is not None)
        q1 = sum(r["queue"] == "q1" for r in rows)
        assert g["u_all"] == g["u_all_twin"] == len(rows)
        assert g["u_wait"] == g["u_wait_twin"] == pytest.approx(waits)
        assert g["u_q1"] == q1
        assert g["u_all__voice"] == sum(r["channel"] == "voice" for r in rows) > 0
        assert g["u_all__chat"] == sum(r["channel"] == "chat" for r in rows) > 0
        assert g["u_q1_pct"] == pytest.approx(100 * q1 / len(rows))


def test_keep_measures_returns_the_measure_columns(loaded) -> None:
    wh, cat = loaded
    t = tenancy.get_tenant(wh, "f")
    table = compile_query(wh, t, cat, ["u_q1_pct", "u_all"], keep_measures=True).to_pyarrow().to_pylist()
    assert list(table[0]) == ["period", "m__u_q1", "m__u_all", "u_q1_pct", "u_all"]
    assert [(r["m__u_q1"], r["m__u_all"]) for r in table] == [
        (sum(r["queue"] == "q1" for r in rows), len(rows)) for rows in _by_day(_rows()).values()
    ]
    plain = compile_query(wh, t, cat, ["u_q1_pct", "u_all"]).to_pyarrow()
    assert plain.column_names == ["period", "u_q1_pct", "u_all"]


def test_params_default_and_a_one_day_range(loaded) -> None:
    """No parameters means the defaults; ``--from`` equal to ``--to`` is one day, not an error."""
    from datetime import date

    wh, cat = loaded
    t = tenancy.get_tenant(wh, "f")
    ids = ["service_level", "u_q1"]
    assert (compile_query(wh, t, cat, ids).to_pyarrow().to_pylist()
            == compile_query(wh, t, cat, ids, params=Parameters()).to_pyarrow().to_pylist())  # fmt: skip
    one = compile_query(wh, t, cat, ["u_q1"], start=date(2024, 3, 5), end=date(2024, 3, 5)).to_pyarrow().to_pylist()
    assert [r["u_q1"] for r in one] == [sum(r["queue"] == "q1" for r in _by_day(_rows())[DAY2])]


def test_where_on_a_joined_dimension(loaded) -> None:
    """A filter on ``team`` (joined from the agents) needs the join although no metric is grouped by team."""
    wh, cat = loaded
    got = query(wh, "f", ["u_all"], grain="day", where="team = 'ta'", catalog=cat).to_pylist()
    assert [r["u_all"] for r in got] == [len(v) for v in _by_day(_rows(), lambda r: r["agent_id"] == "A1").values()]


def test_derived_formulas_nest_at_most_twenty_deep(loaded) -> None:
    wh, cat = loaded
    got = query(wh, "f", ["u_d20", "u_q1"], grain="day", catalog=cat).to_pylist()
    assert [r["u_d20"] for r in got] == [r["u_q1"] for r in got] == [
        sum(r["queue"] == "q1" for r in rows) for rows in _by_day(_rows()).values()
    ]
    with pytest.raises(CallopsError) as exc:
        query(wh, "f", ["u_d21"], grain="day", catalog=cat)
    assert str(exc.value) == "metric 'u_q1': derived formulas nest too deeply"


@pytest.mark.parametrize("variant", ["within_t_over_answered_abandoned", "within_t_over_answered"])
def test_a_derived_metric_over_a_variant_ratio_uses_the_tenants_variant(loaded, variant: str) -> None:
    wh, cat = loaded
    params = {"sl_variant": variant}
    got = query(wh, "f", ["u_sl_x2", "service_level"], grain="day", params=params, catalog=cat).to_pylist()
    assert all(r["u_sl_x2"] == pytest.approx(2 * r["service_level"]) for r in got)
    other = "within_t_over_answered" if variant != "within_t_over_answered" else "within_t_over_answered_abandoned"
    elsewhere = query(wh, "f", ["service_level"], grain="day", params={"sl_variant": other}, catalog=cat).to_pylist()
    assert [r["u_sl_x2"] for r in got] != [2 * r["service_level"] for r in elsewhere]  # the variant matters here


def _error(wh, cat, ids, **kw) -> str:
    with pytest.raises(CallopsError) as exc:
        compile_query(wh, tenancy.get_tenant(wh, "f"), cat, ids, **kw)
    return str(exc.value)


def test_compiler_errors_name_the_problem(loaded) -> None:
    from datetime import date

    wh, cat = loaded
    assert _error(wh, cat, []) == "no metric given; see `callops metrics list`"
    assert _error(wh, cat, ["u_all"], by=["nope"]) == (
        f"unknown dimension 'nope'; expected one of: {', '.join(DIMENSIONS)}"
    )
    assert _error(wh, cat, ["u_all"], start=date(2024, 3, 5), end=date(2024, 3, 4)) == (
        "--to 2024-03-04 is before --from 2024-03-05"
    )
    states = f"(source agent_states: {', '.join(SOURCES['agent_states'].dimensions)})"
    assert _error(wh, cat, ["u_ready", "u_busy"], by=["direction", "channel"]) == (
        f"dimension 'direction' is not available for measure(s) state_busy_s, state_ready_s {states}"
    )
    assert _error(wh, cat, ["u_ready"], where="channel = 'voice'") == (
        f"dimension 'channel' is not available for measure(s) state_ready_s {states}"
    )
    assert _error(wh, cat, ["u_all"], where="queue") == (
        "--where must be a condition (e.g. channel = 'voice'), not 'queue'"
    )
    assert _error(wh, cat, ["u_all"], where="wait_s > 3").startswith("--where: ")  # not a dimension
    assert _error(wh, cat, ["u_all"], where="queue > 3") == (
        "--where: 'queue > 3' does not fit the types of its columns (IbisTypeError)"
    )
