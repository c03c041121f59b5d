"""Notifications of alert changes through the store's durable outbox: never lost, never acted on twice.

A tenant's ``notify.yaml`` (in its live folder) says how to reach each channel and which alert changes notify
whom::

    channels:
      sms:                            # an HTTP SMS gateway
        url: http://sms-gw.local/send
        method: POST                  # or GET (the filled body goes into the query string)
        encoding: json                # or form
        body: {phone: "{phone}", message: "{text}"}
        headers: {X-Api-Key: "..."}
      webhook: {url: http://ops.local/hooks/callops}
      email: {host: smtp.local, port: 25, sender: callops@example.com, username: callops,
              password_env: CALLOPS_SMTP_PASSWORD, starttls: true}
      # inapp needs no settings: the outbox row is the in-app notification
    notify:
      - rules: [long-wait]          # rule names; omit for every rule
        levels: [orange, red, black] # levels that notify (for ``cleared``: the level it cleared from)
        kinds: [raised, escalated]   # the default; add de-escalated / cleared to hear about those too
        channel: sms                 # sms | webhook | email | inapp
        to: ["+8613800000000"]
        template: "{LEVEL} {rule} {scope} {key}: {value} (threshold {threshold})"   # optional

Two halves, joined only by the outbox table:

* **Enqueue** (:class:`Notifier`, :func:`enqueue_alert`): each alert event becomes one outbox row per route
  recipient, with a deterministic dedup key built from the alert key ``(rule, scope, key)``, the kind and level
  of the change, its event-time timestamp, the channel and the recipient (:func:`alert_dedup_key`; the tenant is
  the outbox's other unique column). The same change seen again — the engine restarted and replayed its event
  log — produces the same keys, and :func:`callops.store.outbox.enqueue` ignores them.
* **Send** (:func:`run_sender`): claim due rows under a lease, deliver each through its channel adapter
  (:mod:`callops.realtime.channels`) outside any transaction, then ``mark_sent`` or ``mark_failed`` (back-off;
  permanent refusals fail at once).

Delivery guarantee, stated plainly: **at-least-once to the wire, exactly-once by the idempotency key.** A
sender killed after the receiver accepted a message but before ``mark_sent`` committed leaves the row leased;
when the lease runs out it is claimed and sent again. Nothing can close that gap from the sender's side, so
every send carries the same idempotency key (``Idempotency-Key`` header, e-mail ``Message-ID``) derived from
``(tenant, dedup_key)``; a receiver that de-duplicates on it — as SMS gateways and webhook consumers do — acts
exactly once. ``tests/realtime/test_notify.py`` kills the sender with SIGKILL mid-batch to show both halves.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callops.errors import CallopsError
from callops.realtime.alerts import LEVELS, AlertEvent, Level
from callops.realtime.channels import Adapter, SendError, fill
from callops.store import models, outbox
from callops.store.db import Store
from callops.store.models import Channel, OutboxStatus
from callops.store.outbox import Backoff, ClaimedMessage

Kind = Literal["raised", "escalated", "de-escalated", "cleared"]
DEFAULT_TEMPLATES = {
    "en": "{LEVEL} {rule} on {scope} {key}: {value} (threshold {threshold}), {kind} at {at}",
    "zh-CN": "【{level_label}】{scope_label} {key} {rule}：{value}（阈值 {threshold}），{kind_label}于 {at}",
}
DEFAULT_TEMPLATE = DEFAULT_TEMPLATES["en"]
# zh-CN labels of levels, changes and scopes (the console's words; kept here so the sender needs no UI import)
_LABELS: dict[str, dict[str, str]] = {
    "en": {"yellow": "Yellow", "orange": "Orange", "red": "Red", "black": "Black", "none": "Normal",
           "raised": "raised", "escalated": "escalated", "de-escalated": "de-escalated", "cleared": "cleared",
           "queue": "queue", "center": "center", "channel": "channel", "tenant": "tenant", "agent": "agent"},
    "zh-CN": {"yellow": "黄色", "orange": "橙色", "red": "红色", "black": "黑色", "none": "正常",
              "raised": "触发", "escalated": "升级", "de-escalated": "降级", "cleared": "解除",
              "queue": "队列", "center": "中心", "channel": "渠道", "tenant": "全局", "agent": "坐席"},
}  # fmt: skip
MAX_KEY = 300  # the outbox's dedup_key column


class Route(BaseModel):
    """Which alert changes go to which recipients on one channel."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: list[str] | None = None
    levels: list[Level] = Field(default_factory=lambda: list(LEVELS))  # type: ignore[arg-type]
    kinds: list[Kind] = Field(default_factory=lambda: ["raised", "escalated"])  # type: ignore[arg-type]
    channel: Literal["sms", "webhook", "email", "inapp"]
    to: list[str] = Field(min_length=1)
    template: str | None = None
    lang: Literal["en", "zh-CN"] = "en"

    def matches(self, ev: AlertEvent) -> bool:
        """True if ``ev`` is a change this route notifies about."""
        if ev.kind not in self.kinds or (self.rules is not None and ev.rule not in self.rules):
            return False
        level = ev.level or ev.prev_level  # a clear is judged by the level it cleared from
        return bool(level) and LEVELS[level - 1] in self.levels


