"""Ingest of all ten Anonymous Bank months (360k rows), end to end through the CLI.

Baseline in the same run: DuckDB reading the same gzipped TSVs into a table with
no mapping, typing or validation. Target (issue 2): under 10 s on 2 cores.

    .venv/bin/python bench/ingest_bank.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import duckdb

from _common import SHARED_DATA, run_cli

BANK = SHARED_DATA / "anonymous-bank-1999"


def main() -> None:
    """Print the load time, rows/s and the ratio to a bare DuckDB scan."""
    files = sorted(str(p) for p in BANK.glob("*.tsv.gz"))
    if not files:
        sys.exit(f"no data at {BANK}")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        run_cli(["tenant", "create", "bench"], home)
        seconds, summary, peak = run_cli(
            ["ingest", "contacts", *files, "--tenant", "bench", "--mapping", "anonymous_bank", "--json"], home
        )
        again, summary2, _ = run_cli(
            ["ingest", "contacts", *files, "--tenant", "bench", "--mapping", "anonymous_bank", "--json"], home
        )
    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv({files}, delim='\t', header=true, all_varchar=true)")
    baseline = time.perf_counter() - t0
    rows = summary["read"]
    print(f"rows read                 {rows}")
    print(f"loaded/rejected/skipped   {summary['loaded']}/{summary['rejected']}/{summary['skipped']}")
    print(f"warned (fields emptied)   {summary['warned']}  {summary['warn_reasons']}")
    print(f"callops ingest (CLI, end to end)  {seconds:6.2f} s  {rows / seconds:10,.0f} rows/s  (target < 10 s)")
    print(f"  of which the load itself        {summary['seconds']:6.2f} s")
    print(f"re-load (all unchanged)           {again:6.2f} s  unchanged={summary2['unchanged']}")
    print(f"baseline: bare DuckDB scan        {baseline:6.2f} s")
    print(f"ratio callops / bare scan         {seconds / baseline:6.1f}x")
    print(f"peak RSS of the CLI               {peak:6.0f} MiB")


if __name__ == "__main__":
    main()
