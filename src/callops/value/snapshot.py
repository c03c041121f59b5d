"""Batch scoring runs and their versioned snapshots, and the in-memory index the decision reads.

A run computes every customer's features, score, class, route and tags in one batch and writes a
snapshot: ``$CALLOPS_HOME/value/<tenant>/v0001.parquet`` (one row per customer) plus ``v0001.json``
(model, libraries, as-of date, counts). ``latest.json`` names the current version. The decision at
contact time never touches the warehouse: it reads the latest snapshot once into a dictionary
(customer id → row) and answers from memory, reloading when a newer version appears.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.settings import callops_home
from callops.value import features as feat
from callops.value.model import DIMENSIONS, Scores, ValueModel, load_model, score
from callops.value.rules import TagLibrary, compute_tags, load_tags, tag_lists
from callops.warehouse import Warehouse


def value_dir(tenant_id: str) -> Path:
    """Where a tenant's value snapshots live."""
    return callops_home() / "value" / tenant_id


def latest_version(tenant_id: str) -> int | None:
    """The current snapshot version of a tenant, None before the first run."""
    p = value_dir(tenant_id) / "latest.json"
    if not p.exists():
        return None
    return int(json.loads(p.read_text(encoding="utf-8"))["version"])


def snapshot_meta(tenant_id: str, version: int | None = None) -> dict[str, Any]:
    """The description of a snapshot (default: the latest)."""
    version = version or latest_version(tenant_id)
    if version is None:
        raise NotFound(f"tenant {tenant_id!r} has no value scores yet; run `callops value score --tenant {tenant_id}`")
    p = value_dir(tenant_id) / f"v{version:04d}.json"
    if not p.exists():
        raise NotFound(f"tenant {tenant_id!r} has no value snapshot version {version}")
    return json.loads(p.read_text(encoding="utf-8"))


