"""The value model: validation naming the line, percentile normalisation, contributions that add up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from callops.errors import CallopsError
from callops.value.features import FEATURES, TEXT_FEATURES
from callops.value.model import DIMENSIONS, default_model_path, explanation, load_model, normalise, parse_model, score

BASE = default_model_path().read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if needle in line][-1]  # the changed (last) one


@pytest.mark.parametrize(("old", "new", "message"), [
    ("expr: spend_365d", "expr: spend_366d", "unknown column 'spend_366d'"),
    ("expr: arpu, type: key, weight: 0.3,", "expr: arpu, type: key, weight: heavy,", "weight must be a number"),
    ('label: {en: "Tenure", zh-CN: "在网时长"}', 'label: {en: "Tenure"}',
     "indicator hist_tenure: label needs text in en and zh-CN"),
    ('label: {en: "VIP level",', 'label: {en: "",', "indicator imp_vip: label needs text in en and zh-CN"),
    ("{id: hist_tenure,", "{id: hist_spend,", "duplicate indicator id 'hist_spend'"),
    ("expr: vip_level, type: key", "expr: vip_level, type: main", "type must be key or auxiliary"),
    ("{id: imp_vip, expr: vip_level,", "{id: imp_vip, expr: (select 1),", "not allowed"),
])  # fmt: skip
def test_bad_model_is_refused_naming_the_line(old: str, new: str, message: str) -> None:
    """Unknown feature, a weight that is not a number, a duplicate id...: the file and the line are named."""
    assert old in BASE
    text = BASE.replace(old, new, 1)
    with pytest.raises(CallopsError) as exc:
        parse_model(text, "m.yaml")
    assert f"m.yaml, line {_line_of(text, new)}" in str(exc.value)
    assert message in str(exc.value)


def test_every_shipped_indicator_has_both_labels_and_the_explanation_carries_them() -> None:
    """The console's explanation chart shows an indicator's label in the reader's language, never its id; a
    tenant's model may leave labels out (the chart then shows ids)."""
    import yaml

    raw = yaml.safe_load(BASE)
    model = load_model()
    shipped = {i["id"]: i["label"] for d in raw["dimensions"].values() for i in d["indicators"]}
    assert set(shipped) == {i.id for d in model.dimensions for i in d.indicators}
    for ind_id, label in shipped.items():
        assert label["en"].strip() and label["zh-CN"].strip() and label["en"] != label["zh-CN"], ind_id
        assert any("\u4e00" <= ch <= "\u9fff" for ch in label["zh-CN"]), ind_id  # Chinese, not a copy
    dims = {d.id: 50.0 for d in model.dimensions}
    norm = {i.id: 0.5 for d in model.dimensions for i in d.indicators}
    out = explanation(model, 50.0, dims, norm, {})
    assert {i["id"]: i["label"] for d in out.values() for i in d["indicators"]} == shipped
    bare = parse_model(BASE.replace(',\n         label: {en: "Tenure", zh-CN: "在网时长"}', ""), "m.yaml")
    assert next(i for d in bare.dimensions for i in d.indicators if i.id == "hist_tenure").label is None


def test_missing_dimension_and_bad_yaml() -> None:
    """Five dimensions exactly; broken YAML names its line."""
    with pytest.raises(CallopsError, match="missing elastic"):
        parse_model(BASE.replace("  elastic:", "  elastik:"), "m.yaml")
    with pytest.raises(CallopsError, match=r"m.yaml, line \d+: not valid YAML"):
        parse_model(BASE + "\n  - [unclosed\n", "m.yaml")
    with pytest.raises(CallopsError, match="repeated key 'weight'"):
        parse_model(BASE.replace("    weight: 0.25\n", "    weight: 0.25\n    weight: 0.3\n", 1), "m.yaml")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(-5, 5).map(float), st.floats(-1e6, 1e6)), min_size=1, max_size=60))
def test_percentile_matches_scipy(values: list[float]) -> None:
    """The percentile normalisation is scipy's percentileofscore(kind='mean') / 100, for every value."""
    v = np.array(values)
    expected = [stats.percentileofscore(v, x, kind="mean") / 100.0 for x in v]
    assert normalise(v, "percentile") == pytest.approx(expected)


def _features(rng: np.random.Generator, n: int) -> pa.Table:
    cols = {}
    for name in FEATURES:
        if name in TEXT_FEATURES:
            choices = {"status": ["active", "churned", "suspended", "arrears"],
                       "network_generation": ["2G", "3G", "4G", "5G"]}.get(name, ["x", "y"])  # fmt: skip
            cols[name] = pa.array(rng.choice(choices, n).tolist() if name != "customer_id"
                                  else [f"C{i}" for i in range(n)])  # fmt: skip
        else:
            vals = rng.gamma(1.0, 10.0, n)
            vals[rng.random(n) < 0.1] = np.nan
            cols[name] = pa.array(vals, from_pandas=True)
    return pa.table(cols)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300))
def test_contributions_add_up_to_the_score(seed: int, n: int) -> None:
    """For any customers, indicator contributions add up to dimension contributions, and those to the score
    (0-100); the score is the weighted mean of the dimension scores computed by hand."""
    model = load_model()
    s = score(_features(np.random.default_rng(seed), n), model)
    total_w = sum(d.weight for d in model.dimensions)
    for i in range(n):
        dims = {d: float(s.dimensions[d][i]) for d in DIMENSIONS}
        norm = {k: float(v[i]) for k, v in s.normalised.items()}
        ex = explanation(model, float(s.score[i]), dims, norm, {})
        assert 0.0 <= s.score[i] <= 100.0
        assert sum(d["contribution"] for d in ex.values()) == pytest.approx(s.score[i], abs=1e-9)
        for d in ex.values():
            assert sum(ind["contribution"] for ind in d["indicators"]) == pytest.approx(d["contribution"], abs=1e-9)
        by_hand = sum(d.weight * dims[d.id] for d in model.dimensions) / total_w
        assert s.score[i] == pytest.approx(by_hand)


def test_classes_follow_the_first_matching_rule() -> None:
    """A complex customer (a complaint) with a high score is high_value (listed first); routes follow classes."""
    model = load_model()
    rng = np.random.default_rng(1)
    t = _features(rng, 200)
    s = score(t, model)
    for i in range(200):
        row = {k: t.column(k)[i].as_py() for k in ("repeat_contacts_30d", "transfers_30d", "complaints_30d",
                                                    "max_business_contacts_30d")}  # fmt: skip
        complex_ = ((row["max_business_contacts_30d"] or 0) >= 4 or (row["transfers_30d"] or 0) >= 2
                    or (row["complaints_30d"] or 0) >= 2)  # fmt: skip
        want = ("high_value" if s.score[i] >= 70 else "complex" if complex_ else "low_value" if s.score[i] < 30
                else "standard")  # fmt: skip
        assert s.value_class[i] == want
        assert s.route[i] == model.routes[want]


def test_shipped_model_loads(tmp_path: Path) -> None:
    """The shipped model is valid and can be copied and loaded from a file."""
    p = tmp_path / "m.yaml"
    p.write_text(BASE, encoding="utf-8")
    assert load_model(p).class_ids == ["high_value", "complex", "low_value", "standard"]
