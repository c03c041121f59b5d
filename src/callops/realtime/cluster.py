"""The partitioned live room (issue 17, part 4): several processes share the tenants of one JetStream stream.

Each tenant's events travel on a subject of their own, ``<stream>.t.<tenant>`` (:func:`publish_partitioned`;
the stream captures ``<stream>.t.*``). Every member process (``callops live cluster run``) takes part in one lease
table, a JetStream key-value bucket ``callops-leases-<stream>`` whose entries expire ``lease_s`` seconds after
their last write (the bucket's TTL, kept by the server, so members' clocks never matter):

* ``members.<name>``: a member's heartbeat, written every ``lease_s / 3`` seconds;
* ``tenants.<tenant>``: the tenant's lease, ``{"member", "epoch"}``. It is taken with ``create`` (refused when the
  key exists) and renewed with a compare-and-set on its revision, so two members can never both hold it; the
  epoch is the revision of the ``create``, which only grows.

Who should own what is one pure function of the live members, the tenants and their current owners
(:func:`assign`: current owners keep their tenants within their share, the rest go by rendezvous hash; every member
ends with ``n // m`` or ``n // m + 1`` tenants, and a change of members moves few of them). A member takes no tenant
during its first lease period, so members started together share the tenants from the start instead of the first
one taking and handing them over. Then it takes the free tenants assigned to it (any free tenant once it has been
free for a lease period), hands back the ones assigned to another live member (rebalancing when a member joins)
and drops a lease it failed to renew. A member killed with SIGKILL stops renewing: its leases and heartbeat expire
within ``lease_s`` and the others take its tenants at their next round.

Per owned tenant a worker thread runs the durable hub (:class:`~callops.realtime.hub.LiveHub`, ``log=True``) on the
shared ``$CALLOPS_HOME/live/<tenant>/`` folder. Opening it takes the tenant's one-writer ``flock``
(:class:`~callops.realtime.eventlog.WriterLock`), which is the fence on the log: a new owner waits until the old
process is gone or has closed the hub, whatever the lease table says (a paused process whose lease ran out still
cannot write beside its successor). The hub rebuilds from the snapshot and the log; then the worker
re-creates the tenant's durable pull consumer (``cluster-<tenant>``, filtered on the tenant's subject) to start
just after the last stream sequence written in ``cluster.json`` next to the log. That file is rewritten (fsync,
atomic rename) after each batch is logged and before it is acknowledged, so it is never ahead of the log and at
most one batch behind; that batch comes again and its events are dropped as duplicates (same ``(type,
contact_id, ts, agent_id)``), none counted twice, none lost. Starting from the recorded position instead of
waiting for the broker's redelivery makes a takeover independent of ``ack_wait`` and keeps the stream order; with
``AckPolicy.ALL`` a successor's ack could otherwise also acknowledge the batch its predecessor never logged.

Notifications: alert changes go to the store's outbox under deterministic dedup keys (:mod:`callops.realtime.notify`),
so a new owner that re-processes the last batch, or re-enqueues the last 15 minutes on attach, adds no row. One
sender per member claims due rows of any tenant and delivers them with that tenant's ``notify.yaml`` channels.

Members never open the warehouse: DuckDB admits one process per file. Landing the logs in the warehouse stays with
the home's server (see docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from callops.errors import CallopsError
from callops.realtime.eventlog import log_dir, log_files
from callops.realtime.events import TENANT_PATTERN

log = logging.getLogger(__name__)

_TENANT = re.compile(TENANT_PATTERN)
MEMBER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
POSITION_FILE = "cluster.json"
DEFAULT_LEASE_S = 5.0
TENANT_KEY = "tenants."
MEMBER_KEY = "members."
Report = Callable[[dict[str, Any]], None]


# ------------------------------------------------------------------------------------------------------- names
def tenant_subject(stream: str, tenant: str) -> str:
    """The subject a tenant's events travel on: ``<stream>.t.<tenant>``."""
    return f"{stream}.t.{tenant}"


def tenant_wildcard(stream: str) -> str:
    """The subjects a partitioned stream captures: ``<stream>.t.*``."""
    return f"{stream}.t.*"


def bucket_for(stream: str) -> str:
    """The lease bucket of ``stream``: ``callops-leases-<stream>`` (characters a bucket name refuses become ``_``)."""
    return "callops-leases-" + re.sub(r"[^A-Za-z0-9_-]", "_", stream)


def durable_for(tenant: str) -> str:
    """The durable consumer a tenant's owner reads: ``cluster-<tenant>``."""
    return f"cluster-{tenant}"


