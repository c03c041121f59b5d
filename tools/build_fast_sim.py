"""Compile the simulation engine with mypyc into ``src/callops/sim/_engine_c*.so`` (issue 18).

The pure-Python engine (:mod:`callops.sim.engine`) is the source: this script copies it as ``_engine_c.py`` with
the SHA-256 of the source appended (``SOURCE_SHA256``), compiles the copy with mypyc (``--follow-imports=skip``:
everything the engine imports stays interpreted) and puts the extension next to the source.
:func:`callops.sim.engine.compiled_engine` uses it only while that hash matches the source, so an edited
engine falls back to pure Python until this script runs again (``make`` does, when ``engine.py`` changes).

Nothing depends on the build: when mypy or a C compiler is missing, the script says so on one line and exits 1,
and the engine runs in pure Python with identical results (``tests/sim/test_sim_compiled.py``).

Usage: ``python tools/build_fast_sim.py [--check]`` (``--check``: only say whether the built engine is current).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "src" / "callops" / "sim"
SOURCE = SIM / "engine.py"
NAME = "_engine_c"


def _suffix() -> str:
    return sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def current() -> bool:
    """Whether the extension next to the source was built from the source as it is now."""
    target = SIM / f"{NAME}{_suffix()}"
    if not target.exists():
        return False
    sha = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    return sha.encode() in target.read_bytes()


def build() -> Path:
    """Compile the engine; returns the extension's path (raises RuntimeError with mypyc's output on failure)."""
    sha = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    with tempfile.TemporaryDirectory(prefix="callops-fast-sim-") as tmp:
        work = Path(tmp)
        text = SOURCE.read_text(encoding="utf-8")
        text += f'\n\nSOURCE_SHA256: Final = "{sha}"  # added by tools/build_fast_sim.py\n'
        (work / f"{NAME}.py").write_text(text, encoding="utf-8")
        cmd = [sys.executable, "-m", "mypyc", "--follow-imports=skip", "--ignore-missing-imports", f"{NAME}.py"]
        run = subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=False)
        built = sorted(work.glob(f"{NAME}*{_suffix()}"))
        if run.returncode != 0 or not built:
            raise RuntimeError((run.stdout + run.stderr).strip()[-2000:] or "mypyc produced no extension")
        target = SIM / built[0].name
        # copy beside the target, then rename over it: a process that has the old extension loaded keeps its
        # (unlinked) file; overwriting it in place crashed such processes (a segfault in a test run beside a rebuild)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(built[0], partial)
        partial.replace(target)
        return target


def main() -> int:
    """Build (or with ``--check`` only report) the compiled engine; one line of output."""
    if "--check" in sys.argv[1:]:
        ok = current()
        print("compiled engine: current" if ok else "compiled engine: missing or stale (pure Python is used)")
        return 0 if ok else 1
    try:
        import mypyc  # noqa: F401  # the compiler comes with mypy (dev extra)
    except ImportError:
        print("compiled engine not built: mypy/mypyc is not installed (the pure-Python engine is used)")
        return 1
    try:
        target = build()
    except (RuntimeError, OSError) as e:
        last = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        print(f"compiled engine not built ({last}); the pure-Python engine is used")
        return 1
    print(f"compiled engine built: {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
