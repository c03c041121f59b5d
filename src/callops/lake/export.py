"""Export a tenant's canonical tables to the lake, incrementally and atomically, and verify the lake.

* **Incremental.** Only tables that received a load not yet exported are looked at; for those, each partition's
  row count and content hash are computed in the warehouse and compared with the manifest, and only partitions
  that differ are written (a load that updates old rows rewrites their days, and only those).
* **Atomic.** A partition is one Parquet file written under a temporary name and moved into place; the manifest is
  written last, the same way. A crash leaves complete files and the previous manifest: the next export finds the
  differences by hash and writes them again.
* **Verifiable.** :func:`verify` recomputes every partition's count and hash from the Parquet files (DuckDB) and
  from the warehouse, and lists any difference.

The content hash of a partition is ``sum(hash(row) mod 4294967291)`` over its rows (DuckDB's ``hash`` of the
tenant, load and data columns), computed the same way on both sides.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from callops import schema, tenancy
from callops.errors import CallopsError
from callops.metrics.grains import local_time
from callops.warehouse import Warehouse

FORMAT_VERSION = 1
NO_DAY = "__HIVE_DEFAULT_PARTITION__"
HASH_MODULUS = 4294967291  # the largest prime below 2**32: a partition's sum stays far inside int64
META = "_callops"


def partition_column(table: schema.Table) -> str | None:
    """The timestamp column whose local date partitions ``table`` (its first one), or None."""
    return next((c.name for c in table.columns if c.type == schema.ColumnType.TIMESTAMP), None)


def exported_columns(table: schema.Table) -> list[str]:
    """Columns written to the lake: tenant, load and the table's own (not the warehouse's row hash)."""
    return ["tenant_id", "load_id", *table.column_names]


@dataclass(frozen=True)
class Lake:
    """An open lake root: its Arrow file system and the root path on it."""

    fs: pafs.FileSystem
    root: str
    url: str

    @classmethod
    def open(cls, url: str) -> Lake:
        """The lake at ``url``: a local folder or any URL Arrow's file systems know (``s3://`` with credentials
        from the environment)."""
        try:
            if "://" in url:
                fs, root = pafs.FileSystem.from_uri(url)
            else:
                fs, root = pafs.LocalFileSystem(), posixpath.abspath(url)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise CallopsError(f"lake {url}: {exc}") from None
        return cls(fs, root.rstrip("/") or "/", url)

    def path(self, *parts: str) -> str:
        """A path under the root."""
        return posixpath.join(self.root, *parts)

    def read_json(self, *parts: str) -> dict | None:
        """A JSON file under the root, or None when absent."""
        p = self.path(*parts)
        if self.fs.get_file_info(p).type == pafs.FileType.NotFound:
            return None
        with self.fs.open_input_stream(p) as f:
            return json.loads(f.read().decode("utf-8"))

    def write_atomic(self, data: bytes, *parts: str) -> None:
        """Write ``data`` under a temporary name beside the target, then move it into place."""
        target = self.path(*parts)
        self.fs.create_dir(posixpath.dirname(target), recursive=True)
        tmp = posixpath.join(posixpath.dirname(target), f".tmp-{uuid.uuid4().hex}")
        try:
            with self.fs.open_output_stream(tmp) as f:
                f.write(data)
            self.fs.move(tmp, target)
        except BaseException:  # a full disk or a refused move: no half-written file is left behind
            with contextlib.suppress(OSError, pa.ArrowException):
                self.fs.delete_file(tmp)
            raise

    def check_writable(self) -> None:
        """Raise a clear error when the root cannot be written (before any partition is)."""
        try:
            self.write_atomic(b"ok", META, ".probe")
            self.fs.delete_file(self.path(META, ".probe"))
        except (OSError, pa.ArrowException) as exc:
            raise CallopsError(f"lake {self.url} is not writable: {exc}") from None

    def check_version(self, stamp: bool = True) -> None:
        """Refuse a lake written by another format version; stamp a new one (``stamp``, the export) or refuse
        an unstamped one (readers: they never write, and every export stamps the lake before anything else)."""
        try:
            meta = self.read_json(META, "lake.json")
        except (ValueError, OSError, pa.ArrowException):
            raise CallopsError(f"lake {self.url}: its format stamp ({META}/lake.json) cannot be read: "
                               "not a lake this callops wrote") from None
        if meta is None and stamp:
            self.write_atomic(json.dumps({"format_version": FORMAT_VERSION}).encode(), META, "lake.json")
        elif meta is None:
            raise CallopsError(f"lake {self.url} has no format stamp ({META}/lake.json): it was not written by "
                               f"`callops lake export` (format {FORMAT_VERSION})")
        elif not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
            meta = meta if isinstance(meta, dict) else {}
            raise CallopsError(
                f"lake {self.url} was written by format version {meta.get('format_version')!r}; this callops reads "
                f"and writes version {FORMAT_VERSION}: export to a new folder")


def partition_stats(wh: Warehouse, tenant: tenancy.Tenant, table: schema.Table) -> dict[str, tuple[int, int]]:
    """Per local day of ``table``: (rows, content hash), from the warehouse through the tenant filter."""
    t = _with_day(tenancy.scoped(wh, tenant, table.name), table, tenant.timezone)
    return _stats(t, table)


def _with_day(t: ibis.Table, table: schema.Table, zone: str, backend: str = "duckdb") -> ibis.Table:
    col = partition_column(table)
    if col is None:
        return t.mutate(_day=ibis.literal(NO_DAY))
    day = local_time(t[col], zone, backend).date().cast("string")
    return t.mutate(_day=t[col].isnull().ifelse(ibis.literal(NO_DAY), day))


def _stats(t: ibis.Table, table: schema.Table) -> dict[str, tuple[int, int]]:
    row = ibis.struct({c: t[c] for c in exported_columns(table)}).hash()
    agg = t.mutate(_h=(row % HASH_MODULUS).cast("int64")).group_by("_day").aggregate(
        rows=ibis._.count(), hash=ibis._._h.sum())
    return {r["_day"]: (int(r["rows"]), int(r["hash"])) for r in agg.to_pyarrow().to_pylist()}


def _manifest(lake: Lake, tenant: tenancy.Tenant) -> dict[str, Any]:
    m = lake.read_json(META, tenant.tenant_id, "manifest.json")
    if m is None:
        return {"format_version": FORMAT_VERSION, "tenant": tenant.tenant_id, "timezone": tenant.timezone,
                "loads": [], "tables": {}}
    if m.get("format_version") != FORMAT_VERSION:
        raise CallopsError(f"lake {lake.url}: tenant {tenant.tenant_id!r} was exported by format version "
                           f"{m.get('format_version')!r}; this callops writes version {FORMAT_VERSION}: "
                           "export to a new folder")
    if m.get("timezone") != tenant.timezone:
        raise CallopsError(f"lake {lake.url}: tenant {tenant.tenant_id!r} was exported in zone {m.get('timezone')}, "
                           f"now {tenant.timezone}: its days differ; export to a new folder")
    return m


def _new_loads(wh: Warehouse, tenant: tenancy.Tenant, done: set[str]) -> dict[str, list[str]]:
    """Loads not yet exported, by table."""
    loads = tenancy.scoped(wh, tenant, "loads").select("load_id", "table_name").to_pyarrow().to_pylist()
    out: dict[str, list[str]] = {}
    for r in loads:
        if r["load_id"] not in done:
            out.setdefault(r["table_name"], []).append(r["load_id"])
    return out


def export(wh: Warehouse, tenant: tenancy.Tenant, url: str, progress: Any = None) -> dict[str, Any]:
    """Write the partitions of ``tenant`` that differ from the lake's manifest; return what was written."""
    lake = Lake.open(url)
    lake.check_writable()
    lake.check_version()
    manifest = _manifest(lake, tenant)
    new = _new_loads(wh, tenant, set(manifest["loads"]))
    tenant_row = pa.table({"tenant_id": [tenant.tenant_id], "timezone": [tenant.timezone]})
    sink = pa.BufferOutputStream()
    pq.write_table(tenant_row, sink)
    lake.write_atomic(sink.getvalue().to_pybytes(), META, tenant.tenant_id, "tenant.parquet")
    report: dict[str, Any] = {"tenant": tenant.tenant_id, "lake": url, "new_loads": sorted(x for v in new.values()
                                                                                          for x in v), "tables": {}}
    for name in sorted(new):
        table = schema.get_table(name)
        if progress:
            progress(name)
        stats = partition_stats(wh, tenant, table)
        known = manifest["tables"].get(name, {})
        changed = [d for d, s in stats.items() if d not in known or tuple(known[d][k] for k in ("rows", "hash")) != s]
        gone = [d for d in known if d not in stats]
        rows = 0
        for day in sorted(changed):
            data = _partition_rows(wh, tenant, table, day)
            rows += data.num_rows
            sink = pa.BufferOutputStream()
            pq.write_table(data, sink, compression="zstd")
            rel = partition_file(tenant.tenant_id, name, day)
            lake.write_atomic(sink.getvalue().to_pybytes(), rel)
            known[day] = {"rows": stats[day][0], "hash": stats[day][1], "file": rel}
        for day in gone:
            lake.fs.delete_file(lake.path(known.pop(day)["file"]))
        manifest["tables"][name] = known
        report["tables"][name] = {"partitions_written": len(changed), "partitions_removed": len(gone),
                                  "rows_written": rows, "partitions": len(known)}
    manifest["loads"] = sorted({*manifest["loads"], *report["new_loads"]})
    manifest["exported_at"] = datetime.now(UTC).isoformat()
    lake.write_atomic(json.dumps(manifest, indent=1).encode(), META, tenant.tenant_id, "manifest.json")
    return report


