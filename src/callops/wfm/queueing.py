"""Exact queueing maths for contact centres: Erlang B, Erlang C, Erlang A and chat concurrency.

Everything is vectorised with numpy: every argument may be an array and arguments broadcast against each other
(e.g. calls of shape ``(96, 50)`` for intervals × queues with a scalar AHT), and every result is a
:class:`QueueMetrics` of arrays of the broadcast shape.

Units: ``calls`` are offered calls per interval, ``interval_s``, ``aht_s``, ``threshold_s`` and ``patience_s`` are
seconds. The offered load is ``a = calls * aht_s / interval_s`` Erlangs, ``λ = calls / interval_s``, ``μ = 1 / aht_s``,
``θ = 1 / patience_s``.

Method and accuracy
-------------------
* **Erlang B** uses the continuous extension ``B(c, a) = a^c e^-a / Γ(c+1) / Q(c+1, a)`` (``Q`` = regularised upper
  incomplete gamma, ``scipy.special.gammaincc``; for a few cells, its series below ``a = c + 1`` and Legendre's
  continued fraction above, in numpy, so that ``callops queue erlang-c`` needs no scipy), evaluated in log space,
  so it is defined for fractional ``c`` and agrees with the classic recursion at integers. Where ``Q`` underflows
  (load far above ``c``) ``1/B`` comes from Legendre's continued fraction for ``Γ(c+1, a)`` instead. No
  factorials, no overflow for ``c`` in the thousands; relative error about 1e-12.
* **Erlang C** is ``C = c·B / (c − a + a·B)`` (same continuous extension), SL ``1 − C·exp(−(c − a)·T/AHT)``,
  ASA ``C·AHT/(c − a)``. With ``c ≤ a`` the queue is unstable: ``p_wait = 1``, SL 0, ASA ``inf``, ``stable`` False.
* **Erlang A** (M/M/c+M, Palm; formulas as in Mandelbaum & Zeltyn, "The M/M/n+G queue: summary of performance
  measures") is computed from the birth–death chain of the number in system. States ``n ≤ c`` enter only through
  ``B(c, a)`` (so fractional ``c`` works); the queue part has weights ``w_k = π_{c+k}/π_c = Π_{i=1..k} λ/(cμ + iθ)``,
  summed in log space over a window around their mode that drops all terms below ``e^-50`` of the largest (the
  window is found per cell, so there is no fixed truncation level and no loss of accuracy for large ``c`` or long
  patience). A customer who finds ``k`` waiting is served iff his own patience outlasts ``S_k``, the time for ``k+1``
  departures ahead of him, a sum of exponentials with rates ``θ(α+1), …, θ(α+k+1)`` (``α = cμ/θ``); hence exactly
  ``P(served | k) = α/(α+k+1)``, ``P(W ≤ T, served | k) = α/(α+k+1) · I_p(k+1, α+1)`` with ``p = 1 − e^{−θT}``
  (``I`` = regularised incomplete beta), ``E[W; served | k] = α/(α+k+1) · (ψ(α+k+2) − ψ(α+1))/θ``. Results agree
  with a 50-digit mpmath brute force to ~1e-12 (see tests). Infinite patience reduces exactly to Erlang C.
* **Chat / concurrency**: ``c`` agents each hold up to ``k`` sessions; an agent holding ``j`` sessions works each at
  handle time ``aht(j) = aht1 · (1 + g·(j − 1))``, i.e. completes sessions at rate ``j / aht(j)``. Model: exact
  birth–death chain over the number of sessions ``n`` with load-balanced routing (sessions spread as evenly as
  possible over agents, so ``⌊n/c⌋`` or ``⌈n/c⌉`` each), departure rate
  ``μ(n) = r(q+1)/aht(q+1) + (c−r)·q/aht(q)`` for ``n = qc + r ≤ ck``, then FCFS queueing with rate
  ``μ(ck) = c·k/aht(k)`` plus optional exponential patience in the queue. The balanced-routing assumption is the
  model's approximation of real routers (sessions do not migrate between agents); validation against the
  discrete-event simulator is left to the simulator issue.

Service-level definitions (``sl_definition``): ``"offered"`` = answered within T / all offered;
``"answered+abandoned"`` = answered within T / (answered + abandoned) — in these models every offered call is
either answered or abandoned, so it equals ``"offered"``; ``"answered"`` = answered within T / answered;
``"short-abandons-excluded"`` = answered within T / (offered − abandoned within T). For Erlang C all coincide.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from callops.errors import CallopsError


class _LazySpecial:
    """``scipy.special``, imported on first use: it costs 0.2–0.3 s, and Erlang B/C (``callops queue erlang-c``,
    staffing) need none of it; only Erlang A and chat do."""

    def __getattr__(self, name: str) -> Any:
        import scipy.special

        return getattr(scipy.special, name)


special = _LazySpecial()

SlDefinition = Literal["offered", "answered+abandoned", "answered", "short-abandons-excluded"]
SL_DEFINITIONS: tuple[str, ...] = ("offered", "answered+abandoned", "answered", "short-abandons-excluded")
MODELS: tuple[str, ...] = ("erlang-b", "erlang-c", "erlang-a", "chat")

_DROP = 42.0  # queue-state weights below e^-42 of the largest are dropped (relative mass < 1e-18 per term)
MAX_OFFERED_LOAD = 100_000  # erlangs: a queue needing more agents than any contact center has
_MAX_GRID = 4_000_000  # elements per chunk of the (cells × queue states) grid, bounds memory
_TINY = 1e-300
_OFFSETS = np.unique(np.ceil(2.0 ** (np.arange(0, 90) / 2.0)))  # window probes, steps of 41%


@dataclass(frozen=True)
class QueueMetrics:
    """Every figure planners ask for, one array per figure (all of the broadcast input shape).

    ``service_level`` follows ``sl_definition`` at ``threshold_s``; ``asa_s`` is the mean wait of answered calls;
    ``mean_wait_s`` the mean wait of all offered calls (abandoned ones until they hang up); ``p_block`` is the
    Erlang B loss (0 for queueing models); ``staff`` = agents / (1 − shrinkage) rounded up (= agents without
    shrinkage); ``stable`` is False where the queue grows without bound (Erlang C with agents ≤ load).
    """

    model: str
    sl_definition: str
    threshold_s: np.ndarray
    traffic_erlangs: np.ndarray
    agents: np.ndarray
    staff: np.ndarray
    p_wait: np.ndarray
    service_level: np.ndarray
    asa_s: np.ndarray
    mean_wait_s: np.ndarray
    abandon_rate: np.ndarray
    occupancy: np.ndarray
    p_block: np.ndarray
    stable: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    _FIGURES = (
        "p_wait",
        "service_level",
        "asa_s",
        "abandon_rate",
        "occupancy",
        "agents",
        "staff",
        "traffic_erlangs",
        "threshold_s",
        "mean_wait_s",
        "p_block",
        "stable",
    )

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (lists for arrays, scalars for 0-d), with ``inf``/``nan`` as ``None`` (JSON-safe)."""

        def clean(v: np.ndarray) -> Any:
            arr = np.asarray(v)
            if arr.dtype == bool:
                return arr.tolist()
            num = arr.astype(float)  # every figure is float or bool (an int array would come out as floats)
            obj = num.astype(object)
            obj[~np.isfinite(num)] = None
            return obj.tolist()

        d: dict[str, Any] = {"model": self.model, "sl_definition": self.sl_definition}
        for name in self._FIGURES:
            d[name] = clean(getattr(self, name))
        d.update(self.extra)
        return d


