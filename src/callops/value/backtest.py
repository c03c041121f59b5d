"""Back-test of the value model (A5): score on data before a date, measure against what happened after.

Customers active at the split (not churned) are scored with the data before the split. After the
split we measure, for the value score and for the baseline (a plain ARPU ranking):

- ``top_decile_lift``: mean later revenue of the top 10 % by the ranking ÷ mean later revenue of all;
- ``churn_auc``: the probability that a customer who churned after the split ranks *below* one who did
  not (Mann-Whitney, ties count half) — 0.5 is chance;
- ``repeat_contacts``: later repeat contacts per customer by value class (complex should lead);
- ``purchases``: BG/NBD expected purchases over the hold-out against the actual number (day-level).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from scipy import stats

from callops import tenancy
from callops.errors import CallopsError
from callops.value import features as feat
from callops.value.model import ValueModel, load_model
from callops.value.rules import TagLibrary, load_tags
from callops.value.snapshot import score_frame
from callops.warehouse import Warehouse


def auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """Area under the ROC curve of ``score`` for ``positive`` (rank formula, ties half); None if one class."""
    pos = np.asarray(positive, dtype=bool)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return None
    ranks = stats.rankdata(score)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def top_decile_lift(score: np.ndarray, outcome: np.ndarray) -> float | None:
    """Mean outcome of the top 10 % by ``score`` ÷ the overall mean (ties broken by position)."""
    y = np.asarray(outcome, dtype=float)
    if len(y) < 10 or y.mean() <= 0:
        return None
    k = max(1, len(y) // 10)
    top = np.argsort(-np.asarray(score, dtype=float), kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def outcomes(wh: Warehouse, tenant: tenancy.Tenant, start: feat.AsOf, end: feat.AsOf) -> pa.Table:
    """Per customer after the split: revenue, purchases (days with one), churned, repeat contacts."""
    e = tenancy.scoped(wh, tenant, "customer_events")
    e = e.filter((e.ts >= start.cutoff) & (e.ts < end.cutoff))
    buy = e.filter(e.kind == "purchase")
    days = buy.group_by([buy.customer_id, (buy.ts.epoch_seconds() // 86400).name("d")]).aggregate(
        amount=buy.amount.sum())
    p = days.group_by("customer_id").aggregate(later_purchases=days.count(), later_spend=days.amount.sum())
    gone = e.filter((e.kind == "status_change") & (e.status_to == "churned"))
    ch = gone.group_by("customer_id").aggregate(churned=gone.count())
    c = tenancy.scoped(wh, tenant, "contacts")
    c = c.filter(c.customer_id.notnull() & (c.offered_at >= start.cutoff) & (c.offered_at < end.cutoff))
    cc = c.group_by("customer_id").aggregate(later_contacts=c.count(), later_businesses=c.business_type.nunique(),
                                             later_contact_revenue=c.revenue.sum())  # fmt: skip
    cust = tenancy.scoped(wh, tenant, "customers").select("customer_id")
    j = cust.left_join(p, "customer_id").left_join(ch, "customer_id").left_join(cc, "customer_id")
    return j.select(
        customer_id=j.customer_id,
        later_purchases=j.later_purchases.fill_null(0),
        later_revenue=j.later_spend.fill_null(0.0) + j.later_contact_revenue.fill_null(0.0),
        churned=j.churned.fill_null(0),
        later_repeats=(j.later_contacts.fill_null(0) - j.later_businesses.fill_null(0)),
    ).order_by("customer_id").to_pyarrow()


def backtest(wh: Warehouse, tenant: tenancy.Tenant, split: date, end: date | None = None, *,
             model: ValueModel | None = None, tags: TagLibrary | None = None) -> dict[str, Any]:  # fmt: skip
    """Score on data before ``split``; measure the ranking on ``split`` .. ``end`` (default: today)."""
    model = model or load_model()
    tags = tags or load_tags()
    before = feat.AsOf.of(split - timedelta(days=1), tenant.timezone)
    after = feat.AsOf.of(end, tenant.timezone)
    if after.cutoff <= before.cutoff:
        raise CallopsError(f"the split {split} must be before the end of the hold-out {after.day}")
    _, features, scores, _hits = score_frame(wh, tenant, before.day, model, tags)
    later = outcomes(wh, tenant, before, after)
    if later.column("customer_id").to_pylist() != features.column("customer_id").to_pylist():
        raise CallopsError("customers changed between the score and the outcomes; run the back-test again")
    status = np.asarray(features.column("status").to_pylist(), dtype=object)
    keep = status != "churned"
    if keep.sum() < 10:
        raise CallopsError(f"too few customers active at the split {split} to back-test")
    score = scores.score[keep]
    arpu = np.asarray(features.column("arpu").to_numpy(zero_copy_only=False), dtype=float)[keep]
    revenue = np.asarray(later.column("later_revenue").to_numpy(zero_copy_only=False), dtype=float)[keep]
    churned = np.asarray(later.column("churned").to_numpy(zero_copy_only=False), dtype=float)[keep] > 0
    repeats = np.asarray(later.column("later_repeats").to_numpy(zero_copy_only=False), dtype=float)[keep]
    purchases = np.asarray(later.column("later_purchases").to_numpy(zero_copy_only=False), dtype=float)[keep]
    expected = np.asarray(features.column("clv_purchases").to_numpy(zero_copy_only=False), dtype=float)[keep]
    p_alive = np.asarray(features.column("clv_p_alive").to_numpy(zero_copy_only=False), dtype=float)[keep]
    horizon_days = (after.cutoff - before.cutoff).total_seconds() / 86400.0
    # expected purchases over the whole hold-out (the features predict 90 days): rescale via the fitted model
    exp_total = _expected_over(wh, tenant, before, horizon_days)
    classes = scores.value_class[keep].astype(str)
    by_class = {
        c: {"customers": int((classes == c).sum()),
            "later_revenue_per_customer": float(revenue[classes == c].mean()),
            "later_repeat_contacts_per_customer": float(repeats[classes == c].mean()),
            "churn_rate": float(churned[classes == c].mean())}
        for c in sorted(set(classes.tolist()))
    }  # fmt: skip
    return {
        "tenant": tenant.tenant_id,
        "split": split.isoformat(),
        "end": after.day.isoformat(),
        "customers": int(keep.sum()),
        "churned_after_split": int(churned.sum()),
        "model": {"id": model.id, "version": model.version},
        "value_score": {"top_decile_lift": top_decile_lift(score, revenue), "churn_auc": auc(-score, churned),
                        "p_alive_churn_auc": auc(-p_alive, churned)},
        "arpu_baseline": {"top_decile_lift": top_decile_lift(arpu, revenue), "churn_auc": auc(-arpu, churned)},
        "future_value": {"top_decile_lift": top_decile_lift(expected, revenue)},
        "purchases": {"expected": exp_total if exp_total is not None else float(expected.sum()),
                      "actual": float(purchases.sum()), "horizon_days": round(horizon_days, 2)},
        "classes": by_class,
    }  # fmt: skip


def _expected_over(wh: Warehouse, tenant: tenancy.Tenant, at: feat.AsOf, days: float) -> float | None:
    """BG/NBD expected purchases of all customers over ``days`` after ``at`` (fitted on data before it)."""
    c = feat.clv_features(wh, tenant, at, horizon_days=days)
    return None if c is None else float(np.sum(c.purchases))
