"""Two documented console promises (issue 20), checked in Debian's Chromium against the real app:

* "Revoking a token signs the console out": a page opened with a token that is then revoked (by an admin, in the
  store) answers its next interaction and its next load with the sign-in page, and shows none of its data.
* "Opening a page without the permission shows a refusal": every navigation page whose permission some role
  lacks, opened by such a role, shows only the refusal (zh-CN and en) -- no frame, no navigation, no data.

Skips without Chromium/Playwright unless ``CALLOPS_REQUIRE_SERVICES=1``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from console_env import TENANT, Env, chromium, free_port, prepare, require_browser, serve, stop

pytestmark = [pytest.mark.xdist_group("ui"), pytest.mark.console]

# The refusal as written in the promise (independent of the label table, which is checked against it below).
REFUSAL = {"en": "Your role may not open this page.", "zh-CN": "您的角色无权访问此页面。"}
# Roles tried for each page, in this order: the first that lacks the page's permission opens it.
ROLES = ("agent", "analyst", "planner", "dispatcher", "team_lead", "director")


def _refusals() -> list[tuple[str, str]]:
    """(path, role) for every navigation entry: the first role of ROLES without the entry's permission."""
    from callops.store.roles import allows
    from callops.ui.layout import NAV

    out = []
    for path, _key, _icon, perm in NAV:
        role = next((r for r in ROLES if not allows(r, perm)), None)
        if role is not None:
            out.append((path, role))
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Env]]:
    """The real app over a temp home: the demo tenant with the sample loaded (so every page has data to leak)."""
    require_browser()
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("console-claims") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        env = prepare(home)
        srv = serve(free_port())
        try:
            yield f"http://127.0.0.1:{srv.config.port}", env
        finally:
            stop(srv)
            for th in threading.enumerate():  # let the lifespan close the warehouse handles before exit
                if th.name == "console-server":
                    th.join(60)
            from callops.realtime.hub import reset_hubs

            reset_hubs()


@pytest.fixture(scope="module")
def browser(server: tuple[str, Env]) -> Iterator[object]:
    """One headless Chromium for the module."""
    with chromium() as b:
        yield b


def _user(name: str, role: str, locale: str = "en") -> tuple[str, int]:
    """A new user of the demo tenant: (plain token, token id)."""
    from callops.store import Store
    from callops.store.users import authenticate, create_user

    with Store() as store, store.session() as s:
        _user_row, plain = create_user(s, TENANT, name, role, actor="tests", locale=locale)
        return plain, authenticate(s, plain).token_id


def _revoke(token_id: int) -> None:
    """What an admin does (``callops user revoke`` / ``DELETE /api/tokens/{id}``): revoke in the store."""
    from callops.store import Store
    from callops.store.users import revoke_token

    with Store() as store, store.session() as s:
        revoke_token(s, TENANT, token_id, "admin")


def _sign_in(browser: object, base: str, name: str, token: str):
    """A fresh browser context signed in as ``name`` (on whatever page the sign-in leads to)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(60_000)  # the shared test machine can be loaded
    page.goto(f"{base}/login")
    page.fill('input[data-test="user-name"]', name)
    page.fill('input[data-test="token"]', token)
    page.click('[data-test="sign-in"]')
    page.wait_for_url(lambda url: not url.endswith("/login"))
    return page


def _assert_sign_in_page_without_data(page: object, base: str, shown: list[str]) -> None:
    """On the sign-in page, with none of the signed-in page's frame or data (``shown``: texts it had shown)."""
    page.wait_for_url(f"{base}/login", timeout=20_000)  # type: ignore[attr-defined]
    page.locator('input[data-test="token"]').wait_for()  # type: ignore[attr-defined]
    for selector in ("[data-metric]", '[data-test="top-grid"]', '[data-test="tenant"]', '[data-test="user"]',
                     "[data-nav]"):  # fmt: skip
        assert page.locator(selector).count() == 0, selector  # type: ignore[attr-defined]
    body = page.inner_text("body")  # type: ignore[attr-defined]
    for text in shown:
        assert text not in body, text