class SmsSettings(BaseModel):
    """The HTTP SMS gateway (see :class:`~callops.realtime.channels.HttpSmsGateway`)."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://")
    method: Literal["GET", "POST", "PUT"] = "POST"
    encoding: Literal["json", "form"] = "json"
    body: dict[str, Any] = Field(default_factory=lambda: {"to": "{phone}", "text": "{text}"})
    headers: dict[str, str] = Field(default_factory=dict)
    key_header: str = "Idempotency-Key"
    timeout: float = Field(10.0, gt=0)


class WebhookSettings(BaseModel):
    """The webhook receiver."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(10.0, gt=0)


class EmailSettings(BaseModel):
    """The SMTP server; the password is read from the environment variable ``password_env``, never the file."""

    model_config = ConfigDict(extra="forbid")
    host: str
    port: int = Field(25, gt=0, lt=65536)
    sender: str = "callops@localhost"
    domain: str = "callops.local"
    username: str | None = None
    password_env: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = Field(10.0, gt=0)


class ChannelSettings(BaseModel):
    """How to reach each channel (a channel left out cannot deliver; its messages wait, retried)."""

    model_config = ConfigDict(extra="forbid")
    sms: SmsSettings | None = None
    webhook: WebhookSettings | None = None
    email: EmailSettings | None = None


class NotifyFile(BaseModel):
    """``notify.yaml``: ``channels`` (optional) and ``notify`` routes."""

    model_config = ConfigDict(extra="forbid")
    channels: ChannelSettings = Field(default_factory=ChannelSettings)
    notify: list[Route]


