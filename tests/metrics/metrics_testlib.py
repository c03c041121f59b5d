"""Helpers shared by the metric tests (imported by name: tests have no packages)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
BANK = SHARED / "anonymous-bank-1999"
JANUARY = BANK / "1999_01_January.tsv.gz"


def require_data(path: Path) -> Path:
    """``path`` if present; else skip, or fail when CALLOPS_REQUIRE_DATA=1."""
    if not path.exists():
        message = f"real data {path} not available (shared data directory missing)"
        if os.environ.get("CALLOPS_REQUIRE_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def contact(cid: str, offered: str, outcome: str, wait: float | None = None, **extra: object) -> dict:
    """A canonical contact row (inbound voice, queue q1) offered at ``offered`` (ISO, with zone)."""
    row = {
        "contact_id": cid,
        "channel": "voice",
        "direction": "inbound",
        "queue": "q1",
        "offered_at": offered,
        "outcome": outcome,
        "wait_s": wait,
        "answered_at": offered if outcome == "answered" else None,
    }
    row.update(extra)
    return row
