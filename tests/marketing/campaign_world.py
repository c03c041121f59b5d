"""Synthetic marketing data with known truth for the campaign tests: two tenants, a campaign that pays and one
that clearly does not, and offers that add a known number of seconds to the contacts that carry them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa

from callops import tenancy
from callops.sim.records import write_to_warehouse
from callops.warehouse import Warehouse

FIRST = date(2026, 9, 1)
DAYS = 60
PITCH_TALK_S = 60.0  # what a pitched offer adds to talk
PITCH_ACW_S = 15.0  # ... and to after-contact work
POPUP_S = 6.0  # what an offer that popped up but was not pitched adds to talk
CAMPAIGNS = {
    # campaign: (offer, unit price, commission, acceptance, channel fit, first day, last day, importance, difficulty)
    "C-PAY": ("O-PAY", 100.0, 10.0, 0.30, "voice;chat", 1, DAYS, 0.9, 0.3),
    "C-LOSE": ("O-LOSE", 20.0, 5.0, 0.02, "voice", 1, DAYS, 0.4, 0.7),
}
QUEUES = {"billing": (200.0, 20.0), "data": (320.0, 35.0)}  # mean talk, mean acw of a contact without offer


def tables(prefix: str, n: int, seed: int, added: tuple[float, float, float] = (PITCH_TALK_S, PITCH_ACW_S, POPUP_S)
           ) -> dict[str, pa.Table]:
    """Canonical campaigns, offers and contacts (``n`` contacts over ``DAYS`` days), ids starting ``prefix``;
    ``added``: seconds a pitched offer adds to talk and to after-contact work, and an unpitched pop-up to talk."""
    rng = np.random.default_rng(seed)
    cids = list(CAMPAIGNS)
    campaigns = pa.table({
        "campaign_id": cids, "name": [c.lower() for c in cids], "product": ["p"] * len(cids),
        "start_date": pa.array([FIRST + timedelta(days=CAMPAIGNS[c][5] - 1) for c in cids], pa.date32()),
        "end_date": pa.array([FIRST + timedelta(days=CAMPAIGNS[c][6] - 1) for c in cids], pa.date32()),
        "importance": [CAMPAIGNS[c][7] for c in cids], "difficulty": [CAMPAIGNS[c][8] for c in cids],
    })
    offers = pa.table({
        "offer_id": [CAMPAIGNS[c][0] for c in cids], "campaign_id": cids, "product": ["p"] * len(cids),
        "unit_price": [CAMPAIGNS[c][1] for c in cids], "commission": [CAMPAIGNS[c][2] for c in cids],
        "channel_fit": [CAMPAIGNS[c][4] for c in cids],
    })
    start = datetime.combine(FIRST, datetime.min.time(), UTC) - timedelta(hours=8)  # local midnight in Shanghai
    at = np.sort(rng.uniform(0, DAYS * 86400.0, n))
    queue = rng.choice(list(QUEUES), n, p=[0.6, 0.4])
    channel = rng.choice(["voice", "chat"], n, p=[0.7, 0.3])
    answered = rng.random(n) < 0.9
    mean_talk = np.array([QUEUES[q][0] for q in queue])
    mean_acw = np.array([QUEUES[q][1] for q in queue])
    talk = rng.gamma(2.0, mean_talk / 2.0)
    acw = rng.gamma(2.0, mean_acw / 2.0)
    popped = answered & (rng.random(n) < np.where(queue == "data", 0.5, 0.2))
    pitched = popped & (rng.random(n) < 0.8)
    camp = rng.choice(cids, n)
    accept_p = np.array([CAMPAIGNS[c][3] for c in camp])
    accepted = pitched & (rng.random(n) < accept_p)
    talk = talk + np.where(pitched, added[0], np.where(popped, added[2], 0.0))
    acw = acw + np.where(pitched, added[1], 0.0)
    offer = np.where(popped, np.array([CAMPAIGNS[c][0] for c in camp], dtype=object), None)
    result = np.where(pitched, np.where(accepted, "accepted", "declined"), None)
    price = np.array([CAMPAIGNS[c][1] for c in camp])
    offered_at = [start + timedelta(seconds=float(s)) for s in at]
    contacts = pa.table({
        "contact_id": [f"{prefix}{i:06d}" for i in range(n)],
        "queue": queue.tolist(), "channel": channel.tolist(), "direction": ["inbound"] * n,
        "offered_at": pa.array(offered_at, pa.timestamp("us", tz="UTC")),
        "answered_at": pa.array([o + timedelta(seconds=10) if a else None
                                 for o, a in zip(offered_at, answered, strict=True)], pa.timestamp("us", tz="UTC")),
        "ended_at": pa.array([o + timedelta(seconds=10 + float(t) + 1) for o, t in zip(offered_at, talk, strict=True)],
                             pa.timestamp("us", tz="UTC")),
        "talk_s": np.where(answered, talk, np.nan), "hold_s": np.where(answered, 0.0, np.nan),
        "acw_s": np.where(answered, acw, np.nan),
        "outcome": np.where(answered, "answered", "abandoned").tolist(),
        "offer_id": offer.tolist(), "offer_result": result.tolist(),
        "revenue": np.where(pitched, np.where(accepted, price, 0.0), np.nan),
    })
    return {"campaigns": campaigns, "offers": offers, "contacts": contacts}


def load(wh: Warehouse, tenant: str, prefix: str, n: int, seed: int,
         added: tuple[float, float, float] = (PITCH_TALK_S, PITCH_ACW_S, POPUP_S)) -> dict[str, pa.Table]:
    """Create ``tenant`` (Asia/Shanghai) if needed and load its generated tables; returns them."""
    if tenant not in {t.tenant_id for t in tenancy.list_tenants(wh)}:
        tenancy.create_tenant(wh, tenant, "Asia/Shanghai")
    t = tenancy.get_tenant(wh, tenant)
    data = tables(prefix, n, seed, added)
    write_to_warehouse(wh, t, data)
    return data
