"""Months of account history for the simulated customers: purchases, status changes, (un)subscriptions.

How value, behaviour and outcomes are linked (the causal structure; the value model never reads it):

- **Latent traits**, drawn per customer and never written out:
  ``λ`` purchase rate per day ~ Gamma(0.6, ·) with mean ``0.012 × (arpu/100)^0.5`` (better plans buy
  more add-ons); ``p`` dropout probability after each purchase ~ Beta(0.8, 4); ``ν`` spend rate ~
  Gamma(4, ·) so a purchase is worth Gamma(6, ν), with mean ``30 × (arpu/100)^0.3``. This is exactly the
  BG/NBD + Gamma-Gamma story: purchases follow a Poisson process at ``λ`` until the customer silently
  drops out (after a purchase, with probability ``p``); spend per purchase is independent of timing.
- **Churn** (customers whose current status is ``churned``): the churn date is uniform over the history;
  purchases stop at a *disengagement* point ``Exp(45 days)`` before it, and with probability 0.8 the
  customer unsubscribes ``1 + Poisson(1)`` services in between (reason ``dissatisfied``). So churn after a
  date is announced before it by fewer purchases and unsubscriptions — signals a model can see.
- **Billing suspensions**: customers now ``suspended`` were put in arrears about 20 days before the last
  month start and suspended on it (reason ``billing``, 85 %); customers now in ``arrears`` went into
  arrears within the last 25 days. 8 % of the other customers had one past episode (arrears → suspended
  at a month start → active again 2–10 days later). Suspension history does not change ``λ``.
- **Unsubscriptions** of active customers happen at 0.15 per year, three times as often for customers
  with a high dropout probability (``p`` > 0.3): dissatisfaction shows before the purchases stop.
- **Subscriptions** to value-added services happen at 0.3 per year, in proportion to ``λ``.

Later revenue therefore depends on ``λ``, ``p`` and ``ν`` (visible through past purchases and spend),
and only weakly on ARPU, which is why an ARPU ranking is the back-test's baseline to beat.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

PRODUCTS = np.array(["流量包10GB", "视频会员", "国际漫游包", "终端分期", "宽带提速", "彩铃"], dtype=object)
SERVICES = np.array(["视频会员", "彩铃", "来电提醒", "云盘"], dtype=object)
MAX_PURCHASES = 40


def generate_history(customers: pa.Table, end: date, *, days: int = 365, seed: int = 11,
                     zone: str = "Asia/Shanghai") -> pa.Table:  # fmt: skip
    """The canonical ``customer_events`` of ``customers`` over the ``days`` days before ``end`` (exclusive)."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(zone)
    end_ts = datetime.combine(end, datetime.min.time(), tz).astimezone(UTC).timestamp()
    day_s = 86400.0
    start_ts = end_ts - days * day_s
    ids = np.asarray(customers.column("customer_id").to_pylist(), dtype=object)
    n = len(ids)
    arpu = np.nan_to_num(np.asarray(customers.column("arpu").to_numpy(zero_copy_only=False), dtype=float), nan=50.0)
    status = np.asarray(customers.column("status").to_pylist(), dtype=object)
    tenure = np.nan_to_num(np.asarray(customers.column("tenure_months").to_numpy(zero_copy_only=False), dtype=float))
    scale = np.maximum(arpu, 5.0) / 100.0
    lam = rng.gamma(0.6, 0.012 * np.sqrt(scale) / 0.6)  # per day
    p_drop = rng.beta(0.8, 4.0, n)
    mean_spend = 30.0 * scale**0.3
    nu = rng.gamma(4.0, 1.0, n) / (mean_spend / 2.0)  # ν ~ Gamma(4, rate γ) with E[6/ν] = 6γ/3 = mean_spend
    birth = np.maximum(start_ts, end_ts - tenure * 30.4 * day_s)
    churned = status == "churned"
    churn_ts = np.where(churned, rng.uniform(start_ts + 20 * day_s, end_ts - day_s, n), np.inf)
    disengage = np.where(churned, churn_ts - rng.exponential(45.0, n) * day_s, np.inf)
    # BG/NBD: repeats until a drop-out after one of them ~ Geometric(p); gaps ~ Exp(λ);
    # stop at disengagement or the end.
    alive_for = 1 + rng.geometric(np.clip(p_drop, 1e-6, 1.0))  # the first purchase, then repeats until a drop-out
    gaps = rng.exponential(1.0, (n, MAX_PURCHASES)) / np.maximum(lam, 1e-9)[:, None] * day_s
    times = birth[:, None] + np.cumsum(gaps, axis=1)
    k = np.arange(MAX_PURCHASES)[None, :]
    ok = (k < alive_for[:, None]) & (times < end_ts) & (times < disengage[:, None])
    ci, kk = np.nonzero(ok)
    amount = np.round(rng.gamma(6.0, 1.0 / nu[ci]), 2)
    events: list[tuple[np.ndarray, np.ndarray, str, np.ndarray | None, np.ndarray | None, np.ndarray | None,
                       np.ndarray | None, np.ndarray | None]] = []  # fmt: skip
    events.append((ci, times[ci, kk], "purchase", amount, PRODUCTS[rng.integers(0, len(PRODUCTS), len(ci))],
                   None, None, None))  # fmt: skip
    # churn: unsubscriptions (p = 0.8, 1 + Poisson(1) of them) between disengagement and churn, then the status change
    c = np.flatnonzero(churned)
    if len(c):
        events.append((c, churn_ts[c], "status_change", None, None, np.full(len(c), "active", object),
                       np.full(len(c), "churned", object), np.full(len(c), "voluntary", object)))  # fmt: skip
        u = c[rng.random(len(c)) < 0.8]
        u = np.repeat(u, 1 + rng.poisson(1.0, len(u)))
        lo = np.maximum(disengage[u], start_ts)
        events.append((u, lo + rng.random(len(u)) * (churn_ts[u] - lo), "unsubscribe", None,
                       SERVICES[rng.integers(0, len(SERVICES), len(u))], None, None,
                       np.full(len(u), "dissatisfied", object)))  # fmt: skip
    # month starts in the window (local midnight), for billing suspensions
    local_end = datetime.fromtimestamp(end_ts, tz)
    month_starts = []
    m = date(local_end.year, local_end.month, 1)
    while datetime.combine(m, datetime.min.time(), tz).timestamp() > start_ts + 30 * day_s:
        month_starts.append(datetime.combine(m, datetime.min.time(), tz).astimezone(UTC).timestamp())
        m = (m - timedelta(days=1)).replace(day=1)
    month_starts_arr = np.array(month_starts)
    last_month_start = month_starts_arr[0] if len(month_starts_arr) else end_ts - 15 * day_s
    s = np.flatnonzero(status == "suspended")
    if len(s):
        at = np.full(len(s), last_month_start) + rng.uniform(1, 6, len(s)) * 3600
        arrears_at = at - rng.uniform(15, 25, len(s)) * day_s
        reason = np.where(rng.random(len(s)) < 0.85, "billing", "fraud_check").astype(object)
        events.append((s, arrears_at, "status_change", None, None, np.full(len(s), "active", object),
                       np.full(len(s), "arrears", object), np.full(len(s), "billing", object)))  # fmt: skip
        events.append((s, at, "status_change", None, None, np.full(len(s), "arrears", object),
                       np.full(len(s), "suspended", object), reason))  # fmt: skip
    a = np.flatnonzero(status == "arrears")
    if len(a):
        events.append((a, end_ts - rng.uniform(1, 25, len(a)) * day_s, "status_change", None, None,
                       np.full(len(a), "active", object), np.full(len(a), "arrears", object),
                       np.full(len(a), "billing", object)))  # fmt: skip
    # past suspension episodes of customers who are active now
    act = np.flatnonzero(status == "active")
    ep = act[rng.random(len(act)) < 0.08]
    if len(ep) and len(month_starts_arr) > 1:
        at = month_starts_arr[rng.integers(1, len(month_starts_arr), len(ep))] + rng.uniform(1, 6, len(ep)) * 3600
        back = at + rng.uniform(2, 10, len(ep)) * day_s
        before = at - rng.uniform(15, 25, len(ep)) * day_s
        for who, when, frm, to in ((ep, before, "active", "arrears"), (ep, at, "arrears", "suspended"),
                                   (ep, back, "suspended", "active")):  # fmt: skip
            events.append((who, when, "status_change", None, None, np.full(len(who), frm, object),
                           np.full(len(who), to, object), np.full(len(who), "billing", object)))  # fmt: skip
    # unsubscriptions of active customers (more when dropout-prone) and subscriptions (with λ)
    years = days / 365.0
    rate = np.where(p_drop > 0.3, 0.45, 0.15) * years
    nu_ = rng.poisson(rate[act])
    who = np.repeat(act, nu_)
    lo = birth[who]
    events.append((who, lo + rng.random(len(who)) * (end_ts - lo), "unsubscribe", None,
                   SERVICES[rng.integers(0, len(SERVICES), len(who))], None, None,
                   np.full(len(who), "voluntary", object)))  # fmt: skip
    sub_rate = 0.3 * years * lam / max(float(lam.mean()), 1e-9)
    ns = rng.poisson(sub_rate)
    alive_now = ~churned
    who = np.repeat(np.arange(n), ns * alive_now)
    lo = birth[who]
    events.append((who, lo + rng.random(len(who)) * (end_ts - lo), "subscribe", None,
                   SERVICES[rng.integers(0, len(SERVICES), len(who))], None, None, None))  # fmt: skip
    return _table(ids, events)


