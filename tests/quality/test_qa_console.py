"""The console's QA page in a real browser (Debian Chromium): caterpillar chart, lists, plan; the draw button only
for qa:manage; zh-CN labels at phone width."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
import qa_world
from console_env import free_port, serve, stop

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed"), pytest.mark.console]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    from callops.store import Store
    from callops.store.tenants import sync_tenants
    from callops.store.users import create_user
    from callops.warehouse import Warehouse

    tmp = tmp_path_factory.mktemp("qa-ui")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(tmp / "home"))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.delenv("CALLOPS_STORE_URL", raising=False)
    tokens = {}
    with Warehouse() as wh, Store() as st:
        qa_world.build(wh, tmp, "t1", seed=1)
        sync_tenants(st, wh)
        with st.session() as s:
            for name, role, locale in (("qa-admin", "admin", "zh-CN"), ("qa-analyst", "analyst", "en")):
                _, tokens[name] = create_user(s, "t1", name, role, "tests", locale=locale)
    port = free_port()
    srv = serve(port)
    try:
        yield f"http://127.0.0.1:{port}", tokens
    finally:
        stop(srv)
        mp.undo()


def _page(p: object, base: str, user: str, token: str, viewport: dict) -> object:
    args = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
    b = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
    page = b.new_page(viewport=viewport)
    page.set_default_timeout(120_000)
    page.goto(f"{base}/login")
    page.fill('input[data-test="user-name"]', user)
    page.fill('input[data-test="token"]', token)
    page.click('[data-test="sign-in"]')
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/quality?period=2026-11")
    page.wait_for_selector("canvas")
    return page


def test_quality_page_zh_phone_and_permissions(site: tuple[str, dict], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, tokens = site
    with sync_playwright() as p:
        page = _page(p, base, "qa-admin", tokens["qa-admin"], {"width": 390, "height": 844})
        text = page.inner_text("body")
        assert "坐席得分：收缩均值与95%区间" in text and "辅导名单" in text and "表彰名单" in text
        assert "抽样计划" in text
        page.click('[data-test="qa-plan"]')
        page.wait_for_selector('[data-test="qa-draw"]')
        assert "误差 ±5 分" in page.inner_text("body")
        page.screenshot(path=str(tmp_path / "quality-zh-phone.png"), full_page=True)
        # the page fits the phone: nothing wider than the viewport
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        with page.expect_download() as dl:
            page.click('[data-test="qa-draw"]')
        assert dl.value.suggested_filename == "qa-draw-2026-11.xlsx"
        analyst = _page(p, base, "qa-analyst", tokens["qa-analyst"], {"width": 1280, "height": 800})
        assert "Coaching list" in analyst.inner_text("body")
        analyst.click('[data-test="qa-plan"]')
        analyst.wait_for_selector("text=Sampling plan")
        analyst.wait_for_selector(".q-table")
        assert analyst.locator('[data-test="qa-draw"]').count() == 0  # qa:read only
