"""The search index: Chinese and English articles in one BM25 index (bm25s), field boosts, filters, highlights.

Each article is indexed as units in one BM25 space — its title, its phrasings together and its body — and, in a
second BM25 space, **each phrasing on its own**. An article's score is ``Σ boost(field) × unit score`` plus
``0.3 ×`` its best single phrasing: a customer's question usually paraphrases *one* way of asking, which a long
concatenation of every phrasing dilutes (numbers in docs/benchmarks.md).

Chinese: articles are ranked on single characters (and English words/word pairs) but must share at least one
*strong* token with the question — a word, a word pair or a Han character pair — to be ranked at all. On the
real question sets this ranks better than scoring the pairs or jieba words, and it keeps articles that only share
的 or 费 out of the answer. Last, the score is multiplied by a phrasing-count prior,
``1 + 0.15 × ln(min(phrasings, 4))``: an established question outranks a one-off note that says the same (tuned on
held-out queries, never the reported ones).

Filters (audience, state, tags, language, expiry) are boolean masks over the articles applied before the
top-k, so a filter never empties a result that would otherwise have matches further down.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import bm25s
import numpy as np

from callops.errors import CallopsError
from callops.knowledge import tokenize

if TYPE_CHECKING:
    from callops.knowledge.rerank import Reranker

MAX_QUERY_CHARS = 2000
MAX_QUERY_TOKENS = 256
FIELDS = ("title", "phrasings", "body")
# Tuned on a dev split of banking77 training phrasings (every 5th held out), never on the test questions.
DEFAULT_BOOSTS = {"title": 0.5, "phrasings": 1.0, "body": 0.3, "best_phrasing": 0.3}
# Tuned on held-out BQ/ATEC queries (those after the first 1,000 reported ones; docs/knowledge.md, "Tuning"):
# an article's score is multiplied by 1 + 0.15 × ln(min(phrasings, 4)): an article customers have asked in several
# ways is more likely the answer than a one-phrasing note, and beyond four ways the count says no more (banking77's
# intents all have dozens, so English ranks as before). Scoring Han character pairs too (PAIR_WEIGHT × their BM25
# score) helped BQ's held-out queries by a query or two and cost ATEC's R@1 a few, so it stays off by default.
PAIR_WEIGHT = 0.0
PHRASING_PRIOR = 0.15
PRIOR_CAP = 4
_PAD = 8  # articles with up to this many phrasings take the gather path of Index._best_phrasing
_MD = re.compile(r"[#*_`>\[\]()!|-]+")
_LINK_TARGET = re.compile(r"\]\((?:kb:)?[^)]*\)")


@dataclass(frozen=True)
class Doc:
    """What the index needs of an article."""

    key: str
    title: str
    body: str = ""
    phrasings: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ("agent",)
    language: str = "zh"
    state: str = "published"
    valid_to: date | None = None
    owner: str = ""
    confidence: str = "validated"


@dataclass
class Hit:
    """One search result."""

    key: str
    score: float
    title: str
    state: str
    language: str
    expired: bool
    highlights: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "id": self.key, "score": round(self.score, 4), "title": self.title, "state": self.state,
            "language": self.language, "expired": self.expired, "highlights": self.highlights,
        }


def clean_query(query: str) -> str:
    """The query with control characters removed; refuses empty and over-long queries with a clear message."""
    if not isinstance(query, str):
        raise CallopsError("the query must be text")
    if len(query) > MAX_QUERY_CHARS:
        raise CallopsError(f"query is {len(query)} characters long; at most {MAX_QUERY_CHARS} are searched")
    cleaned = " ".join(tokenize.normalize(query).split())
    if not cleaned:
        raise CallopsError("empty query: type a few words of the question")
    return cleaned


def plain_body(markdown: str) -> str:
    """Markdown body as text to index (link targets and markup removed)."""
    return _MD.sub(" ", _LINK_TARGET.sub("]", markdown))


def bm25_scores(retriever: bm25s.BM25, toks: Sequence[str], weights: Sequence[float] | None = None) -> np.ndarray:
    """BM25 score of every unit for ``toks`` from the retriever's precomputed per-token score columns.

    The same sum bm25s's ``get_scores`` makes (a test checks they agree), with one ``np.bincount`` over the
    query tokens' postings instead of ``np.add.at``: several times faster for common Han characters, whose
    postings cover most of the units. ``weights`` (one per token) scale each token's contribution.
    """
    sc = retriever.scores
    return _postings_sum(retriever.vocab_dict, sc["indptr"], sc["indices"], sc["data"], int(sc["num_docs"]), toks,
                         weights)


def _postings_sum(vocab: dict[str, int], indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n: int,
                  toks: Sequence[str], weights: Sequence[float] | None) -> np.ndarray:
    """Σ over ``toks`` (× their weights) of each token's postings ``(indices, data)[indptr[t]:indptr[t+1]]``."""
    pairs = [(vocab[t], 1.0 if weights is None else float(weights[k])) for k, t in enumerate(toks) if t in vocab]
    pairs = [(i, wt) for i, wt in pairs if wt]
    if not pairs:
        return np.zeros(n, dtype=np.float64)
    spans = [(int(indptr[i]), int(indptr[i + 1]), wt) for i, wt in pairs]
    idx = np.concatenate([indices[a:b] for a, b, _ in spans])
    w = np.concatenate([data[a:b] if wt == 1.0 else data[a:b] * wt for a, b, wt in spans])
    return np.bincount(idx, weights=w, minlength=n)


