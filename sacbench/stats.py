"""rliable, seeded and validated.

IQM, median, mean, optimality gap, probability of improvement, performance profiles and IQM curves,
with stratified-bootstrap 95 % confidence intervals.

Score arrays are shaped ``(num_runs, num_tasks)`` as in rliable.  Unlike rliable's defaults:

- every bootstrap is reproducible from a seed.  rliable 1.2.0 forwards ``random_state`` to
  ``arch``, which ignores it and draws from numpy's global generator (measured: two calls with the
  same ``random_state`` give different intervals); so each call runs under a global seed derived
  from the report's seed and the call's key, and the global state is restored afterwards;
- inputs are checked (shape, NaN, inf) and a bad one is named before rliable sees it.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as t_dist
from scipy.stats import trim_mean

DEFAULT_REPS = 2000
"""Bootstrap replications: rliable defaults to 50,000; 2,000 keeps the 95 % bounds stable to within
~1 % of their width for 3-10 runs (measured) at a fraction of the time."""
CONFIDENCE = 0.95
AGGREGATES = ("IQM", "Median", "Mean", "Optimality Gap")


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval."""

    point: float
    low: float
    high: float

    def format(self, digits: int = 2) -> str:
        """``12.34 [10.01, 14.56]``."""
        return f"{self.point:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def to_list(self) -> list[float]:
        """``[point, low, high]``."""
        return [self.point, self.low, self.high]


def derive_seed(seed: int, *keys: str) -> int:
    """A stable 31-bit seed from a base seed and names (independent of Python's hash salt)."""
    return (zlib.crc32("/".join(keys).encode()) ^ (seed * 2654435761)) & 0x7FFFFFFF


@contextmanager
def seeded_global_rng(seed: int) -> Iterator[None]:
    """Run a block under ``np.random.seed(seed)`` and restore the global state after."""
    # The legacy global generator on purpose: it is what rliable/arch draw from (see module doc).
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def validate_scores(scores: Mapping[str, np.ndarray], name: str = "scores") -> dict[str, np.ndarray]:
    """Float copies of ``scores``, each ``(num_runs >= 1, num_tasks >= 1)`` and finite.

    Raises:
        ValueError: Naming the key, the shape or the position of the first NaN/inf.
    """
    if not scores:
        raise ValueError(f"{name} is empty; expected at least one entry of shape (num_runs, num_tasks)")
    checked = {}
    for key, value in scores.items():
        array = np.asarray(value, dtype=float)
        if array.ndim != 2 or 0 in array.shape:
            raise ValueError(f"{name}[{key!r}] has shape {array.shape}; expected (num_runs >= 1, num_tasks >= 1)")
        bad = np.argwhere(~np.isfinite(array))
        if bad.size:
            run, task = bad[0]
            raise ValueError(f"{name}[{key!r}] has a non-finite value {array[run, task]} at run {run}, task {task}")
        checked[str(key)] = array
    return checked


