"""One view per customer (A3): features as of a date, computed in the warehouse through ``tenancy.scoped``.

"As of DATE" means everything that happened before the end of DATE in the tenant's zone; windows
(7/30/90/365 days) end there too. The future-value features come from BG/NBD + Gamma-Gamma fitted
on the tenant's purchase history before that instant (:mod:`callops.value.clv`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import ibis
import numpy as np
import pyarrow as pa

from callops import tenancy
from callops.schema import Channel
from callops.warehouse import Warehouse

CHANNELS = tuple(c.value for c in Channel)
COMPLAINT_BUSINESS = ("complaint", "complaints")
CLV_HORIZON_DAYS = 90  # the future-value features predict the next 90 days
CLV_FIT_SAMPLE = 10_000  # customers the customer-base model is fitted on (predictions cover everyone)

# Feature name -> description (the names an indicator, tag or class expression may use).
FEATURES: dict[str, str] = {
    "customer_id": "Customer id.",
    "plan": "Current plan.",
    "arpu": "Average revenue per user per month.",
    "tenure_months": "Months as a customer.",
    "network_generation": "2G/3G/4G/5G.",
    "status": "Account status as of the date (from the status history).",
    "usage_gb": "Monthly data usage, GB.",
    "region": "Region.",
    "vip_level": "VIP level, 0 for none.",
    **{f"contacts_{d}d": f"Contacts in the last {d} days (all channels)." for d in (7, 30, 90)},
    **{f"contacts_{c}_30d": f"Contacts on {c} in the last 30 days." for c in CHANNELS},
    "businesses_30d": "Distinct businesses contacted about in the last 30 days.",
    "repeat_contacts_30d": "Contacts in the last 30 days beyond the first about each business.",
    "max_business_contacts_30d": "Most contacts about one business in the last 30 days.",
    "transfers_30d": "Transfers in the last 30 days.",
    "complaints_30d": "Complaint contacts in the last 30 days.",
    "complaints_90d": "Complaint contacts in the last 90 days.",
    "csat_last": "Last satisfaction score (1-5); empty if never surveyed.",
    "csat_mean_90d": "Mean satisfaction over 90 days.",
    "csat_trend": "Mean satisfaction of the last 30 days minus that of days 31-90.",
    "offers_presented_90d": "Offers presented in the last 90 days.",
    "offers_accepted_90d": "Offers accepted in the last 90 days.",
    "journey_failures_7d": "Failed journey steps in the last 7 days.",
    "journey_failures_30d": "Failed journey steps in the last 30 days.",
    "revenue_90d": "Revenue in the last 90 days: purchases plus contact revenue.",
    "purchases_90d": "Purchases in the last 90 days.",
    "purchases_365d": "Purchases in the last 365 days.",
    "spend_365d": "Purchase spend in the last 365 days.",
    "days_since_contact": "Days since the last contact (9999 if none).",
    "days_since_purchase": "Days since the last purchase (9999 if none).",
    "unsubscribes_30d": "Unsubscriptions in the last 30 days.",
    "suspended_billing_30d": "Suspensions for billing in the last 30 days.",
    "days_since_status_change": "Days since the last status change (9999 if none).",
    "clv_purchases": "Expected purchases in the next 90 days (BG/NBD).",
    "clv_p_alive": "Probability the customer is still active (BG/NBD).",
    "clv_spend": "Expected value of a purchase (Gamma-Gamma).",
    "clv_value": "Expected spend in the next 90 days: clv_purchases x clv_spend.",
}
TEXT_FEATURES = {"customer_id", "plan", "network_generation", "status", "region"}


@dataclass(frozen=True)
class AsOf:
    """The instant features are computed at: the end of ``day`` in the tenant's zone."""

    day: date
    cutoff: datetime  # UTC

    @classmethod
    def of(cls, day: date | None, zone: str) -> AsOf:
        """The end of ``day`` (default today) in ``zone``."""
        tz = ZoneInfo(zone)
        day = day or datetime.now(tz).date()
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz).astimezone(UTC)
        return cls(day, end)


