"""Tenant-isolation cases of the campaign routes (issue 12: ``/api/campaigns…``), registered in
:data:`isolation_registry.CASES`.

The world has no marketing data, so :func:`seeded` loads, once per world and through ingest, each tenant's own
campaigns, offers and 40 handled contacts with offers (May 2025, far from the other domains' March 2026
contacts). beta's campaign and offer ids contain "beta" (``BETA-CAMP``, ``BETA-OFFER``); acme's are ``ACME-…``,
so an acme answer that mentions beta is a leak. acme and beta have different numbers of accepted offers, so a
count taken over both tenants would show.
"""

from __future__ import annotations

from apitest import World
from isolation_registry import acme, beta, case

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.store.roles import Role

CAMPAIGN = {"acme": "ACME-CAMP", "beta": "BETA-CAMP"}
ACCEPTED = {"acme": 3, "beta": 7}
N = 40
_seeded: set[str] = set()  # world homes already seeded


def _csvs(tenant: str) -> dict[str, str]:
    p = tenant.upper()
    contacts = ["contact_id,queue,channel,direction,offered_at,answered_at,ended_at,talk_s,acw_s,outcome,"
                "offer_id,offer_result,revenue"]
    for i in range(N):
        day, hour = 2 + i % 27, 12 + i % 10  # midday in Shanghai, morning in Paris (beta): May in both zones
        at = f"2025-05-{day:02d}T{hour}:00:00+08:00"
        ans = f"2025-05-{day:02d}T{hour}:00:10+08:00"
        end = f"2025-05-{day:02d}T{hour}:05:00+08:00"
        if i % 2:  # no offer: the baseline
            contacts.append(f"{p}-CT{i:03d},{tenant}-q,voice,inbound,{at},{ans},{end},200,20,answered,,,")
        else:
            ok = i // 2 < ACCEPTED[tenant]
            contacts.append(f"{p}-CT{i:03d},{tenant}-q,voice,inbound,{at},{ans},{end},260,30,answered,"
                            f"{p}-OFFER,{'accepted' if ok else 'declined'},{50 if ok else 0}")
    return {
        "campaigns": "campaign_id,name,product,start_date,end_date,importance,difficulty\n"
                     f"{CAMPAIGN[tenant]},{tenant} spring,{tenant}-plan,2025-05-01,2025-05-31,0.5,0.5\n",
        "offers": "offer_id,campaign_id,product,unit_price,commission,channel_fit\n"
                  f"{p}-OFFER,{CAMPAIGN[tenant]},{tenant}-plan,50,5,voice\n",
        "contacts": "\n".join(contacts) + "\n",
    }


def seeded(w: World) -> None:
    """Load both tenants' campaigns, offers and contacts once per world."""
    if str(w.home) in _seeded:
        return
    res = w.client.app.state.resources
    with res.warehouse_lock:
        wh = res.open_warehouse()
        for tenant in CAMPAIGN:
            t = tenancy.get_tenant(wh, tenant)
            for table, text in _csvs(tenant).items():
                path = w.home / f"campaigns-{tenant}-{table}.csv"
                path.write_text(text, encoding="utf-8")
                s = load_files(wh, t, table, [path], load_mapping("canonical", table))
                assert s.rejected == 0 and s.read > 0, s
    _seeded.add(str(w.home))


PERIOD = {"from": "2025-05-01", "to": "2025-05-31"}


@case("GET", "/api/campaigns")
def _list(w: World) -> None:
    seeded(w)
    a = acme(w, "GET", "/api/campaigns", params=PERIOD).json()
    assert [c["campaign_id"] for c in a["campaigns"]] == ["ACME-CAMP"]
    assert a["campaigns"][0]["accepted"] == ACCEPTED["acme"]
    b = beta(w, "GET", "/api/campaigns", params=PERIOD).json()
    assert [c["campaign_id"] for c in b["campaigns"]] == ["BETA-CAMP"]
    assert b["campaigns"][0]["accepted"] == ACCEPTED["beta"], b


@case("GET", "/api/campaigns/service-vs-marketing")
def _service_marketing(w: World) -> None:
    seeded(w)
    a = acme(w, "GET", "/api/campaigns/service-vs-marketing", params=PERIOD).json()
    b = beta(w, "GET", "/api/campaigns/service-vs-marketing", params=PERIOD).json()
    assert a["measured"]["marketing_success_rate"] == ACCEPTED["acme"] / (N // 2)
    assert b["measured"]["marketing_success_rate"] == ACCEPTED["beta"] / (N // 2)


@case("GET", "/api/campaigns/{campaign_id}")
def _one(w: World) -> None:
    seeded(w)
    acme(w, "GET", "/api/campaigns/BETA-CAMP", expect=404, sent="BETA-CAMP", params=PERIOD)
    own = acme(w, "GET", "/api/campaigns/ACME-CAMP", params=PERIOD).json()
    assert own["campaign"]["accepted"] == ACCEPTED["acme"]
    got = beta(w, "GET", "/api/campaigns/BETA-CAMP", params=PERIOD).json()
    assert got["campaign"]["accepted"] == ACCEPTED["beta"]


@case("POST", "/api/campaigns/{campaign_id}/pause")
def _pause(w: World) -> None:
    seeded(w)
    acme(w, "POST", "/api/campaigns/BETA-CAMP/pause", expect=404, sent="BETA-CAMP", json={"reason": "mine now"})
    state = beta(w, "GET", "/api/campaigns", params=PERIOD).json()["campaigns"][0]["state"]
    assert state == "active"  # acme's pause did not reach beta's campaign
    assert acme(w, "POST", "/api/campaigns/ACME-CAMP/pause", json={"reason": "acme test"}).json()["state"] == \
        "paused"
    assert beta(w, "GET", "/api/campaigns", params=PERIOD).json()["campaigns"][0]["state"] == "active"
    acme(w, "POST", "/api/campaigns/ACME-CAMP/pause", role=Role.analyst, expect=403, json={"reason": "x"})


@case("POST", "/api/campaigns/{campaign_id}/resume")
def _resume(w: World) -> None:
    seeded(w)
    beta(w, "POST", "/api/campaigns/BETA-CAMP/pause", json={"reason": "beta pauses"})
    acme(w, "POST", "/api/campaigns/BETA-CAMP/resume", expect=404, sent="BETA-CAMP", json={"reason": "mine now"})
    assert beta(w, "GET", "/api/campaigns", params=PERIOD).json()["campaigns"][0]["state"] == "paused"
    acme(w, "POST", "/api/campaigns/ACME-CAMP/resume", json={"reason": "acme resumes"})
    beta(w, "POST", "/api/campaigns/BETA-CAMP/resume", json={"reason": "beta resumes"})
