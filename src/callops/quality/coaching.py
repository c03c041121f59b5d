"""Coaching and recognition (regression to the mean), exemption from routine sampling, evaluator drift charts.

Regression to the mean: under the ranking's normal–normal model with a level that does not change, the best
forecast of an agent's next mean from this period's mean ``x₁`` is the shrunk mean ``μ + λ₁ (x₁ - μ)``; so the
change regression alone gives is ``-(1 - λ₁)(x₁ - μ)``. The observed next mean ``x₂`` goes beyond it when
``z = (x₂ - shrunk₁) / sqrt(v₁ + σ²/n₂)`` is outside ±1.96 (``v₁`` the posterior variance).

Exemption: an agent whose last ``last_n`` scores have a one-sided lower confidence bound (Student t) above
``threshold`` and no failed or critical-below-``critical_min`` evaluation is sampled at ``reduced_rate``; the
rule is evaluated on the latest results every time, so a later bad result ends the exemption by itself.

Drift: per evaluator, each score's deviation from the mean the *other* evaluators gave the same agent in the
period, charted as EWMA (λ = 0.2, limits ±3σ·sqrt(λ/(2-λ)(1-(1-λ)^{2t}))) and two-sided CUSUM (k = 0.5σ, h = 4σ).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy.stats import t as student_t

from callops.errors import CallopsError
from callops.quality.ranking import components
from callops.settings import tenant_file

Z95 = 1.959963984540054


class QualityParameters(BaseModel):
    """A tenant's QA rules (``$CALLOPS_HOME/tenants/<tenant>/quality.yaml``; every key optional)."""

    model_config = ConfigDict(extra="forbid")
    reliability_threshold: float = Field(0.7, ge=0, le=1, description="Below it an agent's rank is suppressed.")
    exemption_last_n: int = Field(10, ge=3, description="Evaluations the exemption rule looks at.")
    exemption_threshold: float = Field(85.0, ge=0, le=100, description="Lower bound must exceed this score.")
    exemption_confidence: float = Field(0.95, gt=0.5, lt=1)
    exemption_reduced_rate: float = Field(0.5, gt=0, le=1, description="Share of the routine sample kept.")
    critical_min: float = Field(100.0, ge=0, le=100, description="A critical score below it is a critical failure.")
    coaching_below: float = Field(75.0, ge=0, le=100, description="Coach when the upper interval bound is below.")
    recognise_above: float = Field(88.0, ge=0, le=100, description="Recognise when the lower bound is above.")
    margin: float = Field(5.0, gt=0, description="Default margin of error of the sampling plan (points).")


def parameters_path(tenant_id: str) -> Path:
    """Where a tenant's QA parameters live."""
    return tenant_file(tenant_id, "quality.yaml")


def load_parameters(tenant_id: str) -> QualityParameters:
    """The tenant's QA parameters (defaults for what the file leaves out); a bad file is a clear error."""
    path = parameters_path(tenant_id)
    data = {}
    if path.is_file():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise CallopsError(f"{path}, line {mark.line + 1 if mark else '?'}: not valid YAML") from None
    try:
        return QualityParameters(**data)
    except (ValidationError, TypeError) as exc:
        raise CallopsError(f"{path}: {str(exc).splitlines()[0]}") from None


def _mean_and_size(x: Sequence[float], w: Sequence[float] | None) -> tuple[float, float]:
    """The (Hájek) mean of ``x`` and its effective size (Kish's ``(Σw)²/Σw²``; ``len(x)`` without weights)."""
    if w is None:
        return float(np.mean(x)), float(len(x))
    wa = np.asarray(w, dtype=float)
    return float(np.average(x, weights=wa)), float(wa.sum() ** 2 / (wa**2).sum())


def regression_to_mean(previous: Mapping[str, Sequence[float]], current: Mapping[str, Sequence[float]],
                       weights_previous: Mapping[str, Sequence[float] | None] | None = None,
                       weights_current: Mapping[str, Sequence[float] | None] | None = None) -> list:  # fmt: skip
    """Per agent seen in both periods: means, the change regression to the mean alone gives, and whether the
    observed change goes beyond it (``real_change``: 'improved', 'declined' or None). With design weights (per
    agent, aligned with its scores; None = equal), the means are Hájek means and Kish's effective sizes replace the
    counts, as in the ranking."""
    comp = components({a: v for a, v in previous.items() if len(v)})
    out = []
    for agent in sorted(set(previous) & set(current)):
        x1, x2 = previous[agent], current[agent]
        if not len(x1) or not len(x2):
            continue
        m1, n1 = _mean_and_size(x1, (weights_previous or {}).get(agent))
        m2, n2 = _mean_and_size(x2, (weights_current or {}).get(agent))
        noise1 = comp.sigma2 / n1
        lam = comp.tau2 / (comp.tau2 + noise1) if comp.tau2 > 0 else 0.0
        expected = comp.mu + lam * (m1 - comp.mu)
        sd = math.sqrt(lam * noise1 + comp.sigma2 / n2)
        z = (m2 - expected) / sd if sd > 0 else 0.0
        out.append({
            "agent_id": agent, "n_previous": len(x1), "n_current": len(x2), "previous_mean": m1, "current_mean": m2,
            "change": m2 - m1, "expected_change": expected - m1, "beyond_regression": m2 - expected, "z": z,
            "real_change": "improved" if z > Z95 else ("declined" if z < -Z95 else None),
        })  # fmt: skip
    return out


