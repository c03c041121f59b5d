"""Where callops keeps its files, from the environment."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")

DEFAULT_TIMEZONE = "Asia/Shanghai"


def callops_home() -> Path:
    """Directory for the warehouse and other state: ``$CALLOPS_HOME`` or ``./.callops``.

    Created on first use readable by its owner only (0700): it holds the store, tokens' hashes, the console's
    secret and every tenant's data (issue 21). An existing folder is left as its owner set it.
    """
    home = Path(os.environ.get("CALLOPS_HOME", ".callops")).resolve()
    if not home.exists():
        with contextlib.suppress(OSError):  # read-only places: whoever writes there reports the real problem
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home


def warehouse_url() -> str:
    """Warehouse location: ``$CALLOPS_WAREHOUSE`` or a DuckDB file under the home directory."""
    return os.environ.get("CALLOPS_WAREHOUSE") or f"duckdb://{callops_home() / 'warehouse.duckdb'}"


def tenant_file(tenant_id: str, name: str) -> Path:
    """A tenant's own settings file: ``$CALLOPS_HOME/tenants/<tenant>/<name>`` (the one place that says where)."""
    return callops_home() / "tenants" / tenant_id / name


class TenantYaml(Generic[M]):
    """One kind of tenant settings file: a YAML document validated by a pydantic ``model`` (defaults for what the
    file or a key leaves out). ``people.yaml`` and ``floor.yaml`` are read this way; a new settings file should be
    too, rather than another copy of the read/parse/save functions."""

    def __init__(self, name: str, model: type[M]) -> None:
        """Settings in ``name`` (e.g. ``people.yaml``), validated by ``model``."""
        self.name, self.model = name, model

    def path(self, tenant_id: str) -> Path:
        """Where the tenant's file lives."""
        return tenant_file(tenant_id, self.name)

    def parse(self, text: str, label: str | None = None) -> M:
        """Settings from YAML text; a CallopsError names the file and the bad key."""
        import yaml
        from pydantic import ValidationError

        from callops.errors import CallopsError

        label = label or self.name
        try:
            return self.model.model_validate(yaml.safe_load(text) or {})
        except yaml.YAMLError as exc:
            raise CallopsError(f"{label}: not valid YAML ({exc})") from None
        except ValidationError as exc:
            e = exc.errors(include_url=False)[0]
            raise CallopsError(f"{label}: {'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}") from None

    def load(self, tenant_id: str) -> M:
        """The tenant's settings (defaults where the file or a key is missing)."""
        p = self.path(tenant_id)
        return self.parse(p.read_text(encoding="utf-8"), str(p)) if p.exists() else self.model()

    def save(self, tenant_id: str, settings: M) -> Path:
        """Write the tenant's settings file."""
        import yaml

        p = self.path(tenant_id)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(yaml.safe_dump(settings.model_dump(), sort_keys=False), encoding="utf-8")
        return p
