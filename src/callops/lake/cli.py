"""``callops lake export|verify|use``: the tenant's canonical tables as a Hive-partitioned Parquet lake."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from callops.tenancy import get_tenant
from callops.warehouse import Warehouse

lake_app = typer.Typer(
    name="lake", help="Export the warehouse to a Parquet lake, verify it, point a tenant's screens at it.",
    no_args_is_help=True)
err = Console(stderr=True)

Tenant = Annotated[str, typer.Option("--tenant", help="Tenant.")]
To = Annotated[str, typer.Option(
    "--to", help="Lake root: a folder or an s3:// URL (credentials from the environment).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@lake_app.command("export")
def export_cmd(tenant: Tenant, to: To, as_json: Json = False) -> None:
    """Write the partitions (tenant, table, local day) that changed since the last export; atomic per partition."""
    from callops.lake.export import export

    with Warehouse(read_only=True) as wh:
        t = get_tenant(wh, tenant)
        with err.status("exporting") as status:
            doc = export(wh, t, to, progress=None if as_json else lambda name: status.update(f"exporting {name}"))
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    for name, r in doc["tables"].items():
        err.print(f"{name}: {r['partitions_written']:,} partitions written ({r['rows_written']:,} rows), "
                  f"{r['partitions_removed']:,} removed, {r['partitions']:,} in the lake")
    err.print(f"{len(doc['new_loads']):,} new loads exported to {to}" if doc["new_loads"] else
              f"nothing new to export: {to} is up to date")


@lake_app.command("verify")
def verify_cmd(tenant: Tenant, to: To, as_json: Json = False) -> None:
    """Compare every partition's row count and content hash in the lake with the warehouse (exit 1 on a difference)."""
    from callops.lake.export import verify

    with Warehouse(read_only=True) as wh:
        doc = verify(wh, get_tenant(wh, tenant), to)
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        for d in doc["differences"]:
            err.print(f"[red]{d['table']} {d['day']}: warehouse {d['warehouse_rows']:,} rows, lake {d['lake_rows']:,}"
                      f"{'' if d['same_rows'] else ' (rows differ)'}{'' if d['same_hash'] else ' (content differs)'}")
        err.print(f"{doc['partitions_checked']:,} partitions checked: " + ("the lake matches the warehouse" if doc["ok"]
                  else f"{len(doc['differences']):,} differ"))
    if not doc["ok"]:
        raise typer.Exit(1)


@lake_app.command("use")
def use_cmd(
    tenant: Tenant,
    to: Annotated[str | None, typer.Option(
        "--to", help="Lake root holding the tenant's export (checked first).")] = None,
    off: Annotated[bool, typer.Option("--off", help="Read the warehouse again.")] = False,
    as_json: Json = False,
) -> None:
    """Let the API's and console's journey, forecast and staffing screens read this tenant from the lake."""
    from callops.errors import CallopsError
    from callops.lake.tenant import use_lake

    if (to is None) == (not off):
        raise CallopsError("give --to DIR (read the lake) or --off (read the warehouse), not both or neither")
    path = use_lake(tenant, None if off else to)
    if as_json:
        print(json.dumps({"tenant": tenant, "lake": None if off else to, "settings": path}))
    else:
        err.print(f"{tenant}: history screens read {'the warehouse' if off else to} ({path})")
