"""Marketing: campaigns and their offers, presented on handled contacts, with outcomes and revenue.

**Who gets an offer (the logging policy).** A handled contact of a queue with ``offer_p`` > 0 gets an offer
with that probability when at least one campaign is running that day and has an offer that fits the
contact's channel: one of those offers, **uniformly at random**. So the probability with which a logged
offer was chosen is ``1 / (number of fitting offers of running campaigns)`` for that channel and day,
which is what an off-policy evaluation of another policy needs (``callops.marketing.backtest``). The draw is
made when the contact arrives (:class:`OfferPlanner`, for the arrival's channel and day) and applies to the
leg an agent takes and does not transfer, with the offer share of the queue that handles it.

**What a pitch costs the agent (the pitch time).** A pitched offer adds to the contact's handle time, inside
the simulation (the agent is busy for it, so occupancy and queues feel it): talk seconds ``pitch_s`` (40 by
default) when declined and ``accepted_pitch_s`` (120: terms and consent) when accepted, and after-contact work
``pitch_acw_s`` (5) when declined and ``accepted_acw_s`` (60: the order) when accepted, each drawn from a
gamma distribution with that mean and coefficient of variation 0.5 (``OfferCfg``; a chat has no after-contact
work, so there both are talk). A contact without an offer is handled exactly as before, so the campaign
evaluation's excess handle time over the no-offer contacts of the same queue and channel
(``callops.marketing.campaigns``) measures these seconds.

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

from callops.sim.arrivals import Arrivals, ArrivalStream
from callops.sim.customers import Customers
from callops.sim.engine import Pitches
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


PITCH_SHAPE = 4.0  # gamma shape of a pitch's seconds around its mean (coefficient of variation 0.5)


class OfferPlanner:
    """Decides each contact's offer when the engine has drawn the arrivals, before any agent takes a contact.

    Called by the engine (``Model.pitches``) with the arrivals and streams; for each arrival it draws, from
    its own generator, the uniform ``u`` compared with the handling queue's ``offer_p``, one of the offers that
    fit the arrival's channel and day (uniformly), whether the customer accepts (the true model above: the
    customer, traits and reason are known at arrival), and the pitch's seconds. The engine makes the pitch when
    an agent takes the contact in a queue with ``u < offer_p`` and will not transfer it: so the pitch is part of
    the agent's busy time and the queue feels it. :meth:`apply` then writes the offers that were made on the
    contacts table. (The offer is planned at arrival, not at answer, because acceptance and the pitch's length
    must be known when the agent starts the contact; nothing the offer depends on changes in between.)
    """

    def __init__(self, scenario: Scenario, customers: Customers, rng: np.random.Generator) -> None:
        self.scenario, self.customers, self.rng = scenario, customers, rng
        self.offers = [(c, o) for c in scenario.campaigns for o in c.offers]
        self.offer = np.empty(0, dtype=np.int64)  # offer index per arrival (-1: none)
        self.accepted = np.empty(0, dtype=bool)
        self.pitches: Pitches | None = None

    def __call__(self, arr: Arrivals, streams: list[ArrivalStream]) -> Pitches:
        """The pitches of ``arr`` (see the class docstring)."""
        n, rng = len(arr), self.rng
        channel_of = {q.name: str(q.channel) for q in self.scenario.queues}
        offer_p = {q.name: q.offer_p for q in self.scenario.queues}
        s_channel = np.array([channel_of.get(st.queue, "") for st in streams], dtype=object)
        s_business = np.array([st.business_type or "" for st in streams], dtype=object)
        channel = s_channel[arr.stream] if n else np.empty(0, dtype=object)
        u = rng.random(n)
        # the largest offer share among the queues a stream's contacts can be handled in (theirs, the overflow
        # and transfer targets): a contact above it is never offered, so it needs no plan
        cfg = {q.name: q for q in self.scenario.queues}
        s_top = np.zeros(len(streams))
        for k, st in enumerate(streams):
            q = cfg.get(st.queue)
            reach = [st.queue] + ([q.overflow_to, q.transfer_to] if q is not None else [])
            s_top[k] = max(offer_p.get(r, 0.0) for r in reach if r is not None)
        maybe = np.flatnonzero(u < s_top[arr.stream]) if n else np.empty(0, dtype=np.int64)
        offer = np.full(n, -1, dtype=np.int64)
        accepted = np.zeros(n, dtype=bool)
        talk, acw = np.zeros(n), np.zeros(n)
        if self.offers and maybe.size:
            ch, day = channel[maybe], np.floor(arr.t[maybe] / 86400.0).astype(np.int64)
            # random key per (contact, offer); offers that do not fit get -1 so argmax picks a fitting one at random
            keys = rng.random((len(maybe), len(self.offers)))
            for k, (c, o) in enumerate(self.offers):
                last = c.last_day or 10**9
                fits = np.isin(ch, [str(x) for x in o.channels]) & (day + 1 >= c.first_day) & (day + 1 <= last)
                keys[~fits, k] = -1.0
            pick = keys.argmax(axis=1)
            ok = keys[np.arange(len(maybe)), pick] >= 0
            idx, chosen = maybe[ok], pick[ok]
            offer[idx] = chosen
            accepted[idx] = rng.random(len(idx)) < self._acceptance(arr, idx, chosen, s_business[arr.stream[idx]])
            acc = accepted[idx]
            mean_talk = np.array([[o.pitch_s, o.accepted_pitch_s] for _, o in self.offers])[chosen, acc.astype(int)]
            mean_acw = np.array([[o.pitch_acw_s, o.accepted_acw_s] for _, o in self.offers])[chosen, acc.astype(int)]
            talk[idx] = rng.gamma(PITCH_SHAPE, mean_talk / PITCH_SHAPE)
            acw[idx] = rng.gamma(PITCH_SHAPE, mean_acw / PITCH_SHAPE)
        self.offer, self.accepted = offer, accepted
        self.pitches = Pitches(talk, acw, u, channel.astype(str) if n else np.empty(0, dtype=str), offer_p)
        return self.pitches

    def _acceptance(self, arr: Arrivals, idx: np.ndarray, chosen: np.ndarray, reason: np.ndarray) -> np.ndarray:
        """The true acceptance probability of each planned offer (the module docstring's model)."""
        cust = self.customers
        n_c = len(cust)
        pool = arr.customer[idx] if len(arr.customer) else np.full(len(idx), -1)
        known = (pool >= 0) & (n_c > 0) & (len(cust.pool) > 0)
        ci = np.where(known, cust.pool[np.clip(pool, 0, max(len(cust.pool) - 1, 0))], 0) if known.any() \
            else np.zeros(len(idx), dtype=np.int64)
        status = np.where(known, cust.status[ci], "active") if n_c else np.full(len(idx), "active")
        usage = np.where(known, cust.usage_gb[ci], 0.0) if cust.usage_gb is not None and n_c else np.zeros(len(idx))
        network = np.where(known, cust.network[ci], "") if cust.network is not None and n_c \
            else np.full(len(idx), "")
        arpu = np.where(known, cust.arpu[ci], 0.0) if n_c else np.zeros(len(idx))
        vip = np.where(known, cust.vip_level[ci], 0) if n_c else np.zeros(len(idx), dtype=np.int64)
        reason = reason.astype(str)
        p = np.zeros(len(idx))
        for k, (_, o) in enumerate(self.offers):
            m = chosen == k
            if m.any():
                p[m] = acceptance_probability(o, status[m], usage[m], network[m], arpu[m], vip[m], reason[m])
        return p

    def pitch_seconds(self, contact_ids: np.ndarray) -> np.ndarray:
        """The talk + after-contact seconds the run's pitch added to each contact (0: no pitch): the truth the
        campaign evaluation's measurement is checked against."""
        p = self.pitches
        if p is None:
            return np.zeros(len(contact_ids))
        arrival = np.array([p.done.get(c, -1) for c in contact_ids.tolist()], dtype=np.int64)
        return np.where(arrival >= 0, (p.talk + p.acw)[np.maximum(arrival, 0)] if len(p.talk) else 0.0, 0.0)


def add_offers(frame: ContactFrame, planner: OfferPlanner) -> None:
    """Set ``offer_id``, ``offer_result`` and ``revenue`` on the frame for the contacts the run pitched an offer on."""
    n = len(frame)
    offer_id = np.full(n, None, dtype=object)
    result = np.full(n, None, dtype=object)
    revenue = np.full(n, np.nan)
    frame.extra.update(offer_id=offer_id, offer_result=result, revenue=revenue)
    done = planner.pitches.done if planner.pitches is not None else {}
    if not done or not n:
        return
    arrival = np.array([done.get(c, -1) for c in frame["contact_id"].tolist()], dtype=np.int64)
    idx = np.flatnonzero(arrival >= 0)
    chosen = planner.offer[arrival[idx]]
    accepted = planner.accepted[arrival[idx]]
    ids = np.array([o.offer_id for _, o in planner.offers], dtype=object)
    price = np.array([o.unit_price for _, o in planner.offers])
    offer_id[idx] = ids[chosen]
    result[idx] = np.where(accepted, "accepted", "declined")
    revenue[idx] = np.where(accepted, price[chosen], 0.0)
