"""A small QA world for tests: contacts and evaluations of two months, loaded through ingest (canonical CSVs)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.sim.quality import simulate_panel
from callops.warehouse import Warehouse

ITEMS = (("greeting", 10), ("identity_check", 10), ("needs_analysis", 20), ("solution", 30), ("compliance", 20),
         ("closing", 10))  # fmt: skip
MONTHS = ("2026-10", "2026-11")


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def build(wh: Warehouse, tmp: Path, tenant: str = "qa", *, seed: int = 1, agents: int = 12,
          bad_item: bool = False) -> dict:  # fmt: skip
    """Create ``tenant`` with two months of contacts (60 per agent per month) and evaluations from
    :func:`simulate_panel` (scores split over the hotline form's items); returns the panel (its truth)."""
    ten = tenancy.create_tenant(wh, tenant)
    panel = simulate_panel(agents, 4, seed=seed, periods=2, min_n=3, max_n=20)
    rng = np.random.default_rng(seed)
    contacts, evals = [], []
    used: dict[tuple[str, int], int] = {}
    for month in MONTHS:
        for a in panel["levels"]:
            for j in range(60):
                cid = f"{tenant}-{month}-{a}-{j:03d}"
                day = 1 + j % 28
                chan = "voice" if j % 3 else "chat"
                biz = "complaint" if j % 17 == 0 else "billing"
                talk = float(rng.uniform(60, 1200))
                csat = "" if j % 4 else str(int(rng.integers(1, 6)))
                contacts.append([cid, chan, "inbound", f"C{rng.integers(0, 400)}", biz,
                                 f"{month}-{day:02d}T10:00:00+08:00", f"{month}-{day:02d}T10:00:30+08:00",
                                 f"{month}-{day:02d}T10:20:00+08:00", talk, "answered", a, csat,
                                 "hotline"])  # fmt: skip
    for r in panel["rows"]:
        month = MONTHS[r["period"]]
        k = used.get((r["agent_id"], r["period"]), 0)
        used[(r["agent_id"], r["period"])] = k + 1
        cid = f"{tenant}-{month}-{r['agent_id']}-{k:03d}"
        day = 1 + k % 28
        frac = r["score"] / 100.0
        for item, points in ITEMS:
            evals.append([r["evaluation_id"], item, cid, r["agent_id"], r["evaluator"],
                          f"{month}-{day:02d}T15:00:00+08:00", round(frac * points, 3), points, 1.0])  # fmt: skip
    if bad_item:
        evals.append(["BAD-1", "smile", contacts[0][0], contacts[0][10], "qa00", f"{MONTHS[1]}-02T15:00:00+08:00", 5,
                      10, 1.0])  # fmt: skip
    c_path = _write(tmp / "contacts.csv", ["contact_id", "channel", "direction", "customer_id", "business_type",
                                           "offered_at", "answered_at", "ended_at", "talk_s", "outcome", "agent_id",
                                           "csat", "queue"], contacts)  # fmt: skip
    e_path = _write(tmp / "qa.csv", ["evaluation_id", "item", "contact_id", "agent_id", "evaluator", "evaluated_at",
                                     "score", "max_score", "weight"], evals)  # fmt: skip
    for table, path in (("contacts", c_path), ("qa_evaluations", e_path)):
        s = load_files(wh, ten, table, [path], load_mapping("canonical", table))
        assert s.rejected == 0, s
    return panel
