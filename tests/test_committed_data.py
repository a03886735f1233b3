"""The committed baselines and thresholds: they load, name real tasks and presets, and agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from sacbench.algos import DEFAULT_MATRIX, PRESETS
from sacbench.baselines import baseline_path, load_baseline
from sacbench.tasks import task_names
from sacbench.thresholds import Threshold, load_thresholds, threshold_from_baseline

ROOT = Path(__file__).resolve().parents[1]
BASELINES = sorted((ROOT / "baselines").glob("*/*/*.json"))
THRESHOLDS = load_thresholds(ROOT / "benchmarks" / "thresholds.yaml")


@pytest.mark.parametrize("path", BASELINES, ids=lambda p: str(p.relative_to(ROOT / "baselines")))
def test_committed_baseline_is_valid_and_where_it_belongs(path: Path) -> None:
    baseline = load_baseline(path)
    assert baseline_path(ROOT / "baselines", baseline.backend, baseline.scale, baseline.task, baseline.preset) == path
    assert baseline.task in task_names()
    assert baseline.preset in PRESETS
    assert len(baseline.seeds) >= 5, "committed baselines hold at least 5 seeds"
    assert not baseline.overrides, "committed baselines are of the presets as registered"


@pytest.mark.parametrize("entry", THRESHOLDS.entries, ids=lambda t: f"{t.backend}-{t.task}-{t.preset}-{t.metric}")
def test_threshold_names_a_real_task_and_preset(entry: Threshold) -> None:
    assert entry.task in task_names()
    assert entry.preset in PRESETS


def test_every_baseline_seed_passes_its_thresholds() -> None:
    """A threshold stricter than the reference runs themselves would fail healthy runs."""
    checked = 0
    for entry in THRESHOLDS.entries:
        path = baseline_path(ROOT / "baselines", entry.backend, entry.scale, entry.task, entry.preset)
        if not path.exists():
            continue
        baseline = load_baseline(path)
        assert baseline.budget_s >= entry.min_budget_s, f"{path}: the threshold does not apply at its own budget"
        for seed, value in zip(baseline.seeds, baseline.metrics[entry.metric], strict=True):
            assert entry.min is None or value >= entry.min, f"{path} seed {seed}: {value} < {entry.min}"
            assert entry.max is None or value <= entry.max, f"{path} seed {seed}: {value} > {entry.max}"
            checked += 1
    assert checked or not BASELINES


def test_mirror_thresholds_follow_the_one_rule_from_their_baselines() -> None:
    """Every mirror entry is what `threshold_from_baseline` gives (regenerate: sacbench thresholds baselines/)."""
    checked = 0
    for entry in THRESHOLDS.entries:
        path = baseline_path(ROOT / "baselines", entry.backend, entry.scale, entry.task, entry.preset)
        if entry.backend != "mujoco" or not path.exists():
            continue
        expected = threshold_from_baseline(load_baseline(path), entry.metric, learns=PRESETS[entry.preset].learns)
        assert (entry.min, entry.max, entry.min_budget_s) == (expected.min, expected.max, expected.min_budget_s), path
        assert entry.source == expected.source
        checked += 1
    assert checked


def test_every_committed_baseline_of_the_default_matrix_has_its_threshold() -> None:
    asserted = {(t.task, t.preset) for t in THRESHOLDS.entries if t.backend == "mujoco"}
    for path in BASELINES:
        baseline = load_baseline(path)
        terrain = baseline.task.split("-")[1]
        if baseline.backend == "mujoco" and baseline.preset in DEFAULT_MATRIX[terrain]:
            assert (baseline.task, baseline.preset) in asserted, f"{path}: no threshold (sacbench thresholds)"
