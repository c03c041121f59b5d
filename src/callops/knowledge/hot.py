"""Hot topics: what customers suddenly ask a lot, found by a test for count data, pushed to the front line.

A subject (a business type of contacts, a search term, an article) is *hot* when its count in the current
window is significantly above its own baseline. With ``c`` events in the current window (length ``t_c``) and ``b``
in the baseline window (length ``t_b``), under the null hypothesis of one constant Poisson rate, ``c`` given
``n = c + b`` is Binomial(n, t_c / (t_c + t_b)) (the conditional test of two Poisson counts). The one-sided
p-value is ``P(X ≥ c)``; the p-values of one run are Holm-corrected (family-wise α, default 0.01), and a subject
needs at least ``MIN_COUNT`` events now. This is a test against each subject's own past, not a top-N list.

Each hot topic names the published article that covers it (see :func:`_covering`); when none does, a
knowledge-gap task goes to the owner of the articles tagged with the subject, else to ``default_owner``.

The baseline is the ``baseline_days`` before the current window, unweighted by weekday (a Monday peak against a
week that includes a Sunday is tested like any other change; see docs/knowledge.md).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scipy.stats import binom

from callops.knowledge import tokenize
from callops.store.db import Store
from callops.store.models_knowledge import EventKind, KbArticle, KbEvent, KbTask, TaskStatus
from callops.store.scoping import scoped, tenant_key

MIN_COUNT = 5
COVERAGE = 0.6
DEFAULT_OWNER = "kb-owner"


@dataclass
class HotTopic:
    """One subject whose volume rose significantly."""

    kind: str  # business_type | search_term | article
    subject: str
    current: int
    baseline: int
    expected: float
    p_value: float
    queues: list[str] = field(default_factory=list)
    article: str | None = None
    article_title: str | None = None
    task_id: int | None = None
    owner: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind, "subject": self.subject, "current": self.current, "baseline": self.baseline,
            "expected": round(self.expected, 2),
            "ratio": round(self.current / self.expected, 2) if self.expected else None,
            "p_value": float(f"{self.p_value:.3g}"), "queues": self.queues, "article": self.article,
            "article_title": self.article_title, "gap_task": self.task_id, "owner": self.owner,
        }


def p_upper(current: int, baseline: int, share: float) -> float:
    """One-sided p-value P(X ≥ current), X ~ Binomial(current + baseline, share)."""
    if current <= 0:
        return 1.0
    return float(binom.sf(current - 1, current + baseline, share))


def holm(pvalues: list[float], alpha: float) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise level ``alpha``."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    rejected = [False] * len(pvalues)
    m = len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected


def detect(current: Counter[str], baseline: Counter[str], share: float, *, alpha: float = 0.01,
           min_count: int = MIN_COUNT) -> list[tuple[str, int, int, float, float]]:
    """(subject, current, baseline, expected, p) for every subject significantly up; most significant first.

    ``share`` is t_c / (t_c + t_b). Subjects below ``min_count`` now are not tested (and not counted in Holm's m).
    """
    if not 0 < share < 1:
        raise ValueError("share must be between 0 and 1")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    tested = [s for s, c in current.items() if c >= min_count]
    ps = [p_upper(current[s], baseline.get(s, 0), share) for s in tested]
    out = []
    for s, p, hot in zip(tested, ps, holm(ps, alpha), strict=True):
        if hot:
            b = baseline.get(s, 0)
            expected = b * share / (1 - share)
            out.append((s, current[s], b, expected, p))
    return sorted(out, key=lambda r: (r[4], r[0]))


def _contact_counts(wh: Any, tenant: str, start: datetime, split: datetime, end: datetime
                    ) -> tuple[Counter[str], Counter[str], dict[str, Counter[str]]]:
    from callops import tenancy

    t = tenancy.scoped(wh, tenant, "contacts")
    t = t.filter((t.offered_at >= start) & (t.offered_at < end) & t.business_type.notnull())
    from ibis import _

    rows = (t.mutate(now=t.offered_at >= split)
            .group_by(["business_type", "queue", "now"]).aggregate(n=_.count()).to_pyarrow().to_pylist())
    cur: Counter[str] = Counter()
    base: Counter[str] = Counter()
    queues: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        if r["now"]:
            cur[r["business_type"]] += r["n"]
            if r["queue"]:
                queues[r["business_type"]][r["queue"]] += r["n"]
        else:
            base[r["business_type"]] += r["n"]
    return cur, base, queues


def last_contact(wh: Any, tenant: str) -> datetime | None:
    """The latest contact's arrival (the reference time for historical loads)."""
    from callops import tenancy

    t = tenancy.scoped(wh, tenant, "contacts")
    value = t.offered_at.max().to_pyarrow().as_py()
    return value


def _event_counts(session: Any, tenant: str, start: datetime, split: datetime, end: datetime
                  ) -> dict[str, tuple[Counter[str], Counter[str], dict[str, Counter[str]]]]:
    q = scoped(KbEvent, tenant).where(KbEvent.at >= start, KbEvent.at < end)
    out: dict[str, tuple[Counter[str], Counter[str], dict[str, Counter[str]]]] = {
        "search_term": (Counter(), Counter(), defaultdict(Counter)),
        "article": (Counter(), Counter(), defaultdict(Counter)),
    }
    for ev in session.scalars(q):
        if ev.kind == EventKind.searched.value and ev.query:
            kind, subject = "search_term", ev.query.strip().lower()[:100]
        elif ev.kind != EventKind.searched.value and ev.article_key:
            kind, subject = "article", ev.article_key
        else:
            continue
        cur, base, queues = out[kind]
        if ev.at >= split:
            cur[subject] += 1
            if ev.queue:
                queues[subject][ev.queue] += 1
        else:
            base[subject] += 1
    return out


def detect_for_tenant(store: Store, tenant: str, *, wh: Any = None, now: datetime | None = None,
                      window: timedelta = timedelta(days=1), baseline_days: int = 7, alpha: float = 0.01,
                      notify: bool = False, default_owner: str = DEFAULT_OWNER) -> list[HotTopic]:
    """Hot business types (from the warehouse's contacts, when ``wh`` is given), search terms and articles (from
    the knowledge events), each with its covering article or, with ``notify``, a knowledge-gap task for its owner
    and an in-app notification in the outbox."""
    from callops.knowledge import service
    from callops.store import outbox

    key = tenant_key(tenant)
    now = now or datetime.now().astimezone()
    split, start = now - window, now - window - timedelta(days=baseline_days)
    share = window / (window + timedelta(days=baseline_days))
    sources: dict[str, tuple[Counter[str], Counter[str], dict[str, Counter[str]]]] = {}
    if wh is not None:
        ref = last_contact(wh, key) or now
        ref_split, ref_start = ref - window, ref - window - timedelta(days=baseline_days)
        sources["business_type"] = _contact_counts(wh, key, ref_start, ref_split, ref + timedelta(seconds=1))
    with store.session() as s:
        sources.update(_event_counts(s, key, start, split, now))
    topics: list[HotTopic] = []
    for kind, (cur, base, queues) in sources.items():
        for subject, c, b, expected, p in detect(cur, base, share, alpha=alpha):
            top_queues = [q for q, _ in queues.get(subject, Counter()).most_common(3)]
            topics.append(HotTopic(kind, subject, c, b, expected, p, top_queues))
    if not topics:
        return topics
    index = service.tenant_index(store, key)
    keep = index.mask()
    with store.session() as s:
        for t in topics:
            if t.kind == "article":
                row = s.scalars(scoped(KbArticle, key).where(KbArticle.key == t.subject)).one_or_none()
                t.article, t.article_title = t.subject, row.title if row else None
                t.owner = row.owner if row else None
            else:
                covering = _covering(index, keep, t)
                if covering is not None:
                    t.article, t.article_title, t.owner = covering.key, covering.title, covering.owner
                else:
                    t.owner = _owner_for(index, t.subject) or default_owner
                    if notify:
                        t.task_id = _gap_task(s, key, t)
            if notify:
                payload = {"kind": "kb_hot_topic", **t.as_dict()}
                outbox.enqueue(s, key, "inapp", f"kb-hot:{t.kind}:{t.subject}:{now:%Y%m%d}", payload, now=now)
    return topics


def coverage(subject: str, doc: Any, index: Any = None) -> float:
    """Share of the subject's words and Han characters found in the article, each weighted by its BM25 inverse
    document frequency in ``index``; 0 when the subject's most distinctive token (highest idf: eSIM, 副) is not in
    the article, however many common characters (怎, 么, 开, 通) it shares."""
    want = set(tokenize.tokens(subject, "char1", word_pairs=False))
    if not want:
        return 0.0
    have = set(tokenize.tokens(" ".join([doc.title, *doc.phrasings, doc.body]), "char1", word_pairs=False))
    weight = _idf(index) if index is not None else (lambda _tok: 1.0)
    weights = {x: weight(x) for x in want}
    top = max(weights.values())
    if any(w == top and x not in have for x, w in weights.items()):
        return 0.0  # the subject's most distinctive token is missing: the article is about something else
    return sum(weights[x] for x in want & have) / sum(weights.values())


def _idf(index: Any) -> Any:
    """Token → BM25 idf over the index's article units (Lucene's formula, as bm25s uses)."""
    import math

    retriever = index.retriever
    n = len(index.unit_article)
    indptr = retriever.scores["indptr"] if retriever is not None else None

    def idf(tok: str) -> float:
        tid = retriever.vocab_dict.get(tok) if retriever is not None else None
        df = int(indptr[tid + 1] - indptr[tid]) if tid is not None else 0
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    return idf


def _covering(index: Any, keep: Any, topic: HotTopic) -> Any:
    """The published article that covers a topic: for a business type, the best of the articles tagged with it;
    for a search term, the best hit holding at least ``COVERAGE`` of the term's distinctive tokens, weighted by
    idf (a hit that only shares 怎么 and 开通 with 'eSIM怎么开通' does not cover it)."""
    if topic.kind == "business_type":
        tagged = [d for i, d in enumerate(index.docs) if topic.subject in d.tags and keep[i]]
        if not tagged:
            return None
        scores = index.scores(topic.subject.replace("_", " "))
        return max(tagged, key=lambda d: scores[index.position[d.key]])
    for hit in index.search(topic.subject, k=3, keep=keep, highlights=False):
        doc = index.docs[index.position[hit.key]]
        if coverage(topic.subject, doc, index) >= COVERAGE:
            return doc
    return None


def _owner_for(index: Any, subject: str) -> str | None:
    """The owner of the articles tagged with ``subject`` (a business type), if any."""
    owners = Counter(d.owner for d in index.docs if subject in d.tags and d.owner)
    return owners.most_common(1)[0][0] if owners else None


def _gap_task(session: Any, tenant: str, topic: HotTopic) -> int:
    """Open (once per subject) a knowledge-gap task for the topic's owner."""
    topic_key = f"{topic.kind}:{topic.subject}"[:300]
    row = session.scalars(scoped(KbTask, tenant).where(KbTask.topic_key == topic_key)).one_or_none()
    if row is None:
        row = KbTask(tenant_id=tenant, topic_key=topic_key, title=f"No article covers {topic.subject}"[:300],
                     owner=topic.owner or DEFAULT_OWNER, status=TaskStatus.open.value, details=topic.as_dict(),
                     created_at=datetime.now().astimezone())
        session.add(row)
        session.flush()
    return row.id


def open_tasks(session: Any, tenant: str) -> list[KbTask]:
    """The tenant's open knowledge-gap tasks, newest first."""
    q = scoped(KbTask, tenant).where(KbTask.status == TaskStatus.open.value).order_by(KbTask.created_at.desc())
    return list(session.scalars(q))
