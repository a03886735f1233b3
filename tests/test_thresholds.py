"""Thresholds: an item asserts its entries, says when it asserted nothing, and negative controls
are asserted only by entries that fail when the preset learns."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_records import make_record

from sacbench.algos import PRESETS
from sacbench.baselines import Baseline
from sacbench.metrics import EVAL_LENGTH, EVAL_RETURN, TERRAIN_LEVEL_LATE
from sacbench.thresholds import (
    Threshold,
    Thresholds,
    load_thresholds,
    rule_metrics,
    threshold_from_baseline,
    threshold_from_post,
)

ROOT = Path(__file__).resolve().parents[1]


def _entry(preset: str, *, low: float | None = None, high: float | None = None, budget: float = 60.0) -> Threshold:
    return Threshold("mujoco", "cpu", "a1-flat", preset, EVAL_RETURN, low, high, budget, "test")


def test_a_threshold_is_asserted_and_can_fail() -> None:
    table = Thresholds((_entry("sac_tuned", low=10.0),))
    passing = table.assess(make_record(final={EVAL_RETURN: 12.5}), learns=True)
    assert passing.failures == () and passing.unasserted is None
    failing = table.assess(make_record(final={EVAL_RETURN: 9.0}), learns=True)
    assert failing.unasserted is None
    (message,) = failing.failures
    assert "eval/episode_return = 9.000, required >= 10 (test)" in message


def test_no_entry_is_unasserted_never_a_pass() -> None:
    assessment = Thresholds(()).assess(make_record(), learns=True)
    assert assessment.failures == ()
    assert assessment.unasserted == "no threshold for mujoco/cpu/a1-flat/sac_tuned"


def test_an_entry_for_a_longer_budget_is_unasserted_with_the_budget_it_needs() -> None:
    table = Thresholds((_entry("sac_tuned", low=10.0, budget=120.0),))
    assessment = table.assess(make_record(final={EVAL_RETURN: 0.0}), learns=True)  # 60 s run
    assert assessment.failures == ()
    assert assessment.unasserted == "its thresholds need a budget >= 120 s; this run had 60 s"


def test_a_negative_control_is_asserted_only_by_an_upper_bound() -> None:
    record = make_record(preset="sac_default", final={EVAL_RETURN: 3.0})
    floor_only = Thresholds((_entry("sac_default", low=-10.0),)).assess(record, learns=False)
    assert floor_only.failures == ()
    assert floor_only.unasserted == "no upper ('max') threshold: a negative control for mujoco/cpu/a1-flat/sac_default"
    ceiling = Thresholds((_entry("sac_default", high=0.0),)).assess(record, learns=False)
    assert ceiling.unasserted is None
    (message,) = ceiling.failures  # it learned: the negative control fails
    assert "required <= 0" in message


@pytest.mark.parametrize(
    "entry",
    load_thresholds(ROOT / "benchmarks" / "thresholds.yaml").entries,
    ids=lambda t: f"{t.backend}-{t.task}-{t.preset}",
)
def test_committed_thresholds_point_the_way_their_preset_is_expected_to_go(entry: Threshold) -> None:
    """A preset that learns has floors; a negative control has ceilings (the marker's promise)."""
    if PRESETS[entry.preset].learns:
        assert entry.min is not None and entry.max is None
    else:
        assert entry.max is not None and entry.min is None


@pytest.mark.parametrize(
    ("values", "learns", "low", "high"),
    [
        ([12.1, 16.4, 21.8], True, 6.0, None),  # half the worst seed, 6.05 rounded down to 0.5
        ([0.72, 3.5, 6.5], True, 0.0, None),  # 0.36 rounded down
        ([-0.23, 0.4, 0.9], True, -0.5, None),  # a near-zero learner: -0.345 rounded down, still asserted
        ([-4.7, -3.6, -6.1], False, None, 0.0),  # a negative control that holds: at or below 0
        ([-2.0, 1.2, -1.0], False, None, 1.5),  # one that does not: its best seed, rounded up
    ],
)
def test_the_rule_from_a_baseline(values: list[float], learns: bool, low: float | None, high: float | None) -> None:
    baseline = Baseline(
        "mujoco", "cpu", "a1-flat", "x", 120.0, tuple(range(len(values))), {EVAL_RETURN: values}, {}, {}, {}
    )
    entry = threshold_from_baseline(baseline, EVAL_RETURN, learns=learns)
    assert (entry.min, entry.max, entry.min_budget_s) == (low, high, 120.0)
    assert all(entry.min is None or v >= entry.min for v in values)  # every baseline seed passes its own floor
    assert ("does NOT hold" in entry.source) == (high is not None and high > 0)


@pytest.mark.parametrize(
    ("levels", "low", "vacuous"),
    [
        ([0.111, 0.055, 0.117], 0.02, False),  # the tier's late levels at 30 minutes: 0.0275 in steps of 0.01
        ([0.17, 0.15, 0.3], 0.07, False),  # 0.075 rounded down (not floored to 0.5's 0)
        ([0.6, 0.5, 0.7], 0.25, False),
        ([0.015, 0.1, 0.2], 0.0, True),  # half the worst seed is below one step: the floor asserts nothing
        ([0.0, 0.1, 0.2], 0.0, True),  # a seed that never climbed
    ],
)
def test_the_rule_for_terrain_levels(levels: list[float], low: float, vacuous: bool) -> None:
    values = {TERRAIN_LEVEL_LATE: levels}
    baseline = Baseline("mujoco", "cpu", "anymal_c-rough", "x", 1800.0, (0, 1, 2), values, {}, {}, {})
    entry = threshold_from_baseline(baseline, TERRAIN_LEVEL_LATE, learns=True)
    assert (entry.min, entry.max, entry.vacuous) == (low, None, vacuous)
    assert ("asserts nothing" in entry.source) == vacuous
    table = Thresholds((entry,))
    unasserted = table.unasserted("mujoco", "cpu", "anymal_c-rough", "x", 1800.0, learns=True)
    assert (unasserted is not None) == vacuous  # a vacuous entry never counts as asserting the item


@pytest.mark.parametrize(
    ("lengths", "low"),
    [
        ([285.5, 621.8, 96.5, 361.6, 219.4], 48.0),  # A1 flat sac_tuned: 48.25 down to one env step
        ([652.2, 956.6, 670.9, 970.1, 515.7], 257.0),  # ANYmal-C flat sac_tuned (its legacy box: 14-24)
    ],
)
def test_the_rule_for_survival(lengths: list[float], low: float) -> None:
    baseline = Baseline("mujoco", "cpu", "a1-flat", "x", 120.0, (0, 1, 2, 3, 4), {EVAL_LENGTH: lengths}, {}, {}, {})
    entry = threshold_from_baseline(baseline, EVAL_LENGTH, learns=True)
    assert (entry.min, entry.max, entry.vacuous) == (low, None, False)
    with pytest.raises(ValueError, match="negative control: its eval/episode_length has no threshold"):
        threshold_from_baseline(baseline, EVAL_LENGTH, learns=False)


def test_survival_is_bounded_for_learners_on_flat_terrain_only() -> None:
    assert rule_metrics("flat", learns=True) == (EVAL_RETURN, EVAL_LENGTH)
    assert rule_metrics("flat", learns=False) == (EVAL_RETURN,)
    assert rule_metrics("rough", learns=True) == (EVAL_RETURN, TERRAIN_LEVEL_LATE)


@pytest.mark.parametrize(
    ("task", "preset", "learns", "low", "high"),
    [
        ("a1-flat", "ppo_sb3", True, 15.0, None),  # the post's own figure: A1 flat almost solved above 15
        ("a1-flat", "sac_default", False, None, 5.0),  # no sign of improvement: 45 / 9
        ("anymal_c-flat", "sac_tuned", True, 10.0, None),  # best 30: a third
        ("anymal_c-rough", "sac_tuned_rough", True, 3.0, None),  # rough: only learning, 30 / 9 = 3.33 down
        ("anymal_c-flat", "sac_tuned_legacy", False, None, 3.5),  # 3.33 up
        ("bdx-rough", "ppo_sb3", True, 6.5, None),  # best 60: 6.67 down
    ],
)
def test_the_rule_from_the_post(task: str, preset: str, learns: bool, low: float | None, high: float | None) -> None:
    entry = threshold_from_post(task, preset, learns=learns)
    assert (entry.backend, entry.scale, entry.task, entry.preset) == ("isaaclab", "gpu", task, preset)
    assert (entry.min, entry.max, entry.min_budget_s) == (low, high, 300.0)
    assert "not yet measured by sacbench on a GPU" in entry.source


def test_an_item_of_any_budget_says_whether_it_is_asserted() -> None:
    table = Thresholds((_entry("sac_tuned", low=10.0, budget=120.0), _entry("sac_default", low=-1.0)))
    assert table.unasserted("mujoco", "cpu", "a1-flat", "sac_tuned", 120.0, learns=True) is None
    assert table.unasserted("mujoco", "cpu", "a1-flat", "sac_tuned", 60.0, learns=True) == (
        "its thresholds need a budget >= 120 s; this run had 60 s"
    )
    assert table.unasserted("mujoco", "cpu", "a1-flat", "sac_default", 120.0, learns=False) is not None


def test_the_thresholds_command_proposes_the_rule_and_comments_out_vacuous_levels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sacbench thresholds --terrain-levels``: one entry per baseline, budget and metric, as valid YAML."""
    from sacbench.baselines import save_baseline
    from sacbench.cli import main as cli_main

    def baseline(preset: str, budget: float, returns: list[float], levels: list[float]) -> Baseline:
        values = {EVAL_RETURN: returns, TERRAIN_LEVEL_LATE: levels}
        common = ("mujoco", "cpu", "anymal_c-rough", preset, budget, (0, 1, 2))
        return Baseline(*common, values, {}, {}, {}, curves=[[], [], []])

    save_baseline(baseline("sac_tuned_rough", 120.0, [0.7, 3.5, 6.5], [0.0, 0.0, 0.0]), tmp_path)
    save_baseline(baseline("sac_tuned_rough", 1800.0, [5.0, 6.1, 7.0], [0.1, 0.14, 0.2]), tmp_path)
    assert cli_main(["thresholds", str(tmp_path), "--terrain-levels"]) == 0
    lines = capsys.readouterr().out.splitlines()
    commented = [line for line in lines if line.startswith("  # - {")]
    assert len(commented) == 1 and "terrain_level" in commented[0] and "asserts nothing" in commented[0]
    table = tmp_path / "thresholds.yaml"
    table.write_text("schema_version: 1\nthresholds:\n" + "\n".join(lines) + "\n")
    entries = {(t.metric, t.min_budget_s): t.min for t in load_thresholds(table).entries}
    assert entries == {(EVAL_RETURN, 120.0): 0.0, (EVAL_RETURN, 1800.0): 2.5, (TERRAIN_LEVEL_LATE, 1800.0): 0.05}
