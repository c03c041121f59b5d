"""The home's serving process shows and acts on a tenant a cluster member runs (issue 17, part 4): the follower hub.

Member processes run ``t1`` and ``t10`` (prefix names) from one JetStream stream on a shared home; the app (the
real API, store and auth) reads their live rooms through :class:`~callops.realtime.follower.FollowerHub`. Every
answer is checked against a reference hub fed the same tenant's events directly (no member, no log, no follower):
the state and alerts equal it after the first half of the day, after an owner is killed and another takes over,
and after the second half. Acknowledge and resolve go through the owner (the owner's log holds them, and a rebuild
of that log equals the follower); an action with no owner running answers 503 and is applied once a member takes
the tenant; events posted to the app are refused with the subject to publish on.
"""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from nats_env import URL, require_nats
from test_live_cluster import day, hooks, member, setup_home, stream, tenant_lines, wait_for  # noqa: F401  (fixtures)

from callops import tenancy
from callops.api.app import create_app
from callops.api.encode import clean
from callops.realtime.cluster import publish_partitioned, read_position, tenant_subject
from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.eventlog import log_files
from callops.realtime.events import parse_event
from callops.realtime.hub import LiveHub, build_hub, forwarded_refs, hub_for, reset_hubs
from callops.store import tenants
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.users import create_user

TENANTS = ["t1", "t10"]


@pytest.fixture(scope="module", autouse=True)
def nats_server() -> None:
    require_nats()


def reference(home: Path, tenant: str) -> LiveHub:
    """A hub fed directly (in memory): what one engine makes of the events, as the member's hub is built."""
    folder = home / "live" / tenant
    hub = LiveHub(load_config(folder / "live.yaml", tenant), roster=load_roster(folder / "agents.csv"),
                  schedule=load_schedule(folder / "schedules.csv"))  # fmt: skip
    hub._engine_hooks()
    return hub


def as_json(doc: Any) -> Any:
    return json.loads(json.dumps(clean(doc)))


def view(client: TestClient, token: str) -> dict[str, Any]:
    """The tenant's live state (less the hub's version counter) and every alert, through the API."""
    h = {"Authorization": f"Bearer {token}"}
    state = client.get("/api/live/state", headers=h)
    alerts = client.get("/api/live/alerts", params={"active_only": "false"}, headers=h)
    assert state.status_code == alerts.status_code == 200, (state.text, alerts.text)
    return {"state": {k: v for k, v in state.json().items() if k != "version"}, "alerts": alerts.json()}


def ref_view(hub: LiveHub) -> dict[str, Any]:
    return {"state": {k: v for k, v in as_json(hub.snapshot()).items() if k != "version"},
            "alerts": as_json(hub.alerts(active_only=False))}  # fmt: skip


def logged(home: Path, tenant: str, on: str, seq: int) -> bool:
    """The owner logged ``tenant``'s stream messages up to ``seq``."""
    p = read_position(tenant, home)
    return bool(p and p.get("stream") == on and p["seq"] >= seq)


def last_seq(on: str, tenant: str) -> int:
    import asyncio

    from callops.realtime.nats_source import connect

    async def go() -> int:
        nc = await connect(URL)
        try:
            return (await nc.jetstream().get_last_msg(on, tenant_subject(on, tenant))).seq
        finally:
            await nc.close()

    return asyncio.run(go())


