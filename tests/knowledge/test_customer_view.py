"""Suggestions on the customer view: the customer's last contact (by time, tenant-scoped) and the articles for
its reason, recorded as suggested for that contact."""

from __future__ import annotations

import json
from pathlib import Path

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.knowledge import assist, service
from callops.warehouse import Warehouse

ARTICLES = [
    {"id": "bill-dispute", "title": "Disputing a bill", "body": "How to dispute a charge on your bill.",
     "phrasings": ["my bill is wrong", "billing error"], "tags": ["billing"], "audiences": ["agent"],
     "language": "en", "state": "published"},
    {"id": "broadband-down", "title": "Broadband outage", "body": "Restart the router; check the outage map.",
     "phrasings": ["internet not working"], "tags": ["broadband"], "audiences": ["agent"], "language": "en",
     "state": "published"},
]  # fmt: skip


def _contacts(path: Path, tenant: str) -> Path:
    rows = ["contact_id,channel,direction,customer_id,business_type,offered_at,outcome,queue",
            f"{tenant}-c1,voice,inbound,CUST-1,broadband,2026-11-02T09:00:00+08:00,answered,q",
            f"{tenant}-c2,voice,inbound,CUST-1,billing,2026-11-05T09:00:00+08:00,answered,q",  # the last one
            f"{tenant}-c3,voice,inbound,CUST-1,broadband,2026-11-03T09:00:00+08:00,answered,q"]  # fmt: skip
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_last_contact_reason_drives_the_suggestions(world: dict, tmp_path: Path) -> None:
    store = world["store"]
    src = tmp_path / "kb.jsonl"
    src.write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n", encoding="utf-8")
    assert not service.import_file(store, "t1", src, "tester").rejected
    with Warehouse(world["wh_url"]) as wh:
        load_files(wh, tenancy.get_tenant(wh, "t1"), "contacts", [_contacts(tmp_path / "t1.csv", "t1")],
                   load_mapping("canonical", "contacts"))  # fmt: skip
        last = assist.last_contact(wh, "t1", "CUST-1")
        assert (last["contact_id"], last["business_type"]) == ("t1-c2", "billing")
        got = assist.for_customer(wh, store, "t1", "CUST-1", actor="mei")
        assert got["hits"][0].key == "bill-dispute"
        # the same customer id in another tenant has no contact there: nothing is suggested from t1's data
        assert assist.for_customer(wh, store, "t10", "CUST-1") == {"customer_id": "CUST-1", "contact": None,
                                                                   "hits": []}  # fmt: skip
        assert assist.for_customer(wh, store, "t1", "NOBODY")["hits"] == []
    use = assist.usage(store, "t1")
    assert use["contacts_with_suggestions"] == 1  # recorded for t1-c2, so the link rate counts it
