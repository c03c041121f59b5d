"""`callops kb`: import with rejects, search --json (exactly one JSON document on stdout), evaluate, export,
train (the re-ranker, on test_rerank's learning set), synonyms errors naming the line, bad input as one line and
exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "callops.cli"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {**os.environ, "CALLOPS_HOME": str(tmp_path / "home")}
    e.pop("CALLOPS_WAREHOUSE", None)
    e.pop("CALLOPS_STORE_URL", None)
    subprocess.run([*CLI, "tenant", "create", "t1"], env=e, check=True, capture_output=True)
    return e


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "kb", *args], env=env, capture_output=True, text=True, timeout=300)


def test_import_search_evaluate_export(env: dict[str, str], tmp_path: Path) -> None:
    arts = tmp_path / "a.jsonl"
    arts.write_text("\n".join([
        json.dumps({"id": "suspend", "title": "停机保号", "phrasings": ["我要停机", "suspend my line"],
                    "audiences": ["agent", "customer"], "state": "published"}, ensure_ascii=False),
        json.dumps({"id": "bill", "title": "话费查询", "phrasings": ["查话费", "check my balance"],
                    "state": "published"}, ensure_ascii=False),
        '{"id": "x", "title": "loop", "body": "[me](kb:x)"}',
    ]) + "\n", encoding="utf-8")
    r = _run(env, "import", str(arts), "--tenant", "t1", "--json")
    res = json.loads(r.stdout)
    assert (res["created"], res["rejected"]) == (2, 1) and res["rejects"][0]["line"] == 3
    r = _run(env, "search", "我想停机", "--tenant", "t1", "--audience", "customer", "--json")
    doc = json.loads(r.stdout)  # exactly one JSON document
    assert [h["id"] for h in doc["hits"]] == ["suspend"]
    q = tmp_path / "q.jsonl"
    q.write_text('{"query": "how do I check my balance", "expected": "bill"}\n'
                 '{"query": "停机", "expected": ["suspend"]}\n', encoding="utf-8")
    r = _run(env, "evaluate", str(q), "--tenant", "t1", "--json")
    ev = json.loads(r.stdout)
    assert set(ev) == {"queries", "recall_at_1", "recall_at_3", "recall_at_5", "mrr_at_10", "queries_per_s",
                       "reranked"}
    assert ev["queries"] == 2 and ev["recall_at_1"] == 1.0 and ev["reranked"] is False
    r = _run(env, "export", "--tenant", "t1")
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == ["bill", "suspend"]


def test_bad_input_is_one_line_and_exit_2(env: dict[str, str], tmp_path: Path) -> None:
    r = _run(env, "search", "", "--tenant", "t1")
    assert r.returncode == 2 and "empty query" in r.stderr and r.stderr.count("\n") == 1
    r = _run(env, "search", "y" * 10_000, "--tenant", "t1", "--json")
    assert r.returncode == 2 and "at most 2000" in r.stderr and r.stdout == ""
    syn = tmp_path / "syn.yaml"
    syn.write_text("synonyms:\n  - [a, b]\n  - just-one\n", encoding="utf-8")
    r = _run(env, "synonyms", str(syn), "--tenant", "t1")
    assert r.returncode == 2 and f"{syn}:3:" in r.stderr
    r = _run(env, "import", str(tmp_path / "missing.jsonl"), "--tenant", "t1")
    assert r.returncode == 2 and "no such file" in r.stderr


def test_train_show_evaluate_clear(env: dict[str, str], tmp_path: Path) -> None:
    """kb train learns the tenant's re-ranker; kb evaluate uses it unless --index-only; --clear removes it."""
    from test_rerank import SEEN, UNSEEN, articles, questions

    def jsonl(path: Path, rows: list[dict]) -> str:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return str(path)

    arts = jsonl(tmp_path / "a.jsonl", articles())
    train = jsonl(tmp_path / "train.jsonl", [{"query": q.query, "expected": sorted(q.expected)}
                                             for q in questions(SEEN)])
    test = jsonl(tmp_path / "test.jsonl", [{"query": q.query, "expected": sorted(q.expected)[0]}
                                           for q in questions(UNSEEN)])
    assert _run(env, "import", arts, "--tenant", "t1").returncode == 0
    assert json.loads(_run(env, "evaluate", test, "--tenant", "t1", "--json").stdout)["recall_at_1"] == 0.0
    r = _run(env, "train", train, "--tenant", "t1", "--json")
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["active"] and report["queries"] == 60 and report["stored"]
    ev = json.loads(_run(env, "evaluate", test, "--tenant", "t1", "--json").stdout)
    assert (ev["recall_at_1"], ev["reranked"]) == (1.0, True)
    ev = json.loads(_run(env, "evaluate", test, "--tenant", "t1", "--json", "--index-only").stdout)
    assert (ev["recall_at_1"], ev["reranked"]) == (0.0, False)
    shown = json.loads(_run(env, "train", "--show", "--tenant", "t1", "--json").stdout)["reranker"]
    assert shown["queries"] == 60 and shown["active"] and shown["actor"].startswith("cli:")
    assert json.loads(_run(env, "train", "--clear", "--tenant", "t1", "--json").stdout) == {"cleared": True}
    assert json.loads(_run(env, "evaluate", test, "--tenant", "t1", "--json").stdout)["reranked"] is False
    for args, message in ((["train", "--tenant", "t1"], "give a FILE"),
                          (["train", test, "--tenant", "t1"], "at least 50"),
                          (["train", "--clear", "--show", "--tenant", "t1"], "take no other option")):
        r = _run(env, *args)
        assert r.returncode == 2 and message in r.stderr and r.stderr.count("\n") == 1 and r.stdout == "", r.stderr