def parse_notify(text: str, label: str = "<notify>") -> NotifyFile:
    """A whole notify file from YAML text; one :class:`CallopsError` naming the offending fields when invalid."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CallopsError(f"{label}: not valid YAML ({exc})") from None
    try:
        return NotifyFile.model_validate(data)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)[:5]]
        raise CallopsError(f"{label}: " + "; ".join(parts)) from None


def parse_routes(text: str, label: str = "<notify>") -> list[Route]:
    """Routes from YAML text (see :func:`parse_notify`)."""
    return parse_notify(text, label).notify


def load_notify(path: str | Path) -> NotifyFile:
    """A notify file (channels and routes)."""
    p = Path(path)
    if not p.exists():
        raise CallopsError(f"notify file {p} not found")
    return parse_notify(p.read_text(encoding="utf-8"), str(p))


def load_routes(path: str | Path) -> list[Route]:
    """Routes from a YAML file."""
    return load_notify(path).notify


def build_adapters(settings: ChannelSettings, env: Mapping[str, str] | None = None) -> dict[str, Adapter]:
    """The channel adapters ``settings`` configure (in-app always); ``env`` holds the SMTP password variable."""
    import os

    from callops.realtime.channels import HttpSmsGateway, InApp, SmtpEmail, Webhook

    env = os.environ if env is None else env
    out: dict[str, Adapter] = {"inapp": InApp()}
    if settings.sms is not None:
        out["sms"] = HttpSmsGateway(**settings.sms.model_dump())
    if settings.webhook is not None:
        out["webhook"] = Webhook(**settings.webhook.model_dump())
    if settings.email is not None:
        e = settings.email.model_dump()
        var = e.pop("password_env")
        if var and var not in env:
            raise CallopsError(f"notify: channels.email.password_env names {var}, which is not set")
        out["email"] = SmtpEmail(**e, password=env[var] if var else None)
    return out


def _short_hash(text: str, n: int = 12) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def alert_dedup_key(ev: AlertEvent, channel: str, recipient: str) -> str:
    """``alert/<rule>/<scope>:<key>/<kind>/<level>/<event-time ms>/<channel>/<recipient hash>``.

    Deterministic: the same alert change, replayed, gives the same key. Over 300 characters (very long keys)
    the alert part is hashed.
    """
    level = ev.level_name or "none"
    alert_key = f"{ev.rule}/{ev.scope}:{ev.key}"
    tail = f"{ev.kind}/{level}/{round(ev.at * 1000)}/{channel}/{_short_hash(recipient)}"
    key = f"alert/{alert_key}/{tail}"
    return key if len(key) <= MAX_KEY else f"alert/#{_short_hash(alert_key, 40)}/{tail}"


def _fmt(v: float | None) -> str:
    from callops.cli import _cell  # readable: "—" when missing, thousands separators, never 1e+06

    return _cell(v)


def render(
    ev: AlertEvent, template: str | None = None, zone: tzinfo | None = None, lang: str = "en"
) -> tuple[str, str]:
    """Subject and text of the notification for ``ev`` (``{name}`` placeholders replaced, nothing evaluated).

    Placeholders: ``level LEVEL level_label kind kind_label rule scope scope_label key value threshold alert_id
    at``; ``at`` is the event time in ``zone`` (the tenant's; UTC when None) with its offset, ``*_label`` are in
    ``lang``."""
    level = ev.level_name or (LEVELS[ev.prev_level - 1] if ev.prev_level else "none")
    words = _LABELS.get(lang, _LABELS["en"])
    at = datetime.fromtimestamp(ev.at, zone or UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    values = {
        "level": level, "LEVEL": level.upper(), "level_label": words[level], "kind": ev.kind,
        "kind_label": words.get(ev.kind, ev.kind), "rule": ev.rule, "scope": ev.scope,
        "scope_label": words.get(ev.scope, ev.scope), "key": ev.key, "value": _fmt(ev.value),
        "threshold": _fmt(ev.threshold), "alert_id": ev.alert_id, "at": at,
    }  # fmt: skip
    if lang == "zh-CN":
        subject = f"【{values['level_label']}】{values['scope_label']} {ev.key} {ev.rule} {values['kind_label']}"
    else:
        subject = f"[{values['LEVEL']}] {ev.rule} {ev.scope} {ev.key} {ev.kind}"
    return subject, fill(template or DEFAULT_TEMPLATES.get(lang, DEFAULT_TEMPLATE), values)


def messages_for(
    ev: AlertEvent, routes: list[Route], zone: tzinfo | None = None
) -> list[tuple[Channel, str, dict[str, Any]]]:
    """``(channel, dedup key, payload)`` for every route recipient that ``ev`` notifies (times shown in ``zone``)."""
    out = []
    for route in routes:
        if not route.matches(ev):
            continue
        subject, text = render(ev, route.template, zone, route.lang)
        for to in route.to:
            payload = {"to": to, "subject": subject, "text": text, "alert": ev.as_dict()}
            out.append((Channel(route.channel), alert_dedup_key(ev, route.channel, to), payload))
    return out


def enqueue_alert(
    session: Any, tenant: str, ev: AlertEvent, routes: list[Route], zone: tzinfo | None = None
) -> int:
    """Write ``ev``'s notifications (times in ``zone``, the tenant's) to the outbox in the caller's transaction;
    how many were new."""
    planned = messages_for(ev, routes, zone)
    return sum(outbox.enqueue(session, tenant, ch, key, payload) for ch, key, payload in planned)


class Notifier:
    """An engine listener (``engine.listeners.append(notifier.on_alert)``) that enqueues notifications."""

    def __init__(self, store: Store, tenant: str, routes: list[Route], zone: tzinfo | None = None) -> None:
        """Notify ``tenant``'s alert changes by ``routes``, times shown in ``zone`` (the tenant's zone)."""
        self.store, self.tenant, self.routes, self.zone = store, tenant, routes, zone
        self.enqueued = 0
        self.duplicates = 0

    def enqueue_many(self, events: list[AlertEvent]) -> int:
        """Enqueue the notifications of several alert changes in one transaction; how many rows were new."""
        planned = [m for ev in events for m in messages_for(ev, self.routes, self.zone)]
        if not planned:
            return 0
        with self.store.session() as s:
            new = sum(outbox.enqueue(s, self.tenant, ch, key, payload) for ch, key, payload in planned)
        self.enqueued += new
        self.duplicates += len(planned) - new
        return new

    def on_alert(self, ev: AlertEvent) -> int:
        """Enqueue ``ev``'s notifications in one transaction (committed before this returns); how many were new."""
        return self.enqueue_many([ev])


