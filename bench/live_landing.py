"""Live → warehouse lag under the demo's replay at 10×: how long after the hub accepted the event that finished a
contact does the contact sit in the warehouse (landed by the :class:`~callops.realtime.landing.LandingWorker`)?

    nice -n 10 .venv/bin/python bench/live_landing.py [--minutes 20] [--speed 10] [--interval 15]

The demo's live day (the provincial hotline's today: 600 agents, 13 queues, overload on billing from 14:00,
simulated as ``make demo`` does) is fed at once up to 13:30, as ``make demo`` does, then ``--minutes`` of event
time are replayed at ``--speed``× through the durable hub while the worker lands every ``--interval`` seconds of
wall time. The baseline is the promise: lag as a share of one minute.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def main() -> None:
    """Run the benchmark and print one JSON object."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--speed", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=15.0)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-landing-")
    os.environ["CALLOPS_HOME"] = tmp
    from callops import tenancy
    from callops.realtime.demo import write_scenario_day
    from callops.realtime.events import EventPacer
    from callops.realtime.hub import build_hub, live_dir
    from callops.realtime.landing import Lander, LandingWorker
    from callops.sim.demo import overload_stream, split_day
    from callops.sim.runner import run_scenario
    from callops.sim.scenario import demo_scenario
    from callops.warehouse import Warehouse

    folder = live_dir("demo")
    zone = ZoneInfo("Asia/Shanghai")
    today = datetime.now(zone).date()
    scenario = demo_scenario().model_copy(update={"timezone": "Asia/Shanghai"})
    print("simulating the demo's live day", file=sys.stderr)
    tables = run_scenario(scenario, 1, 7, today, extra_streams=(overload_stream(scenario, today),))
    midnight = datetime.combine(today, datetime.min.time(), zone)
    _, live = split_day(tables, midnight)
    write_scenario_day(folder, scenario, live["contacts"], live["agent_states"], tables["agents"],
                       tables["schedules"], midnight)  # fmt: skip
    lines = (folder / "events.jsonl").read_text().splitlines()
    wh = Warehouse()
    tenancy.create_tenant(wh, "demo", "Asia/Shanghai")
    lock = threading.Lock()

    @contextmanager
    def opener():  # the app's single connection under its lock, as `live serve` does
        with lock:
            yield wh

    hub = build_hub("demo", log=True)
    ts = [datetime.fromisoformat(json.loads(ln)["ts"]) for ln in lines]
    cut = ts[0].replace(hour=13, minute=30, second=0, microsecond=0)
    end = cut + timedelta(minutes=args.minutes)
    first = next(i for i, t in enumerate(ts) if t >= cut)
    last = next((i for i, t in enumerate(ts) if t >= end), len(lines))
    for i in range(0, first, 2000):
        hub.submit(lines[i:min(i + 2000, first)], "fast")
    accepted: dict[str, float] = {}
    lags: list[float] = []
    passes: list[float] = []

    def on_landed(r) -> None:
        passes.append(r.seconds)
        lags.extend(r.landed_at - accepted[c] for c in r.contact_ids if c in accepted)

    worker = LandingWorker(Lander(hub.engine.config), opener, args.interval, on_landed)
    worker.run_once()  # the morning lands before the paced part starts (as make demo's first pass)
    passes.clear()
    worker.start()
    pacer = EventPacer(args.speed)
    pending: list[str] = []
    ends = ('"contact.ended"', '"contact.abandoned"', '"contact.transferred"')

    def flush() -> None:
        hub.submit(pending, "replay")
        now = time.time()
        for ln in pending:
            if any(e in ln for e in ends):
                accepted[json.loads(ln)["contact_id"]] = now
        pending.clear()

    t0 = time.perf_counter()
    for ln in lines[first:last]:
        delay = pacer.delay(ln)
        if delay > 0:
            if pending:
                flush()
            time.sleep(delay)
        pending.append(ln)
        if len(pending) >= 50:
            flush()
    if pending:
        flush()
    worker.stop()
    wall = time.perf_counter() - t0
    lags.sort()
    p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]  # noqa: E731
    out = {
        "events_fed_at_once": first, "events_replayed": last - first, "event_minutes": args.minutes,
        "speed": args.speed,
        "interval_s": args.interval, "wall_s": round(wall, 1), "contacts_landed": len(lags),
        "landings": len(passes), "lag_s": {"p50": round(p(0.5), 2), "p99": round(p(0.99), 2),
                                           "max": round(lags[-1], 2), "mean": round(statistics.fmean(lags), 2)},
        "lag_share_of_one_minute": {"p50": round(p(0.5) / 60, 3), "p99": round(p(0.99) / 60, 3)},
        "landing_pass_s": {"p50": round(statistics.median(passes), 3), "max": round(max(passes), 3)},
        "errors": worker.errors,
    }  # fmt: skip
    hub.close()
    wh.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
