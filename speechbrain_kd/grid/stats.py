"""Paired statistics of a grid: per-seed differences and their intervals.

Every method of a grid runs with the same seeds as the student trained
alone, and a seed fixes the student's initialisation and, under dynamic
mixing, every training mixture. So the comparison of two methods is a
paired one: the difference of their test scores seed by seed, summarised
by its mean, its sample standard deviation and a 95 % Student-t interval
of the mean difference. A method wins (or loses) a comparison when that
interval lies above (or below) zero; otherwise the data show no
difference at this number of seeds.

Authors
 * speechbrain-kd contributors 2026
"""

import math

from scipy import stats as scipy_stats

from speechbrain_kd.report import mean_std

CONFIDENCE = 0.95


def t_interval(values, confidence=CONFIDENCE):
    """Student-t confidence interval of the mean of ``values``.

    ``mean ± t(1 - (1 - confidence) / 2, n - 1) x std / sqrt(n)``, with the
    sample standard deviation; ``(nan, nan)`` for fewer than two values.

    Arguments
    ---------
    values : list of float
    confidence : float
        The interval's coverage.

    Returns
    -------
    tuple of float
        ``(low, high)``.

    Example
    -------
    Three differences 0.1, 0.2, 0.3: mean 0.2, std 0.1, t(0.975, 2) =
    4.303, so 0.2 ± 4.303 x 0.1 / sqrt(3) = 0.2 ± 0.248.

    >>> low, high = t_interval([0.1, 0.2, 0.3])
    >>> round(low, 3), round(high, 3)
    (-0.048, 0.448)
    >>> t_interval([0.1])
    (nan, nan)
    """
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    mean, std = mean_std(values)
    quantile = float(scipy_stats.t.ppf(0.5 + confidence / 2, n - 1))
    half = quantile * std / math.sqrt(n)
    return mean - half, mean + half


def verdict(low, high):
    """Plain words for a paired interval of ``method - reference``.

    Example
    -------
    >>> verdict(0.01, 0.2), verdict(-0.3, -0.1), verdict(-0.1, 0.2)
    ('wins', 'loses', 'no difference')
    >>> verdict(float("nan"), float("nan"))
    'too few seeds'
    """
    if math.isnan(low):
        return "too few seeds"
    if low > 0:
        return "wins"
    if high < 0:
        return "loses"
    return "no difference"


def paired_difference(scores, reference):
    """Per-seed differences ``scores - reference`` over their common seeds.

    Arguments
    ---------
    scores : dict
        ``{seed: score}`` of a method.
    reference : dict
        ``{seed: score}`` of the method it is compared with.

    Returns
    -------
    dict
        ``seeds`` and ``differences`` (paired, by seed), ``n``, ``mean``,
        ``std``, ``low`` and ``high`` (the 95 % interval of the mean) and
        the ``verdict``.

    Example
    -------
    Seeds 1-3 ran for both (seed 4 only for the method, so it is left out):

    >>> diff = paired_difference(
    ...     {1: 2.3, 2: 2.4, 3: 2.6, 4: 2.0}, {1: 2.2, 2: 2.2, 3: 2.3}
    ... )
    >>> diff["seeds"], [round(d, 2) for d in diff["differences"]]
    ([1, 2, 3], [0.1, 0.2, 0.3])
    >>> round(diff["mean"], 2), round(diff["low"], 3), diff["verdict"]
    (0.2, -0.048, 'no difference')
    """
    seeds = sorted(set(scores) & set(reference))
    differences = [scores[seed] - reference[seed] for seed in seeds]
    mean, std = mean_std(differences)
    low, high = t_interval(differences)
    return {
        "seeds": seeds,
        "differences": differences,
        "n": len(seeds),
        "mean": mean,
        "std": std,
        "low": low,
        "high": high,
        "verdict": verdict(low, high),
    }
