"""Marketing: campaigns and their offers, presented on handled contacts, with outcomes and revenue.

A handled contact of a queue with ``offer_p`` > 0 gets an offer with that probability when at least
one campaign is running that day and has an offer that fits the contact's channel (one of those
offers, at random). It is accepted with the offer's ``accept_p``, scaled down for customers in
arrears or suspended (x 0.3) and churned ones (x 0.1); an accepted offer earns its unit price as
the contact's revenue, a declined one earns 0.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from callops.sim.customers import Customers
from callops.sim.frame import ContactFrame
from callops.sim.scenario import Scenario

_STATUS_FACTOR = {"active": 1.0, "arrears": 0.3, "suspended": 0.3, "churned": 0.1}


def campaign_tables(scenario: Scenario, first: date, days: int) -> dict[str, pa.Table]:
    """The canonical ``campaigns`` and ``offers`` tables of a run starting on local date ``first``."""
    last = first + timedelta(days=days - 1)
    camps = scenario.campaigns
    campaigns = pa.table({
        "campaign_id": pa.array([c.campaign_id for c in camps], pa.string()),
        "name": pa.array([c.name for c in camps], pa.string()),
        "product": pa.array([c.product for c in camps], pa.string()),
        "start_date": pa.array([first + timedelta(days=c.first_day - 1) for c in camps], pa.date32()),
        "end_date": pa.array([first + timedelta(days=c.last_day - 1) if c.last_day else last for c in camps],
                             pa.date32()),
        "importance": pa.array([c.importance for c in camps], pa.float64()),
        "difficulty": pa.array([c.difficulty for c in camps], pa.float64()),
    })  # fmt: skip
    offers = [(c, o) for c in camps for o in c.offers]
    offer_table = pa.table({
        "offer_id": pa.array([o.offer_id for _, o in offers], pa.string()),
        "campaign_id": pa.array([c.campaign_id for c, _ in offers], pa.string()),
        "product": pa.array([o.product for _, o in offers], pa.string()),
        "unit_price": pa.array([o.unit_price for _, o in offers], pa.float64()),
        "commission": pa.array([o.commission for _, o in offers], pa.float64()),
        "channel_fit": pa.array([";".join(str(ch) for ch in o.channels) for _, o in offers], pa.string()),
    })  # fmt: skip
    return {"campaigns": campaigns, "offers": offer_table}


def add_offers(frame: ContactFrame, scenario: Scenario, customers: Customers, day_of: np.ndarray,
               rng: np.random.Generator) -> None:
    """Set ``offer_id``, ``offer_result`` and ``revenue`` on the frame; ``day_of`` is each contact's run day."""
    n = len(frame)
    offers = [(c, o) for c in scenario.campaigns for o in c.offers]
    offer_id = np.full(n, None, dtype=object)
    result = np.full(n, None, dtype=object)
    revenue = np.full(n, np.nan)
    frame.extra.update(offer_id=offer_id, offer_result=result, revenue=revenue)
    if not offers or not n:
        return
    offer_p = frame.per_queue({q.name: q.offer_p for q in scenario.queues})
    want = np.flatnonzero((frame["outcome"] == "answered") & (rng.random(n) < offer_p))
    channel = frame["channel"][want]
    day = day_of[want]
    # Random key per (contact, offer); ineligible offers get -1 so argmax picks an eligible one at random.
    keys = rng.random((len(want), len(offers)))
    for k, (c, o) in enumerate(offers):
        last = c.last_day or 10**9
        fits = np.isin(channel, [str(ch) for ch in o.channels]) & (day + 1 >= c.first_day) & (day + 1 <= last)
        keys[~fits, k] = -1.0
    pick = keys.argmax(axis=1)
    ok = keys[np.arange(len(want)), pick] >= 0
    idx = want[ok]
    best = np.zeros(n, dtype=np.int64)
    best[idx] = pick[ok]
    ids = np.array([o.offer_id for _, o in offers], dtype=object)
    accept_p = np.array([o.accept_p for _, o in offers])
    price = np.array([o.unit_price for _, o in offers])
    statuses = sorted(_STATUS_FACTOR)
    code = {s: i for i, s in enumerate(statuses)}
    status_code = np.array([code[s] for s in customers.status.tolist()] + [code["active"]], dtype=np.int64)
    cust = frame["customer_id"][idx]
    factor = np.array([_STATUS_FACTOR[s] for s in statuses])[status_code[np.where(cust >= 0, cust, -1)]]
    accepted = rng.random(len(idx)) < accept_p[best[idx]] * factor
    offer_id[idx] = ids[best[idx]]
    result[idx] = np.where(accepted, "accepted", "declined")
    revenue[idx] = np.where(accepted, price[best[idx]], 0.0)
