"""Campaign states in the store: which campaigns are paused, and the audited pause / resume of one.

The decision at contact time asks :func:`paused_campaign_ids` (one indexed SELECT of the tenant's paused
rows; callers may cache the answer up to 60 s, which is how "out of decisions within a minute" is met).
:func:`pause` and :func:`resume` change a campaign's state in one transaction together with its audit
entry and, for a pause, the notification in the outbox, so the three never disagree.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from callops.errors import CallopsError
from callops.store import audit, outbox
from callops.store.db import Store, store_url
from callops.store.models import utcnow
from callops.store.models_campaigns import CampaignEventKind, CampaignState, CampaignStateEvent, CampaignStateRow
from callops.store.scoping import scoped, tenant_key

OBJECT_TYPE = "campaign"
MAX_REASON = 2000

_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def _default_store() -> Store:
    """One store per URL for this process (no migration run: the decision path must stay cheap)."""
    url = store_url()
    with _stores_lock:
        st = _stores.get(url)
        if st is None:
            st = _stores[url] = Store(url, upgrade=False)
        return st


def paused_campaign_ids(tenant: Any, store: Store | Session | None = None) -> frozenset[str]:
    """The ids of ``tenant``'s paused campaigns (a name, a warehouse or a store tenant).

    ``store`` is an open :class:`Store`, a session, or None for the process's store at
    ``$CALLOPS_STORE_URL`` / ``$CALLOPS_HOME``. A store not yet migrated to the campaigns revision has no
    paused campaign, so it answers the empty set instead of failing the decision.
    """
    q = (
        scoped(CampaignStateRow, tenant)
        .where(CampaignStateRow.state == CampaignState.paused.value)
        .with_only_columns(CampaignStateRow.campaign_id)
    )
    try:
        if isinstance(store, Session):
            return frozenset(store.scalars(q))
        st = store if store is not None else _default_store()
        with st.engine.connect() as conn:
            return frozenset(conn.scalars(q))
    except (OperationalError, ProgrammingError):  # the table does not exist yet: nothing was ever paused
        return frozenset()


def state_of(session: Session, tenant: Any, campaign_id: str) -> CampaignStateRow | None:
    """The state row of one campaign (None: never paused, so active)."""
    return session.scalars(scoped(CampaignStateRow, tenant).where(CampaignStateRow.campaign_id == campaign_id)
                           ).one_or_none()


def states(session: Session, tenant: Any) -> dict[str, CampaignStateRow]:
    """Every state row of the tenant by campaign id."""
    return {r.campaign_id: r for r in session.scalars(scoped(CampaignStateRow, tenant))}


def history(session: Session, tenant: Any, campaign_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The campaign's pauses and resumes, newest first."""
    q = (
        scoped(CampaignStateEvent, tenant)
        .where(CampaignStateEvent.campaign_id == campaign_id)
        .order_by(CampaignStateEvent.at.desc(), CampaignStateEvent.id.desc())
        .limit(limit)
    )
    return [
        {"kind": e.kind, "automatic": e.automatic, "actor": e.actor, "reason": e.reason,
         "evidence": e.evidence, "at": e.at.isoformat()}
        for e in session.scalars(q)
    ]


def _change(session: Session, tenant: Any, campaign_id: str, kind: CampaignEventKind, *, actor: str,
            reason: str, automatic: bool, evidence: dict[str, Any], now: datetime) -> bool:
    reason = (reason or "").strip()
    if not reason:
        verb = "pause" if kind is CampaignEventKind.paused else "resume"
        raise CallopsError(f"a {verb} of campaign {campaign_id!r} needs a reason")
    if len(reason) > MAX_REASON:
        raise CallopsError(f"the reason is longer than {MAX_REASON} characters")
    new_state = CampaignState.paused if kind is CampaignEventKind.paused else CampaignState.active
    row = state_of(session, tenant, campaign_id)
    if row is not None and row.state == new_state.value:
        return False  # already there: no second audit entry or notification
    before = audit.snapshot(row)
    if row is None:
        row = CampaignStateRow(tenant_id=tenant_key(tenant), campaign_id=campaign_id)
        session.add(row)
    row.state = new_state.value
    row.automatic = automatic
    row.reason = reason
    row.changed_by = actor
    row.changed_at = now
    session.add(CampaignStateEvent(tenant_id=tenant_key(tenant), campaign_id=campaign_id, kind=kind.value,
                                   automatic=automatic, actor=actor, reason=reason, evidence=evidence, at=now))
    session.flush()
    action = "campaign.pause" if kind is CampaignEventKind.paused else "campaign.resume"
    audit.record(session, tenant_key(tenant), actor, action, OBJECT_TYPE, campaign_id, before=before,
                 after=audit.snapshot(row))
    return True


def pause(session: Session, tenant: Any, campaign_id: str, *, actor: str, reason: str, automatic: bool = False,
          evidence: dict[str, Any] | None = None, now: datetime | None = None) -> bool:
    """Pause a campaign (audited, with an in-app notification); False if it was already paused."""
    now = now or utcnow()
    changed = _change(session, tenant, campaign_id, CampaignEventKind.paused, actor=actor, reason=reason,
                      automatic=automatic, evidence=evidence or {}, now=now)
    if changed:
        outbox.enqueue(session, tenant_key(tenant), "inapp", f"campaign-paused:{campaign_id}:{now.isoformat()}", {
            "kind": "campaign_paused", "campaign_id": campaign_id, "automatic": automatic, "actor": actor,
            "reason": reason, "evidence": evidence or {}, "at": now.isoformat(),
        })
    return changed


def resume(session: Session, tenant: Any, campaign_id: str, *, actor: str, reason: str,
           now: datetime | None = None) -> bool:
    """Resume a paused campaign, giving a reason (audited); False if it was not paused."""
    return _change(session, tenant, campaign_id, CampaignEventKind.resumed, actor=actor, reason=reason,
                   automatic=False, evidence={}, now=now or utcnow())

