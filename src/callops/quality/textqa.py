"""Text QA of transcripts (zh and en): YAML rules checked on each contact's utterances, with evidence.

Rule kinds (``check:``), each optionally limited to a speaker ``role`` and a ``window`` (``first: N`` or
``last: N`` utterances of that role, or ``within_s: T`` seconds from the start):

* ``keywords`` — ``any`` (one of), ``all`` (every one) or ``none`` (none of) the phrases; matching is by substring
  for Chinese and by whole words (case-insensitive) for other text;
* ``regex`` — ``pattern`` must match, unless one of the ``exclude`` patterns matches the same utterance;
* ``similarity`` — an utterance as close as ``threshold`` (cosine of character bigram counts for Chinese, of
  word counts otherwise) to one of the ``phrases``;
* ``order`` — the ``first`` keywords must come before the ``then`` keywords ("verify identity before the account");
* ``silence`` / ``overtalk`` — no gap (silence) or overlap between consecutive utterances longer than ``max_s``;
* ``speech_rate`` — the role's characters (zh) or words (en) per second between ``min`` and ``max``;
* ``repeated_questions`` — the role asks no question more than ``max_repeats`` times (similar above 0.8).

Chinese is tokenised into character n-grams (no dictionary: jieba has been unmaintained since 2020 and splits
domain words such as 花呗; see STACK-NOTES). Each item gives ``passed`` (True/False, or None when it does not
apply, e.g. no timestamps) and the evidence: utterance seq, time, speaker and text.

Automatic items are compared with human evaluations item by item (Cohen's kappa, :func:`item_agreement`); only
items at or above the declared ``min_kappa`` count in automatic scores.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from callops.errors import CallopsError
from callops.quality.agreement import cohen_kappa
from callops.value.yamlio import fail, load_yaml, number, require_keys

CHECKS = ("keywords", "regex", "similarity", "order", "silence", "overtalk", "speech_rate", "repeated_questions")
ROLES = ("agent", "customer", "system")
_HAN = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[a-z0-9']+")


class TranscriptError(CallopsError):
    """A transcript the rules cannot read (no speakers, unknown role)."""


@dataclass(frozen=True)
class Utterance:
    """One utterance of a transcript."""

    seq: int
    speaker: str
    text: str
    start_s: float | None = None
    end_s: float | None = None


@dataclass
class Rule:
    """One checked item of a rule set."""

    id: str
    check: str
    spec: dict[str, Any]
    role: str | None = None
    window: dict[str, float] = field(default_factory=dict)


@dataclass
class RuleSet:
    """A versioned set of text QA rules and the agreement a rule must show with humans to count."""

    name: str
    version: int
    min_kappa: float
    rules: list[Rule]


def is_chinese(text: str) -> bool:
    """Whether ``text`` is mostly Han characters (then n-grams and substrings are used)."""
    han = len(_HAN.findall(text))
    return han > 0 and han >= 0.3 * len(text.replace(" ", ""))


def tokens(text: str, n: int = 2) -> list[str]:
    """Character n-grams (and unigrams) of Chinese text, lower-case words of other text."""
    if is_chinese(text):
        chars = [c for c in text if not c.isspace() and c not in "，。？！、,.?!~：:；;（）()[]"]
        return chars + ["".join(chars[i:i + n]) for i in range(len(chars) - n + 1)]
    return _WORD.findall(text.lower())


def similarity(a: str, b: str) -> float:
    """Cosine similarity of the token counts of two texts (0..1)."""
    ca, cb = Counter(tokens(a)), Counter(tokens(b))
    dot = sum(v * cb.get(k, 0) for k, v in ca.items())
    na = math.sqrt(sum(v * v for v in ca.values()))
    nb = math.sqrt(sum(v * v for v in cb.values()))
    return dot / (na * nb) if na and nb else 0.0


def contains(text: str, phrase: str) -> bool:
    """Substring match for Chinese phrases, whole-word case-insensitive match otherwise."""
    if is_chinese(phrase):
        return phrase in text
    return re.search(r"(?<![a-z0-9])" + re.escape(phrase.lower()) + r"(?![a-z0-9])", text.lower()) is not None


def _phrases(origin: str, node: Any, key: str, what: str) -> list[str]:
    value = node.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise fail(origin, node, f"{what}: {key} must be a non-empty list of texts")
    return value


def parse_rules(text: str, origin: str = "rules") -> RuleSet:
    """Parse and validate a rule set; mistakes name ``origin`` and the line."""
    doc = load_yaml(text, origin)
    require_keys(origin, doc, "rule set", ("rules", "version", "items"), ("min_kappa",))
    min_kappa = number(origin, doc, "min_kappa", "rule set", minimum=-1.0) if "min_kappa" in doc else 0.6
    out = []
    seen: set[str] = set()
    if not isinstance(doc["items"], list) or not doc["items"]:
        raise fail(origin, doc, "rule set: items must be a non-empty list")
    for node in doc["items"]:
        what = f"item {node.get('id', '?')}" if isinstance(node, dict) else "item"
        if not isinstance(node, dict) or "check" not in node or "id" not in node:
            raise fail(origin, node, f"{what} needs an id and a check ({', '.join(CHECKS)})")
        check = node["check"]
        if check not in CHECKS:
            raise fail(origin, node, f"{what}: unknown check {check!r}; use one of {', '.join(CHECKS)}")
        if node["id"] in seen:
            raise fail(origin, node, f"item {node['id']!r} appears twice")
        seen.add(node["id"])
        role = node.get("role")
        if role is not None and role not in ROLES:
            raise fail(origin, node, f"{what}: role must be one of {', '.join(ROLES)}, not {role!r}")
        window = node.get("window") or {}
        if not isinstance(window, dict) or set(window) - {"first", "last", "within_s"}:
            raise fail(origin, node, f"{what}: window takes first, last or within_s")
        spec = {k: v for k, v in node.items() if k not in ("id", "check", "role", "window", "label")}
        _validate(origin, node, what, check, spec)
        out.append(Rule(str(node["id"]), check, spec, role, {k: float(v) for k, v in window.items()}))
    return RuleSet(str(doc["rules"]), int(doc["version"]), min_kappa, out)


def _validate(origin: str, node: Any, what: str, check: str, spec: dict[str, Any]) -> None:
    """Check the keys each kind of rule needs (compiling regular expressions now, not per contact)."""
    if check == "keywords":
        if not any(k in spec for k in ("any", "all", "none")):
            raise fail(origin, node, f"{what}: keywords needs any, all or none")
        for k in ("any", "all", "none"):
            _phrases(origin, node, k, what)
    elif check == "regex":
        for pat in [spec.get("pattern"), *(spec.get("exclude") or [])]:
            if not isinstance(pat, str):
                raise fail(origin, node, f"{what}: regex needs a pattern (text) and optional exclude list")
            try:
                re.compile(pat)
            except re.error as exc:
                raise fail(origin, node, f"{what}: bad regular expression {pat!r}: {exc}") from None
    elif check == "similarity":
        if not _phrases(origin, node, "phrases", what):
            raise fail(origin, node, f"{what}: similarity needs phrases")
        if not 0 < float(spec.get("threshold", 0.6)) <= 1:
            raise fail(origin, node, f"{what}: threshold must be in (0, 1]")
    elif check == "order":
        for k in ("first", "then"):
            if not _phrases(origin, node, k, what):
                raise fail(origin, node, f"{what}: order needs first and then (lists of phrases)")
    elif check in ("silence", "overtalk"):
        if "max_s" not in node:
            raise fail(origin, node, f"{what}: {check} needs max_s")
        number(origin, node, "max_s", what)
    elif check == "speech_rate" and "min" not in node and "max" not in node:
        raise fail(origin, node, f"{what}: speech_rate needs min and/or max")


def load_rules(ref: str | Path = "hotline_zh") -> RuleSet:
    """A rule set from a YAML path or a built-in name (``quality/rule_files/<name>.yaml``)."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise CallopsError(f"rule file {ref} does not exist")
        return parse_rules(path.read_text(encoding="utf-8"), str(path))
    res = resources.files("callops.quality.rule_files") / f"{ref}.yaml"
    if not res.is_file():
        raise CallopsError(f"unknown rule set {ref!r}; give a YAML path or a built-in name")
    return parse_rules(res.read_text(encoding="utf-8"), f"built-in rules {ref}")


