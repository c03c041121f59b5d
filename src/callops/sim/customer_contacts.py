"""Months of earlier contacts for the simulated customers: a per-customer contact process, not a queue simulation.

The demo hotline's queue simulation covers four weeks; the customer-value back-test (issue 11) scores customers
on data 60-90 days back, so its contact features need contacts before that. This generator adds ``days`` days of
contacts **before** the simulated window (``end`` is the window's first local day), cheaply: each customer's
contacts are a Poisson process whose rate depends on the customer, and each contact's queue figures (IVR, wait,
abandonment, handle time, survey) are drawn from the scenario's queue settings without modelling agents or
queues interacting. It is a clearly earlier period: contacts only (no agent states, schedules or journeys), at
about a twentieth of the hotline's volume (about 0.25 contacts per customer per 30 days against about 5 in the
simulated weeks; the simulated hotline is busier than its customer base alone would make it), on the scenario's
own queues, channels, centers, business types and intraday/weekly shapes.
Forecasts must therefore not train on it: :func:`callops.wfm.forecast_io.dense_start` starts a tenant's
forecast history after such a sparse period.

How behaviour, value and outcomes are linked (latents are drawn per customer and never written out):

- **Contact propensity** ``g`` ~ Gamma(2, scale 0.5) (mean 1). Base rate per 30 days:
  ``BASE_PER_30D × g × (arpu/100)^0.2`` (better plans use, and ask about, more services).
- **Repeat propensity** ``u`` ~ Beta(1.2, 6) (mean 0.17): the probability that a contact leaves the need
  unresolved; an unresolved answered or abandoned contact brings the customer back about the same business
  with probability ``REPEAT_P`` after Exp(2 days) (truncated at 7 days). Repeats do not repeat again.
- **Complaint propensity** ``k`` ~ Beta(0.6, 20) (mean 0.03): the share of base contacts that are complaints
  (queue ``complaints``).
- **Value**: customers with a VIP level send ``VIP_SHARE`` of their other contacts to the ``vip`` queue; the
  others pick a stream in proportion to its daily volume (outbound and complaints excluded).
- **Churn path** (a ``status_change`` to ``churned`` in ``events``): in the ``CHURN_LEAD_DAYS`` before the churn
  the rate doubles (``CHURN_RATE_FACTOR``), ``CHURN_COMPLAINT`` of those extra contacts are complaints,
  unresolved needs are 0.2 likelier and satisfaction is lower; no contact after the churn.
- **Billing suspensions**: each ``status_change`` to ``suspended`` with reason ``billing`` brings
  1 + Poisson(1) billing contacts within 3 days before to 7 days after it.
- **Dissatisfaction**: each ``unsubscribe`` with reason ``dissatisfied`` is preceded, with probability 0.5, by a
  complaint within the 7 days before it.
- **Satisfaction** (answered contacts, the queue's ``survey_p``): csat ~ round(N(4.3 − 1.5·churn path − 0.9·
  unresolved − 0.8·complaint, 0.8)) in 1..5, nps ~ round(2·csat − 1 + N(0, 1)) in 0..10.

So later churn is announced by complaints, repeats and low satisfaction before it, and billing suspensions by
billing contacts — signals the value model can see in contacts before a split, caused by the same account events
the back-test's outcomes come from, but never by the outcomes themselves: revenue after a split is drawn in
:mod:`callops.sim.customer_history` from latents this generator does not read, and the churn dates are fixed
before any contact is drawn (the back-test is not circular).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from callops.sim.scenario import Scenario

PREFIX = "HP"  # contact ids HP000000001...: never an id of the simulated window (H + digits)
BASE_PER_30D = 0.2  # a sparse period: loading is what costs (about 15k rows/s through ingest on the demo machine)
REPEAT_P = 0.6
REPEAT_WINDOW_DAYS = 7.0
VIP_SHARE = 0.8
CHURN_LEAD_DAYS = 60.0
CHURN_RATE_FACTOR = 2.0
CHURN_COMPLAINT = 0.25
DAY_S = 86400.0


def generate_prior_contacts(customers: pa.Table, events: pa.Table, scenario: Scenario, end: date, *,
                            days: int = 180, seed: int = 13, zone: str = "Asia/Shanghai",
                            agents_by_queue: Mapping[str, Sequence[str]] | None = None) -> pa.Table:  # fmt: skip
    """Canonical ``contacts`` of ``customers`` over the ``days`` local days before ``end`` (exclusive).

    ``customers`` needs ``customer_id``, ``arpu`` and ``vip_level``; ``events`` is their ``customer_events``
    (churns, suspensions and unsubscriptions drive the rate, see the module docstring); ``agents_by_queue``
    names the agents an answered contact may get (none when absent)."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(zone)
    midnights = np.array([datetime.combine(end - timedelta(days=days - i), datetime.min.time(), tz)
                          .astimezone(UTC).timestamp() for i in range(days + 1)])  # fmt: skip
    t0, t1 = float(midnights[0]), float(midnights[-1])
    ids = np.asarray(customers.column("customer_id").to_pylist(), dtype=object)
    n = len(ids)
    arpu = np.nan_to_num(np.asarray(customers.column("arpu").to_numpy(zero_copy_only=False), dtype=float), nan=50.0)
    vip = np.nan_to_num(np.asarray(customers.column("vip_level").to_numpy(zero_copy_only=False), dtype=float)) > 0
    index = {c: i for i, c in enumerate(ids.tolist())}
    g = rng.gamma(2.0, 0.5, n)
    u = rng.beta(1.2, 6.0, n)
    k = rng.beta(0.6, 20.0, n)
    churn = _event_times(events, index, n, "status_change", status_to="churned")
    churn_at = np.full(n, np.inf)
    for i, ts in churn:
        churn_at[i] = min(churn_at[i], ts)
    streams = [s for s in scenario.streams if s.daily_volume > 0]
    names = [s.queue for s in streams]
    # --- base contacts: Poisson(rate × alive days / 30) per customer, times over the window
    rate = BASE_PER_30D * g * (np.maximum(arpu, 5.0) / 100.0) ** 0.2
    n_base = rng.poisson(rate * days / 30.0)
    who = np.repeat(np.arange(n), n_base)
    when = np.zeros(who.size)  # drawn below, once each contact has its stream
    complaint = rng.random(who.size) < k[who]
    parts = [(who, when, complaint, np.zeros(who.size, bool))]
    # --- churn path: extra contacts in the lead-up to the churn
    lead_lo = np.maximum(churn_at - CHURN_LEAD_DAYS * DAY_S, t0)
    lead_hi = np.minimum(churn_at, t1)
    span = np.where(np.isfinite(churn_at) & (lead_hi > lead_lo), lead_hi - lead_lo, 0.0)
    n_extra = rng.poisson(rate * (CHURN_RATE_FACTOR - 1.0) * span / (30.0 * DAY_S))
    w2 = np.repeat(np.arange(n), n_extra)
    parts.append((w2, lead_lo[w2] + rng.random(w2.size) * span[w2], rng.random(w2.size) < CHURN_COMPLAINT,
                  np.zeros(w2.size, bool)))  # fmt: skip
    # --- billing suspensions: billing contacts around each suspension
    susp = _event_times(events, index, n, "status_change", status_to="suspended", reason="billing")
    if susp:
        si = np.array([i for i, _ in susp], dtype=np.int64)
        st = np.array([t for _, t in susp])
        m = 1 + rng.poisson(1.0, si.size)
        w3, t3 = np.repeat(si, m), np.repeat(st, m) + rng.uniform(-3.0, 7.0, int(m.sum())) * DAY_S
        parts.append((w3, t3, np.zeros(w3.size, bool), np.ones(w3.size, bool)))
    # --- dissatisfied unsubscriptions: a complaint in the week before, half the time
    uns = _event_times(events, index, n, "unsubscribe", reason="dissatisfied")
    if uns:
        ui = np.array([i for i, _ in uns], dtype=np.int64)
        ut = np.array([t for _, t in uns])
        keep = rng.random(ui.size) < 0.5
        ui, ut = ui[keep], ut[keep] - rng.uniform(0.0, 7.0, int(keep.sum())) * DAY_S
        parts.append((ui, ut, np.ones(ui.size, bool), np.zeros(ui.size, bool)))
    who = np.concatenate([p[0] for p in parts])
    when = np.concatenate([p[1] for p in parts])
    complaint = np.concatenate([p[2] for p in parts])
    billing = np.concatenate([p[3] for p in parts])
    # --- the stream (queue and business) of each contact
    weights = np.array([0.0 if s.queue == "complaints" or s.queue == "vip" else s.daily_volume for s in streams])
    stream = rng.choice(len(streams), size=who.size, p=weights / weights.sum())
    if "vip" in names:
        to_vip = vip[who] & (rng.random(who.size) < VIP_SHARE)
        stream[to_vip] = names.index("vip")
    if "billing" in names:
        stream[billing] = names.index("billing")
    if "complaints" in names:
        stream[complaint] = names.index("complaints")
    # the base contacts' times follow their stream's weekly and intraday shape (the others keep their episode time)
    nb = parts[0][0].size
    when[:nb] = _times(rng, midnights, [scenario.intraday[s.intraday] for s in streams], streams, stream[:nb], tz)
    on_path = np.isfinite(churn_at[who]) & (when >= churn_at[who] - CHURN_LEAD_DAYS * DAY_S)
    ok = (when >= t0) & (when < t1) & (when < churn_at[who])
    who, when, complaint, stream, on_path = who[ok], when[ok], complaint[ok], stream[ok], on_path[ok]
    # --- unresolved needs bring repeats about the same business
    unresolved = rng.random(who.size) < np.minimum(u[who] + 0.2 * on_path, 1.0)
    rep = unresolved & (rng.random(who.size) < REPEAT_P)
    gap = np.minimum(rng.exponential(2.0, int(rep.sum())), REPEAT_WINDOW_DAYS) * DAY_S
    rw, rt = who[rep], when[rep] + gap + 600.0
    keep = (rt < t1) & (rt < churn_at[rw])
    who = np.concatenate([who, rw[keep]])
    when = np.concatenate([when, rt[keep]])
    complaint = np.concatenate([complaint, complaint[rep][keep]])
    stream = np.concatenate([stream, stream[rep][keep]])
    on_path = np.concatenate([on_path, on_path[rep][keep]])
    unresolved = np.concatenate([unresolved, rng.random(int(keep.sum())) < 0.5 * u[rw[keep]]])
    return _contacts(rng, scenario, streams, ids, who, when, complaint, stream, on_path, unresolved, agents_by_queue)