def _table(ids: np.ndarray, events: list) -> pa.Table:
    cols: dict[str, list] = {k: [] for k in ("customer_id", "ts", "kind", "amount", "product", "status_from",
                                             "status_to", "reason")}  # fmt: skip
    for who, when, kind, amount, product, frm, to, reason in events:
        m = len(who)
        if not m:
            continue
        cols["customer_id"].append(ids[who])
        # whole microseconds, distinct per customer and kind (the natural key); ties are vanishingly rare
        cols["ts"].append(np.floor(np.asarray(when) * 1e6).astype("int64"))
        cols["kind"].append(np.full(m, kind, object))
        cols["amount"].append(amount if amount is not None else np.full(m, np.nan))
        for key, value in (("product", product), ("status_from", frm), ("status_to", to), ("reason", reason)):
            cols[key].append(value if value is not None else np.full(m, None, object))
    if not cols["customer_id"]:
        return pa.table({k: pa.array([], t) for k, t in _TYPES.items()})
    data = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((data["ts"], data["customer_id"].astype(str)))
    table = pa.table({
        "customer_id": pa.array(data["customer_id"][order].tolist(), pa.string()),
        "ts": pa.array(data["ts"][order], pa.timestamp("us", tz="UTC")),
        "kind": pa.array(data["kind"][order].tolist(), pa.string()),
        "amount": pa.array(data["amount"][order], pa.float64(), from_pandas=True),
        "product": pa.array(data["product"][order].tolist(), pa.string()),
        "status_from": pa.array(data["status_from"][order].tolist(), pa.string()),
        "status_to": pa.array(data["status_to"][order].tolist(), pa.string()),
        "reason": pa.array(data["reason"][order].tolist(), pa.string()),
    })  # fmt: skip
    # one event per (customer, instant, kind): drop the rare exact repeats
    import duckdb

    con = duckdb.connect()
    try:
        con.register("t", table)
        return con.sql("SELECT * FROM t QUALIFY row_number() OVER (PARTITION BY customer_id, ts, kind ORDER BY ts) = 1 "
                       "ORDER BY customer_id, ts").to_arrow_table()
    finally:
        con.close()


