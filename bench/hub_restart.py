"""Live hub restart time after 30 days of events: snapshot + the log after it, against replaying the whole log.

    nice -n 10 .venv/bin/python bench/hub_restart.py [--days 30] [--scale 0.5]

The demo day (``--scale`` × 66 agents) is repeated ``--days`` times (each copy shifted by one day, contact ids
made unique per day) and written as the tenant's day files, as a month of ``live serve`` would have left them.
Baseline: a hub that replays the whole log (the only way before snapshots). Then that hub closes (writing its
snapshot), a new hub logs half of the next day and is killed (no snapshot), and the restart is timed: the
snapshot plus half a day of log. The ratio is baseline / snapshot restart. Times are CPU seconds of this process
(the rebuild is single-threaded; wall time on the shared machine measures the neighbours), wall beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def shifted(lines: list[str], day: int) -> list[str]:
    """The day's events moved ``day`` days later, contact ids suffixed with the day."""
    out = []
    for ln in lines:
        ev = json.loads(ln)
        ev["ts"] = (datetime.fromisoformat(ev["ts"]) + timedelta(days=day)).isoformat(timespec="microseconds")
        if "contact_id" in ev:
            ev["contact_id"] = f"{ev['contact_id']}-d{day}"
        out.append(json.dumps(ev, separators=(",", ":")))
    return out


def timed(fn):
    """(result, CPU s, wall s)."""
    c, w = time.process_time(), time.perf_counter()
    r = fn()
    return r, time.process_time() - c, time.perf_counter() - w


def main() -> None:
    """Run the benchmark and print one JSON object."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--scale", type=float, default=0.5)
    args = ap.parse_args()
    os.environ["CALLOPS_HOME"] = tempfile.mkdtemp(prefix="bench-restart-")
    from callops.realtime.demo import write_demo
    from callops.realtime.hub import SNAPSHOT_FILE, build_hub, live_dir

    folder = live_dir("demo")
    write_demo(folder, args.scale, 2.0, 7)
    day = (folder / "events.jsonl").read_text().splitlines()
    (folder / "events.jsonl").unlink()
    first = datetime.fromisoformat(json.loads(day[0])["ts"]).date()
    n = 0
    for d in range(args.days):
        lines = shifted(day, d)
        (folder / f"events-{(first + timedelta(days=d)):%Y%m%d}.jsonl").write_text("\n".join(lines) + "\n")
        n += len(lines)
    print(f"{n:,} events in {args.days} day files", file=sys.stderr)
    hub, base_cpu, base_wall = timed(lambda: build_hub("demo", log=True))
    assert hub.rebuilt.events == n and hub.snapshot_info is None
    hub.close()  # writes the snapshot
    snap_bytes = (folder / SNAPSHOT_FILE).stat().st_size
    nxt = shifted(day, args.days)
    half = nxt[: len(nxt) // 2]
    hub = build_hub("demo", log=True)
    for i in range(0, len(half), 2000):
        hub.submit(half[i:i + 2000], "next day")
    hub.log.close()  # killed: what it logged stays, no new snapshot
    hub._writer.release()
    again, snap_cpu, snap_wall = timed(lambda: build_hub("demo", log=True))
    assert again.snapshot_info is not None and again.rebuilt.events == len(half)
    again.close()
    print(json.dumps({
        "days": args.days, "events": n + len(half), "agents": round(66 * args.scale),
        "whole_log_replay": {"cpu_s": round(base_cpu, 2), "wall_s": round(base_wall, 2)},
        "snapshot_restart": {"cpu_s": round(snap_cpu, 2), "wall_s": round(snap_wall, 2),
                             "replayed_events": len(half), "snapshot_mb": round(snap_bytes / 1e6, 2)},
        "speedup_cpu": round(base_cpu / snap_cpu, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
