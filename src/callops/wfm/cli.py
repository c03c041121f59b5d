"""``callops queue …``: the Erlang calculator and staffing command (Typer app ``queue_app``, mounted by the lead)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from callops.errors import CallopsError
from callops.wfm import queueing

queue_app = typer.Typer(
    help="Erlang B/C/A calculator and agent requirements.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

out = Console()

Calls = Annotated[float, typer.Option("--calls", help="Offered calls (or chats) in the interval.")]
Interval = Annotated[float, typer.Option("--interval", help="Interval length in seconds, e.g. 1800.")]
Aht = Annotated[float, typer.Option("--aht", help="Average handle time in seconds.")]
Threshold = Annotated[float, typer.Option("--threshold", help="Service-level threshold T in seconds.")]
Patience = Annotated[float | None, typer.Option("--patience", help="Mean caller patience in seconds (Erlang A).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print only JSON.")]
SlDef = Annotated[
    str, typer.Option("--sl-definition", help="offered | answered+abandoned | answered | short-abandons-excluded.")
]


class StaffModel(StrEnum):
    """Queueing models that can size a team."""

    erlang_c = "erlang-c"
    erlang_a = "erlang-a"


_LABELS = {
    "traffic_erlangs": "offered load (Erlangs)",
    "agents": "agents",
    "staff": "staff incl. shrinkage",
    "p_wait": "probability of waiting",
    "p_block": "probability of blocking",
    "service_level": "service level",
    "asa_s": "ASA (s, answered calls)",
    "mean_wait_s": "mean wait (s, all calls)",
    "abandon_rate": "abandon rate",
    "occupancy": "occupancy",
}
_PERCENT = {"p_wait", "p_block", "service_level", "abandon_rate", "occupancy"}


def _emit(m: queueing.QueueMetrics, as_json: bool, title: str, keys: list[str]) -> None:
    """Print one scenario's figures as JSON (only JSON) or as a rich table."""
    d = m.to_dict()
    if not d.get("stable", True):
        d["note"] = "unstable: agents do not exceed the offered load, the queue grows without bound"
    if as_json:
        typer.echo(json.dumps(d))
        return
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in keys:
        v: Any = d[key]
        if v is None:
            text = "∞ (unstable)" if key in ("asa_s", "mean_wait_s") and not d["stable"] else "n/a"
        elif key in _PERCENT:
            text = f"{100 * v:.2f} %"
        elif key in ("agents", "staff"):
            text = f"{v:g}"
        else:
            text = f"{v:.2f}"
        label = _LABELS[key]
        if key == "service_level":
            label = f"service level ({d['sl_definition']}, {d['threshold_s']:g} s)"
        table.add_row(label, text)
    out.print(table)
    if "note" in d:
        out.print(f"[bold red]{d['note']}[/]")


@queue_app.command("erlang-b")
def erlang_b_cmd(
    calls: Calls,
    interval: Interval,
    aht: Aht,
    agents: Annotated[float, typer.Option("--agents", help="Agents (lines); fractional allowed.")],
    threshold: Threshold = 20.0,
    as_json: AsJson = False,
) -> None:
    """Erlang B: blocked calls are lost (no queue)."""
    m = queueing.erlang_b_metrics(calls, interval, aht, agents, threshold)
    _emit(m, as_json, "Erlang B", ["traffic_erlangs", "agents", "p_block", "service_level", "occupancy"])


@queue_app.command("erlang-c")
def erlang_c_cmd(
    calls: Calls,
    interval: Interval,
    aht: Aht,
    agents: Annotated[float, typer.Option("--agents", help="Agents; fractional allowed.")],
    threshold: Threshold = 20.0,
    as_json: AsJson = False,
) -> None:
    """Erlang C: callers wait as long as it takes."""
    m = queueing.erlang_c_metrics(calls, interval, aht, agents, threshold)
    _emit(m, as_json, "Erlang C", ["traffic_erlangs", "agents", "p_wait", "service_level", "asa_s", "occupancy"])


@queue_app.command("erlang-a")
def erlang_a_cmd(
    calls: Calls,
    interval: Interval,
    aht: Aht,
    agents: Annotated[float, typer.Option("--agents", help="Agents; fractional allowed.")],
    threshold: Threshold = 20.0,
    patience: Patience = None,
    sl_definition: SlDef = "offered",
    as_json: AsJson = False,
) -> None:
    """Erlang A: callers hang up after an exponential patience (M/M/c+M)."""
    if patience is None:
        raise CallopsError("erlang-a needs --patience SECONDS (mean time callers wait before hanging up)")
    m = queueing.erlang_a_metrics(calls, interval, aht, agents, patience, threshold, sl_definition)
    _emit(
        m,
        as_json,
        "Erlang A",
        ["traffic_erlangs", "agents", "p_wait", "service_level", "asa_s", "mean_wait_s", "abandon_rate", "occupancy"],
    )


@queue_app.command("staff")
def staff_cmd(
    calls: Calls,
    interval: Interval,
    aht: Aht,
    model: Annotated[StaffModel, typer.Option("--model", help="Queueing model.")] = StaffModel.erlang_c,
    target_sl: Annotated[float | None, typer.Option("--target-sl", help="Service-level target in (0, 1).")] = None,
    threshold: Threshold = 20.0,
    target_asa: Annotated[float | None, typer.Option("--target-asa", help="ASA target in seconds.")] = None,
    target_abandon: Annotated[float | None, typer.Option("--target-abandon", help="Abandon-rate target.")] = None,
    patience: Patience = None,
    max_occupancy: Annotated[float, typer.Option("--max-occupancy", help="Occupancy cap in (0, 1].")] = 1.0,
    shrinkage: Annotated[float, typer.Option("--shrinkage", help="Share of paid time off the phones, [0, 1).")] = 0.0,
    sl_definition: SlDef = "offered",
    fractional: Annotated[bool, typer.Option("--fractional", help="Continuous agents (aggregate planning).")] = False,
    as_json: AsJson = False,
) -> None:
    """Smallest number of agents that meets the targets, and the staff that needs after shrinkage."""
    if model is StaffModel.erlang_a and patience is None:
        raise CallopsError("--model erlang-a needs --patience SECONDS")
    m = queueing.required_agents(
        model.value,
        calls=calls,
        interval_s=interval,
        aht_s=aht,
        threshold_s=threshold,
        target_sl=target_sl,
        target_asa_s=target_asa,
        target_abandon=target_abandon,
        patience_s=patience,
        max_occupancy=max_occupancy,
        shrinkage=shrinkage,
        sl_definition=sl_definition,
        fractional=fractional,
    )
    keys = ["traffic_erlangs", "agents", "staff", "p_wait", "service_level", "asa_s", "occupancy"]
    if model is StaffModel.erlang_a:
        keys.insert(-1, "abandon_rate")
    _emit(m, as_json, f"Required agents ({model.value})", keys)
