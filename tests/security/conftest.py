"""Fixtures of the security tests: tenants ``t1`` and ``t10`` (one a prefix of the other) on a real store and
warehouse, the bundled sample in ``t1``, users of every role, the app under TestClient or a real uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from callops.store.roles import Role


@dataclass
class Sec:
    """The prepared home, tokens per tenant and role, user ids, and a client of the app."""

    home: Path
    client: TestClient
    tokens: dict[str, dict[Role, str]] = field(default_factory=dict)
    user_ids: dict[str, dict[Role, int]] = field(default_factory=dict)

    def auth(self, tenant: str = "t1", role: Role = Role.admin) -> dict[str, str]:
        """Headers of the ``role`` user of ``tenant``."""
        return {"Authorization": f"Bearer {self.tokens[tenant][role]}"}


def prepare(home: Path) -> tuple[dict[str, dict[Role, str]], dict[str, dict[Role, int]]]:
    """Tenants t1 (with the bundled sample) and t10, one user of each role in both."""
    from callops import demo, tenancy
    from callops.store import Store
    from callops.store.tenants import create_tenant
    from callops.store.users import create_user
    from callops.warehouse import Warehouse

    tokens: dict[str, dict[Role, str]] = {}
    ids: dict[str, dict[Role, int]] = {}
    store = Store()
    with Warehouse() as wh:
        for name in ("t1", "t10"):
            create_tenant(store, wh, name, "Asia/Shanghai")
            with store.session() as s:
                for role in Role:
                    user, plain = create_user(s, name, f"{name}-{role.value}", role, "test")
                    tokens.setdefault(name, {})[role] = plain
                    ids.setdefault(name, {})[role] = user.id
        demo.load_sample(wh, tenancy.get_tenant(wh, "t1"))
    store.close()
    return tokens, ids


@pytest.fixture(scope="module")
def sec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sec]:
    """The app (API only) over a fresh home, through TestClient."""
    from callops.api.app import create_app
    from callops.realtime.hub import reset_hubs

    home = tmp_path_factory.mktemp("sec") / "home"
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.delenv("CALLOPS_STORE_URL", raising=False)
    tokens, ids = prepare(home)
    with TestClient(create_app(console=False), raise_server_exceptions=False) as client:
        yield Sec(home, client, tokens, ids)
    reset_hubs()
    mp.undo()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app: object) -> tuple[str, object]:
    """Run ``app`` under uvicorn in a thread; its base URL and the server (stop it with :func:`stop`)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    server.thread = threading.Thread(target=server.run, name="sec-server", daemon=True)  # type: ignore[attr-defined]
    server.thread.start()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start within 60 s")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def stop(server: object) -> None:
    """Stop a server from :func:`serve` and wait for it (its lifespan closes the warehouse handles: a DuckDB
    connection left to interpreter exit in a killed daemon thread aborts the process)."""
    server.should_exit = True  # type: ignore[attr-defined]
    server.thread.join(60)  # type: ignore[attr-defined]
