"""HR cases raised by attendance rules (issue 19, part 4).

Rules are YAML (``default_hr_rules.yaml``; a tenant's own copy in ``$CALLOPS_HOME/tenants/<t>/hr_rules.yaml``):
an attendance event (late start, early leaving, absence), how many days of it in one local calendar window
(month or ISO week) and who owns the case. :func:`fire_rules` counts the flagged days of
:func:`callops.people.attendance.attendance_report` per agent and window; each (agent, rule, window) that reaches
the count gets one case (re-running never duplicates it: the store's unique key). Cases have an owner and a
status (open -> in_progress -> closed or dismissed) that people update, audited.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from callops.errors import CallopsError
from callops.settings import tenant_file
from callops.store import audit
from callops.store.db import Store
from callops.store.models_floor import CaseStatus, HrCase
from callops.store.scoping import get_owned, scoped


class HrRule(BaseModel):
    """One rule: ``count`` days of ``event`` within one ``window`` open a case owned by ``owner``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    label: dict[Literal["en", "zh-CN"], str] = Field(default_factory=dict)
    event: Literal["late", "early_leave", "absence"]
    count: int = Field(ge=1, le=31)
    window: Literal["month", "week"] = "month"
    owner: str = Field("team_lead", min_length=1, max_length=200)


