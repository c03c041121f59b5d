"""Live alert hysteresis (issue 16): explicit clear thresholds (``clear``), the clear factor (``clear_below`` /
``clear_above``), ``clear_after_s`` and ``cooldown_s``, checked against a brute-force reference written from the
rule's plain-words definition (no signs, no compiled tables), over random rules and value sequences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.errors import CallopsError
from callops.realtime.alerts import LEVELS, AlertBook, AlertRule, CompiledRule, parse_rules


def reference(rule: dict, values: list[tuple[float, float]]) -> list[int]:
    """The level after each ``(time, value)``, by the definition:

    * raise at once to the worst level whose threshold the value reaches (``>=`` when higher is worse,
      ``<=`` when lower is worse);
    * step down only when the value is past the current level's clear threshold (``clear[level]``, else the
      threshold × the factor: strictly below when higher is worse, strictly above otherwise), has been past it
      without a break for ``clear_after_s`` and the level has held ``cooldown_s``; land on the worst lower level
      whose clear threshold the value is not past (0 if none).
    """
    higher = "levels" in rule
    thr = rule["levels"] if higher else rule["below"]
    factor = rule.get("clear_below", 0.8) if higher else rule.get("clear_above", 1.05)
    clear = {lv: rule.get("clear", {}).get(lv, thr[lv] * factor) for lv in thr}

    def worse(v: float, t: float) -> bool:
        return v >= t if higher else v <= t

    def past(v: float, c: float) -> bool:
        return v < c if higher else v > c

    names = ["none", *LEVELS]
    level, since, below_since, out = 0, float("-inf"), None, []
    for t, v in values:
        up = max((LEVELS.index(lv) + 1 for lv in thr if worse(v, thr[lv])), default=0)
        if up > level:
            level, since, below_since = up, t, None
        elif level:
            if not past(v, clear[names[level]]):
                below_since = None
            else:
                below_since = t if below_since is None else below_since
                if t - since >= rule.get("cooldown_s", 0) and t - below_since >= rule.get("clear_after_s", 0):
                    lower = [n for n in range(level - 1, 0, -1) if names[n] in thr and not past(v, clear[names[n]])]
                    level, since, below_since = (lower[0] if lower else 0), t, None
        out.append(level)
    return out


def engine_levels(rule: dict, values: list[tuple[float, float]]) -> list[int]:
    """The level after each value, through :class:`AlertBook` (the live engine's evaluation)."""
    book = AlertBook([AlertRule.model_validate(rule)])
    cr: CompiledRule = book.rules[0]
    out = []
    for t, v in values:
        book.evaluate(cr, "q", v, t)
        rk = book.keys.get((cr.name, "q"))
        out.append(rk.level if rk is not None else 0)
    return out


@st.composite
def rules(draw: st.DrawFn) -> dict:
    """A random live rule on ``waiting``: some levels, optional clear thresholds, clear_after_s and cooldown_s."""
    higher = draw(st.booleans())
    chosen = draw(st.lists(st.sampled_from(LEVELS), min_size=1, max_size=4, unique=True))
    chosen = [lv for lv in LEVELS if lv in chosen]
    steps = draw(st.lists(st.integers(1, 30), min_size=len(chosen), max_size=len(chosen)))
    base = draw(st.integers(5, 40))
    thr: dict[str, float] = {}
    acc = base
    for lv, s in zip(chosen, steps, strict=True):
        acc += s
        thr[lv] = float(acc if higher else 200 - acc)
    rule: dict = {"name": "r", "measure": "waiting", "scope": "queue", ("levels" if higher else "below"): thr}
    clear = {}
    for lv in chosen:
        if draw(st.booleans()):
            gap = draw(st.integers(1, 25))
            clear[lv] = thr[lv] - gap if higher else thr[lv] + gap
    if clear:
        rule["clear"] = clear
    if draw(st.booleans()):
        rule["clear_below" if higher else "clear_above"] = draw(st.sampled_from([0.5, 0.9, 1.0] if higher
                                                                              else [1.0, 1.1, 1.3]))  # fmt: skip
    rule["clear_after_s"] = float(draw(st.sampled_from([0, 0, 5, 30])))
    rule["cooldown_s"] = float(draw(st.sampled_from([0, 0, 10])))
    return rule


@st.composite
def series(draw: st.DrawFn) -> list[tuple[float, float]]:
    """Values at increasing times (steps of 0 to 20 s), between 0 and 200."""
    n = draw(st.integers(1, 60))
    t, out = 0.0, []
    for _ in range(n):
        t += draw(st.integers(0, 20))
        out.append((t, float(draw(st.integers(0, 200)))))
    return out


@settings(max_examples=400, deadline=None)
@given(rules(), series())
def test_engine_hysteresis_matches_the_reference(rule: dict, values: list[tuple[float, float]]) -> None:
    assert engine_levels(rule, values) == reference(rule, values)


def test_clear_after_waits_for_an_unbroken_spell() -> None:
    """Clear threshold 40 held 30 s: a dip back to 45 at 20 s restarts the count; it clears at 50 + 30 = 80 s."""
    rule = {"name": "r", "measure": "waiting", "scope": "queue", "levels": {"red": 50}, "clear": {"red": 40},
            "clear_after_s": 30}  # fmt: skip
    values = [(0, 60), (10, 30), (20, 45), (50, 30), (70, 30), (80, 30)]
    assert engine_levels(rule, values) == [3, 3, 3, 3, 3, 0] == reference(rule, values)


def test_clear_thresholds_are_checked() -> None:
    """A clear threshold on the wrong side of its level, or for a level the rule lacks, is refused by name."""
    bad = "alerts:\n  - name: r\n    measure: waiting\n    levels: {red: 50}\n    clear: {red: 60}\n"
    with pytest.raises(CallopsError, match=r"clear\.red: 60 must be below the red threshold 50"):
        parse_rules(bad)
    with pytest.raises(CallopsError, match="no yellow level"):
        parse_rules(bad.replace("{red: 60}", "{yellow: 10}"))
    with pytest.raises(CallopsError, match="recipients"):
        parse_rules(bad.replace("clear: {red: 60}", "recipients: [{channel: pager, to: [x]}]"))