def check_tenant(tenant: str) -> str:
    """``tenant`` if it is a valid tenant id, else :class:`CallopsError`."""
    if not _TENANT.match(tenant):
        raise CallopsError(f"invalid tenant id {tenant!r}")
    return tenant


def check_member(name: str) -> str:
    """``name`` if it is a valid member name (letters, digits, ``_``, ``-``; up to 64), else :class:`CallopsError`."""
    if not MEMBER_NAME.match(name):
        raise CallopsError(f"invalid member name {name!r}: use up to 64 letters, digits, '_' or '-'")
    return name


def default_member() -> str:
    """``<host>-<pid>``, made a valid member name."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{socket.gethostname()}-{os.getpid()}")[-64:]


# -------------------------------------------------------------------------------------------------- assignment
def _score(tenant: str, member: str) -> int:
    digest = hashlib.blake2b(f"{tenant}\x1f{member}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(tenants: Iterable[str], members: Iterable[str], current: Mapping[str, str] | None = None
           ) -> dict[str, str]:  # fmt: skip
    """Who should own each tenant: the same answer in every member that sees the same lease table.

    Room: every member takes ``n // m`` tenants, and the first ``n % m`` members to reach that one more, so counts
    differ by at most one. Current owners (``current``: tenant -> member) that are still members keep their
    tenants as far as their room allows (the ones with the highest rendezvous hash of ``(tenant, member)`` first),
    so a death moves only the dead member's tenants and a join only as many as the newcomer's share. The other
    tenants, in name order, go to the member with the highest hash that still has room.
    """
    ts, ms = sorted(set(tenants)), sorted(set(members))
    if not ms:
        return {}
    floor, extra = divmod(len(ts), len(ms))
    counts = dict.fromkeys(ms, 0)
    out: dict[str, str] = {}

    def take(t: str, m: str) -> bool:
        nonlocal extra
        if counts[m] < floor or (counts[m] == floor and extra > 0):
            if counts[m] == floor:
                extra -= 1
            counts[m] += 1
            out[t] = m
            return True
        return False

    kept = [(t, current[t]) for t in ts if current and current.get(t) in counts]
    for t, m in sorted(kept, key=lambda tm: (-_score(*tm), tm)):
        take(t, m)
    for t in ts:
        if t not in out:
            for m in sorted(ms, key=lambda m: (-_score(t, m), m)):
                if take(t, m):
                    break
    return out


# ---------------------------------------------------------------------------------------------------- position
def read_position(tenant: str, home: Path | None = None) -> dict[str, Any] | None:
    """The tenant's ``cluster.json`` (stream, sequence logged up to, member, epoch), or None."""
    path = log_dir(tenant, home) / POSITION_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_position(tenant: str, data: dict[str, Any], home: Path | None = None) -> None:
    """Replace the tenant's ``cluster.json`` atomically and durably (fsync, then rename)."""
    folder = log_dir(tenant, home)
    tmp = folder / f"{POSITION_FILE}.tmp"
    with tmp.open("w", encoding="utf-8") as f:
        f.write(json.dumps(data, separators=(",", ":")))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / POSITION_FILE)


# ------------------------------------------------------------------------------------------------------ stream
def _tenant_of(data: bytes) -> str | None:
    try:
        ev = json.loads(data)
    except ValueError:
        return None
    tenant = ev.get("tenant") if isinstance(ev, dict) else None
    return tenant if isinstance(tenant, str) and _TENANT.match(tenant) else None


async def stream_info_checked(js: Any, url: str, stream: str) -> Any:
    """The stream's info; :class:`CallopsError` when it is missing or does not capture ``<stream>.t.*``."""
    from nats.js.errors import NotFoundError

    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        raise CallopsError(f"NATS stream {stream!r} does not exist at {url} (create it with `callops live "
                           "cluster publish`)") from None  # fmt: skip
    except Exception as exc:  # JetStream off, no permission
        raise CallopsError(f"NATS at {url}: cannot read stream {stream!r} ({exc or type(exc).__name__})") from None
    subjects = set(info.config.subjects or [])
    if not subjects & {tenant_wildcard(stream), f"{stream}.t.>", f"{stream}.>", ">"}:
        raise CallopsError(f"NATS stream {stream!r} takes {', '.join(sorted(subjects)) or 'no subjects'}, not the "
                           f"per-tenant subjects {tenant_wildcard(stream)} a partitioned live room reads")  # fmt: skip
    return info


