"""Live engine benchmark: events per CPU second through state + alert evaluation, alert latency, and the six-step
recommendation time for a 660-agent tenant.

    .venv/bin/python bench/live_bench.py [--scale 10] [--repeat 3]

Throughput is measured in CPU seconds of this process (``time.process_time``), so "per core" holds on a shared
machine; the JSON parse is timed separately. The baseline is ``json.loads`` of the same lines in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.demo import write_demo
from callops.realtime.engine import LiveEngine, build_engine
from callops.realtime.events import parse_event
from callops.realtime.plans import Planner, load_plans


def best(fn, repeat: int) -> float:
    """Smallest CPU seconds of ``repeat`` runs."""
    out = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        out.append(time.process_time() - t)
    return min(out)


def main() -> None:
    """Run the benchmark and print one JSON object."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        info = write_demo(d, scale=args.scale)
        lines = (d / "events.jsonl").read_text().splitlines()
        cfg = load_config(d / "live.yaml", "demo")
        roster, sched = load_roster(d / "agents.csv"), load_schedule(d / "schedules.csv")
    n = len(lines)
    events = [parse_event(x) for x in lines]
    t_json = best(lambda: [json.loads(x) for x in lines], args.repeat)
    t_parse = best(lambda: [parse_event(x) for x in lines], args.repeat)
    t_state = best(lambda: _run(LiveEngine(cfg, [], roster, sched), events), args.repeat)
    t_rules = best(lambda: _run(LiveEngine(cfg, None, roster, sched), events), args.repeat)
    eng, pe = build_engine(cfg, roster=roster, schedule=sched)
    wall = time.perf_counter()
    stop = None  # the state during the overload (14:05 local) is where the recommendation is timed
    for x in lines:
        eng.submit(x)
        if stop is None and eng.state.now >= eng.state.day + 14 * 3600 + 300:
            stop = time.perf_counter()
            planner = Planner(eng.state)
            steps = load_plans()[0].steps
            rec_times = []
            for _ in range(10):
                t = time.perf_counter()
                rec = planner.recommend("billing", steps)
                rec_times.append(time.perf_counter() - t)
            wall += time.perf_counter() - stop
    wall = time.perf_counter() - wall
    lat = sorted(e.latency_s for e in eng.events if e.latency_s is not None)
    out = {
        "events": n,
        "agents": info["agents"],
        "json_loads_per_cpu_s": round(n / t_json),
        "parse_per_cpu_s": round(n / t_parse),
        "state_only_per_cpu_s": round(n / t_state),
        "state_and_alerts_per_cpu_s": round(n / t_rules),
        "ratio_state_and_alerts_vs_json_loads": round(t_json / t_rules, 3),
        "end_to_end_wall_per_s": round(n / wall),
        "alert_changes": len(lat),
        "alert_latency_ms": {
            "p50": round(lat[len(lat) // 2] * 1e3, 4),
            "p99": round(lat[int(len(lat) * 0.99)] * 1e3, 4),
            "max": round(lat[-1] * 1e3, 4),
        },
        "plan_activations": len(pe.activations),
        "six_step_recommendation_ms": {"median": round(statistics.median(rec_times) * 1e3, 2),
                                       "max": round(max(rec_times) * 1e3, 2)},
        "recommendation": {"queue_agents": rec.load.agents, "steps": [x.kind for x in rec.steps],
                           "moved": sum(len(x.agents) for x in rec.steps), "before": rec.before["service_level"],
                           "after": rec.after["service_level"]},
    }
    print(json.dumps(out, indent=2))


def _run(eng: LiveEngine, events: list) -> None:
    for e in events:
        eng.process(e)


if __name__ == "__main__":
    main()
