"""Issue 16 leftovers of the live day: landed contacts carry the IVR time, the customer, the business and the survey
(checked against the simulator's own records), and the live engine counts diverted contacts (issue 11: traffic
balancing sending demand to self-service), by brute force over random event streams."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops import tenancy
from callops.realtime.demo import demo_model, records_to_events, table_events
from callops.realtime.engine import LiveEngine
from callops.realtime.hub import LiveHub
from callops.realtime.landing import Collector, land_lines
from callops.realtime.state import LiveConfig
from callops.sim.engine import simulate
from callops.warehouse import Warehouse

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def _ev(kind: str, sec: float, cid: str, **extra: Any) -> dict[str, Any]:
    ev = {"type": kind, "ts": (T0 + timedelta(seconds=sec)).isoformat(), "tenant": "demo", "contact_id": cid,
          "queue": extra.pop("queue", "billing")}  # fmt: skip
    if kind == "contact.offered":
        ev["channel"] = "voice"
    return {**ev, **extra}


def _history(n: int) -> pa.Table:
    """``n`` canonical contacts as the demo's history writes them: IVR time, customer, business, survey."""
    rows = []
    for i in range(n):
        offered = T0 + timedelta(seconds=40 * i)
        ivr = float(i % 4 * 15)  # 0, 15, 30, 45 s
        kind = ("answered", "abandoned", "answered", "self_served", "callback")[i % 5]
        answered = offered + timedelta(seconds=ivr + 10 + i % 7) if kind == "answered" else None
        ended = (answered or offered + timedelta(seconds=ivr + 50)) + timedelta(seconds=120)
        rows.append({"contact_id": f"h{i}", "center": "north", "queue": "billing", "channel": "voice",
                     "offered_at": offered, "answered_at": answered, "ended_at": ended, "ivr_s": ivr,
                     "outcome": kind, "agent_id": "a1" if answered else None, "customer_id": f"C{i % 9}",
                     "business_type": ("billing", "data plan", None)[i % 3],
                     "csat": float(1 + i % 5) if kind == "answered" else None,
                     "nps": float(i % 11) if kind == "answered" else None})  # fmt: skip
    return pa.Table.from_pylist(rows)


def test_landed_contacts_keep_ivr_customer_business_and_survey(home: Warehouse, tmp_path) -> None:
    """The demo's history → live events (``table_events``, as the demo's live day is made) → landed contacts: the
    same IVR time, customer, business and survey; the arrival is the IVR entry and the wait runs from the queue
    entry, as in the history."""
    history = _history(40)
    states = pa.table({"agent_id": pa.array([], pa.string()), "state": pa.array([], pa.string()),
                       "reason": pa.array([], pa.string()), "queue": pa.array([], pa.string()),
                       "started_at": pa.array([], pa.timestamp("us", tz="UTC"))})  # fmt: skip
    events = table_events(history, states, {"billing": "north"}, "demo", "Asia/Shanghai")
    tenancy.create_tenant(home, "demo", "Asia/Shanghai")
    land_lines(home, LiveConfig("demo"), [json.dumps(e) for e in events], tmp_path / "landing")
    got = {r["contact_id"]: r for r in tenancy.scoped(home, tenancy.get_tenant(home, "demo"), "contacts")
           .to_pyarrow().to_pylist()}  # fmt: skip
    want = {r["contact_id"]: r for r in history.to_pylist() if r["outcome"] != "self_served"}
    assert set(got) == set(want)
    for cid, w in want.items():
        row = got[cid]
        for col in ("customer_id", "business_type", "csat", "nps", "outcome", "ivr_s"):
            assert row[col] == w[col], (cid, col)
        assert row["offered_at"] == w["offered_at"] and row["ended_at"] == w["ended_at"], cid
        if w["answered_at"] is not None:
            entry = w["offered_at"] + timedelta(seconds=w["ivr_s"])
            assert row["wait_s"] == pytest.approx((w["answered_at"] - entry).total_seconds()), cid
    assert sum(1 for r in got.values() if r["ivr_s"]) > len(got) / 2