async def publish_partitioned_async(url: str, stream: str, events: Iterable[str | bytes], batch: int = 1000
                                    ) -> dict[str, Any]:  # fmt: skip
    """Publish JSON event lines in order, each on its tenant's subject; the stream (``<stream>.t.*``) is created
    when missing. Lines without a valid ``tenant`` are not sent (``unroutable``). Returns the counts."""
    from nats.js.api import StreamConfig
    from nats.js.errors import NotFoundError

    from callops.realtime.nats_source import connect

    nc = await connect(url)
    per: dict[str, int] = {}
    unroutable = 0
    try:
        js = nc.jetstream(publish_async_max_pending=max(batch, 1))
        try:
            await js.stream_info(stream)
        except NotFoundError:
            await js.add_stream(StreamConfig(name=stream, subjects=[tenant_wildcard(stream)]))
        await stream_info_checked(js, url, stream)
        futures: list[asyncio.Future] = []
        for ev in events:
            data = (ev if isinstance(ev, bytes) else ev.encode()).strip()
            if not data:
                continue
            tenant = _tenant_of(data)
            if tenant is None:
                unroutable += 1
                continue
            futures.append(await js.publish_async(tenant_subject(stream, tenant), data))
            per[tenant] = per.get(tenant, 0) + 1
            if len(futures) >= batch:
                await asyncio.gather(*futures)
                futures = []
        if futures:
            await asyncio.gather(*futures)
    finally:
        await nc.close()
    return {"stream": stream, "published": sum(per.values()), "tenants": dict(sorted(per.items())),
            "unroutable": unroutable}  # fmt: skip


def publish_partitioned(url: str, stream: str, events: Iterable[str | bytes], batch: int = 1000) -> dict[str, Any]:
    """Synchronous :func:`publish_partitioned_async`."""
    return asyncio.run(publish_partitioned_async(url, stream, events, batch))


async def _tenants_on_stream(js: Any, stream: str) -> list[str]:
    info = await js.stream_info(stream, subjects_filter=tenant_wildcard(stream))
    prefix = f"{stream}.t."
    return sorted(s[len(prefix):] for s in (info.state.subjects or {}) if _TENANT.match(s[len(prefix):]))


# ------------------------------------------------------------------------------------------------- lease table
async def open_bucket(js: Any, stream: str, lease_s: float, create: bool = True) -> Any:
    """The stream's lease bucket (created with TTL ``lease_s`` when missing and ``create``)."""
    from nats.js.api import KeyValueConfig
    from nats.js.errors import BucketNotFoundError, NotFoundError

    name = bucket_for(stream)
    try:
        return await js.key_value(name)
    except (BucketNotFoundError, NotFoundError):
        if not create:
            raise CallopsError(f"no lease bucket {name!r}: no member has run on stream {stream!r}") from None
    return await js.create_key_value(KeyValueConfig(bucket=name, ttl=lease_s, history=1))


async def read_table(kv: Any) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The live members (name -> heartbeat) and the leases (tenant -> value with ``revision``) in the bucket."""
    from nats.js.errors import KeyNotFoundError, NoKeysError

    members: dict[str, dict[str, Any]] = {}
    leases: dict[str, dict[str, Any]] = {}
    try:
        keys = await kv.keys()
    except NoKeysError:
        return members, leases
    for key in keys:
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:  # expired between the listing and the read
            continue
        if entry.value is None:
            continue
        try:
            value = json.loads(entry.value)
        except ValueError:
            continue
        if key.startswith(MEMBER_KEY):
            members[key[len(MEMBER_KEY):]] = value
        elif key.startswith(TENANT_KEY):
            leases[key[len(TENANT_KEY):]] = {**value, "revision": entry.revision}
    return members, leases


async def cluster_status_async(url: str, stream: str) -> dict[str, Any]:
    """Members, leases and unowned tenants of the partitioned stream ``stream``."""
    from callops.realtime.nats_source import connect

    nc = await connect(url)
    try:
        js = nc.jetstream()
        await stream_info_checked(js, url, stream)
        kv = await open_bucket(js, stream, DEFAULT_LEASE_S, create=False)
        status = await kv.status()
        members, leases = await read_table(kv)
        tenants = await _tenants_on_stream(js, stream)
        return {"stream": stream, "bucket": bucket_for(stream), "lease_s": status.ttl,
                "members": dict(sorted(members.items())),
                "tenants": {t: leases.get(t) for t in sorted(set(tenants) | set(leases))},
                "unowned": [t for t in tenants if t not in leases]}  # fmt: skip
    finally:
        await nc.close()


def cluster_status(url: str, stream: str) -> dict[str, Any]:
    """Synchronous :func:`cluster_status_async`."""
    return asyncio.run(cluster_status_async(url, stream))


# ------------------------------------------------------------------------------------------------ notifications
class TenantAdapters(Mapping[str, Any]):
    """Channel adapters for the outbox sender of a member: a row is delivered with its own tenant's
    ``notify.yaml`` channels (read from the shared home, again when the file changes)."""

    def __init__(self, home: Path | None = None) -> None:
        """Read each tenant's ``notify.yaml`` under ``home`` (default ``$CALLOPS_HOME``)."""
        self.home = home
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def for_tenant(self, tenant: str) -> dict[str, Any]:
        """The adapters of ``tenant``'s notify.yaml (in-app alone without one)."""
        from callops.realtime.channels import InApp
        from callops.realtime.notify import build_adapters, load_notify

        path = log_dir(tenant, self.home) / "notify.yaml"
        try:
            stamp = path.stat().st_mtime
        except OSError:
            return {"inapp": InApp()}
        with self._lock:
            cached = self._cache.get(tenant)
            if cached is None or cached[0] != stamp:
                cached = self._cache[tenant] = (stamp, build_adapters(load_notify(path).channels))
            return cached[1]

    def __getitem__(self, channel: str) -> Any:
        return _ChannelRouter(self, channel)

    def __iter__(self) -> Iterator[str]:
        return iter(("sms", "webhook", "email", "inapp"))

    def __len__(self) -> int:
        return 4


