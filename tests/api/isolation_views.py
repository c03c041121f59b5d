"""Tenant-isolation cases of the saved views, home board and indicator alert rule routes (``/api/views``,
``/api/home``, ``/api/rules``), registered in :data:`isolation_registry.CASES`.

The world has no views or rules, so :func:`seeded` makes them once per world, through the API as each tenant's
own users: beta's admin shares a view with the whole tenant and pins it on the home board, beta's analyst keeps a
private one, beta's director saves two versions of rule ``abandon`` (a name acme may use too) and a rule
``beta-queue-watch``; acme gets a shared view on its board and a rule of its own. Every beta name and text
contains "beta", and beta's views run over its March contacts (queue ``beta-q``), so an answer to acme that
mentions it is a leak.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from apitest import World
from isolation_registry import acme, beta, case

from callops.store.roles import Role

# Both tenants have contacts in March 2026 (acme the sample, beta three valid rows on queue beta-q).
MARCH_BY_QUEUE = {"metrics": ["contacts_offered", "abandon_rate"], "grain": "month", "dimensions": ["queue"],
                  "start": "2026-03-01", "end": "2026-03-31", "chart": "table"}  # fmt: skip


def _rule(rule_id: str, description: str, where: str | None = None) -> str:
    """A rule firing for every queue with any contact this year (more than 0, counted as lower-is-better), so a
    7-day replay sees the March contacts."""
    scope = f'{{by: [queue], where: "{where}"}}' if where else "{by: [queue]}"
    return (f"rules:\n  - id: {rule_id}\n    metric: contacts_offered\n    better: lower\n"
            f"    description: \"{description}\"\n    scope: {scope}\n"
            f"    window: {{grain: year, include_current: true}}\n    levels: {{yellow: 0}}\n")  # fmt: skip


OFFERED_RULE = _rule("offered_by_queue", "any contact this year")


@dataclass
class ViewsData:
    """What was seeded in one world: view ids per tenant and name."""

    views: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def beta_shared(self) -> int:
        """Beta's view shared with the whole tenant (on beta's admin's home board)."""
        return self.views["beta"]["beta tenant board"]


# id(world) -> (world, data): holding the world keeps its id from being reused by the next backend's world
_SEEDED: dict[int, tuple[World, ViewsData]] = {}


def _new_view(w: World, tenant: str, role: Role, name: str, visibility: str) -> int:
    r = w.client.post("/api/views", json={"name": name, "spec": MARCH_BY_QUEUE, "visibility": visibility},
                      headers=w.auth(tenant, role))  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _save_rule(w: World, tenant: str, name: str, text: str) -> dict[str, Any]:
    r = w.client.put(f"/api/rules/{name}", json={"yaml": text}, headers=w.auth(tenant, Role.director))
    assert r.status_code == 200, r.text
    return r.json()


def seeded(w: World) -> ViewsData:
    """Seed both tenants' views, home boards and alert rules once per world (see the module docstring)."""
    held = _SEEDED.get(id(w))
    if held is not None and held[0] is w:
        return held[1]
    d = ViewsData(views={"acme": {}, "beta": {}})
    d.views["beta"]["beta tenant board"] = _new_view(w, "beta", Role.admin, "beta tenant board", "tenant")
    d.views["beta"]["beta private notes"] = _new_view(w, "beta", Role.analyst, "beta private notes", "private")
    d.views["acme"]["acme board"] = _new_view(w, "acme", Role.admin, "acme board", "tenant")
    for tenant, name in (("beta", "beta tenant board"), ("acme", "acme board")):
        r = w.client.put("/api/home", json={"tiles": [{"view_id": d.views[tenant][name], "w": 12}]},
                         headers=w.auth(tenant))  # fmt: skip
        assert r.status_code == 200, r.text
    assert _save_rule(w, "beta", "abandon", _rule("beta_abandon", "beta v1"))["version"] == 1
    assert _save_rule(w, "beta", "abandon", _rule("beta_abandon", "beta v2"))["version"] == 2
    _save_rule(w, "beta", "beta-queue-watch", _rule("beta_queue_watch", "beta queue", "queue = 'beta-q'"))
    _save_rule(w, "acme", "acme-watch", OFFERED_RULE)
    _SEEDED[id(w)] = (w, d)
    return d


