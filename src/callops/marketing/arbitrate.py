"""Offer arbitration at contact time (issue 12, A1): eligibility, contact-policy limits, ranking, exploration.

For a contact (customer tags, value class and score from the value snapshot; channel, reason, wait so far):

1. **Never** during a complaint (the reason is one of ``policy.never_reasons`` or the caller flags it), when the
   service strategy rules upselling out (``policy.never_strategies``, e.g. priority routing, a care call) or after
   a long wait (``wait_s`` above ``policy.max_wait_s``).
2. **Contact policy**, counted on the decision log: at most ``max_per_contact`` offers on one contact, at most
   ``max_per_customer_month`` offers to a customer in 30 days, no repeat of an offer the customer declined in
   the last ``declined_cooldown_days`` days.
3. **Eligible offers**: the channel fits, the campaign runs today and is not paused (``marketing.state``,
   cached at most ``PAUSED_TTL_S``), and the offer's eligibility rule admits the tags, class and reason.
4. **Ranking**: ``propensity × value × weight`` (``offers.OfferLibrary.weight``); the propensity is the learned
   model's (``policy: learned``) or, before any training, the offer's prior (``policy: rules``).
5. **Exploration** (epsilon-greedy): with probability ``levers.exploration`` an eligible offer is drawn at
   random, else the best. The probability with which the chosen offer was picked,
   ``(1 − ε)·[best] + ε / k``, is returned and logged: what inverse-propensity evaluation of another policy needs.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from callops.marketing import decisionlog
from callops.marketing.offers import Offer, OfferLibrary, library
from callops.marketing.propensity import PropensityModel, context_features, current_model
from callops.value.yamlio import LANGS

# Decision ids: a random prefix per process and a counter (a uuid4 per decision read the OS's random source
# every time, a measurable share of a decision under load); 32 hex characters like a uuid.
_ID_PREFIX = uuid.uuid4().hex[:16]
_IDS = itertools.count(1)
PAUSED_TTL_S = 30.0  # a paused campaign leaves decisions within this (the issue asks for a minute)
LIMIT_WINDOW_DAYS = 30  # "per month" is a rolling 30 days


@dataclass(frozen=True)
class Scored:
    """An eligible offer with the parts of its score."""

    offer: Offer
    propensity: float
    value: float
    weight: float
    parts: dict[str, float]

    @property
    def score(self) -> float:
        """propensity × value × weight."""
        return self.propensity * self.value * self.weight


def score_offers(lib: OfferLibrary, offers: list[Offer], ctx: list[str],
                 model: PropensityModel | None) -> list[Scored]:  # fmt: skip
    """Score each offer: the model's propensity when the model knows the offer, else the offer's prior."""
    shared = model.shared_logit(ctx) if model is not None else 0.0
    out = []
    for o in offers:
        p = model.probability(o.id, ctx, shared) if model is not None and o.id in model.offers else o.prior
        w, parts = lib.weight(o)
        out.append(Scored(o, p, o.value, w, parts))
    return out


def choose(scored: list[Scored], exploration: float, draw: float, pick: int) -> tuple[int, float, bool]:
    """Epsilon-greedy: (index chosen, probability it had, explored?). ``draw`` is uniform in [0, 1), ``pick`` any
    integer (chooses among the k offers when exploring). The best is the first of the highest scores."""
    k = len(scored)
    best = max(range(k), key=lambda i: (scored[i].score, -i))
    if draw < exploration:
        i = pick % k
        explored = True
    else:
        i, explored = best, False
    p = (1.0 - exploration) * (i == best) + exploration / k
    return i, p, explored


def guidance(offer: Offer, tags: frozenset[str] | set[str]) -> dict[str, dict[str, str]]:
    """What to remind, what to offer and how to phrase it, per language (tag reminders first)."""
    out: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        remind = [t[lang] for tag, t in offer.reminders.items() if tag in tags]
        if "remind" in offer.guidance:
            remind.append(offer.guidance["remind"][lang])
        out[lang] = {"remind": " ".join(remind), "offer": offer.guidance["offer"][lang],
                     "phrase": offer.guidance["phrase"][lang]}  # fmt: skip
    return out


_PAUSED: dict[tuple[int, str], tuple[float, frozenset[str]]] = {}
_PAUSED_LOCK = threading.Lock()


def paused_campaigns(store: Any, tenant_id: str) -> frozenset[str]:
    """The tenant's paused campaigns (``marketing.state``), asked again at most every ``PAUSED_TTL_S`` seconds."""
    key = (id(store), tenant_id)
    now = time.monotonic()
    held = _PAUSED.get(key)
    if held is not None and now - held[0] < PAUSED_TTL_S:
        return held[1]
    from callops.marketing.state import paused_campaign_ids

    ids = frozenset(paused_campaign_ids(tenant_id, store=store))
    with _PAUSED_LOCK:
        _PAUSED[key] = (now, ids)
    return ids


def forget_paused() -> None:
    """Drop the cached paused sets (tests; a pause in this process is seen at once after it)."""
    with _PAUSED_LOCK:
        _PAUSED.clear()


