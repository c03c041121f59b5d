"""The learned character associations of bench/knowledge_rerank.py (issue 15, ATEC), on hand-built pairs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "knowledge_rerank.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("knowledge_rerank", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_associations_count_one_sided_characters_of_matching_pairs_only() -> None:
    """Worked by hand: one-sided characters per matching pair, Dice = 2 n(s,t) / (n(s) + n(t)).

    Pairs 1-2: 贝 | 呗. Pair 3: 推 | 延. Pair 4: {贝, 能} | {呗, 可, 以}. Pair 5 does not match: ignored.
    n(贝) = n(呗) = 3, n(能) = n(可) = n(以) = n(推) = n(延) = 1.
    """
    pairs = [("花贝怎么还", "花呗怎么还", "1"), ("花贝逾期", "花呗逾期", "1"), ("推迟还款", "延迟还款", "1"),
             ("花贝能用吗", "花呗可以用吗", "1"), ("推迟还款", "借呗还款", "0")]
    got = {(s, t): (d, n) for d, n, s, t in _bench().associations(pairs)}
    assert got == {
        ("呗", "贝"): (1.0, 3),  # 2·3 / (3 + 3)
        ("延", "推"): (1.0, 1),
        ("可", "能"): (1.0, 1), ("以", "能"): (1.0, 1),  # 2·1 / (1 + 1)
        ("可", "贝"): (0.5, 1), ("以", "贝"): (0.5, 1), ("呗", "能"): (0.5, 1),  # 2·1 / (3 + 1)
    }


def test_features_see_what_differs() -> None:
    """A candidate's row: Jaccard of characters, one-sided characters as indicators, shared ones apart."""
    from callops.knowledge.search import Doc

    f = _bench().features("花呗怎么还", Doc(key="a", title="", phrasings=("借呗怎么还",)), 2.0, 4.0, 0)
    assert f["cj"] == 4 / 6  # {呗, 怎, 么, 还} of {花, 借, 呗, 怎, 么, 还}
    assert f["rel"] == 0.5 and f["logrank"] == 0.0
    assert f["d:花"] == f["d:借"] == 1.0 and "d:呗" not in f and f["b:呗"] == 1.0
    assert f["db:花呗"] == f["db:借呗"] == 1.0 and "db:怎么" not in f
