"""Partitioned live room (issue 17, part 4): events per second with 1, 2 and 3 member processes sharing the tenants
of one JetStream stream, on this machine.

    nice -n 10 .venv/bin/python bench/live_cluster.py [--tenants 6] [--scale 1] [--members 1,2,3]

For each member count: a fresh stream, home and store; every tenant's demo day (the simulated day of ``callops live
demo-events``, tenant renamed) is published first, in event order, on the tenants' subjects; then the members
(``callops live cluster run`` subprocesses, ``--tenants`` given) start together, wait one lease period, share the
tenants and consume. The clock runs from the first member's first ``took`` (hub open, consumer ready) until every
tenant's ``cluster.json`` says its last message is logged (processed, fsync-ed, acknowledged). Member CPU seconds
(from /proc) count from the moment all members have joined. The baseline is the 1-member run of the same
script; the ceiling, ``hub_alone_in_process``, is the same events through one durable hub per tenant in the
benchmark's own process (no NATS, no leases, one core at most).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import yaml

from callops.realtime.cluster import bucket_for, publish_partitioned, read_position, tenant_subject
from callops.realtime.nats_source import connect

URL = os.environ.get("CALLOPS_NATS_URL", "nats://127.0.0.1:4222")


def _die_with_parent() -> None:
    """In the member (Linux): SIGTERM when the benchmark process dies, however it dies."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drop(stream: str) -> None:
    nc = await connect(URL)
    try:
        js = nc.jetstream()
        for fn in (lambda: js.delete_stream(stream), lambda: js.delete_key_value(bucket_for(stream))):
            with contextlib.suppress(Exception):  # already gone
                await fn()
    finally:
        await nc.close()


async def _last_seqs(stream: str, tenants: list[str]) -> dict[str, int]:
    nc = await connect(URL)
    try:
        js = nc.jetstream()
        return {t: (await js.get_last_msg(stream, tenant_subject(stream, t))).seq for t in tenants}
    finally:
        await nc.close()