# ------------------------------------------------------------------------------------------------- sending
@dataclass
class SenderStats:
    """What a sender did: messages claimed, delivered, put back for a retry, failed for good, and lost leases."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0  # our lease ran out before we could record the outcome; another claim owns the row


def send_due(
    store: Store,
    adapters: Mapping[str, Adapter],
    worker_id: str,
    *,
    batch: int = 20,
    lease: timedelta = outbox.DEFAULT_LEASE,
    backoff: Backoff = Backoff(),
    clock: Callable[[], datetime] = models.utcnow,
    stats: SenderStats | None = None,
    on_sent: Callable[[ClaimedMessage], None] | None = None,
) -> int:
    """Claim one batch of due messages and deliver it; returns how many were claimed.

    The claim and each outcome are separate short transactions; sending happens outside them. A message
    whose lease has run out by the time its turn comes is left alone (it will be claimed again). ``on_sent`` is
    called after each ``mark_sent`` that committed (this worker recorded the delivery).
    """
    stats = stats if stats is not None else SenderStats()
    with store.session() as s:
        claimed = outbox.claim_due(s, clock(), batch, worker_id, lease=lease)
    stats.claimed += len(claimed)
    for msg in claimed:
        if clock() >= msg.lease_until:
            stats.lost += 1
            continue
        error, permanent = _deliver(adapters, msg)
        with store.session() as s:
            if error is None:
                ok = outbox.mark_sent(s, msg.id, worker_id, now=clock())
                stats.sent += ok
            else:
                status = outbox.mark_failed(s, msg.id, worker_id, error, now=clock(), backoff=backoff,
                                            permanent=permanent)  # fmt: skip
                ok = status is not None
                stats.failed += status == OutboxStatus.failed
                stats.retried += status == OutboxStatus.pending
        stats.lost += not ok
        if ok and error is None and on_sent is not None:
            on_sent(msg)
    return len(claimed)


def _deliver(adapters: Mapping[str, Adapter], msg: ClaimedMessage) -> tuple[str | None, bool]:
    """Send ``msg``; ``(None, False)`` on success, else ``(error, permanent)``."""
    adapter = adapters.get(msg.channel.value)
    if adapter is None:  # a configuration gap, not the message's fault: retried with back-off
        return f"no adapter configured for channel {msg.channel.value}", False
    try:
        adapter.send(msg)
    except SendError as exc:
        return str(exc), exc.permanent
    except Exception as exc:  # an adapter bug must not kill the sender; the message is retried
        return f"{exc.__class__.__name__}: {exc}", False
    return None, False


def run_sender(
    store: Store,
    adapters: Mapping[str, Adapter],
    worker_id: str,
    until: Callable[[], bool] | datetime | None = None,
    *,
    batch: int = 20,
    lease: timedelta = outbox.DEFAULT_LEASE,
    backoff: Backoff = Backoff(),
    poll_s: float = 1.0,
    stop_when_idle: bool = False,
    clock: Callable[[], datetime] = models.utcnow,
    on_sent: Callable[[ClaimedMessage], None] | None = None,
    stop: Any = None,
) -> SenderStats:
    """Deliver due outbox messages until ``until`` (a predicate or an aware deadline) says stop.

    With ``stop_when_idle`` it also returns as soon as a claim finds nothing due. Choose ``lease`` longer than
    ``batch`` × the slowest adapter's timeout, or messages late in a batch are skipped and claimed again.
    Several senders may run at once (the outbox's claims never overlap). ``stop`` (a ``threading.Event``) ends
    the loop too, without waiting out ``poll_s``.
    """
    if isinstance(until, datetime):
        deadline = until
        until = lambda: clock() >= deadline  # noqa: E731
    stats = SenderStats()
    while until is None or not until():
        if stop is not None and stop.is_set():
            break
        n = send_due(store, adapters, worker_id, batch=batch, lease=lease, backoff=backoff, clock=clock,
                     stats=stats, on_sent=on_sent)  # fmt: skip
        if n == 0:
            if stop_when_idle:
                break
            if stop is not None:
                stop.wait(poll_s)
            else:
                time.sleep(poll_s)
    return stats
