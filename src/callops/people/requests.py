"""Time-off, swap and trade requests: filed by an agent, checked automatically, accepted, decided, applied.

Life cycle: a time-off request is checked at once; a swap waits for its named colleague (``pending_colleague``) and
a trade for a teammate who takes the shift from the open pool; then the checks run (again) on the schedule as it
stands. A request that passes every check is approved by itself when the tenant allows it (``people.yaml``:
``auto_approve``); the others wait for the team lead (``pending_lead``), who approves or refuses with a reason.
An approval records a new schedule version, gives the live room the new expectations, and is audited; the
requester, the colleague and the team lead are notified through the outbox (in-app).

Bad input (a window in the past or overlapping another request, a colleague of another team or unknown to the
tenant, time off longer than the contract allows) is refused with its reason before anything is written.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.people import checks, data, links
from callops.people.self_settings import PeopleSettings, load_settings
from callops.store import audit, outbox
from callops.store.db import Store
from callops.store.models_people import REQUEST_KINDS, PeopleRequest
from callops.store.roles import Role
from callops.store.scoping import get_owned, scoped, tenant_key
from callops.warehouse import Warehouse
from callops.wfm.rules import Agent, Workforce

OPEN = ("pending_colleague", "pending_lead")
LIVE = (*OPEN, "approved")  # requests that hold their window
MAX_WINDOW = timedelta(days=31)
MAX_AHEAD = timedelta(days=400)  # schedules are planned weeks ahead; far dates are typos (and overflow near 9999)


def _aware(ts: datetime, zone: str) -> datetime:
    """Naive times are the tenant's local time."""
    try:
        return ts.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    except (OverflowError, ValueError):
        raise CallopsError(f"time {ts.isoformat()} is out of range") from None


def request_dict(r: PeopleRequest, zone: str) -> dict[str, Any]:
    """A request as the API and the console show it (times in the tenant's zone)."""
    return {"id": r.id, "kind": r.kind, "agent_id": r.agent_id, "team": r.team,
            "start": data.local(r.start_at, zone), "end": data.local(r.end_at, zone), "reason": r.reason,
            "colleague_id": r.colleague_id, "status": r.status, "checks": r.checks, "decided_by": r.decided_by,
            "decided_at": r.decided_at.isoformat() if r.decided_at else None, "decision_reason": r.decision_reason,
            "schedule_version": r.schedule_version, "created_at": r.created_at.isoformat()}  # fmt: skip


# ------------------------------------------------------------------------------------------------------- checks
def _workforce(tenant: str) -> Workforce:
    from callops.wfm.schedule_cli import workforce_for

    return workforce_for(tenant)[0]


def _rules_agent(wf: Workforce, roster: dict[str, Any], time_off: list[tuple[datetime, datetime]],
                 zone: str) -> tuple[Agent, str | None]:  # fmt: skip
    """The validator's agent for a roster row; a note when its contract is unknown to the workforce rules."""
    names = {c.name for c in wf.contracts}
    contract, note = roster.get("contract") or wf.contracts[0].name, None
    if contract not in names:
        note = f"contract {contract!r} of {roster['agent_id']} is not in the workforce rules; checked as " \
               f"{wf.contracts[0].name!r}"  # fmt: skip
        contract = wf.contracts[0].name
    skills = [s.split(":")[0].strip() for s in (roster.get("skills") or "").split(";") if s.strip()]
    return Agent(agent_id=roster["agent_id"], contract=contract, skills=skills,
                 time_off=checks.local_time_off(time_off, zone)), note  # fmt: skip


def _approved_time_off(session: Session, tenant: str, agent_id: str, exclude: int | None) -> list[tuple]:
    q = scoped(PeopleRequest, tenant).where(PeopleRequest.agent_id == agent_id, PeopleRequest.kind == "time_off",
                                            PeopleRequest.status == "approved")  # fmt: skip
    return [(r.start_at, r.end_at) for r in session.scalars(q) if r.id != exclude]


def make_change(rows: list[dict], kind: str, agent_id: str, colleague: str | None, start: datetime,
                end: datetime) -> checks.Change:  # fmt: skip
    """The change a request makes to ``rows``."""
    if kind == "time_off":
        return checks.time_off_change(rows, agent_id, start, end)
    return checks.move_change(rows, agent_id, colleague, start, end, both_ways=kind == "swap")


