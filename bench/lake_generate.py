"""Write N synthetic canonical contacts straight into the Parquet lake (issue 17, part 3).

The files have the columns and types ``callops lake export`` writes for ``contacts`` (``tenant_id``, ``load_id``
and the canonical columns, timestamps as UTC microseconds) in its layout, so ``open_lake`` and every catalog
metric read them as they read an export::

    _callops/lake.json, _callops/<tenant>/tenant.parquet, _callops/<tenant>/manifest.json
    tenant=<t>/table=contacts/day=<local date>/part-0.parquet

One DuckDB ``COPY`` per local day (DuckDB runs it on every core), each written under a temporary name and moved
into place, then the day's row count and content hash go to the manifest (the same hash as the export's, so
``lake verify`` of a warehouse holding the same rows would agree). Memory stays at one day's rows.

Distributions (deterministic for a seed: uniform numbers come from ``hash(row, k)``, not ``random()``):

* days: weekday profile (Mon 1.15 … Sun 0.6) and a slight upward trend, exactly N rows in all;
* arrivals by local hour: a two-peak office-hours curve (10:00 and 15:00), night ~3 % of the peak;
* 6 queues (30/20/18/12/5/15 %), 3 centres, channels voice 68 %, chat 17 %, app 8 %, email 4 %, web 3 %;
  all inbound (the 8 hand-written core figures of bench/metrics_catalog.py assume it);
* voice: IVR 20 + Exp(30) s, 10 % self-served in the IVR; waits Exp(mean per queue × load of the hour²);
  patience Exp(150 s) on voice, Exp(400 s) elsewhere: a wait above it is an abandonment at the patience;
* talk log-normal per queue (medians 240–420 s), hold on 30 % (Exp 40 s), ACW 15 + Exp(30) s;
* transfers 8 % one, 1 % two; resolution 55–90 % per queue; CSAT on 25 % of answered contacts (higher when
  resolved), NPS on 10 %; offers on 6 % (25 % accepted, revenue 20–200);
* customers: 8 % unknown, the rest drawn with a skew from N/6 customers, so repeat callers exist within a week.

    nice -n 10 .venv/bin/python bench/lake_generate.py 100000000 --to /tmp/lake100m [--tenant bench] [--days 90]
"""

from __future__ import annotations

import argparse
import json
import os
import posixpath
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from callops import schema
from callops.errors import CallopsError
from callops.lake.export import FORMAT_VERSION, META, Lake, _stats, _with_day, exported_columns, partition_file

HOUR_WEIGHTS = [0.5, 0.3, 0.2, 0.2, 0.2, 0.4, 1.0, 2.5, 5.0, 7.5, 8.0, 7.6,
                6.5, 6.8, 7.4, 7.2, 6.8, 6.0, 5.0, 4.6, 4.2, 3.6, 2.4, 1.2]
WEEKDAY = [1.15, 1.05, 1.0, 1.0, 0.95, 0.75, 0.6]  # Monday first
QUEUES = ["billing", "data_plans", "broadband", "complaints", "vip", "roaming"]
QUEUE_CUM = [0.30, 0.50, 0.68, 0.80, 0.85, 1.0]
TALK_MEDIAN = [240, 300, 360, 420, 330, 280]
WAIT_MEAN = [25, 30, 35, 45, 10, 22]
RESOLVE = [0.85, 0.8, 0.7, 0.55, 0.9, 0.8]
BUSINESS = ["billing", "data_plan", "broadband", "complaint", "vip_service", "roaming"]
LOAD_ID = "GEN-1"


def day_counts(n: int, start: date, days: int) -> list[tuple[date, int]]:
    """Rows per local day: weekday profile × a 10 % trend over the period, summing to exactly ``n``."""
    weights = [WEEKDAY[(start + timedelta(d)).weekday()] * (1 + 0.1 * d / max(days - 1, 1)) for d in range(days)]
    total = sum(weights)
    raw = [n * w / total for w in weights]
    counts = [int(x) for x in raw]
    for i in sorted(range(days), key=lambda i: raw[i] - counts[i], reverse=True)[: n - sum(counts)]:
        counts[i] += 1
    return [(start + timedelta(d), c) for d, c in enumerate(counts)]


def _hour_table(slots: int = 1000) -> list[int]:
    """``slots`` hours in proportion to the hourly weights: indexing it with a uniform number samples an hour."""
    total = sum(HOUR_WEIGHTS)
    out: list[int] = []
    for h, w in enumerate(HOUR_WEIGHTS):
        out += [h] * round(slots * w / total)
    return (out + [HOUR_WEIGHTS.index(max(HOUR_WEIGHTS))] * slots)[:slots]


