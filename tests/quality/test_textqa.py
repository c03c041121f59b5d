"""Text QA rules: each kind on hand-made transcripts, bad rules and transcripts refused, and real dialogues
(ABCD's required actions; JDDC Chinese chats, research-only: skipped when absent)."""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from callops.errors import CallopsError
from callops.quality.textqa import (
    TranscriptError,
    check_transcript,
    item_agreement,
    load_rules,
    parse_rules,
    similarity,
    tokens,
)
from foundation_helpers import require_data

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
HERE = Path(__file__).parent


def utt(seq: int, speaker: str, text: str, start: float | None = None, end: float | None = None) -> dict:
    return {"seq": seq, "speaker": speaker, "text": text, "start_s": start, "end_s": end}


GOOD_ZH = [
    utt(0, "agent", "您好，很高兴为您服务", 0, 3),
    utt(1, "customer", "我想查一下这个月的话费", 3, 6),
    utt(2, "agent", "请问您是机主本人吗？麻烦提供一下身份证后四位", 6, 11),
    utt(3, "customer", "是我本人，后四位是1234", 11, 14),
    utt(4, "agent", "我这边帮您查询了，已经为您详细说明", 14, 19),
    utt(5, "agent", "感谢您的来电，祝您生活愉快", 19, 22),
]


def test_hotline_rules_on_a_good_and_a_bad_call() -> None:
    rules = load_rules("hotline_zh")
    good = check_transcript(rules, GOOD_ZH, "c1")
    assert all(r["passed"] is not False for r in good.values()), good
    assert good["greeting"]["evidence"][0]["seq"] == 0 and good["greeting"]["evidence"][0]["start_s"] == 0
    bad = [dict(u) for u in GOOD_ZH]
    bad[0]["text"] = "喂，请讲"
    bad[4]["text"] = "这个我也不知道"
    bad[2], bad[4] = dict(bad[4], seq=2), dict(bad[2], seq=4)  # the answer before the identity check
    bad[5].update(start_s=60.0, end_s=63.0)  # 41 s of silence
    res = check_transcript(rules, bad, "c2")
    assert res["greeting"]["passed"] is False
    assert res["compliance"]["passed"] is False and res["compliance"]["evidence"][0]["text"] == "这个我也不知道"
    assert res["silence"]["passed"] is False and res["silence"]["evidence"][0]["seq"] == 5
    assert res["overtalk"]["passed"] is True


def test_keyword_window_role_regex_exclusion_order_and_repeats() -> None:
    rules = parse_rules("""
rules: t
version: 1
items:
  - {id: early, check: keywords, role: agent, window: {within_s: 5}, any: [refund]}
  - {id: both, check: keywords, all: [order, refund]}
  - {id: id, check: regex, role: agent, pattern: "date of birth", exclude: ["no need .*date of birth"]}
  - {id: order, check: order, role: agent, first: [verify], then: [refund]}
  - {id: rq, check: repeated_questions, role: agent, max_repeats: 0}
  - {id: rate, check: speech_rate, role: agent, min: 1, max: 3}
""", "t.yaml")
    call = [utt(0, "customer", "I want a refund for my order", 0, 4),
            utt(1, "agent", "Can you verify your name?", 4, 6),
            utt(2, "agent", "No need for your date of birth.", 6, 8),
            utt(3, "agent", "Can you verify your name?", 8, 10), utt(4, "agent", "I issued the refund", 10, 12)]
    res = check_transcript(rules, call)
    assert res["early"]["passed"] is False  # the agent said "refund" only after 10 s (the customer does not count)
    assert res["both"]["passed"] is True
    assert res["id"]["passed"] is False  # excluded by the negation
    assert res["order"]["passed"] is True
    assert res["rq"]["passed"] is False and res["rq"]["evidence"][0]["seq"] == 3
    # agent: 5 + 7 + 5 + 4 = 21 words in 8 s
    assert res["rate"]["value"] == pytest.approx(21 / 8) and res["rate"]["passed"]


def test_chinese_tokens_and_similarity() -> None:
    assert tokens("您好呀") == ["您", "好", "呀", "您好", "好呀"]
    assert similarity("感谢您的来电，祝您生活愉快", "感谢您的来电,祝您生活愉快!") == pytest.approx(1.0)
    assert similarity("感谢您的来电", "宽带断网了") == 0.0


@pytest.mark.parametrize(("text", "needle"), [
    ("rules: r\nversion: 1\nitems:\n  - {id: a, check: telepathy}\n", "line 4"),
    ("rules: r\nversion: 1\nitems:\n  - {id: a, check: regex, pattern: '(unclosed'}\n", "bad regular expression"),
    ("rules: r\nversion: 1\nitems:\n  - {id: a, check: keywords, role: boss, any: [x]}\n", "role must be"),
    ("rules: r\nversion: 1\nitems:\n  - {id: a, check: silence}\n", "needs max_s"),
])  # fmt: skip
def test_bad_rules_name_the_line(text: str, needle: str) -> None:
    with pytest.raises(CallopsError, match=needle):
        parse_rules(text, "r.yaml")


def test_transcript_without_speaker_is_refused() -> None:
    with pytest.raises(TranscriptError, match="c9: utterance 1 has no speaker"):
        check_transcript(load_rules("hotline_zh"), [utt(0, "agent", "hi"), utt(1, "", "hello")], "c9")


