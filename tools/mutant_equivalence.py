"""Brute-force check of surviving queueing mutants: does the mutant change any public figure on a wide grid?

    .venv/bin/python tools/mutant_equivalence.py [NAME ...] [--json]

Run after ``tools/mutate.py queueing`` (it reads ``build/mutate/queueing/mutants``). For each surviving mutant (or
the names given), the mutated module is imported from that scratch copy and a battery of public calls -- Erlang B,
C and A figures, chat figures, and staffing for SL, ASA, abandon and occupancy targets, integer and fractional,
over grids from a fraction of an Erlang to thousands of agents, every service-level definition -- is evaluated with
mutmut's trampoline switched to the mutant (``MUTANT_UNDER_TEST``) and to the original. A mutant is reported
**differs** with the first figure and input where the two disagree by more than ``1e-9`` relative (NaN and None
must match exactly, and an exception on one side only is a difference), else **same on the battery** with the
largest relative difference seen. "Same" is evidence for an equivalent mutant (docs/testing.md cites it), not
proof: the battery is finite; "differs" marks a gap for a test against independent values.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "build" / "mutate" / "queueing"
TOL = 1e-9
LIMIT_S = 20  # per call of the battery (the original's slowest call takes well under a second)
DEFINITIONS = ("offered", "answered", "short-abandons-excluded")


def _grid() -> dict[str, np.ndarray]:
    """Calls per half hour from 0 to 30,000 with the agents around each offered load (under, at and over it)."""
    rng = np.random.default_rng(2024)
    calls = np.concatenate([[0.0, 0.3, 1, 2, 5, 12, 40, 100, 333, 1000, 4000, 12000, 30000],
                            rng.uniform(0, 500, 24)])  # fmt: skip
    aht = np.concatenate([[180.0, 300.0, 30.0, 600.0, 240.0, 420.0, 90.0, 1200.0, 200.0, 310.0, 270.0, 480.0, 150.0],
                          rng.uniform(60, 900, 24)])  # fmt: skip
    load = calls * aht / 1800.0
    agents = np.concatenate([np.floor(load * f) + k for f in (0.6, 1.0, 1.2) for k in (0, 1, 3)])
    reps = len(agents) // len(calls)
    return {"calls": np.tile(calls, reps), "aht": np.tile(aht, reps), "agents": agents,
            "patience": np.tile(np.concatenate([[60.0, 180.0, 5.0, 1e4, 30.0], rng.uniform(10, 600, 32)]), reps)[
                : len(agents)]}  # fmt: skip


def _battery(q: Any) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(label, call) pairs over the public API of module ``q``."""
    g = _grid()
    c, n, h, p = g["agents"], g["calls"], g["aht"], g["patience"]
    yield "erlang_b", lambda: q.erlang_b(c, n * h / 1800)
    yield "erlang_c", lambda: q.erlang_c(c, n * h / 1800)
    yield "erlang_b fractional", lambda: q.erlang_b(c + 0.37, n * h / 1800)
    for t in (0.0, 20.0, 60.0):
        for d in ("offered", "answered"):
            yield f"erlang_b_metrics t={t} {d}", lambda t=t, d=d: q.erlang_b_metrics(n, 1800, h, c, t, d)
            yield f"erlang_c_metrics t={t} {d}", lambda t=t, d=d: q.erlang_c_metrics(n, 1800, h, c, t, d)
        for d in DEFINITIONS:
            yield f"erlang_a_metrics t={t} {d}", lambda t=t, d=d: q.erlang_a_metrics(n, 1800, h, c, p, t, d)
            yield f"erlang_a_metrics equal rates t={t} {d}", lambda t=t, d=d: q.erlang_a_metrics(n, 1800, h, c, h, t, d)
            yield (f"chat_metrics t={t} {d}",
                   lambda t=t, d=d: q.chat_metrics(n, 1800, h, np.ceil(c / 2), 3, 0.2, t, p, d))  # fmt: skip
        yield f"chat_metrics no patience t={t}", lambda t=t: q.chat_metrics(n, 1800, h, np.ceil(c / 2), 2, 0.1, t)
    yield "erlang_a_metrics big", lambda: q.erlang_a_metrics(30000, 1800, 300, np.arange(4900, 5100), 120, 20)
    yield "erlang_a_metrics scalar", lambda: q.erlang_a_metrics(100, 1800, 300, 17, 90, 20, "answered")
    yield "erlang_a_metrics infinite patience", lambda: q.erlang_a_metrics(n, 1800, h, c, np.inf, 20)
    nn, hh = n[:37], h[:37]
    for model, extra in (("erlang-c", {}), ("erlang-a", {"patience_s": 120.0}), ("chat", {"concurrency": 2})):
        yield (f"required_agents {model} sl",
               lambda m=model, e=extra: q.required_agents(m, calls=nn, interval_s=1800, aht_s=hh, target_sl=0.8,
                                                          **e))  # fmt: skip
        yield (f"required_agents {model} asa",
               lambda m=model, e=extra: q.required_agents(m, calls=nn, interval_s=1800, aht_s=hh, target_asa_s=15,
                                                          max_occupancy=0.85, shrinkage=0.3, **e))  # fmt: skip
    yield ("required_agents erlang-a abandon",
           lambda: q.required_agents("erlang-a", calls=nn, interval_s=1800, aht_s=hh, target_abandon=0.05,
                                     patience_s=90.0, sl_definition="short-abandons-excluded"))  # fmt: skip
    for model, extra in (("erlang-c", {}), ("erlang-a", {"patience_s": 60.0})):
        yield (f"required_agents {model} fractional",
               lambda m=model, e=extra: q.required_agents(m, calls=nn, interval_s=1800, aht_s=hh, target_sl=0.9,
                                                          fractional=True, **e))  # fmt: skip


