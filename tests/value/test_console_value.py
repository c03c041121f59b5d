"""The customer value page in a real Chromium: profile, explanation chart, tags, timeline, care tasks, what-if;
zh-CN at phone width; another tenant's customer shows nothing."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
from console_env import chromium, free_port, require_browser, serve, stop

pytestmark = pytest.mark.console  # a process of its own: tools/console_tests.py

PHONE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("CALLOPS_SCREENSHOTS", "/tmp/callops-value-shots"))


@pytest.fixture(scope="module")
def console(scored_home: tuple) -> Iterator[tuple[str, str]]:
    """The real app over the scored home; a zh-CN analyst of t1; care tasks generated. Yields (base URL, token)."""
    require_browser()
    from callops import tenancy
    from callops.store import Store
    from callops.store.users import create_user
    from callops.value.care import generate_tasks
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        t1 = tenancy.get_tenant(wh, "t1")
    with Store() as store, store.session() as s:
        _, token = create_user(s, "t1", "mei", "analyst", "tests", locale="zh-CN")
        generate_tasks(s, t1, "tests")
    port = free_port()
    srv = serve(port)
    try:
        yield f"http://127.0.0.1:{port}", token
    finally:
        stop(srv)


def test_value_page_zh_phone(console: tuple[str, str]) -> None:
    """The page shows the score, class, tags and the explanation chart, in Chinese, usable at 390 px."""
    base, token = console
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        page = b.new_page(viewport=PHONE)
        page.set_default_timeout(150_000)  # the shared test machine can be very loaded
        page.goto(f"{base}/login")
        page.fill('input[data-test="user-name"]', "mei")
        page.fill('input[data-test="token"]', token)
        page.click('[data-test="sign-in"]')
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/value?customer=A00000002")
        page.wait_for_selector('[data-test="value-score"]', state="attached")
        page.wait_for_selector("canvas", state="attached")
        page.wait_for_timeout(800)
        text = page.inner_text("body")
        assert "价值得分" in text and "客户画像" in text and "时间线" in text and "分流推演" in text
        assert "月均收入（ARPU）" in text and "None" not in text  # labelled fields, no raw empty values
        score_line = page.inner_text('[data-test="value-score"]')
        assert "_" not in score_line, score_line  # class and route by name (e.g. 低价值 · 自助优先), not by id
        page.screenshot(path=str(SHOTS / "value-phone-zh.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 2, width  # nothing forces a sideways scroll
        page.goto(f"{base}/value?customer=B00000001")  # t10's customer
        page.wait_for_selector('[data-test="value-empty"]', state="attached")
        assert "B00000001" not in page.inner_text('[data-test="value-empty"]')