def day_sql(tenant: str, day: date, rows: int, offset: int, customers: int, zone: str) -> str:
    """A DuckDB SELECT of one local day's contacts, in the lake's column order."""
    hours = _hour_table()
    peak = max(HOUR_WEIGHTS)
    load = [round((w / peak) ** 2, 4) for w in HOUR_WEIGHTS]
    q = "['" + "','".join(QUEUES) + "']"
    b = "['" + "','".join(BUSINESS) + "']"
    cols = ", ".join(exported_columns(schema.get_table("contacts")))
    return f"""
WITH u AS (
  SELECT g, {", ".join(f"(hash(g * 32 + {k}) >> 11)::DOUBLE / 9007199254740992.0 AS u{k}" for k in range(16))}
  FROM range({offset}, {offset + rows}) t(g)
), a AS (
  SELECT *, {hours}[1 + floor(u0 * 1000)::INT] AS hour,
         CASE {" ".join(f"WHEN u1 < {c} THEN {i + 1}" for i, c in enumerate(QUEUE_CUM[:-1]))} ELSE 6 END AS qi,
         CASE WHEN u2 < 0.68 THEN 'voice' WHEN u2 < 0.85 THEN 'chat' WHEN u2 < 0.93 THEN 'app'
              WHEN u2 < 0.97 THEN 'email' ELSE 'web' END AS channel,
         'inbound' AS direction
  FROM u
), b AS (
  SELECT *, timezone('{zone}', TIMESTAMP '{day} 00:00:00') + to_microseconds((hour * 3600e6 + u4 * 3600e6)::BIGINT)
           AS offered_at,
         CASE WHEN channel = 'voice' AND direction = 'inbound' THEN round(20 - 30 * ln(1 - u5), 1) ELSE 0 END
           AS ivr_s,
         channel = 'voice' AND direction = 'inbound' AND u6 < 0.10 AS self_served,
         round(-{WAIT_MEAN}[qi] * (0.3 + 1.7 * {load}[hour + 1]) * ln(1 - u7), 1) AS wait_raw,
         round(-(CASE WHEN channel = 'voice' THEN 150 ELSE 400 END) * ln(1 - u8), 1) AS patience
  FROM a
), c AS (
  SELECT *, NOT self_served AND (direction = 'outbound' OR wait_raw <= patience) AS answered,
         NOT self_served AND direction = 'inbound' AND wait_raw > patience AS abandoned,
         CASE WHEN u9 < 0.08 THEN 1 WHEN u9 < 0.09 THEN 2 ELSE 0 END AS n_transfers,
         sqrt(-2 * ln(1 - u10)) * cos(2 * pi() * u11) AS z
  FROM b
)
SELECT {cols} FROM (
  SELECT '{tenant}' AS tenant_id, '{LOAD_ID}' AS load_id, 'C{day:%Y%m%d}-' || (g - {offset}) AS contact_id,
    CASE WHEN u12 < 0.5 THEN 'Hefei' WHEN u12 < 0.8 THEN 'Wuhu' ELSE 'Bengbu' END AS center,
    {q}[qi] AS queue, channel, direction,
    CASE WHEN u13 < 0.08 THEN NULL ELSE 'U' || floor({customers} * pow(u14, 2.2))::BIGINT END AS customer_id,
    {b}[qi] AS business_type, offered_at,
    CASE WHEN answered THEN offered_at + to_microseconds(((ivr_s + wait_s) * 1e6)::BIGINT) END AS answered_at,
    offered_at + to_microseconds(((ivr_s + wait_s + coalesce(talk_s, 0) + coalesce(hold_s, 0)) * 1e6)::BIGINT)
      AS ended_at,
    ivr_s, wait_s, talk_s, hold_s, acw_s,
    CASE WHEN self_served THEN 'self_served' WHEN abandoned THEN 'abandoned'
         WHEN n_transfers > 0 AND u15 < 0.3 THEN 'transferred' ELSE 'answered' END AS outcome,
    CASE WHEN answered THEN 'A' || qi || '-' || (hash(g * 32 + 20) % 250) END AS agent_id,
    CASE WHEN answered THEN n_transfers ELSE 0 END::BIGINT AS transfers,
    CASE WHEN answered THEN u15 < {RESOLVE}[qi] END AS resolved,
    CASE WHEN answered AND u13 > 0.75 THEN
      least(5, greatest(1, round(3.1 + CASE WHEN u15 < {RESOLVE}[qi] THEN 1.2 ELSE -0.6 END + 0.9 * z))) END
      AS csat,
    CASE WHEN answered AND u12 > 0.9 THEN least(10, greatest(0, round(7 + 2 * z))) END AS nps,
    CASE WHEN answered AND u5 > 0.94 THEN 'O' || (1 + hash(g * 32 + 21) % 12) END AS offer_id,
    CASE WHEN answered AND u5 > 0.94 THEN CASE WHEN u14 < 0.25 THEN 'accepted' ELSE 'declined' END END
      AS offer_result,
    CASE WHEN answered AND u5 > 0.94 AND u14 < 0.25 THEN round(20 + 180 * u10, 2) END AS revenue
  FROM (
    SELECT *, CASE WHEN self_served OR direction = 'outbound' THEN 0 ELSE least(wait_raw, patience) END AS wait_s,
           CASE WHEN answered THEN round(exp(ln({TALK_MEDIAN}[qi]) + 0.6 * z), 1) END AS talk_s,
           CASE WHEN answered THEN CASE WHEN u9 > 0.7 THEN round(-40 * ln(1 - u11), 1) ELSE 0 END END AS hold_s,
           CASE WHEN answered THEN round(15 - 30 * ln(1 - u12), 1) END AS acw_s
    FROM c
  )
)
"""


