"""Live alert rules written through ``/api/rules`` (issue 16): checked, previewed, versioned, and taken up by the
running live engine without a restart - the in-process hub at once, another process's hub by polling the store's
rule epoch - with their recipients notified through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callops.realtime.hub import LiveHub, build_hub, open_hubs, reset_hubs
from callops.realtime.state import LiveConfig
from callops.rules.live import current_epoch, store_source
from callops.store import outbox
from callops.store.db import Store

LIVE = """alerts:
  - name: long-aux
    measure: aux_s
    scope: agent
    levels: {yellow: 300, red: 600}
    clear: {yellow: 60, red: 300}
    clear_after_s: 30
    recipients:
      - {channel: inapp, to: ["role:team_lead", "user:t1-director"], levels: [red]}
"""
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rebuilt hubs here are compared with what was logged: hooks other modules registered in this process (the
    people package's adherence watch, attached after a hub's replay) stay out of it."""
    from callops.realtime import hub as hub_module

    monkeypatch.setattr(hub_module, "_ON_NEW_HUB", [])
    monkeypatch.setattr(hub_module, "_ON_NEW_ENGINE", [])


def _aux(agent: str, at: datetime, state: str = "aux") -> dict:
    return {"type": "agent.state", "ts": at.isoformat(), "tenant": "t1", "agent_id": agent, "state": state}


def test_live_rules_are_checked_as_typed(vworld) -> None:
    w, h = vworld, vworld.auth("t1", "dispatcher")
    ok = w.client.post("/api/rules/check", json={"yaml": LIVE}, headers=h)
    assert ok.status_code == 200 and ok.json() == {"ok": True, "rules": [], "live": ["long-aux"]}
    for text, word in ((LIVE.replace("aux_s", "aux_z"), "unknown measure"),
                       (LIVE.replace("clear: {yellow: 60, red: 300}", "clear: {yellow: 400}"), "below the yellow"),
                       (LIVE.replace("role:team_lead", "role:boss"), "unknown role"),
                       (LIVE.replace("channel: inapp", "channel: pigeon"), "channel"),
                       (LIVE + "extra: 1\n", "unknown section")):  # fmt: skip
        r = w.client.post("/api/rules/check", json={"yaml": text}, headers=h)
        assert r.status_code == 400 and word in r.json()["detail"], (text, r.json())
    r = w.client.put("/api/rules/aux-ghost", json={"yaml": LIVE.replace("user:t1-director", "user:nobody")},
                     headers=w.auth("t1", "director"))  # fmt: skip
    assert r.status_code == 400 and "nobody" in r.json()["detail"]


def test_live_rule_preview_replays_the_contacts(vworld) -> None:
    """The fixture's answered contacts waited 15 s: a live rule on the 30-minute ASA fires (yellow, above 10 s) when
    the last 7 days are replayed through a live engine, and never with its threshold at 20 s."""
    w = vworld
    rule = ("alerts:\n  - name: slow-answer\n    measure: asa_30m\n    scope: queue\n"
            "    levels: {yellow: 10, red: 60}\n")  # fmt: skip
    r = w.client.post("/api/rules/preview", json={"yaml": rule}, headers=w.auth("t1", "dispatcher"))
    assert r.status_code == 200, r.text
    (got,) = r.json()["rules"]
    assert got["rule"] == "slow-answer" and got["fired"] >= 1 and set(got["levels"]) == {"yellow"}
    quiet = rule.replace("yellow: 10", "yellow: 20")
    (got,) = w.client.post("/api/rules/preview", json={"yaml": quiet}, headers=w.auth("t1", "dispatcher")).json()[
        "rules"]
    assert (got["fired"], got["text"]) == (0, "would not have fired")


