"""Where a screen reads its data: the warehouse file, or the Parquet lake on DuckDB or Spark (issue 17).

The journey views and the forecast history take ``--lake DIR [--engine duckdb|spark] [--spark-master URL]`` as
``callops metrics query`` does, so a tenant that outgrew the warehouse file keeps those screens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from callops.errors import CallopsError
from callops.warehouse import Warehouse

LakeOpt = Annotated[str | None, typer.Option(
    "--lake", help="Read the Parquet lake at this root (folder or s3:// URL) instead of the warehouse.")]
EngineOpt = Annotated[str | None, typer.Option(
    "--engine", help="With --lake: duckdb (default) or spark (metrics and forecast; journey views: duckdb).")]
MasterOpt = Annotated[str | None, typer.Option(
    "--spark-master", help="With --engine spark: local[N] (default local[2]), spark://host:port or sc://host:port.")]


def check_source(lake: str | None, engine: str | None, spark_master: str | None,
                 engines: tuple[str, ...] = ("duckdb", "spark")) -> str | None:
    """The engine to read ``lake`` with (None: the warehouse); a clear error for options that do not go together
    or an engine this screen cannot run on (checked before anything is opened)."""
    if lake is None:
        if engine is not None or spark_master is not None:
            raise CallopsError("--engine and --spark-master read a lake: add --lake DIR")
        return None
    engine = engine or "duckdb"
    if engine not in engines:
        from callops.lake.read import ENGINES

        if engine not in ENGINES:
            raise CallopsError(f"unknown engine {engine!r}; expected one of: {', '.join(ENGINES)}")
        raise CallopsError(f"this view runs on the lake with --engine {' or '.join(engines)}, not {engine}")
    if spark_master and engine != "spark":
        raise CallopsError("--spark-master needs --engine spark")
    return engine


@contextmanager
def source(lake: str | None, engine: str | None = None, spark_master: str | None = None, *,
           read_only: bool = True, engines: tuple[str, ...] = ("duckdb", "spark")) -> Iterator[Warehouse]:
    """The warehouse (``lake`` None), or the lake at ``lake`` as a read-only warehouse on ``engine``."""
    chosen = check_source(lake, engine, spark_master, engines)
    if chosen is None:
        with Warehouse(read_only=read_only) as wh:
            yield wh
        return
    from callops.lake.read import open_lake

    with open_lake(lake, chosen, spark_master) as wh:  # type: ignore[arg-type]
        yield wh
