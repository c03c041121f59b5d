"""Run the console's browser test modules, each in a pytest process of its own, two at a time.

NiceGUI keeps one global app per process (its middleware and page routes are set when the first console is
served), so two modules that each serve a console cannot share a process. ``make test`` runs the rest of the
suite with ``-m "not console"`` and then this script; it prints every module's output and a closing
``console: N passed, N failed`` line, and exits non-zero when any module failed.

Usage: ``python tools/console_tests.py [PYTEST_ARGS...]`` (extra arguments go to every pytest run).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2
COUNTS = ("passed", "failed", "errors", "error", "skipped", "xfailed", "xpassed")


def console_modules() -> list[str]:
    """The test files that carry the ``console`` marker."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "console", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    files = {line.split("::", 1)[0] for line in out.stdout.splitlines() if "::" in line}
    if out.returncode not in (0, 5) or not files:
        sys.exit(f"could not collect the console tests:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return sorted(files)


def run_module(path: str, extra: list[str]) -> tuple[str, int, str, float]:
    """Run one module's tests in its own pytest process: (path, exit code, output, seconds).

    A process that reported a clean result and then aborted while the interpreter shut down (SIGABRT from a
    native thread still closing; seen now and then as "FATAL: exception not rethrown") is run once more, and
    the output says so; a second abort counts as a failure.
    """
    started = time.monotonic()
    output = ""
    for attempt in (1, 2):
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", path, "-q", "-p", "no:cacheprovider", *extra],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )
        output += proc.stdout + proc.stderr
        clean = not {"failed", "errors"} & set(summary_counts(proc.stdout))
        if proc.returncode in (-6, 134) and clean and attempt == 1:
            output += f"\n[{path}: aborted at interpreter exit after a clean run; running it once more]\n"
            continue
        break
    return path, proc.returncode, output, time.monotonic() - started


def summary_counts(output: str) -> dict[str, int]:
    """The counts of pytest's closing line (``3 passed, 1 failed in 12.3s``)."""
    lines = [x for x in output.splitlines() if re.search(r"\d+ (passed|failed|error|skipped)", x)]
    counts: dict[str, int] = {}
    for n, word in re.findall(r"(\d+) (\w+)", lines[-1] if lines else ""):
        if word in COUNTS:
            key = "errors" if word == "error" else word
            counts[key] = counts.get(key, 0) + int(n)
    return counts


def main(argv: list[str]) -> int:
    """Run every console module; print their outputs and one closing line of totals."""
    modules = console_modules()
    totals: dict[str, int] = {}
    bad = []
    with ThreadPoolExecutor(WORKERS) as pool:
        for path, code, output, seconds in pool.map(lambda m: run_module(m, argv), modules):
            counts = summary_counts(output)
            print(f"==== {path} ({seconds:.0f} s): {counts or 'no summary'}", flush=True)
            if code != 0 or not counts:
                bad.append(path)
                print(output[-20000:], flush=True)
            for key, n in counts.items():
                totals[key] = totals.get(key, 0) + n
    failed = totals.get("failed", 0) + totals.get("errors", 0)
    if bad and not failed:  # a module that crashed before pytest could count anything
        failed = len(bad)
    extras = "".join(f", {totals[k]} {k}" for k in ("skipped", "xfailed", "xpassed") if totals.get(k))
    print(f"console: {totals.get('passed', 0)} passed, {failed} failed{extras}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