def _evidence(u: Utterance) -> dict:
    return {"seq": u.seq, "speaker": u.speaker, "start_s": u.start_s, "text": u.text}


def _scope(rule: Rule, utts: Sequence[Utterance]) -> list[Utterance]:
    """The utterances a rule looks at: its role, then its window."""
    us = [u for u in utts if rule.role is None or u.speaker == rule.role]
    w = rule.window
    if "within_s" in w:
        us = [u for u in us if u.start_s is not None and u.start_s <= w["within_s"]]
    if "first" in w:
        us = us[: int(w["first"])]
    if "last" in w:
        us = us[-int(w["last"]):]
    return us


def _first_hit(us: Sequence[Utterance], phrases: Sequence[str]) -> Utterance | None:
    return next((u for u in us if any(contains(u.text, p) for p in phrases)), None)


def check_rule(rule: Rule, utts: Sequence[Utterance]) -> dict:
    """One rule on one transcript: ``passed`` (True/False/None) and ``evidence``."""
    s, us = rule.spec, _scope(rule, utts)
    if rule.check == "keywords":
        ev: list[Utterance] = []
        ok = True
        if s.get("any"):
            hit = _first_hit(us, s["any"])
            ok &= hit is not None
            ev += [hit] if hit else []
        for p in s.get("all") or []:
            hit = _first_hit(us, [p])
            ok &= hit is not None
            ev += [hit] if hit else []
        bad = [u for u in us if any(contains(u.text, p) for p in s.get("none") or [])]
        ok &= not bad
        ev += bad
        return {"passed": ok, "evidence": [_evidence(u) for u in dict.fromkeys(ev)]}
    if rule.check == "regex":
        pat = re.compile(s["pattern"], re.IGNORECASE)
        excl = [re.compile(x, re.IGNORECASE) for x in s.get("exclude") or []]
        hits = [u for u in us if pat.search(u.text) and not any(x.search(u.text) for x in excl)]
        want = s.get("expect", "present")
        return {"passed": bool(hits) if want == "present" else not hits, "evidence": [_evidence(u) for u in hits]}
    if rule.check == "similarity":
        thr = float(s.get("threshold", 0.6))
        best = max(((max(similarity(u.text, p) for p in s["phrases"]), u) for u in us), default=(0.0, None),
                   key=lambda x: x[0])  # fmt: skip
        ev_u = [_evidence(best[1]) | {"similarity": round(best[0], 3)}] if best[1] is not None else []
        return {"passed": best[0] >= thr, "evidence": ev_u}
    if rule.check == "order":
        first = _first_hit(us, s["first"])
        then = _first_hit(us, s["then"])
        if then is None:
            return {"passed": None, "evidence": []}  # nothing to put in order
        ok = first is not None and first.seq < then.seq
        return {"passed": ok, "evidence": [_evidence(u) for u in (first, then) if u is not None]}
    timed = [u for u in us if u.start_s is not None and u.end_s is not None]
    if rule.check in ("silence", "overtalk"):
        if len(timed) < 2:
            return {"passed": None, "evidence": []}
        worst, at = 0.0, None
        ordered = sorted(timed, key=lambda u: (u.start_s, u.seq))
        for a, b in itertools.pairwise(ordered):
            gap = b.start_s - a.end_s  # type: ignore[operator]
            size = gap if rule.check == "silence" else -gap
            if size > worst:
                worst, at = size, b
        return {"passed": worst <= float(s["max_s"]), "value": worst,
                "evidence": [_evidence(at)] if at is not None and worst > float(s["max_s"]) else []}  # fmt: skip
    if rule.check == "speech_rate":
        secs = sum(u.end_s - u.start_s for u in timed)  # type: ignore[operator]
        if secs <= 0:
            return {"passed": None, "evidence": []}
        units = sum(len(tokens(u.text, 1)) if not is_chinese(u.text) else len(_HAN.findall(u.text)) for u in timed)
        rate = units / secs
        ok = (rate >= float(s.get("min", 0))) and (rate <= float(s.get("max", math.inf)))
        return {"passed": ok, "value": rate, "evidence": []}
    # repeated_questions
    qs = [u for u in us if u.text.rstrip().endswith(("?", "？", "吗", "呢"))]
    repeats = [b for i, b in enumerate(qs) if any(similarity(a.text, b.text) >= 0.8 for a in qs[:i])]
    return {"passed": len(repeats) <= int(s.get("max_repeats", 1)), "evidence": [_evidence(u) for u in repeats]}


