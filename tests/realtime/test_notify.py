"""Notifications through the outbox, against real local servers (HTTP on 127.0.0.1, SMTP via aiosmtpd).

Delivery is at-least-once to the wire and exactly-once by the idempotency key: the SIGKILL test kills the
sender mid-batch several times and checks that the gateway — which de-duplicates on ``Idempotency-Key`` as a
real one does — saw every message, none of them twice by key, while the raw request count may exceed it.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from callops import tenancy
from callops.errors import CallopsError
from callops.realtime.alerts import AlertBook, AlertEvent, parse_rules
from callops.realtime.channels import HttpSmsGateway, InApp, SmtpEmail, Webhook, idempotency_key
from callops.realtime.notify import (
    Notifier,
    alert_dedup_key,
    build_adapters,
    parse_notify,
    parse_routes,
    render,
    run_sender,
)
from callops.store import outbox, tenants
from callops.store.db import Store
from callops.store.models import OutboxStatus
from callops.store.outbox import Backoff

REPO = Path(__file__).resolve().parents[2]
TENANT = "acme"

RULES = """
alerts:
  - name: long-wait
    measure: longest_wait_s
    scope: queue
    levels: {yellow: 60, orange: 120, red: 180, black: 300}
    cooldown_s: 0
"""

ROUTES = """
notify:
  - levels: [yellow, orange, red, black]
    channel: inapp
    to: [supervisors]
  - levels: [orange, red, black]
    channel: sms
    to: ["+8613800000001"]
  - levels: [orange, red, black]
    channel: email
    to: [ops@example.com]
  - rules: [long-wait]
    levels: [red, black]
    channel: webhook
    to: [pager]
"""


# ------------------------------------------------------------------------------------------------- servers
class Gateway:
    """A recording HTTP server: fails the first ``fail_first`` requests (``fail_status``, 500), sleeps ``delay_s`` after
    recording each request (the request counts as received before the reply, as at a real gateway), and
    de-duplicates by ``Idempotency-Key``."""

    def __init__(self, fail_first: int = 0, delay_s: float = 0.0, fail_status: int = 500) -> None:
        self.fail_first, self.delay_s, self.fail_status = fail_first, delay_s, fail_status
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.keys: dict[str, int] = {}  # idempotency key -> requests with it
        self.applied: list[str] = []  # keys acted on (the first request with each key)
        self.watch: tuple[int, threading.Event] | None = None
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                key = self.headers.get("Idempotency-Key")
                with gw.lock:
                    gw.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                        "body": body, "at": time.monotonic()})  # fmt: skip
                    total = len(gw.requests)
                    fail = total <= gw.fail_first
                    if not fail and key:
                        gw.keys[key] = gw.keys.get(key, 0) + 1
                        if gw.keys[key] == 1:  # a real gateway acts on a key once: this is that action
                            gw.applied.append(key)
                    if gw.watch and total >= gw.watch[0]:
                        gw.watch[1].set()
                if gw.delay_s:
                    time.sleep(gw.delay_s)
                status = gw.fail_status if fail else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = do_GET = _handle  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def at(self, count: int) -> threading.Event:
        """An event set once ``count`` requests have been received."""
        ev = threading.Event()
        with self.lock:
            self.watch = (count, ev)
            if len(self.requests) >= count:
                ev.set()
        return ev

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    yield gw
    gw.close()


class Mailbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    yield box, port
    ctl.stop()


def make_store(path: Path) -> Store:
    store = Store(f"sqlite:///{path}")
    with store.session() as s:
        tenants.upsert_tenant(s, tenancy.Tenant(TENANT, "Asia/Shanghai", datetime(2024, 3, 1, tzinfo=UTC)))
    return store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = make_store(tmp_path / "store.sqlite3")
    yield st
    st.close()


def alert_events(series: list[tuple[float, float]], key: str = "billing") -> list[AlertEvent]:
    """Alert changes from the real alert book for one queue's longest wait."""
    book = AlertBook(parse_rules(RULES))
    out = []
    for t, v in series:
        ev = book.evaluate(book.rules[0], key, v, t)
        if ev is not None:
            out.append(ev)
    return out