def _top_page_texts(page: object) -> list[str]:
    """Wait for the TOP indicators and return texts only a signed-in page shows: tile values and the heading."""
    page.locator("[data-metric]").first.wait_for()  # type: ignore[attr-defined]
    tiles = page.locator("[data-metric] .co-kpi").all_inner_texts()  # type: ignore[attr-defined]
    assert tiles, "no indicator values on the TOP page"
    return [TENANT, *{v for v in tiles if v.strip() and v.strip() not in ("-", "—")}]


def test_revoked_token_next_interaction_lands_on_sign_in(server: tuple[str, Env], browser: object) -> None:
    """Switching the period after the token was revoked signs out instead of loading the month's indicators."""
    base, _env = server
    token, token_id = _user("claims-click", "analyst")
    page = _sign_in(browser, base, "claims-click", token)
    page.goto(f"{base}/?period=day")
    shown = _top_page_texts(page)
    _revoke(token_id)
    page.locator('[data-test="period"] button').filter(has_text="Month").click()
    _assert_sign_in_page_without_data(page, base, shown)
    page.goto(f"{base}/trends")  # and the browser session is gone for good
    _assert_sign_in_page_without_data(page, base, shown)
    page.close()


def test_revoked_token_next_page_load_lands_on_sign_in(server: tuple[str, Env], browser: object) -> None:
    """Reloading (or opening any page) after the token was revoked shows the sign-in page, not the data."""
    base, _env = server
    token, token_id = _user("claims-load", "analyst")
    page = _sign_in(browser, base, "claims-load", token)
    page.goto(f"{base}/?period=day")
    shown = _top_page_texts(page)
    _revoke(token_id)
    page.reload()
    _assert_sign_in_page_without_data(page, base, shown)
    page.goto(f"{base}/?period=day")
    _assert_sign_in_page_without_data(page, base, shown)
    page.close()


def test_a_live_token_keeps_the_page(server: tuple[str, Env], browser: object) -> None:
    """The control: the same period switch with a valid token loads the month's indicators and stays."""
    base, _env = server
    token, _token_id = _user("claims-live", "analyst")
    page = _sign_in(browser, base, "claims-live", token)
    page.goto(f"{base}/?period=day")
    _top_page_texts(page)
    page.locator('[data-test="period"] button').filter(has_text="Month").click()
    page.get_by_text("Month ·").wait_for()  # the heading of the month's indicators
    assert page.url == f"{base}/?period=day"
    assert page.locator("[data-metric]").count() > 0
    page.close()


def test_every_navigation_page_but_the_knowledge_base_has_a_role_it_refuses() -> None:
    """The refusal test below covers every navigation entry except the knowledge base, which every role reads."""
    from callops.store.roles import Permission, Role, allows
    from callops.ui.i18n import t
    from callops.ui.layout import NAV

    refused = {path for path, _role in _refusals()}
    assert {path for path, *_ in NAV} - refused == {"/kb"}
    assert all(allows(r, Permission.kb_read) for r in Role)
    assert {loc: t("no_permission", loc) for loc in REFUSAL} == REFUSAL


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_page_without_the_permission_shows_only_a_refusal(server: tuple[str, Env], browser: object,
                                                            locale: str) -> None:  # fmt: skip
    """Each navigation page opened by a role without its permission: the refusal in the user's language, on the
    page's own address (not a redirect), and nothing else -- no header, no navigation, no tenant, no data."""
    base, _env = server
    pages = {}
    for role in sorted({role for _path, role in _refusals()}):
        name = f"claims-{role.replace('_', '')}-{locale.lower()}"
        token, _token_id = _user(name, role, locale)
        pages[role] = _sign_in(browser, base, name, token)
    for path, role in _refusals():
        page = pages[role]
        page.goto(f"{base}{path}")
        refusal = page.locator('[data-test="forbidden"]')
        refusal.wait_for(timeout=20_000)
        page.wait_for_load_state("networkidle")  # anything the page would add after loading has arrived
        assert page.url == f"{base}{path}", (path, role)
        assert refusal.inner_text() == REFUSAL[locale], (path, role)
        assert page.inner_text("body").strip() == REFUSAL[locale], (path, role)  # nothing but the refusal
        for selector in ("[data-nav]", '[data-test="tenant"]', '[data-test="user"]', "header", "[data-metric]"):
            assert page.locator(selector).count() == 0, (path, role, selector)
    for page in pages.values():
        page.close()
