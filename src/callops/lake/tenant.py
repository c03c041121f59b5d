"""A tenant's history screens on the lake (issue 17, part 2): ``$CALLOPS_HOME/tenants/<tenant>/lake.yaml``.

A tenant that outgrew the warehouse file names its lake here; the API's journey routes, ``POST /api/wfm/forecast``
and ``/api/wfm/staffing``, the metric routes (``/api/metrics/query``, ``/top``, ``/{id}``, ``/api/contacts``), the
saved views' numbers (``/api/views/{id}/data``) and the console's journey page then read the lake (DuckDB over the
Parquet files) for that tenant, every other tenant and route the warehouse as before::

    url: /srv/lake          # the lake root `callops lake export --to` wrote (a folder or an s3:// URL)

``callops lake use --tenant T --to DIR`` writes the file after checking that the lake holds the tenant's export
(``--off`` removes it). The file is read on each request, so a change applies without a restart; the opened lake
itself is kept by the serving process (:class:`callops.lake.cache.LakeCache`) until an export changes it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from callops.errors import CallopsError
from callops.settings import TenantYaml


class LakeSettings(BaseModel):
    """Where a tenant's history screens read: the warehouse (``url`` empty) or the lake at ``url``."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, min_length=1, description="Lake root the history screens read.")


LAKE_SETTINGS = TenantYaml("lake.yaml", LakeSettings)


def history_lake(tenant_id: str) -> str | None:
    """The lake root the tenant's history screens read, or None for the warehouse."""
    return LAKE_SETTINGS.load(tenant_id).url


def check_lake_holds(url: str, tenant_id: str) -> None:
    """Refuse (one line) a lake of another format version, or one without ``tenant_id``'s export."""
    from callops.lake.export import META, Lake

    lake = Lake.open(url)
    lake.check_version(stamp=False)
    if lake.read_json(META, tenant_id, "manifest.json") is None:
        raise CallopsError(f"lake {url} holds no export of tenant {tenant_id!r}: run "
                           f"`callops lake export --tenant {tenant_id} --to {url}` first")


def use_lake(tenant_id: str, url: str | None) -> str:
    """Point the tenant's history screens at the lake ``url`` (checked first), or back at the warehouse (None);
    the path of the settings file."""
    if url is not None:
        check_lake_holds(url, tenant_id)
    return str(LAKE_SETTINGS.save(tenant_id, LakeSettings(url=url)))
