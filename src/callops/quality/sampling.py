"""Sampling plans for QA: how many contacts per agent, from which strata, and a reproducible draw.

Sample size (normal approximation, Cochran's finite population correction)::

    n0 = (z * S / E) ** 2            z = Φ⁻¹(1 - (1 - confidence) / 2), S = score SD, E = margin of error
    n  = n0 / (1 + (n0 - 1) / N)     N = the agent's contacts in the period; both rounded up, n ≤ N

Stratified plans split an agent's population by stratum (queue, channel, outcome, duration band, risk) and
allocate ``n`` proportionally (``n_h ∝ N_h``) or by Neyman (``n_h ∝ N_h S_h``); each drawn contact records its
inclusion probability ``π_h = n_h / N_h`` and design weight ``1 / π_h``, so the weighted mean of the drawn scores
estimates the agent's mean over all their contacts.

Risk-targeted picks (complaints, low CSAT, long and repeat contacts) are a *separate* stream: they are drawn on
purpose, so they are never a probability sample of the agent's work and never count in agent scores.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from callops.errors import CallopsError

ALLOCATIONS = ("proportional", "neyman")
STRATA = ("queue", "channel", "outcome", "duration_band", "risk")
SAMPLE_SIZE_FORMULA = "n0 = (z*S/E)^2; n = n0 / (1 + (n0 - 1)/N); both rounded up, n <= N"


class SamplingError(CallopsError):
    """A sampling parameter is out of range."""


def _ceil(x: float) -> int:
    """Round up, forgiving floating noise (96.0000000001 is 96)."""
    return math.ceil(x - 1e-9)


def sample_size(sd: float, margin: float, confidence: float = 0.95, population: int | None = None) -> dict:
    """Contacts to evaluate so the mean score is within ``margin`` of the truth with ``confidence``.

    Returns ``n`` (with the finite population correction when ``population`` is given), ``n_without_fpc``,
    ``z`` and the ``formula``.
    """
    if not (sd >= 0 and math.isfinite(sd)):
        raise SamplingError(f"--sd must be a non-negative number, got {sd}")
    if not (margin > 0 and math.isfinite(margin)):
        raise SamplingError(f"--margin must be positive, got {margin}")
    if not 0 < confidence < 1:
        raise SamplingError(f"--confidence must be between 0 and 1, got {confidence}")
    if population is not None and population < 0:
        raise SamplingError(f"--population must be non-negative, got {population}")
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    n0 = (z * sd / margin) ** 2
    n_plain = _ceil(n0)
    if population is None:
        n = n_plain
    elif population == 0:
        n = 0
    else:
        n = min(population, _ceil(n0 / (1 + (n0 - 1) / population)) if n0 >= 1 else _ceil(n0))
    return {"n": n, "n_without_fpc": n_plain, "z": z, "n0": n0, "population": population,
            "sd": sd, "margin": margin, "confidence": confidence, "formula": SAMPLE_SIZE_FORMULA}  # fmt: skip


def _largest_remainder(shares: np.ndarray, total: int, caps: np.ndarray) -> np.ndarray:
    """Integers summing to ``min(total, caps.sum())`` close to ``shares`` (scaled to ``total``), each ≤ its cap."""
    total = int(min(total, caps.sum()))
    out = np.zeros(len(shares), dtype=int)
    active = caps > 0
    remaining = total
    # Fill, capping strata that would get more than they hold, and hand their excess to the others.
    while remaining > 0 and active.any():
        w = np.where(active, shares, 0.0)
        if w.sum() <= 0:
            w = active.astype(float)
        ideal = remaining * w / w.sum()
        room = caps - out
        over = active & (ideal >= room)
        if over.any():
            out[over] = caps[over]
            remaining = total - out.sum()
            active &= ~over
            continue
        base = np.floor(ideal).astype(int)
        left = remaining - base.sum()
        order = np.argsort(-(ideal - base), kind="stable")
        base[order[:left]] += 1
        out += base
        remaining = 0
    return out


def allocate(sizes: Sequence[int], n: int, method: str = "proportional", sds: Sequence[float] | None = None) -> list:
    """Split ``n`` draws over strata of ``sizes`` (proportional or Neyman with stratum SDs ``sds``)."""
    if method not in ALLOCATIONS:
        raise SamplingError(f"unknown allocation {method!r}; use one of {', '.join(ALLOCATIONS)}")
    size = np.asarray(sizes, dtype=float)
    if method == "neyman":
        if sds is None or len(sds) != len(sizes):
            raise SamplingError("Neyman allocation needs one score SD per stratum")
        shares = size * np.asarray(sds, dtype=float)
        if shares.sum() <= 0:  # no dispersion anywhere: fall back to proportional
            shares = size
    else:
        shares = size
    return _largest_remainder(shares, int(n), np.asarray(sizes, dtype=int)).tolist()


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from ``parts`` that does not depend on the process (unlike ``hash``)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def duration_band(talk_s: float | None) -> str:
    """The duration band of a contact's talk time (bands chosen for QA: short, normal, long)."""
    if talk_s is None or (isinstance(talk_s, float) and math.isnan(talk_s)):
        return "unknown"
    return "<2min" if talk_s < 120 else ("2-10min" if talk_s < 600 else ">10min")