def rows(store: Store) -> list[Any]:
    with store.session() as s:
        return outbox.list_messages(s, TENANT, limit=10_000)


T0 = 1_709_280_000.0  # 2024-03-01 08:00 UTC


# ------------------------------------------------------------------------------------------------- tests
def test_each_level_crossing_gives_one_message_per_channel(
    store: Store, gateway: Gateway, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    events = alert_events([(T0, 30), (T0 + 10, 70), (T0 + 20, 130), (T0 + 30, 200), (T0 + 40, 10)])
    assert [(e.kind, e.level_name) for e in events] == [
        ("raised", "yellow"),
        ("escalated", "orange"),
        ("escalated", "red"),
        ("cleared", None),
    ]
    notifier = Notifier(store, TENANT, parse_routes(ROUTES))
    for ev in events:
        notifier.on_alert(ev)
    for ev in events:  # the engine restarted and replayed its log: the same changes again
        notifier.on_alert(ev)
    # yellow: inapp; orange: inapp+sms+email; red: inapp+sms+email+webhook; cleared: nothing (not in kinds)
    assert notifier.enqueued == 1 + 3 + 4
    assert notifier.duplicates == 8

    adapters = {
        "sms": HttpSmsGateway(gateway.url + "/sms", encoding="form", body={"phone": "{phone}", "msg": "{text}"}),
        "webhook": Webhook(gateway.url + "/hook"),
        "email": SmtpEmail("127.0.0.1", port, sender="callops@test"),
        "inapp": InApp(),
    }
    stats = run_sender(store, adapters, "w1", stop_when_idle=True)
    assert (stats.sent, stats.retried, stats.failed, stats.lost) == (8, 0, 0, 0)
    assert all(r.status == OutboxStatus.sent for r in rows(store))

    by_path: dict[str, list[dict[str, Any]]] = {}
    for r in gateway.requests:
        by_path.setdefault(r["path"], []).append(r)
    sms, hooks = by_path["/sms"], by_path["/hook"]
    assert len(sms) == 2 and len(hooks) == 1 and len(box.messages) == 2
    forms = [urllib.parse.parse_qs(r["body"].decode()) for r in sms]
    assert all(f["phone"] == ["+8613800000001"] for f in forms)
    assert sorted(f["msg"][0].split()[0] for f in forms) == ["ORANGE", "RED"]
    hook = json.loads(hooks[0]["body"])
    assert hook["alert"]["level"] == "red" and hook["to"] == "pager"
    red = events[2]
    expected_key = idempotency_key(TENANT, alert_dedup_key(red, "webhook", "pager"))
    assert hooks[0]["headers"]["Idempotency-Key"] == hook["id"] == expected_key
    # e-mail: Message-ID from the dedup key, one per level
    ids = sorted(m["Message-ID"] for m in box.messages)
    want = sorted(f"<{idempotency_key(TENANT, alert_dedup_key(e, 'email', 'ops@example.com'))}@callops.local>"
                  for e in events[1:3])  # fmt: skip
    assert ids == want
    assert {m["To"] for m in box.messages} == {"ops@example.com"}
    assert sorted(m["Subject"].split()[0] for m in box.messages) == ["[ORANGE]", "[RED]"]


def test_retries_with_backoff_after_gateway_failures(store: Store) -> None:
    gw = Gateway(fail_first=3)
    try:
        routes = parse_routes("notify: [{channel: sms, to: ['+100'], levels: [red]}]")
        (ev,) = alert_events([(T0, 200)])
        assert Notifier(store, TENANT, routes).on_alert(ev) == 1
        backoff = Backoff(base_s=0.15, factor=2.0, max_s=10, max_attempts=5)
        sms = {"sms": HttpSmsGateway(gw.url)}
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        done = lambda: rows(store)[0].status == OutboxStatus.sent or datetime.now(UTC) > deadline  # noqa: E731
        stats = run_sender(store, sms, "w1", until=done, backoff=backoff, poll_s=0.01)
        (row,) = rows(store)
        assert row.status == OutboxStatus.sent and row.attempts == 4
        assert (stats.sent, stats.retried) == (1, 3)
        # the waits between attempts follow the back-off: >= 0.15, 0.30, 0.60 s
        times = [r["at"] for r in gw.requests]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(gaps) == 3
        for gap, want in zip(gaps, (0.15, 0.30, 0.60), strict=True):
            assert gap >= want * 0.95, gaps
        keys = {r["headers"]["Idempotency-Key"] for r in gw.requests}
        assert len(keys) == 1  # every retry carries the same key
    finally:
        gw.close()


@pytest.mark.parametrize(("status", "outcome"), [(400, OutboxStatus.failed), (429, OutboxStatus.pending)])
def test_refusal_fails_at_once_but_throttling_is_retried(store: Store, status: int, outcome: OutboxStatus) -> None:
    routes = parse_routes("notify: [{channel: webhook, to: [x], levels: [red]}]")
    (ev,) = alert_events([(T0, 200)])
    Notifier(store, TENANT, routes).on_alert(ev)
    gw = Gateway(fail_first=1, fail_status=status)
    try:
        stats = run_sender(store, {"webhook": Webhook(gw.url)}, "w1", stop_when_idle=True)
    finally:
        gw.close()
    (row,) = rows(store)
    assert row.status == outcome and row.attempts == 1 and f"HTTP {status}" in (row.last_error or "")
    assert (stats.failed, stats.retried) == ((1, 0) if outcome == OutboxStatus.failed else (0, 1))


def test_unreachable_gateway_is_retried_not_failed(store: Store) -> None:
    routes = parse_routes("notify: [{channel: sms, to: ['+1'], levels: [red]}]")
    (ev,) = alert_events([(T0, 200)])
    Notifier(store, TENANT, routes).on_alert(ev)
    port = _free_port()  # nobody listens there
    stats = run_sender(store, {"sms": HttpSmsGateway(f"http://127.0.0.1:{port}/", timeout=1)}, "w1",
                       stop_when_idle=True)  # fmt: skip
    (row,) = rows(store)
    assert (stats.retried, stats.failed) == (1, 0)
    assert row.status == OutboxStatus.pending and "failed" in (row.last_error or "")


# ------------------------------------------------------------------------------------------------- SIGKILL
SENDER = """
import os
import sys
from datetime import timedelta
from callops.realtime.channels import HttpSmsGateway
from callops.realtime.notify import run_sender
from callops.store.db import Store
from callops.store.outbox import Backoff

url, gw, worker, journal = sys.argv[1:5]
store = Store(url, upgrade=False)
with open(journal, "a") as j:
    def on_sent(msg):  # the sender's own record of each mark_sent that committed
        j.write(f"{msg.id}\\n")
        j.flush()
        os.fsync(j.fileno())

    run_sender(store, {"sms": HttpSmsGateway(gw)}, worker, batch=10, lease=timedelta(seconds=1),
               backoff=Backoff(base_s=0.05, max_s=0.2), poll_s=0.05, stop_when_idle=len(sys.argv) > 5,
               on_sent=on_sent)
"""


def _spawn(db: Path, url: str, worker: str, idle_exit: bool = False) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    journal = db.with_name("sent.journal")
    args = [sys.executable, "-c", SENDER, f"sqlite:///{db}", url, worker, str(journal)] + (["idle"] if idle_exit
                                                                                          else [])  # fmt: skip
    return subprocess.Popen(args, env=env, stderr=subprocess.PIPE)


def test_sigkill_mid_batch_loses_none_and_acts_once(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    store = make_store(db)
    routes = parse_routes("notify: [{channel: sms, to: ['+8613800000009'], levels: [red]}]")
    notifier = Notifier(store, TENANT, routes)
    for i in range(50):  # 50 queues go red
        (ev,) = alert_events([(T0 + i, 200)], key=f"Q{i:02d}")
        notifier.on_alert(ev)
    assert notifier.enqueued == 50

    gw = Gateway(delay_s=0.03)  # the request is recorded, then the reply takes a moment: the gap to kill in
    rng = random.Random(20240301)
    kills = 0
    try:
        for round_ in range(5):
            seen = len(gw.requests)
            target = seen + rng.randint(1, 8)
            hit = gw.at(target)
            proc = _spawn(db, gw.url, f"worker-{round_}")
            if not hit.wait(timeout=30):
                proc.kill()
                pytest.fail(f"sender round {round_} sent nothing: {proc.communicate()[1].decode()[-2000:]}")
            time.sleep(rng.uniform(0, 0.01))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            if sum(r.status == OutboxStatus.sent for r in rows(store)) == 50:
                break
        # a last sender runs until nothing is due; leases of the killed ones expire after 1 s
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            proc = _spawn(db, gw.url, "worker-final", idle_exit=True)
            _, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err.decode()[-2000:]
            if all(r.status == OutboxStatus.sent for r in rows(store)):
                break
            time.sleep(0.3)  # rows still leased to a killed worker: wait for the lease to run out
    finally:
        gw.close()

    final = rows(store)
    assert len(final) == 50 and all(r.status == OutboxStatus.sent for r in final)  # none lost
    assert len(gw.keys) == 50  # every message reached the gateway, counted once by key
    expected = {idempotency_key(TENANT, r.dedup_key) for r in final}
    assert set(gw.keys) == expected
    assert sorted(gw.applied) == sorted(expected)  # acted on exactly once each, by key
    # the outbox marked each row sent once: no mark_sent committed twice for a row (a kill can only lose the
    # journal line written after the commit, never add one)
    marked = [int(x) for x in (tmp_path / "sent.journal").read_text().split()]
    assert len(marked) == len(set(marked)) and set(marked) <= {r.id for r in final}
    assert len(marked) >= 50 - kills
    total = sum(gw.keys.values())
    print(f"kills={kills} requests={total} distinct={len(gw.keys)}")
    # at-least-once on the wire: a kill between the gateway's receipt and mark_sent resends with the same key
    assert kills >= 1 and total >= 50
    assert total > 50, "no kill landed between receipt and mark_sent; the test did not exercise the gap"
    store.close()


def test_notify_file_channels_and_clear_errors() -> None:
    cfg = parse_notify(
        "channels:\n"
        "  sms: {url: 'http://gw.local/send', method: GET, body: {m: '{phone}', t: '{text}'}}\n"
        "  email: {host: smtp.local, port: 2525, username: u, password_env: SMTP_PW}\n"
        "notify:\n  - {channel: sms, to: ['+1'], levels: [red]}\n"
    )
    adapters = build_adapters(cfg.channels, env={"SMTP_PW": "s3cret"})
    assert sorted(adapters) == ["email", "inapp", "sms"]
    sms, email = adapters["sms"], adapters["email"]
    assert isinstance(sms, HttpSmsGateway) and (sms.url, sms.method, sms.body) == (
        "http://gw.local/send", "GET", {"m": "{phone}", "t": "{text}"})  # fmt: skip
    assert isinstance(email, SmtpEmail) and (email.port, email.username, email.password) == (2525, "u", "s3cret")
    with pytest.raises(CallopsError, match="SMTP_PW, which is not set"):
        build_adapters(cfg.channels, env={})
    for text, message in [
        ("notify: [{channel: fax, to: [x]}]", "notify.0.channel"),
        ("notify: [{channel: sms, to: []}]", "notify.0.to"),
        ("notify: [{channel: sms, to: [x], levels: [purple]}]", "notify.0.levels.0"),
        ("channels: {sms: {url: 'ftp://x'}}\nnotify: []", "channels.sms.url"),
        ("notify: [", "not valid YAML"),
    ]:
        with pytest.raises(CallopsError, match=message.replace(".", r"\.")):
            parse_notify(text, "notify.yaml")


def test_text_in_the_tenant_zone_and_language() -> None:
    (ev,) = alert_events([(T0, 200)])  # 2024-03-01 08:00 UTC = 16:00 in Shanghai
    zone = ZoneInfo("Asia/Shanghai")
    subject, text = render(ev, None, zone, "zh-CN")
    assert subject == "【红色】队列 billing long-wait 触发"
    assert text == "【红色】队列 billing long-wait：200（阈值 180），触发于 2024-03-01T16:00:00+08:00"
    subject, text = render(ev, "{LEVEL} {key} {value}s at {at}", zone)
    assert (subject, text) == ("[RED] long-wait queue billing raised", "RED billing 200s at 2024-03-01T16:00:00+08:00")
