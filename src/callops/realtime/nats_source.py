"""NATS JetStream as a live event source: publish event lines to a stream, and feed an engine from a durable pull
consumer.

Events travel as one JSON object per message, unchanged, so a NATS-fed engine sees exactly the bytes a file-fed
one reads; a stream keeps publish order, so both see them in the same order and - the engine being
deterministic - raise the same alerts and end in the same state.

Delivery is at-least-once and made effectively exactly-once here: the consumer is durable with ``AckPolicy.ALL``;
each fetched batch is processed, committed to the event log when the sink is a
:class:`~callops.realtime.eventlog.LoggedIntake` (fsync), and only then acknowledged by acking its last message.
A crash before the ack redelivers the batch; an engine rebuilt from the log drops the events it already has as
duplicates (same ``(type, contact_id, ts, agent_id)``), so none is counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError

from callops.errors import CallopsError


class Sink(Protocol):
    """Anything that takes raw events: a ``LiveEngine`` or a ``LoggedIntake`` (which also has ``commit``)."""

    def submit(self, raw: str | bytes | dict[str, Any], where: str = "") -> bool:
        """Validate and process one event."""
        ...


@dataclass
class ConsumeInfo:
    """What one consumer run did: messages delivered, accepted by the engine, redelivered ones, batches."""

    delivered: int = 0
    accepted: int = 0
    redelivered: int = 0
    batches: int = 0
    last_stream_seq: int = 0

    def as_dict(self) -> dict[str, int]:
        """JSON-ready counts."""
        return dict(self.__dict__)


async def connect(url: str, timeout: float = 2.0) -> Any:
    """A NATS connection, or :class:`CallopsError` with a clear message when the server cannot be reached."""

    async def quiet(_exc: Exception) -> None:  # nats-py logs each failed try with a traceback by default
        return None

    try:
        return await nats.connect(url, connect_timeout=timeout, allow_reconnect=False, max_reconnect_attempts=1,
                                  error_cb=quiet)  # fmt: skip
    except Exception as exc:  # nats raises several kinds (NoServers, OSError, timeouts)
        raise CallopsError(f"cannot reach NATS at {url}: {exc or type(exc).__name__}") from None


async def ensure_stream(js: Any, stream: str, subject: str) -> None:
    """Create ``stream`` capturing ``subject`` when it does not exist (an existing one is left as it is)."""
    try:
        await js.stream_info(stream)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=stream, subjects=[subject]))


def default_subject(stream: str) -> str:
    """The subject events are published on when none is given: ``<stream>.events``."""
    return f"{stream}.events"


def _payload(ev: str | bytes | dict[str, Any]) -> bytes:
    if isinstance(ev, bytes):
        return ev.strip()
    if isinstance(ev, str):
        return ev.strip().encode()
    return json.dumps(ev, separators=(",", ":")).encode()


async def publish_events_async(
    url: str, stream: str, subject: str | None, events: Iterable[str | bytes | dict[str, Any]], batch: int = 1000
) -> int:
    """Publish events (JSON lines, bytes or dicts; blank lines skipped) in order; returns how many were stored.

    Publishes are pipelined (``publish_async``) and the stream's acknowledgements awaited every ``batch``
    messages; one connection and sequential sends keep the publish order in the stream.
    """
    subject = subject or default_subject(stream)
    nc = await connect(url)
    try:
        js = nc.jetstream(publish_async_max_pending=max(batch, 1))
        await ensure_stream(js, stream, subject)
        futures: list[asyncio.Future] = []
        stored = 0
        for ev in events:
            data = _payload(ev)
            if not data:
                continue
            futures.append(await js.publish_async(subject, data))
            if len(futures) >= batch:
                stored += len(await asyncio.gather(*futures))
                futures = []
        if futures:
            stored += len(await asyncio.gather(*futures))
        return stored
    finally:
        await nc.close()


def publish_events(
    url: str, stream: str, subject: str | None, events: Iterable[str | bytes | dict[str, Any]], batch: int = 1000
) -> int:
    """Synchronous :func:`publish_events_async`."""
    return asyncio.run(publish_events_async(url, stream, subject, events, batch))


async def consume_async(
    url: str,
    stream: str,
    durable: str,
    engine: Sink,
    *,
    subject: str | None = None,
    batch: int = 500,
    max_events: int | None = None,
    until_idle: bool = True,
    idle_s: float = 0.5,
    stop: Any = None,
    on_batch: Callable[[ConsumeInfo], None] | None = None,
    ack_wait_s: float = 30.0,
) -> ConsumeInfo:
    """Feed ``engine`` from the durable pull consumer ``durable`` on ``stream`` (created if missing).

    Each batch is submitted in stream order, committed (when the sink has ``commit``) and acknowledged. Returns
    after ``max_events`` messages, when no message came for ``idle_s`` (``until_idle``), or when ``stop`` (an
    ``asyncio.Event`` or a ``threading.Event``; checked between fetches) is set.
    A batch left unacknowledged by a consumer that died comes again after ``ack_wait_s`` (fixed when the durable
    consumer is created). A sink with ``submit_batch(pairs) -> accepted`` (a :class:`LiveHub`, a
    :class:`~callops.realtime.eventlog.LoggedIntake`) gets each batch in one call, which must make it durable
    before returning.
    """
    nc = await connect(url)
    info = ConsumeInfo()
    try:
        js = nc.jetstream()
        try:
            sinfo = await js.stream_info(stream)
        except NotFoundError:
            raise CallopsError(f"NATS stream {stream!r} does not exist") from None
        subject = subject or sinfo.config.subjects[0]
        cfg = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.ALL, deliver_policy=DeliverPolicy.ALL,
                             ack_wait=ack_wait_s, max_ack_pending=max(batch * 4, 1000))  # fmt: skip
        sub = await js.pull_subscribe(subject, durable=durable, stream=stream, config=cfg)
        commit = getattr(engine, "commit", None)
        batch_sink = getattr(engine, "submit_batch", None)
        while not (stop is not None and stop.is_set()):
            want = batch if max_events is None else min(batch, max_events - info.delivered)
            if want <= 0:
                break
            try:
                msgs = await sub.fetch(want, timeout=idle_s)
            except (TimeoutError, nats.errors.TimeoutError):
                if until_idle:
                    break
                continue
            pairs = []
            for msg in msgs:
                meta = msg.metadata
                info.redelivered += meta.num_delivered > 1
                info.last_stream_seq = meta.sequence.stream
                pairs.append((f"nats seq {meta.sequence.stream}", msg.data))
            if batch_sink is not None:
                info.accepted += batch_sink(pairs)  # processed and durable when it returns
            else:
                for where, data in pairs:
                    info.accepted += engine.submit(data, where)
                if commit is not None:
                    commit()  # durable in the log before the broker forgets the batch
            info.delivered += len(msgs)
            info.batches += 1
            if msgs:
                await msgs[-1].ack_sync()  # AckPolicy.ALL: acknowledges the whole batch
            if on_batch is not None:
                on_batch(info)
        return info
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


def consume(url: str, stream: str, durable: str, engine: Sink, **kw: Any) -> ConsumeInfo:
    """Synchronous :func:`consume_async` (runs until idle or ``max_events`` by default)."""
    return asyncio.run(consume_async(url, stream, durable, engine, **kw))


async def check_stream_async(url: str, stream: str) -> int:
    """The number of messages in ``stream``; :class:`CallopsError` when the server or the stream is missing."""
    nc = await connect(url)
    try:
        try:
            info = await nc.jetstream().stream_info(stream)
        except NotFoundError:
            raise CallopsError(f"NATS stream {stream!r} does not exist at {url}") from None
        except Exception as exc:  # JetStream off, or no permission
            raise CallopsError(f"NATS at {url}: cannot read stream {stream!r} ({exc})") from None
        return int(info.state.messages)
    finally:
        await nc.close()


def check_stream(url: str, stream: str) -> int:
    """Synchronous :func:`check_stream_async`."""
    return asyncio.run(check_stream_async(url, stream))


async def delete_stream_async(url: str, stream: str) -> bool:
    """Delete ``stream`` (and its consumers); False if it did not exist."""
    nc = await connect(url)
    try:
        try:
            return bool(await nc.jetstream().delete_stream(stream))
        except NotFoundError:
            return False
    finally:
        await nc.close()


def delete_stream(url: str, stream: str) -> bool:
    """Synchronous :func:`delete_stream_async`."""
    return asyncio.run(delete_stream_async(url, stream))
