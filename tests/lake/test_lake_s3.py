"""The lake on an object store (issue 17, part 1): ``s3://`` through Arrow's S3 file system, credentials from the
environment, against an S3 server speaking the real protocol over HTTP (moto's standalone server, the
S3-compatible endpoint a MinIO or Ceph would be; ``endpoint_override`` and ``scheme`` in the URL as for them).

Two tenants whose names are prefixes of each other (``t1``, ``t10``, the same contact ids) go to one bucket: the
export writes every row of each, incrementally (a new load rewrites only its day), ``lake verify`` agrees, and the
whole catalog on the S3 lake equals the warehouse, through the Python API and the CLI.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
from test_lake import _contacts, _load, _same, base, world  # noqa: F401  (base, world: fixtures)

from callops import tenancy
from callops.lake.export import export, verify
from callops.lake.read import open_lake
from callops.metrics.catalog import build_catalog, package_files
from callops.metrics.compiler import PERIOD, compile_query
from callops.warehouse import Warehouse

BUCKET = "callops-lake"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "lake-test", "AWS_SECRET_ACCESS_KEY": "lake-secret", "AWS_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """A fresh S3 server on a free port with an empty bucket; yields the endpoint ``host:port``."""
    server = Path(sys.executable).parent / "moto_server"
    if not server.exists():
        msg = "the S3 lake test needs moto's server (pip install 'moto[server]', a dev extra)"
        if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    port = _free_port()
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the S3 server did not start") from None
                time.sleep(0.1)
        import boto3

        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="x", aws_secret_access_key="x",
                     region_name="us-east-1").create_bucket(Bucket=BUCKET)  # fmt: skip
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The credentials in the environment, where Arrow's S3 file system reads them (never in the URL)."""
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)


def _url(endpoint: str, prefix: str) -> str:
    return f"s3://{BUCKET}/{prefix}?endpoint_override={endpoint}&scheme=http"


def _rows(endpoint: str, prefix: str, tenant: str, table: str) -> int:
    """Rows of ``tenant``'s ``table`` read straight from the bucket (Arrow, not callops)."""
    fs = pafs.S3FileSystem(endpoint_override=endpoint, scheme="http", access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                           secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region="us-east-1")  # fmt: skip
    return ds.dataset(f"{BUCKET}/{prefix}/tenant={tenant}/table={table}", filesystem=fs, format="parquet").count_rows()


def test_export_verify_and_the_catalog_on_an_s3_lake(world: tuple[Warehouse, Path], s3: str,  # noqa: F811
                                                     creds: None) -> None:
    wh, local = world
    url = _url(s3, "api")
    for name in ("t1", "t10"):
        report = export(wh, tenancy.get_tenant(wh, name), url)
        assert report["tables"]["contacts"]["rows_written"] == {"t1": 2000, "t10": 800}[name]
        assert verify(wh, tenancy.get_tenant(wh, name), url)["ok"]
    assert _rows(s3, "api", "t1", "contacts") == 2000 and _rows(s3, "api", "t10", "contacts") == 800
    t1 = tenancy.get_tenant(wh, "t1")
    again = export(wh, t1, url)
    assert again["new_loads"] == [] and again["tables"] == {}
    new = _contacts(np.random.default_rng(5), 3, datetime(2026, 3, 20, 2, tzinfo=UTC))
    new["contact_id"] = ["n1", "n2", "n3"]
    new["offered_at"] = [datetime(2026, 3, 20, 2, tzinfo=UTC) + timedelta(minutes=k) for k in range(3)]
    _load(wh, "t1", "contacts", new, local.parent, "_s3")
    third = export(wh, t1, url)
    assert third["tables"]["contacts"]["partitions_written"] == 1 and third["tables"]["contacts"]["rows_written"] == 3
    assert _rows(s3, "api", "t1", "contacts") == 2003 and verify(wh, t1, url)["ok"]

    cat = build_catalog(package_files())
    chosen = ["contacts_offered", "contacts_answered", "service_level", "abandon_rate", "aht_s", "customers_distinct"]
    with open_lake(url) as lw:
        for name in ("t1", "t10"):
            wt, lt = tenancy.get_tenant(wh, name), tenancy.get_tenant(lw, name)
            a = compile_query(wh, wt, cat, chosen, grain="day", by=["queue"]).to_pandas()
            b = compile_query(lw, lt, cat, chosen, grain="day", by=["queue"]).to_pandas()
            a, b = (f.sort_values([PERIOD, "queue"]).reset_index(drop=True) for f in (a, b))
            assert len(a) == len(b) > 0
            for col in a.columns:
                bad = [(x, y) for x, y in zip(a[col].tolist(), b[col].tolist(), strict=True) if not _same(x, y)]
                assert not bad, f"{name} {col}: {bad[:3]}"


def test_cli_on_an_s3_lake(world: tuple[Warehouse, Path], s3: str) -> None:  # noqa: F811
    wh, lake = world
    warehouse = wh.url
    wh.close()
    env = {**os.environ, **CREDENTIALS, "CALLOPS_HOME": str(lake.parent / "home"), "CALLOPS_WAREHOUSE": warehouse}
    url = _url(s3, "cli")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "callops.cli", *args], capture_output=True, text=True, env=env,
                              timeout=300)

    out = cli("lake", "export", "--tenant", "t10", "--to", url, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["tables"]["contacts"]["rows_written"] == 800
    ok = cli("lake", "verify", "--tenant", "t10", "--to", url, "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True, ok.stderr
    q = ["metrics", "query", "--tenant", "t10", "--metric", "contacts_offered,service_level,aht_s", "--grain", "day",
         "--by", "queue", "--format", "json"]
    on_wh, on_lake = cli(*q), cli(*q, "--engine", "duckdb", "--lake", url)
    assert on_wh.returncode == on_lake.returncode == 0, on_lake.stderr
    assert json.loads(on_wh.stdout) == json.loads(on_lake.stdout) != []
    spark = cli(*q, "--engine", "spark", "--lake", url)  # Spark reads shared paths only: said before it starts
    assert spark.returncode != 0 and "reads a lake on a path every node mounts, not s3://" in spark.stderr
    assert "Traceback" not in spark.stderr, spark.stderr
