"""Schemathesis over the /api/kb operations: whatever the input, a 2xx or a documented 4xx, never a 500."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

pytestmark = pytest.mark.slow


def test_fuzz_kb_routes(client, auth) -> None:
    client.put("/api/kb/articles/seed", json={"title": "停机保号", "phrasings": ["我要停机"]},
               headers=auth("t1", "admin"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith("/api/kb")]
    assert len(operations) >= 15
    checks = [not_a_server_error, status_code_conformance, content_type_conformance]
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=auth("t1", "admin"), checks=checks)

        try:
            run()
        except Exception as exc:
            raise AssertionError(f"{op.method.upper()} {op.path}: {exc}") from exc