class HrRuleFile(BaseModel):
    """``rules: [...]`` with unique ids."""

    model_config = ConfigDict(extra="forbid")
    rules: list[HrRule]

    @model_validator(mode="after")
    def _unique(self) -> HrRuleFile:
        ids = [r.id for r in self.rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate rule ids: {', '.join(dup)}")
        return self


def parse_rules(text: str, label: str = "hr_rules.yaml") -> list[HrRule]:
    """Rules from YAML text; a CallopsError naming the place of the first problem."""
    try:
        data = yaml.safe_load(text)
        return HrRuleFile.model_validate(data).rules
    except yaml.YAMLError as exc:
        raise CallopsError(f"{label}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in e["loc"]) or "rules"
        raise CallopsError(f"{label}: {where}: {e['msg'].removeprefix('Value error, ')}") from None


def rules_path(tenant: str) -> Path:
    """Where a tenant's own rules live."""
    return tenant_file(tenant, "hr_rules.yaml")


def load_rules(tenant: str | None = None) -> list[HrRule]:
    """The tenant's rules, else the packaged defaults."""
    if tenant is not None and rules_path(tenant).exists():
        p = rules_path(tenant)
        return parse_rules(p.read_text(encoding="utf-8"), str(p))
    text = (resources.files("callops.people") / "default_hr_rules.yaml").read_text(encoding="utf-8")
    return parse_rules(text, "default_hr_rules.yaml")


def window_of(day: date, window: str) -> str:
    """The window key of a local day: ``2026-12`` (month) or ``2026-W49`` (ISO week)."""
    if window == "month":
        return f"{day.year:04d}-{day.month:02d}"
    y, w, _ = day.isocalendar()
    return f"{y:04d}-W{w:02d}"


def matches(rules: list[HrRule], incidents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases ``rules`` raise on attendance ``incidents`` (pure): one per (agent, rule, window) at the count."""
    counted: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for rule in rules:
        for inc in incidents:
            if inc["kind"] == rule.event:
                counted[(inc["agent_id"], rule.id, window_of(date.fromisoformat(inc["day"]), rule.window))].append(inc)
    by_id = {r.id: r for r in rules}
    out = []
    for (aid, rid, period), incs in sorted(counted.items()):
        rule = by_id[rid]
        if len(incs) < rule.count:
            continue
        team = incs[0].get("team")
        owner = f"team_lead:{team or 'unassigned'}" if rule.owner == "team_lead" else rule.owner
        days = sorted(i["day"] for i in incs)
        out.append({"agent_id": aid, "team": team, "rule": rid, "period": period, "owner": owner,
                    "summary": f"{rule.label.get('en', rid)}: {len(incs)} in {period} ({', '.join(days)})",
                    "evidence": {"days": days, "count": len(incs), "needed": rule.count, "event": rule.event,
                                 "label": rule.label}})  # fmt: skip
    return out


def case_dict(c: HrCase) -> dict[str, Any]:
    """JSON-ready case."""
    return {"id": c.id, "agent_id": c.agent_id, "team": c.team, "rule": c.rule, "period": c.period,
            "owner": c.owner, "status": c.status, "summary": c.summary, "evidence": c.evidence, "note": c.note,
            "created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat()}  # fmt: skip


def open_cases(store: Store, tenant: str, found: list[dict[str, Any]], actor: str) -> dict[str, Any]:
    """Store the cases ``found`` that are new (audited); how many were new and which."""
    new = []
    with store.session() as s:
        for f in found:
            exists = s.scalars(scoped(HrCase, tenant).where(HrCase.agent_id == f["agent_id"],
                                                            HrCase.rule == f["rule"],
                                                            HrCase.period == f["period"])).first()  # fmt: skip
            if exists is not None:
                continue
            row = HrCase(tenant_id=tenant, status=CaseStatus.open.value, **f)
            s.add(row)
            s.flush()
            audit.record(s, tenant, actor, "floor.hr_case.open", "floor_hr_case", row.id, None,
                         {"agent_id": row.agent_id, "rule": row.rule, "period": row.period})
            new.append(case_dict(row))
    return {"found": len(found), "new": len(new), "cases": new}


def fire_rules(store: Store, wh: Any, tenant: str, start: date, end: date, actor: str) -> dict[str, Any]:
    """Evaluate the tenant's HR rules on the attendance of ``[start, end]`` and open the cases they raise."""
    from callops.people.attendance import attendance_report
    from callops.people.floor_settings import load_settings

    cfg = load_settings(tenant).attendance
    rep = attendance_report(wh, tenant, start, end, cfg.late_grace_s, cfg.early_grace_s)
    return open_cases(store, tenant, matches(load_rules(tenant), rep["incidents"]), actor)


def list_cases(store: Store, tenant: str, status: str | None = None, team: str | None = None,
               agent_id: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The tenant's cases, newest first (filtered by status, team, agent)."""
    if status is not None and status not in CaseStatus.__members__:
        raise CallopsError(f"status {status!r} is not one of {', '.join(CaseStatus)}")
    with store.session() as s:
        q = scoped(HrCase, tenant)
        if status:
            q = q.where(HrCase.status == status)
        if team:
            q = q.where(HrCase.team == team)
        if agent_id:
            q = q.where(HrCase.agent_id == agent_id)
        return [case_dict(c) for c in s.scalars(q.order_by(HrCase.id.desc())).all()]


def update_case(store: Store, tenant: str, case_id: int, actor: str, status: str | None = None,
                owner: str | None = None, note: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Change a case's status, owner or note (audited); 404 for another tenant's case."""
    if status is not None and status not in CaseStatus.__members__:
        raise CallopsError(f"status {status!r} is not one of {', '.join(CaseStatus)}")
    if owner is not None and not (0 < len(owner.strip()) <= 200):
        raise CallopsError("owner must be 1 to 200 characters")
    with store.session() as s:
        c = get_owned(s, HrCase, tenant, case_id)
        before = {"status": c.status, "owner": c.owner, "note": c.note}
        if c.status in ("closed", "dismissed") and status not in (None, "open", c.status):
            raise CallopsError(f"case {case_id} is {c.status}; reopen it first")
        if status is not None:
            c.status = status
        if owner is not None:
            c.owner = owner.strip()
        if note is not None:
            c.note = note
        c.updated_at = datetime.now(UTC)
        audit.record(s, tenant, actor, "floor.hr_case.update", "floor_hr_case", c.id, before,
                     {"status": c.status, "owner": c.owner, "note": c.note})
        return case_dict(c)


__all__ = ["HrRule", "fire_rules", "list_cases", "load_rules", "matches", "open_cases", "parse_rules",
           "update_case"]