def test_a_saved_live_rule_reaches_the_running_hub(vworld) -> None:
    """Agent a1 has been in aux 700 s under the default long-aux rule (yellow at 1,200 s): no alert. Saving a
    stricter rule through the API raises it red at once in the running hub, with no restart, and its recipients
    (the team lead by role, the director by name) get in-app rows in the outbox."""
    w, h = vworld, vworld.auth("t1", "dispatcher")
    events = [_aux("a1", T0), _aux("a2", T0, "ready"), _aux("a2", T0 + timedelta(seconds=700), "busy")]
    assert w.client.post("/api/live/events", json=events, headers=h).json()["accepted"] == 3
    assert [a for a in w.client.get("/api/live/alerts", headers=h).json() if a["rule"] == "long-aux"] == []
    hub = open_hubs()["t1"]
    r = w.client.put("/api/rules/aux", json={"yaml": LIVE}, headers=w.auth("t1", "director"))
    assert r.status_code == 200 and r.json()["version"] == 1, r.text
    alerts = [a for a in w.client.get("/api/live/alerts", headers=h).json() if a["rule"] == "long-aux"]
    assert [(a["key"], a["level"]) for a in alerts] == [("a1", "red")]
    assert open_hubs()["t1"] is hub  # the same running hub: no restart
    with Store() as st, st.session() as s:
        sent = {m.payload["to"] for m in outbox.list_messages(s, "t1") if "long-aux" in m.dedup_key}
        assert sent == {"user:t1-team_lead", "user:t1-director"}
        assert current_epoch(s, "t1") == 1 and current_epoch(s, "t10") == 0
    # hysteresis as saved: back to ready at 700 s + 100 s; cleared only after 30 s below the clear threshold
    w.client.post("/api/live/events", json=[_aux("a1", T0 + timedelta(seconds=800), "ready")], headers=h)
    assert [a["level"] for a in w.client.get("/api/live/alerts", headers=h).json() if a["rule"] == "long-aux"] == [
        "red"]
    w.client.post("/api/live/events", json=[_aux("a1", T0 + timedelta(seconds=840), "busy")], headers=h)
    assert [a for a in w.client.get("/api/live/alerts", headers=h).json() if a["rule"] == "long-aux"] == []
    # t10's hub never heard of t1's rule
    w.client.post("/api/live/events", json=[{**_aux("b1", T0), "tenant": "t10"},
                                            {**_aux("b2", T0 + timedelta(seconds=700), "ready"), "tenant": "t10"}],
                  headers=w.auth("t10", "dispatcher"))  # fmt: skip
    assert open_hubs()["t10"].engine.book.rules[-1].rule.levels == {"yellow": 4200, "orange": 5400, "red": 7200}


def test_another_process_hub_polls_the_rule_epoch(vworld) -> None:
    """A hub this process did not open (as in ``callops live serve``) takes a saved rule up at its next batch after
    the poll interval, and a restart rebuilt from its log runs the same rules."""
    w = vworld
    # t1's durable hub, opened by the API here (not left to an earlier test: alone or on another xdist worker, the
    # save below would otherwise have no open hub to log the rule change in)
    assert w.client.get("/api/live/alerts", headers=w.auth("t1", "dispatcher")).status_code == 200
    assert "t1" in open_hubs()
    with Store() as st:
        hub = LiveHub(LiveConfig("t1"))
        assert hub.use_rules_from(store_source(st, "t1"), poll_s=0.0) in (True, False)
        before = {cr.name: cr.rule for cr in hub.engine.book.rules}
        stricter = LIVE.replace("yellow: 300, red: 600", "yellow: 100, red: 200").replace("red: 300}", "red: 150}")
        r = w.client.put("/api/rules/aux", json={"yaml": stricter}, headers=w.auth("t1", "director"))
        assert r.status_code == 200 and r.json()["version"] >= 1, r.text
        assert {cr.name: cr.rule for cr in hub.engine.book.rules} == before  # not in open_hubs: not poked
        hub.submit([_aux("a9", T0), _aux("a8", T0 + timedelta(seconds=250), "ready")])
        assert hub.engine.book.rules[-1].rule.levels == {"yellow": 100, "red": 200}
        assert [(a["key"], a["level"]) for a in hub.alerts() if a["rule"] == "long-aux"] == [("a9", "red")]
    # the durable hub of t1 (opened by the API, poked by the save) logged its rule changes: rebuilt from its log,
    # with no store at hand, it runs the latest saved rule again
    reset_hubs()
    again = build_hub("t1", "Asia/Shanghai", log=True)
    try:
        assert again.engine.book.rules[-1].rule.levels == {"yellow": 100, "red": 200}
        assert again.rules_fingerprint is not None
    finally:
        again.close()


def test_saved_indicator_rules_run_where_indicator_alerts_run(vworld) -> None:
    """A rule saved through the API joins the rules ``callops metrics alerts`` evaluates (the tenant's file or the
    default, by id), and fires on the fixture's contacts; another tenant's evaluation never sees it."""
    from callops.metrics.alerts import evaluate, load_rules
    from callops.rules.service import with_saved
    from callops.warehouse import Warehouse

    rule = ("rules:\n  - id: saved_offered\n    metric: contacts_offered\n    better: lower\n"
            "    window: {grain: year, include_current: true}\n    levels: {yellow: 0}\n")  # fmt: skip
    w = vworld
    assert w.client.put("/api/rules/offered", json={"yaml": rule}, headers=w.auth("t1", "director")).status_code == 200
    mine = with_saved(load_rules("t1"), "t1")
    assert "saved_offered" in {r.id for r in mine.rules} and "saved rules" in mine.origin
    assert {r.id for r in load_rules("t1").rules} < {r.id for r in mine.rules}  # the defaults stay
    assert "saved_offered" not in {r.id for r in with_saved(load_rules("t10"), "t10").rules}
    with Warehouse() as wh:
        fired = evaluate(wh, "t1", rules=mine, store=False)
    year = str(datetime.now(ZoneInfo("Asia/Shanghai")).year)  # the fixture's days of this local year
    want = sum(c["offered"] for day, c in w.counts["t1"].items() if day.startswith(year))
    assert [r["value"] for r in fired if r["rule"] == "saved_offered"] == ([want] if want else [])
