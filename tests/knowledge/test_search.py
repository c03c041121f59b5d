"""Tokens, the index (boosts, filters, expiry, synonyms, highlights), bad queries and the evaluation maths."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callops.errors import CallopsError
from callops.knowledge import datasets, tokenize
from callops.knowledge.evaluate import Labelled, evaluate, rank_of
from callops.knowledge.search import Doc, Index, clean_query

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_chinese_characters_and_pairs_english_words_and_pairs() -> None:
    assert tokenize.tokens("流量包", "char12") == ["流", "量", "包", "流量", "量包"]
    assert tokenize.tokens("流量包", "char1") == ["流", "量", "包"]
    assert tokenize.tokens("Card arrival", stem=False) == ["card", "arrival", "card_arrival"]
    # full-width letters fold to ASCII; a Han run breaks the word pairs
    assert tokenize.tokens("ＳＩＭ卡 lost", stem=False) == ["sim", "卡", "lost"]


@given(st.text(max_size=200))
def test_tokens_never_hold_spaces_or_control_characters(text: str) -> None:
    for tok in tokenize.tokens(text):
        assert tok and not any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in tok)


@given(st.text(max_size=150), st.text(max_size=30))
def test_highlight_escapes_everything_but_its_marks(text: str, query: str) -> None:
    out = tokenize.highlight(text, query)
    if out is not None:
        stripped = out.replace("<mark>", "").replace("</mark>", "")
        assert "<" not in stripped and ">" not in stripped


def test_highlight_marks_words_and_chinese_pairs() -> None:
    assert tokenize.highlight("如何办理流量包", "流量") == "如何办理<mark>流量</mark>包"
    assert tokenize.highlight("Top up <b>card</b>", "card") == "Top up &lt;b&gt;<mark>card</mark>&lt;/b&gt;"


DOCS = [
    Doc("title-hit", "停机保号", body="其他内容", language="zh"),
    Doc("body-hit", "其他说明", body="办理停机保号需要身份证", language="zh"),
    Doc("en-roaming", "Roaming charges abroad", body="Data roaming costs", language="en", tags=("roaming",)),
    Doc("cust", "Pay your bill online", audiences=("customer",), language="en", tags=("billing",)),
    Doc("draft", "Pay your bill by phone", state="draft", language="en"),
    Doc("old", "Pay your bill at a counter", language="en", valid_to=date(2020, 1, 1)),
    Doc("plan", "流量包办理", phrasings=("怎么订流量包",), language="zh"),
]


def test_title_outranks_body_and_one_index_holds_both_languages() -> None:
    idx = Index(DOCS)
    assert [h.key for h in idx.search("停机保号")][:2] == ["title-hit", "body-hit"]
    assert idx.search("roaming abroad")[0].key == "en-roaming"


def test_filters_and_expiry() -> None:
    idx = Index(DOCS)
    today = date(2026, 12, 6)
    bill = lambda **kw: {h.key for h in idx.search("pay bill", keep=idx.mask(today=today, **kw), today=today)}  # noqa: E731
    assert bill() == {"cust"}  # draft and expired left out
    assert bill(states=["published", "draft"]) == {"cust", "draft"}
    assert bill(include_expired=True) == {"cust", "old"}
    assert bill(audience="agent") == set()
    assert bill(tags=["billing"]) == {"cust"}
    assert bill(language="zh") == set()
    hits = idx.search("pay bill", keep=idx.mask(include_expired=True, today=today), today=today)
    assert {h.key: h.expired for h in hits} == {"cust": False, "old": True}


def test_synonyms_expand_the_query() -> None:
    plain = {h.key for h in Index(DOCS).search("data bundle")}
    assert "plan" not in plain
    with_syn = Index(DOCS, synonyms=[["流量包", "data bundle"]])
    assert with_syn.search("data bundle")[0].key == "plan"


@pytest.mark.parametrize("query", ["", "   ", "\x00\x01\x1f", "\u200b"])
def test_empty_queries_are_refused_clearly(query: str) -> None:
    with pytest.raises(CallopsError, match="empty query"):
        Index(DOCS).search(query)


def test_long_query_is_refused_clearly() -> None:
    with pytest.raises(CallopsError, match="10000 characters"):
        clean_query("流" * 10_000)
    assert Index(DOCS).search("停机\x00保号\x07")[0].key == "title-hit"  # control characters are dropped


def test_metrics_by_hand() -> None:
    ranked = {"a": ["x", "a"], "b": ["b"], "c": ["1", "2", "3", "4", "c"], "d": ["q"]}
    items = [Labelled(q, frozenset([q])) for q in ranked]
    res = evaluate(lambda q: ranked[q], items)
    assert res["queries"] == 4
    assert res["recall_at_1"] == 0.25 and res["recall_at_3"] == 0.5 and res["recall_at_5"] == 0.75
    assert res["mrr_at_10"] == pytest.approx((1 / 2 + 1 + 1 / 5) / 4, abs=1e-4)
    assert rank_of(["a", "b"], {"b", "a"}) == 1


def _need(path: Path, research: bool = False) -> None:
    if not path.exists():
        if os.environ.get("CALLOPS_REQUIRE_DATA") == "1" and not research:
            pytest.fail(f"{path} is missing")
        pytest.skip(f"{path} absent" + (" (research-only set)" if research else ""))


@pytest.mark.slow
def test_banking77_beats_plain_bm25() -> None:
    _need(DATA / "banking77")
    docs, queries = datasets.banking77(DATA / "banking77")
    assert len(docs) == 77 and len(queries) == 3080
    plain = Index(docs, per_phrasing=False, boosts={"body": 1.0}, word_pairs=False, stem=False, k1=1.2)
    ours = Index(docs)
    run = lambda idx: evaluate(lambda q: [h.key for h in idx.search(q, highlights=False)], queries)  # noqa: E731
    base, mine = run(plain), run(ours)
    assert 0.80 <= base["recall_at_1"] <= 0.86  # STACK-NOTES measured ≈ 0.82 for this baseline
    assert mine["recall_at_1"] >= base["recall_at_1"] + 0.04
    assert mine["mrr_at_10"] > base["mrr_at_10"]


@pytest.mark.slow
def test_bq_pairs_evaluate() -> None:
    path = DATA / "zh-cs-question-matching" / "bq_corpus_test.csv.gz"
    _need(path, research=True)
    docs, queries = datasets.question_pairs(path, limit=500)
    assert all(q.query not in {d.phrasings[0] for d in docs} for q in queries)
    idx = Index(docs)
    res = evaluate(lambda q: [h.key for h in idx.search(q, highlights=False)], queries)
    assert res["queries"] == 500 and res["recall_at_5"] > 0.1


def test_expired_doc_in_the_future_is_not_expired() -> None:
    idx = Index([Doc("a", "退订", valid_to=date.today() + timedelta(days=1))])
    assert idx.search("退订")[0].expired is False


@given(st.lists(st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=8), min_size=1, max_size=12),
       st.lists(st.sampled_from("abcdefghz"), min_size=1, max_size=6))
def test_bincount_scores_equal_bm25s_get_scores(corpus: list[list[str]], query: list[str]) -> None:
    import bm25s
    import numpy as np

    from callops.knowledge.search import bm25_scores

    r = bm25s.BM25(k1=1.5, b=0.75)
    r.index(corpus, show_progress=False)
    np.testing.assert_allclose(bm25_scores(r, query), r.get_scores(query), rtol=1e-5, atol=1e-6)
