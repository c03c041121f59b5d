"""Helpers shared by the foundation tests (ingest, tenancy, CLI); imported by tests/conftest.py too.

A uniquely named module rather than ``from conftest import ...``: other test folders have conftests
of their own, and whichever is first on sys.path would win.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from callops import tenancy
from callops.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / ".." / "shared" / "data"
BANK_DIR = SHARED_DATA / "anonymous-bank-1999"


def require_data(path: Path) -> Path:
    """``path`` if it exists; otherwise skip the test, or fail it when CALLOPS_REQUIRE_DATA=1."""
    if not path.exists():
        message = f"real data {path.resolve()} not available (the shared data folder is missing in this clone)"
        if os.environ.get("CALLOPS_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def read_rows(wh: Warehouse, tenant: str, table: str, order_by: list[str] | None = None) -> list[dict]:
    """All rows of a tenant's table as dicts, through the public tenancy API."""
    t = tenancy.scoped(wh, tenant, table)
    if order_by:
        t = t.order_by(order_by)
    return t.to_pyarrow().to_pylist()


def table_fingerprint(wh: Warehouse, table: str) -> tuple[int, int]:
    """(row count, order-independent checksum) of a whole table, all tenants included.

    Reads the table directly (not through tenancy) because the atomicity tests must see every
    tenant's rows; the checksum is a sum of per-row hashes so row order does not matter.
    """
    con = wh.writer()
    n, h = con.execute(f'SELECT count(*), coalesce(sum(hash(t)), 0) FROM "{table}" AS t').fetchall()[0]
    return int(n), int(h)


def require_spark() -> None:
    """Skip (or fail under CALLOPS_REQUIRE_SERVICES=1) when pyspark or Java is missing."""
    import shutil

    problem = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        problem = "pyspark is not installed (pip install 'pyspark==4.0.5')"
    if problem is None and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        problem = "Java is not installed (apt-get install openjdk-17-jre-headless)"
    if problem:
        if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
