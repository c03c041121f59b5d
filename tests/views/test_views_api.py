"""``/api/views`` and ``/api/home``: saved views kept private or shared with a team or the tenant, per role;
their numbers (checked against counts worked out from the loaded rows) and their Excel workbook."""

from __future__ import annotations

import io

import openpyxl
import pytest

SPEC = {"metrics": ["contacts_offered", "abandon_rate"], "grain": "day", "period": "last_7_days", "chart": "bar",
        "tiles": [{"metric": "contacts_offered", "chart": "number", "w": 4}]}  # fmt: skip


def _new(w, tenant: str, who: str, name: str, visibility: str = "private", spec: dict | None = None):
    return w.client.post("/api/views", json={"name": name, "spec": spec or SPEC, "visibility": visibility},
                         headers=w.auth(tenant, who))  # fmt: skip


def _names(w, tenant: str, who: str) -> set[str]:
    r = w.client.get("/api/views", headers=w.auth(tenant, who))
    assert r.status_code == 200, r.text
    return {v["name"] for v in r.json()}


def test_private_view_is_its_owners_only(vworld) -> None:
    w = vworld
    r = _new(w, "t1", "analyst", "my board")
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    assert r.json()["visibility"] == "private" and r.json()["spec"]["metrics"] == SPEC["metrics"]
    assert "my board" in _names(w, "t1", "analyst")
    assert "my board" not in _names(w, "t1", "director") | _names(w, "t1", "north") | _names(w, "t10", "analyst")
    for tenant, who in (("t1", "director"), ("t10", "analyst"), ("t10", "admin")):
        assert w.client.get(f"/api/views/{vid}", headers=w.auth(tenant, who)).status_code == 404
        assert w.client.delete(f"/api/views/{vid}", headers=w.auth(tenant, who)).status_code == 404
    assert w.client.get(f"/api/views/{vid}", headers=w.auth("t1", "analyst")).status_code == 200


def test_sharing_depends_on_the_role(vworld) -> None:
    w = vworld
    assert _new(w, "t1", "analyst", "wide", "tenant").status_code == 403
    assert _new(w, "t1", "analyst", "team-ish", "team").status_code == 403
    assert _new(w, "t1", "director", "for everyone", "tenant").status_code == 201
    for who in ("analyst", "north", "south", "dispatcher"):
        assert "for everyone" in _names(w, "t1", who)
    assert "for everyone" not in _names(w, "t10", "director")  # t10 is not t1
    # a team lead of team north shares with north: its analysts see it, south's do not
    assert _new(w, "t1", "team_lead", "north board", "team").status_code == 201
    assert "north board" in _names(w, "t1", "north") and "north board" not in _names(w, "t1", "south")
    assert "north board" not in _names(w, "t1", "director")
    # the director has no team: sharing with "the team" is refused with a reason
    r = _new(w, "t1", "director", "no team", "team")
    assert r.status_code == 400 and "team" in r.json()["detail"]


def test_spec_is_checked_as_saved(vworld) -> None:
    w = vworld
    cases = [
        ({**SPEC, "metrics": ["contacts_ofered"]}, "contacts_offered"),  # suggests the close id
        ({**SPEC, "grain": "fortnight"}, "grain"),
        ({**SPEC, "where": "queue = 'x' or drop_table()"}, "drop_table"),
        ({**SPEC, "dimensions": ["password"]}, "dimension"),
        ({**SPEC, "chart": "pie3d"}, "chart"),
        ({**SPEC, "colour": "red"}, "colour"),
        ({**SPEC, "tiles": [{"metric": "contacts_offered", "w": 13}]}, "tiles"),
        # dates the metrics engine cannot query are refused when saved, not when the view is opened
        ({**SPEC, "start": "3000-01-01", "end": "3000-01-02"}, "start 3000-01-01: expected a date between"),
        ({**SPEC, "start": "1899-12-31", "end": "2026-01-01"}, "start 1899-12-31: expected a date between"),
    ]
    for spec, word in cases:
        r = _new(w, "t1", "analyst", "bad", spec=spec)
        assert r.status_code == 400, (spec, r.text)
        assert word in r.json()["detail"], r.json()
    assert _new(w, "t1", "analyst", "", spec=SPEC).status_code == 422
    assert _new(w, "t1", "analyst", "dup").status_code == 201
    assert _new(w, "t1", "analyst", "dup").status_code == 400


