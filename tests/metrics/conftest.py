"""Fixtures for the metric tests: the Anonymous Bank month in a warehouse, and small canonical tenants."""

from __future__ import annotations

import csv
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from metrics_testlib import JANUARY, require_data

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.warehouse import Warehouse


@pytest.fixture(scope="session")
def metrics_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private CALLOPS_HOME for the whole session (tenant parameter and TOP files live there)."""
    path = tmp_path_factory.mktemp("callops_home")
    old = os.environ.get("CALLOPS_HOME")
    os.environ["CALLOPS_HOME"] = str(path)
    yield path
    if old is None:
        os.environ.pop("CALLOPS_HOME", None)
    else:
        os.environ["CALLOPS_HOME"] = old


@pytest.fixture(scope="session")
def bank(metrics_home: Path) -> Iterator[Warehouse]:
    """A warehouse with January 1999 of the Anonymous Bank loaded as tenant ``bank`` (Asia/Jerusalem)."""
    require_data(JANUARY)
    wh = Warehouse("duckdb://" + str(metrics_home / "bank.duckdb"))
    tenant = tenancy.create_tenant(wh, "bank", "Asia/Jerusalem")
    load_files(wh, tenant, "contacts", [JANUARY], load_mapping("anonymous_bank", "contacts"))
    yield wh
    wh.close()


_counter = itertools.count()


@pytest.fixture
def small_wh(metrics_home: Path) -> Iterator[Warehouse]:
    """An empty in-memory warehouse."""
    wh = Warehouse("duckdb://:memory:")
    yield wh
    wh.close()


LoadRows = Callable[[Warehouse, str, str, list[dict]], None]


@pytest.fixture
def load_rows(tmp_path: Path) -> LoadRows:
    """Write dict rows to a canonical CSV and load them for a tenant (created if needed, zone Asia/Shanghai)."""

    def load(wh: Warehouse, tenant: str, table: str, rows: list[dict]) -> None:
        try:
            t = tenancy.get_tenant(wh, tenant)
        except Exception:
            t = tenancy.create_tenant(wh, tenant, "Asia/Shanghai")
        columns = list(dict.fromkeys(k for r in rows for k in r))
        path = tmp_path / f"{table}_{next(_counter)}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, columns)
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
        summary = load_files(wh, t, table, [path], load_mapping("canonical", table))
        assert summary.rejected == 0, summary.reject_reasons

    return load
