"""Forms: N/A out of the denominator, critical and fatal items, bad forms named by line, bad answers refused."""

from __future__ import annotations

import pytest

from callops.errors import CallopsError
from callops.quality.forms import AnswerError, load_form, parse_form, score_answers, score_rows

FORM = """\
form: t
version: 3
sections:
  - id: s1
    items:
      - {id: greet, points: 10, weight: 1, options: {"yes": 1, "no": 0, na: na}}
      - {id: verify, points: 10, weight: 2, critical: true, options: {"yes": 1, partly: 0.5, "no": 0}}
  - id: s2
    label: {en: Conduct, zh: 规范}
    items:
      - {id: abuse, points: 5, fatal: true, options: {none: 1, said: 0}}
      - {id: solve, points: 20}
"""


def test_scores_by_hand() -> None:
    f = parse_form(FORM, "t.yaml")
    assert f.ref == "t@3"
    s = score_answers(f, "e", {"greet": "yes", "verify": "partly", "abuse": "none", "solve": 15})
    # earned 10 + 2*5 + 5 + 15 = 40 of 10 + 20 + 5 + 20 = 55
    assert s.score == pytest.approx(100 * 40 / 55)
    assert s.critical_score == pytest.approx(100 * (10 + 5) / (20 + 5))
    na = score_answers(f, "e", {"greet": "na", "verify": "yes", "abuse": "none", "solve": 20})
    assert na.score == pytest.approx(100.0) and na.not_applicable == 1  # N/A leaves the denominator
    fatal = score_answers(f, "e", {"greet": "yes", "verify": "yes", "abuse": "said", "solve": 20})
    assert fatal.failed and fatal.score == 0.0


@pytest.mark.parametrize(("text", "needle"), [
    (FORM.replace("weight: 2", "weight: heavy"), "line 7"),
    (FORM.replace("points: 20}", "points: 0}"), "line 12"),
    (FORM.replace("partly: 0.5", "partly: 1.5"), "line 7"),
    (FORM.replace("fatal: true, options: {none: 1, said: 0}", "fatal: true, options: {none: 1}"), "line 11"),
    (FORM.replace("version: 3", "version: three"), "line 1"),
    (FORM.replace('"yes": 1, partly', 'yes: 1, partly'), "quote the option name"),
    (FORM.replace("  - id: s2", "  - id: s2\n    colour: red"), "unknown key"),
    (FORM + "  - {id: s1, items: [{id: x, points: 1}]}\n", "appears twice"),
    ("form: [unclosed", "not valid YAML"),
])  # fmt: skip
def test_bad_forms_name_the_line(text: str, needle: str) -> None:
    with pytest.raises(CallopsError, match=needle) as exc:
        parse_form(text, "bad.yaml")
    assert "bad.yaml" in str(exc.value)


def test_bad_answers() -> None:
    f = parse_form(FORM, "t.yaml")
    with pytest.raises(AnswerError, match="not an option"):
        score_answers(f, "e", {"greet": "maybe"})
    with pytest.raises(AnswerError, match="not on form"):
        score_answers(f, "e", {"smile": "yes"})
    with pytest.raises(AnswerError, match="outside"):
        score_answers(f, "e", {"solve": 25})


def test_score_rows_rejects_whole_evaluations_and_keeps_the_rest() -> None:
    f = load_form("hotline_voice")
    rows = [{"evaluation_id": "E1", "item": i, "score": p, "agent_id": "A"} for i, p in
            (("greeting", 10), ("solution", 30))] + [{"evaluation_id": "E2", "item": "smile", "score": 1}]  # fmt: skip
    run = score_rows(f, rows)
    assert [r["evaluation_id"] for r in run.scored] == ["E1"] and run.scored[0]["score"] == pytest.approx(100)
    assert run.rejects == [{"evaluation_id": "E2", "reason": "evaluation E2: item 'smile' is not on form "
                            "hotline_voice@1", "rows": 1}]  # fmt: skip