def beta_views(w: World) -> dict[str, Any]:
    """Beta's views as its admin and analyst see them, and its admin's home board (what a write could change)."""
    seeded(w)
    return {"admin": beta(w, "GET", "/api/views").json(), "analyst": beta(w, "GET", "/api/views", Role.analyst).json(),
            "home": beta(w, "GET", "/api/home").json()}  # fmt: skip


def beta_rules(w: World) -> dict[str, Any]:
    """Beta's rule documents and every version of its ``abandon`` rule."""
    seeded(w)
    return {"rules": beta(w, "GET", "/api/rules", Role.director).json(),
            "abandon": beta(w, "GET", "/api/rules/abandon/versions", Role.director).json()}  # fmt: skip


# ------------------------------------------------------------------------------------------------- saved views
@case("GET", "/api/views")
def _list_views(w: World) -> None:
    seeded(w)
    for role in (Role.admin, Role.analyst):
        names = {v["name"] for v in acme(w, "GET", "/api/views", role).json()}
        assert "acme board" in names  # acme's shared view, and nothing of beta's
    names = {v["name"] for v in beta(w, "GET", "/api/views", Role.analyst).json()}
    assert {"beta tenant board", "beta private notes"} <= names


@case("POST", "/api/views")
def _create_view(w: World) -> None:
    before = beta_views(w)
    name = f"acme iso {uuid.uuid4().hex[:8]}"
    made = acme(w, "POST", "/api/views", expect=201,
                json={"name": name, "spec": MARCH_BY_QUEUE, "visibility": "tenant"}).json()  # fmt: skip
    assert made["name"] == name and made["visibility"] == "tenant"
    assert w.client.get(f"/api/views/{made['id']}", headers=w.auth("beta")).status_code == 404
    assert beta_views(w) == before  # beta's users see nothing new, nothing changed
    acme(w, "DELETE", f"/api/views/{made['id']}", expect=204)


@case("GET", "/api/views/{view_id}")
def _get_view(w: World) -> None:
    d = seeded(w)
    for vid in d.views["beta"].values():
        acme(w, "GET", f"/api/views/{vid}", expect=404, sent=str(vid))
    assert acme(w, "GET", f"/api/views/{d.views['acme']['acme board']}").json()["name"] == "acme board"
    assert beta(w, "GET", f"/api/views/{d.beta_shared}", Role.analyst).json()["name"] == "beta tenant board"


@case("PUT", "/api/views/{view_id}")
def _update_view(w: World) -> None:
    before = beta_views(w)
    vid = seeded(w).beta_shared
    body = {"name": "taken over", "spec": {**MARCH_BY_QUEUE, "grain": "day"}, "visibility": "private"}
    acme(w, "PUT", f"/api/views/{vid}", expect=404, sent=str(vid), json=body)
    assert beta_views(w) == before
    assert beta(w, "GET", f"/api/views/{vid}").json()["spec"]["grain"] == "month"


@case("DELETE", "/api/views/{view_id}")
def _delete_view(w: World) -> None:
    before = beta_views(w)
    for vid in seeded(w).views["beta"].values():
        acme(w, "DELETE", f"/api/views/{vid}", expect=404, sent=str(vid))
    assert beta_views(w) == before
    assert [t["name"] for t in before["home"]["tiles"]] == ["beta tenant board"]  # still on beta's board


@case("GET", "/api/views/{view_id}/data")
def _view_data(w: World) -> None:
    d = seeded(w)
    vid = d.beta_shared
    for fmt in ("json", "xlsx"):
        acme(w, "GET", f"/api/views/{vid}/data", expect=404, sent=str(vid), params={"format": fmt})
    queues = {r["queue"] for r in acme(w, "GET", f"/api/views/{d.views['acme']['acme board']}/data").json()}
    assert "broadband" in queues
    rows = beta(w, "GET", f"/api/views/{vid}/data").json()
    assert [(r["queue"], r["contacts_offered"]) for r in rows] == [("beta-q", 3)]
    assert beta(w, "GET", f"/api/views/{vid}/data", params={"format": "xlsx"}).content[:2] == b"PK"
    # acme's own view filtered on beta's queue name finds none of beta's rows
    body = {"name": f"acme filter {uuid.uuid4().hex[:8]}", "spec": {**MARCH_BY_QUEUE, "where": "queue = 'beta-q'"}}
    own = acme(w, "POST", "/api/views", expect=201, sent="beta-q", json=body).json()
    try:
        assert acme(w, "GET", f"/api/views/{own['id']}/data").json() == []
    finally:
        acme(w, "DELETE", f"/api/views/{own['id']}", expect=204)


