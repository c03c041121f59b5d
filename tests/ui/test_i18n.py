"""Console labels exist in both languages; times are shown in the tenant's zone."""

from __future__ import annotations

import ast
import importlib
from datetime import UTC, datetime
from pathlib import Path

from callops.ui.i18n import LABELS, local_time, number, t

UI_DIR = Path(__file__).resolve().parents[2] / "src" / "callops" / "ui"


def test_every_label_has_english_and_chinese() -> None:
    for key, (en, zh) in LABELS.items():
        assert en.strip() and zh.strip(), key
    assert t("nav_live", "zh-CN") == "实时监控墙" and t("nav_live", "en") == "Live wallboard"


def test_every_label_key_used_in_the_pages_exists() -> None:
    # t("literal", ...) calls in the page modules must name a defined label (a typo would only fail at runtime)
    used = set()
    for path in UI_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t" and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    used.add(arg.value)
    assert used, "no t() calls found"
    for path in UI_DIR.glob("pages_*.py"):  # domain pages register their labels when imported
        importlib.import_module(f"callops.ui.{path.stem}")
    assert used <= set(LABELS), sorted(used - set(LABELS))


def test_times_are_shown_in_the_tenant_zone() -> None:
    instant = datetime(2024, 3, 4, 16, 30, tzinfo=UTC)
    assert local_time(instant, "Asia/Shanghai") == "2024-03-05 00:30:00"  # UTC+8, next day
    assert local_time(instant.timestamp(), "Europe/London", "%H:%M") == "16:30"  # GMT in March
    assert local_time(datetime(2024, 3, 4, 16, 30), "Asia/Shanghai", "%H:%M") == "00:30"  # naive = UTC (store)
    assert local_time(None, "Asia/Shanghai") == ""


def test_numbers_by_unit() -> None:
    assert number(0.8, "ratio") == "80.0%"
    assert number(1234, "count") == "1,234"
    assert number(19.6, "s") == "20 s"
    assert number(None, "ratio") == "—" and number(float("nan"), "s") == "—"


def test_every_reported_value_has_both_labels() -> None:
    """Plan step kinds and statuses, alert statuses and event kinds: each has an English and a Chinese label."""
    from typing import get_args

    from callops.realtime.alerts import ALERT_EVENT_KINDS, ALERT_STATUSES
    from callops.realtime.plans import PLAYBOOK, STEP_STATUSES, StepKind
    from callops.ui.i18n import VALUE_LABELS, value_label

    groups = {"step": set(get_args(StepKind)) | set(PLAYBOOK), "step_status": set(STEP_STATUSES),
              "alert_status": set(ALERT_STATUSES), "alert_event": set(ALERT_EVENT_KINDS)}  # fmt: skip
    for group, values in groups.items():
        assert set(VALUE_LABELS[group]) == values, group
        for en, zh in VALUE_LABELS[group].values():
            assert en.strip() and zh.strip() and en != zh, (group, en)
    assert value_label("step_status", "pending_approval", "zh-CN") == "待审批"
    assert value_label("step", "some_future_step", "zh-CN") == "some_future_step"  # shown as it is


def test_every_profile_field_on_the_value_page_has_both_labels() -> None:
    """The customer profile shows labels, never raw feature keys; each key is a real feature of the value model."""
    from callops.ui.pages_value import PROFILE_KEYS
    from callops.value.features import FEATURES

    for key in PROFILE_KEYS:
        assert f"value_f_{key}" in LABELS, key
        en, zh = LABELS[f"value_f_{key}"]
        assert key not in (en, zh) and en.strip() and zh.strip(), key
        assert key in FEATURES, key


def test_every_shipped_value_class_and_route_has_both_labels() -> None:
    """Classes and routes of the shipped value model and strategy library, read from the YAML files themselves."""
    from pathlib import Path

    import yaml

    import callops.ui.pages_value  # noqa: F401  (registers the groups)
    from callops.ui.i18n import VALUE_LABELS, value_label

    folder = Path(__file__).resolve().parents[2] / "src" / "callops" / "value"
    model = yaml.safe_load((folder / "default_model.yaml").read_text(encoding="utf-8"))
    strategies = yaml.safe_load((folder / "default_strategies.yaml").read_text(encoding="utf-8"))
    classes = {c["id"] for c in model["classes"]} | {model["default_class"], "unknown"}
    routes = set(model["routes"].values()) | {s["route"] for s in strategies["strategies"].values() if "route" in s}
    routes |= {r["route"] for r in strategies.get("rules", []) if "route" in r}
    for group, ids in (("value_class", classes), ("value_route", routes)):
        for value in ids:
            assert value in VALUE_LABELS[group], (group, value)
            assert value_label(group, value, "zh-CN") != value and value_label(group, value, "en") != value
    assert value_label("value_class", "a_tenant_class", "zh-CN") == "a_tenant_class"  # a tenant's own id: as it is