_TYPES = {"customer_id": pa.string(), "ts": pa.timestamp("us", tz="UTC"), "kind": pa.string(), "amount": pa.float64(),
          "product": pa.string(), "status_from": pa.string(), "status_to": pa.string(), "reason": pa.string()}


def customers_config(count: int):
    """A customer base like the provincial hotline's (plans, regions, status shares), for tests and benchmarks."""
    from callops.sim.scenario import CustomersCfg

    plans = [("5G畅享129", 0.22, 135, 45, {"5G": 0.95, "4G": 0.05}), ("5G智享199", 0.08, 205, 80, {"5G": 1.0}),
             ("4G飞享58", 0.30, 62, 18, {"4G": 0.9, "5G": 0.1}),
             ("4G畅聊38", 0.18, 40, 6, {"4G": 0.85, "3G": 0.1, "2G": 0.05}),
             ("宽带融合169", 0.12, 172, 60, {"5G": 0.6, "4G": 0.4}), ("全球通尊享288", 0.04, 300, 100, {"5G": 1.0}),
             ("老年卡18", 0.06, 20, 1, {"2G": 0.4, "3G": 0.2, "4G": 0.4})]  # fmt: skip
    return CustomersCfg.model_validate({
        "count": count,
        "plans": [{"name": n, "share": s, "arpu_mean": a, "usage_gb_mean": u, "network": net}
                  for n, s, a, u, net in plans],
        "regions": {"合肥": 0.4, "芜湖": 0.2, "蚌埠": 0.2, "阜阳": 0.2},
        "status": {"active": 0.90, "arrears": 0.05, "suspended": 0.03, "churned": 0.02},
        "vip_levels": {1: 0.05, 2: 0.02, 3: 0.005},
        "tenure_months_mean": 60,
    })  # fmt: skip
