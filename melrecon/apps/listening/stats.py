"""The statistics of a listening test: means with t-intervals, post-screening, binomial tails, correlations.

Plain numbers in, plain numbers out (numpy and scipy, which JAX itself depends on); no widgets, no files.

>>> round(binomial_p(9, 10), 6)
0.010742
>>> mean_ci([70.0, 80.0, 90.0]).mean
80.0
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np

from ...core.config import ParameterError

__all__ = ["MeanCI", "mean_ci", "t_quantile", "binomial_p", "pearson", "spearman", "screening_reasons",
           "REFERENCE_FLOOR", "ANCHOR_CEILING", "SCREEN_FRACTION"]

#: BS.1534-3 post-screening: a hidden reference rated below this ...
REFERENCE_FLOOR = 90.0
#: ... or the mid anchor rated above this ...
ANCHOR_CEILING = 90.0
#: ... in more than this fraction of a listener's trials excludes the listener.
SCREEN_FRACTION = 0.15


class MeanCI(NamedTuple):
    """A mean with its confidence interval: ``low``/``high`` = ``mean ∓ half_width``; ``n`` ratings."""

    mean: float
    half_width: float
    low: float
    high: float
    n: int


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom (scipy.stats.t.ppf).

    >>> round(t_quantile(0.975, 2), 4)
    4.3027
    """
    from scipy import stats  # noqa: PLC0415 - ~1 s to import, and every CLI command loads this package (parser)

    if not 0.0 < p < 1.0:
        raise ParameterError(f"p={p!r} must lie strictly between 0 and 1 (e.g. 0.975 for a two-sided 95 % interval).")
    if df < 1:
        raise ParameterError(f"df={df!r} must be at least 1: a t-interval needs two or more ratings.")
    return float(stats.t.ppf(p, df))


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> MeanCI:
    """The mean of ``values`` and its two-sided ``confidence`` interval from the t-distribution.

    ``half_width = t_{(1+confidence)/2, n-1} * s / sqrt(n)`` with ``s`` the sample standard deviation
    (``ddof=1``). One value gives a NaN half-width (no spread to estimate); none gives NaN everywhere.

    Parameters
    ----------
    values : sequence of float
        The ratings (NaN entries are dropped).
    confidence : float
        Coverage of the interval, in (0, 1); 0.95 by default.

    Returns
    -------
    MeanCI
    """
    if not 0.0 < confidence < 1.0:
        raise ParameterError(f"confidence={confidence!r} must lie strictly between 0 and 1 (0.95 for 95 %).")
    x = np.asarray(values, np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return MeanCI(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if x.size == 1:
        return MeanCI(mean, math.nan, math.nan, math.nan, 1)
    half = t_quantile(0.5 + confidence / 2, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return MeanCI(mean, half, mean - half, mean + half, int(x.size))


def binomial_p(k: int, n: int) -> float:
    """One-sided binomial p-value of ``k`` or more correct answers out of ``n`` when guessing (p = 1/2).

    ``P(K >= k) = sum_{i=k}^{n} C(n, i) / 2**n``, computed exactly with integers
    (``scipy.stats.binomtest(k, n, 0.5, alternative="greater").pvalue``).
    """
    if not (isinstance(k, (int, np.integer)) and isinstance(n, (int, np.integer))) or n < 0 or not 0 <= k <= n:
        raise ParameterError(f"k={k!r}, n={n!r}: need whole counts with 0 <= k <= n (correct answers of n trials).")
    if n == 0:
        return 1.0
    return sum(math.comb(int(n), i) for i in range(int(k), int(n) + 1)) / 2 ** int(n)


def _paired(x, y) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    if a.shape != b.shape:
        raise ParameterError(f"x has {a.size} values and y {b.size}; pass one value of each per condition.")
    keep = np.isfinite(a) & np.isfinite(b)
    return a[keep], b[keep]


def pearson(x, y) -> float:
    """Pearson's correlation of the finite pairs of ``x`` and ``y``; NaN with fewer than 3 pairs or no spread."""
    a, b = _paired(x, y)
    if a.size < 3 or a.std() == 0 or b.std() == 0:
        return math.nan
    a, b = a - a.mean(), b - b.mean()
    return float(np.clip((a @ b) / math.sqrt((a @ a) * (b @ b)), -1.0, 1.0))


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size)
    ranks[order] = np.arange(1, x.size + 1)
    for value in np.unique(x):
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(x, y) -> float:
    """Spearman's rank correlation (Pearson's on the ranks, ties averaged) of the finite pairs."""
    a, b = _paired(x, y)
    return pearson(_ranks(a), _ranks(b)) if a.size else math.nan


def screening_reasons(reference: Sequence[float], anchor: Sequence[float] | None = None, *,
                      reference_floor: float = REFERENCE_FLOOR, anchor_ceiling: float = ANCHOR_CEILING,
                      fraction: float = SCREEN_FRACTION) -> list[str]:
    """Why a listener is excluded by BS.1534-3 post-screening (an empty list: kept).

    A listener is excluded who rates the hidden reference below ``reference_floor`` in *more than*
    ``fraction`` of their trials, or (when ``anchor`` is given) the mid anchor above ``anchor_ceiling`` in more
    than ``fraction`` of them. Exactly ``fraction`` (3 of 20 trials at 15 %) is kept; the comparison is
    exact for fractions given as round percentages.

    Parameters
    ----------
    reference : sequence of float
        The listener's rating of the hidden reference, one per trial.
    anchor : sequence of float, optional
        The listener's rating of the mid anchor (7 kHz), one per trial.
    """
    reasons = []
    checks = [("hidden reference", reference, lambda v: v < reference_floor, f"below {reference_floor:g}")]
    if anchor is not None:
        checks.append(("mid anchor", anchor, lambda v: v > anchor_ceiling, f"above {anchor_ceiling:g}"))
    for what, ratings, bad, words in checks:
        values = [float(v) for v in ratings if v is not None and math.isfinite(float(v))]
        count = sum(1 for v in values if bad(v))
        # count / n > fraction, in whole basis points so that 3 of 20 at 15 % is not over the line
        if values and 10000 * count > round(10000 * fraction) * len(values):
            reasons.append(f"rated the {what} {words} in {count} of {len(values)} trials "
                           f"({100 * count / len(values):.0f} % > {100 * fraction:g} %)")
    return reasons