def test_the_app_follows_and_acts_on_a_members_tenants(day, stream: str, tmp_path: Path, hooks,  # noqa: F811
                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    demo, evs = day
    home = tmp_path / "home"
    setup_home(home, demo, "http://127.0.0.1:9")  # webhook routes never used: the members run without a sender
    store_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = Store(store_url)
    tokens = {}
    with store.session() as s:
        # t10's zone in the store puts the day's slice across midnight; its live.yaml's (Shanghai) is the member's
        for t, zone in zip(TENANTS, ("Asia/Shanghai", "America/Mexico_City"), strict=True):
            tenants.upsert_tenant(s, tenancy.Tenant(t, zone, datetime(2024, 3, 1, tzinfo=UTC)))
            tokens[t] = create_user(s, t, f"{t}-admin", Role.admin, "test")[1]
    store.close()
    lines = {t: tenant_lines(evs, t) for t in TENANTS}
    half = {t: len(lines[t]) // 2 for t in TENANTS}
    refs = {t: reference(home, t) for t in TENANTS}
    for t in TENANTS:
        refs[t].submit_batch((f"line {i}", ln) for i, ln in enumerate(lines[t][:half[t]]))
    merged = sorted((parse_event(ln).ts, t, i, ln) for t in TENANTS for i, ln in enumerate(lines[t][:half[t]]))
    publish_partitioned(URL, stream, [ln for *_, ln in merged])
    env = {**os.environ, "CALLOPS_HOME": str(home), "CALLOPS_STORE_URL": store_url}
    env.pop("CALLOPS_WAREHOUSE", None)
    monkeypatch.setenv("CALLOPS_HOME", str(home))
    monkeypatch.setenv("CALLOPS_NATS_URL", URL)
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    procs = [member("m1", stream, env, tmp_path / "m1.log", "--no-sender")]
    reset_hubs()
    try:
        ends = {t: last_seq(stream, t) for t in TENANTS}
        wait_for(lambda: all(logged(home, t, stream, ends[t]) for t in TENANTS), 90, "m1 to log the first half")
        with TestClient(create_app(store_url, console=False), raise_server_exceptions=False) as client:
            # the follower equals the reference: the owner's state as of its last logged line, each tenant its own
            for t in TENANTS:
                wait_for(lambda t=t: view(client, tokens[t]) == ref_view(refs[t]), 10, f"{t}'s follower")
            assert view(client, tokens["t1"]) != view(client, tokens["t10"])
            h1 = {"Authorization": f"Bearer {tokens['t1']}"}
            posted = client.post("/api/live/events", content=lines["t1"][half["t1"]], headers=h1)
            assert posted.status_code == 400 and f"{stream}.t.t1" in posted.json()["detail"], posted.text

            # person's actions go through the owner, and come back through its log
            open_alerts = [a for a in refs["t1"].alerts() if a["status"] == "open"]
            assert len(open_alerts) >= 3, "the first half should leave open alerts"
            first, second = open_alerts[0]["alert_id"], open_alerts[1]["alert_id"]
            acked = client.post(f"/api/live/alerts/{first}/acknowledge", headers=h1)
            assert acked.status_code == 200, acked.text
            assert acked.json()["status"] == "acknowledged" and acked.json()["acknowledged_by"] == "t1-admin"
            refs["t1"].acknowledge(first, "t1-admin")
            done = client.post(f"/api/live/alerts/{first}/resolve", json={"note": "moved two agents"}, headers=h1)
            assert done.status_code == 200 and done.json()["status"] == "resolved", done.text
            refs["t1"].resolve(first, "t1-admin", "moved two agents")
            again = client.post(f"/api/live/alerts/{first}/resolve", headers=h1)
            assert again.status_code == 400 and "already resolved" in again.json()["detail"], again.text
            unknown = client.post("/api/live/alerts/no-such-alert/acknowledge", headers=h1)
            assert unknown.status_code == 404, unknown.text
            actions = [json.loads(ln) for f in log_files("t1", home) for ln in f.read_text().splitlines()
                       if ln.startswith('{"op"')]  # fmt: skip
            assert [(a["op"], a["alert_id"], a["by"]) for a in actions] == [
                ("acknowledge", first, "t1-admin"), ("resolve", first, "t1-admin")]
            assert len({a["ref"] for a in actions}) == 2
            # an action the owner refuses (here sent past the replica's check, as a race would) comes back with
            # the owner's reason, which the replica's answer would carry
            publish_partitioned(URL, stream, [json.dumps({"op": "resolve", "alert_id": first, "by": "x",
                                                          "tenant": "t1", "ref": "raced-1"})])  # fmt: skip
            wait_for(lambda: forwarded_refs(hub_for("t1").engine).get("raced-1") is not None, 10, "the refusal")
            assert "already resolved" in forwarded_refs(hub_for("t1").engine)["raced-1"]
            # the race itself: another person's resolve reaches the owner first (the owner is paused, so the
            # replica still shows the alert open and lets ours through); ours is refused, and the answer says why
            third = open_alerts[2]["alert_id"]
            os.kill(procs[0].pid, signal.SIGSTOP)
            try:
                publish_partitioned(URL, stream, [json.dumps({"op": "resolve", "alert_id": third, "by": "other",
                                                              "tenant": "t1", "ref": "other-1"})])  # fmt: skip
                with ThreadPoolExecutor(1) as pool:
                    pending = pool.submit(client.post, f"/api/live/alerts/{third}/resolve", headers=h1)
                    time.sleep(0.5)  # well under the lease: the owner keeps the tenant
                    os.kill(procs[0].pid, signal.SIGCONT)
                    raced = pending.result(timeout=30)
            finally:
                os.kill(procs[0].pid, signal.SIGCONT)
            assert raced.status_code == 400 and "already resolved" in raced.json()["detail"], raced.text
            refs["t1"].resolve(third, "other")

            # the owner is killed; with no owner an action is not confirmed (503) but stays in the stream
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait()
            t0 = time.monotonic()
            waiting = client.post(f"/api/live/alerts/{second}/acknowledge", headers=h1)
            assert waiting.status_code == 503 and "not confirmed" in waiting.json()["detail"], waiting.text
            assert time.monotonic() - t0 < 20
            refs["t1"].acknowledge(second, "t1-admin")
            procs.append(member("m2", stream, env, tmp_path / "m2.log", "--no-sender"))
            wait_for(lambda: client.get(f"/api/live/alerts/{second}", headers=h1).json()["status"] == "acknowledged",
                     60, "the new owner to apply the waiting action")  # fmt: skip

            # the second half, through the new owner: the follower follows it into the same log files
            for t in TENANTS:
                refs[t].submit_batch((f"line {i}", ln) for i, ln in enumerate(lines[t][half[t]:], half[t]))
            rest = sorted((parse_event(ln).ts, t, i, ln) for t in TENANTS for i, ln in enumerate(lines[t][half[t]:]))
            publish_partitioned(URL, stream, [ln for *_, ln in rest])
            ends = {t: last_seq(stream, t) for t in TENANTS}
            wait_for(lambda: all(logged(home, t, stream, ends[t]) for t in TENANTS), 90, "m2 to log the second half")
            assert read_position("t1", home)["member"] == "m2"
            for t in TENANTS:
                wait_for(lambda t=t: view(client, tokens[t]) == ref_view(refs[t]), 10, f"{t}'s follower, at the end")
            final = view(client, tokens["t1"])
        for p in procs[1:]:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)
        # what the owners logged rebuilds to what the follower showed: the actions are in the log, once each
        rebuilt = build_hub("t1", log=True, home=home)
        try:
            assert ref_view(rebuilt) == final
        finally:
            rebuilt.close()
    finally:
        reset_hubs()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_log_tail_reads_complete_lines_across_days(tmp_path: Path) -> None:
    from callops.realtime.follower import LogTail

    folder = tmp_path / "live" / "t1"
    folder.mkdir(parents=True)
    day1 = folder / "events-20260301.jsonl"
    day1.write_text('{"a":"x\u2028y"}\n{"b":', encoding="utf-8")  # a line separator inside a JSON string
    tail = LogTail("t1", tmp_path, None)
    assert [ln for _, ln in tail.read()] == ['{"a":"x\u2028y"}']
    assert tail.read() == []  # the line being written waits
    with day1.open("a") as f:
        f.write('2}\n{"torn"')
    assert [ln for _, ln in tail.read()] == ['{"b":2}']
    (folder / "events-20260302.jsonl").write_text('{"c":3}\n')
    # the owner moved on: the earlier day is read to its end (its torn line is left to the parser), then the next
    assert [ln for _, ln in tail.read()] == ['{"torn"', '{"c":3}']
    assert not tail.replaced()
    later = LogTail("t1", tmp_path, {"file": day1.name, "offset": len('{"a":"x\u2028y"}\n'.encode())})
    assert [ln for _, ln in later.read()] == ['{"b":2}', '{"torn"', '{"c":3}']
    (folder / "events-20260302.jsonl").write_text("")
    assert tail.replaced()


def test_a_forwarded_action_is_applied_once(day, tmp_path: Path, hooks) -> None:  # noqa: F811
    """Delivered twice (a batch again after a takeover), before or after a rebuild: applied and logged once."""
    from callops.errors import CallopsError

    demo, evs = day
    home = tmp_path / "home"
    setup_home(home, demo, "http://127.0.0.1:9")
    lines = tenant_lines(evs, "t1")
    hub = build_hub("t1", log=True, home=home)
    hub.submit_batch((f"line {i}", ln) for i, ln in enumerate(lines[: len(lines) // 2]))
    alert = next(a["alert_id"] for a in hub.alerts() if a["status"] == "open")
    action = {"op": "acknowledge", "alert_id": alert, "by": "lead", "tenant": "t1", "ref": "r-1"}
    try:
        assert hub.apply_forwarded(dict(action)) is True
        assert hub.apply_forwarded(dict(action)) is False
        with pytest.raises(CallopsError, match="tenant 't10'"):
            hub.apply_forwarded({**action, "tenant": "t10", "ref": "r-2"})
        with pytest.raises(CallopsError, match="not a forwarded"):
            hub.apply_forwarded({"op": "rules", "yaml": "", "token": "x", "tenant": "t1", "ref": "r-3"})
        hub.resolve(alert, "lead")  # here, after the follower's check: the forwarded resolve is refused ...
        late = {**action, "op": "resolve", "ref": "r-4"}
        with pytest.raises(CallopsError, match="already resolved") as caught:
            hub.apply_forwarded(dict(late))
        assert hub.refuse_forwarded(late, str(caught.value)) is True  # ... and logged so, with the reason
        assert hub.refuse_forwarded(late, "again") is False
        with pytest.raises(CallopsError, match="tenant 't10'"):
            hub.refuse_forwarded({**late, "tenant": "t10", "ref": "r-5"}, "not ours")
        assert forwarded_refs(hub.engine) == {"r-1": None, "r-4": str(caught.value)}
    finally:
        hub.close()
    again = build_hub("t1", log=True, home=home)
    try:
        assert again.apply_forwarded(dict(action)) is False  # the rebuilt hub knows the refs from its log
        assert forwarded_refs(again.engine) == {"r-1": None, "r-4": str(caught.value)}
        assert again.alert(alert)["acknowledged_by"] == "lead" and again.alert(alert)["status"] == "resolved"
    finally:
        again.close()
    logged_actions = [json.loads(ln) for f in log_files("t1", home) for ln in f.read_text().splitlines()
                      if ln.startswith('{"op"')]  # fmt: skip
    assert [(a["op"], a.get("ref")) for a in logged_actions] == [("acknowledge", "r-1"), ("resolve", None),
                                                                 ("refused", "r-4")]
