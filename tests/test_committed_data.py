"""The committed baselines and thresholds: they load, name real tasks and presets, and agree."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sacbench import metrics
from sacbench.algos import DEFAULT_MATRIX, PRESETS, SUITES, Scale
from sacbench.baselines import baseline_path, load_baseline, stored_metrics, summarize_metrics
from sacbench.cli import main as cli_main
from sacbench.pytest_plugin import DEFAULT_BUDGET_S
from sacbench.records import load_runs
from sacbench.tasks import get_task, task_names
from sacbench.thresholds import Threshold, load_thresholds, rule_metrics, threshold_from_baseline, threshold_from_post
from sacbench.train import EVAL_PROTOCOL

ROOT = Path(__file__).resolve().parents[1]
BASELINES = sorted((ROOT / "baselines").glob("*/*/*.json"))
REFERENCE = ROOT / "reports" / "reference"
REFERENCE_REPORTS = sorted(path.parent for path in REFERENCE.rglob("results.csv"))
THRESHOLDS = load_thresholds(ROOT / "benchmarks" / "thresholds.yaml")


def _baseline_of(entry: Threshold) -> Path:
    """The committed baseline a threshold entry was derived from (the rule keeps its budget)."""
    group = (entry.backend, entry.scale, entry.task, entry.preset)
    return baseline_path(ROOT / "baselines", *group, budget_s=entry.min_budget_s)


@pytest.mark.parametrize("path", BASELINES, ids=lambda p: str(p.relative_to(ROOT / "baselines")))
def test_a_committed_baseline_prints_the_interval_its_session_report_prints(path: Path) -> None:
    """Its summary is the bootstrap under the group's own key (`stat_key`), as the report and the gate make it."""
    baseline = load_baseline(path)
    boot = baseline.provenance["bootstrap"]
    group = (baseline.backend, baseline.scale, baseline.task, baseline.preset)
    assert baseline.summary == summarize_metrics(group, baseline.metrics, boot["seed"], boot["reps"])


@pytest.mark.parametrize("path", BASELINES, ids=lambda p: str(p.relative_to(ROOT / "baselines")))
def test_committed_baseline_is_valid_and_where_it_belongs(path: Path) -> None:
    baseline = load_baseline(path)
    group = (baseline.backend, baseline.scale, baseline.task, baseline.preset)
    assert baseline_path(ROOT / "baselines", *group, budget_s=baseline.budget_s) == path
    assert baseline.task in task_names()
    assert baseline.preset in PRESETS
    # The nightly's baselines hold 5 seeds or more; the curriculum tier's (30 minutes a run) 3 or more.
    least = 3 if baseline.budget_s >= SUITES["curriculum"].budget_s[Scale(baseline.scale)] else 5
    assert len(baseline.seeds) >= least, f"committed baselines of {baseline.budget_s:g} s hold at least {least} seeds"
    assert not baseline.overrides, "committed baselines are of the presets as registered"
    terrain = get_task(baseline.task).terrain.value
    # A protocol-1 baseline is never compared with tonight's runs ("evaluation differs"): none is committed.
    assert baseline.eval_protocol == EVAL_PROTOCOL, "re-make it: the gate would answer 'inconclusive' against it"
    assert set(baseline.metrics) == set(stored_metrics(terrain)), "made by sacbench baseline"


@pytest.mark.parametrize("entry", THRESHOLDS.entries, ids=lambda t: f"{t.backend}-{t.task}-{t.preset}-{t.metric}")
def test_threshold_names_a_real_task_and_preset(entry: Threshold) -> None:
    assert entry.task in task_names()
    assert entry.preset in PRESETS


def test_every_baseline_seed_passes_its_thresholds() -> None:
    """A threshold stricter than the reference runs themselves would fail healthy runs."""
    checked = 0
    for entry in THRESHOLDS.entries:
        path = _baseline_of(entry)
        if not path.exists():
            continue
        baseline = load_baseline(path)
        for seed, value in zip(baseline.seeds, baseline.metrics[entry.metric], strict=True):
            assert entry.min is None or value >= entry.min, f"{path} seed {seed}: {value} < {entry.min}"
            assert entry.max is None or value <= entry.max, f"{path} seed {seed}: {value} > {entry.max}"
            checked += 1
    assert checked or not BASELINES


def test_mirror_thresholds_follow_the_one_rule_from_their_baselines() -> None:
    """Every mirror entry is what `threshold_from_baseline` gives (regenerate: sacbench thresholds baselines/)."""
    checked = 0
    for entry in THRESHOLDS.entries:
        path = _baseline_of(entry)
        if entry.backend != "mujoco":
            continue
        assert path.exists(), f"{entry}: no committed baseline of this item at its budget ({path.name})"
        expected = threshold_from_baseline(load_baseline(path), entry.metric, learns=PRESETS[entry.preset].learns)
        assert (entry.min, entry.max, entry.min_budget_s) == (expected.min, expected.max, expected.min_budget_s), path
        assert entry.source == expected.source
        checked += 1
    assert checked


def test_every_committed_baseline_of_the_default_matrix_has_its_thresholds() -> None:
    """Each metric the rule bounds has its entry (terrain levels: where not vacuous, see the tier's test)."""
    asserted = {(t.task, t.preset, t.metric, t.min_budget_s) for t in THRESHOLDS.entries if t.backend == "mujoco"}
    checked = 0
    for path in BASELINES:
        baseline = load_baseline(path)
        terrain = get_task(baseline.task).terrain.value
        if baseline.backend != "mujoco" or baseline.preset not in DEFAULT_MATRIX[terrain]:
            continue
        for metric in rule_metrics(terrain, learns=PRESETS[baseline.preset].learns):
            if metric in baseline.metrics and metric not in metrics.LEVEL_METRICS:
                key = (baseline.task, baseline.preset, metric, baseline.budget_s)
                assert key in asserted, f"{path}: no {metric} threshold (sacbench thresholds baselines/)"
                checked += 1
    assert checked or not BASELINES