def generate(url: str, rows: int, tenant: str = "bench", zone: str = "Asia/Shanghai", start: date = date(2026, 1, 1),
             days: int = 90, threads: int | None = None, progress: Any = None) -> dict[str, Any]:
    """Write ``rows`` contacts of ``tenant`` over ``days`` local days into the lake at ``url``; return a summary.

    Refuses (one line, nothing written) a root that cannot be written, an ``s3://`` URL (DuckDB writes local
    files here), a lake of another format version, and a tenant the lake already holds."""
    import duckdb
    import ibis

    if "://" in url:
        raise CallopsError(f"lake {url}: the generator writes a local folder (copy it to the object store after)")
    if rows < 1 or days < 1:
        raise CallopsError("rows and days must be at least 1")
    lake = Lake.open(url)
    lake.check_writable()
    lake.check_version()
    if lake.read_json(META, tenant, "manifest.json") is not None:
        raise CallopsError(f"lake {url} already holds tenant {tenant!r}: generate into another folder or tenant")
    table = schema.get_table("contacts")
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET memory_limit = '4GB'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    backend = ibis.duckdb.from_connection(con)
    known: dict[str, dict[str, Any]] = {}
    t0, offset = time.perf_counter(), 0
    customers = max(1000, rows // 6)
    for day, n in day_counts(rows, start, days):
        if n == 0:
            continue
        rel = partition_file(tenant, "contacts", day.isoformat())
        target = lake.path(rel)
        lake.fs.create_dir(posixpath.dirname(target), recursive=True)
        tmp = posixpath.join(posixpath.dirname(target), f".tmp-{uuid.uuid4().hex}")
        try:
            con.execute(f"COPY ({day_sql(tenant, day, n, offset, customers, zone)}) TO '{tmp}' "
                        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)")
            stats = _stats(_with_day(backend.read_parquet(tmp), table, zone), table)
            lake.fs.move(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        (d, (count, h)), = stats.items()
        assert d == day.isoformat() and count == n, (d, day, count, n)
        known[d] = {"rows": count, "hash": h, "file": rel}
        offset += n
        if progress:
            progress(day, n, time.perf_counter() - t0)
    con.close()
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"tenant_id": [tenant], "timezone": [zone]}), sink)
    lake.write_atomic(sink.getvalue().to_pybytes(), META, tenant, "tenant.parquet")
    manifest = {"format_version": FORMAT_VERSION, "tenant": tenant, "timezone": zone, "loads": [LOAD_ID],
                "tables": {"contacts": known}, "exported_at": datetime.now(UTC).isoformat(),
                "generated": {"rows": rows, "days": days, "start": start.isoformat()}}
    lake.write_atomic(json.dumps(manifest, indent=1).encode(), META, tenant, "manifest.json")
    seconds = time.perf_counter() - t0
    size = sum(os.path.getsize(lake.path(v["file"])) for v in known.values())
    return {"lake": url, "tenant": tenant, "rows": rows, "days": len(known), "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds), "bytes": size}


def main(argv: list[str] | None = None) -> int:
    """CLI: generate, print one JSON summary on stdout (progress on stderr); exit 2 with one line on bad input."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", type=int)
    ap.add_argument("--to", required=True, help="lake root (a local folder)")
    ap.add_argument("--tenant", default="bench")
    ap.add_argument("--zone", default="Asia/Shanghai")
    ap.add_argument("--start", default="2026-01-01", type=date.fromisoformat)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: every core)")
    args = ap.parse_args(argv)

    def show(day: date, n: int, s: float) -> None:
        print(f"{day}: {n:,} rows ({s:.0f} s)", file=sys.stderr)

    try:
        doc = generate(args.to, args.rows, args.tenant, args.zone, args.start, args.days, args.threads, show)
    except CallopsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