def run(n: int, tenants: list[str], merged: list[str], demo: Path, lease_s: float, batch: int) -> dict:
    """One measurement with ``n`` members."""
    from callops.store.db import Store

    stream = f"bench-cluster-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        for t in tenants:
            folder = home / "live" / t
            folder.mkdir(parents=True)
            cfg = yaml.safe_load((demo / "live.yaml").read_text())
            cfg["tenant"] = t
            (folder / "live.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
            for name in ("agents.csv", "schedules.csv"):
                (folder / name).write_bytes((demo / name).read_bytes())
        store_url = f"sqlite:///{Path(tmp) / 'store.sqlite3'}"
        Store(store_url).close()  # migrated before the members start
        env = {**os.environ, "CALLOPS_HOME": str(home), "CALLOPS_STORE_URL": store_url}
        env.pop("CALLOPS_WAREHOUSE", None)
        t0 = time.perf_counter()
        publish_partitioned(URL, stream, merged)  # the whole day first: the producer is out of the measured window
        published = time.perf_counter() - t0
        ends = asyncio.run(_last_seqs(stream, tenants))
        logs = [Path(tmp) / f"b{i + 1}.log" for i in range(n)]
        procs = []
        for i in range(n):
            cmd = [sys.executable, "-c", "from callops.cli import main; main()", "live", "cluster", "run", "--nats",
                   URL, "--stream", stream, "--member", f"b{i + 1}", "--tenants", ",".join(tenants), "--lease-s",
                   str(lease_s), "--batch", str(batch)]  # fmt: skip
            procs.append(subprocess.Popen(cmd, env=env, stdout=logs[i].open("w"), stderr=subprocess.STDOUT,
                                          preexec_fn=_die_with_parent))  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while not all(" joined " in f.read_text() for f in logs):  # imported and heartbeating, nothing taken
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise SystemExit("members did not start:\n" + "".join(f.read_text() for f in logs))
                time.sleep(0.05)
            cpu0 = sum(cpu_s(p.pid) for p in procs)
            while not all((p := read_position(t, home)) and p["seq"] >= ends[t] for t in tenants):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise SystemExit("members did not finish:\n" + "".join(f.read_text() for f in logs))
                time.sleep(0.02)
            done = time.time()
            cpu = sum(cpu_s(p.pid) for p in procs) - cpu0
            text = [f.read_text() for f in logs]
            took = [datetime.fromisoformat(ln.split(" ", 1)[0]).timestamp() for t in text for ln in t.splitlines()
                    if " took " in ln]  # fmt: skip
            handoffs = sum(t.count(" released ") for t in text)
            wall = done - min(took)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
            asyncio.run(_drop(stream))
    return {"members": n, "events": len(merged), "seconds": round(wall, 2), "events_per_s": round(len(merged) / wall),
            "publish_s": round(published, 2), "member_cpu_s": round(cpu, 2), "handoffs_before_done": handoffs,
            "events_per_member_cpu_s": round(len(merged) / cpu) if cpu else None}  # fmt: skip


def hub_alone(tenants: list[str], merged: list[str], demo: Path, batch: int) -> dict:
    """The ceiling without NATS or partitioning: the same events through one durable hub per tenant, in this
    process, in batches of ``batch`` (the adherence watch on, as in a member)."""
    import callops.people.adherence  # noqa: F401  (the watch every member's hub gets)
    from callops.realtime.hub import build_hub

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        hubs = {}
        for t in tenants:
            folder = home / "live" / t
            folder.mkdir(parents=True)
            cfg = yaml.safe_load((demo / "live.yaml").read_text())
            cfg["tenant"] = t
            (folder / "live.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
            for name in ("agents.csv", "schedules.csv"):
                (folder / name).write_bytes((demo / name).read_bytes())
            hubs[t] = build_hub(t, log=True, home=home)
        per: dict[str, list[bytes]] = {t: [] for t in tenants}
        for ln in merged:
            per[json.loads(ln)["tenant"]].append(ln.encode())
        c0, w0 = time.process_time(), time.perf_counter()
        for t, lines in per.items():
            for i in range(0, len(lines), batch):
                hubs[t].submit_batch((f"x{j}", ln) for j, ln in enumerate(lines[i:i + batch]))
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        for h in hubs.values():
            h.close()
    return {"seconds": round(wall, 2), "events_per_s": round(len(merged) / wall), "cpu_s": round(cpu, 2),
            "events_per_cpu_s": round(len(merged) / cpu)}  # fmt: skip


def main() -> None:
    """Run the benchmark and print one JSON object."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenants", type=int, default=6)
    ap.add_argument("--scale", type=float, default=1.0, help="demo day scale per tenant (1: 66 agents)")
    ap.add_argument("--members", default="1,2,3")
    ap.add_argument("--lease-s", type=float, default=3.0)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    tenants = [f"bench{i + 1}" for i in range(args.tenants)]
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp)
        # in a child process: the simulator's compiled parts stay out of this one
        subprocess.run([sys.executable, "-c", "from callops.cli import main; main()", "live", "demo-events", "--out",
                        str(demo), "--scale", str(args.scale), "--json"], check=True, capture_output=True)  # fmt: skip
        evs = [json.loads(ln) for ln in (demo / "events.jsonl").open()]
        merged = [json.dumps({**e, "tenant": t}, separators=(",", ":")) for e in evs for t in tenants]
        alone = hub_alone(tenants, merged, demo, args.batch)
        runs = [run(int(n), tenants, merged, demo, args.lease_s, args.batch) for n in args.members.split(",")]
    base = runs[0]["events_per_s"]
    for r in runs:
        r["speedup_vs_first"] = round(r["events_per_s"] / base, 2)
    print(json.dumps({"cores": os.cpu_count(), "load_avg": os.getloadavg(), "tenants": args.tenants,
                      "events": len(merged), "hub_alone_in_process": alone,
                      "runs": runs}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
