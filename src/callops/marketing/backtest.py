"""Back-test of the learned offer policy against the rules-only policy (issue 12), by off-policy evaluation.

The propensity model is trained on the offers presented before ``split`` and judged on those presented from
``split`` on (the hold-out):

* **AUC** of the predicted acceptance of the offer actually presented (Mann–Whitney with mid-ranks for ties).
* **Policy value.** Each policy picks, for each hold-out contact, the best-scoring offer among those its rules
  admit *and* the logging policy could have presented (greedy, no exploration): the **rules-only** policy ranks
  with the offers' priors, the **learned** policy with the model's propensity (both × value × business weight).
  What a policy would have earned is estimated from what was logged, by inverse propensity (IPS)

      V_IPS = mean( 1[a_i = π(x_i)] / p_i · r_i )

  and doubly robust (DR, Dudík et al. 2011), with the model as the reward estimate q̂:

      V_DR  = mean( q̂(x_i, π(x_i)) + 1[a_i = π(x_i)] / p_i · (r_i − q̂(x_i, a_i)) )

  where ``a_i`` is the offer presented, ``p_i`` the probability with which it was presented and ``r_i`` the
  reward (accepted 0/1; revenue). A contact where a policy makes no offer earns exactly 0. Confidence intervals
  are percentile bootstraps over hold-out contacts (the difference learned − rules paired on the same draws).

**Logging propensity.** The warehouse's contacts do not record with which probability an offer was chosen. The
back-test assumes the history's policy drew uniformly among the offers that fit the contact's channel and whose
campaign ran that day (the warehouse's ``offers.channel_fit`` and ``campaigns`` dates) — which is exactly the
demo simulator's policy (``callops.sim.marketing``). Decisions made by callops log their own probability in the
store (``marketing_decisions.probability``) for evaluations on live data.

Not modelled here: the contact-policy limits (per customer and month) and paused campaigns, which would only
shrink both policies' choice sets alike.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from callops import tenancy
from callops.errors import CallopsError
from callops.marketing.offers import OfferLibrary, library, marketing_dir
from callops.marketing.propensity import context_features, customer_context, fit, offer_history
from callops.warehouse import Warehouse


def auc(y: np.ndarray, s: np.ndarray) -> float | None:
    """Area under the ROC curve: P(score of a positive > score of a negative) + ½ P(tie); None with one class."""
    from scipy.stats import rankdata

    y = np.asarray(y, dtype=bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return None
    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def ips_terms(logged: np.ndarray, target: np.ndarray, p_log: np.ndarray, reward: np.ndarray) -> np.ndarray:
    """Per-contact IPS terms 1[a = π] / p · r (target -1: no offer, term 0)."""
    match = (logged == target) & (target >= 0)
    return np.where(match, reward / p_log, 0.0)


def dr_terms(logged: np.ndarray, target: np.ndarray, p_log: np.ndarray, reward: np.ndarray,
             q_logged: np.ndarray, q_target: np.ndarray) -> np.ndarray:  # fmt: skip
    """Per-contact doubly robust terms q̂(x, π) + 1[a = π] / p · (r − q̂(x, a)) (no offer: 0)."""
    match = (logged == target) & (target >= 0)
    return np.where(target >= 0, q_target, 0.0) + np.where(match, (reward - q_logged) / p_log, 0.0)


def bootstrap_ci(terms: np.ndarray, reps: int = 500, level: float = 0.95, seed: int = 0) -> np.ndarray:
    """Percentile bootstrap intervals of the column means of ``terms`` (n × m): shape (m, 2)."""
    terms = np.asarray(terms, dtype=float)
    if terms.ndim == 1:
        terms = terms[:, None]
    n = len(terms)
    if n == 0:
        return np.full((terms.shape[1], 2), np.nan)
    rng = np.random.default_rng(seed)
    means = np.empty((reps, terms.shape[1]))
    for b in range(reps):
        means[b] = terms[rng.integers(0, n, n)].mean(axis=0)
    a = (1 - level) / 2
    return np.quantile(means, [a, 1 - a], axis=0).T


def _logging_support(wh: Warehouse, tenant: tenancy.Tenant, offer_ids: list[str]) -> tuple[
        dict[str, frozenset[str]], dict[str, tuple[date | None, date | None]], dict[str, float], dict[str, str]]:
    """Per offer of the warehouse: channels, campaign dates, unit price, campaign."""
    o = tenancy.scoped(wh, tenant, "offers").select("offer_id", "campaign_id", "unit_price", "channel_fit")
    c = tenancy.scoped(wh, tenant, "campaigns").select("campaign_id", "start_date", "end_date")
    offers = o.to_pyarrow().to_pylist()
    camps = {r["campaign_id"]: (r["start_date"], r["end_date"]) for r in c.to_pyarrow().to_pylist()}
    channels = {r["offer_id"]: frozenset((r["channel_fit"] or "").split(";")) - {""} for r in offers}
    dates = {r["offer_id"]: camps.get(r["campaign_id"], (None, None)) for r in offers}
    price = {r["offer_id"]: float(r["unit_price"] or 0.0) for r in offers}
    campaign = {r["offer_id"]: r["campaign_id"] for r in offers}
    return channels, dates, price, campaign


def _fits(dates: tuple[date | None, date | None], day: date) -> bool:
    return (dates[0] is None or dates[0] <= day) and (dates[1] is None or day <= dates[1])


def backtest(wh: Warehouse, tenant: tenancy.Tenant, split: date, end: date | None = None, *,
             lib: OfferLibrary | None = None, reps: int = 500, seed: int = 0,
             details: bool = False) -> dict[str, Any]:  # fmt: skip
    """Train before ``split``, evaluate from ``split`` (to ``end``, exclusive): AUC, and the acceptance rate and
    revenue per offered contact of the learned and the rules-only policy, with bootstrap intervals. ``details``
    adds each evaluated hold-out contact and the offer each policy chose for it (``choices``)."""
    t0 = time.perf_counter()
    lib = lib or library(tenant.tenant_id)
    train = offer_history(wh, tenant, None, split)
    test = offer_history(wh, tenant, split, end)
    if train.num_rows == 0 or test.num_rows == 0:
        raise CallopsError(f"no presented offers {'before' if train.num_rows == 0 else 'from'} {split} for tenant "
                           f"{tenant.tenant_id!r}: choose another --split")  # fmt: skip
    customers, snap = customer_context(tenant.tenant_id, split)

    def ctx_of(t: pa.Table) -> list[list[str]]:
        out = []
        for cid, reason, ch in zip(t.column("customer_id").to_pylist(), t.column("reason").to_pylist(),
                                   t.column("channel").to_pylist(), strict=True):  # fmt: skip
            tags, vc, s = customers.get(cid, ([], "unknown", None))
            out.append(context_features(tags, vc, s, reason, str(ch)))
        return out

    y_train = np.asarray(train.column("accepted").to_numpy(zero_copy_only=False), dtype=bool)
    model = fit(ctx_of(train), train.column("offer_id").to_pylist(), y_train)
    channels, dates, price, _ = _logging_support(wh, tenant, sorted(set(test.column("offer_id").to_pylist())))
    lib_offers = {o.id: o for o in lib.offers}
    action_ids = sorted(set(channels) | set(lib_offers))
    code = {a: i for i, a in enumerate(action_ids)}
    ctxs = ctx_of(test)
    logged_ids = test.column("offer_id").to_pylist()
    y = np.asarray(test.column("accepted").to_numpy(zero_copy_only=False), dtype=bool)
    revenue = np.asarray(test.column("revenue").to_numpy(zero_copy_only=False), dtype=float)
    n = test.num_rows
    logged = np.array([code[a] for a in logged_ids])
    p_log = np.zeros(n)
    target = {"rules": np.full(n, -1), "learned": np.full(n, -1)}
    q_log = np.zeros(n)
    q_tgt = {"rules": np.zeros(n), "learned": np.zeros(n)}
    price_of = {a: price.get(a, lib_offers[a].unit_price if a in lib_offers else 0.0) for a in action_ids}
    pol = lib.policy
    keep = np.ones(n, dtype=bool)
    for i, (cid, ch, reason, day, wait) in enumerate(zip(
            test.column("customer_id").to_pylist(), test.column("channel").to_pylist(),
            test.column("reason").to_pylist(), test.column("day").to_pylist(),
            test.column("wait_s").to_pylist(), strict=True)):  # fmt: skip
        ch = str(ch)
        support = [a for a in channels if ch in channels[a] and _fits(dates[a], day)]
        if logged_ids[i] not in support:
            keep[i] = False  # the history's policy could not have made this offer as assumed: left out, counted
            continue
        p_log[i] = 1.0 / len(support)
        ctx = ctxs[i]
        shared = model.shared_logit(ctx)
        q_log[i] = model.probability(logged_ids[i], ctx, shared)
        tags, vc, _s = customers.get(cid, ([], "unknown", None))
        if reason in pol.never_reasons or (wait is not None and wait > pol.max_wait_s):
            continue
        tagset = frozenset(tags)
        cands = [lib_offers[a] for a in support if a in lib_offers and ch in lib_offers[a].channels
                 and lib_offers[a].eligible.admits(tagset, vc, reason)]  # fmt: skip
        if not cands:
            continue
        for name in ("rules", "learned"):
            best, best_s = None, -1.0
            for o in cands:
                p = o.prior if name == "rules" else model.probability(o.id, ctx, shared)
                s = p * o.value * lib.weight(o)[0]
                if s > best_s:
                    best, best_s = o, s
            target[name][i] = code[best.id]  # type: ignore[union-attr]
            q_tgt[name][i] = model.probability(best.id, ctx, shared)  # type: ignore[union-attr]
    m = keep
    pred = np.array([model.probability(a, c) for a, c in zip(logged_ids, ctxs, strict=True)])
    cols: dict[str, np.ndarray] = {}
    rev_of = np.array([price_of[a] for a in action_ids])
    for name in ("rules", "learned"):
        t = target[name][m]
        qt = q_tgt[name][m]
        qt_rev = np.where(t >= 0, qt * rev_of[np.maximum(t, 0)], 0.0)
        cols[f"{name}_accept_ips"] = ips_terms(logged[m], t, p_log[m], y[m].astype(float))
        cols[f"{name}_accept_dr"] = dr_terms(logged[m], t, p_log[m], y[m].astype(float), q_log[m], qt)
        cols[f"{name}_revenue_ips"] = ips_terms(logged[m], t, p_log[m], revenue[m])
        cols[f"{name}_revenue_dr"] = dr_terms(logged[m], t, p_log[m], revenue[m], q_log[m] * rev_of[logged[m]], qt_rev)
    for k in ("accept_ips", "accept_dr", "revenue_ips", "revenue_dr"):
        cols[f"lift_{k}"] = cols[f"learned_{k}"] - cols[f"rules_{k}"]
    names = list(cols)
    terms = np.column_stack([cols[k] for k in names])
    ci = bootstrap_ci(terms, reps=reps, seed=seed)
    est = {k: (float(terms[:, j].mean()), [float(ci[j, 0]), float(ci[j, 1])]) for j, k in enumerate(names)}

    def figures(prefix: str) -> dict[str, Any]:
        return {metric: {"dr": est[f"{prefix}_{metric}_dr"][0], "dr_ci95": est[f"{prefix}_{metric}_dr"][1],
                         "ips": est[f"{prefix}_{metric}_ips"][0], "ips_ci95": est[f"{prefix}_{metric}_ips"][1]}
                for metric in ("accept", "revenue")}  # fmt: skip

    def renamed(d: dict[str, Any]) -> dict[str, Any]:
        return {"acceptance_rate": d["accept"], "revenue_per_contact": d["revenue"]}

    rules, learned, lift = renamed(figures("rules")), renamed(figures("learned")), renamed(figures("lift"))
    offered = {name: {a: int((target[name][m] == code[a]).sum()) for a in action_ids
                      if int((target[name][m] == code[a]).sum())} for name in target}  # fmt: skip
    out: dict[str, Any] = {
        "tenant": tenant.tenant_id,
        "split": split.isoformat(),
        "end": end.isoformat() if end else None,
        "train_offers": train.num_rows,
        "holdout_offers": int(m.sum()),
        "holdout_left_out": int((~m).sum()),
        "value_snapshot": snap,
        "auc": auc(y, pred),
        "holdout_acceptance_rate": float(y[m].mean()) if m.any() else None,
        "holdout_revenue_per_contact": float(revenue[m].mean()) if m.any() else None,
        "rules": rules,
        "learned": learned,
        "lift": lift,
        "lift_ratio_revenue_dr": (learned["revenue_per_contact"]["dr"] / rules["revenue_per_contact"]["dr"]
                                  if rules["revenue_per_contact"]["dr"] > 0 else None),
        "offers_chosen": offered,
        "estimator": "IPS and doubly robust with the logging policy uniform over fitting offers; "
                     f"{reps} bootstrap draws, 95 % percentile intervals",
        "seconds": round(time.perf_counter() - t0, 3),
    }  # fmt: skip
    if details:
        kept = np.flatnonzero(m)
        ids = test.column("contact_id").to_pylist()
        out["choices"] = {"contact_id": [ids[i] for i in kept],
                          **{name: [action_ids[a] if a >= 0 else None for a in target[name][m].tolist()]
                             for name in target}}  # fmt: skip
    return out


def result_path(tenant_id: str) -> Path:
    """Where the tenant's latest back-test is kept: ``$CALLOPS_HOME/marketing/<tenant>/backtest.json``."""
    return marketing_dir(tenant_id) / "backtest.json"


def save_result(tenant_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    """Keep ``doc`` (a :func:`backtest` answer) as the tenant's latest back-test, stamped with when it was kept
    (the console shows it without re-training on every page load); returns the stamped document."""
    from callops.api.encode import clean

    kept = {**clean(doc), "computed_at": datetime.now(UTC).isoformat()}
    path = result_path(tenant_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a file
    return kept


def latest_result(tenant_id: str) -> dict[str, Any] | None:
    """The tenant's latest kept back-test, or None."""
    path = result_path(tenant_id)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
