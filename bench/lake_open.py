"""What a request on a tenant's lake pays to open it: uncached (per request) vs the API's cache (issue 17, part 2).

Before the cache, ``Resources.history`` checked the lake (``check_lake_holds``) and opened it (``open_lake``: list
every partition file, build an in-memory DuckDB with the canonical tables as views) for every request.
:class:`callops.lake.cache.LakeCache` lists only the ``_callops`` folder (the lake's stamp) and hands out a DuckDB
cursor already prepared over the cached file lists. Timed here, each followed by the tenant lookup every route
starts with (``tenancy.get_tenant``, timed alone as ``lookup``):

* ``uncached``: what a request paid before (check + open + close);
* ``cached``: a borrow from a warm cache (stamp listing + an idle prepared cursor, given back);
* ``after export``: the first borrow after the tenant's manifest was rewritten (as every export ends): the lake is
  listed and opened again;
* ``lookup`` and ``query``: the tenant lookup and one metric query (``contacts_offered`` by month) on a cached
  cursor, for scale.

The lake is made with ``bench/lake_generate.py`` (one partition file per day) unless ``--lake`` names one::

    nice -n 10 .venv/bin/python bench/lake_open.py [--days 30] [--rows 30000] [--n 40] [--lake DIR --tenant T]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _median_ms(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def main() -> None:
    """Parse the options, make or take the lake, time the three opens and print them (and one JSON line)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lake", help="An existing lake root (default: generate one in a temporary folder).")
    ap.add_argument("--tenant", default="bench")
    ap.add_argument("--days", type=int, default=30, help="Days (partition files) of a generated lake.")
    ap.add_argument("--rows", type=int, default=30_000, help="Contacts of a generated lake.")
    ap.add_argument("--n", type=int, default=40, help="Repetitions of each timing (the median is shown).")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lake-open-") as tmp:
        url = args.lake
        if url is None:
            url = str(Path(tmp) / "lake")
            subprocess.run([sys.executable, str(HERE / "lake_generate.py"), str(args.rows), "--to", url,
                            "--days", str(args.days), "--tenant", args.tenant],
                           check=True, capture_output=True)  # fmt: skip
        run(url, args.tenant, args.n)


def run(url: str, tenant: str, n: int) -> dict[str, float]:
    """Time the opens of the lake at ``url`` for ``tenant`` (medians of ``n``); print and return them."""
    from callops import tenancy
    from callops.lake.cache import LakeCache
    from callops.lake.export import META, Lake
    from callops.lake.read import open_lake
    from callops.lake.tenant import check_lake_holds
    from callops.metrics.query import query

    lake = Lake.open(url)
    files = sum(1 for p in Path(url).rglob("*") if p.is_file()) if "://" not in url else -1

    def uncached() -> None:
        check_lake_holds(url, tenant)
        with open_lake(url, "duckdb"):
            pass

    cache = LakeCache()

    def cached() -> None:
        with cache.reading(url, tenant):
            pass

    manifest = lake.read_json(META, tenant, "manifest.json")
    assert manifest is not None, f"lake {url} holds no export of {tenant}"
    text = json.dumps(manifest, indent=1).encode()
    flip = [0]

    def after_export() -> None:  # the manifest moved into place again, as an export ends: a new stamp
        flip[0] ^= 1
        lake.write_atomic(text + b" " * flip[0], META, tenant, "manifest.json")
        cached()

    uncached(), cached()  # imports and first opens out of the timings
    out = {"files": files, "uncached_ms": _median_ms(uncached, n), "cached_ms": _median_ms(cached, n),
           "after_export_ms": _median_ms(after_export, max(5, n // 4))}
    lake.write_atomic(text, META, tenant, "manifest.json")

    def lookup() -> None:
        with cache.reading(url, tenant) as wh:
            tenancy.get_tenant(wh, tenant)

    def one_query() -> None:
        with cache.reading(url, tenant) as wh:
            query(wh, tenant, ["contacts_offered"], grain="month")

    out["lookup_ms"] = _median_ms(lookup, n) - out["cached_ms"]
    out["query_ms"] = _median_ms(one_query, max(5, n // 4))
    out["opens"] = cache.opens
    out["ratio"] = out["uncached_ms"] / out["cached_ms"]
    cache.close()
    print(f"lake {url} ({files} files), tenant {tenant}, medians of {n}:")
    print(f"  uncached open per request  {out['uncached_ms']:7.2f} ms")
    print(f"  cached borrow              {out['cached_ms']:7.2f} ms   ({out['ratio']:.0f}x less)")
    print(f"  first borrow after export  {out['after_export_ms']:7.2f} ms")
    print(f"  tenant lookup (cached)     {out['lookup_ms']:7.2f} ms")
    print(f"  a month query (cached)     {out['query_ms']:7.2f} ms")
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}))
    return out


if __name__ == "__main__":
    main()