def test_the_simulated_live_day_carries_ivr_and_customer() -> None:
    """The small live demo's generator puts the simulator's IVR time and customer on every offer."""
    model, _ = demo_model(0.1, 2.0)
    records = simulate(model, 5)
    offers = {e["contact_id"]: e for e in records_to_events(records, model) if e["type"] == "contact.offered"}
    for c in records.contacts:
        if c[15] != "self_served":
            assert offers[c[0]].get("ivr_s") == c[10] and offers[c[0]].get("customer_id") == c[5], c[0]


def test_a_diverted_contact_lands_self_served() -> None:
    c = Collector(LiveConfig("demo"))
    from callops.realtime.events import parse_event

    for e in (_ev("contact.offered", 0, "d1", ivr_s=30.0, customer_id="C1"),
              _ev("contact.diverted", 12, "d1", reason="self_service_first")):  # fmt: skip
        c.add(parse_event(e))
    (row,), _ = c.take()
    assert row["outcome"] == "self_served" and row["ivr_s"] == 30.0 and row["customer_id"] == "C1"
    assert row["offered_at"] == T0.timestamp() - 30.0 and row["wait_s"] == 12.0


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[str, int, str]]:
    """Random legs on two queues: offered, then answered / abandoned / diverted / ended, at increasing times."""
    out = []
    for i in range(draw(st.integers(1, 30))):
        queue = draw(st.sampled_from(["billing", "tech"]))
        t = draw(st.integers(0, 3000))
        out.append(("contact.offered", t, f"c{i}", queue))
        end = draw(st.sampled_from(["contact.diverted", "contact.abandoned", "answered", "open"]))
        dt = draw(st.integers(1, 600))
        if end == "answered":
            out.append(("contact.answered", t + dt, f"c{i}", queue))
            out.append(("contact.ended", t + dt + 60, f"c{i}", queue))
        elif end != "open":
            out.append((end, t + dt, f"c{i}", queue))
    return sorted(out, key=lambda e: e[1])


@settings(max_examples=60, deadline=None)
@given(streams())
def test_the_engine_counts_diverted_contacts(stream: list) -> None:
    """``diverted_today`` per queue and tenant = the diverted legs counted by hand; ``diverted_30m`` those in the
    last 30 minutes; waiting drops when a waiting leg is diverted; answered and abandoned never include them."""
    eng = LiveEngine(LiveConfig("demo"), rules=[])
    for kind, t, cid, queue in stream:
        assert eng.submit(_ev(kind, t, cid, queue=queue))
    end = max(t for _, t, _, _ in stream)
    snap = eng.state.snapshot()["scopes"]
    for queue in ("billing", "tech"):
        div = [t for k, t, _, q in stream if k == "contact.diverted" and q == queue]
        m = snap.get(f"queue:{queue}")
        if m is None:
            assert not div
            continue
        assert m["diverted_today"] == len(div)
        # windows slide in 5-second buckets: a bucket is in the last 30 minutes while it is above now's less 360
        assert m["diverted_30m"] == len([t for t in div if t // 5 > end // 5 - 360])
        ab = [1 for k, _, _, q in stream if k == "contact.abandoned" and q == queue]
        assert m["abandoned_today"] == len(ab)
        open_legs = {c for k, _, c, q in stream if k == "contact.offered" and q == queue} - {
            c for k, _, c, q in stream if k != "contact.offered" and q == queue}
        assert m["waiting"] == len(open_legs)
    assert snap["tenant:*"]["diverted_today"] == sum(1 for k, *_ in stream if k == "contact.diverted")


def test_the_wallboard_shows_diverted() -> None:
    hub = LiveHub(LiveConfig("demo"))
    hub.submit([_ev("contact.offered", 0, "a"), _ev("contact.diverted", 5, "a", reason="ivr_payment")])
    (tile,) = [t for t in hub.tiles() if t["scope"] == "queue"]
    assert (tile["diverted_30m"], tile["diverted_today"], tile["waiting"]) == (1, 1, 0)
