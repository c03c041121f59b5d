"""Channel adapters of the notification sender: SMS over an HTTP gateway, webhook, e-mail over SMTP, in-app.

An adapter takes one claimed outbox message (:class:`callops.store.outbox.ClaimedMessage`) and either returns
(the receiver accepted it) or raises :class:`SendError` (``permanent=True`` when the receiver refused the
message itself, so retrying cannot help). Every adapter hands the receiver an idempotency key derived from the
outbox ``(tenant, dedup_key)`` (:func:`idempotency_key`): the ``Idempotency-Key`` header for the SMS gateway and
the webhook, the ``Message-ID`` for e-mail. A message sent twice (the sender died between the receiver's "ok" and
``mark_sent``) therefore carries the same key both times, and a receiver that honours it acts once.

The HTTP adapters use the standard library (``urllib.request``): one request per message, nothing to pool.

In-app: the store has no in-app notification table, so the outbox row *is* the in-app notification.
:class:`InApp` "delivers" by doing nothing; the sender then marks the row sent, and an in-app feed reads the
tenant's sent ``inapp`` rows (``outbox.list_messages``). The dedup key keeps it single.
"""

from __future__ import annotations

import hashlib
import json
import smtplib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Literal, Protocol

from callops.store.outbox import ClaimedMessage

# HTTP statuses that say "try again later" although they are 4xx.
RETRYABLE_4XX = frozenset({408, 425, 429})


class SendError(Exception):
    """A failed delivery; ``permanent`` when the receiver refused the message (no retry)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Adapter(Protocol):
    """Delivers one outbox message; raises :class:`SendError` when it could not."""

    def send(self, msg: ClaimedMessage) -> None:
        """Deliver ``msg`` (return normally once the receiver accepted it)."""
        ...


def idempotency_key(tenant: str, dedup_key: str) -> str:
    """The key a receiver de-duplicates on: a hash of the outbox's unique ``(tenant, dedup_key)``, header-safe."""
    digest = hashlib.sha256(f"{tenant}\x1f{dedup_key}".encode()).hexdigest()
    return f"callops-{digest[:40]}"


def fill(template: Any, values: Mapping[str, str]) -> Any:
    """Replace ``{name}`` placeholders in every string of ``template`` (plain replace: no format-string surprises)."""
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def _http(method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float) -> int:
    """One HTTP request; the status on 2xx, :class:`SendError` otherwise (permanent on 4xx but 408/425/429)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode(errors="replace") if exc.fp is not None else ""
        permanent = 400 <= exc.code < 500 and exc.code not in RETRYABLE_4XX
        raise SendError(f"HTTP {exc.code} from {url}: {detail}".strip(), permanent=permanent) from None
    except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out: the receiver may come back
        reason = getattr(exc, "reason", exc)
        raise SendError(f"{method} {url} failed: {reason}") from None


@dataclass
class HttpSmsGateway:
    """SMS through an HTTP gateway: ``body`` is a template whose strings may hold ``{phone}`` and ``{text}``.

    ``encoding="json"`` sends the filled template as JSON, ``"form"`` as ``application/x-www-form-urlencoded``;
    with ``method="GET"`` the filled template goes into the query string. The idempotency key goes in the
    ``Idempotency-Key`` header (``key_header`` renames it for gateways that use another name).
    """

    url: str
    method: str = "POST"
    encoding: Literal["json", "form"] = "json"
    body: dict[str, Any] = field(default_factory=lambda: {"to": "{phone}", "text": "{text}"})
    headers: dict[str, str] = field(default_factory=dict)
    key_header: str = "Idempotency-Key"
    timeout: float = 10.0

    def send(self, msg: ClaimedMessage) -> None:
        """POST (or GET) the filled template to the gateway."""
        values = {"phone": str(msg.payload.get("to", "")), "text": str(msg.payload.get("text", ""))}
        filled = fill(self.body, values)
        headers = {**self.headers, self.key_header: idempotency_key(msg.tenant_id, msg.dedup_key)}
        url, data = self.url, None
        method = self.method.upper()
        if method == "GET":
            sep = "&" if urllib.parse.urlsplit(url).query else "?"
            url = f"{url}{sep}{urllib.parse.urlencode(filled)}"
        elif self.encoding == "form":
            data = urllib.parse.urlencode(filled).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            data = json.dumps(filled, ensure_ascii=False).encode()
            headers.setdefault("Content-Type", "application/json")
        _http(method, url, data, headers, self.timeout)


@dataclass
class Webhook:
    """POST the message as JSON to ``url`` with the ``Idempotency-Key`` header.

    Body: ``{"id": <idempotency key>, "tenant", "to", "subject", "text", "alert"}`` (``alert`` as written by
    :mod:`callops.realtime.notify`).
    """

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0

    def send(self, msg: ClaimedMessage) -> None:
        """POST the JSON body."""
        key = idempotency_key(msg.tenant_id, msg.dedup_key)
        p = msg.payload
        body = {"id": key, "tenant": msg.tenant_id, "to": p.get("to"), "subject": p.get("subject"),
                "text": p.get("text"), "alert": p.get("alert")}  # fmt: skip
        headers = {**self.headers, "Content-Type": "application/json", "Idempotency-Key": key}
        _http("POST", self.url, json.dumps(body, ensure_ascii=False).encode(), headers, self.timeout)


@dataclass
class SmtpEmail:
    """E-mail over SMTP (``smtplib``); the ``Message-ID`` is ``<idempotency key@domain>``.

    ``starttls`` upgrades the connection before ``login`` (when a username is given); ``ssl`` connects with
    SMTPS from the start. A recipient refused with a 5xx code fails the message for good; anything else
    (connection, 4xx) is retried.
    """

    host: str
    port: int = 25
    sender: str = "callops@localhost"
    domain: str = "callops.local"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = 10.0

    def message(self, msg: ClaimedMessage) -> EmailMessage:
        """The e-mail for ``msg`` (its Message-ID derived from the dedup key)."""
        em = EmailMessage()
        em["From"] = self.sender
        em["To"] = str(msg.payload.get("to", ""))
        em["Subject"] = str(msg.payload.get("subject") or msg.payload.get("text", "")[:80])
        em["Date"] = formatdate(localtime=False)
        em["Message-ID"] = f"<{idempotency_key(msg.tenant_id, msg.dedup_key)}@{self.domain}>"
        em.set_content(str(msg.payload.get("text", "")))
        return em

    def send(self, msg: ClaimedMessage) -> None:
        """Connect, optionally STARTTLS and log in, send, quit."""
        em = self.message(msg)
        cls = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        try:
            with cls(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls and not self.ssl:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(em)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendError(
                f"SMTP refused {em['To']}: {exc.recipients}", permanent=all(c >= 500 for c in codes)
            ) from None
        except smtplib.SMTPAuthenticationError as exc:  # our configuration, not the message: keep retrying
            raise SendError(f"SMTP login refused ({exc.smtp_code})") from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP {self.host}:{self.port} failed: {exc}") from None


class InApp:
    """In-app notifications: the outbox row is the notification (see the module docstring); nothing to send."""

    def send(self, msg: ClaimedMessage) -> None:
        """Accept at once; the sender marks the row sent and the in-app feed lists it."""
        return None
