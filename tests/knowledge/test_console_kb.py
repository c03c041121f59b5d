"""Browser tests of the knowledge pages (the real app under uvicorn, Debian's Chromium through Playwright), at
phone width in zh-CN: the agents' panel (hot-topic banner, search with highlights, suggestions recorded as
events) and the authors' page (expired banner, draft saved by an author without a publish button, a reviewer
publishes). Screenshots land in ``artifacts/screenshots/``. Skips without Chromium/Playwright unless
``CALLOPS_REQUIRE_SERVICES=1``."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.console  # a process of its own: tools/console_tests.py

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}


def _require_browser() -> None:
    missing = [] if CHROMIUM.exists() else [str(CHROMIUM)]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright")
    if missing:
        msg = f"console browser tests need {', '.join(missing)}"
        if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CUSTOMER = "KB-CUST-1"


def _customer_contacts(wh: object, home: Path) -> None:
    """Two contacts of one customer; the later one is about billing (what the customer view suggests from)."""
    from callops import tenancy
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping

    path = home / "kb-customer-contacts.csv"
    path.write_text("contact_id,channel,direction,customer_id,business_type,offered_at,outcome,queue\n"
                    f"KB-C1,voice,inbound,{CUSTOMER},broadband,2025-01-02T09:00:00+08:00,answered,q\n"
                    f"KB-C2,voice,inbound,{CUSTOMER},billing,2025-01-03T09:00:00+08:00,answered,q\n",
                    encoding="utf-8")  # fmt: skip
    load_files(wh, tenancy.get_tenant(wh, "demo"), "contacts", [path], load_mapping("canonical", "contacts"))


def _register_panel_page() -> None:
    """A bare page holding only the customer view's knowledge card (the value page needs a value snapshot)."""
    from nicegui import ui

    from callops.store.roles import Permission
    from callops.ui import session
    from callops.ui.pages_knowledge import customer_panel

    @ui.page("/test/kb-customer")
    async def _panel(customer: str = "") -> None:
        ctx = session.require(Permission.kb_read)
        if ctx is not None:
            await customer_panel(ctx, customer, None)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """The real app over a temp home whose demo tenant holds the demo knowledge base; users of three roles."""
    _require_browser()
    import uvicorn
    from rich.console import Console

    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("kbconsole") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        from callops.api.app import create_app
        from callops.demo import ensure_demo_tenant
        from callops.knowledge import demo
        from callops.store.db import Store
        from callops.store.users import create_user
        from callops.warehouse import Warehouse

        with Warehouse() as wh:
            ensure_demo_tenant(wh)
            demo.run(wh, Console(file=io.StringIO()))
            _customer_contacts(wh, home)
        tokens = {}
        with Store() as store, store.session() as s:
            for name, role in (("agent", "analyst"), ("author", "team_lead"), ("boss", "director")):
                _, tokens[name] = create_user(s, "demo", name, role, "tests", locale="zh-CN")
        port = _free_port()
        _register_panel_page()
        server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", tokens
        finally:
            server.should_exit = True
            thread.join(60)  # exit only after the app's resources are closed (else the process may abort)


@pytest.fixture(scope="module")
def browser(site: object) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage"])
        yield b
        b.close()


def _page(browser, base: str, tokens: dict[str, str], user: str, path: str):
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.fill('input[data-test="user-name"]', user)
    page.fill('input[data-test="token"]', tokens[user])
    page.click('[data-test="sign-in"]')
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}{path}")
    return page


def _fits_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1


def test_agent_panel_on_a_phone(site, browser) -> None:
    base, tokens = site
    page = _page(browser, base, tokens, "agent", "/kb")
    banner = page.locator('[data-test="kb-hot"]').first
    banner.wait_for()
    assert "热点问题" in page.inner_text("body")
    assert page.locator('[data-test="kb-hot"][data-subject="esim怎么开通"]').count() == 1
    page.fill('input[data-test="kb-query"]', "我想停机保号")
    page.click('[data-test="kb-search"]')
    page.locator('[data-test="kb-hit"]').first.wait_for()
    assert page.locator('[data-test="kb-hit"]').first.get_attribute("data-article") == "suspend"
    assert page.locator('[data-test="kb-hit"] mark').count() >= 1
    page.fill('textarea[data-test="kb-words"]', "交了钱还是打不了电话")
    page.click('[data-test="kb-suggest"]')
    page.locator('[data-test="kb-suggest"]').wait_for()
    page.wait_for_function("document.querySelectorAll('[data-test=kb-hit]').length > 1")
    _fits_phone(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "kb-agent-zh-phone.png"), full_page=True)
    page.fill('input[data-test="kb-query"]', "x" * 3000)
    page.click('[data-test="kb-search"]')
    page.locator('[data-test="kb-error"]').wait_for()
    assert "2000" in page.inner_text('[data-test="kb-error"]')
    page.close()


