"""Mutation testing of the core modules with mutmut, one module at a time, each with its own tests and time box.

    .venv/bin/python tools/mutate.py                 # every module below (slow: `make mutate`)
    .venv/bin/python tools/mutate.py validator tokens --box 600

Each module runs in a scratch copy of the repository (``build/mutate/<name>``), so the working tree is never
touched while mutants run: mutmut copies ``src/`` into ``mutants/`` there, mutates only the module's file(s) and
runs only the tests selected for it (tests that do not reach a mutated function are skipped by mutmut itself).
Runs are ``nice -n 10`` with one worker (``--children N`` for more) and stop after ``--box`` seconds; what was
not reached is counted as "not checked". The survivors of each module are printed with their diffs (``mutmut
show``) and summed up in ``build/mutate/report.md``; docs/testing.md records the latest figures. Each run also
writes every verdict to ``tools/mutation-results/<module>.json`` (committed), from which ``--resume`` goes on in a
fresh clone.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "mutate"
# mutmut's verdicts per mutant and the source hash of each mutated function, kept in the repository: `--resume` in
# a fresh clone (whose build/ is empty) goes on from them instead of starting over; mutmut itself re-checks a
# function whose source changed (its hash differs). A run without --resume starts over.
RESULTS = REPO / "tools" / "mutation-results"
TIMEOUT_MULTIPLIER = 5
# name: (files to mutate, tests that check them)
MODULES: dict[str, tuple[list[str], list[str]]] = {
    # queueing: the three files take ~12 s together; test_queueing_mutants.py holds the tests against survivors
    "queueing": (["src/callops/wfm/queueing.py"],
                 ["tests/wfm/test_queueing.py", "tests/wfm/test_queueing_mutants.py",
                  "tests/wfm/test_queueing_numpy.py"]),
    # tenancy: only the in-memory tests (about 3 s in all); test_tenancy.py loads files for every test, which
    # took a whole time box for mutmut's two passes before the first mutant
    "tenancy": (["src/callops/tenancy.py"], ["tests/test_tenancy_exact.py"]),
    # a selection: these modules' whole test files load data in every test, too slow to run once per mutant
    "transform": (["src/callops/ingest/transform.py"],
                  ["tests/ingest/test_empty_values.py::test_the_full_parser_trims_what_python_strips"]
                  + [f"tests/ingest/test_mappings.py::test_{t}" for t in (
                      "numbers_are_plain", "plain_shortcut_equals_the_full_parser", "clock_round_trip",
                      "clock_refuses_bad_times", "yymmdd_dates", "iso8601_with_offsets",
                      "naive_timestamps_known_values", "epoch_seconds")]
                  + ["tests/ingest/test_transform_mutants.py"]),  # build_query on in-memory rows, no file loads
    "alerts": (["src/callops/realtime/alerts.py"],
               ["tests/realtime/test_alerts.py", "tests/realtime/test_alert_options.py",
                "tests/realtime/test_alert_mutants.py"]),
    "plans": (["src/callops/realtime/plans.py"],
              ["tests/realtime/test_playbook_rules.py",
               "tests/realtime/test_plan_sizing.py::test_trim_keeps_the_first_count_of_agents_that_reaches_the_target",
               "tests/realtime/test_plan_mutants.py"]),
    "tokens": (["src/callops/store/tokens.py", "src/callops/store/users.py"],
               ["tests/store/test_users_tokens.py", "tests/store/test_constant_time.py"]),
    # the validator's file without the two scheduler runs (5-6 s each, 20 s under load, and they reach every
    # function): they check the scheduler's objective; the score itself has hand-worked tests in the same file
    "validator": (["src/callops/wfm/schedule_validator.py"],
                  ["tests/wfm/test_schedule_validator.py", "--deselect",
                   "tests/wfm/test_schedule_validator.py::test_reported_objective_matches_an_independent_recount"]),
    # test_metrics_parameters.py (about 20 s) would kill more, but reaches every mutant: a 10-minute box then
    # checks only ~30 of the 435
    "compiler": (["src/callops/metrics/compiler.py"],
                 ["tests/metrics/test_metrics_sql.py", "tests/metrics/test_filtered_aggregations.py",
                  "tests/metrics/test_compiler_mutants.py"]),
    # the knowledge re-ranker: features, folded weights, search order, labels from events, the held-out check
    "rerank": (["src/callops/knowledge/rerank.py", "src/callops/knowledge/training.py"],
               ["tests/knowledge/test_rerank.py"]),
}


def _cfg_list(items: list[str]) -> str:
    return "\n".join(f"    {x}" for x in items)


def prepare(name: str, resume: bool = False) -> Path:
    """A scratch copy of src/, tests/ and pyproject.toml with a mutmut config for module ``name``.

    With ``resume``, an earlier copy's mutmut results (``mutants/``, ``mutmut-stats.json``) are kept and only the
    sources and tests are refreshed: mutmut then runs just the mutants without a result (and re-runs those of
    functions whose source changed)."""
    files, tests = MODULES[name]
    work = OUT / name
    keep = resume and (work / "mutants").is_dir()
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    if resume and not keep:
        seed_results(name, work)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    shutil.copytree(REPO / "src", work / "src", ignore=ignore, dirs_exist_ok=keep)
    shutil.copytree(REPO / "tests", work / "tests", ignore=ignore, dirs_exist_ok=keep)
    shutil.copy2(REPO / "pyproject.toml", work / "pyproject.toml")
    # setup.cfg wins over pyproject.toml for mutmut; the copy of pyproject.toml has no [tool.mutmut]
    (work / "setup.cfg").write_text(
        "[mutmut]\nsource_paths = src/\n"
        f"only_mutate =\n{_cfg_list(files)}\n"
        f"pytest_add_cli_args_test_selection =\n{_cfg_list(tests)}\n"
        "pytest_add_cli_args =\n    -p\n    no:cacheprovider\n    -q\n"
        # a mutant whose tests run past 5x their clean time (an endless series or loop) is a timeout, which counts
        # as caught; mutmut's default 15x spent minutes of a box on each of them in the numeric internals
        f"timeout_multiplier = {TIMEOUT_MULTIPLIER}\n",
        encoding="utf-8",
    )
    return work


def save_results(name: str, work: Path) -> Path | None:
    """Write module ``name``'s verdicts (exit code per mutant) and function hashes from ``work`` to
    ``tools/mutation-results/<name>.json`` (what :func:`seed_results` gives a fresh scratch copy)."""
    metas = sorted((work / "mutants").rglob("*.py.meta"))
    if not metas:
        return None
    out = {}
    for meta in metas:
        data = json.loads(meta.read_text())
        out[str(meta.relative_to(work / "mutants"))] = {"hash_by_function_name": data.get("hash_by_function_name", {}),
                                                        "exit_code_by_key": data["exit_code_by_key"]}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return path


def seed_results(name: str, work: Path) -> int:
    """Put the kept verdicts of module ``name`` where mutmut reads its own (``mutants/<file>.meta``) in a new
    scratch copy; mutmut keeps each verdict whose function's source hash is unchanged. The verdicts seeded."""
    saved = RESULTS / f"{name}.json"
    if not saved.exists():
        return 0
    n = 0
    for rel, data in json.loads(saved.read_text()).items():
        meta = work / "mutants" / rel
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": data["exit_code_by_key"],
                                    "hash_by_function_name": data["hash_by_function_name"],
                                    "type_check_error_by_key": {}, "durations_by_key": {},
                                    "estimated_durations_by_key": {}}), encoding="utf-8")  # fmt: skip
        n += sum(v is not None for v in data["exit_code_by_key"].values())
    return n