def test_owner_changes_and_deletes(vworld) -> None:
    w = vworld
    vid = _new(w, "t1", "director", "to change", "tenant").json()["id"]
    r = w.client.put(f"/api/views/{vid}", json={"name": "stolen"}, headers=w.auth("t1", "analyst"))
    assert r.status_code == 403
    r = w.client.put(f"/api/views/{vid}", json={"name": "changed", "spec": {**SPEC, "grain": "week"}},
                     headers=w.auth("t1", "director"))  # fmt: skip
    assert r.status_code == 200 and (r.json()["name"], r.json()["spec"]["grain"]) == ("changed", "week")
    assert r.json()["visibility"] == "tenant"
    r = w.client.put(f"/api/views/{vid}", json={"spec": {**SPEC, "grain": "nope"}}, headers=w.auth("t1", "director"))
    assert r.status_code == 400
    assert w.client.delete(f"/api/views/{vid}", headers=w.auth("t1", "analyst")).status_code == 403
    assert w.client.delete(f"/api/views/{vid}", headers=w.auth("t1", "director")).status_code == 204
    assert w.client.get(f"/api/views/{vid}", headers=w.auth("t1", "director")).status_code == 404


@pytest.mark.parametrize("tenant", ["t1", "t10"])
def test_view_numbers_match_the_loaded_rows(vworld, tenant: str) -> None:
    """Offered and abandon rate per local day equal the counts worked out while writing the file."""
    w = vworld
    vid = _new(w, tenant, "analyst", f"numbers-{tenant}").json()["id"]
    r = w.client.get(f"/api/views/{vid}/data", headers=w.auth(tenant, "analyst"))
    assert r.status_code == 200, r.text
    got = {row["period"][:10]: row for row in r.json()}
    want = w.counts[tenant]
    assert set(got) == set(want)
    for day, c in want.items():
        assert got[day]["contacts_offered"] == c["offered"]
        assert got[day]["abandon_rate"] == pytest.approx(c["abandoned"] / c["offered"])
    # the workbook has the same numbers and says what the view is
    r = w.client.get(f"/api/views/{vid}/data?format=xlsx", headers=w.auth(tenant, "analyst"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    rows = {str(row[0])[:10]: dict(zip(header, row, strict=True)) for row in ws.iter_rows(min_row=2, values_only=True)}
    assert {d: r["contacts_offered"] for d, r in rows.items()} == {d: c["offered"] for d, c in want.items()}
    about = dict(wb["definition"].iter_rows(min_row=2, values_only=True))
    assert about["metrics"] == "contacts_offered, abandon_rate" and "Asia/Shanghai" in about["period"]


def test_home_board(vworld) -> None:
    w = vworld
    mine = _new(w, "t1", "north", "north own").json()["id"]
    shared = _new(w, "t1", "director", "shared for home", "tenant").json()["id"]
    hidden = _new(w, "t1", "south", "south own").json()["id"]
    other = _new(w, "t10", "north", "t10 own").json()["id"]
    put = w.client.put("/api/home", json={"tiles": [{"view_id": mine, "w": 12}, {"view_id": shared, "w": 6}]},
                       headers=w.auth("t1", "north"))  # fmt: skip
    assert put.status_code == 200, put.text
    assert [(t["name"], t["w"]) for t in put.json()["tiles"]] == [("north own", 12), ("shared for home", 6)]
    for bad in (hidden, other):  # another user's private view, another tenant's view
        r = w.client.put("/api/home", json={"tiles": [{"view_id": bad}]}, headers=w.auth("t1", "north"))
        assert r.status_code == 404
    assert w.client.get("/api/home", headers=w.auth("t1", "south")).json() == {"tiles": []}
    w.client.delete(f"/api/views/{shared}", headers=w.auth("t1", "director"))
    assert [t["name"] for t in w.client.get("/api/home", headers=w.auth("t1", "north")).json()["tiles"]] == [
        "north own"]