@dataclass
class Stratum:
    """One stratum of one agent's population and what the plan draws from it."""

    key: str
    population: int
    n: int
    sd: float | None = None

    @property
    def inclusion_probability(self) -> float:
        """π_h = n_h / N_h."""
        return self.n / self.population if self.population else 0.0

    @property
    def weight(self) -> float | None:
        """Design weight 1 / π_h (None when nothing is drawn)."""
        return 1.0 / self.inclusion_probability if self.n else None


@dataclass
class AgentPlan:
    """One agent's plan: the population, the sample size, the strata and the drawn contacts."""

    agent_id: str
    population: int
    n: int
    strata: list[Stratum] = field(default_factory=list)
    draw: list[dict] = field(default_factory=list)
    risk: list[dict] = field(default_factory=list)
    exempt: bool = False

    def to_dict(self) -> dict:
        """The JSON shape of ``callops qa plan``."""
        return {
            "agent_id": self.agent_id, "population": self.population, "n": self.n, "exempt": self.exempt,
            "strata": [{"stratum": s.key, "population": s.population, "n": s.n,
                        "inclusion_probability": s.inclusion_probability, "weight": s.weight} for s in self.strata],
            "draw": self.draw, "risk": self.risk,
        }  # fmt: skip


def plan_agent(
    agent_id: str,
    contacts: Sequence[Mapping],
    *,
    sd: float,
    margin: float,
    confidence: float = 0.95,
    strata_by: Sequence[str] = ("channel",),
    allocation: str = "proportional",
    stratum_sds: Mapping[str, float] | None = None,
    seed: int = 0,
    period: str = "",
    risk_per_agent: int = 2,
    rate: float = 1.0,
) -> AgentPlan:
    """Plan and draw for one agent: ``n`` from :func:`sample_size` on the agent's population (times ``rate``, the
    reduced rate of exempt agents), allocated over strata, drawn without replacement with a seed derived from
    ``(seed, period, agent_id)``; plus up to ``risk_per_agent`` risk contacts in the separate stream."""
    for s in strata_by:
        if s not in STRATA:
            raise SamplingError(f"unknown stratum {s!r}; use any of {', '.join(STRATA)}")
    rows = sorted(contacts, key=lambda c: str(c["contact_id"]))
    pop = len(rows)
    n = sample_size(sd, margin, confidence, pop)["n"]
    n = min(pop, _ceil(n * rate)) if rate < 1 else n
    groups: dict[str, list[Mapping]] = {}
    for c in rows:
        groups.setdefault(stratum_key(c, strata_by), []).append(c)
    keys = sorted(groups)
    sds = [(stratum_sds or {}).get(k, sd) for k in keys]
    alloc = allocate([len(groups[k]) for k in keys], n, allocation, sds)
    rng = np.random.default_rng(stable_seed(seed, period, agent_id))
    plan = AgentPlan(agent_id, pop, int(sum(alloc)))
    for key, n_h, sd_h in zip(keys, alloc, sds, strict=True):
        stratum = Stratum(key, len(groups[key]), int(n_h), sd_h)
        plan.strata.append(stratum)
        picked = sorted(rng.choice(len(groups[key]), size=int(n_h), replace=False).tolist()) if n_h else []
        for i in picked:
            c = groups[key][i]
            plan.draw.append({"contact_id": str(c["contact_id"]), "agent_id": agent_id, "stream": "routine",
                              "stratum": key, "inclusion_probability": stratum.inclusion_probability,
                              "weight": stratum.weight})  # fmt: skip
    drawn = {d["contact_id"] for d in plan.draw}
    risky = [(reasons, str(c["contact_id"])) for c in rows
             if (reasons := risk_reasons(c)) and str(c["contact_id"]) not in drawn]  # fmt: skip
    risky.sort(key=lambda rc: (-len(rc[0]), rc[1]))
    for reasons, cid in risky[:risk_per_agent]:
        plan.risk.append({"contact_id": cid, "agent_id": agent_id, "stream": "risk", "reasons": reasons,
                          "stratum": None, "inclusion_probability": None, "weight": None})  # fmt: skip
    return plan


