"""Failure reasons, channel KPIs, related businesses and ranked suggestions over the selected sessions (C1).

Definitions (also in docs/journeys.md):

* a **failure** is an event with an error code or the outcome ``failed`` or ``abandoned``; its reason is the error
  code, else ``<step>:<outcome>``, per channel. A reason *breaks* a session when the session has such an event.
  "Then voice" counts broken sessions whose customer has a voice step of another contact within N hours after
  the failure;
* a session's **entry channel** is the channel of its first step; it is **completed** when its last step's
  outcome is ``ok`` (or empty), **escalated** when it reaches a step named ``agent`` (it needed a person);
  time to resolution is the median duration of completed sessions;
* **related items** are a customer's businesses (``business:<type>`` from the contacts its steps belong to) and
  steps (``step:<name>``); support = share of customers with both, confidence = P(B | A), lift = confidence /
  support(B). Logs without customers use sessions as baskets.
"""

from __future__ import annotations

from callops.journey.events import Selection, events, run_sql
from callops.tenancy import Tenant, scoped
from callops.warehouse import Warehouse

AGENT_STEP = "agent"
_FAILED = "(error_code IS NOT NULL OR outcome IN ('failed', 'abandoned'))"
_REASON = "coalesce(error_code, step || ':' || outcome)"


def failure_reasons(
    wh: Warehouse, tenant: Tenant, sel: Selection | None = None, *, within_h: float = 24, top: int = 20
) -> list[dict]:
    """Failure reasons per channel ranked by the sessions they break, with how many were followed by a voice call.

    "Then voice": the customer has a voice step of *another* contact (another session when steps carry no
    contact) within ``within_h`` hours after the session's first failure for that reason. ``step``: the step most
    sessions failed at for that reason (ties by name, so the answer does not depend on the order rows are read).
    """
    ev = events(wh, tenant, sel)
    rows = run_sql(
        wh, {"ev": ev, "allev": scoped(wh, tenant, "journey_events")},
        f""", f AS (SELECT session_id, customer_id, ts, step, channel, coalesce(contact_id, session_id) AS cid,
                          {_REASON} AS reason FROM ev WHERE {_FAILED}),
        first_f AS (SELECT reason, channel, session_id, arg_min(customer_id, ts) AS customer_id, min(ts) AS ts,
                           arg_min(cid, ts) AS cid
                    FROM f GROUP BY reason, channel, session_id),
        sess_step AS (SELECT reason, channel, session_id, first(step ORDER BY n DESC, step) AS step
                      FROM (SELECT reason, channel, session_id, step, count(*) AS n FROM f GROUP BY ALL) GROUP BY ALL),
        reason_step AS (SELECT reason, channel, first(step ORDER BY n DESC, step) AS step
                        FROM (SELECT reason, channel, step, count(*) AS n FROM sess_step GROUP BY ALL) GROUP BY ALL),
        voice AS (SELECT customer_id, coalesce(contact_id, session_id) AS cid, min(ts) AS ts FROM allev
                  WHERE channel = 'voice' AND customer_id IS NOT NULL GROUP BY ALL),
        then_voice AS (SELECT DISTINCT r.reason, r.channel, r.session_id FROM first_f r JOIN voice v
                         ON v.customer_id = r.customer_id AND v.cid <> r.cid AND v.ts > r.ts
                        AND v.ts <= r.ts + to_microseconds(CAST(? * 3600e6 AS BIGINT)))
        SELECT r.reason, any_value(rs.step) AS step, r.channel, count(*) AS sessions,
               count(*) / (SELECT count(DISTINCT session_id) FROM ev) AS share,
               (SELECT count(*) FROM then_voice t
                WHERE t.reason = r.reason AND t.channel IS NOT DISTINCT FROM r.channel) AS then_voice_sessions
        FROM first_f r JOIN reason_step rs ON rs.reason = r.reason AND rs.channel IS NOT DISTINCT FROM r.channel
        GROUP BY r.reason, r.channel ORDER BY sessions DESC, reason, channel LIMIT {int(top)}""",
        [within_h],
    )
    for r in rows:
        r["share"] = float(r["share"])
        r["then_voice_share"] = r["then_voice_sessions"] / r["sessions"] if r["sessions"] else 0.0
        r["within_hours"] = within_h
    return rows


def channel_kpis(wh: Warehouse, tenant: Tenant, sel: Selection | None = None) -> list[dict]:
    """Per entry channel: sessions, completion, failure and escalation shares, median time to resolution."""
    rows = run_sql(
        wh, {"ev": events(wh, tenant, sel)},
        f""", s AS (
          SELECT session_id, arg_min(channel, seq) AS channel, arg_max(outcome, seq) AS last_outcome,
                 bool_or({_FAILED}) AS failed,
                 bool_or(step = '{AGENT_STEP}') AS agent,
                 (epoch_us(max(ts)) - epoch_us(min(ts))) / 1e6 AS duration_s
          FROM ev GROUP BY session_id)
        SELECT coalesce(channel, '(none)') AS channel, count(*) AS sessions,
               avg(CASE WHEN coalesce(last_outcome, 'ok') = 'ok' THEN 1.0 ELSE 0.0 END) AS completion,
               avg(CASE WHEN failed THEN 1.0 ELSE 0.0 END) AS failure,
               avg(CASE WHEN agent THEN 1.0 ELSE 0.0 END) AS escalation,
               median(duration_s) FILTER (WHERE coalesce(last_outcome, 'ok') = 'ok') AS median_resolution_s
        FROM s GROUP BY ALL ORDER BY sessions DESC, channel""",
    )
    for r in rows:
        for k in ("completion", "failure", "escalation", "median_resolution_s"):
            r[k] = None if r[k] is None else float(r[k])
    return rows


