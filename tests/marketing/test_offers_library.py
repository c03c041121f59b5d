"""The offer library: the shipped file is valid; bad input is refused naming the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from callops.errors import CallopsError
from callops.marketing.offers import load_offers, shipped_path
from callops.value.rules import load_tags

CLASSES = ["high_value", "complex", "low_value", "standard", "unknown"]

GOOD = """\
id: lib
version: 1
levers:
  importance: 1.0
  difficulty: 0.5
  campaigns: {CA: 1.5}
  offers: {OA: 2.0}
campaigns:
  - {id: CA, importance: 0.8, difficulty: 0.4}
  - {id: CB, importance: 0.2, difficulty: 0.9}
offers:
  - id: OA
    campaign: CA
    product: a
    unit_price: 100
    commission: 10
    channels: [voice]
    eligible: {tags_any: [heavy_data_user], reasons_not: [billing]}
    guidance:
      offer: {en: a, zh-CN: 甲}
      phrase: {en: say a, zh-CN: 甲吗}
  - id: OB
    campaign: CB
    product: b
    unit_price: 10
    channels: [voice, chat]
    guidance:
      offer: {en: b, zh-CN: 乙}
      phrase: {en: say b, zh-CN: 乙吗}
"""


def _load(tmp_path: Path, text: str):
    p = tmp_path / "offers.yaml"
    p.write_text(text, encoding="utf-8")
    return load_offers(p, tags=load_tags(), classes=CLASSES), str(p)


def test_shipped_library_is_valid() -> None:
    lib = load_offers(shipped_path(), tags=load_tags(), classes=CLASSES)
    assert {o.id for o in lib.offers} >= {"OF-5G129", "OF-DATA10G", "OF-VIDEO15"}
    assert lib.policy.max_per_contact == 1 and lib.policy.max_per_customer_month == 3
    assert "complaint" in lib.policy.never_reasons


def test_good_library_and_weights(tmp_path: Path) -> None:
    lib, _ = _load(tmp_path, GOOD)
    a, b = lib.offers
    assert a.value == 90 and b.value == 10  # unit price - commission (default 0)
    # weight = (1 + 1.0 x importance) x (1 - 0.5 x difficulty) x levers, worked out by hand
    assert lib.weight(a)[0] == pytest.approx(1.8 * 0.8 * 1.5 * 2.0)
    assert lib.weight(b)[0] == pytest.approx(1.2 * 0.55)


@pytest.mark.parametrize(("old", "new", "words"), [
    ("tags_any: [heavy_data_user]", "tags_any: [no_such_tag]", "unknown tag 'no_such_tag'"),
    ("offers: {OA: 2.0}", "offers: {OX: 2.0}", "unknown offer 'OX'"),
    ("unit_price: 100", "unit_price: -5", "unit_price must be at least 0"),
    ("  - {id: CB, importance: 0.2", "  - {id: CA, importance: 0.2", "repeated campaign id 'CA'"),
    ("    campaign: CB", "    campaign: CZ", "unknown campaign 'CZ'"),
    ("channels: [voice, chat]", "channels: [voice, fax]", "unknown channel 'fax'"),
    ("  - id: OB", "  - id: OA", "repeated offer id 'OA'"),
    ("commission: 10", "commission: ten", "commission must be a number"),
])  # fmt: skip
def test_bad_input_names_file_and_line(tmp_path: Path, old: str, new: str, words: str) -> None:
    """The message names the file and the line where the edited text now stands (found here by search)."""
    assert GOOD.count(old) == 1
    text = GOOD.replace(old, new)
    line = max(i for i, t in enumerate(text.splitlines(), 1) if new in t)
    with pytest.raises(CallopsError) as exc:
        _load(tmp_path, text)
    msg = str(exc.value)
    assert str(tmp_path / "offers.yaml") in msg and f"line {line}:" in msg and words in msg, msg


def test_guidance_needs_both_languages(tmp_path: Path) -> None:
    text = GOOD.replace("offer: {en: a, zh-CN: 甲}", "offer: {en: a}")
    line = text.splitlines().index("      offer: {en: a}") + 1
    with pytest.raises(CallopsError, match=rf"line {line}: offer OA: guidance: offer needs text in en and zh-CN"):
        _load(tmp_path, text)
