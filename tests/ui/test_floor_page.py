"""The team lead's floor page (issue 19) in a real Chromium against the real app: adherence now from the live
room (an agent held out of adherence shows with its alert level), an exception recorded from the page clears it,
the HR cases and offers listed, and the page at phone size (390x844) in Chinese without sideways scrolling.

Skips without Chromium/Playwright unless ``CALLOPS_REQUIRE_SERVICES=1``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from console_env import TENANT, Env, free_port, prepare, serve, stop

pytestmark = [pytest.mark.xdist_group("ui"), pytest.mark.console]

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("CALLOPS_SCREENSHOTS", "/tmp/callops-floor-shots"))


def _require_browser() -> None:
    missing = [] if CHROMIUM.exists() else [str(CHROMIUM)]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright")
    if missing:
        msg = f"console browser tests need {', '.join(missing)} (apt-get install chromium; pip install playwright)"
        if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Env, dict[str, str], str]]:
    """The demo tenant's live day fed up to 10:00 (local), one agent kept ready through a scheduled break, an HR
    case and an offer; users: a team lead (en) and a team lead (zh-CN)."""
    _require_browser()
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("floor-page") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        env = prepare(home)
        from callops.realtime.hub import hub_for, live_dir, reset_hubs
        from callops.store import Store
        from callops.store.models_floor import FloorOffer, HrCase
        from callops.store.users import create_user

        tokens = {}
        with Store() as store, store.session() as s:
            for name, locale in (("lead", "en"), ("zhang", "zh-CN")):
                _, tokens[name] = create_user(s, TENANT, name, "team_lead", actor="tests", locale=locale)
            s.add(HrCase(tenant_id=TENANT, agent_id="A-case", team=None, rule="late-starts", period="2026-12",
                         owner="team_lead:red", status="open", summary="3 late starts",
                         evidence={"days": ["2026-12-01", "2026-12-02", "2026-12-03"], "count": 3, "needed": 3,
                                   "event": "late", "label": {"en": "Three late starts", "zh-CN": "迟到三次"}}))
        srv = serve(free_port())
        try:
            hub = hub_for(TENANT)  # the served app's hub (same process, same home)
            folder = live_dir(TENANT)
            lines = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
            zone = hub.engine.state.zone
            day = datetime.combine(env.day, datetime.min.time(), zone)
            with hub.lock:
                sched = hub.engine.state.schedule
                # the first agent with a break of 10 minutes or more from 10:00 local: fed up to its start, then
                # kept ready through it (out of adherence) while the clock moves 7 minutes on
                victim, brk = min(((a, r) for a, rows in sched.items() for r in rows if r.activity == "break"
                                   and r.start >= (day + timedelta(hours=10)).timestamp() and r.end - r.start >= 600),
                                  key=lambda ar: (ar[1].start, ar[0]))  # fmt: skip
            cut = datetime.fromtimestamp(brk.start, zone)
            upto = [x for x in lines if datetime.fromisoformat(json.loads(x)["ts"]) < cut]
            hub.submit(upto, "test")
            hub.submit([{"type": "agent.state", "tenant": TENANT, "agent_id": victim, "state": "ready",
                         "ts": cut.isoformat()},
                        {"type": "agent.state", "tenant": TENANT, "agent_id": "clock", "state": "offline",
                         "ts": (cut + timedelta(minutes=7)).isoformat()}], "test")  # fmt: skip
            with Store() as store, store.session() as s:
                s.add(FloorOffer(tenant_id=TENANT, kind="overtime", agent_id=victim,
                                 start_at=cut + timedelta(hours=2), end_at=cut + timedelta(hours=3), sl_before=0.61,
                                 sl_after=0.74, reason="test", status="open", created_by="lead"))  # fmt: skip
            yield f"http://127.0.0.1:{srv.config.port}", env, tokens, victim
        finally:
            stop(srv)
            reset_hubs()


@pytest.fixture(scope="module")
def browser(site: tuple) -> Iterator[object]:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                                    "--disable-background-networking", "--no-first-run"])  # fmt: skip
        yield b
        b.close()


def _signed_in(browser: object, base: str, name: str, token: str, path: str, viewport: dict | None = None):
    page = browser.new_page(viewport=viewport or {"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(90_000)  # the shared test machine can be loaded
    page.goto(f"{base}/login")
    page.fill('input[data-test="user-name"]', name)
    page.fill('input[data-test="token"]', token)
    page.click('[data-test="sign-in"]')
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}{path}")
    return page


def test_out_of_adherence_then_an_exception_from_the_page(site: tuple, browser: object) -> None:
    """The forced agent is listed out of adherence with a yellow alert; recording a meeting clears it."""
    base, _env, tokens, victim = site
    page = _signed_in(browser, base, "lead", tokens["lead"], "/floor")
    row = page.locator(f'[data-test="floor-agent"][data-agent="{victim}"]')
    row.wait_for()
    assert row.get_attribute("data-in-adherence") == "false" and row.get_attribute("data-level") == "yellow"
    assert page.locator('[data-test="floor-case"]').count() == 1
    assert page.locator('[data-test="floor-offer"][data-kind="overtime"]').count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "floor-desktop.png"), full_page=True)
    page.fill('input[data-test="floor-exc-agent"]', victim)
    page.click('[data-test="floor-exc-record"]')
    page.wait_for_timeout(800)
    from callops.people.adherence import list_exceptions
    from callops.store import Store

    with Store() as store:
        got = list_exceptions(store, TENANT, agent_id=victim)
    assert [(e["kind"], e["created_by"]) for e in got] == [("meeting", "lead")]
    page.reload()
    row = page.locator(f'[data-test="floor-agent"][data-agent="{victim}"]')
    row.wait_for()
    assert row.get_attribute("data-level") == "none"
    page.close()


def test_phone_in_chinese_without_sideways_scrolling(site: tuple, browser: object) -> None:
    """390x844, zh-CN labels: the page is no wider than the phone."""
    base, _env, tokens, _victim = site
    page = _signed_in(browser, base, "zhang", tokens["zhang"], "/floor", PHONE)
    page.wait_for_selector('[data-test="floor-adherence"]')
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)
    body = page.inner_text("body")
    assert "实时排班遵从" in body and "人事案例" in body and "加班与自愿休假" in body
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, width
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "floor-phone-zh.png"), full_page=True)
    page.close()
