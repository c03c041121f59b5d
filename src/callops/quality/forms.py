"""Evaluation forms (versioned YAML) and the scoring of evaluations against them.

A form has sections; a section has items; an item has ``points``, a ``weight`` and either answer ``options``
(each a fraction of the points, or ``na``) or, without options, any score from 0 to ``points``. Scoring::

    score          = 100 * Σ weight·earned / Σ weight·points        over the items not answered N/A
    critical_score = the same over the critical items only
    failed         = a fatal item was answered with an option worth 0 (auto-fail: the score becomes 0)

YAML files are validated on load; a mistake names the file and the line (``callops.value.yamlio`` helpers).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from callops.errors import CallopsError
from callops.value.yamlio import fail, load_yaml, number, require_keys

NA = "na"


@dataclass(frozen=True)
class FormItem:
    """One question of a form."""

    id: str
    section: str
    label_en: str
    label_zh: str
    points: float
    weight: float
    options: dict[str, float | None] | None  # option → fraction of points (None = N/A); None = free score
    critical: bool = False
    fatal: bool = False


@dataclass
class Form:
    """A versioned evaluation form."""

    form_id: str
    version: int
    title_en: str
    title_zh: str
    items: dict[str, FormItem] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """``form_id@version``, what every scored evaluation records."""
        return f"{self.form_id}@{self.version}"


def _label(origin: str, node: Any, what: str) -> tuple[str, str]:
    lab = node.get("label", node.get("id", ""))
    if isinstance(lab, str):
        return lab, lab
    if isinstance(lab, dict) and isinstance(lab.get("en"), str) and isinstance(lab.get("zh"), str):
        return lab["en"], lab["zh"]
    raise fail(origin, node, f"{what}: label must be text or {{en: ..., zh: ...}}")


def parse_form(text: str, origin: str = "form") -> Form:
    """Parse and validate a form definition; every mistake names ``origin`` and the line."""
    doc = load_yaml(text, origin)
    require_keys(origin, doc, "form", ("form", "version", "sections"), ("title",))
    if not isinstance(doc["version"], int) or isinstance(doc["version"], bool) or doc["version"] < 1:
        raise fail(origin, doc, f"form: version must be a positive whole number, not {doc['version']!r}")
    title = doc.get("title", doc["form"])
    t_en, t_zh = (title, title) if isinstance(title, str) else (title.get("en", ""), title.get("zh", ""))
    form = Form(str(doc["form"]), doc["version"], t_en, t_zh)
    if not isinstance(doc["sections"], list) or not doc["sections"]:
        raise fail(origin, doc, "form: sections must be a non-empty list")
    for sec in doc["sections"]:
        require_keys(origin, sec, "section", ("id", "items"), ("label",))
        _label(origin, sec, f"section {sec['id']}")
        if sec["id"] in form.sections:
            raise fail(origin, sec, f"section {sec['id']!r} appears twice")
        form.sections.append(str(sec["id"]))
        if not isinstance(sec["items"], list) or not sec["items"]:
            raise fail(origin, sec, f"section {sec['id']}: items must be a non-empty list")
        for it in sec["items"]:
            what = f"item {it.get('id', '?')}" if isinstance(it, dict) else "item"
            require_keys(origin, it, what, ("id", "points"), ("label", "weight", "options", "critical", "fatal"))
            if str(it["id"]) in form.items:
                raise fail(origin, it, f"item {it['id']!r} appears twice")
            points = number(origin, it, "points", what)
            if points <= 0:
                raise fail(origin, it, f"{what}: points must be positive")
            weight = number(origin, it, "weight", what) if "weight" in it else 1.0
            options = _options(origin, it, what)
            for flag in ("critical", "fatal"):
                if flag in it and not isinstance(it[flag], bool):
                    raise fail(origin, it, f"{what}: {flag} must be true or false, not {it[flag]!r}")
            if it.get("fatal") and (options is None or 0.0 not in options.values()):
                raise fail(origin, it, f"{what}: a fatal item needs an option worth 0 (the failing answer)")
            en, zh = _label(origin, it, what)
            form.items[str(it["id"])] = FormItem(str(it["id"]), str(sec["id"]), en, zh, points, weight, options,
                                                 bool(it.get("critical")), bool(it.get("fatal")))  # fmt: skip
    return form


def _options(origin: str, it: Any, what: str) -> dict[str, float | None] | None:
    """An item's options: name → fraction of points in [0, 1], or ``na``/null for not applicable."""
    if "options" not in it:
        return None
    raw = it["options"]
    if not isinstance(raw, dict) or not raw:
        raise fail(origin, it, f"{what}: options must be a mapping of answer: fraction of points (or na)")
    out: dict[str, float | None] = {}
    for name, value in raw.items():
        if isinstance(name, bool):
            raise fail(origin, it, f"{what}: YAML reads an unquoted yes/no/on/off as {name}: quote the option name")
        if value is None or value == NA:
            out[str(name)] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise fail(origin, it, f"{what}: option {name!r} must be a fraction from 0 to 1 or na, not {value!r}")
        out[str(name)] = float(value)
    return out


