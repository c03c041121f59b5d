"""Exact process views of the selected sessions: summary, variants, directly-follows graph, start and end steps.

Steps of a session follow ``seq`` (by time, ties in file order when the loader derived it). Definitions:

* variant: the sequence of step names of a session;
* edge (directly-follows pair): step ``a`` immediately followed by step ``b`` in a session; its wait is
  ``ts(b) - ts(a)`` in seconds (mean, median as the middle value or the mean of the two middle ones, p90 by
  linear interpolation, as numpy's defaults);
* session duration: last ``ts`` minus first ``ts``;
* rework: a session that has some step more than once; loop: a self-loop ``a -> a`` or a return ``a -> b -> a``.
"""

from __future__ import annotations

from callops.journey.events import Selection, events, run_sql
from callops.tenancy import Tenant
from callops.warehouse import Warehouse

# Shared CTEs: each event with the next step and the wait to it, and one row per session.
_STEPS = """steps AS MATERIALIZED (
  SELECT session_id, seq, ts, step,
         lead(step) OVER w AS next_step,
         (epoch_us(lead(ts) OVER w) - epoch_us(ts)) / 1e6 AS wait_s,
         lag(step) OVER w AS prev_step, lead(step, 2) OVER w AS next2
  FROM ev WINDOW w AS (PARTITION BY session_id ORDER BY seq))"""
_SESSIONS = """sess AS MATERIALIZED (
  SELECT session_id, count(*) AS n, (epoch_us(max(ts)) - epoch_us(min(ts))) / 1e6 AS duration_s,
         count(*) > count(DISTINCT step) AS rework, list(step ORDER BY seq) AS path
  FROM ev GROUP BY session_id)"""
_LOOPS = """loops AS (
  SELECT session_id, bool_or(step = next_step) AS self_loop,
         bool_or(step = next2 AND step <> next_step) AS return_loop
  FROM steps GROUP BY session_id)"""


def _rows(wh: Warehouse, tenant: Tenant, sel: Selection | None, ctes: list[str], sql: str) -> list[dict]:
    return run_sql(wh, {"ev": events(wh, tenant, sel)}, (", " + ", ".join(ctes) + " " if ctes else "") + sql)


def summary(wh: Warehouse, tenant: Tenant, sel: Selection | None = None) -> dict:
    """Counts and durations of the selected sessions (the keys of ``callops journey summary --json``)."""
    row = _rows(
        wh, tenant, sel, [_STEPS, _SESSIONS, _LOOPS],
        """SELECT (SELECT count(*) FROM ev) AS events,
                  (SELECT count(*) FROM sess) AS sessions,
                  (SELECT count(DISTINCT step) FROM ev) AS steps,
                  (SELECT count(DISTINCT path) FROM sess) AS variants,
                  (SELECT count(*) FROM (SELECT DISTINCT step, next_step FROM steps WHERE next_step IS NOT NULL))
                    AS edges,
                  (SELECT median(duration_s) FROM sess) AS median_duration_s,
                  (SELECT avg(duration_s) FROM sess) AS mean_duration_s,
                  (SELECT quantile_cont(duration_s, 0.9) FROM sess) AS p90_duration_s,
                  (SELECT avg(CASE WHEN rework THEN 1.0 ELSE 0.0 END) FROM sess) AS rework_share,
                  (SELECT count(*) FROM steps WHERE step = next_step) AS self_loops,
                  (SELECT count(*) FILTER (WHERE self_loop) FROM loops) AS self_loop_sessions,
                  (SELECT count(*) FILTER (WHERE return_loop) FROM loops) AS return_loop_sessions,
                  (SELECT min(ts) FROM ev) AS first_ts, (SELECT max(ts) FROM ev) AS last_ts""",
    )[0]
    out = {k: row[k] for k in ("events", "sessions", "steps", "variants", "edges")}
    for k in ("median_duration_s", "mean_duration_s", "p90_duration_s", "rework_share"):
        out[k] = None if row[k] is None else float(row[k])
    out["self_loops"] = row["self_loops"]
    out["self_loop_sessions"], out["return_loop_sessions"] = row["self_loop_sessions"], row["return_loop_sessions"]
    out["first_ts"] = row["first_ts"].isoformat() if row["first_ts"] else None
    out["last_ts"] = row["last_ts"].isoformat() if row["last_ts"] else None
    return out