def test_item_agreement_kappa_and_threshold() -> None:
    # greeting: auto and human agree on 9 of 10 (po .9; auto 5 pass, human 6 pass -> pe .5, kappa .8)
    auto = {f"c{i}": {"greeting": i < 5, "closing": True} for i in range(10)}
    human = {f"c{i}": {"greeting": i < 6, "closing": i % 2 == 0} for i in range(10)}
    res = item_agreement(auto, human, 0.6)
    assert res["greeting"]["kappa"] == pytest.approx(0.8) and res["greeting"]["counts"]
    assert res["closing"]["kappa"] == pytest.approx(0.0) and not res["closing"]["counts"]


def test_abcd_required_actions_were_taken() -> None:
    folder = require_data(DATA / "abcd")
    convos = json.loads((folder / "abcd_sample.json").read_text())
    kb = json.loads((folder / "kb.json").read_text())
    rules = load_rules(HERE / "abcd_actions.yaml")
    for c in convos:
        utts = [utt(i, "system" if who == "action" else who, text) for i, (who, text) in enumerate(c["original"])]
        res = check_transcript(rules, utts, str(c["convo_id"]))
        detected = {item for item, r in res.items() if r["passed"]}
        labelled = {t["targets"][2] for t in c["delexed"] if t["speaker"] == "action"}
        assert detected == labelled, c["convo_id"]
        required = kb.get(c["scenario"]["subflow"], [])
        missing = [a for a in required if a not in detected]
        assert missing == [a for a in required if a not in labelled]
        for item in detected:  # the evidence is the system line, with its position
            ev = res[item]["evidence"][0]
            assert c["original"][ev["seq"]][1] == ev["text"]
    # conversation 3592 (return_size): the agent refused the return, so membership and update-order never ran
    first = next(c for c in convos if c["convo_id"] == 3592)
    res = check_transcript(rules, [utt(i, "system" if w == "action" else w, t) for i, (w, t) in
                                   enumerate(first["original"])])  # fmt: skip
    assert [a for a in kb["return_size"] if not res.get(a, {}).get("passed")] == ["membership", "update-order"]


def test_jddc_chinese_chats() -> None:
    folder = DATA / "jddc-2019-sample"
    if not folder.exists():
        pytest.skip("JDDC 2019 sample (research only) is absent: ../shared/data/jddc-2019-sample")
    sessions: dict[str, list[dict]] = defaultdict(list)
    with gzip.open(folder / "chat_0.1per.tsv.gz", "rt", encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            sid, who, text = row[0], "agent" if row[2] == "1" else "customer", row[6] if len(row) > 6 else ""
            sessions[sid].append(utt(len(sessions[sid]), who, text))
    assert len(sessions) == 994
    rules = parse_rules("""
rules: jddc
version: 1
items:
  - {id: offer_help, check: similarity, role: agent, window: {first: 2}, threshold: 0.5,
     phrases: [有什么问题我可以帮您处理或解决呢]}
  - {id: offer_help_exact, check: keywords, role: agent, window: {first: 2}, any: [有什么问题我可以帮您处理或解决呢]}
  - {id: no_dunno, check: keywords, role: agent, none: [不知道]}
""", "jddc")
    sim_hits = exact_hits = 0
    for sid, utts in sessions.items():
        res = check_transcript(rules, utts, sid)
        exact_hits += bool(res["offer_help_exact"]["passed"])
        sim_hits += bool(res["offer_help"]["passed"])
        for ev in res["offer_help"]["evidence"]:  # the evidence carries its similarity, recomputed here
            expected = similarity(ev["text"], "有什么问题我可以帮您处理或解决呢")
            assert ev["similarity"] == pytest.approx(expected, abs=1e-3)
            assert (ev["similarity"] >= 0.5) == res["offer_help"]["passed"]
        for ev in res["no_dunno"]["evidence"]:
            assert "不知道" in ev["text"] and utts[ev["seq"]]["speaker"] == "agent"
    # character n-grams catch reworded greetings the exact phrase misses
    print(f"JDDC: exact greeting in {exact_hits} of 994 sessions, similar greeting in {sim_hits}")
    assert sim_hits > exact_hits > 0


def test_simulated_hotline_items_agree_with_human_evaluations() -> None:
    """One simulated day: the generator scores greeting 0 exactly when the greeting is missing and compliance 0
    exactly when a forbidden phrase is said, so those automatic items must agree perfectly with the evaluators;
    the judgement items (needs analysis, solution) are not in the transcript and must not count."""
    from datetime import date

    from callops.quality.textqa import run_text_qa
    from callops.sim.runner import run_scenario
    from callops.sim.scenario import load_scenario

    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "provincial_hotline.yaml")
    tables = run_scenario(scenario, 1, seed=3, start_date=date(2026, 11, 2))
    rep = run_text_qa(load_rules("hotline_zh"), tables["transcripts"].to_pylist(),
                      tables["qa_evaluations"].to_pylist())  # fmt: skip
    agree = rep["agreement"]
    assert agree["greeting"]["contacts"] > 100
    assert agree["greeting"]["kappa"] == pytest.approx(1.0) and agree["compliance"]["kappa"] == pytest.approx(1.0)
    assert "greeting" in rep["counting_items"] and "compliance" in rep["counting_items"]
    assert "needs_analysis" not in agree  # no automatic rule of that name
    assert all(c["score"] is not None for c in rep["contacts"])