def _interval_estimates(
    score_dict: Mapping[str, np.ndarray | tuple[np.ndarray, ...]],
    func: Callable[..., np.ndarray],
    seed: int,
    reps: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    import rliable.library as rly

    points, intervals = {}, {}
    for key, scores in score_dict.items():
        with seeded_global_rng(derive_seed(seed, key)):
            p, ci = rly.get_interval_estimates(
                {key: scores},
                func,
                reps=reps,
                confidence_interval_size=CONFIDENCE,
            )
        points[key], intervals[key] = np.asarray(p[key]), np.asarray(ci[key])
    return points, intervals


def aggregate_metrics(
    scores: Mapping[str, np.ndarray], seed: int, reps: int = DEFAULT_REPS, gamma: float = 1.0
) -> dict[str, dict[str, Interval]]:
    """IQM, median, mean and optimality gap (below ``gamma``) with bootstrap CIs.

    Args:
        scores: ``{key: (num_runs, num_tasks)}``; normalised scores when the optimality gap matters.
        seed: Report seed (each key draws from its own derived seed).
        reps: Bootstrap replications.
        gamma: Optimality threshold of the gap (1.0 for scores normalised to the best possible).

    Returns:
        ``{key: {"IQM": Interval, "Median": ..., "Mean": ..., "Optimality Gap": ...}}``; IQM, mean and
        gap as rliable computes them, the median over all run scores.
    """
    from rliable import metrics

    def func(x: np.ndarray) -> np.ndarray:
        # rliable's aggregate_median is the median over tasks of per-task means, which for one task
        # is the mean; the median of all run scores is what a per-task summary needs.
        return np.array(
            [
                metrics.aggregate_iqm(x),
                float(np.median(x)),
                metrics.aggregate_mean(x),
                metrics.aggregate_optimality_gap(x, gamma),
            ]
        )

    points, cis = _interval_estimates(validate_scores(scores), func, seed, reps)
    return {
        key: {
            name: Interval(float(points[key][i]), float(cis[key][0, i]), float(cis[key][1, i]))
            for i, name in enumerate(AGGREGATES)
        }
        for key in points
    }


def probability_of_improvement(
    pairs: Mapping[str, tuple[np.ndarray, np.ndarray]], seed: int, reps: int = DEFAULT_REPS
) -> dict[str, Interval]:
    """P(X > Y) for each ``"x,y": (scores_x, scores_y)`` pair, with CIs.

    Both arrays are ``(num_runs, num_tasks)`` with the same tasks (runs may differ).
    """
    from rliable import metrics

    checked: dict[str, tuple[np.ndarray, ...]] = {}
    for key, (x, y) in pairs.items():
        arrays = validate_scores({"x": x, "y": y}, name=f"pair {key!r}")
        if arrays["x"].shape[1] != arrays["y"].shape[1]:
            raise ValueError(f"pair {key!r}: {arrays['x'].shape[1]} tasks vs {arrays['y'].shape[1]}")
        checked[key] = (arrays["x"], arrays["y"])
    points, cis = _interval_estimates(checked, metrics.probability_of_improvement, seed, reps)
    return {k: Interval(float(points[k]), float(np.ravel(cis[k])[0]), float(np.ravel(cis[k])[1])) for k in points}


STATISTICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    # Along the last axis; the IQM is rliable's (scipy's 25 % trimmed mean), so a permutation of
    # one task's runs gives the number rliable would print.
    "iqm": lambda x: trim_mean(x, 0.25, axis=-1),
    "median": lambda x: np.median(x, axis=-1),
    "mean": lambda x: np.mean(x, axis=-1),
}
"""The statistics a comparison can be made on, computed along the last axis."""
MAX_EXACT_ARRANGEMENTS = 20_000
"""Up to this many splits the permutation test enumerates them all (exact p-values); beyond, it
draws as many at random.  5 vs 5 seeds is 252 splits, 10 vs 10 is 184,756."""


@dataclass(frozen=True)
class PermutationTest:
    """``stat(current) - stat(baseline)`` and its one-sided permutation p-values.

    Under the null hypothesis that both sets of runs come from one distribution, every split of the
    pooled runs into groups of the same sizes is equally likely; ``p_lower`` is the share of splits
    whose difference is at most the observed one (evidence of a drop), ``p_upper`` at least
    (evidence of a gain).  Both count the observed split, so each one-sided test at level ``alpha``
    rejects with probability at most ``alpha`` when nothing changed, whatever the distribution.
    """

    difference: float
    p_lower: float
    p_upper: float
    smallest_p: float
    """The smallest p-value these seed counts can give (1 / number of splits): a test at a level
    below it can never reject."""
    exact: bool


