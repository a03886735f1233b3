"""rliable wrappers: reproducible from a seed, validated inputs, correct aggregates."""

from __future__ import annotations

import numpy as np
import pytest

from sacbench.stats import (
    aggregate_metrics,
    derive_seed,
    iqm_curves,
    performance_profiles,
    probability_of_improvement,
    resample_curve,
    statistic_difference,
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


def test_probability_of_improvement_and_difference() -> None:
    better, worse = np.arange(10.0, 15.0)[:, None], np.arange(0.0, 5.0)[:, None]
    poi = probability_of_improvement({"a,b": (better, worse)}, seed=0, reps=300)["a,b"]
    assert poi.point == 1.0
    diff = statistic_difference(better, worse, "iqm", seed=0, key="t", reps=300)
    assert diff.point == pytest.approx(10.0)
    assert diff.low > 5.0


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
