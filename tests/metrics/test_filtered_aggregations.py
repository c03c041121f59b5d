"""Survivors of `make mutate` on metrics/compiler.py (docs/testing.md): every aggregation a catalog may use (count
of an expression, average, min, max, distinct count) honours its measure's filter. A user catalog file over
loaded contacts; the values are computed here from the rows."""

from __future__ import annotations

import random
import statistics

import pytest
from metrics_testlib import contact

from callops.metrics.catalog import build_catalog, package_files
from callops.metrics.query import query

USER = """
measures:
  - {id: t_waits, agg: count, expr: wait_s, filter: "queue = 'q1'"}
  - {id: t_avg_wait, agg: avg, expr: wait_s, filter: "queue = 'q1'", unit: s}
  - {id: t_min_wait, agg: min, expr: wait_s, filter: "queue = 'q1'", unit: s}
  - {id: t_max_wait, agg: max, expr: wait_s, filter: "queue = 'q1'", unit: s}
  - {id: t_queues, agg: count_distinct, expr: queue, filter: "outcome = 'answered'"}
metrics:
  - {id: t_waits, type: simple, measure: t_waits, label: {en: a, zh-CN: a}, description: x,
     unit: count, direction: neutral}
  - {id: t_avg_wait, type: simple, measure: t_avg_wait, label: {en: b, zh-CN: b}, description: x,
     unit: s, direction: neutral}
  - {id: t_min_wait, type: simple, measure: t_min_wait, label: {en: c, zh-CN: c}, description: x,
     unit: s, direction: neutral}
  - {id: t_max_wait, type: simple, measure: t_max_wait, label: {en: d, zh-CN: d}, description: x,
     unit: s, direction: neutral}
  - {id: t_queues, type: simple, measure: t_queues, label: {en: e, zh-CN: e}, description: x,
     unit: count, direction: neutral}
"""


def test_each_aggregation_keeps_only_its_filtered_rows(small_wh, load_rows) -> None:
    rng = random.Random(5)
    rows = []
    for i in range(60):
        q = rng.choice(["q1", "q2", "q3"])
        wait = None if i % 7 == 0 else float(rng.randint(1, 300))
        outcome = "answered" if q != "q3" else "abandoned"
        rows.append(contact(f"c{i}", f"2024-03-04T{8 + i // 10:02d}:{i % 10 * 5:02d}:00+08:00", outcome, wait, queue=q))
    rows.append(contact("big", "2024-03-04T15:00:00+08:00", "abandoned", 999.0, queue="q2"))  # outside q1
    rows.append(contact("nil", "2024-03-04T15:05:00+08:00", "abandoned", 0.0, queue="q3"))  # outside q1
    load_rows(small_wh, "f", "contacts", rows)
    cat = build_catalog([*package_files(), ("user/t.yaml", USER)])
    ids = ["t_waits", "t_avg_wait", "t_min_wait", "t_max_wait", "t_queues"]
    got = query(small_wh, "f", ids, grain="day", catalog=cat).to_pylist()
    assert len(got) == 1
    waits = [r["wait_s"] for r in rows if r["queue"] == "q1" and r["wait_s"] is not None]
    assert len(waits) >= 5
    assert got[0]["t_waits"] == len(waits)
    assert got[0]["t_avg_wait"] == pytest.approx(statistics.mean(waits))
    assert (got[0]["t_min_wait"], got[0]["t_max_wait"]) == (min(waits), max(waits))
    assert got[0]["t_queues"] == len({r["queue"] for r in rows if r["outcome"] == "answered"}) == 2
