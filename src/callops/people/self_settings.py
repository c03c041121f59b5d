"""A tenant's self-service settings (issue 19): ``$CALLOPS_HOME/tenants/<tenant>/people.yaml``, every key optional::

    auto_approve: false        # approve a request by itself when every check passes
    target_sl: 0.8             # the service level coverage checks compare with
    threshold_s: 20            # answered within this many seconds
    patience_s: null           # mean patience for Erlang A; null: estimated from the tenant's contacts
    max_time_off_days:         # the longest single time-off request per contract (days)
      default: 14
      part-time: 10
    min_notice_hours: 0        # a request must start at least this long after it is filed
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from callops.settings import TenantYaml


class PeopleSettings(BaseModel):
    """Everything of ``people.yaml``."""

    model_config = ConfigDict(extra="forbid")
    auto_approve: bool = False
    target_sl: float = Field(0.8, gt=0, lt=1)
    threshold_s: float = Field(20.0, gt=0, le=3600)
    patience_s: float | None = Field(None, gt=0)
    max_time_off_days: dict[str, float] = Field(default_factory=lambda: {"default": 14.0})
    min_notice_hours: float = Field(0.0, ge=0, le=24 * 90)

    def max_days(self, contract: str | None) -> float:
        """The longest time off one request may ask for under ``contract``."""
        return float(self.max_time_off_days.get(contract or "", self.max_time_off_days.get("default", 14.0)))


_FILE: TenantYaml[PeopleSettings] = TenantYaml("people.yaml", PeopleSettings)


def settings_path(tenant_id: str) -> Path:
    """Where ``tenant_id``'s self-service settings live."""
    return _FILE.path(tenant_id)


def parse_settings(text: str, label: str = "people.yaml") -> PeopleSettings:
    """Settings from YAML text; a CallopsError names the bad key."""
    return _FILE.parse(text, label)


def load_settings(tenant_id: str) -> PeopleSettings:
    """The tenant's settings (defaults where the file or a key is missing)."""
    return _FILE.load(tenant_id)


def save_settings(tenant_id: str, settings: PeopleSettings) -> Path:
    """Write the tenant's settings file."""
    return _FILE.save(tenant_id, settings)
