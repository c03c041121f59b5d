"""Build a console test environment: demo tenant with the bundled sample, live config, users; serve the real app."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

TENANT = "demo"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package: playwright drives it, no browser download
CHROMIUM_ARGS = ("--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run")  # fmt: skip


def require_browser() -> None:
    """Skip the module without Debian's chromium or playwright (fail instead under CALLOPS_REQUIRE_SERVICES=1)."""
    missing = [] if CHROMIUM.exists() else [str(CHROMIUM)]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright")
    if missing:
        import pytest

        msg = f"console browser tests need {', '.join(missing)} (apt-get install chromium; pip install playwright)"
        if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium (a playwright ``Browser``), closed on exit: every console module's ``browser``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            yield b
        finally:
            b.close()


@dataclass
class Env:
    """A prepared home with the demo tenant and its users (plain tokens); ``day``: the live day (local)."""

    home: Path
    tokens: dict[str, str]
    day: date


def prepare(home: Path) -> Env:
    """Demo tenant with the sample loaded, the live demo (config, roster, schedules) on the sample's last day, and
    users of three roles."""
    os.environ["CALLOPS_HOME"] = str(home)
    os.environ.pop("CALLOPS_WAREHOUSE", None)
    os.environ.pop("CALLOPS_STORE_URL", None)
    from callops.demo import ensure_demo_tenant, load_sample
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping
    from callops.metrics.top import latest_day
    from callops.realtime.demo import TENANT as LIVE_TENANT
    from callops.realtime.demo import write_demo
    from callops.realtime.hub import live_dir
    from callops.store import Store
    from callops.store.users import create_user
    from callops.warehouse import Warehouse

    assert LIVE_TENANT == TENANT, LIVE_TENANT
    folder = live_dir(TENANT)
    with Warehouse() as wh:
        tenant = ensure_demo_tenant(wh)
        load_sample(wh, tenant)
        day = latest_day(wh, TENANT)
        # the live day (and its schedules) on the sample's last day: one week shows actuals, forecast and roster
        write_demo(folder, day=day)
        for table in ("agents", "schedules"):
            load_files(wh, tenant, table, [folder / f"{table}.csv"], load_mapping("canonical", table))
    tokens = {}
    with Store() as store, store.session() as s:
        for name, role in (("dana", "dispatcher"), ("alex", "analyst"), ("pia", "planner")):
            _, tokens[name] = create_user(s, TENANT, name, role, actor="tests")
    return Env(home, tokens, day)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_app():
    """A bare FastAPI app with only the console (for developing the console without the API)."""
    from fastapi import FastAPI

    from callops.ui import mount

    app = FastAPI()
    mount(app)
    return app


def serve(port: int, app=None):
    """Start ``app`` (default: the real ``create_app()``) under uvicorn in a daemon thread, once it accepts requests."""
    import uvicorn

    if app is None:
        from callops.api.app import create_app

        app = create_app()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    server.thread = threading.Thread(target=server.run, name="console-server", daemon=True)  # for stop()
    server.thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("console server did not start within 60 s")
        time.sleep(0.05)
    return server


def stop(server, timeout: float = 60.0) -> None:
    """Stop a server started by :func:`serve` and wait for its shutdown (the app's resources closed): a process
    that exits while the server thread is still closing DuckDB aborts ("FATAL: exception not rethrown")."""
    server.should_exit = True
    server.thread.join(timeout)
