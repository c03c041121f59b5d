"""The demo tenant: the provincial hotline scenario shipped in the package, run into tenant ``demo``.

``make demo`` calls :func:`generate_demo_tenant`; it reads nothing outside the package. The run ends
yesterday (Asia/Shanghai), so the console has weeks of history up to today; running it again on the
same day with the same seed reports every row unchanged.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from callops.ingest.loader import LoadSummary
from callops.sim.runner import Progress, generate_demo
from callops.sim.scenario import demo_scenario
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"
DEMO_TIMEZONE = "Asia/Shanghai"


def generate_demo_tenant(wh: Warehouse, days: int = 28, seed: int = 7,
                         progress: Progress | None = None) -> dict[str, LoadSummary]:
    """Generate ``days`` days of the provincial hotline ending yesterday (local) into tenant ``demo``.

    ``progress(stage, days_done, days_total, contacts)`` follows the run. Returns the load summary
    per table (all tables load with zero rejects).
    """
    scenario = demo_scenario().model_copy(update={"timezone": DEMO_TIMEZONE})
    yesterday = datetime.now(zoneinfo.ZoneInfo(DEMO_TIMEZONE)).date() - timedelta(days=1)
    first = yesterday - timedelta(days=days - 1)
    return generate_demo(wh, DEMO_TENANT, scenario, days=days, seed=seed, start_date=first, progress=progress)
