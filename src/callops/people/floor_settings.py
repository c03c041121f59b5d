"""A tenant's floor settings (issue 19): ``$CALLOPS_HOME/tenants/<tenant>/floor.yaml``, every key optional::

    adherence:
      threshold_s: 300        # out of adherence this long raises a yellow alert (orange at 2x, red at 4x)
    attendance:
      late_grace_s: 120       # logging in this late after the first scheduled work block is not late yet
      early_grace_s: 120      # leaving this early before the last one is not early yet
    overtime:
      target_sl: 0.8          # the service level the intraday picture is judged against
      threshold_s: 20         # answered within this many seconds
      surplus_margin: 0.05    # VTO only when the level stays this far above the target without the agent
      max_offers: 5           # offers proposed per run
      block_minutes: 60       # length of one overtime / VTO block
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from callops.settings import TenantYaml


class AdherenceSettings(BaseModel):
    """Live adherence alerting."""

    model_config = ConfigDict(extra="forbid")
    threshold_s: float = Field(300.0, gt=0, le=86400)


class AttendanceSettings(BaseModel):
    """Lateness and early leaving tolerances."""

    model_config = ConfigDict(extra="forbid")
    late_grace_s: float = Field(120.0, ge=0, le=7200)
    early_grace_s: float = Field(120.0, ge=0, le=7200)


class OvertimeSettings(BaseModel):
    """How overtime and VTO offers are proposed."""

    model_config = ConfigDict(extra="forbid")
    target_sl: float = Field(0.8, gt=0, lt=1)
    threshold_s: float = Field(20.0, gt=0)
    surplus_margin: float = Field(0.05, ge=0, lt=1)
    max_offers: int = Field(5, ge=1, le=100)
    block_minutes: int = Field(60, ge=15, le=240)


class FloorSettings(BaseModel):
    """Everything of ``floor.yaml``."""

    model_config = ConfigDict(extra="forbid")
    adherence: AdherenceSettings = Field(default_factory=AdherenceSettings)
    attendance: AttendanceSettings = Field(default_factory=AttendanceSettings)
    overtime: OvertimeSettings = Field(default_factory=OvertimeSettings)


_FILE: TenantYaml[FloorSettings] = TenantYaml("floor.yaml", FloorSettings)


def settings_path(tenant_id: str) -> Path:
    """Where ``tenant_id``'s floor settings live."""
    return _FILE.path(tenant_id)


def parse_settings(text: str, label: str = "floor.yaml") -> FloorSettings:
    """Settings from YAML text; a CallopsError names the bad key."""
    return _FILE.parse(text, label)


def load_settings(tenant_id: str) -> FloorSettings:
    """The tenant's settings (defaults where the file or a key is missing)."""
    return _FILE.load(tenant_id)


def save_settings(tenant_id: str, settings: FloorSettings) -> Path:
    """Write the tenant's settings file."""
    return _FILE.save(tenant_id, settings)