class Index:
    """A built index over a list of :class:`Doc` (immutable; rebuild to change)."""

    def __init__(
        self,
        docs: Sequence[Doc],
        *,
        mode: str = "char12",
        word_pairs: bool = True,
        stem: bool = True,
        boosts: dict[str, float] | None = None,
        synonyms: Sequence[Sequence[str]] = (),
        per_phrasing: bool = True,
        pairs_score: bool = False,
        k1: float = 1.5,
        b: float = 0.75,
        pair_weight: float | None = None,
        phrasing_prior: float | None = None,
    ) -> None:
        """Tokenise and index ``docs``. ``per_phrasing=False`` with ``boosts={"body": 1}`` is plain BM25.

        ``pair_weight`` (Han character pairs' share of the score) and ``phrasing_prior`` (the phrasing-count
        prior) default to :data:`PAIR_WEIGHT` and :data:`PHRASING_PRIOR` with ``per_phrasing``, else to 0.
        """
        if mode not in tokenize.MODES:
            raise CallopsError(f"unknown tokenizer {mode!r}; use one of {', '.join(tokenize.MODES)}")
        self.docs = list(docs)
        self.mode, self.word_pairs, self.stem = mode, word_pairs, stem
        self.boosts = dict(DEFAULT_BOOSTS if boosts is None else boosts)
        self.per_phrasing = per_phrasing
        self.pairs_score = pairs_score
        self.pair_weight = (PAIR_WEIGHT if per_phrasing else 0.0) if pair_weight is None else float(pair_weight)
        prior = (PHRASING_PRIOR if per_phrasing else 0.0) if phrasing_prior is None else float(phrasing_prior)
        counts = np.array([min(max(len(d.phrasings), 1), PRIOR_CAP) for d in docs], dtype=np.float64)
        self._prior = 1.0 + prior * np.log(counts) if prior and len(counts) else None
        self._synonyms = self._synonym_tokens(synonyms)
        # Each text is tokenised once: the phrasings' tokens make both their joint unit and their own units.
        tok = self._tokens
        title_t = [tok(d.title) for d in self.docs]
        phr_t = [[tok(p) for p in d.phrasings] for d in self.docs]
        body_t = [tok(plain_body(d.body)) if d.body else [] for d in self.docs]
        if per_phrasing:
            groups = [[(0, t) for t in title_t], [(1, [x for p in ps for x in p]) for ps in phr_t],
                      [(2, t) for t in body_t]]
        else:  # one document per article
            joined = zip(title_t, phr_t, body_t, strict=True)
            groups = [[(2, t + [x for p in ps for x in p] + bt) for t, ps, bt in joined]]
        self.retriever, self.unit_article, self.unit_field = self._build(*groups, k1=k1, b=b)
        # Each phrasing on its own (its own BM25 space: lengths of single questions normalise each other).
        self.phr_retriever, self.phr_article, _ = self._build(
            [(3, p) for ps in phr_t for p in ps] if per_phrasing and self.boosts.get("best_phrasing") else [],
            k1=k1, b=b, articles=[i for i, ps in enumerate(phr_t) for _ in ps],
        )
        self._field_boost = np.array([self.boosts.get(name, 0.0) for name in FIELDS] + [0.0])
        # Per unit: its field's boost. Queries work on whole dense arrays: a scan for the non-zero units was half
        # of a query's time, and most units match a common Han character anyway.
        self._unit_boost = self._field_boost[self.unit_field]
        # The first space's postings once more, mapped to articles and multiplied by their unit's field boost:
        # a query then sums straight into articles (no per-unit array, no boost pass, no article bincount).
        # 2.5× the queries per second at 100k articles for 8 bytes a posting (73 MB there; float32 as bm25s's own).
        if self.retriever is not None:
            sc = self.retriever.scores
            self._art_indices = self.unit_article[sc["indices"]].astype(np.int32)
            self._art_data = (sc["data"] * self._unit_boost[sc["indices"]]).astype(np.float32)
        self._plan_best_phrasing()
        n = len(self.docs)
        self.states = np.array([d.state for d in self.docs], dtype=object)
        self.languages = np.array([d.language for d in self.docs], dtype=object)
        self.valid_to = np.array([d.valid_to.toordinal() if d.valid_to else 10**7 for d in self.docs], dtype=np.int64)
        self._audience: dict[str, np.ndarray] = {}
        self._tag: dict[str, np.ndarray] = {}
        for name, groups in (("_audience", "audiences"), ("_tag", "tags")):
            index: dict[str, list[int]] = {}
            for i, d in enumerate(self.docs):
                for v in getattr(d, groups):
                    index.setdefault(v, []).append(i)
            setattr(self, name, {k: np.asarray(v, dtype=np.int64) for k, v in index.items()})
        self.position = {d.key: i for i, d in enumerate(self.docs)}
        self.size = n

    def _build(self, *groups: list[tuple[int, list[str]]], k1: float, b: float, articles: list[int] | None = None,
               ) -> tuple[bm25s.BM25 | None, np.ndarray, np.ndarray]:
        """One BM25 index over the non-empty token lists of ``groups`` (article i's unit of each group is its
        i-th, or ``articles[i]``)."""
        unit_article: list[int] = []
        unit_field: list[int] = []
        corpus: list[list[str]] = []
        for group in groups:
            for i, (f, toks) in enumerate(group):
                if toks:
                    unit_article.append(articles[i] if articles is not None else i)
                    unit_field.append(f)
                    corpus.append(toks)
        retriever = None
        if corpus:
            retriever = bm25s.BM25(k1=k1, b=b)
            retriever.index(corpus, show_progress=False)
        return retriever, np.asarray(unit_article, dtype=np.int64), np.asarray(unit_field, dtype=np.int8)

    def _plan_best_phrasing(self) -> None:
        """Gather plans for each article's best phrasing score (phrasing units are stored article by article).

        Articles with up to ``_PAD`` phrasings: one column of unit positions per rank (short articles point at a
        zero sentinel past the end), so the best is ``_PAD`` gathers and element-wise maxima; ``maximum.reduceat``
        over 100k short segments cost 10 ms a query. Articles with more phrasings: one reduceat over their
        segments.
        """
        owners = self.phr_article
        n = len(owners)
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if n else np.empty(0, dtype=np.int64)
        ends = np.r_[starts[1:], n].astype(np.int64) if n else starts
        counts = ends - starts
        small = counts <= _PAD
        width = int(counts[small].max()) if small.any() else 0
        cols = starts[small][None, :] + np.arange(width)[:, None]
        self._pad_cols = [np.where(j < counts[small], cols[j], n) for j in range(width)]  # n: the zero sentinel
        self._pad_owner = owners[starts[small]]
        self._big_owner = owners[starts[~small]]
        self._big_bounds = np.column_stack([starts[~small], ends[~small]]).ravel()

    def _best_phrasing(self, phr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(articles, their best phrasing score) for per-phrasing-unit scores ``phr``."""
        ext = np.append(phr, 0.0)
        best = ext[self._pad_cols[0]] if self._pad_cols else np.empty(0)
        for col in self._pad_cols[1:]:
            np.maximum(best, ext[col], out=best)
        if not len(self._big_owner):
            return self._pad_owner, best
        big = np.maximum.reduceat(ext, self._big_bounds)[::2]  # pairs (start, end): every other segment is ours
        return np.r_[self._pad_owner, self._big_owner], np.r_[best, big]

    def _tokens(self, text: str) -> list[str]:
        return tokenize.tokens(text, self.mode, word_pairs=self.word_pairs, stem=self.stem)

    def _synonym_tokens(self, groups: Sequence[Sequence[str]]) -> list[tuple[list[str], list[str]]]:
        """Per group: (normalised phrases, tokens of the whole group)."""
        out = []
        for group in groups:
            phrases = [tokenize.normalize(p).strip() for p in group if p and p.strip()]
            toks = [t for p in phrases for t in self._tokens(p)]
            out.append((phrases, toks))
        return out

    def query_tokens(self, query: str) -> list[str]:
        """The query's tokens plus those of every synonym group one of whose phrases the query contains."""
        toks = self._tokens(query)
        normalized = tokenize.normalize(query)
        for phrases, group_toks in self._synonyms:
            if any(p and p in normalized for p in phrases):
                toks.extend(t for t in group_toks if t not in toks)
        return toks[:MAX_QUERY_TOKENS]

    def scores(self, query: str) -> np.ndarray:
        """Score of every article for ``query`` (0 where nothing matches).

        An article must share at least one *strong* token with the query (a word, a word pair or a pair of Han
        characters); one matching on single Han characters only (一, 的, 费 ...) scores 0, so "found nothing"
        means something. Indexes without character pairs (``char1``, ``jieba``) count every token as strong.
        The sum is then multiplied by the phrasing-count prior (see :data:`PHRASING_PRIOR`).
        """
        out = self._unweighted_scores(self.query_tokens(query))
        if self._prior is not None:
            out *= self._prior
        return out

    def _unweighted_scores(self, toks: list[str]) -> np.ndarray:
        """:meth:`scores` before the phrasing-count prior."""
        if self.mode != "char12":
            return self._scores(toks)
        strong = [t for t in toks if not (len(t) == 1 and tokenize.has_han(t))]
        weak = [t for t in toks if len(t) == 1 and tokenize.has_han(t)]
        if not self.pairs_score:  # rank on words and single characters (+ pair_weight × pairs); pairs gate
            strong_words = [t for t in strong if not tokenize.has_han(t)]
            han_pairs = [t for t in strong if tokenize.has_han(t)] if self.pair_weight else []
            ranked = strong_words + weak + han_pairs
            weights = [1.0] * (len(ranked) - len(han_pairs)) + [self.pair_weight] * len(han_pairs)
            out = self._scores(ranked, weights)
            if not weak:  # every token is strong: an article scores > 0 exactly when one of them touches it
                return out
            return np.where(self._touched(strong), out, 0.0)
        out = self._scores(strong)
        if weak:
            out += np.where(out > 0, self._scores(weak), 0.0)
        return out

    def _touched(self, toks: list[str]) -> np.ndarray:
        """Which articles hold any of ``toks`` in some unit (from the postings alone: no scoring).

        The first space is enough: it holds every phrasing (in the article's joint phrasings unit) besides the
        title and body, so the per-phrasing space has no token it lacks.
        """
        hit = np.zeros(self.size, dtype=bool)
        if self.retriever is None:
            return hit
        indptr = self.retriever.scores["indptr"]
        for t in toks:
            i = self.retriever.vocab_dict.get(t)
            if i is not None:
                hit[self._art_indices[indptr[i]:indptr[i + 1]]] = True
        return hit

    def _scores(self, toks: list[str], weights: list[float] | None = None) -> np.ndarray:
        if not self.size or self.retriever is None or not toks:
            return np.zeros(self.size, dtype=np.float64)
        out = _postings_sum(self.retriever.vocab_dict, self.retriever.scores["indptr"], self._art_indices,
                            self._art_data, self.size, toks, weights)
        boost = self.boosts.get("best_phrasing", 0.0)
        if boost and self.phr_retriever is not None:
            # a customer's question paraphrases one way of asking: add each article's best single phrasing
            phr = bm25_scores(self.phr_retriever, toks, weights)
            owners, best = self._best_phrasing(phr)
            out[owners] += boost * best
        return out

    def mask(
        self,
        *,
        audience: str | None = None,
        states: Sequence[str] | None = ("published",),
        tags: Sequence[str] = (),
        language: str | None = None,
        include_expired: bool = False,
        today: date | None = None,
    ) -> np.ndarray:
        """Which articles pass the filters (tags: an article must carry every tag given)."""
        keep = np.ones(self.size, dtype=bool)
        if audience:
            only = np.zeros(self.size, dtype=bool)
            only[self._audience.get(audience, np.empty(0, dtype=np.int64))] = True
            keep &= only
        if states:
            keep &= np.isin(self.states, list(states))
        for tag in tags:
            only = np.zeros(self.size, dtype=bool)
            only[self._tag.get(tag, np.empty(0, dtype=np.int64))] = True
            keep &= only
        if language:
            keep &= self.languages == language
        if not include_expired:
            keep &= self.valid_to >= (today or date.today()).toordinal()
        return keep

    def search(self, query: str, *, k: int = 10, keep: np.ndarray | None = None, today: date | None = None,
               highlights: bool = True, reranker: Reranker | None = None) -> list[Hit]:
        """The top ``k`` articles for ``query`` among those ``keep`` allows (default: every article).

        With a ``reranker`` (a :class:`callops.knowledge.rerank.Reranker`), the index's first ``reranker.k``
        are put in its order; the hits keep their lexical scores.
        """
        query = clean_query(query)
        scores = self.scores(query)
        if keep is not None:
            scores = np.where(keep, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if not len(candidates):
            return []
        k = max(1, min(int(k), 100))
        n = max(k, reranker.k) if reranker is not None else k
        top = candidates[np.argpartition(-scores[candidates], n - 1)[:n]] if len(candidates) > n else candidates
        top = top[np.lexsort((top, -scores[top]))]
        if reranker is not None:
            head = top[: reranker.k]
            top = np.array(reranker.reorder(self, query, head, scores[head].tolist()) + top[reranker.k:].tolist())
        top = top[:k]
        day = (today or date.today()).toordinal()
        hits = []
        for i in top:
            d = self.docs[int(i)]
            hit = Hit(d.key, float(scores[i]), d.title, d.state, d.language, bool(self.valid_to[i] < day))
            if highlights:
                hit.highlights = self._highlights(d, query)
            hits.append(hit)
        return hits

    def _highlights(self, d: Doc, query: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, text in (("title", d.title), ("body", d.body)):
            snippet = tokenize.highlight(text, query)
            if snippet:
                out[name] = snippet
        for p in d.phrasings:
            snippet = tokenize.highlight(p, query)
            if snippet:
                out["phrasing"] = snippet
                break
        return out
