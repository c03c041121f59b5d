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


# Random seeds stay (they find real edge cases); a failure prints the shrunk example and a
# `@reproduce_failure(...)` blob that replays it exactly (docs/testing.md, "Reproducing a hypothesis failure").
settings.register_profile("callops", print_blob=True)
settings.load_profile("callops")
# `pytest --hypothesis-profile=noshrink` reports the first failing example without shrinking it.
settings.register_profile("noshrink", parent=settings.get_profile("callops"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # fmt: skip


def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse to run console modules together: NiceGUI's app is global, so each needs a process of its own."""
    modules = {item.path for item in session.items if item.get_closest_marker("console")}
    if len(modules) > 1 and not session.config.option.collectonly:
        raise pytest.UsageError(
            f"{len(modules)} console test modules selected in one run; each needs a process of its own "
            "(NiceGUI's app is global). Run `python tools/console_tests.py`, or one console file per pytest run "
            '(`make test` runs the rest with -m "not console", then that script).'
        )
