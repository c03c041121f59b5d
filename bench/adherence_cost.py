"""Adherence evaluation cost in the live engine (issue 19): events per CPU-second with and without the adherence
watch, on the same events in the same run.

    .venv/bin/python bench/adherence_cost.py [--scale 10] [--repeat 5]

The demo day of ``callops.realtime.demo`` (660 agents at scale 10, each scheduled with breaks and lunch) runs
through the full engine (state + the default alert rules) with and without an
:class:`~callops.people.adherence.AdherenceWatch` attached; runs alternate (A, B, A, B, ...) so a load change on
the shared machine hits both, and the best CPU time of each is kept (``time.process_time``: CPU seconds of this
process, not wall time). The target: adherence lowers events per CPU-second by at most 10 %. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from callops.people.adherence import RULE, attach_watch
from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.demo import write_demo
from callops.realtime.engine import LiveEngine
from callops.realtime.events import parse_event


def _run(cfg, roster, sched, events, watch: bool) -> tuple[float, LiveEngine]:
    eng = LiveEngine(cfg, None, roster, sched)
    if watch:
        attach_watch(eng, 300.0)
    t = time.process_time()
    for e in events:
        eng.process(e)
    return time.process_time() - t, eng


def main() -> None:
    """Run the benchmark and print one JSON object."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        info = write_demo(d, scale=args.scale)
        lines = (d / "events.jsonl").read_text().splitlines()
        cfg = load_config(d / "live.yaml", "demo")
        roster, sched = load_roster(d / "agents.csv"), load_schedule(d / "schedules.csv")
    events = [parse_event(x) for x in lines]
    without, with_ = [], []
    eng = None
    for _ in range(args.repeat):
        without.append(_run(cfg, roster, sched, events, False)[0])
        t, eng = _run(cfg, roster, sched, events, True)
        with_.append(t)
    n = len(events)
    base, adh = n / min(without), n / min(with_)
    watch = eng.adherence
    agent_events = sum(1 for e in events if e.type == "agent.state")
    out = {
        "events": n,
        "agent_state_events": agent_events,
        "agents": info["agents"],
        "scheduled_agents": len(sched and {r.agent_id for r in sched}),
        "repeat": args.repeat,
        "without_adherence_per_cpu_s": round(base),
        "with_adherence_per_cpu_s": round(adh),
        "ratio_with_vs_without": round(adh / base, 3),
        "slowdown_pct": round(100 * (1 - adh / base), 1),
        "extra_cpu_us_per_event": round((min(with_) - min(without)) / n * 1e6, 3),
        "watch_evaluations": watch.evaluations,
        "adherence_alert_changes": sum(1 for e in eng.events if e.rule == RULE),
        "target": "slowdown <= 10 %",
        "cpu_s_runs": {"without": [round(x, 3) for x in without], "with": [round(x, 3) for x in with_]},
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
