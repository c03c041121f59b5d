"""A re-ranker learned from a tenant's own labelled questions (question → the article that answers it).

The lexical index finds the right article among its first 30 far more often than at rank 1 on hard paraphrase
sets (ATEC: the right article is in the top 30 for about a third of the questions, at rank 1 for 4 %). A
logistic regression over the top ``K`` candidates — the index's score, how much of the question the candidate's
closest phrasing covers, and which characters (or words) differ — learns which differences matter *in this
tenant's questions* (花呗 / 借呗, 推迟 / 延期 ...) and re-orders them.

Where the labels come from: a JSON-lines file (``callops kb train FILE``, the ``kb evaluate`` format) and the
tenant's own agents: a search followed by a *used*, *linked* or *sent* article on the same contact is a labelled
question. The model is stored per tenant as plain weights (JSON, no pickle); searching needs no scikit-learn.

The features and the regularisation were chosen on ATEC's dev split and confirmed on held-out groups, never on
the questions they are reported on (``bench/knowledge_rerank.py``, docs/benchmarks.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

import numpy as np

from callops.errors import CallopsError
from callops.knowledge.evaluate import Labelled
from callops.knowledge.search import Doc, Index, clean_query

K = 30  # candidates re-ordered (the index's top K)
C = 0.01  # inverse L2 strength (chosen on ATEC dev among 0.003–1.0)
FORMAT = 1
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_WORD = re.compile(r"\w+")


def units(text: str) -> list[str]:
    """The units compared: the Han characters when the text has any (punctuation and Latin dropped), else words."""
    t = text.lower()
    han = _HAN.findall(t)
    return han if han else _WORD.findall(t)


def _pairs(u: Sequence[str]) -> set[str]:
    # Han characters pair as they are written (花呗); words keep a separator so "a bc" and "ab c" differ
    return {u[i] + ("" if _HAN.match(u[i]) else "\x1f") + u[i + 1] for i in range(len(u) - 1)}


def candidates(index: Index, query: str, keep: np.ndarray | None = None, k: int = K
               ) -> tuple[list[int], list[float]]:
    """The top ``k`` articles (positions) of ``index`` for ``query`` among ``keep``, with their scores."""
    sc = index.scores(clean_query(query))
    if keep is not None:
        sc = np.where(keep, sc, 0.0)
    cand = np.flatnonzero(sc > 0)
    top = cand[np.argpartition(-sc[cand], k - 1)[:k]] if len(cand) > k else cand
    top = top[np.lexsort((top, -sc[top]))]
    return [int(i) for i in top], [float(sc[i]) for i in top]


def features(query: str, doc: Doc, score: float, top: float, rank: int) -> dict[str, float]:
    """One (question, candidate article) row: the index's view, the closest phrasing's overlap, the differences."""
    qn = units(query)
    qc, qb = set(qn), _pairs(qn)
    best: tuple[float, list[str], set[str]] | None = None
    for p in doc.phrasings or (doc.title,):
        pn = units(p)
        pc = set(pn)
        j = len(qc & pc) / max(1, len(qc | pc))
        if best is None or j > best[0]:
            best = (j, pn, pc)
    assert best is not None
    j, pn, pc = best
    pb = _pairs(pn)
    f = {"score": score, "rel": score / top if top else 0.0, "logrank": math.log1p(rank), "cj": j,
         "bj": len(qb & pb) / max(1, len(qb | pb)), "lenr": min(len(qn), len(pn)) / max(1, len(qn), len(pn)),
         "sm": SequenceMatcher(None, qn, pn, autojunk=False).ratio(), "qmiss": len(qc - pc) / max(1, len(qc)),
         "dmiss": len(pc - qc) / max(1, len(pc)), "bqmiss": len(qb - pb) / max(1, len(qb)),
         "bdmiss": len(pb - qb) / max(1, len(pb)), "nphr": math.log(min(max(len(doc.phrasings), 1), 4))}
    for c in qc ^ pc:  # a unit on one side only: which differences change the meaning
        f["d:" + c] = 1.0
    for c in qc & pc:
        f["b:" + c] = 1.0
    for b in qb ^ pb:
        f["db:" + b] = 1.0
    return f


def rows_for(index: Index, query: str, cand: Sequence[int], scores: Sequence[float]) -> list[dict[str, float]]:
    """Feature rows of the candidates ``cand`` (positions in ``index``, best first) with their index scores."""
    top = scores[0] if len(scores) else 0.0
    return [features(query, index.docs[i], s, top, r) for r, (i, s) in enumerate(zip(cand, scores, strict=True))]


def candidate_rows(index: Index, query: str, keep: np.ndarray | None = None
                   ) -> tuple[list[int], list[dict[str, float]]]:
    """The query's candidates and their feature rows."""
    cand, sc = candidates(index, query, keep)
    return cand, rows_for(index, query, cand, sc)