# ---------------------------------------------------------------------------------------------------------------
# input handling


def _check(
    name: str,
    value: Any,
    *,
    low: float = 0.0,
    strict: bool = False,
    high: float | None = None,
    high_strict: bool = False,
    allow_inf: bool = False,
) -> np.ndarray:
    """Float array of ``value``; a CallopsError naming ``name`` if a value is out of range or not a number."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise CallopsError(f"{name} must be a number (got {value!r})") from exc
    if np.isnan(arr).any() or (not allow_inf and np.isinf(arr).any()):
        raise CallopsError(f"{name} must be a finite number")
    if (arr < low).any() or (strict and (arr <= low).any()):
        raise CallopsError(f"{name} must be {'>' if strict else '>='} {low:g} (got {arr.min():g})")
    if high is not None and ((arr > high).any() or (high_strict and (arr >= high).any())):
        raise CallopsError(f"{name} must be {'<' if high_strict else '<='} {high:g} (got {arr.max():g})")
    return arr


def _sl_definition(sl_definition: str) -> str:
    if sl_definition not in SL_DEFINITIONS:
        choices = ", ".join(SL_DEFINITIONS)
        raise CallopsError(f"unknown service-level definition {sl_definition!r}; use one of {choices}")
    return sl_definition


# ---------------------------------------------------------------------------------------------------------------
# Erlang B (continuous in c)


def _gamma_cf(s: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Legendre continued fraction h with Γ(s, x) = e^-x x^s h (modified Lentz, vectorised; fast for x > s)."""
    b = x + 1.0 - s
    c = np.full_like(x, 1.0 / _TINY)
    d = 1.0 / np.where(np.abs(b) < _TINY, _TINY, b)
    h = d.copy()
    for i in range(1, 2000):
        an = -i * (i - s)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) < 1e-15):
            break
    return h


_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _gammaln(s: np.ndarray) -> np.ndarray:
    """log Γ(s) for s >= 1 (plain numpy): Stirling's series after shifting s up to >= 15 (abs. error ~1e-14)."""
    z = np.array(s, dtype=float)
    shift = np.zeros_like(z)
    for _ in range(15):  # Γ(z) = Γ(z + 1) / z
        small = z < 15.0
        if not small.any():
            break
        shift = shift + np.where(small, np.log(np.where(small, z, 1.0)), 0.0)
        z = np.where(small, z + 1.0, z)
    r = 1.0 / (z * z)
    series = (1 / 12 + r * (-1 / 360 + r * (1 / 1260 + r * (-1 / 1680 + r * (1 / 1188 + r * (-691 / 360360)))))) / z
    return (z - 0.5) * np.log(z) - z + _LOG_SQRT_2PI + series - shift


def _log_gamma_p_series(s: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log Σ_n x^n / ((s+1)…(s+n)), the series of the regularised lower incomplete gamma P(s, x) (x < s + 1)."""
    term = np.ones_like(x)
    total = np.ones_like(x)
    n = 0.0
    while True:  # terms fall at least geometrically once s + n > x; about 9·sqrt(s) of them near x = s
        n += 1.0
        term = term * x / (s + n)
        total = total + term
        if np.all(term < total * 1e-17):
            return np.log(total)


_NUMPY_B_MAX = 256  # cells: up to here Erlang B needs no scipy import; above, scipy's compiled gammaincc is faster


def _log_erlang_b(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """log B(c, a) for real c >= 0 and a > 0 (arrays of one shape)."""
    if a.size > _NUMPY_B_MAX:
        return _log_erlang_b_scipy(c, a)
    return _log_erlang_b_numpy(c, a)


def _log_erlang_b_scipy(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """log B(c, a) from ``scipy.special.gammaincc`` (fast on large grids)."""
    s = c + 1.0
    q = special.gammaincc(s, a)
    with np.errstate(divide="ignore"):
        log_b = c * np.log(a) - a - special.gammaln(s) - np.log(q)
    bad = ~(q > 1e-280)
    if bad.any():
        # Q underflows only when a is far above c; then the continued fraction converges in a few steps.
        log_b[bad] = -np.log(a[bad] * _gamma_cf(s[bad], a[bad]))
    return np.minimum(log_b, 0.0)


def _log_erlang_b_numpy(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """log B(c, a) in plain numpy, so one scenario (``callops queue erlang-c``) need not import scipy (0.2–0.3 s);
    agrees with :func:`_log_erlang_b_scipy` to the rounding of the inputs (tests/wfm/test_queueing_numpy.py)."""
    s = c + 1.0
    log_b = np.empty_like(a)
    far = a >= s  # load above the servers: Legendre's continued fraction, 1/B = a·h(s, a)
    if far.any():
        log_b[far] = -np.log(a[far] * _gamma_cf(s[far], a[far]))
    near = ~far
    if near.any():
        cn, an, sn = c[near], a[near], s[near]
        lg_s = _gammaln(sn)
        # P(s, a) = a^s e^-a / Γ(s+1) · series; then B = a^c e^-a / Γ(s) / (1 − P)
        log_p = sn * np.log(an) - an - (lg_s + np.log(sn)) + _log_gamma_p_series(sn, an)
        log_b[near] = cn * np.log(an) - an - lg_s - np.log1p(-np.exp(log_p))
    return np.minimum(log_b, 0.0)


def _logsumexp(x: np.ndarray) -> np.ndarray:
    """log Σ exp(x) along the last axis (plain numpy: scipy's array-API version costs ~0.3 ms per call)."""
    top = np.max(x, axis=-1)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(x - safe[..., None]), axis=-1)) + safe


