"""Perception (C2): dissatisfied customers' paths, churned versus retained customers, high-ARPU behaviour.

Per customer (over the selected sessions and the customer's contacts): ``sessions``, ``contacts``,
``voice_contacts``, ``failed_session_share`` (sessions with a failed or abandoned step), ``agent_session_share``
(sessions that reached an agent), ``mean_wait_s`` (queue wait of answered contacts), ``mean_csat``.

Churned (``customers.status = 'churned'``) against the others, feature by feature: the difference of means with
a Welch 95 % confidence interval (Welch–Satterthwaite degrees of freedom) and Hedges' g (Cohen's d with the
small-sample correction J = 1 - 3 / (4 (n1 + n2) - 9)) with its usual normal-approximation interval.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from callops.journey.events import Selection, events, run_sql
from callops.tenancy import Tenant, scoped
from callops.warehouse import Warehouse

FEATURES = ("sessions", "contacts", "voice_contacts", "failed_session_share", "agent_session_share", "mean_wait_s",
            "mean_csat")
_FAILED = "(error_code IS NOT NULL OR outcome IN ('failed', 'abandoned'))"


def customer_features(wh: Warehouse, tenant: Tenant, sel: Selection | None = None) -> list[dict]:
    """One row per customer with journey events: the features above, status and ARPU."""
    return run_sql(
        wh, {"ev": events(wh, tenant, sel), "co": scoped(wh, tenant, "contacts"),
             "cu": scoped(wh, tenant, "customers")},
        f""", s AS (SELECT customer_id, session_id, bool_or({_FAILED}) AS failed, bool_or(step = 'agent') AS agent
                   FROM ev WHERE customer_id IS NOT NULL GROUP BY ALL),
        js AS (SELECT customer_id, count(*) AS sessions, avg(failed::INT) AS failed_session_share,
                      avg(agent::INT) AS agent_session_share FROM s GROUP BY customer_id),
        cs AS (SELECT customer_id, count(*) AS contacts, count(*) FILTER (WHERE channel = 'voice') AS voice_contacts,
                      avg(wait_s) FILTER (WHERE outcome = 'answered') AS mean_wait_s, avg(csat) AS mean_csat
               FROM co WHERE customer_id IN (SELECT customer_id FROM js) GROUP BY customer_id)
        SELECT js.customer_id, js.sessions, coalesce(cs.contacts, 0) AS contacts,
               coalesce(cs.voice_contacts, 0) AS voice_contacts, js.failed_session_share, js.agent_session_share,
               cs.mean_wait_s, cs.mean_csat, cu.status, cu.arpu
        FROM js LEFT JOIN cs USING (customer_id) LEFT JOIN cu USING (customer_id) ORDER BY js.customer_id""",
    )


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    """Group ``a`` against ``b`` (NaN dropped): means, difference with a Welch 95 % CI, Hedges' g with a 95 % CI."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    n1, n2 = len(a), len(b)
    out: dict = {"n": n1, "n_other": n2, "mean": float(a.mean()) if n1 else None,
                 "mean_other": float(b.mean()) if n2 else None}
    if n1 < 2 or n2 < 2:
        return {**out, "diff": None, "diff_ci": None, "hedges_g": None, "g_ci": None}
    v1, v2 = a.var(ddof=1), b.var(ddof=1)
    diff = a.mean() - b.mean()
    se = math.sqrt(v1 / n1 + v2 / n2)
    if se == 0:
        return {**out, "diff": float(diff), "diff_ci": None, "hedges_g": None, "g_ci": None}
    # Welch–Satterthwaite df on the shares of the variance sum, so tiny variances cannot underflow to 0/0
    r1 = (v1 / n1) / (v1 / n1 + v2 / n2)
    df = 1 / (r1**2 / (n1 - 1) + (1 - r1) ** 2 / (n2 - 1))
    half = stats.t.ppf(0.975, df) * se
    pooled = math.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
    d = diff / pooled if pooled else 0.0
    g = d * (1 - 3 / (4 * (n1 + n2) - 9))
    se_g = math.sqrt((n1 + n2) / (n1 * n2) + g * g / (2 * (n1 + n2)))
    return {**out, "diff": float(diff), "diff_ci": [float(diff - half), float(diff + half)], "hedges_g": float(g),
            "g_ci": [float(g - 1.96 * se_g), float(g + 1.96 * se_g)]}


