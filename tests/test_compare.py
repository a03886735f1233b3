"""Baselines, the regression gate and the thresholds table."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_records import make_record

from sacbench.baselines import BaselineError, build_baseline, load_baseline, load_baselines, save_baseline
from sacbench.compare import CompareRule, Verdict, classify, combine, compare_runs
from sacbench.records import RunRecord, RunStatus, run_id
from sacbench.stats import Interval
from sacbench.thresholds import ThresholdsError, load_thresholds


def runs(
    returns: list[float], preset: str = "sac_tuned", budget: float = 60.0, task: str = "a1-flat"
) -> list[RunRecord]:
    """Records with the given eval returns (seeds 0..n-1)."""
    terrain = task.split("-")[1]
    return [
        make_record(
            run_id=run_id(task, preset, seed), task=task, terrain=terrain, preset=preset, seed=seed,
            budget={"seconds": budget, "max_env_steps": None},
            final={"eval/episode_return": value, "curriculum/terrain_level": 3.0 + seed},
        )
        for seed, value in enumerate(returns)
    ]  # fmt: skip


def test_rule_parsing() -> None:
    assert CompareRule.parse("iqm:5%") == CompareRule("iqm", 5.0, relative=True)
    assert CompareRule.parse("mean:0.5") == CompareRule("mean", 0.5, relative=False)
    assert str(CompareRule.parse("median:10%")) == "median:10%"
    with pytest.raises(ValueError, match=r"compare rule 'iqm5%': expected <stat>:<tolerance>"):
        CompareRule.parse("iqm5%")
    with pytest.raises(ValueError, match="compare rule 'max:5%'"):
        CompareRule.parse("max:5%")


@pytest.mark.parametrize(
    ("interval", "verdict"),
    [
        (Interval(-5, -6, -3), Verdict.REGRESSED),
        (Interval(5, 3, 6), Verdict.IMPROVED),
        (Interval(0, -0.5, 0.5), Verdict.UNCHANGED),
        (Interval(-1, -3, 0.5), Verdict.INCONCLUSIVE),
    ],
)
def test_classify(interval: Interval, verdict: Verdict) -> None:
    assert classify(interval, tolerance=1.0) is verdict


def test_combine_is_worst_first() -> None:
    assert combine([Verdict.IMPROVED, Verdict.REGRESSED]) is Verdict.REGRESSED
    assert combine([Verdict.IMPROVED, Verdict.INCONCLUSIVE]) is Verdict.INCONCLUSIVE
    assert combine([Verdict.IMPROVED, Verdict.UNCHANGED]) is Verdict.IMPROVED
    assert combine([Verdict.UNCHANGED]) is Verdict.UNCHANGED


def test_baseline_round_trip_and_summary(tmp_path: Path) -> None:
    baseline = build_baseline(runs([10.0, 12.0, 11.0, 13.0, 9.0]), seed=0, reps=300)
    assert baseline.seeds == (0, 1, 2, 3, 4)
    assert baseline.summary["eval/episode_return"]["Median"][0] == 11.0
    path = save_baseline(baseline, tmp_path)
    assert path == tmp_path / "mujoco" / "cpu" / "a1-flat__sac_tuned.json"
    assert load_baseline(path) == baseline
    assert set(load_baselines(tmp_path, "mujoco", "cpu")) == {("a1-flat", "sac_tuned")}
    assert load_baselines(tmp_path, "isaaclab", "gpu") == {}


def test_baseline_leaves_out_failed_runs() -> None:
    records = [*runs([10.0, 12.0, 11.0]), make_record(run_id="x", seed=9, status=RunStatus.CRASHED, final={})]
    baseline = build_baseline([r for r in records if r.budget["seconds"] == 60.0])
    assert baseline.seeds == (0, 1, 2)
    assert baseline.provenance["excluded_runs"] == {"x": "crashed"}


def test_bad_baseline_files_name_file_and_field(tmp_path: Path) -> None:
    path = save_baseline(build_baseline(runs([1.0, 2.0]), reps=200), tmp_path)
    raw = json.loads(path.read_text())
    raw["metrics"]["eval/episode_return"] = [1.0]
    path.write_text(json.dumps(raw))
    with pytest.raises(
        BaselineError, match=r"a1-flat__sac_tuned.json: field 'metrics.eval/episode_return' must list one"
    ):
        load_baseline(path)
    raw["schema_version"] = 3
    path.write_text(json.dumps(raw))
    with pytest.raises(BaselineError, match="field 'schema_version' is 3"):
        load_baseline(path)


def _verdict(current: list[float], base: list[float], rule: str = "iqm:10%", **kwargs: object) -> object:
    baseline = build_baseline(runs(base), reps=300)
    (comparison,) = compare_runs(
        runs(current, **kwargs), {("a1-flat", "sac_tuned"): baseline}, CompareRule.parse(rule), reps=500
    )  # type: ignore[arg-type]
    return comparison


def test_gate_verdicts() -> None:
    base = [20.0, 21.0, 22.0, 23.0, 24.0]
    regressed = _verdict([5.0, 6.0, 7.0, 8.0, 9.0], base)
    assert regressed.verdict is Verdict.REGRESSED
    assert "eval/episode_return" in regressed.reason and "regressed" in regressed.reason
    assert regressed.metrics[0].probability_of_improvement.point == 0.0
    assert _verdict([40.0, 41.0, 42.0, 43.0, 44.0], base).verdict is Verdict.IMPROVED
    assert _verdict([20.1, 21.1, 22.1, 23.1, 24.1], base, rule="iqm:50%").verdict is Verdict.UNCHANGED
    assert _verdict([10.0, 30.0, 15.0, 26.0, 19.0], base).verdict is Verdict.INCONCLUSIVE


def test_gate_refuses_to_compare_different_budgets_overrides_or_missing_baselines() -> None:
    comparison = _verdict([1.0, 2.0], [10.0, 11.0], budget=30.0)
    assert comparison.verdict is Verdict.INCONCLUSIVE
    assert "budget differs: baseline 60 s, runs [30.0] s" in comparison.reason
    baseline = build_baseline(runs([10.0, 11.0]), reps=200)
    overridden = [replace(r, hyperparameters={"overrides": {"num_envs": 8}}) for r in runs([1.0, 2.0])]
    (other,) = compare_runs(overridden, {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert other.verdict is Verdict.INCONCLUSIVE and "hyperparameter overrides differ" in other.reason
    (missing,) = compare_runs(runs([1.0, 2.0]), {}, reps=200)
    assert missing.verdict is Verdict.INCONCLUSIVE and "no stored baseline" in missing.reason


def test_rough_tasks_also_gate_the_terrain_level() -> None:
    base = build_baseline(runs([10.0, 11.0, 12.0], task="anymal_c-rough"), reps=200)
    assert set(base.metrics) == {"eval/episode_return", "curriculum/terrain_level"}
    (comparison,) = compare_runs(
        runs([10.0, 11.0, 12.0], task="anymal_c-rough"), {("anymal_c-rough", "sac_tuned"): base}, reps=300
    )
    assert {m.metric for m in comparison.metrics} == {"eval/episode_return", "curriculum/terrain_level"}
    assert np.isfinite(comparison.metrics[1].difference.point)


def test_thresholds_table(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text(
        "schema_version: 1\nthresholds:\n"
        "  - {backend: mujoco, scale: cpu, task: a1-flat, preset: sac_tuned, metric: eval/episode_return,"
        " min: 11.5, min_budget_s: 60, source: test}\n"
        "  - {backend: mujoco, scale: cpu, task: a1-flat, preset: sac_tuned, metric: eval/episode_return,"
        " max: 0.0, min_budget_s: 600, source: too long}\n"
    )
    table = load_thresholds(path)
    good, bad = runs([12.0, 11.0])
    applicable, too_short = table.for_record(good)
    assert len(applicable) == 1 and len(too_short) == 1
    assert applicable[0].check(good)[0] is True
    ok, message = applicable[0].check(bad)
    assert not ok and message.startswith("a1-flat__sac_tuned__s1: eval/episode_return = 11.000, required >= 11.5")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema_version: 2\nthresholds: []\n", "expected a mapping with schema_version: 1"),
        ("schema_version: 1\nthresholds: {}\n", "field 'thresholds' must be a list"),
        ("schema_version: 1\nthresholds:\n  - {backend: mujoco}\n", r"thresholds\[0\]: field 'scale' must be a string"),
        (
            "schema_version: 1\nthresholds:\n  - {backend: a, scale: b, task: c, preset: d, metric: e, source: f}\n",
            "give 'min', 'max' or both",
        ),
        ("schema_version: 1\nthresholds:\n  - {colour: red}\n", r"unknown field\(s\) \['colour'\]"),
        ("!!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
    ],
)
def test_bad_thresholds_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text(text)
    with pytest.raises(ThresholdsError, match=message):
        load_thresholds(path)


def test_committed_thresholds_load() -> None:
    table = load_thresholds(Path(__file__).resolve().parents[1] / "benchmarks" / "thresholds.yaml")
    assert table.entries


def test_gate_says_when_the_baseline_ran_on_another_machine() -> None:
    def on(cpu: str, values: list[float]) -> list[RunRecord]:
        return [replace(r, provenance={"hardware": {"cpu_model": cpu, "gpus": []}}) for r in runs(values)]

    baseline = build_baseline(on("Xeon A", [10.0, 11.0, 12.0]), reps=200)
    (same,) = compare_runs(on("Xeon A", [10.0, 11.0, 12.0]), {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert "note:" not in same.reason
    (other,) = compare_runs(on("EPYC B", [10.0, 11.0, 12.0]), {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert "note: the baseline ran on Xeon A, these runs on EPYC B (wall-clock budgets)" in other.reason


def test_gate_never_compares_across_simulator_versions() -> None:
    """MuJoCo 3.12 (beside Isaac Lab 3.0) and 4.0 give different rough-terrain physics."""

    def on(version: str, values: list[float]) -> list[RunRecord]:
        return [replace(r, provenance={"packages": {"mujoco": version}}) for r in runs(values)]

    baseline = build_baseline(on("4.0.0", [10.0, 11.0, 12.0]), reps=200)
    (patch,) = compare_runs(on("4.0.2", [1.0, 2.0, 3.0]), {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert patch.verdict is Verdict.REGRESSED  # a patch release is the same simulator
    (other,) = compare_runs(on("3.12.0", [1.0, 2.0, 3.0]), {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert other.verdict is Verdict.INCONCLUSIVE
    assert other.reason == "simulator differs: baseline mujoco 4.0, runs mujoco 3.12"
