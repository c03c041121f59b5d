"""CLI start-up time: `callops --help` and `callops queue erlang-c …` against `python -c pass` in the same run.

    .venv/bin/python bench/cli_startup.py [--runs 7] [--importtime]

Prints the median wall time of each command over ``--runs`` fresh processes, the ratio to the bare interpreter,
and, with ``--importtime``, the ten largest cumulative imports of each command (``python -X importtime``).
The target (issue 18) is under 0.5 s each.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

from _common import CALLOPS

ERLANG_C = ["queue", "erlang-c", "--calls", "100", "--interval", "1800", "--aht", "180", "--threshold", "20",
            "--agents", "12", "--json"]
COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "callops --help": [CALLOPS, "--help"],
    "callops queue erlang-c": [CALLOPS, *ERLANG_C],
}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _time(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``runs`` fresh runs of ``cmd`` (one warm-up run first, for the file cache).

    CPU time hardly depends on how loaded the machine is; on an idle core wall ≈ CPU."""
    subprocess.run(cmd, capture_output=True, check=True)
    walls, cpus = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), _cpu()
        subprocess.run(cmd, capture_output=True, check=True)
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    return statistics.median(walls), statistics.median(cpus)


def top_imports(args: list[str], n: int = 10) -> list[tuple[int, str]]:
    """The ``n`` largest cumulative import times (µs, module) of ``callops ARGS``, from ``-X importtime``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", CALLOPS, *args], capture_output=True, text=True,
                          check=True)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    """Time each command, print seconds and ratios to the baseline (and the top imports when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--importtime", action="store_true", help="Also print the largest imports of each.")
    args = parser.parse_args()
    base = None
    for label, cmd in COMMANDS.items():
        seconds, cpu = _time(cmd, args.runs)
        base = base or seconds
        verdict = "" if base == seconds else ("  (< 0.5 s)" if seconds < 0.5 else "  (over 0.5 s)")
        print(f"{label:28s} wall {seconds:6.3f} s  {seconds / base:6.1f}× baseline{verdict};  CPU {cpu:6.3f} s")
    if args.importtime:
        for label, cmd_args in (("callops --help", ["--help"]), ("callops queue erlang-c", ERLANG_C)):
            print(f"\nlargest cumulative imports, {label} (µs):")
            for us, name in top_imports(cmd_args):
                print(f"  {us:9,d}  {name}")


if __name__ == "__main__":
    main()