def partition_file(tenant_id: str, table: str, day: str) -> str:
    """The relative path of one partition's file (Hive layout)."""
    return posixpath.join(f"tenant={tenant_id}", f"table={table}", f"day={day}", "part-0.parquet")


def _partition_rows(wh: Warehouse, tenant: tenancy.Tenant, table: schema.Table, day: str) -> pa.Table:
    t = _with_day(tenancy.scoped(wh, tenant, table.name), table, tenant.timezone)
    return t.filter(t._day == day).select(*exported_columns(table)).to_pyarrow()


def verify(wh: Warehouse, tenant: tenancy.Tenant, url: str) -> dict[str, Any]:
    """Compare every partition's rows and hash in the lake's files with the warehouse; list the differences."""
    from callops.lake.read import open_lake

    lake = Lake.open(url)
    if lake.read_json(META, tenant.tenant_id, "manifest.json") is None:
        raise CallopsError(f"lake {url} holds no export of tenant {tenant.tenant_id!r}: run `callops lake export`")
    lake.check_version(stamp=False)
    problems: list[dict[str, Any]] = []
    checked = 0
    with open_lake(url) as lw:
        lt = tenancy.get_tenant(lw, tenant.tenant_id)
        for table in schema.TABLES.values():
            want = partition_stats(wh, tenant, table)
            got = _stats(_with_day(tenancy.scoped(lw, lt, table.name), table, tenant.timezone), table)
            for day in sorted({*want, *got}):
                checked += 1
                w, g = want.get(day, (0, 0)), got.get(day, (0, 0))
                if w != g:
                    problems.append({"table": table.name, "day": day, "warehouse_rows": w[0], "lake_rows": g[0],
                                     "same_rows": w[0] == g[0], "same_hash": w[1] == g[1]})
    return {"tenant": tenant.tenant_id, "lake": url, "partitions_checked": checked, "ok": not problems,
            "differences": problems}
