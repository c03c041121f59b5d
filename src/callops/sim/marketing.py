"""Marketing: campaigns and their offers, presented on handled contacts, with outcomes and revenue.

**Who gets an offer (the logging policy).** A handled contact of a queue with ``offer_p`` > 0 gets an offer
with that probability when at least one campaign is running that day and has an offer that fits the
contact's channel: one of those offers, **uniformly at random**. So the probability with which a logged
offer was chosen is ``1 / (number of fitting offers of running campaigns)`` for that channel and day,
which is what an off-policy evaluation of another policy needs (``callops.marketing.backtest``).

**Whether it is accepted (the true model).** An offer is accepted with probability

    p = min(0.9, accept_p x status x trait(kind) x price x reason)

* ``status``: active 1, arrears 0.3, suspended 0.3, churned 0.1 (account status);
* ``trait(kind)`` by what the offer sells (``OfferCfg.kind``), from the customer's usage, network, ARPU, VIP level:
  - ``data``: usage >= 40 GB/month x 3 (data-heavy customers), usage < 10 GB x 0.3, else 1;
  - ``5g``: a 2G/3G/4G customer with usage >= 10 GB x 2.5 (not migrated yet), a 5G customer x 0.25, else 1;
  - ``broadband``: ARPU >= 100 x 1.5, else 1;
  - ``roaming``: VIP level >= 1 x 2.5, else x 0.6;
  - ``video``, ``other``: 1 (no trait matters);
* ``price``: an offer priced at 150 or more is x 2 for customers with ARPU >= 150 and x 0.25 below ARPU 80;
* ``reason``: the contact's business type (reason for contact) is one the offer fits (``OfferCfg.reasons``) x 2;
  a complaint x 0.1; else 1.

An accepted offer earns its unit price as the contact's revenue, a declined one earns 0. Nothing else moves
acceptance. The learner (``callops.marketing.propensity``) never sees this formula or the raw traits: it
learns from the presented/accepted history with the customers' tags, value class and score and the
contact's reason and channel, which reflect the traits only partly (e.g. ``heavy_data_user`` is usage >= 60).

**Campaigns that pay and one that does not** (the shipped provincial hotline): ``C5G-UPGRADE`` (5G plans at
129/199, accept_p 0.12/0.06, doubled or more for the 4G customers it targets) and ``CDATA-PACK`` earn far more
per pitch than the pitch costs. ``CVIDEO-VIP`` (a 15-yuan video membership, commission 8, accept_p 0.015, no
trait helps) earns about 0.2 yuan per pitch, less than a minute of agent time and its commissions cost: it
clearly does not pay.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from callops.sim.customers import Customers
from callops.sim.frame import ContactFrame
from callops.sim.scenario import OfferCfg, Scenario

_STATUS_FACTOR = {"active": 1.0, "arrears": 0.3, "suspended": 0.3, "churned": 0.1}
_CAP = 0.9


def acceptance_probability(offer: OfferCfg, status: np.ndarray, usage_gb: np.ndarray, network: np.ndarray,
                           arpu: np.ndarray, vip_level: np.ndarray, business_type: np.ndarray) -> np.ndarray:
    """The true acceptance probability of ``offer`` for each contact (the model in the module docstring)."""
    p = np.full(len(status), offer.accept_p)
    p *= np.array([_STATUS_FACTOR.get(s, 1.0) for s in status.tolist()])
    if offer.kind == "data":
        p *= np.where(usage_gb >= 40, 3.0, np.where(usage_gb < 10, 0.3, 1.0))
    elif offer.kind == "5g":
        old = np.isin(network, ["2G", "3G", "4G"])
        p *= np.where(old & (usage_gb >= 10), 2.5, np.where(network == "5G", 0.25, 1.0))
    elif offer.kind == "broadband":
        p *= np.where(arpu >= 100, 1.5, 1.0)
    elif offer.kind == "roaming":
        p *= np.where(vip_level >= 1, 2.5, 0.6)
    if offer.unit_price >= 150:
        p *= np.where(arpu >= 150, 2.0, np.where(arpu < 80, 0.25, 1.0))
    p *= np.where(np.isin(business_type, list(offer.reasons)), 2.0, np.where(business_type == "complaint", 0.1, 1.0))
    return np.minimum(p, _CAP)


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
    price = np.array([o.unit_price for _, o in offers])
    cust = frame["customer_id"][idx]
    known = cust >= 0
    ci = np.where(known, cust, 0)
    n_c = len(customers)
    status = np.where(known, customers.status[ci], "active") if n_c else np.full(len(idx), "active")
    usage = np.where(known, customers.usage_gb[ci], 0.0) if customers.usage_gb is not None and n_c \
        else np.zeros(len(idx))
    network = np.where(known, customers.network[ci], "") if customers.network is not None and n_c \
        else np.full(len(idx), "")
    arpu = np.where(known, customers.arpu[ci], 0.0) if n_c else np.zeros(len(idx))
    vip = np.where(known, customers.vip_level[ci], 0) if n_c else np.zeros(len(idx), dtype=np.int64)
    reason = frame["business_type"][idx]
    p = np.zeros(len(idx))
    chosen = best[idx]
    for k, (_, o) in enumerate(offers):
        m = chosen == k
        if m.any():
            p[m] = acceptance_probability(o, status[m], usage[m], network[m], arpu[m], vip[m], reason[m])
    accepted = rng.random(len(idx)) < p
    offer_id[idx] = ids[chosen]
    result[idx] = np.where(accepted, "accepted", "declined")
    revenue[idx] = np.where(accepted, price[chosen], 0.0)