def _count(t: ibis.Table, cond: ibis.Value) -> ibis.Value:
    return ibis.ifelse(cond, 1, 0).sum()


def customer_features(wh: Warehouse, tenant: tenancy.Tenant, as_of: AsOf,
                      customer_ids: list[str] | None = None, *, with_clv: bool = True) -> pa.Table:
    """Features of every customer of ``tenant`` (or of ``customer_ids``) as of ``as_of``: one row each."""
    cut = as_of.cutoff

    def since(days: int) -> datetime:
        return cut - timedelta(days=days)

    cust = tenancy.scoped(wh, tenant, "customers")
    con = tenancy.scoped(wh, tenant, "contacts")
    jrn = tenancy.scoped(wh, tenant, "journey_events")
    evt = tenancy.scoped(wh, tenant, "customer_events")
    if customer_ids is not None:
        cust = cust.filter(cust.customer_id.isin(customer_ids))
        con = con.filter(con.customer_id.isin(customer_ids))
        jrn = jrn.filter(jrn.customer_id.isin(customer_ids))
        evt = evt.filter(evt.customer_id.isin(customer_ids))
    con = con.filter(con.customer_id.notnull() & (con.offered_at < cut) & (con.offered_at >= since(365)))
    w7, w30, w90 = (con.offered_at >= since(7)), (con.offered_at >= since(30)), (con.offered_at >= since(90))
    complaint = con.business_type.isin(COMPLAINT_BUSINESS)
    aggs = {f"contacts_{d}": _count(con, w) for d, w in (("7d", w7), ("30d", w30), ("90d", w90))}
    aggs |= {f"contacts_{c}_30d": _count(con, w30 & (con.channel == c)) for c in CHANNELS}
    aggs |= {
        "businesses_30d": con.business_type.nunique(where=w30),
        "transfers_30d": con.transfers.sum(where=w30),
        "complaints_30d": _count(con, w30 & complaint),
        "complaints_90d": _count(con, w90 & complaint),
        "csat_last": con.csat.argmax(con.offered_at, where=con.csat.notnull()),
        "csat_mean_90d": con.csat.mean(where=w90),
        "csat_30d": con.csat.mean(where=w30),
        "csat_31_90d": con.csat.mean(where=w90 & ~w30),
        "offers_presented_90d": _count(con, w90 & con.offer_id.notnull()),
        "offers_accepted_90d": _count(con, w90 & (con.offer_result == "accepted")),
        "contact_revenue_90d": con.revenue.sum(where=w90),
        "last_contact": con.offered_at.max(),
    }
    contacts = con.group_by("customer_id").aggregate(**aggs)
    per_business = (con.filter(w30).group_by(["customer_id", "business_type"]).aggregate(n=con.contact_id.count())
                    .group_by("customer_id").aggregate(max_business_contacts_30d=ibis._.n.max()))  # fmt: skip
    jrn = jrn.filter(jrn.customer_id.notnull() & (jrn.ts < cut) & (jrn.ts >= since(30)) & (jrn.outcome == "failed"))
    journeys = jrn.group_by("customer_id").aggregate(
        journey_failures_7d=_count(jrn, jrn.ts >= since(7)), journey_failures_30d=jrn.count())
    evt = evt.filter(evt.ts < cut)
    buy = evt.kind == "purchase"
    e365 = evt.ts >= since(365)
    status_change = evt.kind == "status_change"
    events = evt.group_by("customer_id").aggregate(
        purchases_90d=_count(evt, buy & (evt.ts >= since(90))),
        purchases_365d=_count(evt, buy & e365),
        spend_365d=evt.amount.sum(where=buy & e365),
        purchase_revenue_90d=evt.amount.sum(where=buy & (evt.ts >= since(90))),
        last_purchase=evt.ts.max(where=buy),
        unsubscribes_30d=_count(evt, (evt.kind == "unsubscribe") & (evt.ts >= since(30))),
        suspended_billing_30d=_count(evt, status_change & (evt.status_to == "suspended") & (evt.reason == "billing")
                                     & (evt.ts >= since(30))),
        last_status_change=evt.ts.max(where=status_change),
        status_then=evt.status_to.argmax(evt.ts, where=status_change),
    )
    # The status before the first change after the cut-off, for customers whose last change came later.
    later = tenancy.scoped(wh, tenant, "customer_events")
    later = later.filter((later.kind == "status_change") & (later.ts >= cut))
    if customer_ids is not None:
        later = later.filter(later.customer_id.isin(customer_ids))
    later = later.group_by("customer_id").aggregate(status_before=later.status_from.argmin(later.ts))
    joined = (cust.left_join(contacts, "customer_id").left_join(per_business, "customer_id")
              .left_join(journeys, "customer_id").left_join(events, "customer_id")
              .left_join(later, "customer_id"))  # fmt: skip
    zero = ibis.literal(0)

    def days_since(col: ibis.Value) -> ibis.Value:
        return ibis.ifelse(col.isnull(), 9999.0, (ibis.literal(cut).epoch_seconds() - col.epoch_seconds()) / 86400.0)

    out = joined.select(
        customer_id=joined.customer_id,
        plan=joined.plan,
        arpu=joined.arpu.fill_null(0.0),
        tenure_months=joined.tenure_months.fill_null(0),
        network_generation=joined.network_generation,
        status=joined.status_then.coalesce(joined.status_before, joined.status),
        usage_gb=joined.usage_gb.fill_null(0.0),
        region=joined.region,
        vip_level=joined.vip_level.fill_null(0),
        **{k: joined[k].fill_null(zero) for k in aggs if k.startswith("contacts_")},
        businesses_30d=joined.businesses_30d.fill_null(0),
        repeat_contacts_30d=(joined.contacts_30d.fill_null(0) - joined.businesses_30d.fill_null(0)),
        max_business_contacts_30d=joined.max_business_contacts_30d.fill_null(0),
        transfers_30d=joined.transfers_30d.fill_null(0),
        complaints_30d=joined.complaints_30d.fill_null(0),
        complaints_90d=joined.complaints_90d.fill_null(0),
        csat_last=joined.csat_last,
        csat_mean_90d=joined.csat_mean_90d,
        csat_trend=joined.csat_30d - joined.csat_31_90d,
        offers_presented_90d=joined.offers_presented_90d.fill_null(0),
        offers_accepted_90d=joined.offers_accepted_90d.fill_null(0),
        journey_failures_7d=joined.journey_failures_7d.fill_null(0),
        journey_failures_30d=joined.journey_failures_30d.fill_null(0),
        revenue_90d=joined.purchase_revenue_90d.fill_null(0.0) + joined.contact_revenue_90d.fill_null(0.0),
        purchases_90d=joined.purchases_90d.fill_null(0),
        purchases_365d=joined.purchases_365d.fill_null(0),
        spend_365d=joined.spend_365d.fill_null(0.0),
        days_since_contact=days_since(joined.last_contact),
        days_since_purchase=days_since(joined.last_purchase),
        unsubscribes_30d=joined.unsubscribes_30d.fill_null(0),
        suspended_billing_30d=joined.suspended_billing_30d.fill_null(0),
        days_since_status_change=days_since(joined.last_status_change),
    ).order_by("customer_id")
    table = out.to_pyarrow()
    clv = clv_features(wh, tenant, as_of, table.column("customer_id").to_pylist() if customer_ids else None) \
        if with_clv else None
    n = table.num_rows
    if clv is None:
        cols = {k: np.zeros(n) for k in ("clv_purchases", "clv_spend", "clv_value")} | {"clv_p_alive": np.ones(n)}
    else:
        ids = np.asarray(table.column("customer_id").to_pylist(), dtype=object)
        cols = clv_columns(clv, ids)
    for name in ("clv_purchases", "clv_p_alive", "clv_spend", "clv_value"):
        table = table.append_column(name, pa.array(cols[name], pa.float64()))
    return table


