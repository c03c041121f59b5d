"""The demo's live part: a sign-in token for the demo administrator, and today's live day fed and replayed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Console

from callops import demo
from callops.realtime.hub import hub_for, reset_hubs
from callops.store import Store
from callops.store.roles import Role
from callops.store.users import authenticate
from callops.warehouse import Warehouse


def test_demo_credentials_authenticate_as_demo_admin(home: Warehouse) -> None:
    demo.ensure_demo_tenant(home)
    first = demo.demo_credentials()
    second = demo.demo_credentials()  # a re-run issues a new token for the same user
    assert first != second
    with Store() as store, store.session() as s:
        for token in (first, second):
            who = authenticate(s, token)
            assert who is not None
            assert (who.tenant_id, who.user_name, who.role) == ("demo", demo.DEMO_USER, Role.admin)
        assert authenticate(s, first + "x") is None


def test_live_day_is_today_and_overload_goes_red(home: Warehouse) -> None:
    demo.ensure_demo_tenant(home)
    try:
        info = demo.start_live_day(Console(quiet=True), speed=1e9)
        hub = hub_for("demo")
        hub._replay.join(timeout=120)  # type: ignore[union-attr]
        assert not hub._replay.is_alive()  # type: ignore[union-attr]
        intake = hub.intake()
        assert intake["accepted"] == info["events"] and intake["rejected"] == 0
        assert info["fed"] > 0 and info["replaying"] > 0
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        assert datetime.fromtimestamp(hub.snapshot()["now"], ZoneInfo("Asia/Shanghai")).date() == today
        levels = {a["max_level"] for a in hub.alerts(active_only=False) if a["key"] == "billing"}
        assert "red" in levels  # the 14:00 overload on billing
    finally:
        reset_hubs()
