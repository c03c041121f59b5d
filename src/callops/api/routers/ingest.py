"""``/api/ingest/{table}`` (upload files into a canonical table) and ``/api/rejects`` (why rows were refused)."""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from callops import reports, tenancy
from callops.api.deps import WarehouseDep, require, resources, writing
from callops.api.uploads import Limits, public_message, read_mapping, save_upload
from callops.errors import CallopsError
from callops.ingest.loader import load_files
from callops.ingest.mapping import builtin_mapping_names, load_mapping, parse_mapping
from callops.schema import TABLES
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(tags=["ingest"])
_SAFE = re.compile(r"[^\w.-]+")
log = logging.getLogger("callops.api")


def safe_name(name: str | None, index: int) -> str:
    """A file name safe to create in a temp folder: the last path part, odd characters replaced."""
    base = _SAFE.sub("_", Path((name or "").replace("\\", "/")).name).lstrip(".") or f"upload-{index}"
    return base[:200]


@router.get("/mappings", summary="Built-in ingest mappings")
def mappings(_who: Annotated[Principal, Depends(require(Permission.ingest))]) -> dict[str, Any]:
    """Names of the mappings ``/api/ingest`` accepts, and the canonical tables."""
    return {"mappings": builtin_mapping_names(), "tables": list(TABLES)}


@router.post("/ingest/{table}", summary="Load uploaded files into a canonical table")
async def ingest(
    table: str,
    request: Request,
    who: Annotated[Principal, Depends(require(Permission.ingest))],
    files: Annotated[list[UploadFile], File(description="CSV/TSV (gzip), Parquet or JSON-lines files.")],
    mapping: Annotated[str, Form(description="Built-in mapping name (see /api/mappings).")] = "canonical",
    mapping_file: Annotated[UploadFile | None, File(description="A mapping YAML (instead of a name).")] = None,
) -> dict[str, Any]:
    """One atomic, idempotent load; the answer accounts for every row (loaded, updated, rejected...).

    The table, the mapping and every file are checked (size, decompressed size, compression ratio, line
    length) before the warehouse is touched; only the load itself holds the writer's turn, and reads of
    other requests go on meanwhile (issue 21).
    """
    if table not in TABLES:
        raise CallopsError(f"unknown table {table!r}; expected one of: {', '.join(TABLES)}")
    limits = Limits.current()
    if mapping_file is not None:
        label = f"mapping {safe_name(mapping_file.filename, 0)}"
        text = await run_in_threadpool(read_mapping, mapping_file.file, label, limits)
        spec = parse_mapping(text, label)
        if spec.adapter is None and spec.table != table:
            raise CallopsError(f"the mapping loads table {spec.table!r}, not {table!r}")
    elif mapping in builtin_mapping_names():
        spec = load_mapping(mapping, table)  # a name only: a path would read the server's files
    else:
        raise CallopsError(f"unknown mapping {mapping!r}; built-in mappings: {', '.join(builtin_mapping_names())}")
    if not files:
        raise CallopsError("no files given")
    names = [safe_name(up.filename, i) for i, up in enumerate(files)]
    res = resources(request)
    with tempfile.TemporaryDirectory(prefix="callops-upload-") as tmp:
        paths = await run_in_threadpool(_save_all, files, names, Path(tmp), limits)
        shown = {str(p): n for p, n in zip(paths, names, strict=True)}
        async with writing(res, who.tenant_id) as wh:
            try:
                summary = await run_in_threadpool(_load, wh, who.tenant_id, table, paths, spec, tmp)
            except CallopsError as exc:
                log.warning("upload of %s by %s/%s refused: %s", names, who.tenant_id, who.user_name, exc)
                raise CallopsError(public_message(str(exc), shown, tmp)) from None
    answer = summary.as_dict()
    answer["files"] = names
    await run_in_threadpool(_audit_upload, res, who, table, spec.name, answer)
    return answer


def _save_all(files: list[UploadFile], names: list[str], tmp: Path, limits: Limits) -> list[Path]:
    budget = [limits.decompressed]
    paths: list[Path] = []
    for i, (up, name) in enumerate(zip(files, names, strict=True)):
        folder = tmp / str(i)  # one folder per file: equal names do not clash
        folder.mkdir()
        path = folder / name
        save_upload(up.file, path, name, limits, budget)
        paths.append(path)
    return paths


def _load(wh: Any, tenant_id: str, table: str, paths: list[Path], spec: Any, tmp: str) -> Any:
    t = tenancy.get_tenant(wh, tenant_id)
    summary = load_files(wh, t, table, paths, spec)
    # the loads/rejects records name the files as uploaded, not by the server's temp paths (issue 21)
    con, prefix = wh.writer(), f"^{re.escape(tmp)}/[0-9]+/"
    for name in ("rejects", "load_warnings"):
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0]:
            con.execute(f"UPDATE {name} SET file = regexp_replace(file, ?, '') WHERE tenant_id = ? AND load_id = ?",
                        [prefix, tenant_id, summary.load_id])  # fmt: skip
    con.execute("UPDATE loads SET files = regexp_replace(files, ?, '', 'g') WHERE tenant_id = ? AND load_id = ?",
                [prefix.removeprefix("^"), tenant_id, summary.load_id])  # fmt: skip
    summary.files = [p.name for p in paths]
    return summary


def _audit_upload(res: Any, who: Principal, table: str, mapping: str, answer: dict[str, Any]) -> None:
    from callops.store import audit

    after = {k: answer.get(k) for k in ("table", "mapping", "files", "read", "loaded", "updated", "unchanged",
                                        "rejected", "skipped")}  # fmt: skip
    with res.store.session() as s:
        audit.record(s, who.tenant_id, who.user_name, "ingest.upload", "load", answer.get("load_id"), None,
                     {**after, "table": table, "mapping": mapping})  # fmt: skip


@router.get("/rejects", summary="Rejected rows of the tenant's loads")
def rejects(
    who: Annotated[Principal, Depends(require(Permission.ingest))],
    wh: WarehouseDep,
    load_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    warnings: Annotated[bool, Query(description="Fields emptied in rows that loaded, instead of rejects.")] = False,
) -> list[dict[str, Any]]:
    """File, line, column, reason and raw text of each rejected row (or emptied field), newest loads first."""
    return reports.rejects(wh, who.tenant_id, load_id=load_id, limit=limit, warnings=warnings)