def load_form(ref: str | Path = "hotline_voice") -> Form:
    """A form from a YAML path or a built-in name (``src/callops/quality/form_files/<name>.yaml``)."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise CallopsError(f"form file {ref} does not exist")
        return parse_form(path.read_text(encoding="utf-8"), str(path))
    res = resources.files("callops.quality.form_files") / f"{ref}.yaml"
    if not res.is_file():
        raise CallopsError(f"unknown form {ref!r}; give a YAML path or the built-in hotline_voice")
    return parse_form(res.read_text(encoding="utf-8"), f"built-in form {ref}")


class AnswerError(CallopsError):
    """An evaluation answers an item the form lacks, or with an option or score the item does not allow."""


@dataclass(frozen=True)
class ScoredEvaluation:
    """The score of one evaluation under one form version."""

    evaluation_id: str
    form: str
    score: float | None  # 0-100; None when every item was N/A
    critical_score: float | None
    failed: bool
    answered: int
    not_applicable: int

    def to_dict(self) -> dict:
        """Plain JSON-able fields."""
        return dict(self.__dict__)


def item_fraction(item: FormItem, answer: str | float | None) -> float | None:
    """The fraction of ``item``'s points an answer earns (None = N/A); raise :class:`AnswerError` if invalid."""
    if answer is None:
        return None  # not answered: not applicable
    if item.options is not None:
        if isinstance(answer, int | float) and not isinstance(answer, bool):
            # a stored row (qa_evaluations.score) holds the points an option earned, not the option's name
            fracs = {f for f in item.options.values() if f is not None}
            if not math.isnan(answer) and any(abs(answer - f * item.points) < 1e-6 for f in fracs):
                return float(answer) / item.points
            raise AnswerError(f"item {item.id}: score {answer!r} is not the points of any option")
        key = str(answer)
        if key not in item.options:
            raise AnswerError(f"item {item.id}: answer {answer!r} is not an option ({', '.join(item.options)})")
        return item.options[key]
    if answer == NA:
        return None
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise AnswerError(f"item {item.id}: score {answer!r} is not a number") from None
    if math.isnan(value):
        return None
    if not 0 <= value <= item.points:
        raise AnswerError(f"item {item.id}: score {value:g} is outside 0..{item.points:g}")
    return value / item.points


def score_answers(form: Form, evaluation_id: str, answers: Mapping[str, str | float | None]) -> ScoredEvaluation:
    """Score one evaluation's answers (item → option or points); items the form has but not answered are N/A."""
    earned = possible = c_earned = c_possible = 0.0
    failed = False
    answered = na = 0
    for item_id in answers:
        if item_id not in form.items:
            raise AnswerError(f"evaluation {evaluation_id}: item {item_id!r} is not on form {form.ref}")
    for item in form.items.values():
        try:
            frac = item_fraction(item, answers.get(item.id))
        except AnswerError as exc:
            raise AnswerError(f"evaluation {evaluation_id}: {exc}") from None
        if frac is None:
            na += 1
            continue
        answered += 1
        earned += item.weight * item.points * frac
        possible += item.weight * item.points
        if item.critical or item.fatal:
            c_earned += item.weight * item.points * frac
            c_possible += item.weight * item.points
        if item.fatal and frac == 0.0:
            failed = True
    score = None if possible == 0 else (0.0 if failed else 100.0 * earned / possible)
    critical = None if c_possible == 0 else 100.0 * c_earned / c_possible
    return ScoredEvaluation(evaluation_id, form.ref, score, critical, failed, answered, na)


@dataclass
class ScoreRun:
    """Scores of many evaluations, and the rows that could not be scored (nothing is dropped silently)."""

    scored: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)


def score_rows(form: Form, rows: Iterable[Mapping[str, Any]]) -> ScoreRun:
    """Score ``qa_evaluations`` rows (one per item: evaluation_id, item, score, ...) under ``form``.

    An evaluation with a bad item is rejected whole, with its reason; the other evaluations are scored.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(str(r["evaluation_id"]), []).append(r)
    run = ScoreRun()
    for eid, items in groups.items():
        first = items[0]
        try:
            s = score_answers(form, eid, {str(r["item"]): r.get("answer", r.get("score")) for r in items})
        except AnswerError as exc:
            run.rejects.append({"evaluation_id": eid, "reason": str(exc), "rows": len(items)})
            continue
        row = s.to_dict()
        for key in ("contact_id", "agent_id", "evaluator", "evaluated_at"):
            row[key] = first.get(key)
        run.scored.append(row)
    return run
