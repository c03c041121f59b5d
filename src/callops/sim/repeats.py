"""Resolution of contacts, repeat contacts and cross-channel escalations.

Resolution: a handled (``answered``) contact resolves the need with its queue's ``fcr``
probability; a self-served one always does; abandoned, transferred and callback legs do not (the
next leg carries the need).

The engine draws each contact's customer independently. Afterwards the customer of some later
contacts is *re-labelled* so that customers come back:

* **escalation** (minutes): a contact on a channel of the ladder (app -> chat, chat -> voice, ...)
  whose self-service failed or whose need is unresolved brings the customer, with probability
  ``escalation_p``, to the next channel after an exponential delay;
* **escalation by reason** (hours): a contact whose self-service failed for a reason listed in
  ``by_reason`` (e.g. ``identity_verification_failed``) brings the customer, with that reason's
  probability, to its channel (e.g. voice) after an exponential delay, within ``within_h`` hours; such
  contacts do not also climb the ladder. This is the documented cause behind "identity verification
  failed in the app, then a voice call within 24 h" in the journeys;
* **repeat** (days): an unresolved contact that did not escalate brings the customer back on the
  same channel, with probability ``p_unresolved``, after an exponential delay truncated to
  ``window_days``.

The target is the first first-leg inbound contact of that channel (and the same VIP flag, so
priority routing stays consistent) offered after the source ended plus the delay. A contact is
the target of at most one source (later claims are dropped), and chains (a repeat of a repeat)
follow naturally because labels propagate from the earliest source. ``repeat_of`` records the
source of each re-labelled contact.
"""

from __future__ import annotations

import numpy as np

from callops.sim.frame import ContactFrame
from callops.sim.scenario import Scenario


def resolve(frame: ContactFrame, scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Whether each contact resolved the customer's need."""
    p = frame.per_queue({q.name: q.fcr for q in scenario.queues}, 0.8)
    outcome = frame["outcome"]
    u = rng.random(len(frame))
    return np.where(outcome == "self_served", True, (outcome == "answered") & (u < p))


def _first_after(times: np.ndarray, cand: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Index (into the frame) of the first candidate offered at or after each time; -1 if none."""
    pos = np.searchsorted(times[cand], at, side="left")
    out = np.full(len(at), -1, dtype=np.int64)
    ok = pos < len(cand)
    out[ok] = cand[pos[ok]]
    return out


def link_repeats(frame: ContactFrame, scenario: Scenario, resolved: np.ndarray, rng: np.random.Generator) -> None:
    """Re-label customers of later contacts (escalations and repeats); sets ``customer_id`` and ``repeat_of``."""
    cfg = scenario.repeats
    n = len(frame)
    offered, ended = frame["offered_at"], frame["ended_at"]
    channel, customer = frame["channel"], frame["customer_id"]
    ids = frame["contact_id"]
    first_leg = np.strings.find(ids, "-") < 0
    has_customer = customer >= 0
    inbound = frame["direction"] == "inbound"
    vip = frame["vip"]
    eligible = first_leg & inbound & has_customer
    self_failed = (frame["ivr_result"] != "") & (frame["outcome"] != "self_served")
    u_esc, u_rep = rng.random(n), rng.random(n)
    # Escalations: failed self-service or unresolved contacts on a ladder channel.
    src_all, tgt_all = [], []
    escalated = np.zeros(n, dtype=bool)
    reason = frame["ivr_result"]
    for why, rc in cfg.by_reason.items():
        src = np.flatnonzero(eligible & self_failed & (reason == why) & (channel != str(rc.to)) & (u_esc < rc.p))
        if not len(src):
            continue
        delay = rng.exponential(rc.delay_mean_min * 60.0, len(src))
        for flag in (False, True):
            cand = np.flatnonzero(eligible & (channel == str(rc.to)) & (vip == flag))
            sel = src[vip[src] == flag]
            if not len(sel) or not len(cand):
                continue
            tgt = _first_after(offered, cand, ended[sel] + delay[vip[src] == flag])
            keep = (tgt >= 0) & (offered[np.maximum(tgt, 0)] - ended[sel] <= rc.within_h * 3600.0)
            src_all.append(sel[keep])
            tgt_all.append(tgt[keep])
            escalated[sel[keep]] = True
        escalated[src] = True  # drawn for this reason: it does not also climb the ladder
    ladder = {str(k): str(v) for k, v in cfg.ladder.items()}
    for ch_from, ch_to in ladder.items():
        src = np.flatnonzero(
            eligible & ~escalated & (channel == ch_from) & (self_failed | ~resolved) & (u_esc < cfg.escalation_p)
        )
        if not len(src):
            continue
        delay = rng.exponential(cfg.escalation_delay_mean_min * 60.0, len(src))
        for flag in (False, True):
            cand = np.flatnonzero(eligible & (channel == ch_to) & (vip == flag))
            sel = src[vip[src] == flag]
            if not len(sel) or not len(cand):
                continue
            tgt = _first_after(offered, cand, ended[sel] + delay[vip[src] == flag])
            keep = (tgt >= 0) & (offered[np.maximum(tgt, 0)] - ended[sel] <= 6 * 3600.0)
            src_all.append(sel[keep])
            tgt_all.append(tgt[keep])
            escalated[sel[keep]] = True
    # Repeats: unresolved and not escalated; same channel, within the window.
    window = cfg.window_days * 86400.0
    mean = cfg.delay_mean_h * 3600.0
    src = np.flatnonzero(eligible & ~resolved & ~escalated & (u_rep < cfg.p_unresolved))
    if len(src):
        # Exponential truncated to the window, by inverting its CDF.
        u = rng.random(len(src))
        delay = -mean * np.log1p(-u * (1.0 - np.exp(-window / mean)))
        for ch in np.unique(channel[src]).tolist():
            for flag in (False, True):
                m = (channel[src] == ch) & (vip[src] == flag)
                sel = src[m]
                cand = np.flatnonzero(eligible & (channel == ch) & (vip == flag))
                if not len(sel) or not len(cand):
                    continue
                tgt = _first_after(offered, cand, ended[sel] + delay[m])
                keep = (tgt >= 0) & (offered[np.maximum(tgt, 0)] - ended[sel] <= window) & (tgt != sel)
                src_all.append(sel[keep])
                tgt_all.append(tgt[keep])
    repeat_of = np.full(n, "", dtype=ids.dtype)
    if src_all:
        s = np.concatenate(src_all)
        t = np.concatenate(tgt_all)
        # Earliest source wins a contested target; a contact never repeats itself or an earlier one.
        order = np.lexsort((s, offered[s]))
        s, t = s[order], t[order]
        _, first = np.unique(t, return_index=True)
        s, t = s[first], t[first]
        ok = offered[t] > offered[s]
        s, t = s[ok], t[ok]
        parent = np.arange(n)
        parent[t] = s
        root = parent.copy()
        while True:  # pointer jumping: every contact's earliest ancestor
            nxt = root[root]
            if np.array_equal(nxt, root):
                break
            root = nxt
        relabelled = customer[root]
        # Transfer and callback legs keep the customer of their first leg.
        legs = np.flatnonzero(~first_leg)
        if len(legs):
            by_id = dict(zip(ids[first_leg].tolist(), relabelled[first_leg].tolist(), strict=True))  # noqa: RUF100
            relabelled[legs] = [by_id.get(c.split("-")[0], relabelled[i])
                                for c, i in zip(ids[legs].tolist(), legs.tolist(), strict=True)]
        frame["customer_id"] = relabelled
        repeat_of[t] = ids[s]
    frame.extra["repeat_of"] = repeat_of
