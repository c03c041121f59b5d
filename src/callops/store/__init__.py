"""The operational store: users, tokens, views, alert rules, plans, alerts, notification outbox and audit log.

SQLite under ``$CALLOPS_HOME/store.sqlite3`` by default, PostgreSQL with
``CALLOPS_STORE_URL=postgresql+psycopg://...``. Open it with :class:`Store` (which brings the schema to
the newest migration), work in ``with store.session() as s:`` blocks, and use the repository
modules, which all take the tenant explicitly:

* :mod:`~callops.store.tenants` — the mirror of the warehouse tenants (:func:`sync_tenants`)
* :mod:`~callops.store.users` — users, roles, API tokens, :func:`~callops.store.users.authenticate`
* :mod:`~callops.store.views` — saved console views
* :mod:`~callops.store.documents` — versioned alert rules and contingency plans (YAML + JSON)
* :mod:`~callops.store.alerts` — alerts, level history, acknowledgement, resolution
* :mod:`~callops.store.outbox` — durable notifications (enqueue / claim_due / mark_sent / mark_failed)
* :mod:`~callops.store.audit` — who changed what

Tenant-owned rows are read only through :func:`callops.store.scoping.scoped`.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callops.store.db import Store, store_url
    from callops.store.migrate import upgrade_to_head

# sync_tenants lives in callops.store.tenants (it imports the warehouse; migrations must not need it)
__all__ = ["Store", "store_url", "upgrade_to_head"]


def __getattr__(name: str) -> Any:
    """Import SQLAlchemy only when the store is used, so CLI start-up stays fast."""
    if name in ("Store", "store_url"):
        from callops.store import db

        return getattr(db, name)
    if name == "upgrade_to_head":
        from callops.store.migrate import upgrade_to_head

        return upgrade_to_head
    raise AttributeError(name)
