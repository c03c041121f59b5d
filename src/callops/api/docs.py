"""``/docs``: Swagger UI from files shipped in the package (the machines are offline: no CDN).

The assets are swagger-ui-dist 5 (``static/swagger-ui/VERSION``), which renders FastAPI's OpenAPI 3.1.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
ASSETS = "/api/_static"


def install(app: FastAPI) -> None:
    """Serve the packaged Swagger UI at ``/docs`` and its assets under ``/api/_static``."""
    app.mount(ASSETS, StaticFiles(directory=STATIC_DIR), name="api-static")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        """Interactive API reference (use "Authorize" with an API token)."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — docs",
            swagger_js_url=f"{ASSETS}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/swagger-ui/favicon-32x32.png",
        )
