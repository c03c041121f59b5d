"""Output records of a simulation run, in the canonical schema, and their load through the ingest path.

The engine appends plain tuples while it runs (cheap); :meth:`Records.tables`
turns them into pyarrow tables whose columns are exactly the canonical ones of
:mod:`callops.schema` (timestamps as UTC microseconds). :func:`write_to_warehouse`
writes those tables to temporary Parquet files and loads them with the
``canonical`` mapping, so simulated data is validated like real data.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from callops import schema
from callops.ingest.loader import LoadSummary, load_files
from callops.ingest.mapping import load_mapping
from callops.tenancy import Tenant
from callops.warehouse import Warehouse

# Order of the tuples the engine appends (times are seconds since the run start).
CONTACT_FIELDS = (
    "contact_id", "center", "queue", "channel", "direction", "customer_id", "business_type",
    "offered_at", "answered_at", "ended_at", "ivr_s", "wait_s", "talk_s", "hold_s", "acw_s",
    "outcome", "agent_id", "transfers", "ivr_result", "vip",
)  # fmt: skip
STATE_FIELDS = ("agent_id", "state", "reason", "queue", "started_at", "ended_at")
SCHEDULE_FIELDS = ("agent_id", "activity", "start_at", "end_at", "queue")
AGENT_FIELDS = ("agent_id", "name", "center", "team", "skills", "contract", "emergency_echelon", "active")
# Columns the engine produces beyond the canonical contacts table (kept for journeys and checks).
CONTACT_EXTRAS = ("ivr_result", "vip")

_ARROW = {
    schema.ColumnType.STRING: pa.string(),
    schema.ColumnType.INT: pa.int64(),
    schema.ColumnType.FLOAT: pa.float64(),
    schema.ColumnType.BOOL: pa.bool_(),
    schema.ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    schema.ColumnType.DATE: pa.date32(),
}


@dataclass
class Records:
    """Rows produced by one run; ``start`` anchors the engine's seconds to UTC instants."""

    start: datetime
    contacts: list[tuple] = field(default_factory=list)
    agent_states: list[tuple] = field(default_factory=list)
    schedules: list[tuple] = field(default_factory=list)
    agents: list[tuple] = field(default_factory=list)

    def _column(self, table: schema.Table, name: str, values: list | tuple) -> pa.Array:
        col = table.column(name)
        if col.type == schema.ColumnType.TIMESTAMP:
            # Vectorised: seconds since the start (None -> null) to UTC microseconds.
            secs = pa.array(values, pa.float64())
            micros = pc.add(pc.cast(pc.round(pc.multiply(secs, 1e6)), pa.int64()),
                            round(self.start.timestamp() * 1_000_000))
            return micros.cast(_ARROW[col.type])
        return pa.array(values, type=_ARROW[col.type])

    def _table(self, table: schema.Table, fields: tuple[str, ...], rows: list[tuple],
               extras: tuple[str, ...] = ()) -> pa.Table:
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in fields]
        by_name = dict(zip(fields, columns, strict=True))
        arrays, names = [], []
        for col in table.columns:
            if col.name in by_name:
                arrays.append(self._column(table, col.name, by_name[col.name]))
                names.append(col.name)
        for name in extras:
            values = list(by_name[name])
            arrays.append(pa.array(values, type=pa.bool_() if name == "vip" else pa.string()))
            names.append(name)
        return pa.table(arrays, names=names)

    def tables(self, extras: bool = False, names: tuple[str, ...] | None = None) -> dict[str, pa.Table]:
        """Canonical tables (``contacts``, ``agent_states``, ``schedules``, ``agents``) as pyarrow tables.

        With ``extras`` the contacts table also carries the engine's own columns (``ivr_result``,
        ``vip``); the canonical mapping ignores them on load. ``names`` picks some of the tables.
        """
        build = {
            "contacts": lambda: self._table(schema.CONTACTS, CONTACT_FIELDS, self.contacts,
                                            CONTACT_EXTRAS if extras else ()),
            "agent_states": lambda: self._table(schema.AGENT_STATES, STATE_FIELDS, self.agent_states),
            "schedules": lambda: self._table(schema.SCHEDULES, SCHEDULE_FIELDS, self.schedules),
            "agents": lambda: self._table(schema.AGENTS, AGENT_FIELDS, self.agents),
        }
        return {name: make() for name, make in build.items() if names is None or name in names}


def write_to_warehouse(
    wh: Warehouse, tenant: Tenant, tables: dict[str, pa.Table], progress=None
) -> dict[str, LoadSummary]:
    """Load ``tables`` (canonical name -> pyarrow table) for ``tenant`` through the normal ingest path.

    Each table goes to a temporary Parquet file loaded with ``load_mapping("canonical", name)``; returns
    the load summary per table (empty tables are skipped).
    """
    summaries: dict[str, LoadSummary] = {}
    with tempfile.TemporaryDirectory(prefix="callops-sim-") as tmp:
        for name, table in tables.items():
            if table.num_rows == 0:
                continue
            path = Path(tmp) / f"{name}.parquet"
            pq.write_table(table, path)
            summaries[name] = load_files(wh, tenant, name, [path], load_mapping("canonical", name), progress)
    return summaries
