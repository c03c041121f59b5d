"""The journeys page in a real Chromium: tiles, Sankey, funnels, failure reasons, a replay and the Excel export.

The demo tenant holds the sample plus the small hand-checked journey log (tests/journey/journey_testlib.py).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from journey_testlib import CONTACTS, T1_LOG

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
from console_env import Env, chromium, free_port, prepare, require_browser, serve, stop

pytestmark = pytest.mark.console  # a process of its own: tools/console_tests.py

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Env]]:
    """The real app over a demo home with the journey log; (base URL, env)."""
    require_browser()
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("journey-console") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        env = prepare(home)
        from callops.ingest.loader import load_files
        from callops.ingest.mapping import load_mapping
        from callops.tenancy import get_tenant
        from callops.warehouse import Warehouse

        with Warehouse() as wh:
            t = get_tenant(wh, "demo")
            for table, text in (("journey_events", T1_LOG), ("contacts", CONTACTS)):
                p = home / f"journey-{table}.csv"
                p.write_text(text, encoding="utf-8")
                load_files(wh, t, table, [p], load_mapping("canonical", table))
        port = free_port()
        srv = serve(port)
        try:
            yield f"http://127.0.0.1:{port}", env
        finally:
            stop(srv)


def test_journeys_page_in_both_languages_with_export(server: tuple[str, Env]) -> None:
    from openpyxl import load_workbook

    base, env = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        page = b.new_page(viewport={"width": 390, "height": 844}, accept_downloads=True)
        page.set_default_timeout(60_000)
        page.goto(f"{base}/login")
        page.fill('input[data-test="user-name"]', "alex")
        page.fill('input[data-test="token"]', env.tokens["alex"])
        page.click('[data-test="sign-in"]')
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/journeys?customer=C1")
        page.wait_for_selector('[data-test="journey-replay"] tbody tr')
        assert page.locator('[data-test="journey-sessions"]').inner_text() == "4"
        assert page.locator('[data-test="journey-sankey"]').count() == 1
        assert page.locator('[data-test="journey-funnel"]').count() == 3
        assert page.locator('[data-test="journey-replay"] tbody tr').count() == 6  # 4 steps + 2 contacts of C1
        assert page.locator('[data-test="journey-suggestion"]').count() >= 3
        assert page.locator("text=Failure reasons").count() == 1
        with page.expect_download() as dl:
            page.click('[data-test="journey-export"]')
        wb = load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()))
        assert {"summary", "variants", "funnels", "failures", "channels", "suggestions", "replay"} <= set(wb.sheetnames)
        assert wb["replay"].max_row - 1 == 6
        # zh-CN at phone width
        page.click('[data-test="language"]')
        page.click(".q-menu >> text=简体中文")
        page.wait_for_selector('[data-nav="/journeys"] >> text=客户旅程', state="attached")
        page.goto(f"{base}/journeys?customer=C1")
        page.wait_for_selector('[data-test="journey-replay"] tbody tr')
        assert page.locator("text=失败原因").count() == 1
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / "journeys-phone.png"), full_page=True)
