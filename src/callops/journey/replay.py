"""One customer's replay: every step and contact across channels, in time order, with waits and satisfaction."""

from __future__ import annotations

from callops.errors import NotFound
from callops.journey.events import run_sql
from callops.tenancy import Tenant, scoped
from callops.warehouse import BOOKKEEPING_COLUMNS, Warehouse

TRANSCRIPT_LINES = 2


def customer_journey(wh: Warehouse, tenant: Tenant, customer_id: str) -> dict:
    """The timeline of ``customer_id``: steps (with the wait since the previous one) and contacts.

    Raises :class:`NotFound` when the tenant knows nothing of the customer (another tenant's customer included).
    """
    ev = scoped(wh, tenant, "journey_events")
    ev = ev.filter(ev.customer_id == customer_id)
    co = scoped(wh, tenant, "contacts")
    co = co.filter(co.customer_id == customer_id)
    tr = scoped(wh, tenant, "transcripts")
    cu = scoped(wh, tenant, "customers")
    cu = cu.filter(cu.customer_id == customer_id)
    steps = run_sql(
        wh, {"ev": ev},
        """SELECT 'step' AS kind, ts, session_id, seq, channel, step, outcome, error_code, contact_id,
                  (epoch_us(ts) - epoch_us(lag(ts) OVER (ORDER BY ts, session_id, seq))) / 1e6 AS wait_s
           FROM ev ORDER BY ts, session_id, seq""",
    )
    contacts = run_sql(
        wh, {"co": co, "tr": tr},
        f""", lines AS (SELECT contact_id, string_agg(speaker || ': ' || text, ' / ' ORDER BY seq) AS first_lines
                       FROM tr WHERE seq < {TRANSCRIPT_LINES} AND contact_id IN (SELECT contact_id FROM co)
                       GROUP BY contact_id)
        SELECT 'contact' AS kind, offered_at AS ts, contact_id, channel, direction, queue, business_type, outcome,
               agent_id, wait_s, talk_s, resolved, csat, nps, l.first_lines
        FROM co LEFT JOIN lines l USING (contact_id) ORDER BY offered_at, contact_id""",
    )
    # the profile as exported (no warehouse row hash), so the warehouse and the lake give the same document
    profile = cu.select(*[c for c in cu.columns if c not in BOOKKEEPING_COLUMNS]).to_pyarrow().to_pylist()
    if not steps and not contacts and not profile:
        raise NotFound(f"no customer {customer_id!r}")
    timeline = sorted(steps + contacts, key=lambda r: (r["ts"], r["kind"] != "contact", r.get("seq") or 0))
    for r in timeline:
        r["ts"] = r["ts"].isoformat()
        for k in ("wait_s", "talk_s", "csat", "nps"):
            if k in r and r[k] is not None:
                r[k] = float(r[k])
    csat = [r["csat"] for r in contacts if r.get("csat") is not None]
    return {
        "customer_id": customer_id,
        "profile": profile[0] if profile else None,
        "sessions": len({r["session_id"] for r in steps}),
        "steps": len(steps),
        "contacts": len(contacts),
        "channels": sorted({r["channel"] for r in timeline if r.get("channel")}),
        "mean_csat": sum(csat) / len(csat) if csat else None,
        "timeline": timeline,
    }
