"""The offers page in a real Chromium against the real app, on a small seeded world: three weeks of the simulated
hotline at 5 % in tenant ``demo`` (customers scored by the value model, a few logged decisions, one campaign
paused). Checked: the library with the paused campaign; each offer's decisions, presentations, acceptances and
revenue against a recount from the generated tables and the store; the trend chart; a director runs the back-test
and sees its AUC; the decision preview answers with the score's parts and both languages' guidance and logs
nothing; an analyst reads without the back-test button; the page at phone size in Chinese without sideways
scrolling; a user without the marketing permission (role agent) is refused and has no menu entry.

Skips without Chromium/Playwright unless ``CALLOPS_REQUIRE_SERVICES=1``."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from console_env import TENANT, chromium, free_port, require_browser, serve, stop

pytestmark = [pytest.mark.xdist_group("ui"), pytest.mark.console]

PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("CALLOPS_SCREENSHOTS", "/tmp/callops-offers-shots"))
DAYS = 21
PAUSED = "CVIDEO-VIP"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], dict]]:
    """The real app over a temp home with the seeded world; (base URL, tokens, expected figures per offer)."""
    require_browser()
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("offers-page") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        from callops import tenancy
        from callops.demo import ensure_demo_tenant
        from callops.marketing import arbitrate, decisionlog, propensity, state
        from callops.sim.records import write_to_warehouse
        from callops.sim.runner import run_scenario
        from callops.sim.scenario import demo_scenario
        from callops.store import Store
        from callops.store.users import create_user
        from callops.value import snapshot
        from callops.value.decide import decide
        from callops.warehouse import Warehouse

        snapshot.forget_index()
        propensity.forget()
        arbitrate.forget_paused()
        today = date.today()
        tables = run_scenario(demo_scenario().scaled(0.05, customers=3000), DAYS, seed=11,
                              start_date=today - timedelta(days=DAYS))
        tokens = {}
        with Warehouse() as wh:
            ensure_demo_tenant(wh)
            t = tenancy.get_tenant(wh, TENANT)
            write_to_warehouse(wh, t, {k: tables[k] for k in ("customers", "campaigns", "offers", "contacts")})
            snapshot.score_tenant(wh, t, today - timedelta(days=1))
            customers = tables["customers"].column("customer_id").to_pylist()
            with Store() as store:
                decisions: dict[str, int] = {}
                for cid in customers[:12]:  # logged decisions: what the page's "decisions" column counts
                    o = decide(t, cid, "voice", "data_plan", store=store)["offer"]
                    if o is not None:
                        decisions[o["offer_id"]] = decisions.get(o["offer_id"], 0) + 1
                decisionlog.flush(store)
                with store.session() as s:
                    state.pause(s, TENANT, PAUSED, actor="tests", reason="seeded")
                    for name, role, locale in (("dora", "director", "en"), ("ana", "analyst", "zh-CN"),
                                               ("ali", "agent", "en")):
                        _, tokens[name] = create_user(s, TENANT, name, role, actor="tests", locale=locale)
        c = tables["contacts"].to_pandas()
        pitched = c[c["offer_result"].notna()]
        expected = {oid: {"presented": len(g), "accepted": int((g["offer_result"] == "accepted").sum()),
                          "revenue": float(g["revenue"].fillna(0).sum()), "decisions": decisions.get(oid, 0)}
                    for oid, g in pitched.groupby("offer_id")}  # fmt: skip
        expected["_customers"] = customers  # type: ignore[assignment]
        srv = serve(free_port())
        try:
            yield f"http://127.0.0.1:{srv.config.port}", tokens, expected
        finally:
            stop(srv)
            for th in threading.enumerate():
                if th.name == "console-server":
                    th.join(60)


@pytest.fixture(scope="module")
def browser(site: tuple) -> Iterator[object]:
    """One headless Chromium for the module."""
    with chromium() as b:
        yield b


def _signed_in(browser: object, base: str, name: str, token: str, path: str, viewport: dict | None = None):
    page = browser.new_page(viewport=viewport or {"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(90_000)  # the shared test machine can be loaded
    page.goto(f"{base}/login")
    page.fill('input[data-test="user-name"]', name)
    page.fill('input[data-test="token"]', token)
    page.click('[data-test="sign-in"]')
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{base}{path}")
    return page


def _decisions_logged() -> int:
    from sqlalchemy import func, select

    from callops.store import Store
    from callops.store.models_marketing import OfferDecision

    with Store() as store, store.session() as s:
        return int(s.scalar(select(func.count()).select_from(OfferDecision)) or 0)


def test_library_figures_trend_backtest_and_preview(site: tuple, browser: object) -> None:
    """A director: the library (paused campaign), the per-offer figures equal the recount, the trend chart, the
    back-test run and shown, and a preview with the score's parts and guidance in both languages."""
    base, tokens, expected = site
    page = _signed_in(browser, base, "dora", tokens["dora"], "/offers")
    page.wait_for_selector('[data-test="offers-library"]')
    assert page.get_attribute(f'[data-test="offers-campaign"][data-campaign="{PAUSED}"]', "data-state") == "paused"
    assert page.get_attribute('[data-test="offers-campaign"][data-campaign="C5G-UPGRADE"]', "data-state") == "active"
    offers = [k for k in expected if not k.startswith("_")]
    assert len(offers) >= 4
    for oid in offers:
        el = page.locator(f'[data-test="offer-figures"][data-offer="{oid}"]')
        got = {k: el.get_attribute(f"data-{k}") for k in ("presented", "accepted", "decisions", "revenue")}
        want = expected[oid]
        assert int(got["presented"]) == want["presented"] > 0, (oid, got, want)
        assert int(got["accepted"]) == want["accepted"], (oid, got, want)
        assert int(got["decisions"]) == want["decisions"], (oid, got, want)
        assert float(got["revenue"]) == pytest.approx(want["revenue"], abs=0.01), (oid, got, want)
    assert sum(expected[o]["decisions"] for o in offers) > 0
    trend = page.wait_for_selector('[data-test="offer-trend"]')
    page.wait_for_selector('[data-test="offer-trend"] canvas')
    assert int(trend.get_attribute("data-points")) >= DAYS - 2  # a point per day with presentations
    # the back-test: none kept yet; the director runs it, the page reloads with its figures
    assert page.locator('[data-test="backtest-none"]').count() == 1
    page.click('[data-test="backtest-run"]')
    card = page.wait_for_selector('[data-test="backtest"]', timeout=180_000)
    assert 0.5 < float(card.get_attribute("data-auc")) <= 1.0
    assert page.locator('[data-test="backtest-figure"]').count() == 6
    from callops.marketing.backtest import latest_result

    kept = latest_result(TENANT)
    assert kept is not None and f"{kept['auc']:.4f}" == card.get_attribute("data-auc")
    # the decision preview: an offer with its parts and both languages' guidance, and nothing logged
    before = _decisions_logged()
    customer = expected["_customers"][40]
    page.fill('input[data-test="preview-customer"]', customer)
    page.fill('input[data-test="preview-reason"]', "data_plan")
    page.click('[data-test="preview-go"]')
    page.wait_for_selector('[data-test="preview-offer"], [data-test="preview-none"]')
    card = page.locator('[data-test="preview-offer"]')
    assert card.count() == 1, page.inner_text("body")
    assert card.get_attribute("data-offer") in offers
    text = card.inner_text()
    assert "score" in text and "propensity" in text and "weight" in text
    assert page.locator('[data-test="preview-guidance"]').count() == 2
    page.fill('input[data-test="preview-reason"]', "complaint")
    page.click('[data-test="preview-go"]')
    page.wait_for_selector('[data-test="preview-none"]')
    assert "complaint" in page.inner_text('[data-test="preview-none"]')
    assert _decisions_logged() == before
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "offers-desktop.png"), full_page=True)
    page.close()


def test_phone_in_chinese_for_an_analyst(site: tuple, browser: object) -> None:
    """390x844, zh-CN: the page is no wider than the phone; an analyst has no back-test button."""
    base, tokens, _ = site
    page = _signed_in(browser, base, "ana", tokens["ana"], "/offers", PHONE)
    page.wait_for_selector('[data-test="offers-stats"]')
    page.wait_for_selector('[data-test="offer-trend"] canvas')
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)
    body = page.inner_text("body")
    assert "营销推荐" in body and "决策预览" in body
    assert page.locator('[data-test="backtest-run"]').count() == 0
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, width
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "offers-phone-zh.png"), full_page=True)
    page.close()


def test_a_user_without_the_marketing_permission_is_refused(site: tuple, browser: object) -> None:
    """Role agent (no campaigns:read): the page refuses, no figures are sent, no menu entry."""
    base, tokens, _ = site
    page = _signed_in(browser, base, "ali", tokens["ali"], "/offers")
    page.wait_for_selector('[data-test="forbidden"]')
    assert page.locator('[data-test="offer-figures"], [data-test="offers-library"]').count() == 0
    assert page.locator('a[href="/offers"]').count() == 0
    page.close()
