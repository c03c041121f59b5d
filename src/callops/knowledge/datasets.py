"""Public question sets turned into a knowledge base and labelled queries (for ``kb evaluate``, tests and bench).

* **banking77** (CC BY 4.0): each of the 77 intents is an article (title = the intent name in words), its
  training queries are the article's phrasings, its test queries are the questions.
* **BQ / ATEC** question pairs (research only): questions joined by matching pairs form paraphrase groups; one
  question of each group is the query, the rest are its article's phrasings; questions only ever in non-matching
  pairs are distractor articles. Distractors that happen to say the same are not labelled: the recalls are a floor.

Nothing here is read by the product at run time; the paths are given by the caller.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from callops.errors import CallopsError
from callops.knowledge.evaluate import Labelled
from callops.knowledge.search import Doc


def banking77(folder: Path) -> tuple[list[Doc], list[Labelled]]:
    """banking77 as (articles, test questions)."""
    phrasings: dict[str, list[str]] = defaultdict(list)
    for row in _csv(folder / "train.csv"):
        phrasings[row["category"]].append(row["text"])
    docs = [
        Doc(key=_key(intent), title=intent.replace("_", " "), phrasings=tuple(ps), language="en", tags=("banking",))
        for intent, ps in sorted(phrasings.items())
    ]
    queries = [Labelled(row["text"], frozenset([_key(row["category"])])) for row in _csv(folder / "test.csv")]
    return docs, queries


def _key(intent: str) -> str:
    """An article id from an intent name (one banking77 intent is named ``reverted_card_payment?``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "", intent)


def _csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise CallopsError(f"{path}: no such file")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def question_pairs(paths: Path | list[Path], *, limit: int | None = 3000) -> tuple[list[Doc], list[Labelled]]:
    """BQ (CSV with header) or ATEC (TSV: no, q1, q2, label) pair files as (articles, queries)."""
    pairs: list[tuple[str, str, str]] = []
    for path in [paths] if isinstance(paths, Path) else paths:
        pairs.extend(_pairs(path))
    return paraphrase_groups(pairs, limit=limit)


def _pairs(path: Path) -> list[tuple[str, str, str]]:
    if not path.exists():
        raise CallopsError(f"{path}: no such file")
    pairs: list[tuple[str, str, str]] = []
    with gzip.open(path, "rt", encoding="utf-8-sig") as fh:
        if path.name.startswith("atec"):
            for line in fh:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 4:
                    pairs.append((parts[1].lstrip("\ufeff"), parts[2], parts[3]))
        else:
            for row in csv.DictReader(fh):
                pairs.append((row["sentence1"], row["sentence2"], row["label"]))
    return pairs


def matching_groups(questions: Iterable[str], matches: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """The paraphrase groups that matching pairs join (union-find), keyed by a member, each in the order of
    ``questions``; groups appear in the order of their first question. A question in no pair is a group alone."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in matches:
        parent[find(a)] = find(b)
    groups: dict[str, list[str]] = defaultdict(list)
    for q in questions:
        groups[find(q)].append(q)
    return groups


def paraphrase_groups(pairs: list[tuple[str, str, str]], *, limit: int | None = None
                      ) -> tuple[list[Doc], list[Labelled]]:
    """Articles and queries from labelled pairs: the questions joined by matching pairs form a paraphrase group
    (union-find); each group's last question (in file order) is the query, the others are its article's
    phrasings. Questions seen only in non-matching pairs are one-phrasing distractor articles."""
    order: dict[str, int] = {}
    for q1, q2, _label in pairs:
        for q in (q1, q2):
            order.setdefault(q, len(order))
    groups = matching_groups(order, [(q1, q2) for q1, q2, label in pairs if label.strip() == "1" and q1 != q2])
    docs: list[Doc] = []
    queries: list[Labelled] = []
    for members in sorted(groups.values(), key=lambda m: order[m[0]]):
        key = f"g{len(docs)}"
        if len(members) == 1:
            docs.append(Doc(key=key, title="", phrasings=(members[0],), language="zh"))
            continue
        docs.append(Doc(key=key, title="", phrasings=tuple(members[:-1]), language="zh"))
        queries.append(Labelled(members[-1], frozenset([key])))
    return docs, queries[:limit] if limit else queries


def to_jsonl(docs: list[Doc], queries: list[Labelled], articles_out: Path, queries_out: Path) -> None:
    """Write the articles in the ``kb import`` format and the queries in the ``kb evaluate`` format."""
    with articles_out.open("w", encoding="utf-8") as fh:
        for d in docs:
            rec = {"id": d.key, "title": d.title or d.phrasings[0][:200], "body": d.body,
                   "phrasings": list(d.phrasings),
                   "tags": list(d.tags), "audiences": list(d.audiences), "language": d.language, "state": d.state}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with queries_out.open("w", encoding="utf-8") as fh:
        for q in queries:
            fh.write(json.dumps({"query": q.query, "expected": sorted(q.expected)}, ensure_ascii=False) + "\n")
