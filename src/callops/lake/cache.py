"""Opened lakes kept between requests (issue 17, part 2): a lake's file lists and prepared DuckDB cursors over
them, reused until the lake changes.

Opening a lake (:func:`callops.lake.read.open_lake`) lists every partition file and builds an in-memory DuckDB
with the canonical tables as views over them: tens of milliseconds for a month's lake, more the more days it
holds. The API did that for every request of a tenant on its lake. :class:`LakeCache` keeps, per lake URL, the
Arrow datasets of the files, one in-memory DuckDB database and a pool of its cursors, each already prepared with
the lake's views (:func:`callops.lake.read.duckdb_views`). A request borrows a cursor of its own and gives it back,
so a DuckDB connection is never used by two threads at once.

**When the lake changes.** Every ``callops lake export`` ends by moving the tenant's
``_callops/<tenant>/manifest.json`` into place, after its partition files and ``tenant.parquet``; the format stamp
is ``_callops/lake.json``. A lake's *stamp* is the (path, modification time, size) of those files, read with one
listing of the small ``_callops`` folder on every borrow. Another stamp (an export finished, a tenant was added or
removed, the lake was replaced) opens the lake again for the next request; requests still running on the old one
finish on it, and its cursors are closed as they come back. Between an export's first file and its manifest a
request may read a rewritten day already (as an uncached open could); a day the export *adds* is seen once the
manifest is in place. On an object store the modification time has one-second resolution: two exports of one
tenant within a second that leave a manifest of the same size are not told apart (an export takes longer).
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from callops.warehouse import Warehouse

if TYPE_CHECKING:  # the API imports this module at start; Arrow and Ibis are imported on the first lake read
    from callops.lake.export import Lake

Stamp = tuple[tuple[str, int, int], ...]
_STAMP_FILES = ("manifest.json", "tenant.parquet")


def lake_stamp(lake: Lake) -> Stamp:
    """(path under ``_callops``, modification time in ns, size) of the lake's format stamp and of every tenant's
    manifest and tenant file, sorted: what every export rewrites last. Empty for a folder that is no lake."""
    import pyarrow.fs as pafs

    from callops.lake.export import META

    base = lake.path(META)
    out = []
    for info in lake.fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True)):
        if info.type != pafs.FileType.File:
            continue
        rel = posixpath.relpath(info.path, base)
        parts = rel.split("/")
        if rel == "lake.json" or (len(parts) == 2 and parts[1] in _STAMP_FILES):
            out.append((rel, int(info.mtime_ns or 0), int(info.size or 0)))
    return tuple(sorted(out))


class _Opened:
    """One state of one lake: its datasets, an in-memory DuckDB and idle cursors prepared over it."""

    def __init__(self, stamp: Stamp, data: dict[str, Any]) -> None:
        import duckdb

        self.stamp, self.data = stamp, data
        self.root = duckdb.connect(":memory:")
        self.idle: list[tuple[Any, Warehouse]] = []
        self.active = 0
        self.retired = self.root_closed = False
        self.lock = threading.Lock()

    def take(self) -> tuple[Any, Warehouse] | None:
        """An idle prepared cursor, or a new one (active until :meth:`give`); None once this state is closed."""
        from callops.lake.read import duckdb_views

        with self.lock:
            if self.root_closed:
                return None
            self.active += 1
            if self.idle:
                return self.idle.pop()
            cursor = self.root.cursor()  # under the lock: the root connection is shared
        try:
            return cursor, duckdb_views(cursor, self.data)
        except BaseException:
            cursor.close()
            self._release()
            raise

    def give(self, item: tuple[Any, Warehouse], max_idle: int) -> None:
        """Return a cursor from :meth:`take`: kept while this state is current and the pool has room."""
        with self.lock:
            if not self.retired and len(self.idle) < max_idle:
                self.active -= 1
                self.idle.append(item)
                return
        item[0].close()
        self._release()

    def _release(self) -> None:
        with self.lock:
            self.active -= 1
            last = self.retired and self.active == 0 and not self.root_closed
            self.root_closed = self.root_closed or last
        if last:
            self.root.close()

    def retire(self) -> None:
        """No more borrows: close the idle cursors now, the database once the last borrowed cursor is back."""
        with self.lock:
            self.retired = True
            idle, self.idle = self.idle, []
            last = self.active == 0 and not self.root_closed
            self.root_closed = self.root_closed or last
        for cursor, _wh in idle:
            cursor.close()
        if last:
            self.root.close()


class LakeCache:
    """Opened lakes by URL for the serving process (thread-safe); see the module docstring."""

    def __init__(self, max_idle: int = 8) -> None:
        """Keep at most ``max_idle`` idle cursors per lake (the API admits 8 warehouse requests at once)."""
        self.max_idle = max_idle
        self._lakes: dict[str, _Opened] = {}
        self._opening: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.opens = 0  # lakes opened (listed and prepared): what the cache saves

    def reading(self, url: str, tenant_id: str) -> _Borrow:
        """``with cache.reading(url, tenant) as wh:`` a read-only warehouse over the lake at ``url`` for this
        thread, after checking that the lake still holds ``tenant_id``'s export (one line if not)."""
        return _Borrow(self, url, tenant_id)

    def _current(self, url: str, tenant_id: str) -> _Opened:
        from callops.lake.export import Lake
        from callops.lake.read import _datasets
        from callops.lake.tenant import check_lake_holds

        lake = Lake.open(url)
        stamp = lake_stamp(lake)
        if ("lake.json" not in {rel for rel, _t, _s in stamp}
                or f"{tenant_id}/manifest.json" not in {rel for rel, _t, _s in stamp}):
            check_lake_holds(url, tenant_id)  # raises the one-line reason (no stamp, no export of the tenant)
        with self._lock:
            hit = self._lakes.get(url)
            if hit is not None and hit.stamp == stamp:
                return hit
            opening = self._opening.setdefault(url, threading.Lock())
        with opening:  # one open per lake at a time: a crowd after an export waits for it instead of repeating it
            with self._lock:
                hit = self._lakes.get(url)
                if hit is not None and hit.stamp == stamp:
                    return hit
            check_lake_holds(url, tenant_id)  # the format version, as an uncached open checks it
            fresh = _Opened(stamp, _datasets(lake))
            with self._lock:
                self.opens += 1
                old, self._lakes[url] = self._lakes.get(url), fresh
        if old is not None:
            old.retire()
        return fresh

    def close(self) -> None:
        """Close every opened lake (cursors still borrowed are closed when given back; a later borrow opens the
        lake again)."""
        with self._lock:
            lakes, self._lakes = list(self._lakes.values()), {}
        for opened in lakes:
            opened.retire()


class _Borrow:
    """Context manager over one borrowed cursor of :class:`LakeCache`."""

    def __init__(self, cache: LakeCache, url: str, tenant_id: str) -> None:
        self.cache, self.url, self.tenant_id = cache, url, tenant_id
        self._give: Callable[[], None] | None = None

    def __enter__(self) -> Warehouse:
        while True:
            opened = self.cache._current(self.url, self.tenant_id)
            item = opened.take()
            if item is not None:  # None: replaced by a newer state and closed since _current found it
                break
        self._give = lambda: opened.give(item, self.cache.max_idle)
        return item[1]

    def __exit__(self, *exc: object) -> None:
        give, self._give = self._give, None
        if give is not None:
            give()