def test_the_survival_floors_fail_the_legacy_box_where_the_return_floors_may_not() -> None:
    """The bound effect is asserted on every flat task: each committed run of the legacy box, judged as
    the post's SAC (`sac_tuned`, the same SAC with PPO-percentile bounds), fails its survival floor."""
    passed_on_return = 0
    for task in (name for name in task_names() if get_task(name).terrain.value == "flat"):
        runs = REFERENCE / "baselines" / task / "runs"
        records = load_runs(sorted(runs.glob(f"{task}__sac_tuned_legacy__s*.json")))
        assert len(records) >= 5, task
        for record in records:
            as_post = replace(record, preset="sac_tuned", run_id=record.run_id.replace("_legacy", ""))
            failures = THRESHOLDS.assess(as_post, learns=PRESETS["sac_tuned"].learns).failures
            assert any(metrics.EVAL_LENGTH in message for message in failures), (record.run_id, failures)
            passed_on_return += not any(metrics.EVAL_RETURN in message for message in failures)
    assert passed_on_return  # ANYmal-B and ANYmal-C flat: the legacy box scores above sac_tuned's return floor


def test_gpu_thresholds_follow_the_one_rule_from_the_post() -> None:
    """Every Isaac Lab entry is what `threshold_from_post` gives (the default items: sacbench thresholds
    --from-post)."""
    gpu = [entry for entry in THRESHOLDS.entries if entry.backend == "isaaclab"]
    for entry in gpu:
        assert entry == threshold_from_post(entry.task, entry.preset, learns=PRESETS[entry.preset].learns)
    assert gpu


def _default_items() -> list[Any]:
    """``(backend, scale, task, preset)`` of every default item on both backends, as pytest params."""
    items: list[Any] = []
    for backend, scale in (("mujoco", Scale.CPU), ("isaaclab", Scale.GPU)):
        for task in task_names():
            for preset in DEFAULT_MATRIX[get_task(task).terrain.value]:
                items.append(pytest.param(backend, scale, task, preset, id=f"{backend}-{task}-{preset}"))
    return items


@pytest.mark.parametrize(("backend", "scale", "task", "preset"), _default_items())
def test_every_default_item_is_asserted_at_its_default_budget(
    backend: str, scale: Scale, task: str, preset: str
) -> None:
    """No silent passes: each item of the default matrix, on both backends, asserts a threshold."""
    budget = DEFAULT_BUDGET_S[scale]
    reason = THRESHOLDS.unasserted(backend, scale.value, task, preset, budget, learns=PRESETS[preset].learns)
    assert reason is None, reason


def test_the_curriculum_tier_asserts_a_terrain_level_where_its_baseline_is_committed() -> None:
    """The curriculum is asserted, not described: each tier item with a baseline has a floor above 0 on
    its late level (one end-of-training reading is too noisy for one: python benchmarks/level_floor.py)."""
    suite = SUITES["curriculum"]
    budget = suite.budget_s[Scale.CPU]
    checked = 0
    for task in task_names():
        for preset in suite.presets[get_task(task).terrain.value]:
            if not baseline_path(ROOT / "baselines", "mujoco", "cpu", task, preset, budget_s=budget).exists():
                continue
            applicable, _ = THRESHOLDS.for_item("mujoco", "cpu", task, preset, budget)
            levels = [t for t in applicable if t.metric == metrics.TERRAIN_LEVEL_LATE and not t.vacuous]
            assert levels, f"{task}/{preset} at {budget:g} s: no terrain-level floor above 0 (sacbench thresholds)"
            checked += 1
    assert checked, "no curriculum baseline committed (pytest benchmarks --sacbench-suite curriculum)"


@pytest.mark.parametrize("folder", REFERENCE_REPORTS, ids=lambda p: str(p.relative_to(REFERENCE)))
def test_every_reference_report_carries_the_records_of_its_rows(folder: Path) -> None:
    """Records behind every committed number: each row of a reference report has its run record."""
    run_ids = set(pd.read_csv(folder / "results.csv").run_id)
    assert run_ids == {path.stem for path in (folder / "runs").glob("*.json")}


def test_a_reference_report_rebuilds_from_its_committed_records(tmp_path: Path) -> None:
    """`sacbench report` on the committed records gives the committed rows, intervals and verdicts."""
    folder = REFERENCE / "gate-check" / "1-no-change"
    # Gated against the baselines of its day (kept beside the sessions: A1 flat's has since been re-made pinned)
    frozen = REFERENCE / "gate-check" / "baselines"
    assert cli_main(["report", str(folder), "--out", str(tmp_path), "--baselines", str(frozen)]) == 0
    assert (tmp_path / "results.csv").read_text() == (folder / "results.csv").read_text()
    assert _section(tmp_path / "index.md", "## Results") == _section(folder / "index.md", "## Results")
    assert json.loads((tmp_path / "verdicts.json").read_text()) == json.loads((folder / "verdicts.json").read_text())


def _section(path: Path, heading: str) -> str:
    """The text of one ``##`` section of a markdown report."""
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else None]