def check_transcript(rules: RuleSet, utterances: Sequence[Mapping[str, Any]], contact_id: str = "") -> dict:
    """Every rule on one contact's utterances (``seq, speaker, text, start_s, end_s``): item → result."""
    utts = []
    for i, r in enumerate(utterances):
        speaker = r.get("speaker")
        if not speaker:
            raise TranscriptError(f"transcript {contact_id}: utterance {r.get('seq', i)} has no speaker")
        start, end = r.get("start_s"), r.get("end_s")
        utts.append(Utterance(int(r.get("seq", i)), str(speaker), str(r.get("text") or ""),
                              None if start is None or start != start else float(start),
                              None if end is None or end != end else float(end)))  # fmt: skip
    utts.sort(key=lambda u: u.seq)
    return {rule.id: check_rule(rule, utts) for rule in rules.rules}


def item_agreement(auto: Mapping[str, Mapping[str, bool | None]], human: Mapping[str, Mapping[str, bool]],
                   min_kappa: float) -> dict[str, dict]:  # fmt: skip
    """Per item: Cohen's kappa between automatic and human pass/fail on the contacts both judged, and whether
    the item may count in automatic scores (kappa ≥ ``min_kappa``)."""
    items = sorted({i for v in auto.values() for i in v} & {i for v in human.values() for i in v})
    out = {}
    for item in items:
        pairs = [(auto[c][item], human[c][item]) for c in auto if c in human and item in human[c]
                 and auto[c].get(item) is not None]  # fmt: skip
        if len(pairs) < 2:
            out[item] = {"contacts": len(pairs), "kappa": None, "agreement": None, "counts": False}
            continue
        a, h = [p[0] for p in pairs], [p[1] for p in pairs]
        k = cohen_kappa(a, h)
        agree = sum(x == y for x, y in pairs) / len(pairs)
        out[item] = {"contacts": len(pairs), "kappa": None if k != k else k, "agreement": agree,
                     "counts": k == k and k >= min_kappa}  # fmt: skip
    return out


