"""Contacts of a run as columns (numpy arrays), for the vectorised generators that follow the engine.

Text columns are numpy unicode arrays with ``""`` for empty (comparisons then run in C instead of
on Python objects); customers are integer indices (-1: none) into ``customer_names``.
Times stay in seconds since the run start (NaN when empty) until :meth:`ContactFrame.table` turns
the frame into the canonical ``contacts`` table, with the generated columns (``resolved``,
``csat``, ``nps``, ``offer_id``, ``offer_result``, ``revenue``) filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from callops import schema
from callops.sim.records import CONTACT_FIELDS

_FLOAT = {"offered_at", "answered_at", "ended_at", "ivr_s", "wait_s", "talk_s", "hold_s", "acw_s"}


@dataclass
class ContactFrame:
    """Contacts as parallel arrays keyed by canonical column name (plus ``ivr_result``, ``vip``)."""

    start: datetime
    cols: dict[str, np.ndarray]
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # columns beyond the canonical table
    customer_names: np.ndarray | None = None  # customer id (str) per customer index
    queue_names: list[str] = field(default_factory=list)
    qcode: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # queue index per contact

    @classmethod
    def from_rows(cls, start: datetime, rows: list[tuple]) -> ContactFrame:
        """A frame from the engine's contact tuples, sorted by offered time (then id, for determinism)."""
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in CONTACT_FIELDS]
        cols: dict[str, np.ndarray] = {}
        for name, values in zip(CONTACT_FIELDS, columns, strict=True):
            if name in _FLOAT:  # through arrow: None -> NaN at C speed
                cols[name] = pa.array(values, pa.float64()).to_numpy(zero_copy_only=False)
            elif name == "transfers":
                cols[name] = np.array(values, dtype=np.int64)
            elif name == "customer_id":  # customer indices (engine pool of ints); -1: none
                cols[name] = pa.array(values, pa.int64()).fill_null(-1).to_numpy()
            elif name == "vip":
                cols[name] = np.array(values, dtype=bool)
            elif name == "contact_id":  # unique and never empty: no dictionary
                cols[name] = np.array(values, dtype=str)
            else:
                cols[name] = text_array(values)
        # Ties in offered time keep the engine's order (itself deterministic).
        order = np.argsort(cols["offered_at"], kind="stable")
        frame = cls(start, {k: v[order] for k, v in cols.items()})
        frame.queue_names = sorted(set(frame.cols["queue"].tolist()))
        qi = {q: i for i, q in enumerate(frame.queue_names)}
        frame.qcode = np.array([qi[q] for q in frame.cols["queue"].tolist()], dtype=np.int64)
        return frame

    def per_queue(self, values: dict[str, float], default: float = 0.0) -> np.ndarray:
        """A per-queue figure (queue name -> value) spread over the contacts."""
        table = np.array([values.get(q, default) for q in self.queue_names], dtype=float)
        return table[self.qcode] if len(self.qcode) else np.empty(0)

    def __len__(self) -> int:
        return len(self.cols["contact_id"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name] if name in self.cols else self.extra[name]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        (self.cols if name in self.cols else self.extra)[name] = values

    def micros(self, seconds: np.ndarray) -> np.ndarray:
        """UTC epoch microseconds of run-relative seconds."""
        return round(self.start.timestamp() * 1_000_000) + np.round(np.nan_to_num(seconds) * 1e6).astype(np.int64)

    def timestamps(self, seconds: np.ndarray) -> pa.Array:
        """Run-relative seconds (NaN: empty) as a UTC timestamp array."""
        missing = np.isnan(seconds)
        arr = pa.array(self.micros(seconds), pa.int64(), mask=missing if missing.any() else None)
        return arr.cast(pa.timestamp("us", tz="UTC"))

    def table(self, extras: bool = False) -> pa.Table:
        """The canonical contacts table (with ``ivr_result``, ``vip`` and generator extras if ``extras``)."""
        arrays, names = [], []
        for col in schema.CONTACTS.columns:
            values = self.cols.get(col.name, self.extra.get(col.name))
            if values is None:
                arrays.append(pa.nulls(len(self), _arrow(col.type)))
            elif col.name == "customer_id":
                arrays.append(self.customer_column())
            else:
                arrays.append(to_arrow(values, col.type, self))
            names.append(col.name)
        if extras:
            for name in ("ivr_result", "vip", *[k for k in self.extra if k not in names]):
                v = self[name]
                if v.dtype.kind == "U":
                    arrays.append(to_arrow(v, schema.ColumnType.STRING, self))
                else:
                    arrays.append(pa.array(v.tolist() if v.dtype == object else v))
                names.append(name)
        return pa.table(arrays, names=names)


    def customer_column(self, rows: np.ndarray | None = None) -> pa.Array:
        """Customer ids (strings, null where none) of all contacts or of ``rows``."""
        idx = self.cols["customer_id"] if rows is None else self.cols["customer_id"][rows]
        return customer_strings(idx, self.customer_names)


def customer_strings(idx: np.ndarray, names: np.ndarray | None) -> pa.Array:
    """Customer indices (-1: none) as an arrow string array of their ids."""
    missing = idx < 0
    if names is None:
        values = pa.array(idx.astype(str)).cast(pa.string())
    else:
        values = pa.array(names).take(pa.array(np.where(missing, 0, idx)))
    if missing.any():
        values = pc.if_else(pa.array(missing), pa.nulls(len(idx), pa.string()), values)
    return values.cast(pa.string())


def text_array(values: list | tuple) -> np.ndarray:
    """Strings (None allowed) as a numpy unicode array with "" for None, via a dictionary encoding."""
    enc = pa.array(values, pa.string()).dictionary_encode()
    names = np.array([*enc.dictionary.to_pylist(), ""], dtype=str)
    codes = enc.indices.fill_null(len(names) - 1).to_numpy(zero_copy_only=False)
    return names[codes]


def _arrow(t: schema.ColumnType) -> pa.DataType:
    return {
        schema.ColumnType.STRING: pa.string(), schema.ColumnType.INT: pa.int64(),
        schema.ColumnType.FLOAT: pa.float64(), schema.ColumnType.BOOL: pa.bool_(),
        schema.ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"), schema.ColumnType.DATE: pa.date32(),
    }[t]  # fmt: skip


def to_arrow(values: np.ndarray, t: schema.ColumnType, frame: ContactFrame) -> pa.Array:
    """A numpy column as an arrow array of canonical type ``t`` (NaN / None become nulls)."""
    if t == schema.ColumnType.TIMESTAMP:
        return frame.timestamps(values)
    if t == schema.ColumnType.FLOAT:
        missing = np.isnan(values)
        return pa.array(values, pa.float64(), mask=missing if missing.any() else None)
    if values.dtype == object:
        return pa.array(values.tolist(), _arrow(t))
    if values.dtype.kind == "U":
        empty = values == ""
        return pa.array(values, _arrow(t), mask=empty if empty.any() else None)
    return pa.array(values, _arrow(t))