LONG_CONTACT_S = 900.0
LOW_CSAT = 2.0


def risk_reasons(c: Mapping) -> list[str]:
    """Why a contact is worth a targeted look: complaint, low CSAT, long, repeat (from the contact's fields)."""
    out = []
    if str(c.get("business_type") or "") == "complaint":
        out.append("complaint")
    csat = c.get("csat")
    if csat is not None and not (isinstance(csat, float) and math.isnan(csat)) and csat <= LOW_CSAT:
        out.append("low_csat")
    talk = c.get("talk_s")
    if talk is not None and not (isinstance(talk, float) and math.isnan(talk)) and talk >= LONG_CONTACT_S:
        out.append("long")
    if c.get("repeat"):
        out.append("repeat")
    return out


def stratum_key(c: Mapping, strata_by: Sequence[str]) -> str:
    """The stratum a contact falls in, e.g. ``channel=voice|risk=routine``."""
    return "|".join(f"{s}={_stratum_value(c, s)}" for s in strata_by)


def stratum_sds(rows: Iterable[tuple[str, str, float]], *, min_df: int = 2) -> dict[str, float]:
    """Per stratum, the pooled within-agent SD of scores from ``(stratum, agent, score)`` rows: what Neyman
    allocation needs (an agent's level is not stratum dispersion, so each agent's own mean is taken out).
    Strata with fewer than ``min_df`` degrees of freedom are left out (the plan then uses the overall SD)."""
    acc: dict[str, dict[str, list[float]]] = {}
    for stratum, agent, score in rows:
        acc.setdefault(stratum, {}).setdefault(agent, []).append(float(score))
    out = {}
    for stratum, by_agent in acc.items():
        ss = sum(float(((np.asarray(v) - np.mean(v)) ** 2).sum()) for v in by_agent.values())
        df = sum(len(v) for v in by_agent.values()) - len(by_agent)
        if df >= min_df:
            out[stratum] = float(np.sqrt(ss / df))
    return out


def _stratum_value(c: Mapping, name: str) -> str:
    if name == "duration_band":
        return duration_band(c.get("talk_s"))
    if name == "risk":
        return "risk" if risk_reasons(c) else "routine"
    return str(c.get(name) or "")


def weighted_mean(scores: Sequence[float], weights: Sequence[float] | None) -> float:
    """The Hájek (ratio) estimate of a mean from a weighted sample; the plain mean without weights."""
    x = np.asarray(scores, dtype=float)
    if weights is None:
        return float(x.mean())
    w = np.asarray(weights, dtype=float)
    return float((w * x).sum() / w.sum())