def _event_times(events: pa.Table, index: dict[str, int], n: int, kind: str, *, status_to: str | None = None,
                 reason: str | None = None) -> list[tuple[int, float]]:  # fmt: skip
    """(customer index, epoch s) of the events of one kind (and target status / reason)."""
    mask = pc.equal(events["kind"], kind)
    if status_to is not None:
        mask = pc.and_(mask, pc.equal(events["status_to"], status_to))
    if reason is not None:
        mask = pc.and_(mask, pc.equal(events["reason"], reason))
    sel = events.filter(pc.fill_null(mask, False))
    ts = sel["ts"].cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(zero_copy_only=False) / 1e6
    out = []
    for cid, t in zip(sel["customer_id"].to_pylist(), ts.tolist(), strict=True):
        i = index.get(cid)
        if i is not None:
            out.append((i, t))
    return out


def _times(rng: np.random.Generator, midnights: np.ndarray, profiles: list, streams: list, stream: np.ndarray,
           tz: ZoneInfo) -> np.ndarray:  # fmt: skip
    """An instant per contact: a window day by its stream's weekly factor, a slot by the stream's intraday profile."""
    days = len(midnights) - 1
    out = np.zeros(stream.size)
    weekday = np.array([datetime.fromtimestamp(float(midnights[d]), tz).weekday() for d in range(days)])
    for s_i, s in enumerate(streams):
        idx = np.flatnonzero(stream == s_i)
        if not idx.size:
            continue
        dw = np.asarray(s.weekly, dtype=float)[weekday]
        d = rng.choice(days, size=idx.size, p=dw / dw.sum())
        prof = np.asarray(profiles[s_i], dtype=float)
        slot = rng.choice(len(prof), size=idx.size, p=prof / prof.sum())
        out[idx] = midnights[d] + (slot + rng.random(idx.size)) * (DAY_S / len(prof))
    return out