def score_tenant(wh: Warehouse, tenant: tenancy.Tenant, as_of: date | None = None, *,
                 model: ValueModel | None = None, tags: TagLibrary | None = None,
                 save: bool = True) -> dict[str, Any]:  # fmt: skip
    """Score and tag every customer of ``tenant`` as of ``as_of`` and keep a versioned snapshot.

    Returns the run summary (``customers``, ``classes``, ``tags``, ``seconds``, ``version``, ...).
    """
    started = time.perf_counter()
    model = model or load_model()
    tags = tags or load_tags()
    at, features, scores, hits = score_frame(wh, tenant, as_of, model, tags)
    n = features.num_rows
    columns: dict[str, Any] = {
        "customer_id": pa.array(scores.customer_id.tolist(), pa.string()),
        "score": pa.array(scores.score, pa.float64()),
        "value_class": pa.array(scores.value_class.tolist(), pa.string()),
        "route": pa.array(scores.route.tolist(), pa.string()),
        **{f"dim_{d}": pa.array(scores.dimensions[d], pa.float64()) for d in DIMENSIONS},
        **{f"n_{k}": pa.array(v, pa.float64()) for k, v in scores.normalised.items()},
        **{f"r_{k}": pa.array(v, pa.float64()) for k, v in scores.raw.items()},
        "tags": pa.array(tag_lists(hits, n), pa.list_(pa.string())),
    }
    table = pa.table(columns)
    summary: dict[str, Any] = {
        "tenant": tenant.tenant_id,
        "as_of": at.day.isoformat(),
        "customers": n,
        "classes": scores.classes(),
        "tags": {k: int(v.sum()) for k, v in hits.items()},
        "model": {"id": model.id, "version": model.version, "origin": model.origin},
        "tag_library": {"id": tags.id, "version": tags.version, "origin": tags.origin},
        "mean_score": float(scores.score.mean()) if n else None,
    }
    if save:
        folder = value_dir(tenant.tenant_id)
        folder.mkdir(parents=True, exist_ok=True)
        version = (latest_version(tenant.tenant_id) or 0) + 1
        pq.write_table(table, folder / f"v{version:04d}.parquet")
        summary["version"] = version
        summary["created_at"] = datetime.now(UTC).isoformat()
        (folder / f"v{version:04d}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), "utf-8")
        tmp = folder / "latest.json.tmp"  # replace atomically: a reader never sees half a pointer
        tmp.write_text(json.dumps({"version": version}), encoding="utf-8")
        tmp.replace(folder / "latest.json")
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def score_frame(wh: Warehouse, tenant: tenancy.Tenant, as_of: date | None, model: ValueModel,
                tags: TagLibrary) -> tuple[feat.AsOf, pa.Table, Scores, dict[str, np.ndarray]]:  # fmt: skip
    """Features, scores and tags of every customer as of ``as_of`` (nothing is saved)."""
    at = feat.AsOf.of(as_of, tenant.timezone)
    features = feat.customer_features(wh, tenant, at)
    return at, features, score(features, model), compute_tags(features, tags, at.day)


def snapshot_row(tenant_id: str, customer_id: str, version: int | None = None) -> dict[str, Any] | None:
    """One customer's row of a snapshot (default: the latest), None when the customer is not in it."""
    version = version or latest_version(tenant_id)
    if version is None:
        return None
    import pyarrow.compute as pc

    table = pq.read_table(value_dir(tenant_id) / f"v{version:04d}.parquet",
                          filters=pc.field("customer_id") == customer_id)  # fmt: skip
    if table.num_rows == 0:
        return None
    return {k: v[0] for k, v in table.to_pydict().items()}


@dataclass
class DecideIndex:
    """A snapshot held in memory for the decision: id → row, and the columns it answers with."""

    version: int
    as_of: str
    rows: dict[str, int]
    score: np.ndarray
    value_class: list[str]
    route: list[str]
    tags: list[str]  # comma-joined: a million small lists would be a million objects for the garbage collector

    def tag_list(self, row: int) -> list[str]:
        """The tags of ``row``."""
        text = self.tags[row]
        return text.split(",") if text else []


_INDEX: dict[str, DecideIndex] = {}
_CHECKED: dict[str, float] = {}
_LOCK = threading.Lock()
RECHECK_S = 2.0  # how often the index looks for a newer snapshot


def decide_index(tenant_id: str) -> DecideIndex | None:
    """The latest snapshot of ``tenant_id`` in memory (loaded on first use, reloaded when superseded)."""
    now = time.monotonic()
    held = _INDEX.get(tenant_id)
    if held is not None and now - _CHECKED.get(tenant_id, 0.0) < RECHECK_S:
        return held
    with _LOCK:
        _CHECKED[tenant_id] = now
        version = latest_version(tenant_id)
        if version is None:
            return None
        held = _INDEX.get(tenant_id)
        if held is not None and held.version == version:
            return held
        import gc

        import pyarrow.compute as pc

        table = pq.read_table(value_dir(tenant_id) / f"v{version:04d}.parquet",
                              columns=["customer_id", "score", "value_class", "route", "tags"])  # fmt: skip
        ids = table.column("customer_id").to_pylist()
        meta = snapshot_meta(tenant_id, version)
        tags = pc.binary_join(table.column("tags"), ",").to_pylist()
        classes = [sys.intern(c) for c in table.column("value_class").to_pylist()]
        routes = [sys.intern(r) for r in table.column("route").to_pylist()]
        index = DecideIndex(version, meta["as_of"], {c: i for i, c in enumerate(ids)},
                            table.column("score").to_numpy(), classes, routes, [t or "" for t in tags])  # fmt: skip
        _INDEX[tenant_id] = index
        # The index lives as long as the process: keep the collector from walking its million entries (the pauses
        # of a full collection were the decision's p99).
        gc.collect()
        gc.freeze()
        return index


def index_is_current(tenant_id: str) -> bool:
    """Whether :func:`decide_index` would answer ``tenant_id`` from memory (held, and no newer snapshot), so a
    caller on an event loop can run the decision there; False means the next call may load a file (seconds)."""
    held = _INDEX.get(tenant_id)
    if held is None:
        return False
    if time.monotonic() - _CHECKED.get(tenant_id, 0.0) < RECHECK_S:
        return True
    return latest_version(tenant_id) == held.version  # one small file read; decide_index then re-stamps it


def forget_index(tenant_id: str | None = None) -> None:
    """Drop held indexes (tests, and after a tenant's snapshots are removed)."""
    with _LOCK:
        for key in [tenant_id] if tenant_id else list(_INDEX):
            _INDEX.pop(key, None)
            _CHECKED.pop(key, None)


def require_snapshot(tenant_id: str) -> int:
    """The latest version, or a clear error telling how to make one."""
    version = latest_version(tenant_id)
    if version is None:
        raise CallopsError(f"tenant {tenant_id!r} has no value scores yet; "
                           f"run `callops value score --tenant {tenant_id}`")
    return version
