"""Tag and strategy libraries: validation naming the line, conflicts by priority, fired rules recorded."""

from __future__ import annotations

from datetime import date
from importlib import resources

import pytest

from callops.errors import CallopsError
from callops.value.rules import decide_strategy, load_strategies, load_tags, parse_strategies, parse_tags

TAGS = (resources.files("callops.value") / "default_tags.yaml").read_text(encoding="utf-8")
STRATS = (resources.files("callops.value") / "default_strategies.yaml").read_text(encoding="utf-8")
DAY = date(2026, 12, 6)


def _line(text: str, needle: str) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if needle in line][-1]


def test_tag_with_unknown_feature_or_duplicate_id_names_the_line() -> None:
    """An unknown feature and a repeated tag id are refused with the file and line."""
    bad = TAGS.replace("when: usage_gb >= 60", "when: usage_tb >= 60")
    with pytest.raises(CallopsError, match=rf"tags.yaml, line {_line(bad, 'usage_tb')}: .*unknown column 'usage_tb'"):
        parse_tags(bad, "tags.yaml")
    dup = TAGS.replace("- id: repeat_caller", "- id: heavy_data_user")
    with pytest.raises(CallopsError, match=rf"tags.yaml, line {_line(dup, '- id: heavy_data_user')}: duplicate tag"):
        parse_tags(dup, "tags.yaml")


def test_cycle_of_strategies_is_refused() -> None:
    """expert_desk escalating back to guided_service (which escalates to expert_desk) is a cycle."""
    bad = STRATS.replace("  expert_desk:\n    route: expert_desk\n",
                         "  expert_desk:\n    route: expert_desk\n    escalates_to: guided_service\n")
    assert bad != STRATS
    with pytest.raises(CallopsError, match=r"s.yaml, line \d+: cycle of strategies: .*guided_service -> expert_desk"):
        parse_strategies(bad, "s.yaml", tags=load_tags())


def test_rule_naming_unknown_tag_or_bad_priority_is_refused() -> None:
    """A rule on a tag the library lacks, or with a priority that is not a number, names its line."""
    bad = STRATS.replace("tags_any: [just_unsubscribed]", "tags_any: [just_left]")
    with pytest.raises(CallopsError, match=rf"s.yaml, line {_line(bad, 'just_left')}: .*unknown tag 'just_left'"):
        parse_strategies(bad, "s.yaml", tags=load_tags())
    bad = STRATS.replace("priority: 80", "priority: high")
    with pytest.raises(CallopsError, match=rf"s.yaml, line {_line(bad, 'priority: high')}: .*must be a number"):
        parse_strategies(bad, "s.yaml", tags=load_tags())


def test_conflicts_resolve_by_priority_and_every_fired_rule_is_recorded() -> None:
    """A suspended, just-unsubscribed, high-value customer: three rules fire, the billing IVR one (90) wins."""
    lib = load_strategies()
    d = decide_strategy(lib, {"suspended_for_billing", "just_unsubscribed"}, "billing", "voice", "high_value",
                        "high_value_desk", None, DAY)  # fmt: skip
    assert d.strategy == "self_service_first" and d.route == "ivr_payment"
    fired = {f["rule"]: f["won"] for f in d.fired}
    assert fired == {"billing_suspension_ivr": True, "unsubscribed_care": False, "high_value_priority": False}


def test_issue_examples() -> None:
    """4G customers get guided service; a customer who just unsubscribed gets a care call; nothing → standard."""
    lib = load_strategies()
    assert decide_strategy(lib, {"4g_not_migrated"}, "data_plan", "voice", "standard", "normal_queue", None,
                           DAY).strategy == "guided_service"  # fmt: skip
    care = decide_strategy(lib, {"just_unsubscribed"}, "billing", "chat", "standard", "normal_queue", None, DAY)
    assert care.strategy == "care_call" and "退订" in care.guidance["zh-CN"] and care.guidance["en"]
    none = decide_strategy(lib, set(), None, "voice", "standard", "normal_queue", None, DAY)
    assert none.strategy == "standard_service" and none.route == "normal_queue" and none.fired == []


def test_tag_validity_window() -> None:
    """A tag outside its validity is not computed."""
    lib = load_tags()
    tag = lib.get("4g_not_migrated")
    assert tag.valid_on(date(2025, 1, 1)) and not tag.valid_on(date(2024, 12, 31))
