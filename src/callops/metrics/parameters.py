"""Tenant-level metric parameters: defaults, the tenant's file, and per-query overrides.

A tenant sets its choices in ``$CALLOPS_HOME/tenants/<tenant>/metrics.yaml``::

    parameters:
      sl_variant: within_t_over_offered
      sl_threshold_s: 30
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from callops.errors import CallopsError
from callops.metrics.spec import Parameters
from callops.settings import tenant_file


def tenant_parameters_path(tenant_id: str) -> Path:
    """Where a tenant's parameter file lives."""
    return tenant_file(tenant_id, "metrics.yaml")


def load_parameters(tenant_id: str, overrides: dict[str, Any] | Parameters | None = None) -> Parameters:
    """Defaults, then the tenant's file, then ``overrides``; raise a clear error on bad values."""
    if isinstance(overrides, Parameters):
        return overrides
    values: dict[str, Any] = {}
    path = tenant_parameters_path(tenant_id)
    if path.is_file():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise CallopsError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        values.update((data or {}).get("parameters") or {})
    values.update(overrides or {})
    try:
        return Parameters.model_validate(values)
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CallopsError(f"metric parameters for tenant {tenant_id!r}: {msgs}") from None
