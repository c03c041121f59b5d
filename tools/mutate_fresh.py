"""Re-check mutants of functions that run at import time, each with the package imported afresh.

mutmut's workers are forked from a process that has already imported the package, so a mutant of a function that
runs only at import (``alerts._scope_measures`` building ``SCOPE_MEASURES``) is never switched on and "survives".
This script forks one child per mutant from a process that has imported pytest and the heavy dependencies but not
``callops``; the child sets ``MUTANT_UNDER_TEST`` and runs the given tests, importing the mutated package from the
scratch copy. It runs the unmutated code first (it must pass).

    cd build/mutate/alerts && ../../../.venv/bin/python ../../../tools/mutate_fresh.py \\
        tests/realtime/test_alerts.py tests/realtime/test_alert_mutants.py -- callops.realtime.alerts.x__ratio__mutmut_1
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:
    """Run each mutant named after ``--`` against the tests named before it; print killed/survived per mutant."""
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit("usage: mutate_fresh.py TEST... -- MUTANT...")
    cut = args.index("--")
    tests, names = args[:cut], args[cut + 1 :]
    work = Path.cwd()
    src = (work / "mutants" / "src").resolve()
    if not src.is_dir():
        sys.exit(f"{work} has no mutants/src: run tools/mutate.py for the module first")
    os.chdir(work / "mutants")
    sys.path[:] = [str(src)] + [p for p in sys.path if not Path(p, "callops").is_dir()]
    import hypothesis  # noqa: F401  -- warm the heavy dependencies, never callops
    import numpy  # noqa: F401
    import pytest

    if any(m == "callops" or m.startswith("callops.") for m in sys.modules):
        sys.exit("callops was imported before the fork")
    for name in ["original", *names]:
        pid = os.fork()
        if pid == 0:
            os.environ["MUTANT_UNDER_TEST"] = "" if name == "original" else name
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests]))
            import callops

            os._exit(code if Path(callops.__file__).resolve().is_relative_to(src) else 99)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        print({0: "survived", 1: "killed"}.get(code, f"exit {code}"), name, flush=True)


if __name__ == "__main__":
    main()
