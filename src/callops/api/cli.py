"""``callops serve``: run the API (and the console, when installed) with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    console: Annotated[bool, typer.Option("--console/--no-console", help="Also serve the web console.")] = True,
    land: Annotated[bool, typer.Option("--land/--no-land", help="Land live days in the warehouse (the hubs this "
                                       "process serves and the logs its cluster members write).")] = True,
) -> None:
    """Serve the HTTP API (docs at /docs, Prometheus at /metrics) over the store and warehouse of CALLOPS_HOME."""
    import uvicorn

    from callops.api.app import create_app
    from callops.realtime.landing import MEMBERS_THREAD, land_member_logs, land_served_hubs

    app = create_app(console=console)
    stop_landing = land_served_hubs(app.state.resources) if land else None  # events posted to the live hub
    stop_members = land_member_logs(app.state.resources) if land else None  # logs cluster members write here
    from callops.knowledge.push import push_hot_topics

    stop_push = push_hot_topics(app.state.resources)  # knowledge hot topics, every CALLOPS_KB_HOT_INTERVAL_S
    from callops.api.routers.health import watch_background

    watch_background(app, landing=land, names=("kb-hot-push", MEMBERS_THREAD))  # /readyz: these threads stay alive
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        stop_push()
        if stop_landing is not None:
            stop_landing()
        if stop_members is not None:
            stop_members()