def _flat(v: Any) -> list[Any]:
    if hasattr(v, "to_dict"):
        out: list[Any] = []
        for key, x in sorted(v.to_dict().items()):
            out += [key, *_flat(x)]
        return out
    if isinstance(v, dict):
        return [x for k in sorted(v) for x in [k, *_flat(v[k])]]
    if isinstance(v, (list, tuple)):
        return [x for item in v for x in _flat(item)]
    if isinstance(v, np.ndarray):
        return _flat(v.tolist())
    return [v]


def _compare(a: list[Any], b: list[Any]) -> tuple[float, str | None]:
    """The largest relative difference, and the first difference beyond TOL (None if none)."""
    if len(a) != len(b):
        return math.inf, f"lengths {len(a)} vs {len(b)}"
    worst = 0.0
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if isinstance(x, float) and isinstance(y, float):
            if math.isnan(x) or math.isnan(y) or math.isinf(x) or math.isinf(y):
                if not (x == y or (math.isnan(x) and math.isnan(y))):
                    return math.inf, f"item {i}: {x!r} vs {y!r}"
                continue
            rel = abs(x - y) / max(1.0, abs(x), abs(y))
            worst = max(worst, rel)
            if rel > TOL:
                return rel, f"item {i}: {x!r} vs {y!r}"
        elif x != y:
            return math.inf, f"item {i}: {x!r} vs {y!r}"
    return worst, None


class _TooLong(BaseException):
    """Raised by the alarm: a call of the battery ran past LIMIT_S (BaseException: `_run` must not catch it)."""


def _too_long(signum: int, frame: Any) -> None:
    raise _TooLong


def _run(q: Any, label: str, call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", _flat(call())
    except Exception as exc:  # an exception on one side only is a difference
        return "error", f"{type(exc).__name__}: {str(exc)[:120]}"


def check(names: list[str]) -> dict[str, dict[str, Any]]:
    """Each mutant: ``same`` (bool), the worst relative difference, and where it first differs."""
    sys.path.insert(0, str(WORK / "mutants" / "src"))
    os.chdir(WORK / "mutants")  # mutmut's trampolines read their stats paths relative to here
    q = importlib.import_module("callops.wfm.queueing")
    assert "mutants" in (q.__file__ or ""), q.__file__
    battery = list(_battery(q))
    os.environ["MUTANT_UNDER_TEST"] = ""
    reference = {label: _run(q, label, call) for label, call in battery}
    out = {}
    signal.signal(signal.SIGALRM, _too_long)
    for name in names:
        os.environ["MUTANT_UNDER_TEST"] = name
        worst, where = 0.0, None
        for label, call in battery:
            signal.alarm(LIMIT_S)  # a mutant that makes a series or a search run on (the loops are Python-level)
            try:
                got = _run(q, label, call)
            except _TooLong:
                got = ("error", f"still running after {LIMIT_S} s")
            finally:
                signal.alarm(0)
            ref = reference[label]
            if got[0] != ref[0] or (got[0] == "error" and got[1] != ref[1]):
                worst, where = math.inf, f"{label}: {ref[1] if ref[0] == 'error' else 'ok'} vs {got[1]}"
                break
            if got[0] == "ok":
                rel, diff = _compare(ref[1], got[1])
                worst = max(worst, rel)
                if diff is not None:
                    where = f"{label}: {diff}"
                    break
        out[name] = {"same": where is None, "worst_rel": worst, "where": where}
        os.environ["MUTANT_UNDER_TEST"] = ""
    return out


def main() -> None:
    """Check the given mutants, or every queueing survivor."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="mutant names (default: every survivor in build/mutate/queueing)")
    ap.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = ap.parse_args()
    names = args.names
    if not names:
        sys.path.insert(0, str(REPO / "tools"))
        import mutate

        names = list(mutate.survivors(WORK))
    result = check(names)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    for name, r in result.items():
        short = name.replace("callops.wfm.queueing.", "")
        print(f"{'same   ' if r['same'] else 'DIFFERS'} {short:<45} worst {r['worst_rel']:.1e} {r['where'] or ''}")


if __name__ == "__main__":
    main()
