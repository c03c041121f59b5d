"""Where callops keeps its files, from the environment."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DEFAULT_TIMEZONE = "Asia/Shanghai"


def callops_home() -> Path:
    """Directory for the warehouse and other state: ``$CALLOPS_HOME`` or ``./.callops``.

    Created on first use readable by its owner only (0700): it holds the store, tokens' hashes, the console's
    secret and every tenant's data (issue 21). An existing folder is left as its owner set it.
    """
    home = Path(os.environ.get("CALLOPS_HOME", ".callops")).resolve()
    if not home.exists():
        with contextlib.suppress(OSError):  # read-only places: whoever writes there reports the real problem
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home


def warehouse_url() -> str:
    """Warehouse location: ``$CALLOPS_WAREHOUSE`` or a DuckDB file under the home directory."""
    return os.environ.get("CALLOPS_WAREHOUSE") or f"duckdb://{callops_home() / 'warehouse.duckdb'}"