def test_authors_page_review_and_publish(site, browser) -> None:
    from playwright.sync_api import expect

    base, tokens = site
    page = _page(browser, base, tokens, "author", "/knowledge?article=promo-2025")
    page.locator('[data-test="kb-expired"]').wait_for()
    assert page.locator('[data-test="kb-publish"]').count() == 0  # an author cannot publish
    _fits_phone(page)
    page.screenshot(path=str(SHOTS / "kb-authors-zh-phone.png"), full_page=True)
    page.goto(f"{base}/knowledge")
    page.fill("input[aria-label='编号']", "esim")
    page.fill("input[aria-label='标题']", "eSIM 开通")
    page.click('[data-test="kb-save"]')
    page.wait_for_url(f"{base}/knowledge?article=esim")
    assert "草稿" in page.inner_text("body")
    page.close()
    page = _page(browser, base, tokens, "boss", "/knowledge?article=esim")
    page.click('[data-test="kb-publish"]')
    # publishing reloads the page: wait on the body's text, not on a script that can run between two documents
    expect(page.locator("body")).to_contain_text("已发布 · v2", timeout=30_000)
    page.close()


def test_customer_view_link_opens_suggestions_and_records_a_link(site, browser) -> None:
    from urllib.parse import quote

    base, tokens = site
    path = f"/kb?words={quote('交了钱还是打不了电话')}&business=general&contact=C9"
    page = _page(browser, base, tokens, "agent", path)
    first = page.locator('[data-test="kb-hit"]').first
    first.wait_for()
    assert first.get_attribute("data-article") == "reactivate"
    first.get_by_text("关联到来电").click()
    page.get_by_text("已记录: linked").wait_for()
    page.close()


def test_customer_view_card_suggests_for_the_last_contact(site, browser) -> None:
    from sqlalchemy import select

    from callops.store.db import Store
    from callops.store.models_knowledge import KbEvent

    base, tokens = site
    page = _page(browser, base, tokens, "agent", f"/test/kb-customer?customer={CUSTOMER}")
    first = page.locator('[data-test="kb-customer"] [data-test="kb-hit"]').first
    first.wait_for()
    assert "KB-C2 · billing" in page.inner_text('[data-test="kb-customer"]')
    assert first.get_attribute("data-article").startswith("bill-")  # the billing articles, from the reason
    first.get_by_text("关联到来电").click()
    page.get_by_text("已记录: linked").wait_for()
    _fits_phone(page)
    page.close()
    with Store() as st, st.session() as s:
        kinds = {(e.kind, e.contact_id) for e in s.scalars(select(KbEvent).where(KbEvent.contact_id == "KB-C2"))}
    assert {("suggested", "KB-C2"), ("linked", "KB-C2")} <= kinds


def test_reranker_card_shows_the_state_and_a_reviewer_retrains(site, browser) -> None:
    """Untrained: the authors' page says so, an author gets no retrain button, a reviewer's retrain without enough
    linked questions is refused in words. Trained (here from the demo articles' own phrasings): the line shows the
    question count and the held-out check, in zh-CN."""
    from callops.knowledge import demo_articles, training
    from callops.knowledge.evaluate import Labelled
    from callops.store.db import Store

    base, tokens = site
    with Store() as store:
        training.clear(store, "demo")
    page = _page(browser, base, tokens, "author", "/knowledge")
    page.locator('[data-test="kb-reranker"]').wait_for()
    assert "尚未训练" in page.inner_text('[data-test="kb-reranker"]')
    assert page.locator('[data-test="kb-retrain"]').count() == 0
    page.close()
    page = _page(browser, base, tokens, "boss", "/knowledge")
    page.click('[data-test="kb-retrain"]')
    page.get_by_text("at least 50").wait_for()
    items = [Labelled(p, frozenset([r["id"]])) for r in demo_articles.build() if r["state"] == "published"
             and not r["valid_to"] for p in r["phrasings"]]
    with Store() as store:
        report = training.train(store, "demo", items, actor="tests")
    page.goto(f"{base}/knowledge")
    line = page.locator('[data-test="kb-reranker"]')
    line.wait_for()
    text = line.inner_text()
    assert f"{report['queries']} 条标注问题" in text and "留出集 MRR@10" in text
    assert ("搜索已启用" if report["active"] else "未启用") in text
    _fits_phone(page)
    page.close()
    with Store() as store:
        training.clear(store, "demo")