def related(
    wh: Warehouse, tenant: Tenant, sel: Selection | None = None, *, min_support: float = 0.01, top: int = 20
) -> list[dict]:
    """Pairs of businesses/steps that co-occur per customer, with support, confidence and lift (A -> B)."""
    ev = events(wh, tenant, sel)
    co = scoped(wh, tenant, "contacts").select("contact_id", "business_type")
    rows = run_sql(
        wh, {"ev": ev, "co": co},
        """, items AS (
          SELECT DISTINCT coalesce(ev.customer_id, ev.session_id) AS basket, 'step:' || ev.step AS item FROM ev
          UNION SELECT DISTINCT coalesce(ev.customer_id, ev.session_id), 'business:' || co.business_type
          FROM ev JOIN co USING (contact_id) WHERE co.business_type IS NOT NULL),
        n AS (SELECT count(DISTINCT basket) AS n FROM items),
        single AS (SELECT item, count(*) AS c FROM items GROUP BY item),
        pairs AS (SELECT a.item AS a, b.item AS b, count(*) AS c FROM items a JOIN items b
                  ON a.basket = b.basket AND a.item <> b.item GROUP BY ALL)
        SELECT p.a AS "if", p.b AS "then", p.c AS baskets, p.c / n.n AS support, p.c / sa.c AS confidence,
               (p.c / sa.c) / (sb.c / n.n) AS lift
        FROM pairs p, n, single sa, single sb
        WHERE sa.item = p.a AND sb.item = p.b AND p.c / n.n >= ? AND sb.c < n.n
        ORDER BY lift DESC, support DESC, "if", "then" LIMIT ?""",
        [min_support, top],
    )
    for r in rows:
        for k in ("support", "confidence", "lift"):
            r[k] = float(r[k])
    return rows


def step_fallout(wh: Warehouse, tenant: Tenant, sel: Selection | None = None) -> list[dict]:
    """Per step: sessions that reach it, and those that end there failed or abandoned (the fallout)."""
    rows = run_sql(
        wh, {"ev": events(wh, tenant, sel)},
        f""", last AS (SELECT session_id, arg_max(step, seq) AS step, arg_max({_FAILED}, seq) AS broke
                      FROM ev GROUP BY session_id),
        reach AS (SELECT step, count(DISTINCT session_id) AS reached FROM ev GROUP BY step)
        SELECT r.step, r.reached, count(l.session_id) FILTER (WHERE l.broke) AS fallout
        FROM reach r LEFT JOIN last l USING (step) GROUP BY ALL ORDER BY fallout DESC, r.step""",
    )
    for r in rows:
        r["fallout_share"] = r["fallout"] / r["reached"] if r["reached"] else 0.0
    return rows


def loops_by_step(wh: Warehouse, tenant: Tenant, sel: Selection | None = None) -> list[dict]:
    """Per step: sessions that repeat it (rework), with the self-loops among them."""
    return run_sql(
        wh, {"ev": events(wh, tenant, sel)},
        """, per AS (SELECT session_id, step, count(*) AS times FROM ev GROUP BY ALL HAVING count(*) > 1)
        SELECT step, count(*) AS sessions, sum(times - 1) AS repeats FROM per
        GROUP BY step ORDER BY sessions DESC, step""",
    )


def suggestions(wh: Warehouse, tenant: Tenant, sel: Selection | None = None, *, within_h: float = 24) -> list[dict]:
    """Ranked optimisation suggestions: each names what to look at, the sessions at stake and the evidence."""
    out: list[dict] = []
    for f in step_fallout(wh, tenant, sel)[:3]:
        if f["fallout"]:
            out.append({
                "kind": "fallout", "target": f["step"], "sessions": f["fallout"],
                "title": f"Sessions break off at '{f['step']}'",
                "evidence": {"reached": f["reached"], "ended_failed": f["fallout"],
                             "fallout_share": f["fallout_share"]},
            })
    for lp in loops_by_step(wh, tenant, sel)[:3]:
        out.append({
            "kind": "loop", "target": lp["step"], "sessions": lp["sessions"],
            "title": f"Customers repeat '{lp['step']}'",
            "evidence": {"sessions_repeating": lp["sessions"], "extra_steps": int(lp["repeats"])},
        })
    for r in failure_reasons(wh, tenant, sel, within_h=within_h, top=5):
        if r["then_voice_sessions"]:
            out.append({
                "kind": "failure_drives_calls", "target": r["reason"], "sessions": r["then_voice_sessions"],
                "title": f"'{r['reason']}' on {r['channel']} is followed by a voice call",
                "evidence": {"sessions_broken": r["sessions"], "then_voice_within_hours": within_h,
                             "then_voice_sessions": r["then_voice_sessions"], "step": r["step"],
                             "channel": r["channel"]},
            })
    out.sort(key=lambda s: (-s["sessions"], s["kind"], s["target"]))
    for i, s in enumerate(out):
        s["rank"] = i + 1
    return out
