"""``callops live cluster``: the partitioned live room (issue 17, part 4) - run a member, publish events on
per-tenant subjects, show who owns which tenant. See :mod:`callops.realtime.cluster`."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from callops.errors import CallopsError

cluster_app = typer.Typer(help="Partitioned live room: several processes share the tenants of one NATS stream.",
                          add_completion=False, no_args_is_help=True)  # fmt: skip


def _tenant_list(tenants: str | None) -> list[str] | None:
    if tenants is None:
        return None
    from callops.realtime.cluster import check_tenant

    out = [check_tenant(t.strip()) for t in tenants.split(",") if t.strip()]
    if not out:
        raise CallopsError("--tenants names no tenant")
    return out


@cluster_app.command("run")
def run(
    nats_url: Annotated[str, typer.Option("--nats", help="NATS server URL, e.g. nats://127.0.0.1:4222.")],
    stream: Annotated[str, typer.Option(help="JetStream stream with per-tenant subjects <stream>.t.<tenant>.")],
    member: Annotated[str | None, typer.Option(help="This member's name (default <host>-<pid>).")] = None,
    tenants: Annotated[
        str | None, typer.Option(help="Comma-separated tenants to share (default: every tenant on the stream).")
    ] = None,
    lease_s: Annotated[float, typer.Option("--lease-s", help="Lease period: a dead member's tenants move after "
                                           "at most this long (the bucket keeps the first member's value).")] = 5.0,
    batch: Annotated[int, typer.Option(help="Messages per fetch (logged and acknowledged together).")] = 500,
    sender: Annotated[bool, typer.Option("--sender/--no-sender", help="Run a notification sender here.")] = True,
    sender_lease_s: Annotated[
        float, typer.Option("--sender-lease-s", help="How long a claimed notification is this sender's.")
    ] = 60.0,
    http: Annotated[str | None, typer.Option(
        "--http", help="Serve /healthz and /readyz on HOST:PORT (e.g. 127.0.0.1:8091) for an orchestrator.")] = None,
) -> None:
    """Take part in the partitioned live room until stopped (SIGTERM or Ctrl-C hands the tenants back at once).

    Every member must see the same CALLOPS_HOME (the tenants' live folders: logs, snapshots, writer locks) and the
    same store (CALLOPS_STORE_URL). One line per ownership change is printed. With --http, GET /healthz answers 200
    while the lease loop turns and GET /readyz 200 once the member has joined, reaches NATS and holds its leases."""
    import signal
    import threading

    from callops.realtime.cluster import Member, MemberConfig, default_member

    if sender_lease_s <= 0:
        raise CallopsError("--sender-lease-s must be positive")
    cfg = MemberConfig(nats_url, stream, member or default_member(), _tenant_list(tenants), lease_s, batch=batch,
                       sender=sender, sender_lease_s=sender_lease_s)  # fmt: skip

    def say(event: dict) -> None:
        kind = event.get("event")
        detail = {k: v for k, v in event.items() if k not in ("member", "at", "event")}
        print(f"{event['at']} {event['member']} {kind} {json.dumps(detail, separators=(',', ':'))}", flush=True)

    m = Member(cfg, say)
    if http is not None:
        from callops.realtime.cluster_http import parse_listen

        parse_listen(http)  # a bad address: one line before NATS is asked
    info = m.check()  # one line and exit 2 when NATS or the stream is missing, before anything starts
    m.open_store()
    probes = ""
    if http is not None:
        from callops.realtime.cluster_http import serve_health

        _, url = serve_health(m, http)
        probes = f", probes on {url}/healthz and {url}/readyz"
    print(f"member {cfg.name}: stream {stream} ({info['messages']} message(s)), lease {cfg.lease_s:g} s{probes}",
          flush=True)  # fmt: skip
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    m.run(stop)


@cluster_app.command("publish")
def publish(
    events: Annotated[str, typer.Argument(help="JSON-lines event file ('-' for stdin).")],
    nats_url: Annotated[str, typer.Option("--nats", help="NATS server URL.")],
    stream: Annotated[str, typer.Option(help="JetStream stream (created with subjects <stream>.t.* when missing).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
) -> None:
    """Put an event file on the stream in file order, each event on its tenant's subject ``<stream>.t.<tenant>``
    (lines without a valid tenant are counted as unroutable and not sent)."""
    from callops.realtime.cluster import publish_partitioned
    from callops.realtime.events import event_lines

    t0 = time.perf_counter()
    with event_lines(events) as lines:
        info = publish_partitioned(nats_url, stream, (line for _, line in lines))
    info["seconds"] = round(time.perf_counter() - t0, 3)
    if as_json:
        typer.echo(json.dumps(info))
        return
    per = ", ".join(f"{t} {n}" for t, n in info["tenants"].items())
    typer.echo(f"{info['published']} event(s) published to {stream} in {info['seconds']} s ({per or 'none'}); "
               f"{info['unroutable']} without a valid tenant")  # fmt: skip


@cluster_app.command("status")
def status(
    nats_url: Annotated[str, typer.Option("--nats", help="NATS server URL.")],
    stream: Annotated[str, typer.Option(help="The partitioned stream.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
) -> None:
    """Live members, which member owns each tenant (and its lease epoch), and tenants nobody owns now."""
    from callops.realtime.cluster import cluster_status

    info = cluster_status(nats_url, stream)
    if as_json:
        typer.echo(json.dumps(info))
        return
    typer.echo(f"stream {stream}, lease {info['lease_s']:g} s, {len(info['members'])} member(s): "
               f"{', '.join(info['members']) or 'none'}")  # fmt: skip
    for t, lease in info["tenants"].items():
        typer.echo(f"  {t:<20} {lease['member'] + ' (epoch ' + str(lease['epoch']) + ')' if lease else '-'}")
