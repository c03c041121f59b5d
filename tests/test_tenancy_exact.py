"""Tenancy without loading files: exact tenant matching and the edges of names and zones (issue 20).

These tests are fast (an in-memory warehouse, rows written with plain SQL), so ``tools/mutate.py tenancy`` runs
them once per mutant of ``callops/tenancy.py``. The tenants' names are prefixes of each other (``t1``, ``t10``,
``t100``) and one sorts between them by a different rule (``t1-x``): a filter or a lookup by prefix, by ``LIKE``
or by ordering mixes them up. The external branch (a read-only warehouse over another Ibis backend, as for Spark
or the lake) is checked over a second, real DuckDB backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import ibis
import pytest

from callops import schema, tenancy
from callops.errors import CallopsError, NotFound
from callops.warehouse import Warehouse

NAMES = ("t10", "t1", "t100", "t1-x")  # created in this order: listing must sort them
# a value per column type for the NOT NULL columns of a scoped table (the rows are only counted and filtered)
FILLER = {"VARCHAR": "'x'", "BIGINT": "0", "INTEGER": "0", "UBIGINT": "0", "DOUBLE": "0", "BOOLEAN": "false",
          "DATE": "DATE '2024-02-01'", "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ '2024-02-01 00:00:00+00'",
          "TIMESTAMP": "TIMESTAMP '2024-02-01 00:00:00'"}  # fmt: skip


def _fill(con, table: str, tenant_id: str, n: int) -> None:
    """``n`` rows of ``tenant_id`` in ``table`` (load id = the tenant's name, so a leak shows which tenant)."""
    cols = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND NOT is_nullable "
        "AND column_name NOT IN ('tenant_id', 'load_id')",
        [table],
    ).fetchall()
    names = ", ".join(["tenant_id", "load_id", *(f'"{c}"' for c, _ in cols)])
    values = ", ".join(["?", "?", *(FILLER[t] for _, t in cols)])
    for _ in range(n):
        con.execute(f'INSERT INTO "{table}" ({names}) VALUES ({values})', [tenant_id, tenant_id])


@pytest.fixture
def wh() -> Iterator[Warehouse]:
    """An in-memory warehouse with the tenants of ``NAMES``; tenant number i has i + 1 rows in every scoped table."""
    w = Warehouse("duckdb://:memory:")
    try:
        for i, name in enumerate(NAMES):
            tenancy.create_tenant(w, name, "America/New_York" if name == "t10" else "Asia/Shanghai")
            for table in tenancy.SCOPED_TABLES:
                _fill(w.writer(), table, name, i + 1)
        yield w
    finally:
        w.close()


@pytest.fixture
def external(wh: Warehouse) -> Iterator[Warehouse]:
    """A read-only warehouse over another DuckDB backend holding a copy of ``wh``'s tenants and contacts."""
    backend = ibis.duckdb.connect()
    con = backend.con
    con.execute("CREATE TABLE tenants (tenant_id VARCHAR, timezone VARCHAR, created_at TIMESTAMPTZ)")
    con.execute("CREATE TABLE contacts (tenant_id VARCHAR, load_id VARCHAR, contact_id VARCHAR)")
    for t in tenancy.list_tenants(wh):
        con.execute("INSERT INTO tenants VALUES (?, ?, ?)", [t.tenant_id, t.timezone, t.created_at])
        con.execute("INSERT INTO contacts VALUES (?, ?, 'c')", [t.tenant_id, t.tenant_id])
    ext = Warehouse.from_backend(backend)
    assert ext.external
    try:
        yield ext
    finally:
        backend.disconnect()


def _rows(wh: Warehouse, tenant: tenancy.Tenant | str, table: str) -> list[tuple[str, str]]:
    """(tenant_id, load_id) of every row ``scoped`` returns."""
    t = tenancy.scoped(wh, tenant, table)
    return sorted((r["tenant_id"], r["load_id"]) for r in t.select("tenant_id", "load_id").to_pyarrow().to_pylist())


def test_scoped_matches_the_tenant_exactly(wh: Warehouse) -> None:
    """Every scoped table, by name and by Tenant: only the tenant's own rows, all of them."""
    for i, name in enumerate(NAMES):
        tenant = tenancy.get_tenant(wh, name)
        for table in tenancy.SCOPED_TABLES:
            expected = [(name, name)] * (i + 1)
            assert _rows(wh, name, table) == expected, (name, table)
            assert _rows(wh, tenant, table) == expected, (name, table)


def test_scoped_with_a_tenant_object_does_not_look_it_up(wh: Warehouse) -> None:
    """A Tenant value is used as given (the caller already holds it): its id alone selects the rows."""
    ghost = tenancy.Tenant("t1000", "UTC", datetime.now(UTC))
    assert _rows(wh, ghost, "contacts") == []
    with pytest.raises(NotFound, match="no tenant 't1000'"):
        tenancy.scoped(wh, "t1000", "contacts")


def test_scoped_refuses_other_tables_naming_the_known_ones(wh: Warehouse) -> None:
    with pytest.raises(NotFound) as exc:
        tenancy.scoped(wh, "t1", "tenants")
    assert str(exc.value) == f"unknown table 'tenants'; expected one of: {', '.join(tenancy.SCOPED_TABLES)}"
    assert (*schema.TABLES, "loads", "rejects", "load_warnings") == tenancy.SCOPED_TABLES


