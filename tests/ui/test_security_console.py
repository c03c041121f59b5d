"""Script injection through data, checked in Debian's Chromium (issue 21).

Names are refused at the door (live events, ingest), so to test the *mechanism* the payloads are planted behind
it: straight into the live engine (an unvalidated event) and into the warehouse (SQL). Each payload would set
``window.__pwned`` if a value ever became markup or a JavaScript-evaluated prop; the pages must show the text
and leave the flag unset. The pages must also work under the Content-Security-Policy the app sends.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from console_env import TENANT, Env, chromium, free_port, prepare, require_browser, serve, stop

pytestmark = [pytest.mark.xdist_group("ui"), pytest.mark.console]

PAYLOAD = ('qz" innerHTML="<img src=x onerror=window.__pwned=1>" :title="(window.__pwned=2)" '
           'onclick="window.__pwned=3" data-x="')  # fmt: skip
TEAM_PAYLOAD = 'tz" innerHTML="<img src=x onerror=window.__pwned=4>" :title="(window.__pwned=5)" data-x="'


def _require_browser() -> None:
    require_browser()


def _plant(env: Env) -> None:
    """A queue named PAYLOAD with a red long-wait alert in the live hub; an agent of team TEAM_PAYLOAD."""
    from callops.realtime.events import LiveEvent
    from callops.realtime.hub import hub_for
    from callops.warehouse import Warehouse

    hub = hub_for(TENANT, "Asia/Shanghai")
    eng = hub.engine
    eng.known_queues = eng.known_queues | {PAYLOAD}  # as if an operator had configured it
    t0 = datetime.combine(env.day, datetime.min.time(), UTC) + timedelta(hours=2)
    with hub.lock:
        for i, t in enumerate((t0, t0 + timedelta(seconds=200))):
            ev = LiveEvent.model_construct(type="contact.offered", ts=t, tenant=TENANT, contact_id=f"pw{i}",
                                           queue=PAYLOAD, center=None, channel="voice", agent_id=None, state=None,
                                           reason=None)  # fmt: skip
            assert eng.process(ev, "test")
    assert any(a["key"] == PAYLOAD for a in hub.alerts()), hub.alerts()
    with Warehouse() as wh:
        con = wh.writer()
        agent = con.execute("SELECT agent_id FROM agents WHERE tenant_id = ? ORDER BY agent_id LIMIT 1",
                            [TENANT]).fetchone()[0]  # fmt: skip
        con.execute("UPDATE agents SET team = ? WHERE tenant_id = ? AND agent_id = ?", [TEAM_PAYLOAD, TENANT, agent])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Env]]:
    """The real app over a temp home with the planted payloads."""
    _require_browser()
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("console-sec") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        env = prepare(home)
        _plant(env)
        port = free_port()
        srv = serve(port)
        try:
            yield f"http://127.0.0.1:{port}", env
        finally:
            stop(srv)
            import threading

            for th in threading.enumerate():  # let the lifespan close the warehouse handles before exit
                if th.name == "console-server":
                    th.join(60)
            from callops.realtime.hub import reset_hubs

            reset_hubs()


@pytest.fixture(scope="module")
def browser(server: tuple[str, Env]) -> Iterator[object]:
    """One headless Chromium for the module."""
    with chromium() as b:
        yield b


def _page(browser: object, base: str, env: Env, user: str):
    page = browser.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{base}/login")
    page.fill('input[data-test="user-name"]', user)
    page.fill('input[data-test="token"]', env.tokens[user])
    page.click('[data-test="sign-in"]')
    page.wait_for_url(f"{base}/")
    return page, problems


def test_payload_in_live_and_alert_names_runs_no_script(server: tuple[str, Env], browser: object) -> None:
    base, env = server
    page, csp = _page(browser, base, env, "dana")
    page.goto(f"{base}/live")
    tile = page.locator(f'[data-key={json.dumps("queue:" + PAYLOAD)}]')
    tile.wait_for()
    assert PAYLOAD in tile.inner_text()  # shown as text
    tile.click()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0

    page.goto(f"{base}/alerts")
    card = page.locator("[data-alert]").filter(has_text=PAYLOAD).first
    card.wait_for()
    assert PAYLOAD in (card.get_attribute("data-alert") or "")
    card.click()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
    assert csp == [], csp  # NiceGUI works under the policy: nothing it needs was blocked
    page.close()


def test_payload_in_team_name_runs_no_script(server: tuple[str, Env], browser: object) -> None:
    base, env = server
    page, csp = _page(browser, base, env, "pia")
    page.goto(f"{base}/workforce?week={env.day.isoformat()}")
    chart = page.locator(f"[data-team={json.dumps(TEAM_PAYLOAD)}]")
    chart.wait_for(state="attached")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0
    assert csp == [], csp
    page.close()


def test_security_headers_on_console_and_api(server: tuple[str, Env]) -> None:
    base, _env = server
    for path in ("/login", "/api/tenant"):
        try:
            resp = urllib.request.urlopen(f"{base}{path}", timeout=30)
        except urllib.error.HTTPError as exc:  # /api/tenant without a token: 401, still with the headers
            resp = exc
        headers = resp.headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_the_api_refuses_the_payloads_at_the_door(server: tuple[str, Env]) -> None:
    """The same names sent through the front door are rejected with a reason (never reach a page)."""
    base, env = server
    ts = datetime.combine(env.day, datetime.min.time(), UTC).isoformat()
    events = [{"type": "contact.offered", "ts": ts, "tenant": TENANT, "contact_id": "c-x", "queue": PAYLOAD,
               "channel": "voice"},
              {"type": "contact.offered", "ts": ts, "tenant": TENANT, "contact_id": "c-y", "queue": "billing",
               "center": '<img src=x onerror=alert(1)>', "channel": "voice"}]  # fmt: skip
    req = urllib.request.Request(f"{base}/api/live/events", data=json.dumps(events).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {env.tokens['dana']}",
                                          "Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer = json.loads(resp.read())
    assert answer["accepted"] == 0 and answer["rejected"] == 2, answer
    assert all("pattern" in r["reason"] for r in answer["rejections"]), answer


def _new_user(env: Env, name: str, role: str) -> tuple[int, int]:
    """A user with a token (kept in ``env.tokens``); their user id and token id."""
    from callops.store import Store
    from callops.store.users import authenticate, create_user

    with Store() as store, store.session() as s:
        user, env.tokens[name] = create_user(s, TENANT, name, role, actor="tests")
        return user.id, authenticate(s, env.tokens[name]).token_id


def _revoke(token_id: int) -> None:
    from callops.store import Store
    from callops.store.users import revoke_token

    with Store() as store, store.session() as s:
        revoke_token(s, TENANT, token_id, "tests")


def _audit_actions(actor: str) -> list[str]:
    from callops.store import Store
    from callops.store.audit import list_audit

    with Store() as store, store.session() as s:
        return [e.action for e in list_audit(s, TENANT, limit=1000) if e.actor == actor]


def test_an_open_page_cannot_act_after_revocation(server: tuple[str, Env], browser: object) -> None:
    """The audit's finding: a page opened before the token was revoked still acknowledged an alert."""
    base, env = server
    _uid, token_id = _new_user(env, "rita", "dispatcher")
    page, _csp = _page(browser, base, env, "rita")
    page.goto(f"{base}/alerts")
    ack = page.locator('[data-test="ack"]').first
    ack.wait_for()
    _revoke(token_id)
    ack.click()
    page.wait_for_url(f"{base}/login", timeout=10_000)  # signed out instead of acting
    assert not [a for a in _audit_actions("rita") if "acknowledge" in a]
    page.goto(f"{base}/alerts")
    page.wait_for_url(f"{base}/login")  # and the session is gone for good
    page.close()


def test_a_timer_tick_signs_out_a_revoked_wallboard(server: tuple[str, Env], browser: object) -> None:
    base, env = server
    _uid, token_id = _new_user(env, "walt", "dispatcher")
    page, _csp = _page(browser, base, env, "walt")
    page.goto(f"{base}/live")
    page.locator("[data-key]").first.wait_for()
    _revoke(token_id)
    page.wait_for_url(f"{base}/login", timeout=15_000)  # the 0.3 s refresh re-checks the session every 2 s
    page.close()