def _contacts(rng: np.random.Generator, scenario: Scenario, streams: list, ids: np.ndarray, who: np.ndarray,
              when: np.ndarray, complaint: np.ndarray, stream: np.ndarray, on_path: np.ndarray,
              unresolved: np.ndarray, agents_by_queue: Mapping[str, Sequence[str]] | None) -> pa.Table:  # fmt: skip
    """The contacts' canonical rows: IVR, wait, abandonment, handle time and survey from the queue settings."""
    order = np.lexsort((when, who))  # by customer (in the given order), then time
    who, when, complaint, stream = who[order], when[order], complaint[order], stream[order]
    on_path, unresolved = on_path[order], unresolved[order]
    m = who.size
    queues = {q.name: q for q in scenario.queues}
    ivrs = {i.name: i for i in scenario.ivrs}
    ivr_s = np.zeros(m)
    ivr_used = np.zeros(m, bool)
    served = np.zeros(m, bool)
    wait = np.zeros(m)
    patience = np.full(m, np.inf)
    talk = np.zeros(m)
    acw = np.zeros(m)
    hold = np.zeros(m)
    survey = np.zeros(m)
    qname = np.empty(m, dtype=object)
    channel = np.empty(m, dtype=object)
    center = np.empty(m, dtype=object)
    business = np.empty(m, dtype=object)
    for s_i, s in enumerate(streams):
        idx = np.flatnonzero(stream == s_i)
        if not idx.size:
            continue
        q = queues[s.queue]
        qname[idx], channel[idx], center[idx], business[idx] = q.name, str(q.channel), q.center, s.business_type
        if s.ivr is not None and s.ivr in ivrs:
            ivr = ivrs[s.ivr]
            ivr_used[idx] = True
            ivr_s[idx] = rng.exponential(ivr.mean_s, idx.size)
            served[idx] = (rng.random(idx.size) < ivr.success_p) & ~complaint[idx]
        wait[idx] = rng.exponential(25.0 if str(q.channel) == "voice" else 40.0, idx.size)
        if q.patience is not None:
            patience[idx] = rng.exponential(q.patience.mean_s, idx.size)
        cv = q.handle.cv
        sigma = np.sqrt(np.log1p(cv * cv))
        talk[idx] = rng.lognormal(np.log(q.handle.mean_s) - sigma * sigma / 2, sigma, idx.size)
        if q.handle.acw_mean_s > 0:
            acw[idx] = rng.exponential(q.handle.acw_mean_s, idx.size)
        if q.handle.hold_p > 0 and q.handle.hold_mean_s > 0:
            held = rng.random(idx.size) < q.handle.hold_p
            hold[idx] = np.where(held, rng.exponential(q.handle.hold_mean_s, idx.size), 0.0)
        survey[idx] = q.survey_p
    abandoned = ~served & (patience < wait)
    answered = ~served & ~abandoned
    entry = when + ivr_s
    answered_at = np.where(answered, entry + wait, np.nan)
    ended = np.where(served, entry, np.where(abandoned, entry + patience, answered_at + hold + talk))  # as the engine
    outcome = np.where(served, "self_served", np.where(abandoned, "abandoned", "answered")).astype(object)
    resolved = served | (answered & ~unresolved)
    surveyed = answered & (rng.random(m) < survey)
    mean = 4.3 - 1.5 * on_path - 0.9 * unresolved - 0.8 * complaint
    csat = np.clip(np.round(rng.normal(mean, 0.8)), 1, 5)
    nps = np.clip(np.round(2 * csat - 1 + rng.normal(0.0, 1.0, m)), 0, 10)
    agent = np.full(m, None, dtype=object)
    for q in set(qname[answered].tolist()):
        pool = list((agents_by_queue or {}).get(q, ()))
        if pool:
            sel = np.flatnonzero(answered & (qname == q))
            agent[sel] = np.asarray(pool, dtype=object)[rng.integers(0, len(pool), sel.size)]

    def ts(x: np.ndarray) -> pa.Array:
        return pa.array(np.round(x * 1e6), pa.float64(), from_pandas=True).cast(pa.int64()).cast(
            pa.timestamp("us", tz="UTC"))  # fmt: skip

    def num(x: np.ndarray, keep: np.ndarray) -> pa.Array:
        return pa.array(np.where(keep, x, np.nan), pa.float64(), from_pandas=True)

    return pa.table({
        "contact_id": pa.array([f"{PREFIX}{i + 1:09d}" for i in range(m)], pa.string()),
        "center": pa.array(center.tolist(), pa.string()),
        "queue": pa.array(qname.tolist(), pa.string()),
        "channel": pa.array(channel.tolist(), pa.string()),
        "direction": pa.array(["inbound"] * m, pa.string()),
        "customer_id": pa.array(ids[who].tolist(), pa.string()),
        "business_type": pa.array(business.tolist(), pa.string()),
        "offered_at": ts(when),
        "answered_at": ts(answered_at),
        "ended_at": ts(ended),
        "ivr_s": num(ivr_s, ivr_used),
        "wait_s": num(np.where(abandoned, patience, wait), ~served),
        "talk_s": num(talk, answered),
        "hold_s": num(hold, answered),
        "acw_s": num(acw, answered),
        "outcome": pa.array(outcome.tolist(), pa.string()),
        "agent_id": pa.array(agent.tolist(), pa.string()),
        "transfers": pa.array(np.zeros(m, dtype=np.int64)),
        "resolved": pa.array(resolved.tolist(), pa.bool_()),
        "csat": num(csat, surveyed),
        "nps": num(nps, surveyed),
    })  # fmt: skip