def _broadcast(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.array(x, dtype=float) for x in np.broadcast_arrays(*arrays)]


def _load(calls: Any, interval_s: Any, aht_s: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    calls_a = _check("calls", calls)
    interval = _check("interval", interval_s, strict=True)
    aht = _check("aht", aht_s, strict=True)
    return calls_a, interval, aht


def erlang_b(c: Any, a: Any) -> np.ndarray:
    """Erlang B blocking probability for ``c`` servers (real, >= 0) and offered load ``a`` Erlangs (arrays)."""
    c_arr, a_arr = _broadcast(_check("agents", c), _check("traffic", a))
    out = np.where(c_arr == 0, 1.0, 0.0)
    pos = a_arr > 0
    if pos.any():
        out[pos] = np.exp(_log_erlang_b(c_arr[pos], a_arr[pos]))
    return out


def erlang_c(c: Any, a: Any) -> np.ndarray:
    """Erlang C probability of waiting for ``c`` agents (real) and load ``a`` Erlangs; 1 where ``c <= a``."""
    c_arr, a_arr = _broadcast(_check("agents", c), _check("traffic", a))
    b = erlang_b(c_arr, a_arr)
    with np.errstate(divide="ignore", invalid="ignore"):
        pw = c_arr * b / (c_arr - a_arr + a_arr * b)
    return np.where(c_arr > a_arr, pw, np.where(a_arr == 0, 0.0, 1.0))


# ---------------------------------------------------------------------------------------------------------------
# the queue part of a birth–death chain: states m, m+1, ... with death rate ν + kθ in state m+k


@dataclass
class _Tail:
    log_a: np.ndarray  # log Σ_k w_k  (w_k = π_{m+k} / π_m)
    served: np.ndarray  # P(served | queued)
    served_t: np.ndarray  # P(served and W <= T | queued)
    aband_t: np.ndarray  # P(abandoned within T | queued)
    wait_served: np.ndarray  # E[W · 1{served} | queued], seconds


def _tail_no_patience(lam: np.ndarray, nu: np.ndarray, t: np.ndarray) -> _Tail:
    """Closed forms for θ = 0 (geometric queue, Erlang C): the customer is always served after Gamma waits."""
    stable = lam < nu
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = lam / nu
        log_a = np.where(stable, -np.log1p(-rho), np.inf)
        served_t = np.where(stable, -np.expm1(-(nu - lam) * t), 0.0)
        wait = np.where(stable, 1.0 / (nu - lam), np.inf)
    one = np.ones_like(lam)
    return _Tail(log_a, one, served_t, np.zeros_like(lam), wait)


def _incbeta_run(
    k: np.ndarray,
    k0: np.ndarray,
    b: np.ndarray,
    p: np.ndarray,
    log_p: np.ndarray,
    log_1p: np.ndarray,
    lg_kb: np.ndarray,
    lg_j: np.ndarray,
) -> np.ndarray:
    """I_p(k+1, b) for the consecutive k of each row, from one betainc per row and the exact downward steps.

    ``lg_kb`` = log Γ(k+1+b), ``lg_j`` = log Γ(k+1). Step from a = k+1 to k+2: p^{k+1}(1−p)^b Γ(k+1+b)/(Γ(k+2)Γ(b)).
    """
    first = special.betainc(k0 + 1.0, b, p)
    log_step = (k + 1.0) * log_p + b * log_1p + lg_kb - lg_j - special.gammaln(b) - np.log(k + 1.0)
    steps = np.nan_to_num(np.exp(log_step), nan=0.0)
    drop = np.concatenate([np.zeros_like(first), np.cumsum(steps[:, :-1], axis=1)], axis=1)
    return np.clip(first - drop, 0.0, 1.0)


def _tail_patience(
    lam: np.ndarray, nu: np.ndarray, theta: np.ndarray, t: np.ndarray, need_wait: bool = True, need_short: bool = True
) -> _Tail:
    """Exact sums over the queue seen on arrival for exponential patience θ > 0 (see the module docstring).

    ``need_wait``/``need_short`` False skip the ASA and short-abandon sums (left NaN) for the staffing search.
    """
    alpha = nu / theta
    x = lam / theta
    log_x = np.log(x)
    lg_alpha1 = special.gammaln(alpha + 1.0)

    def log_w(k: np.ndarray, al: np.ndarray, lx: np.ndarray, lg: np.ndarray) -> np.ndarray:
        return k * lx + lg - special.gammaln(al + k + 1.0)

    # log w_k is concave in k with its mode at max(0, floor(x - α)); find how far each side stays within _DROP.
    mode = np.maximum(0.0, np.floor(x - alpha))
    top = log_w(mode, alpha, log_x, lg_alpha1)
    offsets = _OFFSETS
    col = (slice(None), None)
    right_lw = log_w(mode[col] + offsets, alpha[col], log_x[col], lg_alpha1[col])
    right = offsets[np.argmax(right_lw < top[col] - _DROP, axis=1)]
    left_k = np.maximum(mode[col] - offsets, 0.0)
    left_lw = log_w(left_k, alpha[col], log_x[col], lg_alpha1[col])
    done = (left_lw < top[col] - _DROP) | (left_k == 0)
    left = np.minimum(offsets[np.argmax(done, axis=1)], mode)
    start = mode - left
    length = (left + right + 1).astype(np.int64)

    n = lam.size
    out = {name: np.empty(n) for name in ("log_a", "served", "served_t", "aband_t", "wait_served")}
    p = -np.expm1(-theta * t)
    order = np.argsort(length, kind="stable")  # chunk cells of similar window length together
    lens = length[order]
    i = 0
    while i < n:
        cost = np.arange(1, n - i + 1) * lens[i:]  # grid size if the chunk ends here (increasing)
        take = max(1, int(np.searchsorted(cost, _MAX_GRID, side="right")))
        idx = order[i : i + take]
        width = int(lens[i + take - 1])
        i += take
        al, lx, lg, th, pp = alpha[idx, None], log_x[idx, None], lg_alpha1[idx, None], theta[idx, None], p[idx, None]
        k0 = start[idx, None]
        k = k0 + np.arange(width)[None, :]
        lg_k = special.gammaln(al + k + 1.0)
        lw = np.where(k < k0 + length[idx, None], k * lx + lg - lg_k, -np.inf)
        log_a = _logsumexp(lw)
        qk = np.exp(lw - log_a[:, None])
        served_k = al / (al + k + 1.0)
        # I_p(k+1, b) along k by the exact step I_p(j+1, b) = I_p(j, b) − p^j (1−p)^b / (j B(j, b)), started from
        # one betainc per cell: gammaln instead of a betainc per queue state (absolute error ~1e-15).
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p, log_1p = np.log(pp), np.log1p(-pp)
            lg_j = special.gammaln(k + 1.0)  # log Γ(k+1) = log k!
            lg_kb1 = special.gammaln(al + k + 2.0)

            sl_k = served_k * _incbeta_run(k, k0, al + 1.0, pp, log_p, log_1p, lg_kb1, lg_j)
            if need_short:
                b = np.maximum(al, _TINY)
                reach_k = np.where(al > 0, _incbeta_run(k, k0, b, pp, log_p, log_1p, lg_k, lg_j), 0.0)
        out["log_a"][idx] = log_a
        out["served"][idx] = np.sum(qk * served_k, axis=1)
        out["served_t"][idx] = np.sum(qk * sl_k, axis=1)
        out["aband_t"][idx] = np.nan
        out["wait_served"][idx] = np.nan
        if need_short:
            aband_k = pp - sl_k + (1.0 - pp) * reach_k
            out["aband_t"][idx] = np.clip(np.sum(qk * aband_k, axis=1), 0.0, 1.0)
        if not need_wait:
            continue
        # ψ(α+k+2) − ψ(α+1) = Σ_{j=1..k+1} 1/(α+j): one digamma per cell, then a running sum
        psi0 = special.digamma(al + k0 + 2.0) - special.digamma(al + 1.0)
        psi = psi0 + np.concatenate([np.zeros_like(psi0), np.cumsum(1.0 / (al + k[:, 1:] + 1.0), axis=1)], axis=1)
        wait_k = served_k * psi / th
        out["wait_served"][idx] = np.sum(qk * wait_k, axis=1)
    return _Tail(**out)


def _tail_patience_closed(lam: np.ndarray, nu: np.ndarray, theta: np.ndarray, t: np.ndarray) -> _Tail:
    """Closed forms of the same sums (no ASA) through regularised incomplete gammas P(s, x) (``gammainc``).

    With α = ν/θ, x = λ/θ, q = e^{−θT}: Σw_k = α e^x x^−α Γ(α) P(α, x); P(served | queued) = (α/x)(1 − 1/A);
    P(served, W ≤ T | queued) = (α/x)·[P(α+1, x) − P(α+1, xq)] / P(α, x); P(S ≤ T | queued) = 1 − P(α, xq)/P(α, x).
    Used by the staffing search where P(α, x) is not tiny (x ≥ α/2); absolute error ~1e-15·α/x.
    """
    alpha = nu / theta
    x = lam / theta
    q = np.exp(-theta * t)
    p0 = special.gammainc(alpha, x)
    log_a = np.log(alpha) + x - alpha * np.log(x) + special.gammaln(alpha) + np.log(p0)
    served = (alpha / x) * -np.expm1(-log_a)
    served_t = (alpha / x) * (special.gammainc(alpha + 1.0, x) - special.gammainc(alpha + 1.0, x * q)) / p0
    reach = 1.0 - special.gammainc(alpha, x * q) / p0
    pp = 1.0 - q
    aband_t = np.clip(pp - served_t + q * reach, 0.0, 1.0)
    return _Tail(log_a, np.clip(served, 0.0, 1.0), np.clip(served_t, 0.0, 1.0), aband_t, np.full_like(x, np.nan))


def _tail(
    lam: np.ndarray, nu: np.ndarray, theta: np.ndarray, t: np.ndarray, need_wait: bool = True, need_short: bool = True
) -> _Tail:
    """Queue-part sums, closed form where θ = 0 and exact windowed sums where θ > 0."""
    res = _tail_no_patience(lam, nu, t)
    pat = theta > 0
    closed = np.zeros_like(pat)
    if not need_wait and pat.any():
        # closed forms where they are accurate; the windowed sums elsewhere (and whenever ASA is needed)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha, x = nu[pat] / theta[pat], lam[pat] / theta[pat]
            closed[pat] = (alpha > 0) & (x >= 0.5 * alpha) & (special.gammainc(alpha, x) > 1e-200)
    for mask, fn in ((pat & ~closed, _tail_patience), (closed, None)):
        if not mask.any():
            continue
        if fn is None:
            sub = _tail_patience_closed(lam[mask], nu[mask], theta[mask], t[mask])
        else:
            sub = _tail_patience(lam[mask], nu[mask], theta[mask], t[mask], need_wait, need_short)
        for name in ("log_a", "served", "served_t", "aband_t", "wait_served"):
            getattr(res, name)[mask] = getattr(sub, name)
    return res


def _assemble(
    model: str,
    sl_definition: str,
    *,
    a: np.ndarray,
    c: np.ndarray,
    lam: np.ndarray,
    theta: np.ndarray,
    t: np.ndarray,
    log_l: np.ndarray,
    tail: _Tail,
    busy: Callable[[np.ndarray], np.ndarray],
    shape: tuple[int, ...],
) -> QueueMetrics:
    """Combine the lower part (``log_l`` = log Σ_{n<m} π_n/π_m) and the queue tail into the planners' figures.

    ``busy(abandon_rate)`` returns the occupancy given the abandon rate.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p_wait = np.where(np.isinf(tail.log_a), 1.0, np.exp(tail.log_a - np.logaddexp(log_l, tail.log_a)))
        p_wait = np.where(np.isnan(p_wait), 1.0, p_wait)
        stable = ~np.isinf(tail.log_a)
        # no agents and finite patience: every caller abandons, exactly (1 − served would leave ~1e-16 answered,
        # and the "answered" service level 0/0 ≈ 1.0)
        nobody = (c <= 0) & (theta > 0)
        abandon = np.where(nobody, 1.0, p_wait * (1.0 - tail.served))
        answered = 1.0 - abandon
        ans_t = np.where(nobody, 0.0, (1.0 - p_wait) + p_wait * tail.served_t)
        aband_t = p_wait * tail.aband_t
        asa = np.where(stable, p_wait * tail.wait_served / answered, np.inf)
        asa = np.where(answered > 0, asa, np.nan)
        mean_wait = np.where(theta > 0, abandon / np.where(theta > 0, theta, 1.0), asa)
        if sl_definition in ("offered", "answered+abandoned"):
            sl = ans_t
        elif sl_definition == "answered":
            sl = np.where(answered > 0, ans_t / answered, 0.0)
        else:
            sl = ans_t / (1.0 - aband_t)
        sl = np.where(stable, np.clip(sl, 0.0, 1.0), 0.0)
        occupancy = np.clip(busy(abandon), 0.0, 1.0)
    # No traffic: nobody waits, every (vacuous) target is met.
    idle = lam == 0
    p_wait = np.where(idle, 0.0, p_wait)
    sl = np.where(idle, 1.0, sl)
    asa = np.where(idle, 0.0, asa)
    mean_wait = np.where(idle, 0.0, mean_wait)
    abandon = np.where(idle, 0.0, abandon)
    occupancy = np.where(idle, 0.0, occupancy)
    stable = stable | idle

    def r(v: np.ndarray) -> np.ndarray:
        return np.asarray(v, dtype=float).reshape(shape) if v.dtype != bool else v.reshape(shape)

    return QueueMetrics(
        model=model,
        sl_definition=sl_definition,
        threshold_s=r(t),
        traffic_erlangs=r(a),
        agents=r(c),
        staff=r(c),
        p_wait=r(p_wait),
        service_level=r(sl),
        asa_s=r(asa),
        mean_wait_s=r(mean_wait),
        abandon_rate=r(abandon),
        occupancy=r(occupancy),
        p_block=r(np.zeros_like(a)),
        stable=r(stable),
    )


# ---------------------------------------------------------------------------------------------------------------
# public evaluators


def _erlang_lower(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    """log Σ_{n<c} π_n/π_c = log(1/B − 1), with a safe value where a = 0."""
    a_safe = np.where(a > 0, a, 1.0)
    log_b = _log_erlang_b(c, a_safe)
    with np.errstate(divide="ignore"):
        return -log_b + np.log(-np.expm1(log_b))


def erlang_b_metrics(
    calls: Any, interval_s: Any, aht_s: Any, agents: Any, threshold_s: Any = 20.0, sl_definition: str = "offered"
) -> QueueMetrics:
    """Erlang B (M/M/c/c, blocked calls lost): ``p_block``, and SL = answered immediately over offered."""
    calls_a, interval, aht = _load(calls, interval_s, aht_s)
    c, t = _check("agents", agents), _check("threshold", threshold_s)
    _sl_definition(sl_definition)
    calls_a, interval, aht, c, t = _broadcast(calls_a, interval, aht, c, t)
    shape = c.shape
    a = calls_a * aht / interval
    b = erlang_b(c, a)
    carried = a * (1.0 - b)
    with np.errstate(divide="ignore", invalid="ignore"):
        occ = np.where(c > 0, carried / c, 0.0)
    sl = np.where(sl_definition == "answered", np.where(b < 1, 1.0, 0.0), 1.0 - b)
    zero = np.zeros_like(a)
    return QueueMetrics(
        model="erlang-b",
        sl_definition=sl_definition,
        threshold_s=t,
        traffic_erlangs=a,
        agents=c,
        staff=c,
        p_wait=zero,
        service_level=sl.reshape(shape),
        asa_s=zero,
        mean_wait_s=zero,
        abandon_rate=zero,
        occupancy=occ,
        p_block=b,
        stable=np.ones(shape, dtype=bool),
    )


def erlang_c_metrics(
    calls: Any, interval_s: Any, aht_s: Any, agents: Any, threshold_s: Any = 20.0, sl_definition: str = "offered"
) -> QueueMetrics:
    """Erlang C (M/M/c, infinite patience, FCFS); unstable cells (agents <= load) get ``stable`` False."""
    return erlang_a_metrics(calls, interval_s, aht_s, agents, np.inf, threshold_s, sl_definition, model="erlang-c")


def erlang_a_metrics(
    calls: Any,
    interval_s: Any,
    aht_s: Any,
    agents: Any,
    patience_s: Any,
    threshold_s: Any = 20.0,
    sl_definition: str = "offered",
    *,
    model: str = "erlang-a",
    _need_wait: bool = True,
) -> QueueMetrics:
    """Erlang A (M/M/c+M: exponential patience with mean ``patience_s``; ``inf`` gives Erlang C)."""
    calls_a, interval, aht = _load(calls, interval_s, aht_s)
    c = _check("agents", agents)
    patience = _check("patience", patience_s, strict=True, allow_inf=True)
    t = _check("threshold", threshold_s)
    _sl_definition(sl_definition)
    calls_a, interval, aht, c, patience, t = _broadcast(calls_a, interval, aht, c, patience, t)
    shape = c.shape
    calls_a, interval, aht, c, patience, t = (v.ravel() for v in (calls_a, interval, aht, c, patience, t))
    return _erlang_a_flat(calls_a, interval, aht, c, patience, t, sl_definition, model, _need_wait, shape)


def _erlang_a_flat(
    calls_a: np.ndarray,
    interval: np.ndarray,
    aht: np.ndarray,
    c: np.ndarray,
    patience: np.ndarray,
    t: np.ndarray,
    sl_definition: str,
    model: str,
    need_wait: bool,
    shape: tuple[int, ...],
) -> QueueMetrics:
    """Erlang A on validated 1-d arrays of one length (the staffing search calls this directly)."""
    a = calls_a * aht / interval
    lam = calls_a / interval
    mu = 1.0 / aht
    theta = 1.0 / patience
    lam_safe = np.where(lam > 0, lam, mu)  # placeholder traffic where there is none; overwritten in _assemble
    a_safe = lam_safe / mu
    log_l = _erlang_lower(c, a_safe)
    tail = _tail(lam_safe, c * mu, theta, t, need_wait, sl_definition == "short-abandons-excluded")

    def busy(abandon: np.ndarray) -> np.ndarray:
        served_load = a * (1.0 - abandon)
        return np.where(c > 0, served_load / np.where(c > 0, c, 1.0), np.where(a > 0, 1.0, 0.0))

    return _assemble(
        model, sl_definition, a=a, c=c, lam=lam, theta=theta, t=t, log_l=log_l, tail=tail, busy=busy, shape=shape
    )


def chat_metrics(
    calls: Any,
    interval_s: Any,
    aht_s: Any,
    agents: Any,
    concurrency: Any,
    slowdown: Any = 0.0,
    threshold_s: Any = 20.0,
    patience_s: Any = np.inf,
    sl_definition: str = "offered",
    *,
    _need_wait: bool = True,
) -> QueueMetrics:
    """Chat with concurrency: ``agents`` (integer) each hold up to ``concurrency`` sessions (integer).

    ``aht_s`` is the handle time of a session handled alone; with ``j`` sessions each takes
    ``aht_s · (1 + slowdown·(j − 1))``. ``traffic_erlangs`` is calls × aht_s / interval (single-session load);
    ``occupancy`` is the mean number of sessions in service over the ``agents · concurrency`` slots.
    See the module docstring for the model (exact birth–death chain, load-balanced routing).
    """
    calls_a, interval, aht = _load(calls, interval_s, aht_s)
    c = _check("agents", agents)
    k = _check("concurrency", concurrency, low=1.0)
    g = _check("slowdown", slowdown)
    patience = _check("patience", patience_s, strict=True, allow_inf=True)
    t = _check("threshold", threshold_s)
    _sl_definition(sl_definition)
    if (c != np.round(c)).any() or (k != np.round(k)).any():
        raise CallopsError("chat needs whole numbers of agents and sessions per agent")
    calls_a, interval, aht, c, k, g, patience, t = _broadcast(calls_a, interval, aht, c, k, g, patience, t)
    shape = c.shape
    calls_a, interval, aht, c, k, g, patience, t = (v.ravel() for v in (calls_a, interval, aht, c, k, g, patience, t))
    lam = calls_a / interval
    lam_safe = np.where(lam > 0, lam, 1.0 / aht)
    m = (c * k).astype(np.int64)
    width = int(m.max()) + 1
    n = np.arange(width)[None, :]
    cc = np.maximum(c, 1.0)[:, None]
    q, r = np.floor_divide(n, cc), np.mod(n, cc)

    def rate(j: np.ndarray) -> np.ndarray:  # completion rate of one agent holding j sessions
        return j / (aht[:, None] * (1.0 + g[:, None] * np.maximum(j - 1.0, 0.0)))

    mu_n = r * rate(q + 1.0) + (cc - r) * rate(q)  # departures in state n (n <= m)
    with np.errstate(divide="ignore"):
        steps = np.where(n >= 1, np.log(lam_safe[:, None]) - np.log(np.where(mu_n > 0, mu_n, 1.0)), 0.0)
    log_pi = np.cumsum(steps, axis=1)  # log π_n / π_0
    inside = n <= m[:, None]
    log_pi = np.where(inside, log_pi, -np.inf)
    log_pi_m = np.take_along_axis(log_pi, m[:, None], axis=1)[:, 0]
    below = np.where(n < m[:, None], log_pi, -np.inf)
    log_l = _logsumexp(below) - log_pi_m
    nu = np.where(m > 0, np.take_along_axis(mu_n, m[:, None], axis=1)[:, 0], 0.0)
    theta = 1.0 / patience
    tail = _tail(lam_safe, nu, theta, t, _need_wait, sl_definition == "short-abandons-excluded")
    # mean sessions in service: Σ_{n<m} n π_n + m P(N >= m), normalised with π_m = 1 / (L + A)
    log_norm = np.logaddexp(log_l, tail.log_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_below = np.sum(
            np.where(n < m[:, None], n * np.exp(below - log_pi_m[:, None] - log_norm[:, None]), 0.0), axis=1
        )
        p_queue = np.exp(tail.log_a - log_norm)
        in_service = np.where(np.isinf(tail.log_a), m, mean_below + m * np.nan_to_num(p_queue, nan=1.0))

    def busy(abandon: np.ndarray) -> np.ndarray:
        return np.where(m > 0, in_service / np.maximum(m, 1), np.where(lam > 0, 1.0, 0.0))

    a = calls_a * aht / interval
    metrics = _assemble(
        "chat", sl_definition, a=a, c=c, lam=lam, theta=theta, t=t, log_l=log_l, tail=tail, busy=busy, shape=shape
    )
    return metrics


# ---------------------------------------------------------------------------------------------------------------
# staffing


def _staff(agents: np.ndarray, shrinkage: np.ndarray, fractional: bool) -> np.ndarray:
    """Paid staff for productive agents: agents / (1 − shrinkage), rounded up unless fractional."""
    raw = agents / (1.0 - shrinkage)
    if fractional:
        return raw
    return np.ceil(raw * (1.0 - 1e-12))  # guard: 7 / 0.7 must be 10, not 11


@np.errstate(divide="ignore", invalid="ignore", over="ignore")
def _erlang_c_staff(
    a: np.ndarray,
    aht: np.ndarray,
    t: np.ndarray,
    sl_t: np.ndarray | None,
    asa_t: np.ndarray | None,
    occ: np.ndarray,
    shrink: np.ndarray,
    sl_definition: str,
    shape: tuple[int, ...],
) -> QueueMetrics:
    """Integer Erlang C staffing: start every cell at its lower bound max(⌊a⌋+1, ⌈a/occ⌉) with one gamma-function
    Erlang B, then step all cells up together with the stable recursion B_{c+1} = aB_c/(c+1+aB_c) until each meets
    its targets (SL and ASA only improve with c, so the first c that meets them is the smallest)."""
    busy = a > 0
    a_s = np.where(busy, a, 1.0)
    c = np.maximum(np.floor(a_s) + 1.0, np.ceil(a_s / occ * (1.0 - 1e-12)))
    b = np.exp(_log_erlang_b(c, a_s))
    done = ~busy
    while True:
        pw = c * b / (c - a_s + a_s * b)
        ok = np.ones_like(done)
        if sl_t is not None:
            ok &= 1.0 - pw * np.exp(-(c - a_s) * t / aht) >= sl_t
        if asa_t is not None:
            ok &= pw * aht / (c - a_s) <= asa_t
        done |= ok
        if done.all():
            break
        ab = a_s * b
        b = np.where(done, b, ab / (c + 1.0 + ab))
        c = np.where(done, c, c + 1.0)
    agents = np.where(busy, c, 0.0)
    pw = np.where(busy, pw, 0.0)
    sl = np.where(busy, 1.0 - pw * np.exp(-(c - a_s) * t / aht), 1.0)
    asa = np.where(busy, pw * aht / (c - a_s), 0.0)
    occupancy = np.where(busy, a_s / c, 0.0)
    zero = np.zeros_like(a)

    def r(v: np.ndarray) -> np.ndarray:
        return np.asarray(v).reshape(shape)

    return QueueMetrics(
        model="erlang-c",
        sl_definition=sl_definition,
        threshold_s=r(t),
        traffic_erlangs=r(a),
        agents=r(agents),
        staff=r(_staff(agents, shrink, False)),
        p_wait=r(pw),
        service_level=r(sl),
        asa_s=r(asa),
        mean_wait_s=r(asa),
        abandon_rate=r(zero),
        occupancy=r(occupancy),
        p_block=r(zero),
        stable=r(np.ones(a.shape, dtype=bool)),
    )


def required_agents(
    model: str = "erlang-c",
    *,
    calls: Any,
    interval_s: Any,
    aht_s: Any,
    threshold_s: Any = 20.0,
    target_sl: Any = None,
    target_asa_s: Any = None,
    target_abandon: Any = None,
    patience_s: Any = None,
    max_occupancy: Any = 1.0,
    shrinkage: Any = 0.0,
    sl_definition: str = "offered",
    fractional: bool = False,
    concurrency: Any = 1,
    slowdown: Any = 0.0,
) -> QueueMetrics:
    """Smallest number of agents meeting every given target (vectorised over the broadcast inputs).

    Targets: ``target_sl`` (service level at ``threshold_s`` under ``sl_definition``), ``target_asa_s`` (ASA at most),
    ``target_abandon`` (abandon rate at most; needs patience), and always occupancy <= ``max_occupancy``.
    ``model`` is ``"erlang-c"``, ``"erlang-a"`` (needs ``patience_s``) or ``"chat"`` (``concurrency`` sessions per
    agent, ``slowdown`` g; optional patience). Integer agents by default (each figure is monotone in the agent count,
    so a bracket-and-bisect search on integer arrays finds the smallest); ``fractional=True`` gives the continuous
    requirement (to 1e-6 agents) for aggregate planning (not for chat). Returns the figures at the required agents,
    with ``staff`` = agents / (1 − shrinkage) (rounded up for integer staffing).
    """
    if model not in ("erlang-c", "erlang-a", "chat"):
        raise CallopsError(f"unknown staffing model {model!r}; use erlang-c, erlang-a or chat")
    if target_sl is None and target_asa_s is None and target_abandon is None:
        raise CallopsError("give at least one target: service level, ASA or abandon rate")
    calls_a, interval, aht = _load(calls, interval_s, aht_s)
    t = _check("threshold", threshold_s)
    arrays = [calls_a, interval, aht, t]
    sl_t = asa_t = ab_t = None
    if target_sl is not None:
        sl_t = _check("target service level", target_sl, strict=True, high=1.0, high_strict=True)
        arrays.append(sl_t)
    if target_asa_s is not None:
        asa_t = _check("target ASA", target_asa_s, strict=True)
        arrays.append(asa_t)
    if target_abandon is not None:
        ab_t = _check("target abandon rate", target_abandon, strict=True, high=1.0, high_strict=True)
        arrays.append(ab_t)
    occ_cap = _check("max occupancy", max_occupancy, strict=True, high=1.0)
    shrink = _check("shrinkage", shrinkage, high=1.0, high_strict=True)
    arrays += [occ_cap, shrink]
    if model == "erlang-a":
        if patience_s is None:
            raise CallopsError("erlang-a needs the mean patience (patience_s / --patience)")
        patience = _check("patience", patience_s, strict=True, allow_inf=True)
    else:
        patience = _check("patience", np.inf if patience_s is None else patience_s, strict=True, allow_inf=True)
    if ab_t is not None and model == "erlang-c":
        raise CallopsError("Erlang C has no abandonment; use erlang-a with a patience for an abandon-rate target")
    if fractional and model == "chat":
        raise CallopsError("fractional staffing is available for erlang-c and erlang-a, not chat")
    _sl_definition(sl_definition)
    arrays += [patience, _check("concurrency", concurrency, low=1.0), _check("slowdown", slowdown)]
    shape = np.broadcast_shapes(*(x.shape for x in arrays))
    flat = [np.broadcast_to(x, shape).ravel() for x in arrays]
    calls_f, interval_f, aht_f, t_f = flat[:4]
    pos = 4
    sl_f = flat[pos] if sl_t is not None else None
    pos += sl_t is not None
    asa_f = flat[pos] if asa_t is not None else None
    pos += asa_t is not None
    ab_f = flat[pos] if ab_t is not None else None
    pos += ab_t is not None
    occ_f, shrink_f, patience_f, conc_f, slow_f = flat[pos:]
    a = calls_f * aht_f / interval_f
    if a.size and a.max() > MAX_OFFERED_LOAD:
        # the search grows with the load (the answer is ~a agents); no real queue needs this many
        raise CallopsError(
            f"offered load {a.max():,.0f} erlangs (calls × AHT / interval) is beyond what callops sizes "
            f"({MAX_OFFERED_LOAD:,} erlangs per queue and interval); check the units of calls, AHT and interval"
        )

    def evaluate(idx: np.ndarray, c: np.ndarray, full: bool = False) -> QueueMetrics:
        if model == "chat":
            return chat_metrics(
                calls_f[idx],
                interval_f[idx],
                aht_f[idx],
                c,
                conc_f[idx],
                slow_f[idx],
                t_f[idx],
                patience_f[idx],
                sl_definition,
                _need_wait=full or asa_f is not None,
            )
        c = np.asarray(c, dtype=float)
        return _erlang_a_flat(
            calls_f[idx],
            interval_f[idx],
            aht_f[idx],
            c,
            patience_f[idx],
            t_f[idx],
            sl_definition,
            model,
            full or asa_f is not None,
            c.shape,
        )

    def met(idx: np.ndarray, c: np.ndarray) -> np.ndarray:
        m = evaluate(idx, c)
        ok = m.stable & (m.occupancy <= occ_f[idx] + 1e-12)
        if sl_f is not None:
            ok &= m.service_level >= sl_f[idx]
        if asa_f is not None:
            ok &= m.asa_s <= asa_f[idx]
        if ab_f is not None:
            ok &= m.abandon_rate <= ab_f[idx]
        return ok

    n = a.size
    all_idx = np.arange(n)
    if model == "erlang-c" and not fractional:
        return _erlang_c_staff(a, aht_f, t_f, sl_f, asa_f, occ_f, shrink_f, sl_definition, shape)
    # lo: known to fail (0 where there is no traffic); hi grows until it meets the targets.
    # Erlang C fails at c <= a (unstable); the other models fail with no agents (nobody is answered).
    lo = np.where(a > 0, a if fractional else np.floor(a), 0.0) if model == "erlang-c" else np.zeros(n)
    occ_floor = a / occ_f
    step = np.maximum(1.0, np.ceil(np.sqrt(a)))
    hi = np.maximum(np.ceil(np.maximum(a + step, occ_floor)), lo + 1.0)
    hi = np.where(a > 0, hi, 0.0)
    pending = all_idx[a > 0]
    if model == "erlang-a" and pending.size:
        # one call probes the classic square-root bracket [a − 2√a, a + √a]; abandonment rarely needs more
        guess = np.maximum(0.0, np.floor(a[pending] - 2.0 * np.sqrt(a[pending])))
        guess = np.where(fractional, np.maximum(0.0, a[pending] - 2.0 * np.sqrt(a[pending])), guess)
        ok2 = met(np.concatenate([pending, pending]), np.concatenate([guess, hi[pending]])).reshape(2, -1)
        low_ok = ok2[0]
        lo[pending[~low_ok]] = guess[~low_ok]
        hi[pending[low_ok]] = guess[low_ok]
        bad = pending[~ok2[1]]
        lo[bad] = hi[bad]
        step[bad] *= 2.0
        hi[bad] = hi[bad] + step[bad]
        pending = bad
    while pending.size:
        ok = met(pending, hi[pending])
        bad = pending[~ok]
        lo[bad] = hi[bad]
        step[bad] *= 2.0
        hi[bad] = hi[bad] + step[bad]
        pending = bad

    # K-ary search: each round tries K points inside (lo, hi] of every open cell at once (K large when few cells,
    # so one staffing decision takes two or three vectorised rounds; K = 1 is plain bisection for big grids).
    def gap_open(idx: np.ndarray) -> np.ndarray:
        gap = hi[idx] - lo[idx]
        return idx[gap > (1.0 if not fractional else 1e-6 * np.maximum(1.0, hi[idx]))]

    active = gap_open(all_idx)
    while active.size:
        k = int(max(1, min(32, 2048 // active.size)))
        frac = np.arange(1, k + 1) / (k + 1)
        pts = lo[active, None] + (hi[active] - lo[active])[:, None] * frac[None, :]
        if not fractional:
            pts = np.clip(np.ceil(pts), lo[active, None] + 1.0, hi[active, None] - 1.0)
        rep = np.repeat(active, k)
        ok = met(rep, pts.ravel()).reshape(-1, k)
        # smallest point that meets the targets (monotone in agents) becomes hi; the largest failing below it, lo
        new_hi = np.where(ok, pts, np.inf).min(axis=1)
        hi[active] = np.minimum(hi[active], new_hi)
        fail = np.where(~ok & (pts < hi[active, None]), pts, -np.inf).max(axis=1)
        lo[active] = np.maximum(lo[active], fail)
        active = gap_open(active)
    hi = np.maximum(hi, 0.0)
    final = evaluate(all_idx, hi, full=True)
    staff = _staff(hi, shrink_f, fractional)

    def r(v: np.ndarray) -> np.ndarray:
        return np.asarray(v).reshape(shape)

    return QueueMetrics(
        model=model,
        sl_definition=sl_definition,
        threshold_s=r(final.threshold_s),
        traffic_erlangs=r(a),
        agents=r(hi),
        staff=r(staff),
        p_wait=r(final.p_wait),
        service_level=r(final.service_level),
        asa_s=r(final.asa_s),
        mean_wait_s=r(final.mean_wait_s),
        abandon_rate=r(final.abandon_rate),
        occupancy=r(final.occupancy),
        p_block=r(final.p_block),
        stable=r(final.stable),
    )