@dataclass
class Reranker:
    """A fitted model: one weight per feature name (the scaling folded in) and an intercept."""

    weights: dict[str, float]
    intercept: float
    trained: dict[str, Any] = field(default_factory=dict)
    k: int = K

    def decision(self, rows: Sequence[dict[str, float]]) -> np.ndarray:
        """The model's decision value of each row (higher: more likely the answer)."""
        w = self.weights
        return np.array([self.intercept + sum(w.get(name, 0.0) * v for name, v in r.items()) for r in rows])

    def reorder(self, index: Index, query: str, cand: Sequence[int], scores: Sequence[float]) -> list[int]:
        """``cand`` (the index's best first, with their scores) in the model's order (ties keep the index's)."""
        if not len(cand):
            return []
        order = np.argsort(-self.decision(rows_for(index, query, cand, scores)), kind="stable")
        return [int(cand[o]) for o in order]

    def to_json(self) -> dict[str, Any]:
        """The stored form (plain numbers: loading it runs no code)."""
        return {"format": FORMAT, "k": self.k, "intercept": self.intercept, "weights": self.weights,
                "trained": self.trained}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reranker:
        """Load a stored model; an unknown format is refused rather than misread."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CallopsError("stored re-ranker has an unknown format; train it again (callops kb train)")
        return cls({str(k): float(v) for k, v in data["weights"].items()}, float(data["intercept"]),
                   dict(data.get("trained") or {}), int(data.get("k", K)))


def question_rows(index: Index, items: Sequence[Labelled], keep: np.ndarray | None = None
                  ) -> list[tuple[list[dict[str, float]], list[int]]]:
    """Per labelled question: its candidates' feature rows and 0/1 labels (1: an expected article)."""
    out = []
    for item in items:
        cand, feats = candidate_rows(index, item.query, keep)
        out.append((feats, [int(index.docs[i].key in item.expected) for i in cand]))
    return out


def fit(index: Index, items: Sequence[Labelled], *, keep: np.ndarray | None = None, c: float = C) -> Reranker:
    """Fit the re-ranker on labelled questions searched in ``index`` among ``keep``."""
    return fit_table(question_rows(index, items, keep), c=c)


def fit_table(table: Sequence[tuple[list[dict[str, float]], list[int]]], *, c: float = C) -> Reranker:
    """Fit on :func:`question_rows`' output; refused when no question has its answer beside a wrong candidate."""
    rows = [r for feats, _ in table for r in feats]
    labels = [y for _, labs in table for y in labs]
    if sum(labels) == 0 or sum(labels) == len(labels):
        raise CallopsError(f"none of the {len(table)} questions has its answer among the top {K} candidates "
                           "and a wrong one beside it: nothing to learn from")
    covered = sum(1 for _, labs in table if any(labs))
    return fit_rows(rows, labels, c=c, trained={"queries": len(table), "answer_in_candidates": covered})


def fit_rows(rows: Sequence[dict[str, float]], labels: Sequence[int], *, c: float = C,
             trained: dict[str, Any] | None = None) -> Reranker:
    """Fit on ready feature rows and 0/1 labels (both classes present)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MaxAbsScaler

    vec = DictVectorizer()
    x = vec.fit_transform(rows)
    scaler = MaxAbsScaler().fit(x)
    model = LogisticRegression(C=c, max_iter=2000).fit(scaler.transform(x), np.asarray(labels))
    coef = model.coef_[0] / scaler.scale_  # fold the scaling in: w·(x / s) = (w / s)·x
    weights = {name: float(w) for name, w in zip(vec.feature_names_, coef, strict=True) if w != 0.0}
    return Reranker(weights, float(model.intercept_[0]), {**(trained or {}), "rows": len(rows), "c": c})
