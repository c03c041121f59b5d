"""``/api/rules``: alert rules checked as typed, replayed over the last 7 days, saved as versions.

The fixture's contacts: day d before today has 3 + d contacts, every third abandoned, so the abandon rates are
worked out by hand: d=1 1/4, d=2 1/5, d=3 2/6, d=4 2/7, d=5 2/8 (d=6, 7: no contacts).
"""

from __future__ import annotations

RULE = """rules:
  - id: abandon_daily
    metric: abandon_rate
    window: {grain: day}
    levels: {yellow: 0.2, orange: 0.26, red: 0.3}
"""


def test_check_names_the_problem(vworld) -> None:
    w, h = vworld, vworld.auth("t1", "dispatcher")
    ok = w.client.post("/api/rules/check", json={"yaml": RULE}, headers=h)
    assert ok.status_code == 200 and ok.json() == {"ok": True, "rules": ["abandon_daily"]}
    for text, word in ((RULE.replace("abandon_rate", "abandon_rat"), "abandon_rate"),
                       (RULE.replace("grain: day", "grain: fortnight"), "fortnight"),
                       (RULE.replace("levels: {yellow: 0.2, orange: 0.26, red: 0.3}", "levels: {}"), "level"),
                       ("rules: [\n  - id: x\n   metric: y", "YAML"), ("", "empty")):  # fmt: skip
        r = w.client.post("/api/rules/check", json={"yaml": text}, headers=h)
        assert r.status_code == 400 and word in r.json()["detail"], (text, r.json())
    assert w.client.post("/api/rules/check", json={"yaml": RULE}, headers=w.auth("t1", "analyst")).status_code == 403


def test_preview_replays_seven_days(vworld) -> None:
    """Oldest first: d5 yellow, d4 orange, d3 red (one alert, worst red), d2 clears, d1 yellow (a second alert)."""
    w = vworld
    r = w.client.post("/api/rules/preview", json={"yaml": RULE}, headers=w.auth("t1", "dispatcher"))
    assert r.status_code == 200, r.text
    (rule,) = r.json()["rules"]
    assert (rule["evaluations"], rule["fired"], rule["levels"]) == (7, 2, {"yellow": 1, "red": 1})
    assert rule["text"] == "would have fired twice, red once"
    assert [a["level"] for a in rule["alerts"]] == ["red", "yellow"]
    # stricter levels: only the red day stays above 0.3
    strict = RULE.replace("{yellow: 0.2, orange: 0.26, red: 0.3}", "{red: 0.3}")
    (rule,) = w.client.post("/api/rules/preview", json={"yaml": strict}, headers=w.auth("t1", "dispatcher")).json()[
        "rules"]
    assert (rule["fired"], rule["levels"], rule["text"]) == (1, {"red": 1}, "would have fired once, red once")


def test_saved_rules_are_versioned_audited_and_per_tenant(vworld) -> None:
    w, h = vworld, vworld.auth("t1", "director")
    first = w.client.put("/api/rules/abandon", json={"yaml": RULE}, headers=h)
    assert first.status_code == 200 and first.json()["version"] == 1
    again = w.client.put("/api/rules/abandon", json={"yaml": RULE}, headers=h)
    assert again.json()["version"] == 1  # unchanged text: no new version
    changed = RULE.replace("red: 0.3", "red: 0.32")
    assert w.client.put("/api/rules/abandon", json={"yaml": changed}, headers=h).json()["version"] == 2
    bad = w.client.put("/api/rules/abandon", json={"yaml": RULE.replace("abandon_rate", "nope")}, headers=h)
    assert bad.status_code == 400
    vs = w.client.get("/api/rules/abandon/versions", headers=h).json()
    assert [(v["version"], v["created_by"]) for v in vs] == [(1, "user:t1-director"), (2, "user:t1-director")]
    assert "red: 0.32" in vs[1]["yaml"]
    assert [d["name"] for d in w.client.get("/api/rules", headers=h).json()] == ["abandon"]
    assert w.client.get("/api/rules", headers=w.auth("t10", "director")).json() == []
    assert w.client.get("/api/rules/abandon/versions", headers=w.auth("t10", "director")).status_code == 404
    from callops.store import audit
    from callops.store.db import Store

    with Store() as st, st.session() as s:
        actions = [e.action for e in audit.list_audit(s, "t1", object_type="alert_rules")]
    assert actions.count("alert_rules.create") == 1 and actions.count("alert_rules.update") == 1
