"""Tokens for Chinese and English text in one index, and highlights.

Text is normalised first (NFKC folds full-width letters and digits, lower case, control characters
dropped). Then:

* a run of Han characters gives one token per character and one per adjacent pair (character n-grams, chosen
  over jieba words on the real question sets: see ``docs/knowledge.md``). The index ranks on the characters and
  uses the pairs (流量, 停机) to decide which articles match at all;
* a run of Latin words gives each word, stemmed (Snowball English), and each adjacent word pair
  (``card_arrival``), which rewards phrasings that say the same thing in the same order.

Word segmentation with jieba is available as ``mode="jieba"`` for the benchmark only (it is not a
dependency of the package).
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{HAN}]+|[a-z0-9]+(?:['’][a-z]+)?")
_HAN_RUN = re.compile(rf"[{HAN}]+")
_HAN_CHAR = re.compile(rf"[{HAN}]")
_LATIN = re.compile(r"[a-z0-9]+")
MODES = ("char1", "char12", "jieba")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def normalize(text: str) -> str:
    """NFKC, lower case, control and format characters replaced by spaces."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFKC", text).lower())
    if text.isprintable():  # the common case: no other invisible character to look at one by one
        return text
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") else c for c in text)


def has_han(text: str) -> bool:
    """Whether ``text`` contains a Chinese character."""
    return _HAN_CHAR.search(text) is not None


@functools.cache
def _stemmer() -> Any:
    import Stemmer  # PyStemmer: the Snowball stemmers (C), BSD/MIT

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word) if not word.isdigit() else word


def _jieba_words(run: str) -> list[str]:
    import jieba  # bench-only comparison

    return [w for w in jieba.lcut(run) if w.strip()]


def tokens(text: str, mode: str = "char12", *, word_pairs: bool = True, stem: bool = True) -> list[str]:
    """The index tokens of ``text`` (see the module docstring)."""
    out: list[str] = []
    prev_word: str | None = None
    for m in _RUN.finditer(normalize(text)):
        run = m.group(0)
        if run[0] >= "\u3400":  # runs are all Han or all [a-z0-9']
            prev_word = None
            if mode == "jieba":
                out.extend(_jieba_words(run))
                continue
            out.extend(run)
            if mode == "char12":
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
            continue
        word = run.replace("’", "'").split("'")[0]
        if stem:
            word = _stem(word)
        out.append(word)
        if word_pairs and prev_word is not None:
            out.append(f"{prev_word}_{word}")
        prev_word = word
    return out


def tokens_many(texts: Iterable[str], mode: str = "char12", *, word_pairs: bool = True) -> list[list[str]]:
    """:func:`tokens` of each text."""
    return [tokens(t, mode, word_pairs=word_pairs) for t in texts]


def highlight(text: str, query: str, *, width: int = 120) -> str | None:
    """A snippet of ``text`` around the query's words, HTML-escaped, matches wrapped in ``<mark>``; None if none.

    Latin words match whole words; Chinese matches any run of two or more characters that are adjacent in
    the query too (single characters would mark half the text).
    """
    query_n = normalize(query)
    words = {w for w in _LATIN.findall(query_n) if len(w) > 1}
    pairs = {run[i : i + 2] for run in _HAN_RUN.findall(query_n) for i in range(len(run) - 1)}
    lowered = normalize(text)
    if len(lowered) != len(text):  # NFKC changed the length: mark on the normalised text
        text = lowered
    marked = [False] * len(text)
    for m in _LATIN.finditer(lowered):
        if m.group(0) in words:
            marked[m.start() : m.end()] = [True] * (m.end() - m.start())
    for i in range(len(lowered) - 1):
        if lowered[i : i + 2] in pairs:
            marked[i] = marked[i + 1] = True
    if not any(marked):
        return None
    first = marked.index(True)
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    parts: list[str] = ["…" if start > 0 else ""]
    i = start
    while i < end:
        j = i
        while j < end and marked[j] == marked[i]:
            j += 1
        chunk = html.escape(text[i:j])
        parts.append(f"<mark>{chunk}</mark>" if marked[i] else chunk)
        i = j
    parts.append("…" if end < len(text) else "")
    return "".join(parts)
