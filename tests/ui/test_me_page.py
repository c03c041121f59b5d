"""The agent's "me" page and the team lead's request page (issue 19) in a real Chromium at phone size (390x844):
the agent sees next week's shifts, files a time-off request from the form and sees its checks; the team lead
approves it with a reason; neither page scrolls sideways (English and Chinese).

Skips without Chromium/Playwright unless ``CALLOPS_REQUIRE_SERVICES=1``."""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from console_env import TENANT, free_port, prepare, serve, stop

pytestmark = [pytest.mark.xdist_group("ui"), pytest.mark.console]

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("CALLOPS_SCREENSHOTS", "/tmp/callops-me-shots"))
AGENT = "ME-A1"


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
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], str]]:
    """The demo tenant plus two agents of team ``me-team`` working 09:00-17:00 next week, a flat forecast, an
    agent user (en), an agent user (zh-CN) and their team lead."""
    _require_browser()
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("me-page") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        prepare(home)
        import pandas as pd

        from callops import tenancy
        from callops.ingest.loader import load_files
        from callops.ingest.mapping import load_mapping
        from callops.people import links
        from callops.store import Store
        from callops.warehouse import Warehouse
        from callops.wfm.forecast_io import save_snapshot

        with Warehouse() as wh:
            t = tenancy.get_tenant(wh, TENANT)
            tz = zoneinfo.ZoneInfo(t.timezone)
            today = datetime.now(tz).date()
            monday = today + timedelta(days=7 - today.weekday())
            roster = ["agent_id,name,center,team,skills,hire_date,contract,emergency_echelon,active",
                      f"{AGENT},Mei,c1,me-team,me-q:1,2024-01-01,full-time,,true",
                      "ME-A2,Ming,c1,me-team,me-q:1,2024-01-01,full-time,,true"]
            sched = ["agent_id,activity,start_at,end_at,queue"]
            for a in (AGENT, "ME-A2"):
                for d in range(5):
                    s = datetime.combine(monday + timedelta(days=d), time(9)).replace(tzinfo=tz)
                    sched.append(f"{a},work,{s.isoformat()},{(s + timedelta(hours=8)).isoformat()},me-q")
            (home / "me-agents.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
            (home / "me-schedules.csv").write_text("\n".join(sched) + "\n", encoding="utf-8")
            load_files(wh, t, "agents", [home / "me-agents.csv"], load_mapping("canonical", "agents"))
            load_files(wh, t, "schedules", [home / "me-schedules.csv"], load_mapping("canonical", "schedules"))
            starts = pd.date_range(datetime.combine(monday, time()), periods=7 * 96, freq="15min")
            save_snapshot(TENANT, pd.DataFrame({"queue": "me-q", "interval_start": starts, "forecast": 3.0,
                                                "aht_s": 200.0, "model": "flat"}), {"interval_min": 15})  # fmt: skip
            tokens = {}
            with Store() as store, store.session() as s:
                _, tokens["mei"] = links.create_user(s, wh, TENANT, "mei", "agent", "tests", agent_id=AGENT)
                _, tokens["ming"] = links.create_user(s, wh, TENANT, "ming", "agent", "tests", agent_id="ME-A2",
                                                      locale="zh-CN")  # fmt: skip
                _, tokens["lee"] = links.create_user(s, wh, TENANT, "lee", "team_lead", "tests", team="me-team")
        srv = serve(free_port())
        try:
            yield f"http://127.0.0.1:{srv.config.port}", tokens, str(monday)
        finally:
            stop(srv)


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


def _signed_in(browser: object, base: str, name: str, token: str, landing: str):
    page = browser.new_page(viewport=PHONE)  # type: ignore[attr-defined]
    page.set_default_timeout(90_000)  # the shared test machine can be loaded
    page.goto(f"{base}/login")
    page.fill('input[data-test="user-name"]', name)
    page.fill('input[data-test="token"]', token)
    page.click('[data-test="sign-in"]')
    page.wait_for_url(f"{base}{landing}")
    return page


def _no_sideways_scroll(page: object) -> None:
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    page.wait_for_timeout(600)  # type: ignore[attr-defined]
    width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= PHONE["width"] + 1, width


def test_agent_files_time_off_and_lead_approves_on_the_phone(site: tuple, browser: object) -> None:
    """An agent lands on /me (no indicators for agents), sees five shifts next week, files a day off and sees the
    checks; the lead approves it with a reason; the agent's day is then off."""
    base, tokens, monday = site
    page = _signed_in(browser, base, "mei", tokens["mei"], "/me")
    page.wait_for_selector('[data-test="me-agent"]')
    days = page.locator('[data-test="me-day"]')
    assert days.count() == 5 and days.first.get_attribute("data-day") == monday
    _no_sideways_scroll(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "me-phone.png"), full_page=True)
    wed = (datetime.fromisoformat(monday) + timedelta(days=2)).date()
    page.fill('input[data-test="req-start"], [data-test="req-start"] input', f"{wed}T00:00")
    page.fill('input[data-test="req-end"], [data-test="req-end"] input', f"{wed + timedelta(days=1)}T00:00")
    page.fill('input[data-test="req-reason"], [data-test="req-reason"] input', "moving house")
    page.click('[data-test="req-submit"]')
    card = page.locator('[data-test="request"]').last
    card.wait_for()
    assert card.get_attribute("data-status") == "pending_lead"
    assert page.locator('[data-test="checks-verdict"]').count() >= 1
    _no_sideways_scroll(page)
    rid = card.get_attribute("data-request")
    page.close()

    lead = _signed_in(browser, base, "lee", tokens["lee"], "/")
    lead.goto(f"{base}/requests")
    lead.wait_for_selector(f'[data-test="approve"][data-request="{rid}"]')
    _no_sideways_scroll(lead)
    lead.screenshot(path=str(SHOTS / "requests-phone.png"), full_page=True)
    box = f'[data-test="decide-reason"][data-request="{rid}"]'
    lead.fill(f"input{box}, {box} input", "cover found")
    lead.click(f'[data-test="approve"][data-request="{rid}"]')
    lead.wait_for_selector(f'[data-test="request"][data-request="{rid}"][data-status="approved"]')
    lead.close()

    page = _signed_in(browser, base, "mei", tokens["mei"], "/me")
    page.wait_for_selector('[data-test="me-agent"]')
    assert page.locator('[data-test="me-day"]').count() == 5  # Wednesday is shown as time off
    assert page.locator(f'[data-test="request"][data-request="{rid}"][data-status="approved"]').count() == 1
    page.close()


def test_phone_in_chinese_without_sideways_scrolling(site: tuple, browser: object) -> None:
    """zh-CN labels at 390x844."""
    base, tokens, _monday = site
    page = _signed_in(browser, base, "ming", tokens["ming"], "/me")
    page.wait_for_selector('[data-test="me-agent"]')
    body = page.inner_text("body")
    assert "我的排班" in body and "我的申请" in body and "新申请" in body
    _no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "me-phone-zh.png"), full_page=True)
    page.close()