def test_get_tenant_is_exact_and_names_the_known_ones(wh: Warehouse) -> None:
    for name in NAMES:
        t = tenancy.get_tenant(wh, name)
        assert t.tenant_id == name
        assert t.timezone == ("America/New_York" if name == "t10" else "Asia/Shanghai")
    for missing in ("t", "t2", "t1%", "t1_", "T1", "t10 "):
        with pytest.raises(NotFound) as exc:
            tenancy.get_tenant(wh, missing)
        assert str(exc.value) == (f"no tenant {missing!r} (known: t1, t1-x, t10, t100); "
                                  "create it with `callops tenant create`")  # fmt: skip


def test_get_tenant_without_any_tenant() -> None:
    with Warehouse("duckdb://:memory:") as empty:
        with pytest.raises(NotFound) as exc:
            tenancy.get_tenant(empty, "t1")
        assert str(exc.value) == "no tenant 't1' (known: none yet); create it with `callops tenant create`"
        assert tenancy.list_tenants(empty) == []


def test_list_tenants_sorted_by_name_with_their_zones(wh: Warehouse) -> None:
    listed = tenancy.list_tenants(wh)
    assert [t.tenant_id for t in listed] == sorted(NAMES) == ["t1", "t1-x", "t10", "t100"]
    assert [t.timezone for t in listed] == ["Asia/Shanghai", "Asia/Shanghai", "America/New_York", "Asia/Shanghai"]
    assert all(isinstance(t.created_at, datetime) for t in listed)


def test_create_tenant_returns_and_stores_what_it_made(wh: Warehouse) -> None:
    before = datetime.now(UTC)
    t = tenancy.create_tenant(wh, "t1000", "Europe/Paris")
    after = datetime.now(UTC)
    assert (t.tenant_id, t.timezone) == ("t1000", "Europe/Paris")
    assert before <= t.created_at <= after and t.created_at.utcoffset() == timedelta(0)
    stored = tenancy.get_tenant(wh, "t1000")
    assert (stored.tenant_id, stored.timezone) == ("t1000", "Europe/Paris")
    assert abs(stored.created_at - t.created_at) < timedelta(milliseconds=1)
    assert tenancy.create_tenant(wh, "t1001").timezone == "Asia/Shanghai"  # the default zone


@pytest.mark.parametrize("name", ["a", "0", "a" * 63, "t1-x_2", "9-_"])
def test_valid_tenant_names(name: str) -> None:
    with Warehouse("duckdb://:memory:") as w:
        assert tenancy.create_tenant(w, name, "UTC").tenant_id == name
        assert [t.tenant_id for t in tenancy.list_tenants(w)] == [name]


@pytest.mark.parametrize("name", ["", "a" * 64, "-a", "_a", "A", "t1.", "t1\n", "ü"])
def test_invalid_tenant_name_message(name: str) -> None:
    with Warehouse("duckdb://:memory:") as w:
        with pytest.raises(CallopsError) as exc:
            tenancy.create_tenant(w, name, "UTC")
        assert str(exc.value) == (f"invalid tenant name {name!r}: use lower-case letters, digits, '-' and '_' "
                                  "(at most 63)")  # fmt: skip
        assert tenancy.list_tenants(w) == []


def test_duplicate_tenant_message(wh: Warehouse) -> None:
    with pytest.raises(CallopsError) as exc:
        tenancy.create_tenant(wh, "t10", "UTC")
    assert str(exc.value) == "tenant 't10' already exists"
    assert tenancy.get_tenant(wh, "t10").timezone == "America/New_York"  # untouched


@pytest.mark.parametrize("zone", ["", "../etc/passwd", "Asia//Shanghai", "UTC+8", "Mars/Olympus"])
def test_unknown_time_zone_message(zone: str) -> None:
    """Both kinds of zoneinfo refusal (a bad key is a ValueError, a missing one ZoneInfoNotFoundError)."""
    with pytest.raises(CallopsError) as exc:
        tenancy.validate_timezone(zone)
    assert str(exc.value) == f"unknown time zone {zone!r}; use an IANA name such as Asia/Shanghai"
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_validate_timezone_returns_the_zone() -> None:
    assert tenancy.validate_timezone("America/New_York") == "America/New_York"


def test_external_warehouse_lists_gets_and_scopes_exactly(wh: Warehouse, external: Warehouse) -> None:
    """The read-only path (Spark, the lake): same names, order, zones and exact matching as the local one."""
    assert tenancy.list_tenants(external) == tenancy.list_tenants(wh)
    for name in NAMES:
        assert tenancy.get_tenant(external, name) == tenancy.get_tenant(wh, name)
        assert _rows(external, name, "contacts") == [(name, name)]
    with pytest.raises(NotFound) as exc:
        tenancy.get_tenant(external, "t2")
    assert "(known: t1, t1-x, t10, t100)" in str(exc.value)
    with pytest.raises(CallopsError, match="read-only"):
        tenancy.create_tenant(external, "t2")
