"""Traffic balancing in the demo's live day (issue 11, item 7): the diversion share by route and value, the rewrite
of the live events, the live engine's count per queue and reason (also after a rebuild from the log), the landed
rows, and the decision agreement on scored tenants t1/t10 (prefix names; a neighbour's customers are never
diverted)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callops import tenancy
from callops.realtime.demo import write_demo
from callops.realtime.hub import build_hub, live_dir, reset_hubs
from callops.realtime.landing import land_lines
from callops.realtime.state import LiveConfig
from callops.store.roles import Role
from callops.value import demo_balancing as db
from callops.value.decide import decide
from callops.warehouse import Warehouse

ROUTES = ("self_service_first", "ivr_payment", "normal_queue", "high_value_desk", "expert_desk", None)


@given(route=st.sampled_from(ROUTES), a=st.floats(-10, 110), b=st.floats(-10, 110))
def test_share_by_route_and_value(route: str | None, a: float, b: float) -> None:
    """Shares lie in [0, 1); only the diverting routes divert; IVR payment does not depend on the score; self-service
    first diverts more the lower the score, 0.5 at 0 and 0.15 from the class edge (30) on."""
    sa, sb = db.diversion_share(route, a), db.diversion_share(route, b)
    assert 0.0 <= sa < 1.0
    if route == "ivr_payment":
        assert sa == sb == db.IVR_PAYMENT_SHARE
    elif route == "self_service_first":
        if a <= b:
            assert sa >= sb
        assert db.diversion_share(route, 0.0) == pytest.approx(0.5)
        assert db.diversion_share(route, max(a, 30.0)) == pytest.approx(0.15)
    else:
        assert sa == 0.0


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The small live demo day (0.3 scale), each offer given a customer C0..C299 by its contact number."""
    out = tmp_path_factory.mktemp("balance-day")
    write_demo(out, 0.3, 2.0, 5)
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    n = 0
    for e in events:
        if e["type"] == "contact.offered":
            e["customer_id"] = f"C{n % 300}"
            n += 1
    return out, events


def route_table(customer: str) -> tuple[str | None, float | None]:
    """C0..C99 self-service first (score = number / 4), C100..C149 IVR payment, the rest a normal queue."""
    n = int(customer[1:])
    if n < 100:
        return "self_service_first", n / 4
    return ("ivr_payment", 80.0) if n < 150 else ("normal_queue", 50.0)


def _route_of(e: dict[str, Any]) -> tuple[str | None, float | None]:
    return route_table(e["customer_id"])


def test_rewrite_recounted(day: tuple[Path, list[dict[str, Any]]]) -> None:
    """Exactly the first legs whose draw is below the share are diverted (recounted here from the hash); they keep
    their offer, get a diverted event with the route, and lose their answer, end and later legs; the rest is
    untouched and in time order; applying it twice changes nothing."""
    _, events = day
    out, summary = db.divert_events(events, _route_of, seed=3)
    expected: dict[str, str] = {}
    for e in events:
        if e["type"] == "contact.offered" and "-" not in e["contact_id"] and e["queue"] not in db.NEVER_QUEUES:
            route, score = route_table(e["customer_id"])
            if db.uniform(e["contact_id"], 3) < db.diversion_share(route, score):
                expected[e["contact_id"]] = route  # type: ignore[assignment]
    assert expected and summary["diverted"] == len(expected)
    got = {e["contact_id"]: e["reason"] for e in out if e["type"] == "contact.diverted"}
    assert got == expected
    by = Counter((e["queue"], e["reason"]) for e in out if e["type"] == "contact.diverted")
    assert {(q, r): n for q, per in summary["by_queue"].items() for r, n in per.items()} == dict(by)
    for e in out:
        cid = e.get("contact_id")
        if cid is not None and cid.split("-")[0] in expected:
            assert e["type"] in ("contact.offered", "contact.diverted") and cid in expected
    kept = [e for e in events if e.get("contact_id") is None or e["contact_id"].split("-")[0] not in expected]
    assert [e for e in out if e.get("contact_id") is None or e["contact_id"] not in expected] == kept
    ts = [e["ts"] for e in out]
    assert ts == sorted(ts, key=lambda s: s)  # same zone throughout: ISO strings order by time
    # the share by route in aggregate: IVR payment ≈ 0.6 of the eligible first legs of its customers
    elig = [e for e in events if e["type"] == "contact.offered" and "-" not in e["contact_id"]
            and e["queue"] not in db.NEVER_QUEUES and route_table(e["customer_id"])[0] == "ivr_payment"]  # fmt: skip
    share = sum(1 for e in elig if e["contact_id"] in expected) / len(elig)
    assert share == pytest.approx(db.IVR_PAYMENT_SHARE, abs=0.08)
    again, s2 = db.divert_events(out, _route_of, seed=3)
    assert again == out and s2["diverted"] == 0


