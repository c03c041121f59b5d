"""A decision with an offer at 1,000,000 customers and 50 offers: p50/p99, in process and over HTTP.

The tenant has a value snapshot of 1M customers (as ``bench/value_decide.py``), an offer library of 50 offers in
10 campaigns with eligibility rules, and a propensity model over every offer (random weights: the decision's
cost does not depend on their values). Each decision with an offer also reads the customer's recent offers from
the store (contact-policy limits) and queues its log row (written in batches by a thread).

Baseline, measured in the same run: the same decision without the offer (``decide(..., offers=False)``, what
issue 11 measured). Over HTTP (``--http``): ``callops serve`` (one uvicorn worker) and ``--clients`` Python
threads with keep-alive connections posting decisions for random ids, then ``GET /api/tenant`` the same way.

    .venv/bin/python bench/decide_offers.py [--customers 1000000] [--offers 50] [--calls 20000 (0: HTTP only)]
                                            [--http --clients 8 --seconds 15 --rounds 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CALLOPS
from value_decide import _free_port, _setup

TAGS = ["heavy_data_user", "4g_not_migrated", "just_unsubscribed", "suspended_for_billing", "dissatisfied_recently"]
CLASSES = ["high_value", "complex", "low_value", "standard", "unknown"]
REASONS = ["billing", "data_plan", "upgrade_5g", "broadband", "roaming", "general", "-"]
CHANNELS = ["voice", "chat", "app", "sms", "web", "email"]


def _library(n: int) -> str:
    """An offer library of ``n`` offers in ``n // 5`` campaigns, with eligibility rules and guidance."""
    lines = ["id: bench_offers", "version: 1", "campaigns:"]
    camps = max(1, n // 5)
    for c in range(camps):
        lines.append(f"  - {{id: CAMP{c:02d}, importance: {0.1 + 0.8 * c / camps:.2f}, difficulty: 0.4}}")
    lines.append("offers:")
    for i in range(n):
        rule = ["", "eligible: {tags_none: [suspended_for_billing]}", "eligible: {classes_not: [low_value]}",
                "eligible: {reasons_not: [complaint]}"][i % 4]  # fmt: skip
        lines += [f"  - id: OF{i:03d}", f"    campaign: CAMP{i % camps:02d}", f"    product: product {i}",
                  f"    unit_price: {10 + 5 * i}", "    commission: 2", "    channels: [voice, chat, app]",
                  *([f"    {rule}"] if rule else []),
                  "    guidance:", f"      offer: {{en: offer {i}, zh-CN: 产品{i}}}",
                  f"      phrase: {{en: would you like product {i}, zh-CN: 需要产品{i}吗}}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def _model(n: int) -> dict:
    """A propensity model with a weight for every offer and every (offer, contact feature) pair."""
    rng = np.random.default_rng(3)
    ctx = ([f"tag={t}" for t in TAGS] + [f"class={c}" for c in CLASSES] + [f"band=s{b}" for b in range(10)]
           + [f"reason={r}" for r in REASONS] + [f"channel={c}" for c in CHANNELS])  # fmt: skip
    weights = {f: float(rng.normal(0, 0.3)) for f in ctx}
    offers = [f"OF{i:03d}" for i in range(n)]
    for o in offers:
        weights[f"offer={o}"] = float(rng.normal(-1, 0.5))
        weights.update({f"{o}|{f}": float(rng.normal(0, 0.5)) for f in ctx})
    return {"version": 1, "intercept": -1.5, "weights": weights, "offers": offers, "meta": {"bench": True}}


def _install(n_offers: int) -> None:
    from callops.marketing.offers import marketing_dir

    folder = marketing_dir("bench")
    (folder / "propensity").mkdir(parents=True, exist_ok=True)
    (folder / "offers.yaml").write_text(_library(n_offers), encoding="utf-8")
    (folder / "propensity" / "v0001.json").write_text(json.dumps(_model(n_offers)), encoding="utf-8")
    (folder / "propensity" / "latest.json").write_text(json.dumps({"version": 1}), encoding="utf-8")


def _percentiles(times: np.ndarray) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(times, 50)) * 1e3, 3),
            "p99_ms": round(float(np.percentile(times, 99)) * 1e3, 3), "calls": len(times)}  # fmt: skip