def churn_comparison(wh: Warehouse, tenant: Tenant, sel: Selection | None = None) -> dict:
    """Churned against retained customers, feature by feature (ranked by |Hedges' g|)."""
    rows = customer_features(wh, tenant, sel)
    churned = np.array([r["status"] == "churned" for r in rows], dtype=bool)
    out = []
    for f in FEATURES:
        x = np.array([np.nan if r[f] is None else float(r[f]) for r in rows])
        out.append({"feature": f, **compare(x[churned], x[~churned])})
    out.sort(key=lambda r: -abs(r["hedges_g"] or 0.0))
    return {"churned": int(churned.sum()), "retained": int((~churned).sum()), "features": out}


def high_arpu(wh: Warehouse, tenant: Tenant, sel: Selection | None = None, *, quantile: float = 0.75) -> dict:
    """Customers at or above the ARPU ``quantile`` against the others, feature by feature."""
    rows = [r for r in customer_features(wh, tenant, sel) if r["arpu"] is not None]
    if not rows:
        return {"threshold": None, "high": 0, "others": 0, "features": []}
    arpu = np.array([float(r["arpu"]) for r in rows])
    cut = float(np.quantile(arpu, quantile))
    high = arpu >= cut
    feats = []
    for f in FEATURES:
        x = np.array([np.nan if r[f] is None else float(r[f]) for r in rows])
        feats.append({"feature": f, **compare(x[high], x[~high])})
    return {"threshold": cut, "high": int(high.sum()), "others": int((~high).sum()), "features": feats}


def dissatisfied(
    wh: Warehouse, tenant: Tenant, sel: Selection | None = None, *, csat_max: float = 2, nps_max: float = 6,
    top: int = 10,
) -> dict:
    """Customers with a low CSAT, a detractor NPS or a complaint: their most common paths and failure reasons.

    Each path and reason comes with its share among these customers' sessions and among everyone else's
    (``lift`` = the ratio), so what sets them apart shows first.
    """
    co = scoped(wh, tenant, "contacts")
    rows = run_sql(
        wh, {"ev": events(wh, tenant, sel), "co": co},
        f""", unhappy AS (SELECT DISTINCT customer_id FROM co WHERE customer_id IS NOT NULL AND
                            (csat <= ? OR nps <= ? OR business_type ILIKE '%complain%')),
        s AS (SELECT session_id, any_value(customer_id) IN (SELECT customer_id FROM unhappy) AS unhappy,
                     list(step ORDER BY seq) AS path,
                     list(DISTINCT coalesce(error_code, step || ':' || outcome)) FILTER (WHERE {_FAILED}) AS reasons
              FROM ev GROUP BY session_id),
        tot AS (SELECT count(*) FILTER (WHERE unhappy) AS nu, count(*) FILTER (WHERE NOT unhappy) AS no FROM s),
        paths AS (SELECT 'path' AS kind, array_to_string(path, ' -> ') AS item,
                         count(*) FILTER (WHERE unhappy) AS u, count(*) FILTER (WHERE NOT unhappy) AS o
                  FROM s GROUP BY path),
        reasons AS (SELECT 'reason' AS kind, r AS item, count(*) FILTER (WHERE unhappy) AS u,
                           count(*) FILTER (WHERE NOT unhappy) AS o FROM (SELECT unhappy, unnest(reasons) AS r FROM s)
                    GROUP BY r)
        SELECT kind, item, u, o, tot.nu, tot.no FROM (SELECT * FROM paths UNION ALL SELECT * FROM reasons), tot
        WHERE u > 0 ORDER BY kind, u DESC, item""",
        [csat_max, nps_max],
    )
    customers = run_sql(
        wh, {"co": co},
        """SELECT DISTINCT customer_id FROM co WHERE customer_id IS NOT NULL AND
           (csat <= ? OR nps <= ? OR business_type ILIKE '%complain%') ORDER BY customer_id LIMIT 20""",
        [csat_max, nps_max],
    )
    out: dict = {"customers_sample": [c["customer_id"] for c in customers], "paths": [], "reasons": []}
    for r in rows:
        share = r["u"] / r["nu"] if r["nu"] else 0.0
        other = r["o"] / r["no"] if r["no"] else 0.0
        item = {"item": r["item"], "sessions": r["u"], "share": share, "share_others": other,
                "lift": share / other if other else None}
        out["paths" if r["kind"] == "path" else "reasons"].append(item)
    out["sessions"] = rows[0]["nu"] if rows else 0
    out["paths"], out["reasons"] = out["paths"][:top], out["reasons"][:top]
    return out
