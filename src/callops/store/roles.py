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
    agent = "agent"  # issue 19: an agent's own schedule, KPIs and requests (linked to one roster agent)


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
    me_read = "me:read"  # one's own schedule, KPIs, coaching and requests (a team lead: their team's)
    me_request = "me:request"  # file time-off, swap and trade requests; accept a colleague's swap
    requests_decide = "requests:decide"  # approve or refuse the requests of one's team
    floor_read = "floor:read"  # adherence now, exceptions, attendance, HR cases, overtime/VTO offers (issue 19)
    floor_manage = "floor:manage"  # record adherence exceptions, work HR cases, propose and withdraw offers
    floor_accept = "floor:accept"  # accept or decline one's own overtime/VTO offer
    campaigns_read = "campaigns:read"  # campaign cost, return, benefit score, decision and trend (issue 12)
    campaigns_manage = "campaigns:manage"  # pause and resume campaigns (issue 12)
    admin = "admin"  # users, tokens, tenant settings, audit


_ALL = frozenset(Permission)
_READ = frozenset({Permission.metrics_read, Permission.live_read, Permission.wfm_read, Permission.value_read,
                   Permission.journeys_read, Permission.qa_read, Permission.kb_read,
                   Permission.campaigns_read})

# role -> permissions (the one place both the API and the console read)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: _ALL,
    Role.director: _READ | {Permission.floor_read, Permission.alerts_act, Permission.plans_decide, Permission.sim_run,
                            Permission.value_manage, Permission.kb_review, Permission.qa_manage,
                            Permission.campaigns_manage},
    Role.planner: _READ | {Permission.floor_read, Permission.floor_manage, Permission.wfm_plan, Permission.sim_run,
                           Permission.ingest},
    Role.dispatcher: _READ | {Permission.floor_read, Permission.floor_manage, Permission.alerts_act,
                              Permission.plans_decide, Permission.live_events, Permission.sim_run},
    Role.team_lead: _READ | {Permission.alerts_act, Permission.qa_evaluate, Permission.kb_author, Permission.me_read,
                             Permission.requests_decide, Permission.floor_read, Permission.floor_manage},
    Role.analyst: _READ | {Permission.sim_run},
    # An agent sees only their own data (issue 19): no tenant-wide reads at all.
    Role.agent: frozenset({Permission.me_read, Permission.me_request, Permission.kb_read, Permission.floor_accept}),
}


def allows(role: Role | str, permission: Permission) -> bool:
    """Whether ``role`` has ``permission``."""
    return permission in ROLE_PERMISSIONS[Role(role)]
