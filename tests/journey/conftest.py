"""Fixtures of the journey tests: the three real event logs loaded once through ingest, one tenant each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from journey_testlib import LOGS, MAPPINGS, log_path

from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.tenancy import create_tenant
from callops.warehouse import Warehouse


@pytest.fixture(scope="session")
def real_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A warehouse with each real log loaded into its own tenant; {tenant: (warehouse, load summary)}."""
    for name in LOGS:
        log_path(name)
    path = tmp_path_factory.mktemp("journey-real") / "warehouse.duckdb"
    wh = Warehouse(f"duckdb://{path}")
    out = {}
    try:
        for name, (_, mapping) in LOGS.items():
            tenant = create_tenant(wh, name, "UTC")
            out[name] = load_files(wh, tenant, "journey_events", [log_path(name)],
                                   load_mapping(str(MAPPINGS / mapping), "journey_events"))
        out["wh"] = wh
        yield out
    finally:
        wh.close()
