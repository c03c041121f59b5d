"""`/api/decide` at one million customers: p50/p99 latency and throughput over real HTTP, concurrent clients.

A tenant with a precomputed value snapshot of 1,000,000 customers (scores, classes, routes and tags drawn
at random: the decision reads nothing else) is served by ``callops serve`` (one uvicorn worker); wrk runs
``--threads`` × ``--connections`` concurrent clients posting decisions for random customer ids. The
baseline is the cheapest authenticated route, ``GET /api/tenant``, measured the same way in the same run:
the ratio shows what the decision adds to a request's fixed cost (token check, routing, JSON).

Two loads: *saturated* (every client sends its next request as soon as the answer arrives: throughput, and a
latency that is mostly queueing behind the other clients) and *paced* (each client waits ``--think-ms`` after
an answer, as contact arrivals do: the latency one decision meets at ``--connections`` × 1000 / think-ms
decisions per second at most, the figure issue 11 asks about).

    .venv/bin/python bench/value_decide.py [--customers 1000000] [--seconds 15] [--connections 8] [--think-ms 20]
        [--pin]

``--pin`` puts the server on the last core and wrk on the others (``taskset``), as when the clients run on other
machines: without it, wrk and the server share both cores and the server's tail includes waiting for wrk.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CALLOPS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup(home: Path, n: int) -> str:
    """Tenant ``bench``, an admin token and a snapshot of ``n`` customers; returns the token."""
    os.environ["CALLOPS_HOME"] = str(home)
    from callops.store.db import Store
    from callops.store.roles import Role
    from callops.store.tenants import create_tenant
    from callops.store.users import create_user
    from callops.value.snapshot import value_dir
    from callops.warehouse import Warehouse

    with Warehouse() as wh, Store() as store:
        create_tenant(store, wh, "bench", "Asia/Shanghai")
        with store.session() as s:
            _, token = create_user(s, "bench", "bench-admin", Role.admin, "bench")
    rng = np.random.default_rng(1)
    tags = ["heavy_data_user", "4g_not_migrated", "just_unsubscribed", "suspended_for_billing", "dissatisfied_recently"]
    pick = rng.random((n, len(tags))) < np.array([0.2, 0.25, 0.03, 0.02, 0.05])
    classes = np.array(["high_value", "complex", "low_value", "standard"])[rng.choice(4, n, p=[.1, .05, .15, .7])]
    routes = {"high_value": "high_value_desk", "complex": "expert_desk", "low_value": "self_service_first",
              "standard": "normal_queue"}  # fmt: skip
    table = pa.table({
        "customer_id": pa.array([f"C{i:08d}" for i in range(1, n + 1)]),
        "score": pa.array(rng.uniform(0, 100, n)),
        "value_class": pa.array(classes.tolist()),
        "route": pa.array([routes[c] for c in classes.tolist()]),
        "tags": pa.array([[t for t, hit in zip(tags, row, strict=True) if hit] for row in pick.tolist()],
                         pa.list_(pa.string())),
    })  # fmt: skip
    folder = value_dir("bench")
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "v0001.parquet")
    meta = {"version": 1, "as_of": time.strftime("%Y-%m-%d"), "customers": n,
            "model": {"id": "telecom_value", "version": 1}}  # fmt: skip
    (folder / "v0001.json").write_text(json.dumps(meta), encoding="utf-8")
    (folder / "latest.json").write_text(json.dumps({"version": 1}), encoding="utf-8")
    return token


def _paced(script: Path, think_ms: float) -> Path:
    """A copy of a wrk script whose clients wait ``think_ms`` after each answer."""
    paced = script.with_name(f"paced-{script.name}")
    paced.write_text(script.read_text(encoding="utf-8") + f"delay = function()\n  return {think_ms:g}\nend\n",
                     encoding="utf-8")  # fmt: skip
    return paced


def _pinning(pin: bool) -> tuple[list[str], list[str]]:
    """``taskset`` prefixes for (server, wrk): the last core for the server, the others for wrk."""
    if not pin:
        return [], []
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("--pin needs at least two cores")
    rest = ",".join(str(c) for c in cores[:-1])
    return ["taskset", "-c", str(cores[-1])], ["taskset", "-c", rest]


def _wrk(url: str, script: Path, seconds: int, threads: int, connections: int,
         prefix: list[str] | None = None) -> dict[str, float]:  # fmt: skip
    command = [*(prefix or []), "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
               str(script), url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            raise SystemExit(f"wrk output without {label}:\n{out}")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"p50_ms": ms("50%"), "p99_ms": ms("99%"), "requests_per_s": rps,
            "non_2xx": int(errors.group(1)) if errors else 0}  # fmt: skip


def _in_process(n: int, calls: int = 50_000) -> dict[str, float]:
    """The decision itself, without HTTP: p50/p99 of ``decide()`` over random ids (1 % unknown)."""
    from callops import tenancy
    from callops.value.decide import decide
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        tenant = tenancy.get_tenant(wh, "bench")
    decide(tenant, "C00000001", "voice", "billing")  # loads the index
    rng = np.random.default_rng(2)
    ids = [f"C{i:08d}" for i in rng.integers(1, n + n // 100, calls)]
    times = np.empty(calls)
    for k, cid in enumerate(ids):
        t0 = time.perf_counter()
        decide(tenant, cid, "voice", "billing")
        times[k] = time.perf_counter() - t0
    return {"p50_ms": float(np.percentile(times, 50) * 1e3), "p99_ms": float(np.percentile(times, 99) * 1e3),
            "calls": calls}  # fmt: skip


def main() -> None:
    """Set up, serve, load with wrk, print one JSON document."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--think-ms", type=float, default=20.0, help="a paced client's wait after each answer")
    ap.add_argument("--pin", action="store_true", help="server on the last core, wrk on the others")
    args = ap.parse_args()
    on_server, on_client = _pinning(args.pin)
    with tempfile.TemporaryDirectory(prefix="value-decide-") as tmp:
        home = Path(tmp)
        t0 = time.perf_counter()
        token = _setup(home, args.customers)
        setup_s = time.perf_counter() - t0
        in_process = _in_process(args.customers)
        port = _free_port()
        env = {**os.environ, "CALLOPS_HOME": str(home)}
        server = subprocess.Popen([*on_server, CALLOPS, "serve", "--port", str(port), "--no-console"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            body = json.dumps({"customer_id": "C00000001", "channel": "voice", "reason": "billing"}).encode()
            req = urllib.request.Request(f"{base}/api/decide", data=body, method="POST", headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"})  # fmt: skip
            for _ in range(120):  # wait for the server, then load the index (first decision)
                try:
                    t1 = time.perf_counter()
                    first = json.loads(urllib.request.urlopen(req, timeout=60).read())
                    load_s = time.perf_counter() - t1
                    break
                except OSError:
                    time.sleep(0.5)
            else:
                raise SystemExit("the server did not start")
            assert first["known"], first
            post = Path(tmp) / "post.lua"
            post.write_text(
                'wrk.method = "POST"\n'
                f'wrk.headers["Authorization"] = "Bearer {token}"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f"request = function()\n  local id = math.random(1, {args.customers + args.customers // 100})\n"
                '  return wrk.format(nil, "/api/decide", nil, string.format('
                '\'{"customer_id": "C%08d", "channel": "voice", "reason": "billing"}\', id))\nend\n',
                encoding="utf-8")  # 1 % of the ids are unknown: the default answer is measured too
            get = Path(tmp) / "get.lua"
            get.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n', encoding="utf-8")
            decide = _wrk(f"{base}/api/decide", post, args.seconds, args.threads, args.connections, on_client)
            baseline = _wrk(f"{base}/api/tenant", get, args.seconds, args.threads, args.connections, on_client)
            paced = _wrk(f"{base}/api/decide", _paced(post, args.think_ms), args.seconds, args.threads,
                         args.connections, on_client)  # fmt: skip
            paced_base = _wrk(f"{base}/api/tenant", _paced(get, args.think_ms), args.seconds, args.threads,
                              args.connections, on_client)  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps({
        "customers": args.customers, "clients": args.connections, "wrk_threads": args.threads, "pinned": args.pin,
        "setup_s": round(setup_s, 1), "first_decision_s (index load)": round(load_s, 2),
        "decide_in_process": in_process, "decide": decide, "baseline_get_tenant": baseline,
        "p99_ratio_vs_baseline": round(decide["p99_ms"] / baseline["p99_ms"], 2),
        "throughput_ratio_vs_baseline": round(decide["requests_per_s"] / baseline["requests_per_s"], 2),
        "think_ms": args.think_ms, "decide_paced": paced, "baseline_get_tenant_paced": paced_base,
        "paced_p99_ratio_vs_baseline": round(paced["p99_ms"] / paced_base["p99_ms"], 2),
        "load_average": list(os.getloadavg()),
        "cpu_cores": os.cpu_count(),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
