"""``/api/ingest/{table}`` (upload files into a canonical table) and ``/api/rejects`` (why rows were refused)."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from callops import reports, tenancy
from callops.api.deps import WarehouseDep, require
from callops.errors import CallopsError
from callops.ingest.loader import load_files
from callops.ingest.mapping import builtin_mapping_names, load_mapping, parse_mapping
from callops.schema import TABLES
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(tags=["ingest"])
_SAFE = re.compile(r"[^\w.-]+")


def safe_name(name: str | None, index: int) -> str:
    """A file name safe to create in a temp folder: the last path part, odd characters replaced."""
    base = _SAFE.sub("_", Path((name or "").replace("\\", "/")).name).lstrip(".") or f"upload-{index}"
    return base[:200]


@router.get("/mappings", summary="Built-in ingest mappings")
def mappings(_who: Annotated[Principal, Depends(require(Permission.ingest))]) -> dict[str, Any]:
    """Names of the mappings ``/api/ingest`` accepts, and the canonical tables."""
    return {"mappings": builtin_mapping_names(), "tables": list(TABLES)}


@router.post("/ingest/{table}", summary="Load uploaded files into a canonical table")
def ingest(
    table: str,
    who: Annotated[Principal, Depends(require(Permission.ingest))],
    wh: WarehouseDep,
    files: Annotated[list[UploadFile], File(description="CSV/TSV (gzip), Parquet or JSON-lines files.")],
    mapping: Annotated[str, Form(description="Built-in mapping name (see /api/mappings).")] = "canonical",
    mapping_file: Annotated[UploadFile | None, File(description="A mapping YAML (instead of a name).")] = None,
) -> dict[str, Any]:
    """One atomic, idempotent load; the answer accounts for every row (loaded, updated, rejected...)."""
    if table not in TABLES:
        raise CallopsError(f"unknown table {table!r}; expected one of: {', '.join(TABLES)}")
    if mapping_file is not None:
        spec = parse_mapping(mapping_file.file.read().decode("utf-8", errors="replace"),
                             f"mapping {safe_name(mapping_file.filename, 0)}")  # fmt: skip
        if spec.adapter is None and spec.table != table:
            raise CallopsError(f"the mapping loads table {spec.table!r}, not {table!r}")
    elif mapping in builtin_mapping_names():
        spec = load_mapping(mapping, table)  # a name only: a path would read the server's files
    else:
        raise CallopsError(f"unknown mapping {mapping!r}; built-in mappings: {', '.join(builtin_mapping_names())}")
    if not files:
        raise CallopsError("no files given")
    t = tenancy.get_tenant(wh, who.tenant_id)
    with tempfile.TemporaryDirectory(prefix="callops-upload-") as tmp:
        paths: list[Path] = []
        for i, up in enumerate(files):
            folder = Path(tmp) / str(i)  # one folder per file: equal names do not clash
            folder.mkdir()
            path = folder / safe_name(up.filename, i)
            with path.open("wb") as f:
                shutil.copyfileobj(up.file, f)
            paths.append(path)
        summary = load_files(wh, t, table, paths, spec)
    answer = summary.as_dict()
    answer["files"] = [safe_name(up.filename, i) for i, up in enumerate(files)]
    return answer


@router.get("/rejects", summary="Rejected rows of the tenant's loads")
def rejects(
    who: Annotated[Principal, Depends(require(Permission.ingest))],
    wh: WarehouseDep,
    load_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """File, line, column, reason and raw text of each rejected row, newest loads first."""
    return reports.rejects(wh, who.tenant_id, load_id=load_id, limit=limit)