def variants(wh: Warehouse, tenant: Tenant, sel: Selection | None = None, top: int | None = 20) -> dict:
    """The distinct step sequences with sessions, share and durations, most frequent first (ties by path)."""
    limit = f"LIMIT {int(top)}" if top else ""
    rows = _rows(
        wh, tenant, sel, [_SESSIONS],
        f"""SELECT path, count(*) AS sessions, count(*) / sum(count(*)) OVER () AS share,
                   sum(count(*)) OVER () AS total_sessions, count(*) OVER () AS total_variants,
                   any_value(n) AS steps, median(duration_s) AS median_duration_s,
                   avg(duration_s) AS mean_duration_s, bool_or(rework) AS rework
            FROM sess GROUP BY path ORDER BY sessions DESC, path {limit}""",
    )
    total = {"s": int(rows[0]["total_sessions"]) if rows else 0, "v": int(rows[0]["total_variants"]) if rows else 0}
    return {
        "sessions": total["s"],
        "variants": total["v"],
        "top": [
            {
                "rank": i + 1,
                "path": list(r["path"]),
                "sessions": r["sessions"],
                "share": float(r["share"]),
                "steps": r["steps"],
                "median_duration_s": float(r["median_duration_s"]),
                "mean_duration_s": float(r["mean_duration_s"]),
                "rework": bool(r["rework"]),
            }
            for i, r in enumerate(rows)
        ],
    }


def dfg(wh: Warehouse, tenant: Tenant, sel: Selection | None = None) -> dict:
    """The directly-follows graph: edges with counts and waits, and the start and end steps."""
    rows = _rows(
        wh, tenant, sel, [_STEPS],
        """SELECT 'edge' AS kind, step AS "from", next_step AS "to", count(*) AS count, avg(wait_s) AS mean_wait_s,
                  median(wait_s) AS median_wait_s, quantile_cont(wait_s, 0.9) AS p90_wait_s
           FROM steps WHERE next_step IS NOT NULL GROUP BY ALL
           UNION ALL SELECT 'start', step, NULL, count(*), NULL, NULL, NULL FROM steps
                     WHERE prev_step IS NULL GROUP BY ALL
           UNION ALL SELECT 'end', step, NULL, count(*), NULL, NULL, NULL FROM steps
                     WHERE next_step IS NULL GROUP BY ALL
           ORDER BY kind, count DESC, "from", "to" """,
    )
    edges = [{k: v for k, v in r.items() if k != "kind"} for r in rows if r["kind"] == "edge"]
    ends = [{"kind": r["kind"], "step": r["from"], "sessions": r["count"]} for r in rows if r["kind"] != "edge"]
    for e in edges:
        for k in ("mean_wait_s", "median_wait_s", "p90_wait_s"):
            e[k] = float(e[k])
    return {
        "edges": edges,
        "start_steps": {r["step"]: r["sessions"] for r in ends if r["kind"] == "start"},
        "end_steps": {r["step"]: r["sessions"] for r in ends if r["kind"] == "end"},
    }


def flows(wh: Warehouse, tenant: Tenant, sel: Selection | None = None, *, depth: int = 5, top: int = 80) -> dict:
    """Sessions moving from step position k to k+1 (k < ``depth``): an acyclic flow for a Sankey chart.

    Nodes are ``"<position>. <step>"``, so a step that comes back is a new node and the graph has no cycle
    (a Sankey cannot draw one). The ``top`` largest links are kept.
    """
    links = _rows(
        wh, tenant, sel, [],
        f""", pos AS (SELECT session_id, step, row_number() OVER (PARTITION BY session_id ORDER BY seq) AS k FROM ev)
        SELECT a.k AS k, a.step AS source, b.step AS target, count(*) AS value
        FROM pos a JOIN pos b ON a.session_id = b.session_id AND b.k = a.k + 1
        WHERE a.k < {int(depth)} GROUP BY ALL ORDER BY value DESC, k, source, target LIMIT {int(top)}""",
    )
    out = [{"source": f"{r['k']}. {r['source']}", "target": f"{r['k'] + 1}. {r['target']}", "value": r["value"]}
           for r in links]
    names = sorted({x["source"] for x in out} | {x["target"] for x in out})
    return {"nodes": [{"name": n} for n in names], "links": out}