@dataclass
class _ChannelRouter:
    adapters: TenantAdapters
    channel: str

    def send(self, msg: Any) -> None:
        """Deliver through the channel adapter of the message's tenant."""
        from callops.realtime.channels import SendError

        try:
            adapter = self.adapters.for_tenant(msg.tenant_id).get(self.channel)
        except CallopsError as exc:
            raise SendError(str(exc)) from None
        if adapter is None:
            raise SendError(f"no adapter configured for channel {self.channel} of tenant {msg.tenant_id}")
        adapter.send(msg)


# ------------------------------------------------------------------------------------------------------ member
@dataclass
class _Lease:
    tenant: str
    epoch: int
    revision: int
    valid_until: float  # time.monotonic() before which the lease surely still holds
    value: bytes
    worker: TenantWorker | None = None
    releasing: bool = False


@dataclass
class MemberConfig:
    """What a member needs: the broker and stream, its name, the tenants to share (None: every tenant that has
    published), the lease period, the home of the live folders, and the notification sender's settings."""

    url: str
    stream: str
    name: str
    tenants: list[str] | None = None
    lease_s: float = DEFAULT_LEASE_S
    home: Path | None = None
    batch: int = 500
    sender: bool = True
    sender_lease_s: float = 60.0
    store_url: str | None = None

    @property
    def margin_s(self) -> float:
        """How long before the lease's server-side expiry a member stops trusting it."""
        return max(0.3, self.lease_s * 0.15)


