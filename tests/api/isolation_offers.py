"""Tenant-isolation cases of the offer routes (issue 12: ``/api/offers``, ``/api/offers/train``,
``/api/offers/decisions/{id}/outcome``), registered in :data:`isolation_registry.CASES`.

On top of the value data of ``isolation_value.seeded`` (customers and snapshots of both tenants), each tenant gets
a few days of the simulated hotline's contacts with offers (customer ids ``ACME-…`` / ``BETA-…``) and beta gets
an offer library of its own with an offer ``OF-BETA-ONLY``; beta asks for a few decisions. An acme answer that
mentions beta is a leak.
"""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
from apitest import World
from isolation_registry import acme, beta, case
from isolation_value import seeded as value_seeded

from callops import tenancy
from callops.marketing.offers import forget_library, marketing_dir, shipped_path
from callops.sim.demo import demo_scenario
from callops.sim.records import write_to_warehouse
from callops.sim.runner import run_scenario

BETA_OFFER = "OF-BETA-ONLY"
_SEEDED: dict[int, dict[str, str]] = {}


def _beta_library() -> str:
    text = shipped_path().read_text(encoding="utf-8")
    return text.rstrip("\n") + f"""
  - id: {BETA_OFFER}
    campaign: CDATA-PACK
    product: beta data pack
    unit_price: 20
    channels: [voice]
    guidance:
      offer: {{en: beta pack, zh-CN: beta流量包}}
      phrase: {{en: beta pack for 20, zh-CN: beta流量包20元}}
"""


def seeded(w: World) -> dict[str, str]:
    """Seed once per world; returns {tenant: the id of one of its decisions with an offer}."""
    held = _SEEDED.get(id(w))
    if held is not None:
        return held
    data = value_seeded(w)
    tables = run_scenario(demo_scenario().scaled(0.02, customers=300), 3, seed=9,
                          start_date=date.today() - timedelta(days=3))  # fmt: skip
    res = w.client.app.state.resources
    with res.warehouse_lock:
        wh = res.open_warehouse()
        for name in ("acme", "beta"):
            c = tables["contacts"]
            prefix = "ACME-" if name == "acme" else "BETA-"
            c = c.set_column(c.schema.get_field_index("customer_id"), "customer_id",
                             pc.binary_join_element_wise(pa.scalar(prefix), c.column("customer_id"), ""))  # fmt: skip
            write_to_warehouse(wh, tenancy.get_tenant(wh, name), {"campaigns": tables["campaigns"],
                                                                   "offers": tables["offers"], "contacts": c})
    folder = marketing_dir("beta")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "offers.yaml").write_text(_beta_library(), encoding="utf-8")
    forget_library()
    out = {}
    for name, who in (("acme", acme), ("beta", beta)):
        # the seeded customers all just unsubscribed (care call: no offer); a new customer gets the default
        # strategy and an offer
        for cid in [*data.customers[name], f"{name.upper()}-NEW-1"]:
            d = who(w, "POST", "/api/decide", json={"customer_id": cid, "channel": "voice", "reason": "data_plan"})
            if d.json()["offer"] is not None:
                out[name] = d.json()["offer"]["decision_id"]
                break
    assert set(out) == {"acme", "beta"}, out
    _SEEDED[id(w)] = out
    return out


@case("GET", "/api/offers")
def _offers(w: World) -> None:
    seeded(w)
    a = acme(w, "GET", "/api/offers").json()
    assert BETA_OFFER not in {o["offer_id"] for o in a["offers"]}
    b = beta(w, "GET", "/api/offers").json()
    assert BETA_OFFER in {o["offer_id"] for o in b["offers"]}


@case("POST", "/api/offers/train")
def _train(w: World) -> None:
    seeded(w)
    a = acme(w, "POST", "/api/offers/train").json()
    assert a["tenant"] == "acme" and a["rows"] > 0
    b = beta(w, "POST", "/api/offers/train").json()
    assert b["tenant"] == "beta" and b["version"] >= 1


@case("POST", "/api/offers/decisions/{decision_id}/outcome")
def _outcome(w: World) -> None:
    ids = seeded(w)
    victim = ids["beta"]
    acme(w, "POST", f"/api/offers/decisions/{victim}/outcome", expect=404, sent=victim, json={"outcome": "declined"})
    acme(w, "POST", f"/api/offers/decisions/{ids['acme']}/outcome", json={"outcome": "accepted"})
    got = beta(w, "POST", f"/api/offers/decisions/{victim}/outcome", json={"outcome": "accepted"}).json()
    assert got["outcome"] == "accepted"  # acme's attempt changed nothing it could see, and beta's own works
