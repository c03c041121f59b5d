"""The analytical warehouse: a DuckDB file by default, read through Ibis.

Other backends can be named by URL (``CALLOPS_WAREHOUSE``). Reading a table
is deliberately *not* offered here: reads go through :func:`callops.tenancy.scoped`,
the one place that applies the tenant filter. Loads write through
:meth:`Warehouse.writer`, which only the ingest package uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from callops import schema
from callops.errors import CallopsError
from callops.settings import warehouse_url

if TYPE_CHECKING:
    import ibis

# Columns every canonical table carries besides its own.
TENANT_COLUMNS = ("tenant_id", "load_id")
ROW_HASH = "_row_hash"
BOOKKEEPING_COLUMNS = frozenset({ROW_HASH})  # the warehouse's own: never shown to users nor exported

_SYSTEM_DDL = {
    "tenants": """
        CREATE TABLE IF NOT EXISTS tenants (
            tenant_id VARCHAR PRIMARY KEY,
            timezone VARCHAR NOT NULL,
            created_at TIMESTAMPTZ NOT NULL
        )""",
    "loads": """
        CREATE TABLE IF NOT EXISTS loads (
            tenant_id VARCHAR NOT NULL,
            load_id VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL,
            files VARCHAR NOT NULL,
            mapping VARCHAR NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ NOT NULL,
            rows_read BIGINT NOT NULL,
            loaded BIGINT NOT NULL,
            updated BIGINT NOT NULL,
            unchanged BIGINT NOT NULL,
            rejected BIGINT NOT NULL,
            skipped BIGINT NOT NULL,
            warned BIGINT NOT NULL DEFAULT 0,
            removed BIGINT NOT NULL DEFAULT 0
        )""",
    "rejects": """
        CREATE TABLE IF NOT EXISTS rejects (
            tenant_id VARCHAR NOT NULL,
            load_id VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL,
            file VARCHAR NOT NULL,
            line BIGINT,
            column_name VARCHAR,
            reason VARCHAR NOT NULL,
            raw VARCHAR
        )""",
    # A field that could not be kept: the row loaded with it empty (file line, column, reason, the raw value).
    "load_warnings": """
        CREATE TABLE IF NOT EXISTS load_warnings (
            tenant_id VARCHAR NOT NULL,
            load_id VARCHAR NOT NULL,
            table_name VARCHAR NOT NULL,
            file VARCHAR NOT NULL,
            line BIGINT,
            column_name VARCHAR,
            reason VARCHAR NOT NULL,
            raw VARCHAR
        )""",
}


def table_ddl(table: schema.Table) -> str:
    """CREATE TABLE statement for a canonical table, with tenant, load and row-hash columns."""
    cols = [f'"{c}" VARCHAR NOT NULL' for c in TENANT_COLUMNS]
    cols += [f'"{c.name}" {c.type.sql}' for c in table.columns]
    cols.append(f'"{ROW_HASH}" UBIGINT NOT NULL')
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" (\n  ' + ",\n  ".join(cols) + "\n)"


class Warehouse:
    """An open warehouse. Use as a context manager or call :meth:`close`."""

    def __init__(self, url: str | None = None, *, read_only: bool = False) -> None:
        self.url = url or warehouse_url()
        if not self.url.startswith("duckdb://"):
            raise CallopsError(
                f"warehouse URL {self.url!r}: only duckdb:// warehouses can be loaded; "
                "other Ibis backends are for reading an existing warehouse"
            )
        path = self.url.removeprefix("duckdb://")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con: duckdb.DuckDBPyConnection = duckdb.connect(path or ":memory:", read_only=read_only)
        except Exception as exc:  # duckdb raises IOException for locks and bad files
            raise CallopsError(f"cannot open warehouse {path}: {exc}") from exc
        # The Ibis backend over this connection is made on first read: a load never imports Ibis.
        self._backend: ibis.BaseBackend | None = None
        self._con.execute("SET TimeZone = 'UTC'")
        # as Ibis sets it: a Python variable never stands in for a table by name
        self._con.execute("SET python_enable_replacements = false")
        if not read_only:
            self._ensure_schema()

    def _ensure_schema(self) -> None:
        for ddl in _SYSTEM_DDL.values():
            self._con.execute(ddl)
        self._con.execute("ALTER TABLE loads ADD COLUMN IF NOT EXISTS warned BIGINT DEFAULT 0")  # older warehouses
        self._con.execute("ALTER TABLE loads ADD COLUMN IF NOT EXISTS removed BIGINT DEFAULT 0")
        for table in schema.TABLES.values():
            self._con.execute(table_ddl(table))
        # Columns added to the schema after a warehouse was made (e.g. journey_events.resource): added empty.
        have = set(self._con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database()"
        ).fetchall())
        for table in schema.TABLES.values():
            for c in table.columns:
                if (table.name, c.name) not in have:
                    self._con.execute(f'ALTER TABLE "{table.name}" ADD COLUMN "{c.name}" {c.type.sql}')

    @classmethod
    def from_backend(cls, backend: ibis.BaseBackend) -> Warehouse:
        """A read-only warehouse over an Ibis backend that already holds the canonical tables (e.g. Spark).

        Reads still go through :func:`callops.tenancy.scoped` (the tenant filter); nothing can be
        loaded or written through it, and closing it leaves the backend to its owner.
        """
        wh = cls.__new__(cls)
        wh.url = f"{backend.name}://"
        wh._backend = backend
        wh._con = None  # type: ignore[assignment]  # no writer: see writer()
        return wh

    @property
    def external(self) -> bool:
        """Whether this is a read-only view over another Ibis backend (:meth:`from_backend`: Spark, the lake)."""
        return self._con is None

    def handle(self) -> Warehouse:
        """Another connection to this open database (a DuckDB cursor), for one thread at a time.

        Handles read and write in parallel with the others (DuckDB's MVCC); the API and console give each
        request its own instead of serialising on one connection (issue 21). Close it when done.
        """
        if self._con is None:
            return self  # an external read-only backend: its owner manages concurrency
        wh = Warehouse.__new__(Warehouse)
        wh.url = self.url
        wh._con = self._con.cursor()
        wh._backend = None
        wh._con.execute("SET TimeZone = 'UTC'")  # session settings are per connection
        wh._con.execute("SET python_enable_replacements = false")
        return wh

    @property
    def backend(self) -> ibis.BaseBackend:
        """The Ibis backend. Only :mod:`callops.tenancy` should build table expressions on it."""
        if self._backend is None:
            import ibis

            self._backend = ibis.duckdb.from_connection(self._con)
        return self._backend

    def writer(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection for loads (ingest only; never used to read tenant data out)."""
        if self._con is None:
            raise CallopsError(f"warehouse {self.url} is read-only (an external Ibis backend): nothing can be written")
        return self._con

    def close(self) -> None:
        """Close the connection (checkpointing the file); a backend from :meth:`from_backend` stays open."""
        if self._con is not None:
            if self._backend is not None:
                self._backend.disconnect()
            else:
                self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
