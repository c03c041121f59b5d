"""Schemathesis over the ``/api/me`` routes as a linked agent and as a team lead (the project-wide fuzz runs as an
admin, who has no agent: mostly 404s there): never a server error, answers as documented."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from self_world import build_template

from callops.api.app import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_and_tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, dict]]:
    """The seeded world behind the API (one copy for the module)."""
    src = tmp_path_factory.mktemp("people-fuzz-template")
    made = build_template(src)
    folder: Path = tmp_path_factory.mktemp("people-fuzz") / "w"
    shutil.copytree(src, folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALLOPS_HOME", str(folder / "home"))
        app = create_app(f"sqlite:///{folder / 'store.sqlite3'}", console=False,
                         warehouse_url=f"duckdb://{folder / 'wh.duckdb'}")  # fmt: skip
        with TestClient(app):
            yield app, made["users"]


@pytest.mark.parametrize("who", ["A01", "lead-alpha"])
def test_me_routes_never_fail(app_and_tokens: tuple, who: str) -> None:
    """Generated requests on every /api/me operation: 2xx or a documented 4xx, never 5xx."""
    app, tokens = app_and_tokens
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ops = [r.ok() for r in schema.get_all_operations()]
    ops = [op for op in ops if op.path.startswith("/api/me/")]
    assert len(ops) == 9
    headers = {"Authorization": f"Bearer {tokens[who][1]}"}
    for op in ops:

        @given(case=op.as_strategy())
        @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)  # fmt: skip
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error, status_code_conformance,
                                                            content_type_conformance])

        try:
            run()
        except Exception as exc:
            raise AssertionError(f"{op.method.upper()} {op.path} as {who}: {exc}") from exc