def test_live_engine_counts_and_landed_rows(day: tuple[Path, list[dict[str, Any]]], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The hub counts diverted legs per queue (tiles) and per queue and reason (``diversions``), equal to a recount
    of the events; a hub rebuilt from the event log has the same; the landing writes them as self-served contacts
    with no agent, answer or wait beyond the queue entry."""
    folder, events = day
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    live = live_dir("demo")
    live.mkdir(parents=True)
    for name in ("live.yaml", "agents.csv", "schedules.csv"):
        shutil.copy(folder / name, live / name)
    (live / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    summary = db.divert_live_day(live, _route_of, seed=3)
    lines = (live / "events.jsonl").read_text().splitlines()
    diverted = [json.loads(x) for x in lines if '"contact.diverted"' in x]
    assert len(diverted) == summary["diverted"] > 0
    recount = Counter((e["queue"], e["reason"]) for e in diverted)
    reset_hubs()
    try:
        hub = build_hub("demo", "Asia/Shanghai", live, log=True)
        for i in range(0, len(lines), 1000):
            hub.submit(lines[i:i + 1000], "test")
        per = hub.diversions()
        assert {(q, r): n for q, rs in per.items() for r, n in rs.items()} == dict(recount)
        tiles = {t["key"]: t for t in hub.tiles() if t["scope"] == "queue"}
        for q in {q for q, _ in recount}:
            assert tiles[q]["diverted_today"] == sum(n for (qq, _), n in recount.items() if qq == q)
            assert tiles[q]["diverted_reasons"] == per[q]
        assert sum(t["waiting"] for t in tiles.values()) == 0  # the day is over: nobody waits, diverted or not
        hub.close()
        reset_hubs()
        again = build_hub("demo", "Asia/Shanghai", live, log=True)
        assert again.diversions() == per
        again.close()
    finally:
        reset_hubs()
    with Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}") as wh:
        tenant = tenancy.create_tenant(wh, "demo", "Asia/Shanghai")
        config = LiveConfig("demo")
        land_lines(wh, config, lines, tmp_path / "landing")
        c = tenancy.scoped(wh, tenant, "contacts")
        rows = c.filter(c.contact_id.isin([e["contact_id"] for e in diverted])).to_pyarrow().to_pylist()
    assert len(rows) == len(diverted)
    assert all(r["outcome"] == "self_served" and r["agent_id"] is None and r["answered_at"] is None
               and r["wait_s"] == 0 and r["customer_id"] for r in rows)  # fmt: skip


def test_decision_routes_agree_with_decide_and_stay_in_the_tenant(
        scored_home: tuple[Path, str, dict[str, dict[Role, str]]], tmp_path: Path) -> None:  # fmt: skip
    """On the scored tenant t1, every diverted contact's customer gets a diverting route from ``value.decide`` (the
    answer at contact time) and that route is the diverted event's reason; t1's customers offered on t10 are
    unknown there and never diverted (t10 is a prefix-named neighbour)."""
    from datetime import date

    with Warehouse() as wh:
        t1 = tenancy.get_tenant(wh, "t1")
        t10 = tenancy.get_tenant(wh, "t10")
        ids = tenancy.scoped(wh, t1, "customers").customer_id.to_pyarrow().to_pylist()
    events = []
    for i, cid in enumerate(sorted(ids)):
        for k, (queue, channel, business) in enumerate((("billing", "voice", "billing"), ("chat", "chat", "general"))):
            events.append({"type": "contact.offered", "ts": f"2026-12-06T10:{i % 60:02d}:00+08:00", "tenant": "t1",
                           "contact_id": f"X{i}{k}", "queue": queue, "channel": channel, "customer_id": cid,
                           "business_type": business})  # fmt: skip
    out, summary = db.divert_events(events, db.decision_routes("t1", date.today()), seed=1)
    assert summary["diverted"] > 20
    by_id = {e["contact_id"]: e for e in events}
    for e in out:
        if e["type"] == "contact.diverted":
            offer = by_id[e["contact_id"]]
            answer = decide(t1, offer["customer_id"], offer["channel"], offer["business_type"], offer["queue"],
                            offers=False)  # fmt: skip
            assert answer["route"] in db_routes() and answer["route"] == e["reason"]
    t10_events = [{**e, "tenant": "t10"} for e in events if not e["customer_id"].startswith("SHARED")]
    _, s10 = db.divert_events(t10_events, db.decision_routes("t10", date.today()), seed=1)
    assert s10["diverted"] == 0
    assert t10.tenant_id == "t10"


def db_routes() -> set[str]:
    """The routes that take a contact away from the agents."""
    return {"self_service_first", "ivr_payment"}


def test_demo_step_rewrites_the_live_day_and_prints_the_whatif(
        scored_home: tuple[Path, str, dict[str, dict[Role, str]]]) -> None:  # fmt: skip
    """The value step's balancing (``value.demo._balance_live_day``) rewrites t1's live day in place with the
    decision's routes, prints the diverted count per route and the what-if of the most diverted voice queue; t10's
    live folder (no day written) is left alone."""
    import io
    from datetime import date

    from rich.console import Console

    from callops.value.demo import _balance_live_day

    with Warehouse() as wh:
        t1 = tenancy.get_tenant(wh, "t1")
        t10 = tenancy.get_tenant(wh, "t10")
        ids = sorted(tenancy.scoped(wh, t1, "customers").customer_id.to_pyarrow().to_pylist())
    folder = live_dir("t1")
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"type": "contact.offered", "ts": f"2026-12-06T{9 + i // 600:02d}:{i // 10 % 60:02d}:00+08:00",
                         "tenant": "t1", "contact_id": f"Y{i}", "queue": "billing", "channel": "voice",
                         "customer_id": cid, "business_type": "billing"}) for i, cid in enumerate(ids)]  # fmt: skip
    (folder / "events.jsonl").write_text("\n".join(lines) + "\n")
    out = Console(file=io.StringIO(), width=200)
    _balance_live_day(t1, date.today(), out)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    diverted = [json.loads(x) for x in (folder / "events.jsonl").read_text().splitlines() if "contact.diverted" in x]
    assert diverted and f"live day: {len(diverted):,} of {len(ids):,} contacts diverted" in text
    assert "what-if billing" in text and "service level" in text
    _balance_live_day(t10, date.today(), out)  # no live day for t10: nothing to do, nothing written
    assert not (live_dir("t10") / "events.jsonl").exists()
