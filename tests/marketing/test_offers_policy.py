"""Eligibility and the contact-policy limits, checked step by step against a brute-force reading of the rules
over random sequences of contacts, outcomes and days (hypothesis), on the real store."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callops.marketing import decisionlog
from callops.marketing.arbitrate import LIMIT_WINDOW_DAYS, offer_for
from callops.marketing.offers import library
from callops.store.db import Store

REASONS = ["data_plan", "billing", "complaint", "upgrade_5g", None]
CHANNELS = ["voice", "chat", "sms", "app"]
TAGS = ["heavy_data_user", "4g_not_migrated", "in_arrears", "suspended_for_billing", "dissatisfied_recently"]

step = st.tuples(
    st.integers(0, 3),  # contact number (the same number on the same day is the same contact)
    st.sampled_from(REASONS), st.sampled_from(CHANNELS),
    st.sampled_from(["accepted", "declined", None]),  # what the customer says to an offer
    st.integers(0, 12),  # days after the previous step
    st.sampled_from([None, 30.0, 400.0]),  # wait so far
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(step, min_size=1, max_size=12), st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
       st.sampled_from(["standard", "high_value", "low_value", "unknown"]))
def test_offers_obey_eligibility_and_the_contact_policy(marketing_world, steps, tags, value_class) -> None:
    store = Store(marketing_world.store_url, upgrade=False)
    lib = library("mk1")
    pol = lib.policy
    customer = f"HYP{uuid.uuid4().hex[:10]}"
    now = datetime(2026, 1, 1, 9, tzinfo=UTC)
    made: list[tuple[datetime, str, str, str | None]] = []  # (when, contact, offer, outcome)
    try:
        for contact_no, reason, channel, answer, gap, wait in steps:
            now += timedelta(days=gap, minutes=5)
            contact = f"{customer}-{now.date()}-{contact_no}"
            offer, why = offer_for("mk1", customer, channel, reason, tags, value_class, 50.0, date(2026, 1, 1),
                                   wait_s=wait, contact_id=contact, store=store, now=now)  # fmt: skip
            # brute force: may an offer be made, and which ones?
            blocked = (reason in pol.never_reasons or (wait is not None and wait > pol.max_wait_s)
                       or sum(c == contact for _, c, _, _ in made) >= pol.max_per_contact
                       or sum(now - t < timedelta(days=LIMIT_WINDOW_DAYS) for t, _, _, _ in made)
                       >= pol.max_per_customer_month)  # fmt: skip
            declined = {o for t, _, o, out in made
                        if out == "declined" and now - t <= timedelta(days=pol.declined_cooldown_days)}
            allowed = {o.id for o in lib.offers if channel in o.channels and o.id not in declined
                       and o.eligible.admits(frozenset(tags), value_class, reason)}  # fmt: skip
            if blocked or not allowed:
                assert offer is None and why, (offer, why)
                continue
            assert offer is not None, why
            assert offer["offer_id"] in allowed
            assert 0 < offer["probability"] <= 1
            s = offer["score"]
            assert abs(s["score"] - s["propensity"] * s["value"] * s["weight"]) < 1e-9
            made.append((now, contact, offer["offer_id"], answer))
            if answer is not None:
                decisionlog.record_outcome(store, "mk1", offer["decision_id"], answer, now)
    finally:
        decisionlog.flush(store)


def test_complaint_and_long_wait_never_get_an_offer(marketing_world) -> None:
    store = Store(marketing_world.store_url, upgrade=False)
    for kwargs in ({"reason": "complaint"}, {"reason": "billing", "complaint": True},
                   {"reason": "billing", "wait_s": 181.0}, {"reason": "billing", "strategy": "priority_routing"},
                   {"reason": "billing", "strategy": "care_call"}):  # fmt: skip
        reason = kwargs.pop("reason")
        offer, why = offer_for("mk1", "NEVER1", "voice", reason, [], "standard", 50.0, date.today(), store=store,
                               **kwargs)  # fmt: skip
        assert offer is None and (why.startswith("never") or "strategy" in why), why
    offer, _ = offer_for("mk1", "NEVER1", "voice", "billing", [], "standard", 50.0, date.today(), wait_s=180.0,
                         store=store)  # fmt: skip
    assert offer is not None  # at the limit itself an offer is still allowed
    decisionlog.flush(store)
