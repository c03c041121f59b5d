"""Diversion what-if: the simulated service level matches Erlang A (computed independently) at each share."""

from __future__ import annotations

import pytest

from callops.errors import CallopsError
from callops.value.balance import diversion_whatif
from callops.wfm.queueing import erlang_a_metrics


def test_whatif_matches_erlang_a_and_improves_with_diversion() -> None:
    """Each share's simulated service level is within a few points of Erlang A at the reduced load."""
    rows = diversion_whatif(600, 1800, 240, 82, 120.0, [0.0, 0.15], replications=4)
    for row in rows:
        exact = erlang_a_metrics(600 * (1 - row["share"]), 1800, 240, 82, 120.0, 20.0, "offered").service_level
        assert row["service_level"]["mean"] == pytest.approx(exact, abs=0.03)
    assert rows[1]["service_level"]["mean"] > rows[0]["service_level"]["mean"]
    assert rows[1]["diverted"] == pytest.approx(90.0)


def test_bad_share_is_refused() -> None:
    """A share of 1 or more is refused with a message."""
    with pytest.raises(CallopsError, match="share"):
        diversion_whatif(100, 1800, 200, 10, None, [1.0])
