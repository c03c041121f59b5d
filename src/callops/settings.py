"""Where callops keeps its files, from the environment."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_TIMEZONE = "Asia/Shanghai"


def callops_home() -> Path:
    """Directory for the warehouse and other state: ``$CALLOPS_HOME`` or ``./.callops``."""
    return Path(os.environ.get("CALLOPS_HOME", ".callops")).resolve()


def warehouse_url() -> str:
    """Warehouse location: ``$CALLOPS_WAREHOUSE`` or a DuckDB file under the home directory."""
    return os.environ.get("CALLOPS_WAREHOUSE") or f"duckdb://{callops_home() / 'warehouse.duckdb'}"