def _limits(lib: OfferLibrary, history: list[dict[str, Any]], contact_id: str | None,
            now: datetime) -> tuple[str | None, set[str]]:  # fmt: skip
    """Why no offer may be made at all (None: one may), and the offers excluded (declined recently)."""
    pol = lib.policy
    if contact_id is not None and sum(1 for r in history if r["contact_id"] == contact_id) >= pol.max_per_contact:
        return f"already {pol.max_per_contact} offer(s) on this contact", set()
    month = now - timedelta(days=LIMIT_WINDOW_DAYS)
    if sum(1 for r in history if _aware(r["decided_at"]) >= month) >= pol.max_per_customer_month:
        return f"already {pol.max_per_customer_month} offers to this customer in {LIMIT_WINDOW_DAYS} days", set()
    cool = now - timedelta(days=pol.declined_cooldown_days)
    declined = {r["offer_id"] for r in history if r["outcome"] == "declined" and _aware(r["decided_at"]) >= cool}
    return None, declined


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def offer_for(tenant_id: str, customer_id: str, channel: str, reason: str | None, tags: list[str],
              value_class: str, score: float | None, day: date, *, wait_s: float | None = None,
              complaint: bool = False, contact_id: str | None = None, strategy: str | None = None, store: Any = None,
              log: bool = True, rng: random.Random | None = None,
              now: datetime | None = None) -> tuple[dict[str, Any] | None, str | None]:  # fmt: skip
    """The offer for a contact, with its score parts, probability and guidance, or (None, why). ``now`` (UTC,
    default the clock) is when the decision is made: the contact-policy windows count back from it."""
    lib = library(tenant_id)
    pol = lib.policy
    store = store if store is not None else decisionlog.default_store()
    now = now or datetime.now(UTC)
    tagset = frozenset(tags)
    why: str | None = None
    chosen: Scored | None = None
    prob: float | None = None
    explored = False
    scored: list[Scored] = []
    model = current_model(tenant_id)
    if complaint or (reason is not None and reason in pol.never_reasons):
        why = "never during a complaint"
    elif strategy is not None and strategy in pol.never_strategies:
        why = f"no offer with the service strategy {strategy}"
    elif wait_s is not None and wait_s > pol.max_wait_s:
        why = f"never after a long wait ({wait_s:.0f} s > {pol.max_wait_s:.0f} s)"
    else:
        since = now - timedelta(days=max(LIMIT_WINDOW_DAYS, pol.declined_cooldown_days))
        why, declined = _limits(lib, decisionlog.recent(store, tenant_id, customer_id, since), contact_id, now)
        if why is None:
            paused = paused_campaigns(store, tenant_id)
            offers = [o for o in lib.offers
                      if channel in o.channels and o.campaign not in paused and o.id not in declined
                      and lib.campaigns[o.campaign].running(day) and o.eligible.admits(tagset, value_class, reason)]
            if not offers:
                why = "no eligible offer"
            else:
                ctx = context_features(tags, value_class, score, reason, channel)
                scored = score_offers(lib, offers, ctx, model)
                r = rng or random
                i, prob, explored = choose(scored, lib.levers.exploration, r.random(), r.randrange(1 << 30))
                if scored[i].score < lib.levers.min_score and not explored:
                    why, prob = f"best score below the manager's minimum {lib.levers.min_score:g}", None
                else:
                    chosen = scored[i]
    policy = "learned" if model is not None else "rules"
    decision_id = f"{_ID_PREFIX}{next(_IDS):016x}"
    if log:
        decisionlog.log(store, {
            "id": decision_id, "tenant_id": tenant_id, "decided_at": now, "customer_id": customer_id,
            "contact_id": contact_id, "channel": channel, "reason": reason,
            "offer_id": chosen.offer.id if chosen else None, "campaign_id": chosen.offer.campaign if chosen else None,
            "probability": prob if chosen else None, "propensity": chosen.propensity if chosen else None,
            "value": chosen.value if chosen else None, "weight": chosen.weight if chosen else None,
            "score": chosen.score if chosen else None, "policy": policy,
            "model_version": model.version if model is not None else None,
            "eligible": [s.offer.id for s in scored], "why": why})  # fmt: skip
    if chosen is None:
        return None, why
    o = chosen.offer
    return {
        "decision_id": decision_id,
        "offer_id": o.id,
        "campaign_id": o.campaign,
        "product": o.product,
        "unit_price": o.unit_price,
        "score": {"propensity": chosen.propensity, "value": chosen.value, "weight": chosen.weight,
                  **chosen.parts, "score": chosen.score},
        "propensity_source": f"model v{model.version}" if model is not None and o.id in model.offers else "prior",
        "policy": policy,
        "probability": prob,
        "explored": explored,
        "exploration": lib.levers.exploration,
        "alternatives": [{"offer_id": s.offer.id, "score": s.score} for s in
                         sorted(scored, key=lambda s: -s.score) if s is not chosen][:3],
        "guidance": guidance(o, tagset),
    }, None
