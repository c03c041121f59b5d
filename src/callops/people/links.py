"""Who a user is on the roster: an ``agent`` user is one roster agent; a team lead (and anyone) has a team.

The agent link is the store's ``people_agent_links``; the team is ``users.team`` (migration 0003), which custom views
already share by. Both are checked against the tenant's roster in the warehouse (``tenancy.scoped``), so a user
can never be tied to another tenant's agent or to a team the tenant does not have. Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from callops.errors import CallopsError, NotFound
from callops.people import data
from callops.store import audit, models, users
from callops.store.models_people import AgentLink
from callops.store.roles import Role
from callops.store.scoping import scoped, tenant_key
from callops.warehouse import Warehouse


@dataclass(frozen=True)
class Person:
    """A user as the people loop sees them: role, roster agent (agents) and team."""

    user_id: int
    user_name: str
    role: Role
    agent_id: str | None
    team: str | None


def check_agent(wh: Warehouse, tenant: str, agent_id: str) -> dict:
    """The roster row of ``agent_id``; a clear error when the tenant's roster has no such agent."""
    row = data.roster_agent(wh, tenant, agent_id)
    if row is None:
        raise CallopsError(f"agent {agent_id!r} is not on tenant {tenant!r}'s roster (load the agents table first)")
    return row


def check_team(wh: Warehouse, tenant: str, team: str) -> str:
    """``team`` if the tenant's roster has it; a clear error otherwise."""
    team = team.strip()
    if not team or not data.team_exists(wh, tenant, team):
        raise CallopsError(f"team {team!r} is not on tenant {tenant!r}'s roster")
    return team


def create_user(session: Session, wh: Warehouse, tenant: str, name: str, role: str | Role, actor: str, *,
                agent_id: str | None = None, team: str | None = None, display_name: str | None = None,
                locale: str = "en") -> tuple[models.User, str]:  # fmt: skip
    """Create a user (and first token) tied to the roster: role ``agent`` needs ``agent_id`` (their team follows
    the roster); any role may be given a ``team``. Everything is checked before anything is written."""
    parsed = users.parse_role(role)
    roster = None
    if parsed is Role.agent:
        if not agent_id:
            raise CallopsError("a user with role agent needs --agent AGENT_ID (their roster agent)")
        roster = check_agent(wh, tenant, agent_id)
        if linked_user(session, tenant, agent_id) is not None:
            raise CallopsError(f"agent {agent_id!r} already has a user")
    elif agent_id:
        raise CallopsError("--agent is for users with role agent")
    if team is not None:
        team = check_team(wh, tenant, team)
        if roster is not None and roster.get("team") and team != roster["team"]:
            raise CallopsError(f"agent {agent_id!r} is in team {roster['team']!r}, not {team!r}")
    user, token = users.create_user(session, tenant, name, parsed, actor, display_name=display_name, locale=locale)
    if roster is not None:
        _link(session, tenant, user, roster["agent_id"], actor)
        team = team or roster.get("team")
    if team:
        _set_team(session, tenant, user, team, actor)
    return user, token


def _link(session: Session, tenant: str, user: models.User, agent_id: str, actor: str) -> None:
    link = AgentLink(tenant_id=tenant_key(tenant), user_id=user.id, agent_id=agent_id)
    session.add(link)
    session.flush()
    audit.record(session, tenant, actor, "user.link_agent", "user", user.id, None, {"agent_id": agent_id})


def _set_team(session: Session, tenant: str, user: models.User, team: str | None, actor: str) -> None:
    before = audit.snapshot(user)
    user.team = team
    session.flush()
    audit.record(session, tenant, actor, "user.set_team", "user", user.id, before, audit.snapshot(user))


def set_team(session: Session, wh: Warehouse, tenant: str, user_id: int, team: str | None,
             actor: str) -> models.User:  # fmt: skip
    """Change a user's team (None or empty: no team); an agent's team is their roster team and cannot differ."""
    user = users.get_user(session, tenant, user_id)
    team = check_team(wh, tenant, team) if team and team.strip() else None
    agent = agent_of(session, tenant, user.id)
    if agent is not None:
        roster = check_agent(wh, tenant, agent)
        if team != roster.get("team"):
            raise CallopsError(f"user {user.name!r} is agent {agent!r} of team {roster.get('team')!r}; "
                               "change the roster to move them")  # fmt: skip
    _set_team(session, tenant, user, team, actor)
    return user


def agent_of(session: Session, tenant: str, user_id: int) -> str | None:
    """The roster agent a user is (None for users who are not agents)."""
    link = session.scalars(scoped(AgentLink, tenant).where(AgentLink.user_id == user_id)).one_or_none()
    return link.agent_id if link else None


def linked_user(session: Session, tenant: str, agent_id: str) -> models.User | None:
    """The user who is roster agent ``agent_id`` (None if nobody is)."""
    link = session.scalars(scoped(AgentLink, tenant).where(AgentLink.agent_id == agent_id)).one_or_none()
    return users.get_user(session, tenant, link.user_id) if link else None


def team_leads(session: Session, tenant: str, team: str | None) -> list[models.User]:
    """Active team leads of ``team``."""
    if not team:
        return []
    q = scoped(models.User, tenant).where(models.User.team == team, models.User.role == Role.team_lead.value,
                                          models.User.disabled_at.is_(None))  # fmt: skip
    return list(session.scalars(q))


def person(session: Session, tenant: str, user_id: int) -> Person:
    """The caller as a :class:`Person`."""
    user = users.get_user(session, tenant, user_id)
    return Person(user.id, user.name, Role(user.role), agent_of(session, tenant, user.id), user.team)


def require_agent(p: Person) -> str:
    """The caller's roster agent; NotFound for users who are not linked to one."""
    if not p.agent_id:
        raise NotFound(f"user {p.user_name!r} is not linked to a roster agent")
    return p.agent_id
