"""Parameter variants, zero denominators and workforce formulas on small hand-made data.

Every expected value is worked out by hand in the comments from the rows below.
"""

from __future__ import annotations

from datetime import date

import pytest
from metrics_testlib import contact

from callops.metrics.query import query

DAY = date(2026, 3, 2)
# Queue q1 on 2026-03-02 (Asia/Shanghai): 4 answered (waits 5, 20, 25, 40), 3 abandoned (waits 3, 10, 60),
# 1 callback that was offered but never answered, 1 self-served.
Q1 = [
    contact("a1", "2026-03-02T09:00:00+08:00", "answered", 5),
    contact("a2", "2026-03-02T09:01:00+08:00", "answered", 20),
    contact("a3", "2026-03-02T09:02:00+08:00", "answered", 25),
    contact("a4", "2026-03-02T09:03:00+08:00", "answered", 40),
    contact("b1", "2026-03-02T09:04:00+08:00", "abandoned", 3),
    contact("b2", "2026-03-02T09:05:00+08:00", "abandoned", 10),
    contact("b3", "2026-03-02T09:06:00+08:00", "abandoned", 60),
    contact("c1", "2026-03-02T09:07:00+08:00", "callback", 30),
    contact("s1", "2026-03-02T09:08:00+08:00", "self_served", 0),
]


@pytest.fixture
def q1(small_wh, load_rows):
    load_rows(small_wh, "p", "contacts", Q1)
    return small_wh


def _one(wh, ids, **kw):
    rows = query(wh, "p", ids, grain="day", start=DAY, end=DAY, **kw).to_pylist()
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, 2 / 7),  # answered within 20 s (a1, a2) / (4 answered + 3 abandoned)
        ({"sl_variant": "within_t_excl_abandoned_within_t"}, 2 / 5),  # / (4 + b3, the one abandon after T)
        ({"sl_variant": "within_t_over_answered"}, 2 / 4),
        ({"sl_variant": "within_t_over_offered"}, 2 / 8),  # offered = 4 + 3 + the callback c1
        ({"sl_threshold_s": 30}, 3 / 7),  # a3 (25 s) now within T
        ({"short_abandon_s": 5}, 2 / 6),  # b1 (3 s) no longer counted
        ({"short_abandon_s": 5, "sl_variant": "within_t_over_offered"}, 2 / 7),
    ],
)
def test_service_level_variants(q1, params, expected) -> None:
    """Each documented variant and threshold gives its hand-computed service level."""
    assert _one(q1, ["service_level"], params=params)["service_level"] == pytest.approx(expected)


def test_short_abandon_threshold(q1) -> None:
    """S = 5 s removes b1 from abandoned, offered and abandon rate, and counts it as a short abandon."""
    base = _one(q1, ["contacts_offered", "contacts_abandoned", "abandon_rate", "contacts_short_abandoned"])
    assert (base["contacts_offered"], base["contacts_abandoned"], base["contacts_short_abandoned"]) == (8, 3, 0)
    assert base["abandon_rate"] == pytest.approx(3 / 7)
    s5 = _one(q1, ["contacts_offered", "contacts_abandoned", "abandon_rate", "contacts_short_abandoned"],
              params={"short_abandon_s": 5})
    assert (s5["contacts_offered"], s5["contacts_abandoned"], s5["contacts_short_abandoned"]) == (7, 2, 1)
    assert s5["abandon_rate"] == pytest.approx(2 / 6)


def test_tenant_parameter_file(q1, metrics_home) -> None:
    """A tenant's metrics.yaml changes its default variant; a bad value is a clear error."""
    path = metrics_home / "tenants" / "p" / "metrics.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.write_text("parameters:\n  sl_variant: within_t_over_answered\n", encoding="utf-8")
        assert _one(q1, ["service_level"])["service_level"] == pytest.approx(0.5)
        path.write_text("parameters:\n  sl_variant: whatever\n", encoding="utf-8")
        with pytest.raises(Exception, match="sl_variant"):
            _one(q1, ["service_level"])
    finally:
        path.unlink()


def test_asa_aht_and_derived(q1) -> None:
    """ASA = mean wait of answered; unanswered = offered − answered."""
    r = _one(q1, ["asa_s", "contacts_unanswered", "answer_rate"])
    assert r["asa_s"] == pytest.approx((5 + 20 + 25 + 40) / 4)
    assert r["contacts_unanswered"] == 4
    assert r["answer_rate"] == pytest.approx(4 / 8)


def test_zero_denominator_is_null(small_wh, load_rows) -> None:
    """A day with only self-service has no ASA, service level or abandon rate (null, not 0)."""
    load_rows(small_wh, "p", "contacts", [contact("s1", "2026-03-02T09:00:00+08:00", "self_served", 0)])
    r = _one(small_wh, ["asa_s", "service_level", "abandon_rate", "contacts_answered", "ivr_containment"])
    assert r["asa_s"] is None and r["service_level"] is None and r["abandon_rate"] is None
    assert r["contacts_answered"] == 0
    assert r["ivr_containment"] == 1.0