def counts(work: Path) -> Counter[str]:
    """Mutants by outcome, from mutmut's per-file results (written as the run goes)."""
    from mutmut.stats import status_by_exit_code

    out: Counter[str] = Counter()
    for meta in (work / "mutants").rglob("*.py.meta"):
        for code in json.loads(meta.read_text())["exit_code_by_key"].values():
            out[status_by_exit_code[code]] += 1
    return out


def survivors(work: Path) -> dict[str, str]:
    """The surviving mutants: name -> the source file it mutates (relative to ``work``)."""
    from mutmut.stats import status_by_exit_code

    names = {}
    for meta in (work / "mutants").rglob("*.py.meta"):
        source = str(meta.relative_to(work / "mutants"))[: -len(".meta")]
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if status_by_exit_code[code] == "survived":
                names[key] = source
    return dict(sorted(names.items()))


# Prints {name: diff} for the (name, path) pairs on stdin: one process for all survivors, where `mutmut show`
# would start (and read the whole mutated file) once per survivor -- ten seconds each on a loaded machine.
_DIFFS = (
    "import json, sys\n"
    "from mutmut.mutation.diff_apply import get_diff_for_mutant\n"
    "print(json.dumps({k: get_diff_for_mutant(k, path=p) for k, p in json.load(sys.stdin)}))\n"
)


