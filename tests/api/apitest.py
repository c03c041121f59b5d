"""Helpers shared by the API tests (a uniquely named module: test folders are not packages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from callops.store.roles import Role


@dataclass
class World:
    """Two tenants with data, users of every role, and an app client."""

    client: TestClient
    home: Path
    tokens: dict[str, dict[Role, str]] = field(default_factory=dict)  # tenant -> role -> token
    user_ids: dict[str, dict[Role, int]] = field(default_factory=dict)

    def auth(self, tenant: str, role: Role = Role.admin) -> dict[str, str]:
        """Headers authenticating as the ``role`` user of ``tenant``."""
        return {"Authorization": f"Bearer {self.tokens[tenant][role]}"}
