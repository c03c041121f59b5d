"""``/healthz`` and ``/readyz`` of ``callops live cluster run --http`` (issue 17, operations), on the real broker.

Two member processes share ``t1`` and ``t10`` (prefix names); each serves its probes. Readiness follows what the
lease table says (read independently with ``cluster status``), goes to 503 within a lease period when the member
loses NATS (it reaches the broker through a TCP relay the test cuts) and comes back when NATS does; a member
stopped with SIGTERM answers "leaving" and the other takes the tenants. Bad ``--http`` values are one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats_env import URL, require_nats

from callops.errors import CallopsError
from callops.realtime.cluster import Member, MemberConfig, bucket_for, cluster_status, publish_partitioned
from callops.realtime.cluster_http import parse_listen
from callops.realtime.nats_source import delete_stream

LEASE_S = 2.0
TENANTS = ("t1", "t10")


@pytest.fixture(scope="module", autouse=True)
def nats_server() -> None:
    require_nats()


@pytest.fixture
def stream() -> Iterator[str]:
    import asyncio

    from callops.realtime.nats_source import connect

    name = f"test-probes-{uuid.uuid4().hex[:10]}"
    yield name
    delete_stream(URL, name)

    async def drop() -> None:
        nc = await connect(URL)
        try:
            await nc.jetstream().delete_key_value(bucket_for(name))
        except Exception:
            pass
        finally:
            await nc.close()

    asyncio.run(drop())


class Relay:
    """A TCP relay to the NATS server that the test can cut (every connection closed, nothing listening) and
    restore on the same port: a member behind it loses NATS as it would in a network partition."""

    def __init__(self) -> None:
        self.target = URL.removeprefix("nats://").rsplit(":", 1)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.conns: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.open()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def open(self) -> None:
        lst = socket.socket()
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(("127.0.0.1", self.port))
        lst.listen(16)
        self.listener = lst
        threading.Thread(target=self._accept, args=(lst,), daemon=True).start()

    def _accept(self, lst: socket.socket) -> None:
        while True:
            try:
                client, _ = lst.accept()
            except OSError:
                return
            if lst is not self.listener:  # accepted while being cut: refuse it
                client.close()
                return
            upstream = socket.create_connection((self.target[0], int(self.target[1])))
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        if self.listener is not None:
            lst, self.listener = self.listener, None
            with contextlib.suppress(OSError):  # wakes a thread blocked in accept(); close() alone does not (Linux)
                lst.shutdown(socket.SHUT_RDWR)
            lst.close()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        self.conns = []


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _die_with_parent() -> None:
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _member(name: str, nats: str, stream: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from callops.cli import main; main()", "live", "cluster", "run", "--nats", nats,
           "--stream", stream, "--member", name, "--lease-s", str(LEASE_S), "--no-sender",
           "--http", f"127.0.0.1:{port}"]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)


def _get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _wait(pred: Any, timeout: float, what: str) -> Any:
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        try:
            last = pred()
        except OSError:  # not listening yet
            last = None
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last})")


def _ready(port: int, tenants: set[str]) -> dict | None:
    status, body = _get(port, "/readyz")
    held = {t for t, v in body["tenants"].items() if v["held"] and v["worker"] == "serving"}
    return body if status == 200 and held == tenants else None


def _not_ready(port: int) -> tuple[int, dict] | None:
    status, body = _get(port, "/readyz")
    print(time.monotonic(), status, body)  # shown when the test fails
    return (status, body) if status == 503 else None


def _shared(pa: int, pb: int) -> bool:
    """Both members ready, one tenant each, its worker consuming."""
    (sa, a), (sb, b) = _get(pa, "/readyz"), _get(pb, "/readyz")
    return sa == sb == 200 and len(a["tenants"]) == len(b["tenants"]) == 1 and all(
        v["worker"] == "serving" for v in (*a["tenants"].values(), *b["tenants"].values()))


def test_probes_follow_leases_nats_and_shutdown(stream: str, tmp_path: Path) -> None:
    publish_partitioned(URL, stream, [json.dumps({"type": "agent.state", "tenant": t, "agent_id": "a1",
                                                  "state": "ready", "ts": "2026-03-02T09:00:00+08:00"})
                                      for t in TENANTS])
    env = {**os.environ, "CALLOPS_HOME": str(tmp_path / "home"),
           "CALLOPS_STORE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    env.pop("CALLOPS_DEBUG", None)
    relay = Relay()
    pa, pb = _free_port(), _free_port()
    a = _member("a", relay.url, stream, pa, env, tmp_path / "a.log")
    b = None
    try:
        assert _wait(lambda: _get(pa, "/healthz")[0] == 200, 60, "a's /healthz")
        assert _get(pa, "/nothing")[0] == 404
        body = _wait(lambda: _ready(pa, set(TENANTS)), 60, "a ready with both tenants")
        assert body["member"] == "a" and body["joined"] and body["status"] == "ready"
        owners = cluster_status(URL, stream)["tenants"]  # the lease table itself, read apart from the member
        assert {t: v["member"] for t, v in owners.items()} == {"t1": "a", "t10": "a"}
        assert {t: v["epoch"] for t, v in owners.items()} == {t: v["epoch"] for t, v in body["tenants"].items()}

        b = _member("b", URL, stream, pb, env, tmp_path / "b.log")  # b joins: one tenant each
        _wait(lambda: _shared(pa, pb), 60, "the tenants shared")
        mine_a, mine_b = set(_get(pa, "/readyz")[1]["tenants"]), set(_get(pb, "/readyz")[1]["tenants"])
        assert mine_a | mine_b == set(TENANTS) and not mine_a & mine_b
        owners = cluster_status(URL, stream)["tenants"]
        assert {t for t, v in owners.items() if v["member"] == "b"} == mine_b

        relay.cut()  # a loses NATS: not ready within a lease period or so, still alive
        t0 = time.monotonic()
        _status, body = _wait(lambda: _not_ready(pa), 3 * LEASE_S + 5, "a not ready")
        assert time.monotonic() - t0 < 2 * LEASE_S + 3
        assert "NATS" in body["reason"] or "not surely held" in body["reason"], body
        assert _get(pa, "/healthz")[0] == 200
        _wait(lambda: _ready(pb, set(TENANTS)), 30, "b takes a's tenant")  # b is behind no relay
        relay.open()  # NATS back: a rejoins the table and gets a share again
        _wait(lambda: _get(pa, "/readyz")[0] == 200 and len(_get(pa, "/readyz")[1]["tenants"]) == 1, 60,
              "a ready again")

        b.send_signal(signal.SIGTERM)  # b leaves: its probe says so while it hands back, then a has both
        assert b.wait(timeout=30) == 0
        _wait(lambda: _ready(pa, set(TENANTS)), 30, "a takes b's tenants")
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        relay.cut()
    out = (tmp_path / "a.log").read_text()
    assert "probes on http://127.0.0.1:" in out and "/readyz" in out.splitlines()[0]


def test_readiness_before_joining_and_when_leaving() -> None:
    """A member that has not reached NATS is alive but not ready; one that is stopping is not ready either."""
    m = Member(MemberConfig(URL, "never-started", "m1"))
    status, body = m.readiness()
    assert status == 503 and "not joined" in body["reason"] and body["tenants"] == {}
    assert m.health()[0] == 200
    m.stopping.set()
    assert "leaving" in m.readiness()[1]["reason"]


def test_bad_http_address_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CallopsError, match="HOST:PORT"):
        parse_listen("8091")
    assert parse_listen("[::1]:0") == ("::1", 0)
    env = {**os.environ, "CALLOPS_HOME": str(tmp_path / "home")}
    env.pop("CALLOPS_DEBUG", None)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        cases = [("nowhere", "expected HOST:PORT"), ("127.0.0.1:99999", "expected HOST:PORT"),
                 (f"127.0.0.1:{busy.getsockname()[1]}", "cannot listen")]
        stream = f"test-probes-bad-{uuid.uuid4().hex[:8]}"
        publish_partitioned(URL, stream, [])
        try:
            for value, words in cases:
                out = subprocess.run([sys.executable, "-c", "from callops.cli import main; main()", "live", "cluster",
                                      "run", "--nats", URL, "--stream", stream, "--member", "m1", "--no-sender",
                                      "--http", value], env=env, capture_output=True, text=True, timeout=60)
                assert out.returncode == 2 and words in out.stderr, (value, out.stderr)
                assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
        finally:
            delete_stream(URL, stream)
    finally:
        busy.close()
