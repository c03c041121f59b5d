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


class Permission(StrEnum):
    """One thing a user may do; the API refuses and the console hides what a role lacks."""

    metrics_read = "metrics:read"  # indicators, TOP view, trends, metric reference, drill-down
    live_read = "live:read"  # wallboard, alerts, plans
    live_events = "live:events"  # post live events
    alerts_act = "alerts:act"  # acknowledge / resolve alerts
    plans_decide = "plans:decide"  # approve / reject plan steps
    wfm_read = "wfm:read"  # forecasts, staffing, schedules
    wfm_plan = "wfm:plan"  # run forecasts, staffing and scheduling
    ingest = "ingest"  # load files
    sim_run = "sim:run"  # what-if simulations
    admin = "admin"  # users, tokens, tenant settings, audit


_ALL = frozenset(Permission)
_READ = frozenset({Permission.metrics_read, Permission.live_read, Permission.wfm_read})

# role -> permissions (the one place both the API and the console read)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: _ALL,
    Role.director: _READ | {Permission.alerts_act, Permission.plans_decide, Permission.sim_run},
    Role.planner: _READ | {Permission.wfm_plan, Permission.sim_run, Permission.ingest},
    Role.dispatcher: _READ | {Permission.alerts_act, Permission.plans_decide, Permission.live_events,
                              Permission.sim_run},
    Role.team_lead: _READ | {Permission.alerts_act},
    Role.analyst: _READ | {Permission.sim_run},
}


def allows(role: Role | str, permission: Permission) -> bool:
    """Whether ``role`` has ``permission``."""
    return permission in ROLE_PERMISSIONS[Role(role)]