def coaching_lists(ranking: Sequence[Mapping], changes: Sequence[Mapping], params: QualityParameters) -> dict:
    """The coaching list (low level or a real decline) and the recognition list (high level or a real
    improvement), each entry with the numbers behind it and the reasons."""
    by_agent = {c["agent_id"]: c for c in changes}
    coach, recognise = [], []
    for r in ranking:
        c = by_agent.get(r["agent_id"], {})
        lo, hi = r["interval"]
        reasons_c = (["low level"] if hi < params.coaching_below else []) + (
            ["real decline"] if c.get("real_change") == "declined" else [])
        reasons_r = (["high level"] if lo > params.recognise_above else []) + (
            ["real improvement"] if c.get("real_change") == "improved" else [])
        entry = {"agent_id": r["agent_id"], "n": r["n"], "mean": r["mean"], "shrunk_mean": r["shrunk_mean"],
                 "interval": r["interval"], "change": c.get("change"), "expected_change": c.get("expected_change"),
                 "z": c.get("z")}  # fmt: skip
        if reasons_c:
            coach.append({**entry, "reasons": reasons_c})
        if reasons_r:
            recognise.append({**entry, "reasons": reasons_r})
    coach.sort(key=lambda e: e["shrunk_mean"])
    recognise.sort(key=lambda e: -e["shrunk_mean"])
    return {"coaching": coach, "recognition": recognise}


def exemption(scored: Sequence[Mapping], params: QualityParameters) -> dict[str, dict]:
    """Per agent: whether the exemption rule holds on their last ``exemption_last_n`` evaluations (by time)."""
    by_agent: dict[str, list[Mapping]] = defaultdict(list)
    for r in scored:
        if r.get("agent_id") and r.get("score") is not None:
            by_agent[str(r["agent_id"])].append(r)
    out = {}
    n = params.exemption_last_n
    for agent, rows in sorted(by_agent.items()):
        rows = sorted(rows, key=lambda r: (str(r.get("evaluated_at") or ""), str(r["evaluation_id"])))[-n:]
        scores = np.array([float(r["score"]) for r in rows])
        critical_fail = any(
            r.get("failed") or (r.get("critical_score") is not None and r["critical_score"] < params.critical_min)
            for r in rows
        )
        if len(rows) < n:
            out[agent] = {"exempt": False, "lower_bound": None, "evaluations": len(rows), "reason": "too few"}
            continue
        sd = float(scores.std(ddof=1))
        lower = float(scores.mean() - student_t.ppf(params.exemption_confidence, n - 1) * sd / math.sqrt(n))
        exempt = lower > params.exemption_threshold and not critical_fail
        reason = None if exempt else ("critical failure" if critical_fail else "lower bound below threshold")
        out[agent] = {"exempt": exempt, "lower_bound": lower, "evaluations": n, "reason": reason,
                      "rate": params.exemption_reduced_rate if exempt else 1.0}  # fmt: skip
    return out


def ewma_chart(x: Sequence[float], sigma: float, lam: float = 0.2, width: float = 3.0) -> dict:
    """EWMA of deviations ``x`` (target 0) with its time-varying control limits and the points that signal."""
    z, prev, upper, signals = [], 0.0, [], []
    for i, v in enumerate(x, start=1):
        prev = lam * v + (1 - lam) * prev
        lim = width * sigma * math.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * i)))
        z.append(prev)
        upper.append(lim)
        if abs(prev) > lim:
            signals.append(i - 1)
    return {"ewma": z, "limit": upper, "signals": signals}


def cusum_chart(x: Sequence[float], sigma: float, k: float = 0.5, h: float = 4.0) -> dict:
    """Two-sided tabular CUSUM of deviations ``x`` (target 0) in units of ``sigma``; signals where S > h."""
    hi = lo = 0.0
    s_hi, s_lo, signals = [], [], []
    for i, v in enumerate(x):
        u = v / sigma if sigma > 0 else 0.0
        hi = max(0.0, hi + u - k)
        lo = max(0.0, lo - u - k)
        s_hi.append(hi)
        s_lo.append(lo)
        if hi > h or lo > h:
            signals.append(i)
    return {"upper": s_hi, "lower": s_lo, "h": h, "signals": signals}


def evaluator_drift(scored: Sequence[Mapping]) -> dict[str, dict]:
    """Per evaluator (in time order): deviations from the other evaluators' mean for the same agent, with the
    EWMA and CUSUM charts and the evaluator's mean bias."""
    by_agent_eval: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in scored:
        if r.get("agent_id") and r.get("evaluator") and r.get("score") is not None:
            by_agent_eval[str(r["agent_id"])][str(r["evaluator"])].append(float(r["score"]))
    series: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in sorted(scored, key=lambda r: (str(r.get("evaluated_at") or ""), str(r["evaluation_id"]))):
        a, e = str(r.get("agent_id") or ""), str(r.get("evaluator") or "")
        if not a or not e or r.get("score") is None:
            continue
        others = [s for ev, vals in by_agent_eval[a].items() if ev != e for s in vals]
        if others:
            series[e].append((str(r.get("evaluated_at") or ""), float(r["score"]) - float(np.mean(others))))
    devs = [d for s in series.values() for _, d in s]
    sigma = float(np.std(devs, ddof=1)) if len(devs) > 1 else 1.0
    return {e: {"bias": float(np.mean([d for _, d in s])), "points": len(s), "at": [t for t, _ in s],
                "deviation": [d for _, d in s], "ewma": ewma_chart([d for _, d in s], sigma),
                "cusum": cusum_chart([d for _, d in s], sigma)} for e, s in sorted(series.items())}  # fmt: skip
