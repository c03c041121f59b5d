"""Retrieval quality: recall@1/3/5 and MRR@10 of a ranked search over labelled queries, and queries per second.

An evaluation file is JSON lines ``{"query": "...", "expected": "ID" | ["ID", ...]}``. A query counts as found
at rank r when any expected id is at rank r. ``mrr_at_10`` is the mean of 1/rank of the first expected id
within the top 10 (0 when none).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from callops.errors import CallopsError
from callops.knowledge.search import clean_query

KS = (1, 3, 5)


@dataclass(frozen=True)
class Labelled:
    """One evaluation query."""

    query: str
    expected: frozenset[str]


def read_file(path: Path) -> list[Labelled]:
    """Read an evaluation file; a bad line is an error naming the file and line."""
    if not path.exists():
        raise CallopsError(f"{path}: no such file")
    with path.open(encoding="utf-8") as fh:
        return parse_lines(fh, str(path))


def parse_lines(lines: Iterable[str], source: str) -> list[Labelled]:
    """Labelled queries from JSON lines (``{query, expected}``); a bad line is an error naming ``source`` and line.

    Split the text on newlines only (``str.split("\\n")``): ``splitlines`` would also cut at U+2028 inside a query.
    """
    items: list[Labelled] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CallopsError(f"{source}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("query"), str) or not rec["query"].strip():
            raise CallopsError(f"{source}:{n}: needs a non-empty 'query' string")
        try:
            clean_query(rec["query"])
        except CallopsError as exc:
            raise CallopsError(f"{source}:{n}: {exc}") from None
        exp = rec.get("expected")
        exp_list = [exp] if isinstance(exp, str) else exp
        if not isinstance(exp_list, list) or not exp_list or not all(isinstance(e, str) for e in exp_list):
            raise CallopsError(f"{source}:{n}: 'expected' must be an article id or a list of them")
        items.append(Labelled(rec["query"], frozenset(exp_list)))
    if not items:
        raise CallopsError(f"{source}: no queries")
    return items


def rank_of(ranked: Sequence[str], expected: Iterable[str]) -> int | None:
    """1-based rank of the first expected id in ``ranked``, or None."""
    exp = set(expected)
    for r, key in enumerate(ranked, start=1):
        if key in exp:
            return r
    return None


def evaluate(search: Callable[[str], Sequence[str]], items: Sequence[Labelled]) -> dict[str, float | int]:
    """Run ``search`` (query → ranked ids, at least 10 when there are) over ``items`` and report the metrics."""
    if not items:
        raise CallopsError("no queries to evaluate")
    found = dict.fromkeys(KS, 0)
    rr = 0.0
    t0 = time.perf_counter()
    for item in items:
        ranked = list(search(item.query))[:10]
        r = rank_of(ranked, item.expected)
        if r is None:
            continue
        for k in KS:
            found[k] += r <= k
        rr += 1.0 / r
    elapsed = time.perf_counter() - t0
    n = len(items)
    return {
        "queries": n,
        "recall_at_1": round(found[1] / n, 4),
        "recall_at_3": round(found[3] / n, 4),
        "recall_at_5": round(found[5] / n, 4),
        "mrr_at_10": round(rr / n, 4),
        "queries_per_s": round(n / elapsed, 1) if elapsed > 0 else float(n),
    }