class TenantWorker:
    """One owned tenant: the durable hub on the shared folder fed from the tenant's durable consumer."""

    def __init__(self, member: Member, lease: _Lease) -> None:
        """Run ``lease.tenant`` for ``member`` while the lease holds and :meth:`stop` is not called."""
        self.member, self.lease, self.tenant = member, lease, lease.tenant
        self.cfg = member.cfg
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"tenant-{self.tenant}", daemon=True)
        self.acquired = time.monotonic()
        self.events = 0
        self.serving = False  # bound to the tenant's consumer (readiness shows it)

    def start(self) -> None:
        """Start the worker thread."""
        self.thread.start()

    def stop(self) -> None:
        """Ask the worker to finish its batch and close the hub."""
        self._stop.set()

    def alive(self) -> bool:
        """True while the thread runs."""
        return self.thread.is_alive()

    def should_stop(self) -> bool:
        """Stop asked, the member stopping, or the lease no longer surely held."""
        return self._stop.is_set() or self.member.stopping.is_set() or time.monotonic() >= self.lease.valid_until

    def _open_hub(self) -> Any:
        from callops.realtime.hub import build_hub

        waited = False
        while not self.should_stop():
            try:
                return build_hub(self.tenant, log=True, home=self.cfg.home)
            except CallopsError as exc:
                if "already run by" not in str(exc):  # a real problem (a bad live.yaml): say so, try again later
                    self.member.report({"event": "error", "tenant": self.tenant, "error": str(exc)})
                    self._stop.wait(5.0)
                    continue
                if not waited:  # the previous owner still holds the log: wait for it to close or die
                    self.member.report({"event": "waiting", "tenant": self.tenant, "holder": str(exc)})
                    waited = True
                self._stop.wait(0.2)
        return None

    def _run(self) -> None:
        try:
            hub = self._open_hub()
        except Exception as exc:  # never let a thread die silently
            self.member.report({"event": "error", "tenant": self.tenant, "error": f"{type(exc).__name__}: {exc}"})
            return
        if hub is None:
            return
        try:
            try:
                self.member.attach(hub)
            except Exception as exc:  # the store is down: give the tenant up for now, the next round retries
                self.member.report({"event": "error", "tenant": self.tenant,
                                    "error": f"notifier/rules: {type(exc).__name__}: {exc}"})  # fmt: skip
                self._stop.wait(2.0)
                return
            rebuilt = hub.rebuilt.as_dict() if hub.rebuilt else {}
            first = True
            while not self.should_stop():
                try:
                    asyncio.run(self._consume(hub, rebuilt if first else None))
                    first = False
                except Exception as exc:  # the broker went away: keep the hub, try again
                    self.member.report({"event": "error", "tenant": self.tenant,
                                        "error": f"{type(exc).__name__}: {exc}"})  # fmt: skip
                    self._stop.wait(1.0)
        finally:
            try:
                hub.close()  # a snapshot for the next owner, and the writer lock released
            except Exception as exc:
                log.warning("closing %s: %s", self.tenant, exc)

    async def _consume(self, hub: Any, rebuilt: dict[str, Any] | None) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        from callops.realtime.nats_source import connect

        cfg, tenant = self.cfg, self.tenant
        nc = await connect(cfg.url)
        try:
            js = nc.jetstream()
            info = await stream_info_checked(js, cfg.url, cfg.stream)
            created = str(info.created)
            durable = durable_for(tenant)
            pos = read_position(tenant, cfg.home)
            if pos and pos.get("stream") == cfg.stream and pos.get("created") == created:
                done = int(pos["seq"])
            else:  # no position of this stream: the consumer's ack floor, else the stream's start
                done = 0
                if log_files(tenant, cfg.home):
                    with contextlib.suppress(NotFoundError):
                        done = (await js.consumer_info(cfg.stream, durable)).ack_floor.stream_seq
            with contextlib.suppress(NotFoundError):
                await js.delete_consumer(cfg.stream, durable)
            await js.add_consumer(cfg.stream, ConsumerConfig(
                durable_name=durable, filter_subject=tenant_subject(cfg.stream, tenant),
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=done + 1, ack_policy=AckPolicy.ALL,
                ack_wait=30.0, max_ack_pending=max(cfg.batch * 4, 1000)))  # fmt: skip
            mark = {"stream": cfg.stream, "created": created, "member": cfg.name, "epoch": self.lease.epoch,
                    "since": datetime.now(UTC).isoformat(timespec="milliseconds")}  # fmt: skip
            write_position(tenant, {**mark, "seq": done}, cfg.home)
            if rebuilt is not None:
                self.member.report({"event": "took", "tenant": tenant, "epoch": self.lease.epoch, "from_seq": done + 1,
                                    "rebuilt": rebuilt, "seconds": round(time.monotonic() - self.acquired, 3)})
            sub = await js.pull_subscribe_bind(durable, cfg.stream)
            self.serving = True
            while not self.should_stop():
                try:
                    msgs = await sub.fetch(cfg.batch, timeout=0.5)
                except TimeoutError:  # nats.errors.TimeoutError is one: nothing new for this tenant
                    continue
                if not msgs or self.should_stop():
                    break  # left unacknowledged and unlogged: the next owner starts before them
                self._take(hub, msgs)  # processed, logged and fsync-ed when it returns
                last = msgs[-1].metadata.sequence.stream
                write_position(tenant, {**mark, "seq": last}, cfg.home)
                await msgs[-1].ack()  # AckPolicy.ALL: the whole batch
                self.events += len(msgs)
        finally:
            self.serving = False
            with contextlib.suppress(Exception):
                await nc.close()

    def _take(self, hub: Any, msgs: list[Any]) -> None:
        """Events in batches, and between them, in stream order, the person's actions a follower forwarded
        (``{"op": ...}``, see :mod:`callops.realtime.follower`); a refused action is reported, not retried."""
        from callops.realtime.eventlog import ACTION_PREFIX

        prefix = ACTION_PREFIX.encode()
        pairs: list[tuple[str, bytes]] = []
        for m in msgs:
            where = f"nats seq {m.metadata.sequence.stream}"
            if not m.data.lstrip().startswith(prefix):
                pairs.append((where, m.data))
                continue
            if pairs:
                hub.submit_batch(pairs)
                pairs = []
            try:
                action = json.loads(m.data)
                try:
                    applied = hub.apply_forwarded(action)
                except CallopsError as exc:  # refused: logged, so the follower answers with the reason
                    hub.refuse_forwarded(action, str(exc))
                    raise
                self.member.report({"event": "action", "tenant": self.tenant, "op": action["op"],
                                    "ref": action["ref"], "applied": applied})  # fmt: skip
            except (ValueError, KeyError, CallopsError) as exc:
                self.member.report({"event": "action_refused", "tenant": self.tenant, "where": where,
                                    "error": str(exc)[:300]})  # fmt: skip
        if pairs:
            hub.submit_batch(pairs)