@dataclass(frozen=True)
class ClvFeatures:
    """Future value per customer id (customers without purchases are absent)."""

    ids: np.ndarray
    purchases: np.ndarray
    p_alive: np.ndarray
    spend: np.ndarray
    prior_spend: float


def clv_columns(clv: ClvFeatures, ids: np.ndarray) -> dict[str, np.ndarray]:
    """The four clv_* columns for ``ids`` (customers who never bought: no purchases, the prior spend)."""
    index = {c: i for i, c in enumerate(clv.ids.tolist())}
    pos = np.array([index.get(c, -1) for c in ids.tolist()], dtype=np.int64)
    have = pos >= 0
    purchases = np.where(have, clv.purchases[np.maximum(pos, 0)] if len(clv.ids) else 0.0, 0.0)
    p_alive = np.where(have, clv.p_alive[np.maximum(pos, 0)] if len(clv.ids) else 1.0, 1.0)
    spend = np.where(have, clv.spend[np.maximum(pos, 0)] if len(clv.ids) else 0.0, clv.prior_spend)
    return {"clv_purchases": purchases, "clv_p_alive": p_alive, "clv_spend": spend, "clv_value": purchases * spend}


def clv_features(wh: Warehouse, tenant: tenancy.Tenant, as_of: AsOf,
                 customer_ids: list[str] | None = None, horizon_days: float = CLV_HORIZON_DAYS) -> ClvFeatures | None:
    """BG/NBD + Gamma-Gamma fitted on the tenant's purchases before ``as_of`` (days), predicted ``horizon_days`` ahead.

    The model is fitted on a fixed random sample of at most ``CLV_FIT_SAMPLE`` customers (the likelihood
    is a sum over customers; more adds time, not accuracy) and predicts every customer (or ``customer_ids``).
    None when there are too few purchases to fit.
    """
    from callops.value import clv

    evt = tenancy.scoped(wh, tenant, "customer_events")
    evt = evt.filter((evt.kind == "purchase") & (evt.ts < as_of.cutoff))
    day = evt.ts.epoch_seconds() // 86400
    daily = evt.group_by([evt.customer_id, day.name("day")]).aggregate(amount=evt.amount.sum())
    g = daily.group_by("customer_id").aggregate(
        first=daily.day.min(), last=daily.day.max(), n=daily.count(), total=daily.amount.sum(),
        first_amount=daily.amount.argmin(daily.day))
    rfm = g.to_pyarrow()
    if rfm.num_rows < 10:
        return None
    end_day = (as_of.cutoff.timestamp() // 86400) - 1
    first = np.asarray(rfm.column("first").to_numpy(), dtype=float)
    last = np.asarray(rfm.column("last").to_numpy(), dtype=float)
    x = np.asarray(rfm.column("n").to_numpy(), dtype=float) - 1.0
    total = np.nan_to_num(np.asarray(rfm.column("total").to_numpy(zero_copy_only=False), dtype=float))
    first_amount = np.nan_to_num(np.asarray(rfm.column("first_amount").to_numpy(zero_copy_only=False), dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(x > 0, (total - first_amount) / x, np.nan)
    tx, t_cal = (last - first) / 7.0, (end_day - first) / 7.0
    rng = np.random.default_rng(20050301)
    sample = rng.choice(len(x), size=min(len(x), CLV_FIT_SAMPLE), replace=False)
    try:
        bg = clv.fit_bgnbd(x[sample], tx[sample], t_cal[sample], precise=False)
        gg = clv.fit_gamma_gamma(x[sample], m[sample], precise=False)
    except Exception:
        return None
    ids = np.asarray(rfm.column("customer_id").to_pylist(), dtype=object)
    if customer_ids is not None:
        keep = np.isin(ids, np.asarray(customer_ids, dtype=object))
        ids, x, tx, t_cal, m = ids[keep], x[keep], tx[keep], t_cal[keep], m[keep]
    horizon = horizon_days / 7.0
    return ClvFeatures(ids, np.nan_to_num(bg.expected_purchases(horizon, x, tx, t_cal)), bg.p_alive(x, tx, t_cal),
                       gg.expected_spend(x, m), gg.p * gg.gamma / (gg.q - 1.0))  # fmt: skip
