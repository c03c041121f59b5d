"""Cross-channel customer journeys (``journey_events``) built from the contacts of a run.

A session is a customer's run of contacts whose gaps (next offered - previous ended) stay under
``session_gap_min``; escalations (app -> chat -> voice, see :mod:`callops.sim.repeats`) therefore
share a session. A share ``journeys.share`` of sessions is recorded. Each contact contributes:

* an entry step at its offered time (``ivr_menu``, ``chat_bot``, ``app_login``, ``web_login``,
  ``sms_command``, or ``outbound_call``), ``ok``;
* with a self-service stage: ``verify_identity`` (``failed`` with ``identity_verification_failed``
  when that was the reason) and ``self_service`` at the end of the stage - ``ok`` when self-served,
  ``abandoned`` when the customer asked for an agent, else ``failed`` with the reason as error code;
* when it went on to a queue: ``agent`` at the answer (``ok``) or at the end (``abandoned``).

Every step carries the contact's id; ``seq`` orders the steps of a session by time.

Documented causes the journey views should find (the views never read them; they come from the contacts):

* a failed self-service stage (``verify_identity`` failed, ``self_service`` failed or abandoned) is the only
  source of ``failed``/``abandoned`` steps, in the proportions of each IVR/app stage's ``failure_reasons``;
* failed app/web/chat contacts climb the channel ladder (``repeats.ladder``, minutes) and those failed with a
  reason in ``repeats.by_reason`` go to that reason's channel: in the demo hotline 60 % of
  ``identity_verification_failed`` contacts bring the customer to a voice call within 24 h (mean delay 4 h),
  so "identity verification in the app, then a voice call" is a failure that drives calls;
* contacts of one customer less than ``session_gap_min`` apart share a session, so a quick escalation appears
  as one cross-channel session and a later one as a new session of the same customer.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from callops.sim.frame import ContactFrame
from callops.sim.scenario import Scenario

_ENTRY = {"voice": "ivr_menu", "chat": "chat_bot", "app": "app_login", "web": "web_login", "sms": "sms_command",
          "email": "email_sent", "social": "social_message", "video": "video_call"}
_ID_FAIL = "identity_verification_failed"


def generate_journeys(frame: ContactFrame, scenario: Scenario, rng: np.random.Generator) -> pa.Table:
    """The ``journey_events`` table of the run."""
    cfg = scenario.journeys
    cust = frame["customer_id"]
    has = np.flatnonzero(cust >= 0)
    offered, ended = frame["offered_at"][has], frame["ended_at"][has]
    c_ids = cust[has]
    order = np.lexsort((offered, c_ids))
    idx = has[order]
    c_sorted, off_s, end_s = c_ids[order], offered[order], ended[order]
    new = np.ones(len(idx), dtype=bool)
    if len(idx) > 1:
        same = c_sorted[1:] == c_sorted[:-1]
        gap = off_s[1:] - end_s[:-1]
        new[1:] = ~same | (gap > cfg.session_gap_min * 60.0)
    session = np.cumsum(new) - 1
    keep_session = rng.random(int(session[-1]) + 1 if len(session) else 0) < cfg.share
    keep = keep_session[session] if len(session) else np.zeros(0, dtype=bool)
    idx, session = idx[keep], session[keep]
    cid = frame["contact_id"]
    # Session id: "J" + the id of its first contact (rows are in session order, first contact first).
    uniq, first_row, inverse = np.unique(session, return_index=True, return_inverse=True)
    names = np.strings.add("J", cid[idx[first_row]]) if len(uniq) else np.empty(0, dtype=str)
    sid_of_session = names[inverse] if len(uniq) else np.empty(0, dtype=str)
    ch, outcome = frame["channel"][idx], frame["outcome"][idx]
    reason = frame["ivr_result"][idx]
    ivr_s = np.nan_to_num(frame["ivr_s"][idx])
    off, ans, end = frame["offered_at"][idx], frame["answered_at"][idx], frame["ended_at"][idx]
    has_ivr = reason != ""
    served = outcome == "self_served"
    # Steps and outcomes as small integer codes (names at the end); error codes as text ("" = none).
    steps = [*_ENTRY.values(), "contact", "outbound_call", "verify_identity", "self_service", "agent"]
    code = {name: i for i, name in enumerate(steps)}
    outcomes = np.array(["ok", "failed", "abandoned"], dtype=object)
    ok, failed, abandoned = 0, 1, 2
    n = len(idx)
    entry = np.full(n, code["contact"], dtype=np.int64)
    for channel_name, step_name in _ENTRY.items():
        entry[ch == channel_name] = code[step_name]
    entry[frame["direction"][idx] == "outbound"] = code["outbound_call"]
    parts: list[tuple] = [(np.arange(n), off, 0, entry, np.full(n, ok), np.full(n, "", dtype=reason.dtype))]
    r = np.flatnonzero(has_ivr)
    id_failed = reason[r] == _ID_FAIL
    parts.append((r, off[r] + 0.4 * ivr_s[r], 1, np.full(len(r), code["verify_identity"]),
                  np.where(id_failed, failed, ok), np.where(id_failed, reason[r], "")))
    ss_out = np.where(served[r], ok, np.where(reason[r] == "wants_agent", abandoned, failed))
    parts.append((r, off[r] + ivr_s[r], 2, np.full(len(r), code["self_service"]), ss_out,
                  np.where(served[r], "", reason[r])))
    a = np.flatnonzero(~served)
    answered = ~np.isnan(ans[a])
    parts.append((a, np.where(answered, ans[a], end[a]), 3, np.full(len(a), code["agent"]),
                  np.where(answered, ok, abandoned), np.full(len(a), "", dtype=reason.dtype)))
    rows = np.concatenate([p[0] for p in parts])
    ts = np.concatenate([p[1] for p in parts])
    sub = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    step = np.concatenate([p[3] for p in parts])
    out = np.concatenate([p[4] for p in parts])
    err = np.concatenate([p[5] for p in parts])
    sess = session[rows]
    o = np.lexsort((sub, ts, sess))
    rows, ts, step, out, err, sess = rows[o], ts[o], step[o], out[o], err[o], sess[o]
    start_of = np.r_[True, sess[1:] != sess[:-1]] if len(sess) else np.zeros(0, dtype=bool)
    first_pos = np.maximum.accumulate(np.where(start_of, np.arange(len(sess)), 0)) if len(sess) else sess
    seq = np.arange(len(sess)) - first_pos
    no_err = err == ""
    return pa.table({
        "session_id": pa.array(sid_of_session[rows], pa.string()),
        "seq": pa.array(seq, pa.int64()),
        "customer_id": frame.customer_column(idx[rows]),
        "ts": frame.timestamps(ts),
        "channel": pa.array(ch[rows], pa.string()),
        "step": pa.array(np.array(steps, dtype=str)[step], pa.string()),
        "outcome": pa.array(outcomes[out].tolist(), pa.string()),
        "error_code": pa.array(err, pa.string(), mask=no_err if no_err.any() else None),
        "contact_id": pa.array(cid[idx][rows], pa.string()),
    })
