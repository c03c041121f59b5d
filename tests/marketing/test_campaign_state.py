"""The automatic pause and the manager's resume, on a real SQLite store and DuckDB warehouse: a pause is an
audited state change with an in-app notification, ``paused_campaign_ids`` (what the decision path reads) sees it
at once, the evaluation pauses only what the test says to, a resume restarts the test after it, and the CLI
prints one JSON document and clear one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import campaign_world as cw
import pytest

from callops.errors import CallopsError, NotFound
from callops.marketing import state
from callops.marketing.campaigns import evaluate_tenant, set_state
from callops.store import audit, outbox
from callops.store.db import Store
from callops.store.models import utcnow
from callops.store.tenants import sync_tenants
from callops.warehouse import Warehouse


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Warehouse, Store]]:
    """t1 and t10 with generated marketing data, in the warehouse and the store."""
    home = tmp_path / "home"
    monkeypatch.setenv("CALLOPS_HOME", str(home))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    monkeypatch.delenv("CALLOPS_STORE_URL", raising=False)
    wh = Warehouse()
    cw.load(wh, "t1", "A", 8000, 3)
    cw.load(wh, "t10", "B", 3000, 4)
    store = Store()
    sync_tenants(store, wh)
    yield home, wh, store
    store.close()
    wh.close()


def test_apply_pauses_only_what_the_test_says_audited_and_notified(world: tuple) -> None:
    """C-LOSE is paused (once: a second run changes nothing), C-PAY not; the decision path sees it; the audit log
    and the outbox hold one entry each, with the evidence; t10 is untouched."""
    _, wh, store = world
    r = evaluate_tenant(wh, store, "t1", apply=True)
    assert r["paused_now"] == ["C-LOSE"]
    assert state.paused_campaign_ids("t1", store) == frozenset({"C-LOSE"})
    assert state.paused_campaign_ids("t1") == frozenset({"C-LOSE"})  # the process's store, as decide uses it
    assert state.paused_campaign_ids("t10", store) == frozenset()
    assert evaluate_tenant(wh, store, "t1", apply=True)["paused_now"] == []
    with store.session() as s:
        entries = audit.list_audit(s, "t1", object_type="campaign")
        assert [(e.action, e.object_id, e.actor) for e in entries] == [("campaign.pause", "C-LOSE",
                                                                        "campaign-evaluator")]
        assert entries[0].after["state"] == "paused" and entries[0].after["automatic"] is True
        msgs = [m for m in outbox.list_messages(s, "t1") if m.payload.get("kind") == "campaign_paused"]
        assert len(msgs) == 1 and msgs[0].payload["campaign_id"] == "C-LOSE"
        assert msgs[0].payload["evidence"]["test"]["decision"] == "pause"
        assert outbox.list_messages(s, "t10") == []
        hist = state.history(s, "t1", "C-LOSE")
        assert hist[0]["kind"] == "paused" and hist[0]["automatic"] and "SPRT" in hist[0]["reason"]


def test_resume_needs_a_reason_and_restarts_the_test(world: tuple) -> None:
    """A manager resumes with a reason (audited); the next evaluation counts no presentation before the resume,
    so the campaign is not paused again on the old evidence."""
    _, wh, store = world
    evaluate_tenant(wh, store, "t1", apply=True)
    with pytest.raises(CallopsError, match="needs a reason"):
        set_state(wh, store, "t1", "C-LOSE", "resume", actor="director", reason="  ")
    got = set_state(wh, store, "t1", "C-LOSE", "resume", actor="director", reason="new price from Monday")
    assert got["state"] == "active" and got["changed"] and got["history"][0]["reason"] == "new price from Monday"
    assert state.paused_campaign_ids("t1", store) == frozenset()
    r = evaluate_tenant(wh, store, "t1", apply=True)
    lose = next(c for c in r["campaigns"] if c["campaign_id"] == "C-LOSE")
    assert r["paused_now"] == [] and lose["evidence"]["test"]["n"] == 0 and lose["decision"] == "undecided"
    with store.session() as s:
        actions = [e.action for e in audit.list_audit(s, "t1", object_type="campaign")]
    assert actions == ["campaign.resume", "campaign.pause"]


def test_an_unknown_or_other_tenants_campaign_is_not_found(world: tuple) -> None:
    """t10 cannot pause a campaign id it does not have; nothing is written."""
    _, wh, store = world
    with store.session() as s:
        state.pause(s, "t1", "C-PAY", actor="x", reason="hand")
    with pytest.raises(NotFound, match="no campaign 'NOPE'"):
        set_state(wh, store, "t10", "NOPE", "pause", actor="x", reason="r")
    assert state.paused_campaign_ids("t10", store) == frozenset()
    assert state.paused_campaign_ids("t1", store) == frozenset({"C-PAY"})


def test_paused_ids_of_a_store_without_the_table_are_empty(tmp_path: Path) -> None:
    """A store not migrated to revision 0010 has no paused campaign (the decision must not fail)."""
    st = Store(f"sqlite:///{tmp_path / 'bare.sqlite3'}", upgrade=False)
    try:
        assert state.paused_campaign_ids("t1", st) == frozenset()
    finally:
        st.close()


def test_the_pause_state_keeps_its_time(world: tuple) -> None:
    """The state row's time is the change's (aware, UTC) and the history is newest first."""
    _, _, store = world
    t0 = utcnow() - timedelta(hours=2)
    with store.session() as s:
        state.pause(s, "t1", "C-PAY", actor="a", reason="one", now=t0)
        state.resume(s, "t1", "C-PAY", actor="b", reason="two", now=t0 + timedelta(hours=1))
        row = state.state_of(s, "t1", "C-PAY")
        assert row is not None and row.changed_at == t0 + timedelta(hours=1) and row.state == "active"
        assert [h["reason"] for h in state.history(s, "t1", "C-PAY")] == ["two", "one"]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CALLOPS_HOME": str(home)}
    env.pop("CALLOPS_STORE_URL", None)
    env.pop("CALLOPS_WAREHOUSE", None)
    return subprocess.run([sys.executable, "-m", "callops.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_cli_evaluate_apply_resume_and_bad_input(world: tuple, tmp_path: Path) -> None:
    """``evaluate --json`` is one document with the issue's keys; ``--apply`` pauses; ``resume`` with a reason;
    an unknown campaign, a bad date and a bad cost file are one line on stderr, exit code 2."""
    home, wh, _store = world
    wh.close()  # the CLI opens the warehouse itself
    r = _cli(home, "campaign", "evaluate", "--tenant", "t1", "--apply", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    for c in doc["campaigns"]:
        for key in ("campaign_id", "presented", "accepted", "cost", "return", "cost_return_ratio", "score",
                    "decision", "evidence"):
            assert key in c
    assert doc["paused_now"] == ["C-LOSE"]
    r = _cli(home, "campaign", "resume", "C-LOSE", "--tenant", "t1", "--reason", "trial", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["state"] == "active", r.stderr
    r = _cli(home, "campaign", "show", "C-PAY", "--tenant", "t1", "--grain", "week", "--json")
    assert r.returncode == 0, r.stderr
    trend = json.loads(r.stdout)["campaign"]["trend"]["points"]
    assert sum(p["presented"] for p in trend) == next(c["presented"] for c in doc["campaigns"]
                                                      if c["campaign_id"] == "C-PAY")
    bad = tmp_path / "dup.yaml"
    bad.write_text("campaigns:\n  - {campaign_id: C-PAY}\n  - {campaign_id: C-PAY}\n", encoding="utf-8")
    for args, message in (
        (("campaign", "resume", "NOPE", "--tenant", "t1", "--reason", "x"), "no campaign 'NOPE'"),
        (("campaign", "evaluate", "--tenant", "t1", "--from", "2026-13-01"), "--from '2026-13-01'"),
        (("campaign", "evaluate", "--tenant", "t1", "--costs", str(bad)), "dup.yaml, line 3: repeated campaign"),
        (("campaign", "show", "NOPE", "--tenant", "t1"), "no campaign 'NOPE'"),
    ):
        r = _cli(home, *args)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
