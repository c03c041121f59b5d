"""Two safety rules every console page follows (issue 21).

* **Attributes from data go through** :func:`data_attrs`, which sets ``element.props[...]`` item by item. A NiceGUI
  props *string* is parsed (``key="value" other=...``; a ``:key`` is evaluated as JavaScript), so a ``"`` in a
  queue name would close the attribute and add new ones. Values set as items are passed to Vue as plain strings.
* **Every event handler and timer tick re-checks the session** (:func:`guarded`): the token may have been revoked,
  the user disabled or the role changed while the page stayed open. When the check fails the page stops acting,
  the browser session is signed out and sent to the sign-in page.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from callops.store.roles import Permission, allows

E = TypeVar("E")
# Timer ticks run several times a second per open page: their store check is reused for this long.
TICK_RECHECK_S = 2.0


def data_attrs(element: E, **values: object) -> E:
    """Set ``data-<name>`` attributes (``_`` becomes ``-``) from values, never through a props string."""
    props = element.props  # type: ignore[attr-defined]
    for name, value in values.items():
        props[f"data-{name.replace('_', '-')}"] = "" if value is None else str(value)
    return element


def session_allows(ctx: Any, permission: Permission | None) -> bool:
    """Whether ``ctx``'s token is still valid and the user's current role has ``permission``."""
    from callops.ui import session

    role = session.still_valid(ctx.tenant_id, ctx.user_id, ctx.token_id)
    return role is not None and (permission is None or allows(role, permission))


def end_session() -> None:
    """Sign this browser out and send it to the sign-in page (called when a check fails)."""
    from nicegui import ui

    from callops.ui import session

    with contextlib.suppress(Exception):  # outside a request the storage may be gone; navigating still signs out
        session.sign_out()
    ui.navigate.to("/login")


def guarded(
    ctx: Any, permission: Permission | None, fn: Callable[..., Any], *, tick: bool = False
) -> Callable[..., Any]:
    """``fn`` run only while ``ctx``'s session still holds ``permission``; otherwise sign out instead.

    ``tick=True`` (timers): a successful check is reused for :data:`TICK_RECHECK_S` seconds, so a page refreshing
    three times a second costs the store one query every two seconds; a failed check stops the page at once.
    """
    state = {"checked": -1e18, "dead": False}

    def ok() -> bool:
        if state["dead"]:
            return False
        now = time.monotonic()
        if tick and now - state["checked"] < TICK_RECHECK_S:
            return True
        if not session_allows(ctx, permission):
            state["dead"] = True
            end_session()
            return False
        state["checked"] = now
        return True

    if inspect.iscoroutinefunction(fn):

        @wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            if ok():
                return await fn(*args, **kwargs)
            return None

        return run_async

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if ok():
            return fn(*args, **kwargs)
        return None

    return run


def checked(ctx: Any, permission: Permission | None = None, *, tick: bool = False) -> Callable[[Callable], Callable]:
    """Decorator form of :func:`guarded`: ``@checked(ctx, Permission.alerts_act)`` above a handler."""
    return lambda fn: guarded(ctx, permission, fn, tick=tick)
