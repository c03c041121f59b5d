"""Survivors of `make mutate` on realtime/alerts.py (docs/testing.md): the measures a rule reads for every window
(today included) against the state's own snapshot, and what acknowledging and resolving record."""

from __future__ import annotations

import random

import pytest
from test_state import CONFIG, contact_stream

from callops.errors import CallopsError
from callops.realtime.alerts import SCOPE_MEASURES, AlertBook, parse_rules
from callops.realtime.state import TenantState

RULES = """
alerts:
  - name: long-wait
    measure: longest_wait_s
    scope: queue
    levels: {yellow: 60, orange: 120, red: 180, black: 300}
    cooldown_s: 0
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_window_measure_a_rule_reads_is_the_snapshot_value(seed: int) -> None:
    """Counters and ratios (service level, answer and abandon rates, AHT, ASA) of the 5/15/30-minute windows and
    of today, read the way a rule reads them, equal what ``TenantState.scope_measures`` computes on its own, at
    several clocks of a random hour."""
    events, _ = contact_stream(random.Random(seed), 300)
    st = TenantState(CONFIG)
    checks = 0
    for i, e in enumerate(events):
        st.apply(e, e.ts.timestamp())
        if i % 97 and i != len(events) - 1:
            continue
        for sc in st.scopes.values():
            snap = st.scope_measures(sc)
            for name, measure in SCOPE_MEASURES.items():
                if name.rsplit("_", 1)[-1] not in ("5m", "15m", "30m", "today"):
                    continue
                got, want = measure.get(st, sc, st.now), snap[name]
                assert (got is None) == (want is None), name
                if want is not None:
                    assert got == pytest.approx(want, abs=1e-6), name
                checks += 1
    assert checks > 1000
    tenant = st.scope_measures(st.tenant_scope)
    assert tenant["answer_rate_today"] != tenant["abandon_rate_today"]  # the two rates are told apart


def test_acknowledge_and_resolve_record_who_when_and_what() -> None:
    book = AlertBook(parse_rules(RULES))
    rule = book.rules[0]
    a = book.evaluate(rule, "billing", 130.0, 1000.0)  # orange
    b = book.evaluate(rule, "tech", 190.0, 1010.0)  # red, later
    c = book.evaluate(rule, "vip", 200.0, 1005.0)  # red, earlier
    assert a and b and c
    assert [x.key for x in book.active()] == ["vip", "tech", "billing"]  # worst first, then oldest

    ack = book.acknowledge(b.alert_id, "lin", 1020.0)
    assert ack.as_dict() == {"kind": "acknowledged", "alert_id": b.alert_id, "rule": "long-wait", "scope": "queue",
                             "key": "tech", "level": "red", "prev_level": "red", "value": None, "threshold": None,
                             "at": 1020.0, "by": "lin", "note": None}  # fmt: skip
    res = book.resolve(b.alert_id, "wang", 1030.0, "moved two agents")
    assert res.as_dict() == {**ack.as_dict(), "kind": "resolved", "at": 1030.0, "by": "wang",
                             "note": "moved two agents"}  # fmt: skip
    alert = book.alerts[b.alert_id]
    assert alert.history[-2:] == [ack, res]
    assert (alert.acknowledged_by, alert.resolved_by, alert.closed_at) == ("lin", "wang", 1030.0)
    assert [x.key for x in book.active()] == ["vip", "billing"]

    with pytest.raises(CallopsError, match="only open alerts can be acknowledged"):
        book.acknowledge(b.alert_id, "lin", 1040.0)
    with pytest.raises(CallopsError, match="is already resolved"):
        book.resolve(b.alert_id, "lin", 1040.0)
    with pytest.raises(CallopsError, match="no alert 'nope'"):
        book.acknowledge("nope", "lin", 1040.0)