def permutation_test(
    current: np.ndarray, baseline: np.ndarray, statistic: str, *, seed: int = 0, key: str = ""
) -> PermutationTest:
    """Exact (or, for many seeds, Monte Carlo) permutation test of a difference of ``statistic``.

    Args:
        current: ``(n,)`` per-run values of tonight.
        baseline: ``(m,)`` per-run values of the baseline.
        statistic: ``"iqm"``, ``"median"`` or ``"mean"`` (`STATISTICS`).
        seed: Seed of the random splits (only used beyond `MAX_EXACT_ARRANGEMENTS`).
        key: Names the comparison (derives the random splits' seed).

    Raises:
        ValueError: For an unknown statistic, an empty group or a non-finite value.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic {statistic!r}: expected one of {', '.join(STATISTICS)}")
    cur, base = np.ravel(current).astype(float), np.ravel(baseline).astype(float)
    if cur.size == 0 or base.size == 0 or not (np.isfinite(cur).all() and np.isfinite(base).all()):
        raise ValueError(f"{key or 'permutation test'}: needs finite values on both sides; got {cur} and {base}")
    stat = STATISTICS[statistic]
    pooled, n = np.concatenate([cur, base]), cur.size
    total = math.comb(pooled.size, n)
    exact = total <= MAX_EXACT_ARRANGEMENTS
    if exact:
        chosen = np.array(list(itertools.combinations(range(pooled.size), n)))
    else:
        rng = np.random.default_rng(derive_seed(seed, "permutation", key))
        chosen = np.argsort(rng.random((MAX_EXACT_ARRANGEMENTS, pooled.size)), axis=1)[:, :n]
    in_current = np.zeros((chosen.shape[0], pooled.size), dtype=bool)
    np.put_along_axis(in_current, chosen, True, axis=1)
    # Each row of `in_current` is one split; the groups keep their sizes, so they reshape cleanly.
    groups_cur = pooled[np.nonzero(in_current)[1]].reshape(-1, n)
    groups_base = pooled[np.nonzero(~in_current)[1]].reshape(-1, base.size)
    differences = stat(groups_cur) - stat(groups_base)
    observed = float(stat(cur) - stat(base))
    slack = 1e-9 * max(1.0, abs(observed))  # float sums of the same runs in another order
    if exact:
        p_lower = float(np.mean(differences <= observed + slack))
        p_upper = float(np.mean(differences >= observed - slack))
        smallest = 1.0 / total
    else:  # the observed split counts once more (Phipson & Smyth 2010): never p = 0
        p_lower = float((np.sum(differences <= observed + slack) + 1) / (differences.size + 1))
        p_upper = float((np.sum(differences >= observed - slack) + 1) / (differences.size + 1))
        smallest = 1.0 / (differences.size + 1)
    return PermutationTest(observed, p_lower, p_upper, smallest, exact)


def detectable_shift(baseline: np.ndarray, num_current: int, alpha: float, power: float = 0.8) -> float:
    """The smallest shift a one-sided test at ``alpha`` detects with probability ``power``.

    The normal-theory sample-size relation (Colas et al. 2018, "How Many Random Seeds?", eq. 4):
    ``(t_{1-alpha} + t_{power}) * s * sqrt(1/n + 1/m)`` with ``s`` the baseline runs' standard
    deviation and ``n + m - 2`` degrees of freedom.  It is known before the night runs (only the
    baseline's spread and tonight's seed count enter).  ``benchmarks/gate_power.py`` checks it
    against the real gate by simulation.

    Args:
        baseline: ``(m,)`` per-run baseline values.
        num_current: Tonight's number of runs.
        alpha: The one-sided level.
        power: Detection probability.

    Returns:
        The shift in the metric's units; ``nan`` with fewer than 2 baseline runs or 1 current run.
    """
    values = np.ravel(baseline).astype(float)
    m, n = values.size, num_current
    if m < 2 or n < 1:
        return float("nan")
    df = n + m - 2
    spread = float(np.std(values, ddof=1))
    return float((t_dist.ppf(1 - alpha, df) + t_dist.ppf(power, df)) * spread * math.sqrt(1 / n + 1 / m))


def performance_profiles(
    scores: Mapping[str, np.ndarray], taus: np.ndarray, seed: int, reps: int = DEFAULT_REPS
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Fraction of runs scoring above each ``tau`` (score distributions), with CIs."""
    import rliable.library as rly

    profiles, cis = {}, {}
    for key, array in validate_scores(scores).items():
        with seeded_global_rng(derive_seed(seed, "profile", key)):
            p, ci = rly.create_performance_profile({key: array}, taus, reps=reps)
        profiles[key], cis[key] = p[key], ci[key]
    return profiles, cis


def iqm_curves(
    curves: Mapping[str, np.ndarray], seed: int, reps: int = DEFAULT_REPS
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """IQM across runs at each point of aligned curves.

    Args:
        curves: ``{key: (num_runs, num_points)}`` values on a common grid.
        seed: Report seed.
        reps: Bootstrap replications.

    Returns:
        ``{key: (iqm (num_points,), ci (2, num_points))}``.
    """
    from rliable import metrics

    out = {}
    for key, array in validate_scores(curves, name="curves").items():
        # rliable wants (runs, tasks, points): one task, the points along the last axis.
        stacked = array[:, None, :]
        points, cis = _interval_estimates(
            {key: stacked},
            lambda x: np.array([metrics.aggregate_iqm(x[..., i]) for i in range(x.shape[-1])]),
            seed,
            reps,
        )
        out[key] = (points[key], cis[key])
    return out


def resample_curve(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``y(x)`` on ``grid``: linear interpolation over the known points, held flat past the ends.

    Rows without a value (``NaN``: no episode finished in that window) are skipped.

    Raises:
        ValueError: If the curve has no finite value at all.
    """
    known = np.isfinite(x) & np.isfinite(y)
    if not known.any():
        raise ValueError("the curve has no finite value to resample")
    return np.interp(grid, x[known], y[known])
