"""Overlap refusal (hypothesis): a request is refused exactly when its window meets a live request (pending or
approved) of the same agent, as requester or colleague; refused and cancelled ones never block."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callops.errors import CallopsError
from callops.people import requests
from callops.store.db import Store
from callops.store.models_people import PeopleRequest
from callops.store.tenants import create_tenant
from callops.warehouse import Warehouse

T0 = datetime(2030, 1, 7, tzinfo=UTC)
_ids = itertools.count()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store with tenants o1 and o2."""
    tmp: Path = tmp_path_factory.mktemp("people-overlaps")
    st_ = Store(f"sqlite:///{tmp / 'store.sqlite3'}")
    with Warehouse(f"duckdb://{tmp / 'wh.duckdb'}") as wh:
        create_tenant(st_, wh, "o1", "UTC")
        create_tenant(st_, wh, "o2", "UTC")
    yield st_
    st_.close()


span = st.tuples(st.integers(0, 96), st.integers(1, 24))  # (start hour, length hours)
existing_st = st.lists(st.tuples(span, st.sampled_from(["pending_colleague", "pending_lead", "approved", "refused",
                                                        "cancelled"]), st.booleans(), st.booleans()), max_size=6)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(existing_st, span)
def test_refused_iff_a_live_request_meets_the_window(store: Store, existing: list, new: tuple) -> None:
    """``existing``: (span, status, as colleague?, other tenant?) rows for agent X; ``new``: X's window."""
    agent = f"X{next(_ids)}"
    with store.session() as s:
        for (h, n), status, as_colleague, other in existing:
            s.add(PeopleRequest(tenant_id="o2" if other else "o1", kind="swap" if as_colleague else "time_off",
                                agent_id="Y" if as_colleague else agent, colleague_id=agent if as_colleague else None,
                                team="t", start_at=T0 + timedelta(hours=h), end_at=T0 + timedelta(hours=h + n),
                                status=status, checks={}, created_by="test"))  # fmt: skip
    lo, hi = T0 + timedelta(hours=new[0]), T0 + timedelta(hours=new[0] + new[1])
    blocking = [1 for (h, n), status, _c, other in existing
                if not other and status in ("pending_colleague", "pending_lead", "approved")
                and h < new[0] + new[1] and new[0] < h + n]  # brute force on whole hours  # fmt: skip
    with store.session() as s:
        if blocking:
            with pytest.raises(CallopsError, match="overlaps request"):
                requests._refuse_overlaps(s, "o1", [agent], lo, hi)
        else:
            requests._refuse_overlaps(s, "o1", [agent], lo, hi)
