"""API under concurrent load (issue 21): the dashboard crowd, and the main read routes at 1, 10 and 100 clients.

    nice -n 10 .venv/bin/python bench/api_concurrency.py [--seconds 20] [--rows 200000] [--upload-rows 50000]

A real uvicorn (its own process, API only) serves a fresh home: tenant ``bench`` with the bundled sample plus
``--rows`` synthetic contacts. Load comes from ``wrk`` (Debian: ``apt-get install -y wrk``; a Python thread
client is used when wrk is absent).

1. **Dashboard crowd**: 100 clients ask ``GET /api/metrics/top?period=day`` for ``--seconds``, alone and while
   another tenant uploads ``--upload-rows`` contacts again and again through ``POST /api/ingest/contacts``.
   Baseline in the same run: the same server with one warehouse slot (``CALLOPS_API_WAREHOUSE_SLOTS=1``), i.e.
   every read serialised as the single-lock design did (without its deadlock). Printed: p50, p99, requests/s,
   503s, uploads finished, and the ratio default / baseline.
2. **Read routes** at 1, 10 and 100 clients (default slots): requests/s and p99.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ROUTES = {
    "tenant": "/api/tenant",
    "top": "/api/metrics/top?period=day",
    "query": "/api/metrics/query?metric=contacts_offered,service_level&grain=day&by=queue",
    "tiles": "/api/live/tiles",
}
SERVER = "import uvicorn\nfrom callops.api.app import create_app\n" \
    "uvicorn.run(create_app(console=False), host='127.0.0.1', port={port}, log_level='warning')"


def synthetic_contacts(rows: int, prefix: str) -> bytes:
    """``rows`` canonical contacts over two weeks and six queues, gzip CSV."""
    head = "contact_id,channel,direction,center,queue,offered_at,answered_at,ended_at,outcome\n"
    out = [head]
    for i in range(rows):
        day, sec = 1 + i % 14, (i * 37) % 43_200
        h, m, s = 8 + sec // 3600, (sec // 60) % 60, sec % 60
        t0 = f"2026-03-{day:02d}T{h:02d}:{m:02d}:{s:02d}+08:00"
        if i % 7:
            t1 = f"2026-03-{day:02d}T{h:02d}:{m:02d}:{min(59, s + 1 + i % 20):02d}+08:00"
            t2 = f"2026-03-{day:02d}T{min(23, h + 1):02d}:{m:02d}:{s:02d}+08:00"
            out.append(f"{prefix}{i},voice,inbound,c{i % 2},q{i % 6},{t0},{t1},{t2},answered\n")
        else:
            out.append(f"{prefix}{i},voice,inbound,c{i % 2},q{i % 6},{t0},,{t0},abandoned\n")
    return gzip.compress("".join(out).encode(), 1)


def prepare(home: Path, rows: int) -> dict[str, str]:
    """Tenants bench (sample + synthetic contacts) and upload (empty), an admin token of each."""
    env = {**os.environ, "CALLOPS_HOME": str(home)}
    code = f"""
import json, sys
from pathlib import Path
from callops import demo, tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.store import Store
from callops.store.tenants import create_tenant
from callops.store.users import create_user
from callops.warehouse import Warehouse
home = Path({str(home)!r})
store, tokens = Store(), {{}}
with Warehouse() as wh:
    for name in ("bench", "upload"):
        create_tenant(store, wh, name, "Asia/Shanghai")
        with store.session() as s:
            tokens[name] = create_user(s, name, name + "-admin", "admin", "bench")[1]
    t = tenancy.get_tenant(wh, "bench")
    demo.load_sample(wh, t)
    (home / "synthetic.csv.gz").write_bytes(sys.stdin.buffer.read())
    load_files(wh, t, "contacts", [home / "synthetic.csv.gz"], load_mapping("canonical", "contacts"))
store.close()
print(json.dumps(tokens))
"""
    r = subprocess.run([PY, "-c", code], input=synthetic_contacts(rows, "S"), capture_output=True, env=env,
                       cwd=ROOT, check=True)  # fmt: skip
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


class Server:
    """uvicorn in a child process over ``home`` with extra environment."""

    def __init__(self, home: Path, port: int, **env: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = (home.parent / f"server-{port}-{len(env)}.log").open("ab")  # DuckDB's progress bars go here
        self.proc = subprocess.Popen([PY, "-c", SERVER.format(port=port)], cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     env={**os.environ, "CALLOPS_HOME": str(home), **env})  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.base + "/api/tenant", timeout=2)
            except urllib.error.HTTPError:
                break  # 401: it answers
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        """Terminate the server."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:  # requests still queued: graceful shutdown would wait for them all
            self.proc.kill()
            self.proc.wait(10)
        self.log.close()


