"""Helpers shared by the benchmark scripts: timing a CLI run and its peak memory."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CALLOPS = str(Path(sys.executable).with_name("callops"))
SHARED_DATA = ROOT.parent / "shared" / "data"


def run_cli(args: list[str], home: Path) -> tuple[float, dict | None, float]:
    """Run ``callops ARGS`` with CALLOPS_HOME=home; return (seconds, JSON output or None, peak RSS MiB).

    The peak RSS is the largest of all child processes so far, so call this once per fresh script
    for the figure that matters, or read it after the run that uses the most memory.
    """
    env = {**os.environ, "CALLOPS_HOME": str(home)}
    t0 = time.perf_counter()
    proc = subprocess.run([CALLOPS, *args], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"callops {' '.join(args)} failed:\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        data = None
    return seconds, data, peak
