"""The web console (NiceGUI on the API's FastAPI app): TOP indicators, trends, live wallboard, alerts and plans,
workforce, metric reference. :func:`mount` adds it to an app; every asset is served from the installed packages
(machines are offline). See ``docs/console.md``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

SECRET_ENV = "CALLOPS_CONSOLE_SECRET"


def storage_secret(home: Path) -> str:
    """The session-cookie secret: ``$CALLOPS_CONSOLE_SECRET``, else one generated once under ``home/console``."""
    value = os.environ.get(SECRET_ENV)
    if value:
        return value
    path = home / "console" / "secret"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(value)
    return value


def mount(app: Any) -> None:
    """Serve the console from ``app`` (a FastAPI app; its ``state.resources`` gives the store and warehouse)."""
    from nicegui import ui
    from nicegui.storage import Storage

    from callops.settings import callops_home
    from callops.ui import session

    home = callops_home()
    # NiceGUI keeps user storage (principal ids and language, never tokens) on disk: keep it in our home.
    Storage.path = home / "console"
    resources = getattr(app.state, "resources", None)
    if resources is None:  # an app without the API's resources (scratch apps)
        from callops.api.deps import Resources

        resources = app.state.resources = Resources()
    session.HOLDER.resources = resources
    # Importing the page modules registers their routes with NiceGUI.
    from callops.ui import (  # noqa: F401
        pages_alerts,
        pages_campaigns,
        pages_floor,
        pages_journey,
        pages_knowledge,
        pages_live,
        pages_me,
        pages_offers,
        pages_quality,
        pages_reference,
        pages_requests,
        pages_rules,
        pages_top,
        pages_trends,
        pages_value,
        pages_views,
        pages_wfm,
    )

    ui.run_with(
        app,
        title="callops",
        storage_secret=storage_secret(home),
        favicon="📞",
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )
