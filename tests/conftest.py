"""Shared fixtures: a private warehouse per test, the real data folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import Phase, settings

from callops.warehouse import Warehouse
from foundation_helpers import BANK_DIR, require_data


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Warehouse]:
    """An open warehouse in a fresh ``CALLOPS_HOME`` (``tmp_path/home``); closed after the test."""
    root = tmp_path / "home"
    monkeypatch.setenv("CALLOPS_HOME", str(root))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    wh = Warehouse()
    try:
        yield wh
    finally:
        wh.close()


@pytest.fixture(scope="session")
def bank_dir() -> Path:
    """The Anonymous Bank 1999 folder (skips, or fails under CALLOPS_REQUIRE_DATA=1, when absent)."""
    return require_data(BANK_DIR)


# `pytest --hypothesis-profile=noshrink` reports the first failing example without shrinking it.
settings.register_profile("noshrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])
