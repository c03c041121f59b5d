"""Demo step of the platform (issue 16): the director's shared views, their home board and an alert rule replay.

Runs on the simulated hotline the demo has just loaded (see ``callops.sim``); nothing here generates data.
"""

from __future__ import annotations

from rich.console import Console

from callops.errors import CallopsError, NotFound
from callops.rules import service as rules
from callops.store.db import Store
from callops.store.users import Principal, get_user_by_name
from callops.views import service
from callops.warehouse import Warehouse

TENANT = "demo"
VIEWS = (
    ("服务水平与放弃率 · 按队列", {"metrics": ["service_level", "abandon_rate"], "grain": "day",
                             "dimensions": ["queue"], "period": "last_14_days", "chart": "line"}),
    ("进线量 · 最近 7 天", {"metrics": ["contacts_offered"], "grain": "day", "period": "last_7_days",
                       "chart": "bar", "compare": "previous"}),
)  # fmt: skip
RULE = """rules:
  - id: abandon_daily
    metric: abandon_rate
    scope: {by: [queue]}
    window: {grain: day}
    levels: {yellow: 0.05, orange: 0.08, red: 0.12}
"""


def run(wh: Warehouse, console: Console) -> None:
    """Create (once) the director's views shared with the tenant, pin them to the home board, replay a rule."""
    from callops.demo import DEMO_USER, demo_credentials

    with Store() as store:
        with store.session() as s:
            try:
                user = get_user_by_name(s, TENANT, DEMO_USER)
            except NotFound:
                user = None
        if user is None:
            demo_credentials()  # creates the demo's administrator
            with store.session() as s:
                user = get_user_by_name(s, TENANT, DEMO_USER)
        who = Principal(TENANT, user.id, user.name, user.role, 0)
        with store.session() as s:
            have = {v.name: v.id for v in service.list_visible(s, who)}
            ids = []
            for name, spec in VIEWS:
                if name not in have:
                    have[name] = service.create_view(s, who, name, spec, "tenant").id
                ids.append(have[name])
            service.set_home_board(s, who, [{"view_id": ids[0], "w": 12}, {"view_id": ids[1], "w": 6}])
            first = service.get_visible(s, who, ids[0])
            table = service.run_view(wh, who, first)
        console.print(f"views: {len(ids)} shared with the tenant and pinned to {DEMO_USER}'s home board "
                      f"(/home); {VIEWS[0][0]}: {table.num_rows:,} rows")  # fmt: skip
        try:
            out = rules.preview(wh, TENANT, RULE)
            with store.session() as s:
                doc = rules.save(s, TENANT, "abandon_daily", RULE, f"user:{DEMO_USER}")
        except CallopsError as exc:
            console.print(f"[red]alert rule preview failed:[/] {exc}")
            return
        r = out["rules"][0]
        console.print(f"alert rule abandon_daily (v{doc.version}, /rules): {r['text']} in the last 7 days "
                      f"({r['evaluations']} evaluations, per queue)")  # fmt: skip