def _in_process(n: int, calls: int) -> dict[str, dict[str, float]]:
    """``decide()`` with and without the offer, alternating per call over the same random ids."""
    from callops import tenancy
    from callops.marketing import decisionlog
    from callops.value.decide import decide
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        tenant = tenancy.get_tenant(wh, "bench")
    first = decide(tenant, "C00000001", "voice", "data_plan")  # loads the index, the library and the model
    assert first["offer"] is not None, first["offer_why"]
    rng = np.random.default_rng(2)
    ids = [f"C{i:08d}" for i in rng.integers(1, n + n // 100, calls)]
    reasons = [REASONS[i] for i in rng.integers(0, len(REASONS) - 1, calls)]
    with_offer, without = np.empty(calls), np.empty(calls)
    offered = 0
    for k, (cid, reason) in enumerate(zip(ids, reasons, strict=True)):
        t0 = time.perf_counter()
        decide(tenant, cid, "voice", reason, offers=False)
        t1 = time.perf_counter()
        d = decide(tenant, cid, "voice", reason, contact_id=f"k{k}")
        t2 = time.perf_counter()
        without[k], with_offer[k] = t1 - t0, t2 - t1
        offered += d["offer"] is not None
    decisionlog.flush()
    return {"with_offer": {**_percentiles(with_offer), "offers_made": offered},
            "baseline_without_offer": _percentiles(without)}


def _http(base_port: int, token: str, n: int, clients: int, seconds: float, path: str) -> dict[str, float]:
    """``clients`` threads, each with a keep-alive connection, for ``seconds``: latency percentiles, throughput."""
    times: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        conn = http.client.HTTPConnection("127.0.0.1", base_port, timeout=60)
        local = []
        while time.perf_counter() < stop:
            if path == "/api/decide":
                body = json.dumps({"customer_id": f"C{int(rng.integers(1, n + n // 100)):08d}", "channel": "voice",
                                   "reason": "data_plan"})  # fmt: skip
                t0 = time.perf_counter()
                conn.request("POST", path, body, {"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})  # fmt: skip
            else:
                t0 = time.perf_counter()
                conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            r = conn.getresponse()
            r.read()
            local.append(time.perf_counter() - t0)
            assert r.status == 200, r.status
        with lock:
            times.extend(local)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not times:
        raise OSError("no request completed")
    out = _percentiles(np.array(times))
    out["requests_per_s"] = round(len(times) / seconds, 1)
    return out


def main() -> None:
    """Set up, measure, print one JSON document."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--offers", type=int, default=50)
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--http", action="store_true")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="decide-offers-") as tmp:
        home = Path(tmp)
        t0 = time.perf_counter()
        token = _setup(home, args.customers)
        _install(args.offers)
        setup_s = time.perf_counter() - t0
        doc: dict = {"customers": args.customers, "offers": args.offers, "setup_s": round(setup_s, 1)}
        if args.calls:
            doc["in_process"] = _in_process(args.customers, args.calls)
            ip = doc["in_process"]
            doc["p99_ratio_vs_baseline"] = round(ip["with_offer"]["p99_ms"] / ip["baseline_without_offer"]["p99_ms"],
                                                 2)  # fmt: skip
        if args.http:
            port = _free_port()
            env = {**os.environ, "CALLOPS_HOME": str(home)}
            server = subprocess.Popen([CALLOPS, "serve", "--port", str(port), "--no-console"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            try:
                for _ in range(240):  # wait for the server
                    try:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                        conn.request("GET", "/api/tenant", headers={"Authorization": f"Bearer {token}"})
                        conn.getresponse().read()
                        break
                    except OSError:
                        time.sleep(0.5)
                _http(port, token, args.customers, 1, 3.0, "/api/decide")  # index, library and model loaded
                for rnd in range(args.rounds):  # alternate, so a change in the machine's load hits both
                    doc[f"http_baseline_get_tenant_{rnd}"] = _http(port, token, args.customers, args.clients,
                                                                   args.seconds, "/api/tenant")  # fmt: skip
                    doc[f"http_decide_{rnd}"] = _http(port, token, args.customers, args.clients, args.seconds,
                                                      "/api/decide")  # fmt: skip
                doc["http_clients"] = args.clients
            finally:
                server.terminate()
                server.wait(timeout=30)
    doc["cpu_cores"] = os.cpu_count()
    doc["load_average"] = os.getloadavg()
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
