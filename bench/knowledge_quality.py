"""Retrieval quality of the knowledge search against a plain BM25 baseline, on banking77 (en) and BQ/ATEC (zh).

Run: ``.venv/bin/python bench/knowledge_quality.py [--limit 1000] [--split test|dev]`` (needs ../shared/data; the
zh sets are research-only and skipped when absent). Prints one table; ``--json`` prints the rows as JSON.

Tuning protocol (Chinese): the reported rows are the *first* ``--limit`` queries of each set (``--split test``).
The Chinese weights (pair weight, phrasing-count prior) were chosen with ``--split dev``: the queries after them
(BQ: 893, ATEC: the next 2,000), over the same articles; the test queries were not looked at while tuning.

Systems (all bm25s, b=0.75, the same evaluation code as ``callops kb evaluate``):

* ``plain BM25``: one document per article (title + every phrasing + body), words / single Han characters, k1=1.2.
* ``callops``: the product's index: title, each phrasing and body as separate units, article score =
  Σ boost × unit score per field + 0.3 × the best single phrasing (its own BM25 space); Snowball stems and
  word pairs for English; the Chinese tokenizer named in the row; k1=1.5.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from callops.knowledge import datasets
from callops.knowledge.evaluate import evaluate
from callops.knowledge.search import Index

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def run(name: str, docs, queries, **kw) -> dict:
    t0 = time.perf_counter()
    index = Index(docs, **kw)
    build = time.perf_counter() - t0
    res = evaluate(lambda q: [h.key for h in index.search(q, k=10, highlights=False)], queries)
    return {"set": name, "build_s": round(build, 2), **res}


def systems(lang: str) -> list[tuple[str, dict]]:
    plain = {"per_phrasing": False, "boosts": {"body": 1.0}, "word_pairs": False, "stem": False, "k1": 1.2}
    if lang == "en":
        return [
            ("plain BM25", {**plain, "mode": "char1"}),
            ("plain BM25 + word pairs + stems", {**plain, "mode": "char1", "word_pairs": True, "stem": True}),
            ("callops (per phrasing, word pairs)", {"mode": "char12"}),
        ]
    return [
        ("plain BM25 (Han chars)", {**plain, "mode": "char1"}),
        ("plain BM25 (jieba words)", {**plain, "mode": "jieba"}),
        ("callops char unigrams", {"mode": "char1"}),
        ("callops char uni+bigrams ranked", {"mode": "char12", "pairs_score": True}),
        ("callops jieba words", {"mode": "jieba"}),
        ("callops unigrams ranked, pairs gate (before)", {"mode": "char12", "pair_weight": 0, "phrasing_prior": 0}),
        ("callops + 0.2 x pairs (not adopted)", {"mode": "char12", "pair_weight": 0.2, "phrasing_prior": 0}),
        ("callops default (pairs gate + phrasing prior)", {"mode": "char12"}),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=1000, help="queries per Chinese set")
    ap.add_argument("--split", choices=("test", "dev"), default="test",
                    help="test: the first --limit queries (reported); dev: the next 2,000 (tuning only)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    b77 = DATA / "banking77"
    sets = []
    if b77.exists():
        sets.append(("banking77", "en", *datasets.banking77(b77)))
    zh = DATA / "zh-cs-question-matching"
    for fnames, label in ((["bq_corpus_dev.csv.gz", "bq_corpus_test.csv.gz"], "BQ"),
                          (["atec_nlp_sim_train.tsv.gz"], "ATEC")):
        paths = [zh / f for f in fnames]
        if all(p.exists() for p in paths):
            docs, queries = datasets.question_pairs(paths, limit=None)
            cut = queries[: args.limit] if args.split == "test" else queries[args.limit : args.limit + 2000]
            sets.append((label, "zh", docs, cut))
        else:
            print(f"skipping {label}: {zh} absent (research-only set)", file=sys.stderr)
    for label, lang, docs, queries in sets:
        if lang == "en" and args.split == "dev":
            continue  # banking77's dev split is its training phrasings (see search.DEFAULT_BOOSTS)
        for sysname, kw in systems(lang):
            row = run(label, docs, queries, **kw)
            row["system"] = sysname
            row["articles"] = len(docs)
            rows.append(row)
            print(f"{label:10} {sysname:38} R@1 {row['recall_at_1']:.3f} R@3 {row['recall_at_3']:.3f} "
                  f"R@5 {row['recall_at_5']:.3f} MRR@10 {row['mrr_at_10']:.3f} q/s {row['queries_per_s']:.0f} "
                  f"build {row['build_s']}s", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))


if __name__ == "__main__":
    main()
