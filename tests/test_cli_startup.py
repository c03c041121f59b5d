"""`callops --help` and `callops queue erlang-c` import only what they need (issue 18, part 5).

Each command runs in a fresh interpreter that then reports which modules were imported: a check on the import
graph, not on time (the machine is shared; bench/cli_startup.py measures the time).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
import typer
import typer.main

from callops.cli import LAZY_COMMANDS, LAZY_HELP

# Heavy libraries that no start-up path may pull in (pydantic is Typer's own: it parses options with it).
HEAVY = ("pandas", "duckdb", "ibis", "pyarrow", "scipy", "sqlalchemy", "fastapi", "ortools", "sqlglot", "nicegui")

PROBE = """
import io, json, sys, contextlib
sys.argv = ["callops", *json.loads(sys.argv[1])]
from callops.cli import main
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
print(json.dumps({"code": code, "out": buf.getvalue(), "modules": sorted(sys.modules)}))
"""


def _probe(args: list[str]) -> dict:
    """Run ``callops ARGS`` in a fresh interpreter; its exit code, stdout and every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, check=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _heavy(modules: list[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


def test_help_imports_no_command_module_and_no_heavy_library() -> None:
    """`callops --help` lists every command with its help line, importing none of the command modules."""
    got = _probe(["--help"])
    assert got["code"] == 0
    assert _heavy(got["modules"]) == []
    command_modules = {module for module, _ in LAZY_COMMANDS.values()}
    assert command_modules.isdisjoint(got["modules"])
    for name in LAZY_COMMANDS:
        assert f" {name} " in got["out"], name
    for text in LAZY_HELP.values():  # the first words of each help line are shown
        assert " ".join(text.split()[:2]) in got["out"], text


def test_erlang_c_imports_no_heavy_library() -> None:
    """`callops queue erlang-c` needs numpy and the queueing module only: no scipy, pandas, DuckDB, Ibis."""
    args = ["queue", "erlang-c", "--calls", "100", "--interval", "1800", "--aht", "180", "--threshold", "20",
            "--agents", "12", "--json"]
    got = _probe(args)
    assert got["code"] == 0
    assert _heavy(got["modules"]) == []
    result = json.loads(got["out"])
    # 10 Erlangs on 12 agents: P(wait) = 0.449388224298… (the textbook Erlang C value)
    assert result["p_wait"] == pytest.approx(0.44938822429827, rel=1e-12)


def test_lazy_help_matches_each_command() -> None:
    """Every lazy command has a help line in LAZY_HELP, and it is the command's own (first) help line."""
    missing = sorted(set(LAZY_COMMANDS) - set(LAZY_HELP))
    assert not missing, f"add a line to callops.cli.LAZY_HELP for: {', '.join(missing)}"
    for name, (module, attr) in LAZY_COMMANDS.items():
        target = getattr(importlib.import_module(module), attr)
        if isinstance(target, typer.Typer):
            cmd = typer.main.get_group(target)
        else:
            single = typer.Typer()
            single.command(name)(target)
            cmd = typer.main.get_command(single)
        assert cmd.get_short_help_str(1000) == LAZY_HELP[name], name


def test_mistyped_command_still_suggests_lazy_ones() -> None:
    """Help listing by LAZY_HELP does not change the "Did you mean" suggestion for a lazy command."""
    proc = subprocess.run(
        [sys.executable, "-c", "from callops.cli import main; import sys; sys.argv=['callops','qeue']; main()"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode != 0
    assert "queue" in proc.stderr
