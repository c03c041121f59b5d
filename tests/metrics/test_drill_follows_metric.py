"""Drill-down follows the metric (issue 16): the contacts behind a number are those its own filter counts.

Expected sets are worked out here from the bundled sample file with the catalog's documented defaults
(T = 20 s, short abandons S = 0, service level = answered within T / (answered + abandoned)), not from the
loader or the compiler. Checked through the trends page's drill and the ``/api/contacts`` drill alike.
"""

from __future__ import annotations

import csv
import gzip
from datetime import date, datetime

import pytest

from callops.demo import ensure_demo_tenant, load_sample, sample_path
from callops.ui.pages_trends import drill_contacts
from callops.warehouse import Warehouse

DAY = "2026-03-05"


@pytest.fixture(scope="module")
def sample_wh(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALLOPS_HOME", str(tmp_path_factory.mktemp("drill-metric")))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        mp.delenv("CALLOPS_STORE_URL", raising=False)
        with Warehouse() as wh:
            load_sample(wh, ensure_demo_tenant(wh))
            yield wh


def _day_rows() -> list[dict]:
    with gzip.open(sample_path("contacts.csv.gz"), "rt", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        try:
            at = datetime.fromisoformat(r["offered_at"])
        except ValueError:
            continue  # the sample's deliberately broken rows do not load
        if at.date().isoformat() == DAY and at.utcoffset().total_seconds() == 8 * 3600:
            out.append(r)
    return out


def _wait(r: dict) -> float:
    return float(r["wait_s"] or 0)


def _ids(wh: Warehouse, metric: str | None) -> set[str]:
    rows = drill_contacts(wh, "demo", "day", date.fromisoformat(DAY), None, None, metric)
    assert len(rows) < 200, "the expected sets fit under the drill cap"
    return {r["contact_id"] for r in rows}


def test_abandon_rate_drills_to_the_abandoned(sample_wh: Warehouse) -> None:
    rows = _day_rows()
    want = {r["contact_id"] for r in rows if r["direction"] == "inbound" and r["outcome"] == "abandoned"}
    assert want
    assert _ids(sample_wh, "abandon_rate") == want
    assert _ids(sample_wh, "contacts_abandoned") == want  # the count drills to the same rows


def test_service_level_drills_to_the_late(sample_wh: Warehouse) -> None:
    rows = _day_rows()
    inbound = [r for r in rows if r["direction"] == "inbound"]
    counted = [r for r in inbound if r["answered_at"] or r["outcome"] == "abandoned"]  # the denominator
    want = {r["contact_id"] for r in counted if not (r["answered_at"] and _wait(r) <= 20)}
    assert want and len(want) < len(counted)
    got = _ids(sample_wh, "service_level")
    assert got == want
    assert all(not (r["answered_at"] and _wait(r) <= 20) for r in rows if r["contact_id"] in got)


def test_api_contacts_take_the_metric(sample_wh: Warehouse) -> None:
    """The API's drill answers the same contacts (and an unknown metric is a 404 naming close ids)."""
    from fastapi.testclient import TestClient

    from callops.api.app import create_app
    from callops.store import Store
    from callops.store.users import create_user

    sample_wh.close()  # the app opens the warehouse file itself
    with Store() as st, st.session() as s:
        _, token = create_user(s, "demo", "ana", "analyst", actor="tests")
    want = {r["contact_id"] for r in _day_rows() if r["direction"] == "inbound" and r["outcome"] == "abandoned"}
    with TestClient(create_app(console=False), raise_server_exceptions=False) as client:
        h = {"Authorization": f"Bearer {token}"}
        r = client.get("/api/contacts", params={"from": DAY, "to": DAY, "metric": "abandon_rate",
                                                "page_size": 1000}, headers=h)  # fmt: skip
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(want) and {c["contact_id"] for c in r.json()["contacts"]} == want
        r = client.get("/api/contacts", params={"metric": "abandon_rat"}, headers=h)
        assert r.status_code == 404 and "abandon_rate" in r.json()["detail"]
