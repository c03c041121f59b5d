"""The console of a tenant a cluster member runs (issue 17, part 4), in Debian's Chromium: the wallboard shows the
member's live room (read from its log by the serving process's replica), follows new events, and an alert
acknowledged on the alerts page is acknowledged by the member (its log holds the action, by the signed-in user).

The demo tenant's live day goes through NATS to one ``callops live cluster run`` process on the console's home;
the console is the real app, serving that home with ``CALLOPS_NATS_URL`` set, as compose's ``api-c`` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from console_env import TENANT, Env, chromium, free_port, prepare, require_browser, serve, stop
from test_console import PHONE, SHOTS, _sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "realtime"))  # the live tests' NATS helper
from nats_env import URL, require_nats
from test_live_cluster import _drop_kv, wait_for

pytestmark = [pytest.mark.xdist_group("ui"), pytest.mark.console]

LEASE_S = 2.0
FIRST = 1200  # the morning's first abandons raise alerts on centre north-1 within these (test_console.py)


def _published_up_to(home: Path, seq: int) -> bool:
    from callops.realtime.cluster import read_position

    p = read_position(TENANT, home)
    return bool(p and p["seq"] >= seq)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Env, str, list[str]]]:
    """A member runs the demo tenant from a fresh stream; the console serves the member's home. Yields the base
    URL, the prepared env, the stream and the day's event lines."""
    require_browser()
    require_nats()
    from callops.realtime.cluster import bucket_for, publish_partitioned
    from callops.realtime.hub import live_dir, reset_hubs
    from callops.realtime.nats_source import delete_stream

    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("console-cluster") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.setenv("CALLOPS_NATS_URL", URL)
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        env = prepare(home)
        lines = (live_dir(TENANT, home) / "events.jsonl").read_text().splitlines()
        assert all(json.loads(ln)["tenant"] == TENANT for ln in lines[:FIRST])
        stream = f"test-console-cluster-{uuid.uuid4().hex[:10]}"
        publish_partitioned(URL, stream, lines[:FIRST])
        log = (home / "member.log").open("w")
        member = subprocess.Popen([sys.executable, "-c", "from callops.cli import main; main()", "live", "cluster",
                                   "run", "--nats", URL, "--stream", stream, "--member", "m1", "--lease-s",
                                   str(LEASE_S), "--no-sender"], env={**os.environ}, stdout=log,
                                  stderr=subprocess.STDOUT)  # fmt: skip
        srv = None
        try:
            wait_for(lambda: _published_up_to(home, FIRST), 90, "the member to log the first events")
            port = free_port()
            srv = serve(port)
            yield f"http://127.0.0.1:{port}", env, stream, lines
        finally:
            if srv is not None:
                stop(srv)
            reset_hubs()
            member.terminate()
            member.wait(timeout=60)
            log.close()
            delete_stream(URL, stream)
            _drop_kv(bucket_for(stream))


@pytest.fixture(scope="module")
def browser(cluster: tuple) -> Iterator[object]:
    """One headless Chromium for the module."""
    with chromium() as b:
        yield b


def test_members_tenant_wallboard_follows_and_alert_is_acknowledged_by_the_member(cluster: tuple,
                                                                                  browser: object) -> None:
    from callops.realtime.cluster import publish_partitioned
    from callops.realtime.eventlog import log_files
    from callops.realtime.hub import hub_for

    base, env, stream, lines = cluster
    assert hub_for(TENANT).follower  # the console reads a replica: the member holds the tenant's log
    page = _sign_in(browser, base, env)
    page.goto(f"{base}/live")
    page.wait_for_selector('[data-key="center:north-1"]:not([data-level="none"])')
    status = page.inner_text('[data-test="live-status"]').split(" · ")[0]

    # more of the day through the member: the open page follows (the replica reads the log, the page redraws);
    # published from another thread: Playwright's sync API keeps an event loop running in this one
    with ThreadPoolExecutor(1) as pool:
        pool.submit(publish_partitioned, URL, stream, lines[FIRST:FIRST + 1500]).result(timeout=60)
    wait_for(lambda: page.inner_text('[data-test="live-status"]').split(" · ")[0] != status, 30,
          "the wallboard to show the newer events")  # fmt: skip
    # then let the member log them all and the replica read them: a page redrawn by new alerts while the button
    # is clicked drops the click (the element is replaced)
    wait_for(lambda: _published_up_to(env.home, FIRST + 1500), 60, "the member to log the rest")
    wait_for(lambda: hub_for(TENANT).catch_up() == 0, 30, "the replica to read the member's log to its end")

    page.goto(f"{base}/alerts")
    card = page.locator('[data-alert][data-status="open"]').first
    alert_id = card.get_attribute("data-alert")
    card.locator('[data-test="ack"]').click()
    page.wait_for_selector(f'[data-alert="{alert_id}"][data-status="acknowledged"]')
    page.wait_for_selector('[data-test="audit"] >> text=alert.acknowledge')
    actions = [json.loads(ln) for f in log_files(TENANT, env.home) for ln in f.read_text().splitlines()
               if ln.startswith('{"op"')]  # fmt: skip
    assert [(a["op"], a["alert_id"], a["by"]) for a in actions] == [("acknowledge", alert_id, "dana")]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "cluster-alerts-desktop.png"), full_page=True)
    page.close()
    phone = _sign_in(browser, base, env, viewport=PHONE)
    phone.goto(f"{base}/live")
    phone.wait_for_selector("[data-key]")
    phone.screenshot(path=str(SHOTS / "cluster-live-phone.png"), full_page=True)
    phone.close()
