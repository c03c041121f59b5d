"""The platform's demo step: shared views pinned to the director's home board and a saved, replayed rule; a
second run adds nothing."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from callops.demo import ensure_demo_tenant, load_sample
from callops.store.db import Store
from callops.store.users import Principal, get_user_by_name
from callops.views import demo, service
from callops.warehouse import Warehouse


def test_demo_step(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    monkeypatch.delenv("CALLOPS_STORE_URL", raising=False)
    out = io.StringIO()
    with Warehouse() as wh:
        load_sample(wh, ensure_demo_tenant(wh))
        demo.run(wh, Console(file=out, width=200))
        demo.run(wh, Console(file=out, width=200))
    text = out.getvalue()
    assert text.count("views: 2 shared") == 2 and "alert rule abandon_daily (v1" in text, text
    with Store() as st, st.session() as s:
        user = get_user_by_name(s, "demo", "director")
        who = Principal("demo", user.id, user.name, user.role, 0)
        assert [v.name for v in service.list_visible(s, who)] == sorted(n for n, _ in demo.VIEWS)
        assert [t["w"] for t in service.home_board(s, who)["tiles"]] == [12, 6]