# Customer C1: contacts on 03-02, 03-06 (4 days later) and 03-20 (14 days later); C2: one contact.
REPEATS = [
    contact("x1", "2026-03-02T10:00:00+08:00", "answered", 1, customer_id="C1", queue="q2"),
    contact("x2", "2026-03-06T10:00:00+08:00", "answered", 1, customer_id="C1", queue="q2", resolved="false"),
    contact("x3", "2026-03-20T10:00:00+08:00", "answered", 1, customer_id="C1", queue="q2"),
    contact("y1", "2026-03-02T11:00:00+08:00", "answered", 1, customer_id="C2", queue="q2"),
    contact("z1", "2026-03-02T12:00:00+08:00", "answered", 1, queue="q2"),  # unknown customer: not eligible
]


@pytest.mark.parametrize(
    ("window", "repeat", "fcr"),
    [
        (7, 1 / 4, 2 / 4),  # x1 repeated; x2 not repeated but unresolved -> FCR: x3, y1
        (3, 0 / 4, 3 / 4),  # 4 days > 3: nothing repeated; FCR: x1, x3, y1
        (15, 2 / 4, 2 / 4),  # x1 and x2 repeated; FCR: x3, y1
    ],
)
def test_repeat_window(small_wh, load_rows, window, repeat, fcr) -> None:
    """Repeat and FCR rates follow the window parameter exactly as worked out by hand."""
    load_rows(small_wh, "p", "contacts", REPEATS)
    rows = query(small_wh, "p", ["repeat_rate", "fcr_rate"], grain="month",
                 params={"repeat_window_days": window}).to_pylist()
    assert rows[0]["repeat_rate"] == pytest.approx(repeat)
    assert rows[0]["fcr_rate"] == pytest.approx(fcr)


def test_workforce_formulas(small_wh, load_rows) -> None:
    """Occupancy, utilisation, adherence and shrinkage of one agent's hand-made morning."""
    t = "2026-03-02T{}:00+08:00".format
    load_rows(small_wh, "p", "agents", [{"agent_id": "A1", "team": "T1", "center": "Hefei"}])
    load_rows(small_wh, "p", "agent_states", [
        {"agent_id": "A1", "state": "ready", "started_at": t("09:00"), "ended_at": t("09:30")},
        {"agent_id": "A1", "state": "busy", "started_at": t("09:30"), "ended_at": t("10:00")},
        {"agent_id": "A1", "state": "acw", "started_at": t("10:00"), "ended_at": t("10:10")},
        {"agent_id": "A1", "state": "aux", "started_at": t("10:10"), "ended_at": t("10:30")},
        {"agent_id": "A1", "state": "ready", "started_at": t("10:30"), "ended_at": t("11:00")},
    ])
    load_rows(small_wh, "p", "schedules", [
        {"agent_id": "A1", "activity": "work", "start_at": t("09:00"), "end_at": t("10:15")},
        {"agent_id": "A1", "activity": "break", "start_at": t("10:15"), "end_at": t("10:30")},
        {"agent_id": "A1", "activity": "work", "start_at": t("10:30"), "end_at": t("11:30")},
    ])
    rows = query(small_wh, "p", ["occupancy", "utilisation", "adherence", "shrinkage"], grain="day",
                 by=["team"]).to_pylist()
    assert len(rows) == 1 and rows[0]["team"] == "T1"
    r = rows[0]
    assert r["occupancy"] == pytest.approx(2400 / 6000)  # busy 1800 + acw 600 over that + ready 3600
    assert r["utilisation"] == pytest.approx(2400 / 7200)  # over logged-in 7200
    # work 09:00-10:15 in ready/busy/acw until 10:10 (4200 s), break 10:15-10:30 in aux (900),
    # work 10:30-11:30 ready until 11:00 (1800): 6900 of 9000 scheduled seconds
    assert r["adherence"] == pytest.approx(6900 / 9000)
    assert r["shrinkage"] == pytest.approx((9000 - 6000) / 9000)  # paid 9000, available 6000


@pytest.mark.parametrize(("mine_id", "other_id"), [("p", "other"), ("t1", "t10"), ("t10", "t1")])
def test_tenant_isolation(small_wh, load_rows, mine_id: str, other_id: str) -> None:
    """Two tenants share contact ids and a warehouse; each sees only its own rows (also when one tenant's
    name is a prefix of the other's, so a prefix match of tenant ids would leak)."""
    load_rows(small_wh, mine_id, "contacts", Q1)
    load_rows(small_wh, other_id, "contacts", [contact("a1", "2026-03-02T09:00:00+08:00", "abandoned", 100)])
    ids = ["contacts_offered", "contacts_abandoned", "max_wait_s"]
    (mine,) = query(small_wh, mine_id, ids, grain="day", start=DAY, end=DAY).to_pylist()
    assert (mine["contacts_offered"], mine["contacts_abandoned"], mine["max_wait_s"]) == (8, 3, 60)
    theirs = query(small_wh, other_id, ["contacts_offered", "contacts_answered"], grain="day").to_pylist()
    assert [(r["contacts_offered"], r["contacts_answered"]) for r in theirs] == [(1, 0)]