def wrk(base: str, path: str, token: str, clients: int, seconds: int) -> dict[str, float]:
    """Requests/s, p50, p99 (ms) and non-2xx answers from wrk (or the thread client)."""
    if shutil.which("wrk") is None:
        return thread_load(base, path, token, clients, seconds)
    out = subprocess.run(["wrk", "-t", str(min(2, clients)), "-c", str(clients), "-d", f"{seconds}s", "--latency",
                          "--timeout", "60s", "-H", f"Authorization: Bearer {token}", base + path],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50_ms": ms("50"), "p99_ms": ms("99"), "non_2xx": int(bad.group(1)) if bad else 0}


def thread_load(base: str, path: str, token: str, clients: int, seconds: int) -> dict[str, float]:
    """The fallback load generator: ``clients`` threads in a closed loop."""
    times: list[float] = []
    bad = [0]
    end = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < end:
            t0 = time.perf_counter()
            try:
                req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
                urllib.request.urlopen(req, timeout=60).read()
            except urllib.error.HTTPError:
                bad[0] += 1
            times.append(time.perf_counter() - t0)

    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(loop)
    q = statistics.quantiles(times, n=100)
    return {"rps": len(times) / seconds, "p50_ms": q[49] * 1e3, "p99_ms": q[98] * 1e3, "non_2xx": bad[0]}


def upload_loop(base: str, token: str, data: bytes, stop: threading.Event, done: list[float]) -> None:
    """Upload ``data`` to tenant upload's contacts again and again until ``stop``; durations into ``done``."""
    boundary = "----bench"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"u.csv.gz\"\r\n"
            "Content-Type: application/gzip\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    while not stop.is_set():
        t0 = time.perf_counter()
        req = urllib.request.Request(base + "/api/ingest/contacts", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": f"multipart/form-data; boundary={boundary}"})  # fmt: skip
        urllib.request.urlopen(req, timeout=600).read()
        done.append(time.perf_counter() - t0)


def crowd(home: Path, tokens: dict[str, str], port: int, seconds: int, upload: bytes | None, **env: str) -> dict:
    """The dashboard crowd on a server started with ``env`` (while ``upload`` is loaded in a loop, if given)."""
    srv = Server(home, port, **env)
    try:
        wrk(srv.base, ROUTES["top"], tokens["bench"], 4, 2)  # warm
        stop, uploads = threading.Event(), []
        th = threading.Thread(target=upload_loop, args=(srv.base, tokens["upload"], upload, stop, uploads))
        if upload is not None:
            th.start()
            time.sleep(0.5)
        res = wrk(srv.base, ROUTES["top"], tokens["bench"], 100, seconds)
        stop.set()
        if upload is not None:
            th.join()
        res["uploads"] = len(uploads)
        res["upload_s"] = round(statistics.mean(uploads), 2) if uploads else float("nan")
        return res
    finally:
        srv.stop()


def main() -> None:
    """Run both parts and print a table and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--upload-rows", type=int, default=50_000)
    ap.add_argument("--route-seconds", type=int, default=8)
    ap.add_argument("--port", type=int, default=8101)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="callops-bench-api-")) / "home"
    try:
        t0 = time.perf_counter()
        tokens = prepare(home, args.rows)
        print(f"prepared {args.rows:,} synthetic contacts + sample in {time.perf_counter() - t0:.1f} s", flush=True)
        upload = synthetic_contacts(args.upload_rows, "U")
        print(f"\n1. TOP indicators (GET /api/metrics/top?period=day), 100 clients, {args.seconds} s each", flush=True)
        configs = (("baseline: 1 slot, no shared answers", {"CALLOPS_API_WAREHOUSE_SLOTS": "1",
                                                              "CALLOPS_API_SHARED_TTL_S": "0"}),
                   ("8 slots (own cursors), no sharing", {"CALLOPS_API_SHARED_TTL_S": "0"}),
                   ("default: 8 slots + shared answers", {}))  # fmt: skip
        runs = {}
        for label, env in configs:
            for during, data in (("alone", None), ("during uploads", upload)):
                r = runs[(label, during)] = crowd(home, tokens, args.port, args.seconds, data, **env)
                print(f"   {label:36s} {during:15s} p50 {r['p50_ms']:8.1f} ms  p99 {r['p99_ms']:8.1f} ms  "
                      f"{r['rps']:7.1f} req/s  503s {r['non_2xx']:4d}  uploads done {r['uploads']}"
                      f" (mean {r['upload_s']} s)", flush=True)  # fmt: skip
        base_label = configs[0][0]
        for label, _env in configs[1:]:
            for during in ("alone", "during uploads"):
                b, n = runs[(base_label, during)], runs[(label, during)]
                ratio = f"{n['rps'] / b['rps']:.1f}" if b["rps"] else "inf (baseline finished none)"
                print(f"   req/s ratio {label} / baseline, {during}: {ratio}")
        print(f"\n2. read routes (default server), {args.route_seconds} s each", flush=True)
        srv = Server(home, args.port)
        try:
            wrk(srv.base, ROUTES["tiles"], tokens["bench"], 1, 1)
            print(f"   {'route':8s} {'clients':>7s} {'req/s':>9s} {'p50 ms':>9s} {'p99 ms':>9s} {'non-2xx':>8s}")
            for name, path in ROUTES.items():
                for clients in (1, 10, 100):
                    r = wrk(srv.base, path, tokens["bench"], clients, args.route_seconds)
                    print(f"   {name:8s} {clients:7d} {r['rps']:9.1f} {r['p50_ms']:9.1f} {r['p99_ms']:9.1f} "
                          f"{r['non_2xx']:8d}", flush=True)  # fmt: skip
        finally:
            srv.stop()
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
