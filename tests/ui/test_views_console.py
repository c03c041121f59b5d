"""Browser tests of My views and the home board (issue 16): a view made in the console, opened as a chart,
downloaded as Excel and pinned to the home board; every console page at phone size (390x844) without
horizontal scrolling. Real app under uvicorn, Debian's Chromium through Playwright; skips without them
unless ``CALLOPS_REQUIRE_SERVICES=1``."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from console_env import TENANT, Env, free_port, prepare, serve, stop

pytestmark = [pytest.mark.xdist_group("ui"), pytest.mark.console]

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Env]]:
    """The real app over a temp home with the demo tenant, plus user lin (analyst, reads Chinese)."""
    missing = [x for x, ok in (("chromium", CHROMIUM.exists()), ("playwright", _has_playwright())) if not ok]
    if missing:
        msg = f"console browser tests need {', '.join(missing)}"
        if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("views-console") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        env = prepare(home)
        from callops.store import Store
        from callops.store.users import create_user

        with Store() as store, store.session() as s:
            user, env.tokens["lin"] = create_user(s, TENANT, "lin", "analyst", actor="tests")
            user.locale = "zh-CN"
        port = free_port()
        srv = serve(port)
        try:
            yield f"http://127.0.0.1:{port}", env
        finally:
            stop(srv)
            from callops.realtime.hub import reset_hubs

            reset_hubs()


def _has_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def browser(server: tuple[str, Env]) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless=new", "--disable-gpu",
                                                                    "--disable-dev-shm-usage"])  # fmt: skip
        yield b
        b.close()


def _sign_in(browser: object, base: str, env: Env, user: str, viewport: dict):
    page = browser.new_page(viewport=viewport, accept_downloads=True)  # type: ignore[attr-defined]
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login")
    page.fill('input[data-test="user-name"]', user)
    page.fill('input[data-test="token"]', env.tokens[user])
    page.click('[data-test="sign-in"]')
    page.wait_for_url(f"{base}/")
    return page


def test_make_open_export_and_pin_a_view(server: tuple[str, Env], browser: object) -> None:
    base, env = server
    page = _sign_in(browser, base, env, "lin", PHONE)
    page.goto(f"{base}/views")
    page.fill('input[data-test="name"]', "我的服务水平")
    page.click('[data-test="save"]')
    card = page.locator('[data-view]').filter(has_text="我的服务水平")
    card.wait_for()
    # a view over the sample's last week (fixed dates), saved through the service as the API would
    from callops.store import Store
    from callops.store.roles import Role
    from callops.store.users import Principal, get_user_by_name
    from callops.views import service

    with Store() as store, store.session() as s:
        lin = get_user_by_name(s, TENANT, "lin")
        who = Principal(TENANT, lin.id, "lin", Role.analyst, 0)
        spec = {"metrics": ["contacts_offered"], "grain": "day", "chart": "bar",
                "start": (env.day - timedelta(days=6)).isoformat(), "end": env.day.isoformat()}  # fmt: skip
        vid = service.create_view(s, who, "sample week", spec).id
    page.reload()
    page.locator(f'[data-view="{vid}"] >> text=打开').click()
    page.wait_for_selector('[data-test="view-xlsx"]')
    page.wait_for_selector("canvas")  # the ECharts chart is drawn
    with page.expect_download() as dl:
        page.click('[data-test="view-xlsx"]')
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()))
    rows = list(wb.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert 1 <= len(rows) <= 7 and all(r[1] >= 0 for r in rows)
    page.locator(f'[data-view="{vid}"] >> text=加到首页').click()
    page.goto(f"{base}/home")
    page.wait_for_selector(f'[data-tile="{vid}"] canvas')
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "home-phone-zh.png"), full_page=True)
    page.goto(f"{base}/views")
    page.wait_for_selector("[data-view]")
    page.screenshot(path=str(SHOTS / "views-phone-zh.png"), full_page=True)
    page.close()


def test_every_page_fits_a_phone(server: tuple[str, Env], browser: object) -> None:
    """At 390x844 no console page scrolls sideways, and the navigation opens from the header."""
    from callops.ui.layout import NAV

    base, env = server
    page = _sign_in(browser, base, env, "lin", PHONE)
    wide = {}
    for path, *_ in NAV:
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"] + 1:
            wide[path] = width
    assert not wide, f"pages wider than the phone (390 px): {wide}"
    page.goto(f"{base}/views")
    page.locator(".q-header button").first.click()  # the menu button opens the drawer
    page.wait_for_selector('[data-nav="/home"]:visible')
    page.close()


def test_rule_checked_as_typed_replayed_and_saved(server: tuple[str, Env], browser: object) -> None:
    """A dispatcher writes a rule: a wrong metric is named as typed; the replay says how often it would fire."""
    base, env = server
    page = _sign_in(browser, base, env, "dana", PHONE)
    page.goto(f"{base}/rules")
    page.wait_for_selector('[data-test="rule-status"].text-positive')
    text = page.locator('textarea[data-test="rule-text"]')
    original = text.input_value()
    text.fill(original.replace("abandon_rate", "abandon_rat"))
    page.wait_for_selector('[data-test="rule-status"].text-negative')
    assert "abandon_rate" in page.inner_text('[data-test="rule-status"]')  # the close id is suggested
    text.fill(original)
    page.wait_for_selector('[data-test="rule-status"].text-positive')
    page.click('[data-test="rule-replay"]')
    label = page.locator('[data-test="rule-preview"] [data-fired]')
    label.wait_for(timeout=60_000)
    assert "would" in label.inner_text()
    page.click('[data-test="rule-save"]')
    page.wait_for_selector("text=abandon_daily · v1")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "rules-phone.png"), full_page=True)
    page.close()


def test_live_rule_written_checked_and_saved(server: tuple[str, Env], browser: object) -> None:
    """A dispatcher writes a live rule (levels, hysteresis, recipients): checked as typed (a clear threshold above
    its level is named), replayed, and saved as a version (issue 16)."""
    from playwright.sync_api import expect

    base, env = server
    page = _sign_in(browser, base, env, "dana", PHONE)
    page.goto(f"{base}/rules")
    page.click('[data-test="rule-live-example"]')
    # the default rule's status is already positive: wait for the example's own (a race under load otherwise)
    expect(page.locator('[data-test="rule-status"].text-positive')).to_contain_text("long-wait-billing", timeout=30_000)
    text = page.locator('textarea[data-test="rule-text"]')
    live = text.input_value()
    text.fill(live.replace("clear: {yellow: 20, red: 60}", "clear: {yellow: 50, red: 60}"))
    page.wait_for_selector('[data-test="rule-status"].text-negative')
    assert "below the yellow threshold" in page.inner_text('[data-test="rule-status"]')
    text.fill(live)
    page.wait_for_selector('[data-test="rule-status"].text-positive')
    page.click('[data-test="rule-replay"]')
    page.locator('[data-test="rule-preview"] [data-fired]').wait_for(timeout=60_000)
    page.locator('input[data-test="rule-name"]').fill("billing-wait")
    page.click('[data-test="rule-save"]')
    page.wait_for_selector("text=billing-wait · v1")
    page.close()
