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
        _transcripts(wh, tmp)
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


def _transcripts(wh: object, tmp: Path) -> None:
    """Short zh transcripts of two evaluated contacts (one greets and verifies, one does neither)."""
    from callops import tenancy
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping

    rows = ["contact_id,seq,speaker,start_s,end_s,text,language"]
    for cid, good in (("t1-2026-11-A000-000", True), ("t1-2026-11-A001-000", False)):
        rows += [f"{cid},0,agent,0,3,{'您好，很高兴为您服务' if good else '喂'},zh",
                 f"{cid},1,customer,3.5,6,宽带断了,zh",
                 f"{cid},2,agent,6.5,9,{'请提供机主身份证后四位' if good else '等一下'},zh"]  # fmt: skip
    path = tmp / "transcripts.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    load_files(wh, tenancy.get_tenant(wh, "t1"), "transcripts", [path], load_mapping("canonical", "transcripts"))


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
        assert page.locator('[data-test="qa-no-draw"]').count() == 1  # nothing recorded yet: equal weights
        page.click('[data-test="qa-plan"]')
        page.wait_for_selector('[data-test="qa-draw"]')
        assert "误差 ±5 分" in page.inner_text("body")
        page.screenshot(path=str(tmp_path / "quality-zh-phone.png"), full_page=True)
        # the page fits the phone: nothing wider than the viewport
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        with page.expect_download() as dl:
            page.click('[data-test="qa-draw"]')
        assert dl.value.suggested_filename == "qa-draw-2026-11.xlsx"
        # the recorded draw is on the page from now on: seed, streams, π and weights per stratum
        page.goto(f"{base}/quality?period=2026-11")
        page.wait_for_selector('[data-test="qa-drawn"]')
        assert "本月已确认的抽样" in page.inner_text("body")
        assert "随机种子 0" in page.inner_text('[data-test="qa-drawn"]')
        strata = page.inner_text('[data-test="qa-draw-strata"]')
        assert "channel=voice" in strata and "channel=chat" in strata and "入样概率 π" in strata
        analyst = _page(p, base, "qa-analyst", tokens["qa-analyst"], {"width": 1280, "height": 800})
        assert "Coaching list" in analyst.inner_text("body")
        analyst.click('[data-test="qa-plan"]')
        analyst.wait_for_selector("text=Sampling plan")
        analyst.wait_for_selector(".q-table")
        assert analyst.locator('[data-test="qa-draw"]').count() == 0  # qa:read only


def test_evaluation_entry_calibration_and_text_qa(site: tuple[str, dict]) -> None:
    from playwright.sync_api import sync_playwright

    from callops.quality import calibration
    from callops.store import Store

    base, tokens = site
    with sync_playwright() as p:
        page = _page(p, base, "qa-admin", tokens["qa-admin"], {"width": 1280, "height": 900})
        # text QA on the quality page: per agent and per contact with evidence
        page.click('[data-test="qa-textqa"]')
        page.wait_for_selector('[data-test="qa-textqa-contacts"]')
        body = page.inner_text('[data-test="qa-textqa-contacts"]')
        assert "t1-2026-11-A001-000" in body and "A001" in body
        assert "A000" in page.inner_text('[data-test="qa-textqa-agents"]')
        # evaluation entry: answer, see the score, save
        page.goto(f"{base}/quality/evaluate?period=2026-11")
        page.wait_for_selector('[data-test="qa-eval-save"]')
        page.fill('input[data-test="qa-eval-contact"]', "t1-2026-11-A002-059")
        for item, pts in (("greeting", 10), ("identity_check", 10), ("needs_analysis", 20), ("solution", 15),
                          ("compliance", 20), ("closing", 10)):  # fmt: skip
            page.fill(f'input[data-test="qa-item"][data-item="{item}"]', str(pts))
        page.locator('[data-test="qa-eval-score"]').click()  # blur: the last number is taken
        want = 100 * (19.5 - 0.30 * 15) / 19.5
        page.wait_for_selector(f'text=得分 {want:.1f}')
        page.click('[data-test="qa-eval-save"]')
        page.wait_for_selector('[data-test="qa-eval-saved"]:has-text("已保存")')
        assert f"{want:.1f}" in page.inner_text('[data-test="qa-eval-saved"]')
        # calibration: a session made by the service, rated blind in the console, results once closed
        with Store() as st:
            sess = calibration.create_session(st, "t1", name="cal-ui", contacts=["t1-2026-11-A003-001"],
                                              evaluators=["qa-admin", "qa-other"], created_by="test")  # fmt: skip
            calibration.rate(st, "t1", sess["id"], evaluator="qa-other", contact_id="t1-2026-11-A003-001",
                             answers={"greeting": 10, "solution": 30})  # fmt: skip
        page.goto(f"{base}/quality/calibration?session_id={sess['id']}")
        page.wait_for_selector('[data-test="qa-cal-save"]')
        assert "盲评" in page.inner_text("body")
        page.fill('input[data-test="qa-item"][data-item="greeting"]', "0")
        page.fill('input[data-test="qa-item"][data-item="solution"]', "30")
        page.locator('[data-test="qa-cal-score"]').click()
        page.click('[data-test="qa-cal-save"]')
        page.wait_for_selector("text=t1-2026-11-A003-001 90.0")
        page.click('[data-test="qa-cal-close"]')
        page.wait_for_selector('[data-test="qa-cal-agreement"]')
        items = page.inner_text('[data-test="qa-cal-items"]')
        assert "规范问候语" in items and "100.0" in items  # greeting: 0 vs 10 points = a range of 100%