def human_items(evaluations: Sequence[Mapping[str, Any]], pass_share: float = 0.5) -> dict[str, dict[str, bool]]:
    """Human pass/fail per contact and item from ``qa_evaluations`` rows (pass: score ≥ share of max_score)."""
    out: dict[str, dict[str, bool]] = {}
    for r in evaluations:
        cid, mx = r.get("contact_id"), r.get("max_score")
        if not cid or r.get("score") is None or not mx:
            continue
        out.setdefault(str(cid), {})[str(r["item"])] = float(r["score"]) >= pass_share * float(mx)
    return out


def run_text_qa(rules: RuleSet, utterances: Sequence[Mapping[str, Any]],
                evaluations: Sequence[Mapping[str, Any]] = ()) -> dict:  # fmt: skip
    """Check every contact of ``utterances`` (transcript rows), compare items with the human evaluations, and
    score each contact on the items that pass the agreement threshold (share of those items passed)."""
    by_contact: dict[str, list[Mapping[str, Any]]] = {}
    for r in utterances:
        by_contact.setdefault(str(r["contact_id"]), []).append(r)
    results = {cid: check_transcript(rules, rows, cid) for cid, rows in sorted(by_contact.items())}
    auto = {cid: {i: r["passed"] for i, r in res.items()} for cid, res in results.items()}
    agreement = item_agreement(auto, human_items(evaluations), rules.min_kappa) if evaluations else {}
    counting = [i for i, a in agreement.items() if a["counts"]]
    contacts = []
    for cid, res in results.items():
        judged = [res[i]["passed"] for i in counting if res[i]["passed"] is not None]
        contacts.append({"contact_id": cid, "score": 100.0 * sum(judged) / len(judged) if judged else None,
                         "items": res})  # fmt: skip
    return {"rules": f"{rules.name}@{rules.version}", "min_kappa": rules.min_kappa, "agreement": agreement,
            "counting_items": counting, "contacts": contacts}  # fmt: skip