def diffs(work: Path, names: dict[str, str]) -> dict[str, str]:
    """The diff of each mutant of ``names`` (name -> source path), read from ``work/mutants``."""
    if not names:
        return {}
    shown = subprocess.run([sys.executable, "-c", _DIFFS], cwd=work, input=json.dumps(list(names.items())),
                           capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(shown.stdout)


def run(name: str, box: int, resume: bool = False, mutants: tuple[str, ...] = (), children: int = 1) -> dict:
    """Run mutmut on module ``name`` for at most ``box`` seconds; a summary with the survivors' diffs.

    ``resume`` continues an earlier run's scratch copy; ``mutants`` (names or globs such as
    ``callops.realtime.alerts.x__counter__mutmut_*``) re-runs just those, decided or not; ``children`` mutants
    run at once (1 by default: the machine is shared)."""
    work = prepare(name, resume=resume or bool(mutants))
    mutmut = Path(sys.executable).with_name("mutmut")
    env_home = work / "home"
    t0 = time.monotonic()
    with (work / "run.log").open("a") as log:
        proc = subprocess.run(
            ["nice", "-n", "10", "timeout", str(box), str(mutmut), "run", "--max-children", str(children), *mutants],
            cwd=work, stdout=log, stderr=subprocess.STDOUT, check=False,
            env={**_env(), "CALLOPS_HOME": str(env_home)},
        )  # fmt: skip
    seconds = round(time.monotonic() - t0)
    save_results(name, work)
    return summary(name, work, seconds, proc.returncode == 124)


def summary(name: str, work: Path, seconds: int, timed_out: bool) -> dict:
    """What a run of module ``name`` in ``work`` found (also for a run that was stopped: counts are written as
    mutants run)."""
    found = {"counts": dict(counts(work)), "survivors": diffs(work, survivors(work))}
    return {"module": name, "files": MODULES[name][0], "tests": MODULES[name][1], "seconds": seconds,
            "timed_out": timed_out, **found}  # fmt: skip


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("CALLOPS_WAREHOUSE", None)
    return env


def report(results: list[dict]) -> str:
    """Markdown: one row per module, then each survivor's diff."""
    lines = ["| module | mutants | killed | survived | not checked | other | seconds |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        c = Counter(r["counts"])
        other = sum(v for k, v in c.items() if k not in ("killed", "survived", "not checked"))
        lines.append(f"| {r['module']} | {sum(c.values())} | {c['killed']} | {c['survived']} | {c['not checked']} "
                     f"| {other} | {r['seconds']}{' (time box)' if r['timed_out'] else ''} |")  # fmt: skip
    for r in results:
        for key, diff in r["survivors"].items():
            lines += ["", f"### {key}", "", "```diff", diff.strip(), "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Parse the arguments and run the chosen modules one after the other."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modules", nargs="*", default=[], metavar="MODULE",
                    help=f"modules to run (default: all): {', '.join(MODULES)}")  # fmt: skip
    ap.add_argument("--box", type=int, default=900, help="seconds at most per module (default 900)")
    ap.add_argument("--resume", action="store_true",
                    help="keep build/mutate/<module>'s results (or, in a fresh clone, tools/mutation-results/) "
                         "and run only the mutants not yet checked")  # fmt: skip
    ap.add_argument("--mutants", nargs="+", default=[], metavar="NAME",
                    help="re-run just these mutants (names or globs; implies --resume; one module)")  # fmt: skip
    ap.add_argument("--children", type=int, default=1, choices=range(1, 17), metavar="N",
                    help="mutants tested at once (default 1; an idle machine: its cores)")  # fmt: skip
    args = ap.parse_args()
    if args.mutants and len(args.modules) != 1:
        ap.error("--mutants needs exactly one module")
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        ap.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    results = []
    for name in args.modules or list(MODULES):
        print(f"mutating {name} ...", file=sys.stderr, flush=True)
        r = run(name, args.box, resume=args.resume, mutants=tuple(args.mutants), children=args.children)
        results.append(r)
        (OUT / f"report-{name}.md").write_text(report([r]), encoding="utf-8")  # kept when the next module runs
        print(f"  {name}: {r['counts']} in {r['seconds']} s", file=sys.stderr, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    text = report(results)
    (OUT / "report.md").write_text(text, encoding="utf-8")
    (OUT / "report.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
