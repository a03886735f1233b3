"""rliable wrappers: reproducible from a seed, validated inputs, correct aggregates."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import t as t_dist

from sacbench.stats import (
    MAX_EXACT_ARRANGEMENTS,
    aggregate_metrics,
    derive_seed,
    detectable_shift,
    iqm_curves,
    performance_profiles,
    permutation_test,
    probability_of_improvement,
    resample_curve,
    validate_scores,
)

SCORES = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])


def test_aggregates_match_hand_computed_values() -> None:
    result = aggregate_metrics({"x": SCORES}, seed=0, reps=300)["x"]
    # IQM of 5 runs: scipy's trimmed mean drops the outer 25 % -> mean of [2, 3, 4] (the 100 is ignored).
    assert result["IQM"].point == pytest.approx(3.0)
    assert result["Median"].point == 3.0
    assert result["Mean"].point == pytest.approx(22.0)
    assert result["IQM"].low <= 3.0 <= result["IQM"].high
    gap = aggregate_metrics({"x": np.array([[0.5], [1.5]])}, seed=0, reps=300)["x"]["Optimality Gap"]
    assert gap.point == pytest.approx(0.25)  # mean of max(1 - score, 0)


def test_intervals_are_reproducible_from_the_seed_and_restore_numpy_state() -> None:
    rng_state = np.random.get_state()[1][:5].copy()  # noqa: NPY002
    first = aggregate_metrics({"x": SCORES}, seed=7, reps=300)
    second = aggregate_metrics({"x": SCORES}, seed=7, reps=300)
    other = aggregate_metrics({"x": SCORES}, seed=8, reps=300)
    assert first == second
    assert first != other  # another seed, other resamples
    assert (np.random.get_state()[1][:5] == rng_state).all()  # noqa: NPY002


def test_seeds_are_stable_across_processes() -> None:
    assert derive_seed(0, "a1-flat", "sac_tuned") == derive_seed(0, "a1-flat", "sac_tuned")
    assert derive_seed(0, "a") != derive_seed(0, "b")
    assert derive_seed(0, "a1-flat") == 852808394  # crc32-based, not Python's salted hash


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({}, "scores is empty"),
        ({"x": np.ones(3)}, r"scores\['x'\] has shape \(3,\); expected \(num_runs >= 1, num_tasks >= 1\)"),
        ({"x": np.array([[1.0], [np.nan]])}, r"scores\['x'\] has a non-finite value nan at run 1, task 0"),
    ],
)
def test_bad_inputs_are_named_before_rliable_sees_them(scores: dict[str, np.ndarray], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_scores(scores)


def test_probability_of_improvement() -> None:
    better, worse = np.arange(10.0, 15.0)[:, None], np.arange(0.0, 5.0)[:, None]
    poi = probability_of_improvement({"a,b": (better, worse)}, seed=0, reps=300)["a,b"]
    assert poi.point == 1.0


def test_permutation_test_p_values_by_hand() -> None:
    """3 vs 2 runs: 10 splits; the observed one is the most extreme of them."""
    test = permutation_test(np.array([1.0, 2.0, 3.0]), np.array([10.0, 11.0]), "mean")
    assert test.exact and test.smallest_p == pytest.approx(1 / 10)
    assert test.difference == pytest.approx(2.0 - 10.5)
    assert test.p_lower == pytest.approx(1 / 10) and test.p_upper == pytest.approx(1.0)
    assert permutation_test(np.array([12.0, 13.0, 14.0]), np.array([10.0, 11.0]), "iqm").p_upper == pytest.approx(0.1)


@pytest.mark.parametrize(("n", "m"), [(3, 5), (5, 5), (4, 7)])
def test_permutation_test_holds_its_level_whatever_the_runs(n: int, m: int) -> None:
    """Under no change every split is equally likely: over all of them, p <= alpha at most alpha of the time."""
    pooled = np.random.default_rng(n * m).lognormal(size=n + m)  # skewed, as RL returns are
    rejected = []
    for split in itertools.combinations(range(n + m), n):
        mask = np.zeros(n + m, dtype=bool)
        mask[list(split)] = True
        rejected.append(permutation_test(pooled[mask], pooled[~mask], "mean").p_lower <= 0.05)
    assert np.mean(rejected) <= 0.05


def test_permutation_test_draws_splits_beyond_the_exact_limit() -> None:
    test = permutation_test(np.arange(12.0), np.arange(12.0) + 100, "median", seed=3, key="k")
    # 2.7 million splits: the most extreme one, plus any random draw that happens to repeat it
    assert not test.exact and 1 / (MAX_EXACT_ARRANGEMENTS + 1) <= test.p_lower < 5 / MAX_EXACT_ARRANGEMENTS
    assert test == permutation_test(np.arange(12.0), np.arange(12.0) + 100, "median", seed=3, key="k")


def test_detectable_shift_is_colas_sample_size_relation() -> None:
    baseline = np.array([10.0, 12.0, 14.0, 16.0, 18.0])  # standard deviation 3.16
    shift = detectable_shift(baseline, 5, alpha=0.05, power=0.8)
    expected = (t_dist.ppf(0.95, 8) + t_dist.ppf(0.8, 8)) * np.std(baseline, ddof=1) * np.sqrt(2 / 5)
    assert shift == pytest.approx(expected)
    assert np.isnan(detectable_shift(np.array([1.0]), 5, 0.05))


def test_curves_and_profiles() -> None:
    curves = np.tile(np.linspace(0, 1, 6), (4, 1)) + np.arange(4)[:, None]
    point, ci = iqm_curves({"k": curves}, seed=0, reps=200)["k"]
    assert point.shape == (6,) and ci.shape == (2, 6)
    np.testing.assert_allclose(point, np.linspace(0, 1, 6) + 1.5)
    profiles, cis = performance_profiles({"k": SCORES}, np.array([0.0, 2.5, 1000.0]), seed=0, reps=200)
    np.testing.assert_allclose(profiles["k"], [1.0, 0.6, 0.0])
    assert cis["k"].shape == (2, 3)


def test_resample_skips_missing_values() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([np.nan, 1.0, np.nan, 3.0])
    np.testing.assert_allclose(resample_curve(x, y, np.array([0.0, 2.0, 4.0])), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="no finite value"):
        resample_curve(x, np.full(4, np.nan), x)
