"""User roles (kept apart from the models so the CLI can name them without importing SQLAlchemy)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user may do; the API maps each role to its permissions."""

    admin = "admin"
    director = "director"
    planner = "planner"
    dispatcher = "dispatcher"
    team_lead = "team_lead"
    analyst = "analyst"
