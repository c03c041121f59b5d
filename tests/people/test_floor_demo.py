"""The floor's demo step (issue 19) on the sample tenant with a simulated live day: it runs end to end and shows
adherence on the live day, attendance, HR cases and an overtime/VTO proposal."""

from __future__ import annotations

import io

from rich.console import Console

from callops.demo import ensure_demo_tenant, load_sample
from callops.metrics.top import latest_day
from callops.people import floor_demo
from callops.realtime.demo import write_demo
from callops.realtime.hub import live_dir


def test_demo_step_runs_on_a_live_day(home) -> None:
    tenant = ensure_demo_tenant(home)
    load_sample(home, tenant)
    write_demo(live_dir("demo"), day=latest_day(home, "demo"))
    out = io.StringIO()
    floor_demo.run(home, Console(file=out, width=200))
    text = out.getvalue()
    assert "scheduled agents out of adherence" in text and "adherence alerts raised today" in text
    assert "HR rules found" in text  # the tables themselves go to the CLI's console (callops.cli.print_rows)
    assert "accepted for" in text and "schedule version 1" in text


def test_demo_step_without_a_live_day_says_so(home) -> None:
    ensure_demo_tenant(home)
    out = io.StringIO()
    floor_demo.run(home, Console(file=out, width=200))
    assert "no live day" in out.getvalue()
