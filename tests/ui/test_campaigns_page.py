"""The campaign page in a real Chromium against the real app: the decisions and evidence of a campaign that pays
and one that does not (paused automatically beforehand), the trend and test charts, service against marketing
side by side, a director's resume with a reason (audited), no pause/resume for an analyst, and the page at phone
size (390x844) in Chinese without sideways scrolling.

Skips without Chromium/Playwright unless ``CALLOPS_REQUIRE_SERVICES=1``."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_env import TENANT, free_port, serve, stop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "marketing"))  # the marketing tests' data generator
import campaign_world as cw

pytestmark = [pytest.mark.xdist_group("ui"), pytest.mark.console]

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("CALLOPS_SCREENSHOTS", "/tmp/callops-campaigns-shots"))


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
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The real app over a temp home: the demo tenant with generated campaigns, evaluated with --apply."""
    _require_browser()
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("campaigns-page") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        from callops.demo import ensure_demo_tenant
        from callops.marketing.campaigns import evaluate_tenant
        from callops.store import Store
        from callops.store.users import create_user
        from callops.warehouse import Warehouse

        tokens = {}
        with Warehouse() as wh:
            ensure_demo_tenant(wh)
            cw.load(wh, TENANT, "D", 8000, 5)
            with Store() as store:
                assert evaluate_tenant(wh, store, TENANT, apply=True)["paused_now"] == ["C-LOSE"]
                with store.session() as s:
                    for name, role, locale in (("dora", "director", "en"), ("ana", "analyst", "en"),
                                               ("zhou", "director", "zh-CN")):
                        _, tokens[name] = create_user(s, TENANT, name, role, actor="tests", locale=locale)
        srv = serve(free_port())
        try:
            yield f"http://127.0.0.1:{srv.config.port}", tokens
        finally:
            stop(srv)
            for th in threading.enumerate():
                if th.name == "console-server":
                    th.join(60)


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


def _state(cid: str) -> tuple[str, list[tuple[str, str]]]:
    """(state, [(audit action, actor)]) of a campaign of the demo tenant."""
    from callops.marketing import state
    from callops.store import Store
    from callops.store.audit import list_audit

    with Store() as store, store.session() as s:
        row = state.state_of(s, TENANT, cid)
        audit = [(e.action, e.actor) for e in list_audit(s, TENANT, object_type="campaign", object_id=cid)]
    return (row.state if row else "active"), audit


def test_decisions_evidence_charts_and_a_resume(site: tuple, browser: object) -> None:
    """The table shows C-PAY continued and C-LOSE paused with its evidence; the director resumes C-LOSE with a
    reason: the store says active, the audit log names the director."""
    base, tokens = site
    page = _signed_in(browser, base, "dora", tokens["dora"], "/campaigns?campaign=C-LOSE")
    page.wait_for_selector('[data-test="campaigns-table"]')
    assert page.get_attribute('[data-campaign="C-PAY"]', "data-decision") == "continue"
    lose = page.locator('[data-test="campaign-decision"][data-campaign="C-LOSE"]')
    assert lose.get_attribute("data-state") == "paused" and lose.get_attribute("data-decision") == "pause"
    page.wait_for_selector('[data-test="campaign-trend"] canvas')
    page.wait_for_selector('[data-test="campaign-test"] canvas')
    evidence = page.inner_text('[data-test="campaign-evidence"]')
    assert "SPRT" in evidence and "break-even" in evidence
    assert page.locator('[data-test="svm-card"]').count() == 2
    assert page.locator('[data-test="campaign-history"][data-kind="paused"]').count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "campaigns-desktop.png"), full_page=True)
    page.click('[data-test="campaign-resume"]')  # no reason: refused, nothing changes
    page.wait_for_timeout(500)
    assert _state("C-LOSE")[0] == "paused"
    page.fill('input[data-test="campaign-reason"]', "new script from Monday")
    page.click('[data-test="campaign-resume"]')
    page.wait_for_selector('[data-test="campaign-pause"]')  # reloaded: the campaign is active again
    state, audit = _state("C-LOSE")
    assert state == "active" and audit[0] == ("campaign.resume", "dora")
    assert audit[1] == ("campaign.pause", "campaign-evaluator")
    page.close()


def test_an_analyst_reads_but_cannot_pause(site: tuple, browser: object) -> None:
    """campaigns:read without campaigns:manage: the page, but no pause or resume button."""
    base, tokens = site
    page = _signed_in(browser, base, "ana", tokens["ana"], "/campaigns?campaign=C-PAY")
    page.wait_for_selector('[data-test="campaign-evidence"]')
    assert page.locator('[data-test="campaign-pause"], [data-test="campaign-resume"]').count() == 0
    page.close()


def test_phone_in_chinese_without_sideways_scrolling(site: tuple, browser: object) -> None:
    """390x844, zh-CN labels: the page is no wider than the phone."""
    base, tokens = site
    page = _signed_in(browser, base, "zhou", tokens["zhou"], "/campaigns", PHONE)
    page.wait_for_selector('[data-test="campaigns-table"]')
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)
    assert "营销活动" in page.inner_text("body") and "服务与营销" in page.inner_text("body")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, width
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "campaigns-phone-zh.png"), full_page=True)
    page.close()
