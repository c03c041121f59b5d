"""Open the lake as a read-only warehouse, so every catalog metric and view runs on it unchanged.

The canonical tables become views over the lake's Parquet files on the chosen engine:

* ``duckdb``: an in-memory DuckDB scanning Arrow datasets of the files (any Arrow file system, ``s3://`` too);
* ``spark``: a Spark session (``local[2]`` by default, a standalone ``spark://`` master, or Spark Connect
  ``sc://``) reading the same files.

Reads still go through :func:`callops.tenancy.scoped`: the lake holds every exported tenant, and the tenant filter
applies as it does in the warehouse.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from callops import schema
from callops.errors import CallopsError
from callops.lake.export import META, Lake, exported_columns
from callops.warehouse import Warehouse

ENGINES = ("duckdb", "spark")
_SYSTEM = ("loads", "rejects", "load_warnings")


def _files(lake: Lake) -> dict[str, list[str]]:
    """The Parquet files of every table for every tenant, by table (sorted, so both engines read the same order),
    from one listing of the lake (it was one per table: eleven walks of every partition)."""
    out: dict[str, list[str]] = {}
    for info in lake.fs.get_file_info(pafs.FileSelector(lake.root, recursive=True, allow_not_found=True)):
        rel = posixpath.relpath(info.path, lake.root)
        parts = rel.split("/")
        if (info.type == pafs.FileType.File and len(parts) == 4 and parts[1].startswith("table=")
                and parts[3].endswith(".parquet")):
            out.setdefault(parts[1].removeprefix("table="), []).append(info.path)
    return {table: sorted(files) for table, files in out.items()}


def _tenant_files(lake: Lake) -> list[str]:
    sel = pafs.FileSelector(lake.path(META), recursive=True, allow_not_found=True)
    return sorted(i.path for i in lake.fs.get_file_info(sel) if i.path.endswith("/tenant.parquet"))


def _arrow_schema(table: schema.Table) -> pa.Schema:
    types = {schema.ColumnType.STRING: pa.string(), schema.ColumnType.INT: pa.int64(),
             schema.ColumnType.FLOAT: pa.float64(), schema.ColumnType.BOOL: pa.bool_(),
             schema.ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"), schema.ColumnType.DATE: pa.date32()}
    return pa.schema([("tenant_id", pa.string()), ("load_id", pa.string()),
                      *((c.name, types[c.type]) for c in table.columns)])


def _datasets(lake: Lake) -> dict[str, ds.Dataset]:
    tenants = _tenant_files(lake)
    if not tenants:
        raise CallopsError(f"lake {lake.url} holds no exported tenant: run `callops lake export` first")
    lake.check_version(stamp=False)  # reading never writes to the lake
    out = {"tenants": ds.dataset(tenants, format="parquet", filesystem=lake.fs)}
    files = _files(lake)
    for table in schema.TABLES.values():
        sch = _arrow_schema(table)
        out[table.name] = ds.dataset(files.get(table.name, []), schema=sch, format="parquet", filesystem=lake.fs)
    return out


@contextmanager
def open_lake(url: str, engine: str = "duckdb", spark_master: str | None = None) -> Iterator[Warehouse]:
    """The lake at ``url`` as a read-only :class:`Warehouse` on ``engine``; closed on exit."""
    if engine not in ENGINES:
        raise CallopsError(f"unknown engine {engine!r}; expected one of: {', '.join(ENGINES)}")
    lake = Lake.open(url)
    if engine == "spark" and not isinstance(lake.fs, pafs.LocalFileSystem):  # Spark gets the files' paths
        raise CallopsError(f"the spark engine reads a lake on a path every node mounts, not {lake.fs.type_name}:// "
                           "(run this lake on --engine duckdb)")  # fmt: skip
    data = _datasets(lake)
    if engine == "duckdb":
        with _duckdb(data) as wh:
            yield wh
    else:
        with _spark(data, spark_master) as wh:
            yield wh


@contextmanager
def _duckdb(data: dict[str, ds.Dataset]) -> Iterator[Warehouse]:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        yield duckdb_views(con, data)
    finally:
        con.close()


def duckdb_views(con: Any, data: dict[str, ds.Dataset]) -> Warehouse:
    """Make the canonical tables views over ``data`` (:func:`_datasets`) in the DuckDB connection ``con``, and
    return it as a read-only :class:`Warehouse`.

    Everything is connection-local (registered datasets, ``TEMP`` views and tables), so each cursor of one
    in-memory database can be prepared on its own: :class:`callops.lake.cache.LakeCache` keeps such cursors.
    """
    import ibis

    con.execute("SET TimeZone = 'UTC'")
    for name, dataset in data.items():
        con.register(f"_lake_{name}", dataset)
        cols = "tenant_id, timezone, NULL::TIMESTAMPTZ AS created_at" if name == "tenants" else "*"
        con.execute(f'CREATE TEMP VIEW "{name}" AS SELECT {cols} FROM "_lake_{name}"')
    for name in _SYSTEM:  # the lake holds no load records: empty, with the warehouse's columns
        con.execute(f'CREATE TEMP TABLE "{name}" (tenant_id VARCHAR, load_id VARCHAR, table_name VARCHAR)')
    con.execute("SET python_enable_replacements = false")
    return Warehouse.from_backend(ibis.duckdb.from_connection(con))


@contextmanager
def _spark(data: dict[str, ds.Dataset], master: str | None) -> Iterator[Warehouse]:
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError:
        raise CallopsError("the spark engine needs pyspark: pip install 'callops[spark]'") from None
    _check_master(master)
    builder: Any = SparkSession.builder.appName("callops-lake")
    if master and master.startswith("sc://"):
        builder = builder.remote(master)
    else:
        builder = builder.master(master or "local[2]").config("spark.ui.enabled", "false")
        if (master or "local").startswith("local"):  # one machine: few shuffle partitions; a cluster keeps its own
            builder = builder.config("spark.sql.shuffle.partitions", "2")
    try:
        session = builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()
    except Exception as exc:  # Py4J/Spark raise many types when the master does not answer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CallopsError(f"Spark master {_shown(master or 'local[2]')} did not answer: {first}") from None
    try:
        for name, dataset in data.items():
            files = list(dataset.files)
            if name == "tenants":
                df = session.read.parquet(*files) if files else None
                assert df is not None  # _datasets refused a lake without tenants
                df.selectExpr("tenant_id", "timezone", "CAST(NULL AS TIMESTAMP) AS created_at") \
                    .createOrReplaceTempView(name)
                continue
            table = schema.get_table(name)
            if files:
                session.read.parquet(*files).select(*exported_columns(table)).createOrReplaceTempView(name)
            else:
                session.createDataFrame(dataset.to_table().to_pandas(), schema=_spark_schema(dataset.schema)) \
                    .createOrReplaceTempView(name)
        for name in _SYSTEM:
            session.sql("SELECT CAST(NULL AS STRING) AS tenant_id, CAST(NULL AS STRING) AS load_id, "
                        "CAST(NULL AS STRING) AS table_name WHERE FALSE").createOrReplaceTempView(name)
        yield Warehouse.from_backend(ibis.pyspark.connect(session))
    finally:
        session.stop()


MASTER_TIMEOUT_S = 3.0


def master_addresses(master: str) -> list[tuple[str, int]]:
    """(host, port) of a ``spark://h1:p1[,h2:p2]`` (standalone, with standby masters) or ``sc://host[:port][/;k=v]``
    (Spark Connect, default port 15002) master; [] for ``local[N]``, ``yarn`` and others Spark resolves itself."""
    for scheme, default in (("spark://", 7077), ("sc://", 15002)):
        if master.startswith(scheme):
            rest = master[len(scheme):].split("/", 1)[0].split(";", 1)[0]
            out = []
            for part in rest.split(","):
                hostport = part.rpartition("@")[2]  # user:password@ is not part of the address
                host, sep, port = hostport.rpartition(":")
                if not sep or hostport.endswith("]"):  # no port (or a bare [IPv6] address)
                    host, port = hostport, ""
                if not host:
                    raise CallopsError(f"Spark master {_shown(master)}: no host in the URL")
                try:
                    out.append((host.strip("[]"), int(port) if port else default))
                except ValueError:
                    raise CallopsError(f"Spark master {_shown(master)}: port {port!r} is not a number") from None
            return out
    return []


def _shown(master: str) -> str:
    """The master URL without credentials or Spark Connect parameters (``;token=...``)."""
    scheme, sep, rest = master.partition("://")
    if not sep:
        return master
    hosts = rest.split("/", 1)[0].split(";", 1)[0]
    return f"{scheme}://{','.join(h.rpartition('@')[2] for h in hosts.split(','))}"


def _check_master(master: str | None) -> None:
    """Fail in seconds, with one line, when no master of the URL accepts a connection: Spark's own client would
    retry a standalone master for a minute (and Spark Connect lazily, with back-off) before saying anything."""
    import socket

    addresses = master_addresses(master or "")
    if not addresses:
        return
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=MASTER_TIMEOUT_S):
                return
        except OSError:
            continue
    raise CallopsError(f"Spark master {_shown(master or '')} does not answer (no connection within "
                       f"{MASTER_TIMEOUT_S:g} s): check the URL and that the master runs; nothing was read or written")


def _spark_schema(sch: pa.Schema) -> str:
    names = {pa.string(): "STRING", pa.int64(): "BIGINT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN",
             pa.date32(): "DATE"}
    return ", ".join(f"`{f.name}` {names.get(f.type, 'TIMESTAMP')}" for f in sch)
