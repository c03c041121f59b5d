"""Agreement between raters: Krippendorff's alpha, the six Shrout–Fleiss ICCs, Fleiss' and Cohen's kappa.

Implemented here because the common reference packages (``krippendorff``, ``pingouin``) are GPL and callops is
Apache-2.0. Every function takes *long* data: one ``(unit, rater, value)`` triple per rating; a missing rating is
simply an absent triple. Formulas:

* Krippendorff (2011), "Computing Krippendorff's alpha-reliability": coincidence matrix ``o_ck`` (each unit with
  ``m_u >= 2`` values contributes ``n_uc n_uk / (m_u - 1)``, ``c == k`` pairs ``n_uc (n_uc - 1) / (m_u - 1)``),
  ``alpha = 1 - (n - 1) * sum o_ck d_ck / sum n_c n_k d_ck`` with the nominal, ordinal, interval and ratio
  difference functions ``d_ck``.
* Shrout & Fleiss (1979): two-way ANOVA mean squares BMS, WMS, JMS, EMS of a complete targets × judges table.
* Fleiss (1971): ``kappa = (P - Pe) / (1 - Pe)`` with the same number of ratings per unit.
* Cohen (1960): two raters, the units both rated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from callops.errors import CallopsError

LEVELS = ("nominal", "ordinal", "interval", "ratio")
Rating = tuple[Hashable, Hashable, object]


class AgreementError(CallopsError):
    """The ratings cannot give the asked statistic (too few units, raters or values)."""


def _units(ratings: Iterable[Rating]) -> dict[Hashable, list[object]]:
    """The values of each unit (raters no longer matter for alpha and Fleiss' kappa)."""
    units: dict[Hashable, list[object]] = defaultdict(list)
    for unit, _rater, value in ratings:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        units[unit].append(value)
    return units


def coincidence_matrix(ratings: Iterable[Rating]) -> tuple[list[object], np.ndarray]:
    """The sorted distinct values and Krippendorff's coincidence matrix ``o_ck`` over the pairable units."""
    units = {u: v for u, v in _units(ratings).items() if len(v) >= 2}
    values = sorted({x for vals in units.values() for x in vals})  # type: ignore[type-var]
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for vals in units.values():
        counts = np.zeros(len(values))
        for x in vals:
            counts[index[x]] += 1
        pairs = np.outer(counts, counts) - np.diag(counts)  # ordered pairs of different ratings of the unit
        o += pairs / (len(vals) - 1)
    return values, o


def _delta2(level: str, values: Sequence[object], n_c: np.ndarray) -> np.ndarray:
    """Krippendorff's squared difference ``d_ck`` between every two values at ``level``."""
    k = len(values)
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(n_c)])
        lo, hi = np.minimum.outer(np.arange(k), np.arange(k)), np.maximum.outer(np.arange(k), np.arange(k))
        between = cum[hi + 1] - cum[lo]  # n_g summed from the lower to the higher value, both included
        return (between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AgreementError(f"{level} alpha needs numeric values") from exc
    if level == "interval":
        return np.subtract.outer(x, x) ** 2
    if level == "ratio":
        if (x < 0).any():
            raise AgreementError("ratio alpha needs non-negative values")
        s = np.add.outer(x, x)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(s > 0, np.subtract.outer(x, x) / np.where(s > 0, s, 1.0), 0.0)
        return d**2
    raise AgreementError(f"unknown level of measurement {level!r}; use one of {', '.join(LEVELS)}")


def krippendorff_alpha(ratings: Iterable[Rating], level: str = "nominal") -> float:
    """Krippendorff's alpha of long ratings at ``level`` (nominal, ordinal, interval, ratio); missing allowed."""
    values, o = coincidence_matrix(ratings)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n < 2 or len(values) < 1:
        raise AgreementError("alpha needs at least one unit rated by two raters")
    d = _delta2(level, values, n_c)
    expected = float(n_c @ d @ n_c)
    if expected == 0.0:
        raise AgreementError("alpha is undefined when every rating has the same value")
    return float(1.0 - (n - 1.0) * float((o * d).sum()) / expected)


def all_alphas(ratings: Sequence[Rating]) -> dict[str, float | None]:
    """Alpha at the four levels; a level the values do not allow (text for interval) is ``None``."""
    out: dict[str, float | None] = {}
    for level in LEVELS:
        try:
            out[level] = krippendorff_alpha(ratings, level)
        except AgreementError:
            out[level] = None
    return out


def complete_table(ratings: Iterable[Rating]) -> tuple[list[Hashable], list[Hashable], np.ndarray] | None:
    """Units × raters table of numeric values when every rater rated every unit once, else ``None``."""
    cells: dict[tuple[Hashable, Hashable], float] = {}
    for unit, rater, value in ratings:
        if value is None:
            return None
        cells[(unit, rater)] = float(value)  # type: ignore[arg-type]
    units = sorted({u for u, _ in cells}, key=str)
    raters = sorted({r for _, r in cells}, key=str)
    if len(cells) != len(units) * len(raters):
        return None
    x = np.array([[cells[(u, r)] for r in raters] for u in units])
    return units, raters, x


@dataclass(frozen=True)
class MeanSquares:
    """Two-way ANOVA of a targets × judges table (Shrout & Fleiss 1979, Table 1)."""

    bms: float  # between targets
    wms: float  # within targets
    jms: float  # between judges
    ems: float  # residual
    n: int  # targets
    k: int  # judges


def mean_squares(x: np.ndarray) -> MeanSquares:
    """The mean squares of a complete ``n`` targets × ``k`` judges table."""
    x = np.asarray(x, dtype=float)
    n, k = x.shape
    if n < 2 or k < 2:
        raise AgreementError("ICC needs at least two units and two raters")
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((x - grand) ** 2).sum()
    ss_within = ss_total - ss_rows
    ss_error = ss_total - ss_rows - ss_cols
    return MeanSquares(ss_rows / (n - 1), ss_within / (n * (k - 1)), ss_cols / (k - 1),
                       ss_error / ((n - 1) * (k - 1)), n, k)  # fmt: skip


def icc_all(x: np.ndarray) -> dict[str, float]:
    """The six Shrout–Fleiss ICCs of a complete targets × judges table (keys ``icc_1_1`` ... ``icc_3_k``)."""
    m = mean_squares(x)
    b, w, j, e, n, k = m.bms, m.wms, m.jms, m.ems, m.n, m.k

    def ratio(num: float, den: float) -> float:
        return float(num / den) if den != 0 else float("nan")

    return {
        "icc_1_1": ratio(b - w, b + (k - 1) * w),
        "icc_2_1": ratio(b - e, b + (k - 1) * e + k * (j - e) / n),
        "icc_3_1": ratio(b - e, b + (k - 1) * e),
        "icc_1_k": ratio(b - w, b),
        "icc_2_k": ratio(b - e, b + (j - e) / n),
        "icc_3_k": ratio(b - e, b),
    }


def fleiss_kappa_counts(counts: np.ndarray) -> float:
    """Fleiss' kappa of a units × categories table of counts with the same number of ratings in every row."""
    c = np.asarray(counts, dtype=float)
    m = c.sum(axis=1)
    if len(c) == 0 or m[0] < 2 or not np.all(m == m[0]):
        raise AgreementError("Fleiss' kappa needs the same number (at least two) of ratings for every unit")
    r = m[0]
    p_unit = ((c * (c - 1)).sum(axis=1)) / (r * (r - 1))
    p_bar = p_unit.mean()
    p_j = c.sum(axis=0) / c.sum()
    p_e = float((p_j**2).sum())
    if p_e == 1.0:
        raise AgreementError("Fleiss' kappa is undefined when every rating has the same value")
    return float((p_bar - p_e) / (1.0 - p_e))


def fleiss_kappa(ratings: Iterable[Rating]) -> float:
    """Fleiss' kappa of long ratings (categories are the distinct values; every unit needs as many ratings)."""
    units = _units(ratings)
    cats = sorted({x for v in units.values() for x in v}, key=str)
    index = {c: i for i, c in enumerate(cats)}
    counts = np.zeros((len(units), len(cats)))
    for row, vals in enumerate(units.values()):
        for x in vals:
            counts[row, index[x]] += 1
    return fleiss_kappa_counts(counts)


def cohen_kappa(a: Sequence[object], b: Sequence[object]) -> float:
    """Cohen's (unweighted) kappa of two raters' paired labels."""
    if len(a) != len(b) or not a:
        raise AgreementError("Cohen's kappa needs two equally long, non-empty lists of labels")
    cats = sorted(set(a) | set(b), key=str)
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    for x, y in zip(a, b, strict=True):
        table[index[x], index[y]] += 1
    table /= table.sum()
    p_o = float(np.trace(table))
    p_e = float(table.sum(axis=1) @ table.sum(axis=0))
    if p_e == 1.0:
        return 1.0 if p_o == 1.0 else float("nan")
    return (p_o - p_e) / (1.0 - p_e)


def rater_bias(ratings: Iterable[Rating]) -> dict[Hashable, dict[str, float]]:
    """Each rater's mean difference from the rest of the panel on the units they shared (numeric values)."""
    by_unit: dict[Hashable, dict[Hashable, float]] = defaultdict(dict)
    for unit, rater, value in ratings:
        by_unit[unit][rater] = float(value)  # type: ignore[arg-type]
    diffs: dict[Hashable, list[float]] = defaultdict(list)
    for scores in by_unit.values():
        if len(scores) < 2:
            continue
        total = sum(scores.values())
        for rater, v in scores.items():
            diffs[rater].append(v - (total - v) / (len(scores) - 1))
    return {
        r: {"bias": float(np.mean(d)), "se": float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else
            float("nan"), "units": len(d)}
        for r, d in sorted(diffs.items(), key=lambda kv: str(kv[0]))
    }  # fmt: skip


def agreement_report(ratings: Sequence[Rating]) -> dict[str, object]:
    """What ``callops qa agreement`` prints: alpha at four levels, the ICCs (complete tables only), Fleiss' kappa,
    Cohen's kappa (two raters), each rater's bias and the counts."""
    ratings = list(ratings)
    try:  # one type of value: numbers when they all are, else text (mixed types cannot be ordered)
        ratings = [(u, r, float(v)) for u, r, v in ratings]  # type: ignore[arg-type]
    except (TypeError, ValueError):
        ratings = [(u, r, str(v)) for u, r, v in ratings]
    units = {u for u, _, _ in ratings}
    raters = {r for _, r, _ in ratings}
    report: dict[str, object] = {"units": len(units), "raters": len(raters), "ratings": len(ratings)}
    report["alpha"] = all_alphas(ratings)
    table = None
    try:
        table = complete_table(ratings)
    except (TypeError, ValueError):
        table = None
    report["icc"] = icc_all(table[2]) if table is not None and len(table[0]) >= 2 and len(table[1]) >= 2 else None
    try:
        report["fleiss_kappa"] = fleiss_kappa(ratings)
    except AgreementError:
        report["fleiss_kappa"] = None
    if len(raters) == 2:
        r1, r2 = sorted(raters, key=str)
        a = {u: v for u, r, v in ratings if r == r1}
        b = {u: v for u, r, v in ratings if r == r2}
        both = sorted(set(a) & set(b), key=str)
        report["cohen_kappa"] = cohen_kappa([a[u] for u in both], [b[u] for u in both]) if both else None
    try:
        report["rater_bias"] = {str(k): v for k, v in rater_bias(ratings).items()}
    except (TypeError, ValueError):
        report["rater_bias"] = None
    return report