# ------------------------------------------------------------------------------------------------------ home
@case("GET", "/api/home")
def _get_home(w: World) -> None:
    seeded(w)
    assert [t["name"] for t in acme(w, "GET", "/api/home").json()["tiles"]] == ["acme board"]
    assert [t["name"] for t in beta(w, "GET", "/api/home").json()["tiles"]] == ["beta tenant board"]


@case("PUT", "/api/home")
def _put_home(w: World) -> None:
    d = seeded(w)
    before = beta_views(w)
    mine = acme(w, "GET", "/api/home").json()
    for vid in d.views["beta"].values():
        acme(w, "PUT", "/api/home", expect=404, sent=str(vid), json={"tiles": [{"view_id": vid, "w": 6}]})
    both = [{"view_id": d.views["acme"]["acme board"], "w": 6}, {"view_id": d.beta_shared, "w": 6}]
    acme(w, "PUT", "/api/home", expect=404, sent=str(d.beta_shared), json={"tiles": both})
    assert acme(w, "GET", "/api/home").json() == mine  # a refused board changes nothing
    assert beta_views(w) == before


# ----------------------------------------------------------------------------------------------------- rules
@case("POST", "/api/rules/check")
def _check(w: World) -> None:
    body = {"yaml": OFFERED_RULE}
    a = acme(w, "POST", "/api/rules/check", Role.director, json=body).json()
    assert a == {"ok": True, "rules": ["offered_by_queue"]}
    assert beta(w, "POST", "/api/rules/check", Role.director, json=body).json() == a  # no tenant data


@case("POST", "/api/rules/preview")
def _preview(w: World) -> None:
    def scopes(tenant: str, text: str) -> list[str]:
        call = acme if tenant == "acme" else beta
        (rule,) = call(w, "POST", "/api/rules/preview", Role.director, json={"yaml": text}).json()["rules"]
        return [a["scope"] for a in rule["alerts"]]

    assert any("broadband" in s for s in scopes("acme", OFFERED_RULE))
    assert '{"queue": "beta-q"}' in scopes("beta", OFFERED_RULE)  # (other domains' cases may add beta queues)
    # acme watching beta's queue by name replays over acme's contacts only: nothing fires
    assert scopes("acme", _rule("offered_by_queue", "x", "queue = 'beta-q'")) == []


@case("GET", "/api/rules")
def _list_rules(w: World) -> None:
    seeded(w)
    names = {r["name"] for r in acme(w, "GET", "/api/rules", Role.director).json()}
    assert "acme-watch" in names
    assert {"abandon", "beta-queue-watch"} <= {r["name"] for r in beta_rules(w)["rules"]}


@case("PUT", "/api/rules/{name}")
def _save_rule_case(w: World) -> None:
    before = beta_rules(w)
    # acme saves its own rule under the name beta also uses: a version of acme's, not beta's third
    had = w.client.get("/api/rules/abandon/versions", headers=w.auth("acme", Role.director))
    n = len(had.json()) if had.status_code == 200 else 0
    text = _rule("acme_abandon", f"acme {uuid.uuid4().hex[:8]}")
    saved = acme(w, "PUT", "/api/rules/abandon", Role.director, json={"yaml": text}).json()
    assert (saved["version"], saved["created_by"]) == (n + 1, "user:acme-director")
    assert beta_rules(w) == before
    assert [v["version"] for v in before["abandon"]] == [1, 2] and "beta v2" in before["abandon"][1]["yaml"]


@case("GET", "/api/rules/{name}/versions")
def _rule_versions(w: World) -> None:
    seeded(w)
    acme(w, "GET", "/api/rules/beta-queue-watch/versions", Role.director, expect=404, sent="beta-queue-watch")
    assert [v["version"] for v in acme(w, "GET", "/api/rules/acme-watch/versions", Role.director).json()] == [1]
    vs = beta(w, "GET", "/api/rules/beta-queue-watch/versions", Role.director).json()
    assert len(vs) == 1 and "beta-q" in vs[0]["yaml"]
