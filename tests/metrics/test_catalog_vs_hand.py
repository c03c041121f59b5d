"""The hand-written baseline of ``bench/catalog_vs_hand.py`` against the catalog on varied contacts (issue 18).

The benchmark asserts that one hand-written DuckDB query and the catalog give the same numbers for every
contact metric before it times them; its generated contacts leave csat, nps, offers and revenue empty and
have no ties. Here the same comparison runs on a few thousand contacts that exercise every definition:
both directions, every outcome and channel, unknown customers, missing waits and handle parts, survey
answers, offers, two contacts of one customer at the same instant (the tie is broken by contact id, as
text), and gaps of 6.5 days, 6.9 days, exactly 7 days and 8 days to the customer's next contact.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from callops import tenancy
from callops.metrics.catalog import build_catalog, package_files
from callops.metrics.query import query
from callops.warehouse import Warehouse

BENCH = Path(__file__).resolve().parents[2] / "bench"

# 500 customers (plus unknown ones), 10 contacts each; the k-th contact of a customer comes at DAYS[k]
# (two ties) plus a per-customer shift, so the gaps to the next contact are 6.5, 0, 6.5, 8, 6.9, 7, 5.1, 8, 0 d.
DAYS = [0, 6.5, 6.5, 13, 21, 27.9, 34.9, 40, 48, 48]
VARIED = """
INSERT INTO contacts BY NAME
SELECT '{tenant}' AS tenant_id, 'L0' AS load_id, 'C' || i AS contact_id,
       ['Hefei','Wuhu'][1 + i % 2] AS center, ['billing','vip','roaming'][1 + i % 3] AS queue,
       ['voice','chat','web','app','sms','email','social','video'][1 + i % 8] AS channel,
       CASE WHEN i % 9 = 4 THEN 'outbound' ELSE 'inbound' END AS direction,
       CASE WHEN i % 11 <> 3 THEN 'U' || (i % 500) END AS customer_id, 'billing' AS business_type,
       TIMESTAMPTZ '2026-03-01 00:00:00+08'
         + to_seconds(({days})[1 + i // 500] * 86400 + (i % 500) * 1711) AS offered_at,
       CASE WHEN i % 5 IN (0, 1, 2) THEN TIMESTAMPTZ '2026-03-01 00:00:00+08'
         + to_seconds(({days})[1 + i // 500] * 86400 + (i % 500) * 1711 + 30) END AS answered_at,
       NULL::TIMESTAMPTZ AS ended_at,
       CASE WHEN i % 17 <> 0 THEN (i % 40)::DOUBLE END AS ivr_s,
       CASE WHEN i % 13 <> 0 THEN (i % 37)::DOUBLE END AS wait_s,
       CASE WHEN i % 5 IN (0, 1, 2) AND i % 7 <> 0 THEN (100 + i % 300)::DOUBLE END AS talk_s,
       CASE WHEN i % 4 = 0 THEN (i % 25)::DOUBLE END AS hold_s,
       CASE WHEN i % 6 <> 0 THEN (i % 50)::DOUBLE END AS acw_s,
       CASE i % 5 WHEN 0 THEN 'answered' WHEN 1 THEN 'transferred' WHEN 2 THEN 'answered'
                  WHEN 3 THEN CASE WHEN i % 2 = 0 THEN 'abandoned' ELSE 'callback' END
                  ELSE 'self_served' END AS outcome,
       CASE WHEN i % 5 IN (0, 1, 2) THEN 'A' || (i % 20) END AS agent_id,
       CASE WHEN i % 19 = 0 THEN NULL ELSE (i % 3 = 0)::BIGINT END AS transfers,
       CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN true ELSE false END AS resolved,
       CASE WHEN i % 4 <> 1 THEN (1 + i % 5)::DOUBLE END AS csat,
       CASE WHEN i % 3 <> 2 THEN (i % 11)::DOUBLE END AS nps,
       CASE WHEN i % 7 = 1 THEN 'O' || (i % 4) END AS offer_id,
       CASE WHEN i % 7 = 1 THEN ['accepted', 'declined'][1 + i % 2] WHEN i % 29 = 0 THEN 'accepted' END
         AS offer_result,
       CASE WHEN i % 7 = 1 AND i % 2 = 0 THEN (i % 90)::DOUBLE + 0.25 END AS revenue, 0::UBIGINT AS _row_hash
FROM range(5000) t(i)
"""


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    """The benchmark module (it imports its sibling ``metrics_catalog``)."""
    sys.path.insert(0, str(BENCH))
    try:
        yield importlib.import_module("catalog_vs_hand")
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def varied(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """A warehouse with the varied contacts as tenant ``bench`` (zone of the benchmark, default parameters)."""
    home = tmp_path_factory.mktemp("catalog_vs_hand")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALLOPS_HOME", str(home))
        wh = Warehouse(f"duckdb://{home / 'wh.duckdb'}")
        tenancy.create_tenant(wh, bench.TENANT, bench.ZONE)
        wh.writer().execute(VARIED.format(tenant=bench.TENANT, days=DAYS))
        yield wh
        wh.close()


def _catalog_frame(wh: Warehouse, metrics: list[str]) -> pd.DataFrame:
    cat = build_catalog(package_files())
    return query(wh, "bench", metrics, grain="day", by=["queue"], catalog=cat).to_pandas()


def test_hand_query_names_every_contact_metric(bench: ModuleType, varied: Warehouse) -> None:
    """The hand query computes exactly the catalog's contact metrics (a metric added to the catalog fails here)."""
    metrics = bench.full_contact_metrics(build_catalog(package_files()))
    assert len(metrics) >= 47
    assert {"repeat_rate", "fcr_rate", "true_containment", "customers_distinct", "contact_cost"} <= set(metrics)
    assert sorted(bench.hand_columns(varied.writer())) == sorted(metrics)


def test_hand_query_equals_the_catalog_on_varied_contacts(bench: ModuleType, varied: Warehouse) -> None:
    """Every contact metric, day × queue: the hand query and the catalog agree to 1e-9."""
    metrics = bench.full_contact_metrics(build_catalog(package_files()))
    hand = varied.writer().execute(bench.hand_full_sql()).df()
    got = _catalog_frame(varied, metrics)
    assert len(hand) > 40
    bench.check_equal(hand, got, metrics)
    # the data reach the branches the comparison is about
    totals = hand[["contacts_all", "nps_responses", "offers_accepted", "customers_distinct"]].sum()
    assert totals.contacts_all == 5000 and totals.nps_responses > 0 and totals.offers_accepted > 0
    assert 0 < hand.repeat_rate.mean() < 1 and hand.revenue.sum() > 0


def test_the_comparison_sees_a_changed_definition(bench: ModuleType, varied: Warehouse) -> None:
    """A hand query with a 6-day repeat window, or without the contact-id tie break, no longer matches."""
    metrics = bench.full_contact_metrics(build_catalog(package_files()))
    got = _catalog_frame(varied, metrics)
    six_days = bench.hand_full_sql().replace("604800.0", "518400.0")
    with pytest.raises(AssertionError, match=r"repeat_rate|fcr_rate|true_containment"):
        bench.check_equal(varied.writer().execute(six_days).df(), got, metrics)
    reversed_ties = bench.hand_full_sql().replace("ORDER BY offered_at, contact_id",
                                                  "ORDER BY offered_at, contact_id DESC")
    with pytest.raises(AssertionError, match=r"repeat_rate|fcr_rate|true_containment"):
        bench.check_equal(varied.writer().execute(reversed_ties).df(), got, metrics)
