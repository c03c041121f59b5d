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
    value_read = "value:read"  # customer view, value scores, tags, decisions, care tasks
    value_manage = "value:manage"  # edit value models, tag and strategy rules; work care tasks
    journeys_read = "journeys:read"  # journey paths, funnels, failure reasons, cost view
    qa_read = "qa:read"  # QA plans, rankings, calibration
    qa_evaluate = "qa:evaluate"  # score evaluations, work coaching tasks
    qa_manage = "qa:manage"  # forms, sampling plans, text QA rules
    kb_read = "kb:read"  # search and read knowledge articles
    kb_author = "kb:author"  # write and submit articles
    kb_review = "kb:review"  # review and publish articles
    admin = "admin"  # users, tokens, tenant settings, audit


_ALL = frozenset(Permission)
_READ = frozenset({Permission.metrics_read, Permission.live_read, Permission.wfm_read, Permission.value_read,
                   Permission.journeys_read, Permission.qa_read, Permission.kb_read})

# role -> permissions (the one place both the API and the console read)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: _ALL,
    Role.director: _READ | {Permission.alerts_act, Permission.plans_decide, Permission.sim_run,
                            Permission.value_manage, Permission.kb_review, Permission.qa_manage},
    Role.planner: _READ | {Permission.wfm_plan, Permission.sim_run, Permission.ingest},
    Role.dispatcher: _READ | {Permission.alerts_act, Permission.plans_decide, Permission.live_events,
                              Permission.sim_run},
    Role.team_lead: _READ | {Permission.alerts_act, Permission.qa_evaluate, Permission.kb_author},
    Role.analyst: _READ | {Permission.sim_run},
}


def allows(role: Role | str, permission: Permission) -> bool:
    """Whether ``role`` has ``permission``."""
    return permission in ROLE_PERMISSIONS[Role(role)]
