"""Wald's sequential probability ratio test (SPRT) for a campaign's acceptance rate.

Each presentation of an offer is a Bernoulli trial (accepted or not). The test weighs

    H0: p = p0  (the break-even acceptance rate: the campaign does not pay)
    H1: p = p1  (the target rate, p1 > p0: it pays)

by the log-likelihood ratio ``Z_n = Σ log f(x_i; p1) / f(x_i; p0)``: an acceptance adds
``step_success = log(p1/p0)``, a refusal adds ``step_failure = log((1-p1)/(1-p0))`` (negative). Wald's
boundaries (Wald 1947, §3.2) are ``log_a = log((1-β)/α)`` and ``log_b = log(β/(1-α))``: the test accepts H1
(continue) when ``Z_n ≥ log_a``, accepts H0 (pause) when ``Z_n ≤ log_b``, and asks for more data in between.

Error rates, as declared: ``α`` = P(continue | p = p0), keeping a campaign that only breaks even;
``β`` = P(pause | p = p1), pausing a campaign that meets its target. Wald's boundaries keep the true rates at
or below about α/(1-β) and β/(1-α) (the overshoot makes them a little smaller in practice).

Average sample numbers (Wald 1947, §3.4, neglecting overshoot): with ``L(p)`` the probability of accepting H0
and ``E_p[z] = p·step_success + (1-p)·step_failure``::

    ASN(p) = (L(p)·log_b + (1 - L(p))·log_a) / E_p[z],    L(p0) = 1-α, L(p1) = β,

and where ``E_p[z] = 0`` (the hardest rate): ``ASN = -log_a·log_b / E_p[z²]``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from callops.errors import CallopsError


@dataclass(frozen=True)
class Sprt:
    """A declared test: the rates it separates and its error rates, with boundaries and steps."""

    p0: float
    p1: float
    alpha: float
    beta: float

    def __post_init__(self) -> None:
        """Refuse rates outside (0, 1), p1 not above p0 and error rates outside (0, 0.5)."""
        for name in ("p0", "p1", "alpha", "beta"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise CallopsError(f"SPRT: {name} must be a number, not {v!r}")
        if not 0.0 < self.p0 < 1.0 or not 0.0 < self.p1 < 1.0:
            raise CallopsError(f"SPRT: p0 and p1 must lie strictly between 0 and 1 (got {self.p0:g}, {self.p1:g})")
        if self.p1 <= self.p0:
            raise CallopsError(f"SPRT: the target rate p1 ({self.p1:g}) must be above the break-even p0 ({self.p0:g})")
        for name in ("alpha", "beta"):
            if not 0.0 < getattr(self, name) < 0.5:
                raise CallopsError(f"SPRT: {name} must lie strictly between 0 and 0.5, not {getattr(self, name):g}")

    @property
    def log_a(self) -> float:
        """Upper boundary ``log((1-β)/α)``: at or above it, accept H1 (the campaign pays)."""
        return math.log((1.0 - self.beta) / self.alpha)

    @property
    def log_b(self) -> float:
        """Lower boundary ``log(β/(1-α))``: at or below it, accept H0 (the campaign does not pay)."""
        return math.log(self.beta / (1.0 - self.alpha))

    @property
    def step_success(self) -> float:
        """What one acceptance adds to the log-likelihood ratio: ``log(p1/p0)``."""
        return math.log(self.p1 / self.p0)

    @property
    def step_failure(self) -> float:
        """What one refusal adds: ``log((1-p1)/(1-p0))`` (negative)."""
        return math.log((1.0 - self.p1) / (1.0 - self.p0))

    def drift(self, p: float) -> float:
        """``E_p[z]``: the mean step at acceptance rate ``p``."""
        return p * self.step_success + (1.0 - p) * self.step_failure

    @property
    def p_zero_drift(self) -> float:
        """The acceptance rate at which the mean step is 0 (the test is slowest there); between p0 and p1."""
        return -self.step_failure / (self.step_success - self.step_failure)

    def asn(self, p: float, accept_h0: float) -> float:
        """Wald's ASN at rate ``p`` given ``accept_h0`` = L(p), the probability of accepting H0 there."""
        d = self.drift(p)
        if abs(d) < 1e-15:
            q = p * self.step_success**2 + (1.0 - p) * self.step_failure**2
            return -self.log_a * self.log_b / q
        return (accept_h0 * self.log_b + (1.0 - accept_h0) * self.log_a) / d

    def summary(self) -> dict[str, Any]:
        """The test as printed by ``callops campaign test``: inputs, boundaries, steps, expected sample sizes."""
        pz = self.p_zero_drift
        return {
            **asdict(self),
            "log_a": self.log_a,
            "log_b": self.log_b,
            "step_success": self.step_success,
            "step_failure": self.step_failure,
            "asn_p0": self.asn(self.p0, 1.0 - self.alpha),
            "asn_p1": self.asn(self.p1, self.beta),
            "p_zero_drift": pz,
            "asn_max": self.asn(pz, 0.5),  # the L(p) value does not matter where the drift is 0
            "accept_h1": "continue (the campaign pays: acceptance at the target rate p1)",
            "accept_h0": "pause (the campaign does not pay: acceptance at the break-even rate p0)",
        }

    def run(self, accepted: np.ndarray) -> dict[str, Any]:
        """Run the test over presentations in time order (``accepted``: 0/1 per presentation).

        Returns ``decision`` (``continue``, ``pause`` or ``undecided``), ``n`` (presentations the test used: up
        to and including the one that crossed a boundary, else all), ``successes`` among them, ``llr`` (the
        log-likelihood ratio there) and ``crossed_at`` (the 0-based index of the crossing, or None).
        """
        x = np.asarray(accepted, dtype=bool)
        if x.size == 0:
            return {"decision": "undecided", "n": 0, "successes": 0, "llr": 0.0, "crossed_at": None}
        z = np.cumsum(np.where(x, self.step_success, self.step_failure))
        hit = np.flatnonzero((z >= self.log_a) | (z <= self.log_b))
        if hit.size == 0:
            return {"decision": "undecided", "n": int(x.size), "successes": int(x.sum()), "llr": float(z[-1]),
                    "crossed_at": None}
        i = int(hit[0])
        return {"decision": "continue" if z[i] >= self.log_a else "pause", "n": i + 1,
                "successes": int(x[: i + 1].sum()), "llr": float(z[i]), "crossed_at": i}
