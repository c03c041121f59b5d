"""The live wallboard shows the rest of today re-forecast (issue 18, part 4) on a queue whose day has a forecast:
the real app under uvicorn, Debian's Chromium through Playwright (skips without them, as tests/ui/test_console.py).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pandas as pd
import pytest
from console_env import TENANT, Env, chromium, free_port, prepare, require_browser, serve, stop
from test_console import _sign_in

pytestmark = [pytest.mark.xdist_group("ui"), pytest.mark.console]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Env]]:
    """The real app over a temp home with the demo tenant and a forecast snapshot of billing for the live day."""
    require_browser()
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("intraday") / "home"
        mp.setenv("CALLOPS_HOME", str(home))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        env = prepare(home)
        from callops.wfm.forecast_io import save_snapshot

        starts = pd.date_range(pd.Timestamp(env.day), periods=48, freq="30min")  # naive local, as snapshots are
        save_snapshot(TENANT, pd.DataFrame({"queue": "billing", "interval_start": starts, "forecast": 400.0}),
                      {"interval_min": 30})  # fmt: skip
        port = free_port()
        srv = serve(port)
        try:
            yield f"http://127.0.0.1:{port}", env
        finally:
            stop(srv)
            from callops.realtime.hub import reset_hubs

            reset_hubs()


@pytest.fixture(scope="module")
def browser(server: tuple[str, Env]) -> Iterator[object]:
    with chromium() as b:
        yield b


def test_billing_tile_shows_the_reforecast_of_the_rest_of_the_day(server: tuple[str, Env], browser: object) -> None:
    base, env = server
    from callops.realtime.hub import hub_for, live_dir

    lines = (live_dir(TENANT, env.home) / "events.jsonl").read_text().splitlines()
    morning = [x for x in lines if json.loads(x)["ts"][11:16] < "11:00"]
    req = urllib.request.Request(f"{base}/api/live/events", data=json.dumps([json.loads(x) for x in morning]).encode(),
                                 method="POST", headers={"Authorization": f"Bearer {env.tokens['dana']}",
                                                         "Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert json.loads(resp.read())["accepted"] == len(morning)
    expected = hub_for(TENANT).reforecasts()
    assert set(expected) == {"billing"}  # only the forecast queue
    page = _sign_in(browser, base, env)
    page.goto(f"{base}/live")
    line = page.locator('[data-key="queue:billing"] [data-test="live-reforecast"]')
    line.wait_for()
    text = line.inner_text()
    rest = f"{round(expected['billing']['reforecast_rest']):,}"
    assert rest in text and f"×{expected['billing']['ratio']:.2f}" in text, text
    assert page.locator('[data-key="queue:tech"] [data-test="live-reforecast"]').count() == 0  # no forecast there
    page.close()