class Member:
    """One process of the partitioned live room: the lease loop, a worker per owned tenant, the outbox sender."""

    def __init__(self, cfg: MemberConfig, report: Report | None = None) -> None:
        """A member as ``cfg`` says; ``report`` hears every ownership change as a dict (default: logged)."""
        check_member(cfg.name)
        for t in cfg.tenants or []:
            check_tenant(t)
        if not cfg.lease_s >= 1.0:
            raise CallopsError("--lease-s must be at least 1 second")
        if cfg.batch < 1:
            raise CallopsError("--batch must be at least 1")
        self.cfg = cfg
        self._report = report
        self.stopping = threading.Event()
        self.leases: dict[str, _Lease] = {}
        self.store: Any = None
        self._free_since: dict[str, float] = {}
        self._released: dict[str, float] = {}
        self._joined_at = 0.0
        self._sender: threading.Thread | None = None
        self.joined = False
        self.loop_at = 0.0  # time.monotonic() of the lease loop's last iteration (liveness)
        self.round_ok_at = 0.0  # ... of the last lease round that reached NATS (readiness)

    def report(self, event: dict[str, Any]) -> None:
        """Tell what happened (``event``: joined, took, waiting, released, lost, error, left)."""
        event = {"member": self.cfg.name, "at": datetime.now(UTC).isoformat(timespec="milliseconds"), **event}
        if self._report is not None:
            self._report(event)
        else:
            log.info("%s", event)

    # ---------------------------------------------------------------------------------------------- start
    def check(self) -> dict[str, Any]:
        """Reach NATS and the stream now (one clear :class:`CallopsError` otherwise); the stream's counts."""
        return asyncio.run(self._check())

    async def _check(self) -> dict[str, Any]:
        from callops.realtime.nats_source import connect

        nc = await connect(self.cfg.url)
        try:
            info = await stream_info_checked(nc.jetstream(), self.cfg.url, self.cfg.stream)
            return {"messages": int(info.state.messages)}
        finally:
            await nc.close()

    def open_store(self) -> None:
        """Open the store (outbox, saved rules, schedule versions); the adherence watch as ``live serve`` has it."""
        # the adherence watch registers itself for every durable hub's engine (as in ``live serve``); the rest is
        # imported now rather than in the middle of the first takeover
        import importlib

        for name in ("callops.people.adherence", "callops.people.data", "callops.realtime.hub", "callops.rules.live"):
            importlib.import_module(name)
        from callops.store.db import Store

        try:
            self.store = Store(self.cfg.store_url)
        except CallopsError:
            raise
        except Exception as exc:
            raise CallopsError(f"cannot open the store: {type(exc).__name__}: {exc}") from None

    def attach(self, hub: Any) -> None:
        """Give a freshly opened hub what ``live serve`` gives it: notifier, saved rules, schedule changes."""
        if self.store is None:
            return
        from callops.people.data import follow_schedule_changes
        from callops.rules.live import attach_saved_rules

        path = log_dir(hub.tenant, self.cfg.home) / "notify.yaml"
        if path.exists():
            hub.attach_notifier(self.store, path)
        attach_saved_rules(hub, self.store)
        follow_schedule_changes(hub, self.store)

    def _run_sender(self) -> None:
        from callops.realtime.notify import run_sender

        worker = f"cluster-{self.cfg.name}-{os.getpid()}"
        adapters = TenantAdapters(self.cfg.home)
        while not self.stopping.is_set():
            try:
                run_sender(self.store, adapters, worker, stop=self.stopping, poll_s=0.5,
                           lease=timedelta(seconds=self.cfg.sender_lease_s))  # fmt: skip
            except Exception as exc:  # the store went away: try again
                self.report({"event": "error", "error": f"notification sender: {type(exc).__name__}: {exc}"})
                self.stopping.wait(2.0)

    # ---------------------------------------------------------------------------------------------- loop
    def run(self, stop: threading.Event | None = None) -> None:
        """Take part until ``stop`` is set (or :attr:`stopping`); then hand every tenant back."""
        if stop is not None:
            threading.Thread(target=lambda: (stop.wait(), self.stopping.set()), daemon=True).start()
        asyncio.run(self._loop())

    async def _connect(self) -> tuple[Any, Any, Any]:
        from callops.realtime.nats_source import connect

        cfg = self.cfg
        nc = await connect(cfg.url)
        try:
            js = nc.jetstream()
            await stream_info_checked(js, cfg.url, cfg.stream)
            kv = await open_bucket(js, cfg.stream, cfg.lease_s)
            ttl = (await kv.status()).ttl
        except BaseException:
            with contextlib.suppress(Exception):
                await nc.close()
            raise
        if ttl and abs(ttl - cfg.lease_s) > 1e-6:  # the bucket was made by a member with another --lease-s
            self.report({"event": "note", "note": f"the bucket's lease is {ttl:g} s (not {cfg.lease_s:g} s)"})
            cfg.lease_s = float(ttl)
        return nc, js, kv

    async def _loop(self) -> None:
        nc = js = kv = None
        joined = False
        try:
            while not self.stopping.is_set():
                t0 = self.loop_at = time.monotonic()
                if nc is None:
                    try:
                        nc, js, kv = await self._connect()
                    except Exception as exc:
                        if not joined:
                            raise  # the first time: one clear line from the caller
                        self.report({"event": "error", "error": f"reconnecting: {exc}"})
                    else:
                        if not joined:
                            await self._check_name(kv)
                            self.report({"event": "joined", "lease_s": self.cfg.lease_s,
                                         "bucket": bucket_for(self.cfg.stream)})  # fmt: skip
                            joined = self.joined = True
                            self._joined_at = time.monotonic()
                            if self.cfg.sender and self.store is not None:
                                self._sender = threading.Thread(target=self._run_sender, name="notify-sender",
                                                                daemon=True)  # fmt: skip
                                self._sender.start()
                if nc is not None:
                    try:
                        await self._tick(js, kv)
                        self.round_ok_at = time.monotonic()
                    except Exception as exc:  # the broker is away: leases lapse, workers stop on their own
                        self.report({"event": "error", "error": f"lease round: {type(exc).__name__}: {exc}"})
                        if nc.is_closed or not nc.is_connected:
                            with contextlib.suppress(Exception):
                                await nc.close()
                            nc = js = kv = None
                while not self.stopping.is_set() and time.monotonic() - t0 < self.cfg.lease_s / 3:
                    await asyncio.sleep(0.05)
            await self._leave(kv)
        finally:
            if nc is not None:
                with contextlib.suppress(Exception):
                    await nc.close()

    # ---------------------------------------------------------------------------------------------- probes
    def _probe(self, now: float) -> dict[str, Any]:
        tenants = {}
        for t, lease in sorted(self.leases.items()):
            w = lease.worker
            tenants[t] = {"epoch": lease.epoch, "held": now < lease.valid_until and not lease.releasing,
                          "worker": "serving" if w is not None and w.serving else
                          "waiting" if w is not None and w.alive() else "stopped"}  # fmt: skip
        return {"member": self.cfg.name, "stream": self.cfg.stream, "lease_s": self.cfg.lease_s,
                "joined": self.joined, "tenants": tenants}

    def health(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of ``/healthz``: 200 while the lease loop turns, 503 when it is stuck."""
        now = time.monotonic()
        body = self._probe(now)
        stuck = self.loop_at and now - self.loop_at > max(2 * self.cfg.lease_s, 5.0)
        body["status"] = "stuck" if stuck else "ok"
        if stuck:
            body["reason"] = f"the lease loop has not turned for {now - self.loop_at:.1f} s"
        return (503 if stuck else 200), body

    def readiness(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of ``/readyz``: 200 when joined, the last lease round reached NATS within a lease
        period and every lease it holds is surely still its own; 503 with the reason otherwise."""
        now = time.monotonic()
        body = self._probe(now)
        reason = None
        if self.stopping.is_set():
            reason = "leaving: handing its tenants back"
        elif not self.joined:
            reason = "not joined yet (NATS, the stream or the lease bucket not reached)"
        elif now - self.round_ok_at > self.cfg.lease_s:
            reason = f"no lease round reached NATS for {now - self.round_ok_at:.1f} s"
        elif lapsed := [t for t, v in body["tenants"].items() if not v["held"]]:
            reason = f"leases not surely held: {', '.join(lapsed)}"
        body["status"] = "ready" if reason is None else "not ready"
        if reason is not None:
            body["reason"] = reason
        return (200 if reason is None else 503), body

    async def _check_name(self, kv: Any) -> None:
        """Refuse to join under a name a live member already uses (its heartbeat has not lapsed)."""
        from nats.js.errors import KeyNotFoundError

        try:
            entry = await kv.get(MEMBER_KEY + self.cfg.name)
        except KeyNotFoundError:
            return
        if entry.value:
            other = json.loads(entry.value)
            if (other.get("pid"), other.get("host")) != (os.getpid(), socket.gethostname()):
                raise CallopsError(f"a member named {self.cfg.name!r} is already running (process {other.get('pid')} "
                                   f"on {other.get('host')}, or it died less than a lease ago): give each member its "
                                   "own --member")  # fmt: skip

    def _value(self, epoch: int) -> bytes:
        return json.dumps({"member": self.cfg.name, "epoch": epoch, "pid": os.getpid(),
                           "host": socket.gethostname()}).encode()  # fmt: skip

    async def _tick(self, js: Any, kv: Any) -> None:
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        cfg, me = self.cfg, self.cfg.name
        await kv.put(MEMBER_KEY + me, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                  "owned": sorted(self.leases)}).encode())  # fmt: skip
        for t, lease in list(self.leases.items()):  # renew (compare-and-set on the revision)
            sent = time.monotonic()
            try:
                lease.revision = await kv.update(TENANT_KEY + t, lease.value, last=lease.revision)
                lease.valid_until = sent + cfg.lease_s - cfg.margin_s
            except (KeyWrongLastSequenceError, KeyNotFoundError):
                if lease.worker is not None:
                    lease.worker.stop()
                del self.leases[t]
                self.report({"event": "lost", "tenant": t, "epoch": lease.epoch})
        members, table = await read_table(kv)
        members.setdefault(me, {})
        tenants = cfg.tenants if cfg.tenants is not None else await _tenants_on_stream(js, cfg.stream)
        tenants = sorted(set(tenants) | {t for t in table if cfg.tenants is None or t in cfg.tenants})
        wanted = assign(tenants, members, {t: v.get("member", "") for t, v in table.items()})
        now = time.monotonic()
        for t, lease in list(self.leases.items()):
            if lease.releasing:
                if lease.worker is None or not lease.worker.alive():
                    with contextlib.suppress(KeyWrongLastSequenceError, KeyNotFoundError):
                        await kv.delete(TENANT_KEY + t, last=lease.revision)
                    del self.leases[t]
                    self._released[t] = now  # not taken back before a lease period (no flapping)
                    self.report({"event": "released", "tenant": t, "epoch": lease.epoch, "to": wanted.get(t)})
            elif wanted.get(t, me) != me and wanted[t] in members:  # rebalance: hand it to its member
                lease.releasing = True
                if lease.worker is not None:
                    lease.worker.stop()
            elif lease.worker is None or not lease.worker.alive():
                lease.worker = TenantWorker(self, lease)  # first start, or after the worker gave up
                lease.worker.start()
        if now - self._joined_at < cfg.lease_s:
            return  # the first lease period: members started together see each other before taking tenants
        for t in tenants:
            if t in self.leases or t in table:
                self._free_since.pop(t, None)
                continue
            free = now - self._free_since.setdefault(t, now)
            mine = wanted.get(t) == me and now - self._released.get(t, -1e9) >= cfg.lease_s
            if not mine and free < cfg.lease_s:
                continue
            sent = time.monotonic()
            try:
                rev = await kv.create(TENANT_KEY + t, self._value(0))
                value = self._value(rev)
                rev2 = await kv.update(TENANT_KEY + t, value, last=rev)
            except KeyWrongLastSequenceError:  # someone else was quicker
                continue
            lease = _Lease(t, rev, rev2, sent + cfg.lease_s - cfg.margin_s, value)
            self.leases[t] = lease
            self._free_since.pop(t, None)
            lease.worker = TenantWorker(self, lease)
            lease.worker.start()
            self.report({"event": "acquired", "tenant": t, "epoch": rev})

    async def _leave(self, kv: Any) -> None:
        """Stop every worker (each closes its hub: a snapshot, the writer lock freed), then delete the leases so
        the others take over at their next round; without the broker (``kv`` None) the leases just lapse."""
        for lease in self.leases.values():
            if lease.worker is not None:
                lease.worker.stop()
        for t, lease in list(self.leases.items()):  # keep renewing while the hubs close (snapshots)
            while lease.worker is not None and lease.worker.alive():
                if kv is not None:
                    with contextlib.suppress(Exception):
                        for other in self.leases.values():
                            other.revision = await kv.update(TENANT_KEY + other.tenant, other.value,
                                                             last=other.revision)  # fmt: skip
                await asyncio.sleep(min(0.2, self.cfg.lease_s / 4))
            if kv is not None:
                with contextlib.suppress(Exception):  # already gone, or the broker went away: it lapses
                    await kv.delete(TENANT_KEY + t, last=lease.revision)
            self.report({"event": "released", "tenant": t, "epoch": lease.epoch, "to": None})
        self.leases.clear()
        if kv is not None:
            with contextlib.suppress(Exception):
                await kv.delete(MEMBER_KEY + self.cfg.name)
        if self._sender is not None:
            self._sender.join(timeout=5)
        if self.store is not None:
            self.store.close()
        self.report({"event": "left"})