def evaluate(session: Session, wh: Warehouse, tenant: str, kind: str, agent_id: str, colleague: str | None,
             start: datetime, end: datetime, settings: PeopleSettings, *, exclude: int | None = None,
             wf: Workforce | None = None) -> tuple[dict[str, Any], checks.Change]:  # fmt: skip
    """Contract and coverage checks of a request on the schedule as it stands; (checks document, change)."""
    zone = tenancy.get_tenant(wh, tenant).timezone
    wf = wf or _workforce(tenant)
    agents = [agent_id] + ([colleague] if colleague else [])
    weeks = checks.mondays(start, end, zone)
    lo, hi = checks.week_bounds(weeks[0], zone)[0], checks.week_bounds(weeks[-1], zone)[1]
    week_rows = data.schedule_rows(wh, tenant, lo, hi, agents)
    change = make_change(week_rows, kind, agent_id, colleague, start, end)
    after_rows = checks.apply_change(week_rows, change.agents, start, end, change.after)
    rules_agents, after_agents, notes = [], [], []
    for a in agents:
        roster = data.roster_agent(wh, tenant, a) or {"agent_id": a}
        off = _approved_time_off(session, tenant, a, exclude)
        ra, note = _rules_agent(wf, roster, off, zone)
        rules_agents.append(ra)
        mine = [(start, end)] if kind == "time_off" and a == agent_id else []
        after_agents.append(_rules_agent(wf, roster, off + mine, zone)[0])
        notes += [note] if note else []
    rules = ("hours",) if kind == "time_off" else checks.CONTRACT_RULES
    contract = checks.contract_check(wf, rules_agents, after_agents, week_rows, after_rows, zone, start, end, rules)
    if colleague:  # the taker must hold the skill of every queue they take over
        taker = next(a for a in rules_agents if a.agent_id == colleague)
        giver = next(a for a in rules_agents if a.agent_id == agent_id)
        for ra, rows in ((taker, [r for r in change.after if r["agent_id"] == colleague]),
                         (giver, [r for r in change.after if r["agent_id"] == agent_id and kind == "swap"])):
            missing = sorted({r["queue"] for r in rows if r["activity"] == "work" and r.get("queue")
                              and ra.skills and r["queue"] not in ra.skills})  # fmt: skip
            if missing:
                contract["reasons"].append({"rule": "skills", "label": "skills", "label_zh": "技能",
                                            "agent_id": ra.agent_id, "week": None,
                                            "detail": f"lacks skill(s) {', '.join(missing)}"})  # fmt: skip
                contract["ok"] = False
    # coverage: every agent's rows in the window, before and after
    fc = data.current_forecast(tenant, start, end, zone)
    step = fc.interval_minutes
    grid = checks.interval_grid(start, end, zone, step)
    everyone = data.schedule_rows(wh, tenant, start, end)
    everyone_after = checks.apply_change(everyone, change.agents, start, end, change.after)
    queues = sorted(set(fc.calls) | {r["queue"] for r in everyone if r.get("queue") and r["activity"] == "work"})
    before_n = checks.working_counts(everyone, grid, zone, step, queues)
    after_n = checks.working_counts(everyone_after, grid, zone, step, queues)
    cov = checks.coverage_check(fc, grid, before_n, after_n, data.patience(wh, tenant, queues, settings.patience_s),
                                settings.target_sl, settings.threshold_s)  # fmt: skip
    cov["forecast_snapshot"] = fc.snapshot_id
    reasons = [f"{r['label']}: {r['agent_id']}: {r['detail']}" for r in contract["reasons"]] + cov["reasons"]
    # the rule in Chinese; the validator's detail (figures and times) stays as it wrote it
    reasons_zh = [f"{r['label_zh']}：{r['agent_id']}：{r['detail']}" for r in contract["reasons"]] + cov["reasons_zh"]
    doc = {"ok": contract["ok"] and cov["ok"], "contract": contract, "coverage": cov, "reasons": reasons,
           "reasons_zh": reasons_zh,
           "notes": notes, "checked_at": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
    return doc, change


# ------------------------------------------------------------------------------------------------------ refusals
def _refuse_overlaps(session: Session, tenant: str, agents: list[str], start: datetime, end: datetime,
                     exclude: int | None = None) -> None:  # fmt: skip
    q = scoped(PeopleRequest, tenant).where(PeopleRequest.status.in_(LIVE), PeopleRequest.start_at < end,
                                            PeopleRequest.end_at > start)  # fmt: skip
    for r in session.scalars(q):
        if r.id != exclude and ({r.agent_id, r.colleague_id} & set(agents)):
            raise CallopsError(f"overlaps request {r.id} ({r.kind}, {r.status}) of {r.agent_id}: "
                               "cancel or wait for it first")  # fmt: skip


def _validate(wh: Warehouse, session: Session, tenant: str, who: links.Person, kind: str, start: datetime,
              end: datetime, colleague: str | None, settings: PeopleSettings,
              now: datetime) -> dict[str, Any]:  # fmt: skip
    """The requester's roster row after every refusal rule (raises CallopsError with the reason)."""
    if kind not in REQUEST_KINDS:
        raise CallopsError(f"unknown request kind {kind!r}; use one of: {', '.join(REQUEST_KINDS)}")
    if end <= start:
        raise CallopsError("the request ends before it starts")
    if start < now:
        raise CallopsError(f"the request starts in the past ({start.isoformat()} is before now)")
    if start < now + timedelta(hours=settings.min_notice_hours):
        raise CallopsError(f"requests need {settings.min_notice_hours:g} h notice")
    if end - start > MAX_WINDOW:
        raise CallopsError(f"a request covers at most {MAX_WINDOW.days} days")
    if start > now + MAX_AHEAD:
        raise CallopsError(f"a request starts at most {MAX_AHEAD.days} days ahead")
    agent_id = links.require_agent(who)
    me = links.check_agent(wh, tenant, agent_id)
    if kind == "time_off":
        days = (end - start).total_seconds() / 86400
        limit = settings.max_days(me.get("contract"))
        if days > limit + 1e-9:
            raise CallopsError(f"time off of {days:g} days is longer than contract {me.get('contract') or 'default'!r} "
                               f"allows ({limit:g} days)")  # fmt: skip
    if kind == "swap":
        if not colleague:
            raise CallopsError("a swap names the colleague to swap with")
        if colleague == agent_id:
            raise CallopsError("a swap needs a colleague other than yourself")
        other = data.roster_agent(wh, tenant, colleague)
        if other is None:
            raise CallopsError(f"colleague {colleague!r} is not on your tenant's roster")
        if other.get("team") != me.get("team"):
            raise CallopsError(f"colleague {colleague!r} is in another team ({other.get('team')!r}, "
                               f"yours is {me.get('team')!r})")  # fmt: skip
    elif colleague:
        raise CallopsError(f"a {kind.replace('_', ' ')} request names no colleague")
    if kind in ("swap", "trade"):
        rows = data.schedule_rows(wh, tenant, start, end, [agent_id])
        if not any(start <= r["start_at"] < end and r["activity"] != "off" for r in rows):
            raise CallopsError("none of your shifts starts in this window: nothing to swap or trade")
    _refuse_overlaps(session, tenant, [agent_id] + ([colleague] if colleague else []), start, end)
    return me


# --------------------------------------------------------------------------------------------------- life cycle
_KIND_ZH = {"time_off": "休假", "swap": "换班", "trade": "班次转让"}


def _notify(session: Session, tenant: str, r: PeopleRequest, event: str, users: list[Any], text: str,
            text_zh: str) -> int:  # fmt: skip
    """One in-app message per user, in English (``text``) and Chinese (``text_zh``)."""
    sent = 0
    for u in users:
        if u is None:
            continue
        payload = {"kind": "people_request", "event": event, "request_id": r.id, "request_kind": r.kind,
                   "status": r.status, "agent_id": r.agent_id, "colleague_id": r.colleague_id, "to": u.name,
                   "text": text, "text_zh": text_zh}  # fmt: skip
        sent += outbox.enqueue(session, tenant, "inapp", f"people-request:{r.id}:{event}:{u.name}", payload)
    return sent


def _settle(session: Session, wh: Warehouse, tenant: str, r: PeopleRequest, settings: PeopleSettings,
            actor: str) -> None:  # fmt: skip
    """Check ``r`` on the schedule as it stands, then approve it by itself or hand it to the team lead."""
    doc, change = evaluate(session, wh, tenant, r.kind, r.agent_id, r.colleague_id, r.start_at, r.end_at, settings,
                           exclude=r.id)  # fmt: skip
    r.checks = doc
    if doc["ok"] and settings.auto_approve:
        _apply(session, wh, tenant, r, change, "auto", "every check passed (tenant approves such requests itself)")
    else:
        r.status = "pending_lead"
        r.updated_at = datetime.now(UTC)
        session.flush()
        leads = links.team_leads(session, tenant, r.team)
        why = "; ".join(doc["reasons"][:3]) or "every check passed"
        why_zh = "；".join(doc.get("reasons_zh", [])[:3]) or "全部检查通过"
        _notify(session, tenant, r, "pending_lead", leads,
                f"{r.kind} request {r.id} of {r.agent_id} waits for your decision: {why}",
                f"{r.agent_id} 的{_KIND_ZH[r.kind]}申请 {r.id} 等待您审批：{why_zh}")


def _apply(session: Session, wh: Warehouse, tenant: str, r: PeopleRequest, change: checks.Change, actor: str,
           reason: str) -> None:  # fmt: skip
    before = audit.snapshot(r)
    r.status = "approved"
    r.decided_by, r.decided_at, r.decision_reason = actor, datetime.now(UTC), reason
    r.schedule_version = data.save_version(session, wh, tenant, change, request_id=r.id, actor=actor,
                                           reason=f"{r.kind} request {r.id} of {r.agent_id}: {reason}")  # fmt: skip
    r.updated_at = datetime.now(UTC)
    session.flush()
    audit.record(session, tenant, actor, "people_request.approve", "people_request", r.id, before, audit.snapshot(r))
    r.checks = {**r.checks, "live": data.update_live(tenant_key(tenant), change, r.schedule_version)}
    people = [links.linked_user(session, tenant, r.agent_id), links.linked_user(session, tenant, r.colleague_id)
              if r.colleague_id else None, *links.team_leads(session, tenant, r.team)]  # fmt: skip
    _notify(session, tenant, r, "approved", people, f"{r.kind} request {r.id} of {r.agent_id} approved "
            f"(schedule version {r.schedule_version}): {reason}",
            f"{r.agent_id} 的{_KIND_ZH[r.kind]}申请 {r.id} 已批准（排班版本 {r.schedule_version}）："
            f"{reason}")  # fmt: skip


def file_request(store: Store, wh: Warehouse, tenant: str, user_id: int, kind: str, start: datetime, end: datetime,
                 reason: str | None = None, colleague: str | None = None, *,
                 now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """File a request as the agent ``user_id`` is; its checks, status and (when approved) schedule version."""
    zone = tenancy.get_tenant(wh, tenant).timezone
    start, end = _aware(start, zone), _aware(end, zone)
    now = now or datetime.now(UTC)
    settings = load_settings(tenant_key(tenant))
    with store.session() as s:
        who = links.person(s, tenant, user_id)
        me = _validate(wh, s, tenant, who, kind, start, end, colleague, settings, now)
        r = PeopleRequest(tenant_id=tenant_key(tenant), kind=kind, agent_id=me["agent_id"], team=me.get("team"),
                          start_at=start, end_at=end, reason=(reason or "").strip()[:2000] or None,
                          colleague_id=colleague, status="pending_colleague", checks={}, created_by=who.user_name)
        s.add(r)
        s.flush()
        audit.record(s, tenant, who.user_name, "people_request.create", "people_request", r.id, None,
                     audit.snapshot(r))  # fmt: skip
        if kind == "time_off":
            _settle(s, wh, tenant, r, settings, who.user_name)
        else:  # preview the checks the colleague / pool will be judged on
            doc, _ = evaluate(s, wh, tenant, kind, r.agent_id, colleague, start, end, settings, exclude=r.id)
            r.checks = doc
            if kind == "swap":
                _notify(s, tenant, r, "asked", [links.linked_user(s, tenant, colleague)],
                        f"{r.agent_id} asks you to swap shifts between {data.local(start, zone)} and "
                        f"{data.local(end, zone)}",
                        f"{r.agent_id} 请求与您换班：{data.local(start, zone)} 至 {data.local(end, zone)}")  # fmt: skip
        s.flush()
        return request_dict(r, zone)


def _get(session: Session, tenant: str, request_id: int) -> PeopleRequest:
    return get_owned(session, PeopleRequest, tenant, request_id)


def visible(r: PeopleRequest, who: links.Person) -> bool:
    """Whether ``who`` may see ``r``: their own, addressed to them, their team's open pool, or (a lead) their team."""
    if who.role is Role.admin:
        return True
    if who.agent_id and who.agent_id in (r.agent_id, r.colleague_id):
        return True
    if who.agent_id and r.kind == "trade" and r.status == "pending_colleague" and who.team and r.team == who.team:
        return True
    return who.role is Role.team_lead and who.team is not None and r.team == who.team


def accept(store: Store, wh: Warehouse, tenant: str, user_id: int, request_id: int) -> dict[str, Any]:
    """Accept a swap (its named colleague) or take a trade from the open pool (a teammate); then the checks run."""
    zone = tenancy.get_tenant(wh, tenant).timezone
    settings = load_settings(tenant_key(tenant))
    with store.session() as s:
        who = links.person(s, tenant, user_id)
        me = links.require_agent(who)
        r = _get(s, tenant, request_id)
        if not visible(r, who) or me == r.agent_id:
            raise NotFound(f"no request {request_id} waiting for you")
        if r.status != "pending_colleague":
            raise CallopsError(f"request {request_id} is {r.status}; nothing to accept")
        if r.kind == "swap" and r.colleague_id != me:
            raise NotFound(f"no request {request_id} waiting for you")
        if r.kind == "trade":
            _refuse_overlaps(s, tenant, [me], r.start_at, r.end_at, exclude=r.id)
            r.colleague_id = me
        if r.start_at < datetime.now(UTC):
            raise CallopsError(f"request {request_id} has started already")
        before = audit.snapshot(r)
        s.flush()
        audit.record(s, tenant, who.user_name, "people_request.accept", "people_request", r.id, before,
                     audit.snapshot(r))  # fmt: skip
        _settle(s, wh, tenant, r, settings, who.user_name)
        s.flush()
        return request_dict(r, zone)


def decide(store: Store, wh: Warehouse, tenant: str, user_id: int, request_id: int, approve: bool,
           reason: str) -> dict[str, Any]:  # fmt: skip
    """A team lead (of the request's team) approves or refuses a request, with a reason; approval applies it."""
    zone = tenancy.get_tenant(wh, tenant).timezone
    settings = load_settings(tenant_key(tenant))
    reason = (reason or "").strip()
    if not reason:
        raise CallopsError("a decision needs a reason")
    with store.session() as s:
        who = links.person(s, tenant, user_id)
        r = _get(s, tenant, request_id)
        if not (who.role is Role.admin or (who.team is not None and r.team == who.team)):
            raise NotFound(f"no request {request_id} in your team")
        if r.status not in OPEN:
            raise CallopsError(f"request {request_id} is {r.status} already")
        if approve:
            if r.status != "pending_lead":
                raise CallopsError(f"request {request_id} still waits for the colleague; it can only be refused")
            if r.start_at < datetime.now(UTC):
                raise CallopsError(f"request {request_id} has started already; refuse it instead")
            doc, change = evaluate(s, wh, tenant, r.kind, r.agent_id, r.colleague_id, r.start_at, r.end_at,
                                   settings, exclude=r.id)  # fmt: skip
            r.checks = doc
            _apply(s, wh, tenant, r, change, who.user_name, reason)
        else:
            before = audit.snapshot(r)
            r.status, r.decided_by, r.decided_at = "refused", who.user_name, datetime.now(UTC)
            r.decision_reason, r.updated_at = reason, datetime.now(UTC)
            s.flush()
            audit.record(s, tenant, who.user_name, "people_request.refuse", "people_request", r.id, before,
                         audit.snapshot(r))  # fmt: skip
            people = [links.linked_user(s, tenant, r.agent_id),
                      links.linked_user(s, tenant, r.colleague_id) if r.colleague_id else None]
            _notify(s, tenant, r, "refused", people, f"{r.kind} request {r.id} refused by {who.user_name}: {reason}",
                    f"{r.agent_id} 的{_KIND_ZH[r.kind]}申请 {r.id} 被 {who.user_name} 拒绝：{reason}")
        s.flush()
        return request_dict(r, zone)


def list_requests(store: Store, wh: Warehouse, tenant: str, user_id: int, *, team: bool = False,
                  status: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Requests the caller may see: their own and those waiting for them; ``team``: their team's (team leads)."""
    zone = tenancy.get_tenant(wh, tenant).timezone
    with store.session() as s:
        who = links.person(s, tenant, user_id)
        if not team:
            links.require_agent(who)
        elif who.role is not Role.admin and not who.team:
            raise NotFound(f"user {who.user_name!r} has no team (set one with `callops user set-team`)")
        q = scoped(PeopleRequest, tenant)
        if status:
            q = q.where(PeopleRequest.status == status)
        if team and who.role is not Role.admin:
            q = q.where(PeopleRequest.team == who.team)
        rows = s.scalars(q.order_by(PeopleRequest.start_at, PeopleRequest.id))
        if team:
            return [request_dict(r, zone) for r in rows]
        return [request_dict(r, zone) for r in rows if visible(r, who)]
