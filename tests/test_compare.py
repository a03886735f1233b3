"""Baselines, the regression gate and the thresholds table."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_records import make_record

from sacbench.baselines import (
    BaselineError,
    all_baselines,
    baselines_for,
    build_baseline,
    load_baseline,
    save_baseline,
)
from sacbench.compare import (
    DEFAULT_RULE,
    Cause,
    CompareRule,
    Comparison,
    Verdict,
    combine,
    compare_runs,
    verdict_lines,
    verdict_of,
)
from sacbench.records import RunRecord, RunStatus, run_id
from sacbench.report import summarize
from sacbench.stats import PermutationTest
from sacbench.tasks import return_scale
from sacbench.thresholds import ThresholdsError, load_thresholds


def runs(
    returns: list[float],
    *,
    preset: str = "sac_tuned",
    budget: float = 60.0,
    task: str = "a1-flat",
    fps: float = 1000.0,
    slope: float = 1e-3,
    seeds: list[int] | None = None,
) -> list[RunRecord]:
    """Records with the given eval returns (seeds 0..n-1, or ``seeds``), ``fps`` env steps/s and a
    training curve ``return = slope * env_steps`` over the budget."""
    terrain = task.split("-")[1]
    records = []
    for seed, value in zip(seeds or range(len(returns)), returns, strict=True):
        rate = fps * (1 + 0.01 * seed)  # a little spread, as real machines have
        curve = [
            {"time_s": t, "env_steps": int(rate * t), "return_mean": slope * rate * t * (1 + 0.02 * seed)}
            for t in np.linspace(budget / 10, budget, 10)
        ]
        records.append(
            make_record(
                run_id=run_id(task, preset, seed), task=task, terrain=terrain, preset=preset, seed=seed,
                budget={"seconds": budget, "max_env_steps": None}, curves=curve,
                final={"eval/episode_return": value, "curriculum/terrain_level": 3.0 + seed,
                       "curriculum/terrain_level_late": 2.9 + seed, "eval/protocol": 2,
                       "eval/episode_length": 500.0 + 10 * seed,
                       "train/env_fps": rate, "train/grad_steps_per_s": rate / 4},
            )
        )  # fmt: skip
    return records


def test_rule_parsing() -> None:
    assert CompareRule.parse("iqm:5%") == CompareRule("iqm", 5.0, relative=True, alpha=0.05)
    assert CompareRule.parse("mean:0.5@0.01") == CompareRule("mean", 0.5, relative=False, alpha=0.01)
    assert CompareRule.parse("mean@0.05") == DEFAULT_RULE
    assert str(CompareRule.parse("median:10%")) == "median:10%@0.05"
    assert str(DEFAULT_RULE) == "mean@0.05"
    with pytest.raises(ValueError, match=r"compare rule 'iqm5%': expected <stat>\[:<least effect>\]\[@<alpha>\]"):
        CompareRule.parse("iqm5%")
    with pytest.raises(ValueError, match="compare rule 'max:5%'"):
        CompareRule.parse("max:5%")
    with pytest.raises(ValueError, match=r"compare rule 'mean@1\.5'"):
        CompareRule.parse("mean@1.5")


def test_relative_least_effect_is_a_share_of_the_task_scale_not_of_the_baseline() -> None:
    """A percentage of a near-zero baseline (ANYmal-C rough PPO: 0.32) would be no tolerance at all."""
    rule = CompareRule.parse("mean:10%")
    assert rule.tolerance_for("a1-flat", "eval/episode_return") == pytest.approx(return_scale("a1-flat") / 10)
    assert rule.tolerance_for("anymal_c-rough", "curriculum/terrain_level") == pytest.approx(1.0)  # 10 % of 10 rows


@pytest.mark.parametrize(
    ("test", "verdict"),
    [
        (PermutationTest(-5.0, 0.01, 1.0, 0.004, True), Verdict.REGRESSED),
        (PermutationTest(5.0, 1.0, 0.01, 0.004, True), Verdict.IMPROVED),
        (PermutationTest(-0.5, 0.01, 1.0, 0.004, True), Verdict.UNCHANGED),  # significant, below the least effect
        (PermutationTest(-5.0, 0.2, 0.9, 0.004, True), Verdict.UNCHANGED),  # not significant
        (PermutationTest(-5.0, 0.17, 1.0, 0.17, True), Verdict.INCONCLUSIVE),  # 2 vs 2 seeds can never reject
    ],
)
def test_verdict_of_a_test(test: PermutationTest, verdict: Verdict) -> None:
    assert verdict_of(test, level=0.05, tolerance=1.0) is verdict


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
    assert path == tmp_path / "mujoco" / "cpu" / "a1-flat__sac_tuned__60s.json"
    assert load_baseline(path) == baseline
    assert all_baselines(tmp_path, "mujoco", "cpu") == [baseline]
    assert all_baselines(tmp_path, "isaaclab", "gpu") == []


def test_a_longer_tier_keeps_its_own_baseline_and_the_gate_picks_the_runs_budget(tmp_path: Path) -> None:
    """A 30-minute curriculum baseline must not replace the nightly's 2-minute one (same task and preset)."""
    nightly, tier = runs([5.0, 6.0, 7.0], budget=120.0), runs([20.0, 21.0, 22.0], budget=1800.0)
    save_baseline(build_baseline(nightly, reps=200), tmp_path)
    save_baseline(build_baseline(tier, reps=200), tmp_path)
    stored = all_baselines(tmp_path, "mujoco", "cpu")
    assert sorted(b.budget_s for b in stored) == [120.0, 1800.0]
    assert baselines_for(tier, stored)[("a1-flat", "sac_tuned")].budget_s == 1800.0
    assert baselines_for(nightly, stored)[("a1-flat", "sac_tuned")].budget_s == 120.0
    (comparison,) = compare_runs(runs([5.0, 6.0, 7.0], budget=300.0), baselines_for(runs([1.0], budget=300.0), stored))
    assert comparison.verdict is Verdict.INCONCLUSIVE and "budget differs" in comparison.reason


def test_one_baseline_per_group_and_budget(tmp_path: Path) -> None:
    """A file in the layout before budgets were named is replaced when its group is re-made; two
    files of one group and budget are refused, naming both."""
    baseline = build_baseline(runs([5.0, 6.0, 7.0], budget=120.0), reps=200)
    path = save_baseline(baseline, tmp_path)
    legacy = path.with_name("a1-flat__sac_tuned.json")
    legacy.write_text(path.read_text())
    with pytest.raises(BaselineError, match=r"a1-flat__sac_tuned__120s.json and .*a1-flat__sac_tuned.json both hold"):
        all_baselines(tmp_path, "mujoco", "cpu")
    path.unlink()
    assert all_baselines(tmp_path, "mujoco", "cpu") == [baseline]  # the old name still loads
    stray = path.with_name("notes.json")
    stray.write_text("{")  # not a baseline: saving must neither fail on it nor remove it
    assert save_baseline(baseline, tmp_path) == path
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, stray.name])


def test_one_set_of_values_has_one_interval_in_report_baseline_and_gate() -> None:
    """The session that makes a baseline, the baseline file and the gate's baseline column print one CI."""
    # A1 flat sac_tuned's baseline values; seeds whose run ids sort apart from their numbers (s17 < s4)
    session = runs([-6.3, 4.9, 0.3, -1.9, -2.7], seeds=[0, 4, 17, 2, 30])
    baseline = build_baseline(session, seed=0, reps=500)
    (comparison,) = compare_runs(session, {("a1-flat", "sac_tuned"): baseline}, seed=0, reps=500)
    (summary,) = summarize(session, seed=0, reps=500)
    (gated,) = comparison.metrics
    stored = baseline.summary["eval/episode_return"]["IQM"]
    assert summary.ret["IQM"].to_list() == stored
    assert gated.baseline.to_list() == stored
    assert gated.current.to_list() == stored


def test_a_baseline_stores_survival_which_the_gate_does_not_gate() -> None:
    """The episode length is kept for the thresholds' survival floors; the gate still tests the return only."""
    records = runs([10.0, 12.0, 11.0, 13.0, 9.0])
    baseline = build_baseline(records, seed=0, reps=300)
    assert baseline.metrics["eval/episode_length"] == [500.0, 510.0, 520.0, 530.0, 540.0]
    (comparison,) = compare_runs(records, {("a1-flat", "sac_tuned"): baseline}, DEFAULT_RULE, reps=300)
    assert [m.metric for m in comparison.metrics] == ["eval/episode_return"]


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
        BaselineError, match=r"a1-flat__sac_tuned__60s.json: field 'metrics.eval/episode_return' must list one"
    ):
        load_baseline(path)
    raw["schema_version"] = 4
    path.write_text(json.dumps(raw))
    with pytest.raises(BaselineError, match="field 'schema_version' is 4"):
        load_baseline(path)


def test_a_schema_1_baseline_loads_as_evaluation_protocol_1_and_is_not_compared(tmp_path: Path) -> None:
    path = save_baseline(build_baseline(runs([10.0, 11.0, 12.0]), reps=200), tmp_path)
    raw = json.loads(path.read_text())
    for key in ("eval_protocol", "throughput", "curves"):
        del raw[key]
    path.write_text(json.dumps({**raw, "schema_version": 1}))
    old = load_baseline(path)
    assert (old.eval_protocol, old.throughput) == (1, {})
    (comparison,) = compare_runs(runs([1.0, 2.0, 3.0]), {("a1-flat", "sac_tuned"): old}, reps=200)
    assert comparison.verdict is Verdict.INCONCLUSIVE
    assert comparison.reason.startswith("evaluation differs: baseline protocol 1, runs [2]")


def _verdict(current: list[float], base: list[float], rule: str = "mean@0.05", **kwargs: object) -> Comparison:
    baseline = build_baseline(runs(base), reps=300)
    (comparison,) = compare_runs(
        runs(current, **kwargs), {("a1-flat", "sac_tuned"): baseline}, CompareRule.parse(rule), reps=300
    )  # type: ignore[arg-type]
    return comparison


def test_gate_verdicts() -> None:
    base = [20.0, 21.0, 22.0, 23.0, 24.0]
    regressed = _verdict([5.0, 6.0, 7.0, 8.0, 9.0], base)
    assert regressed.verdict is Verdict.REGRESSED
    assert "eval/episode_return" in regressed.reason and "-> regressed" in regressed.reason
    (ret,) = regressed.metrics
    assert ret.p_lower == pytest.approx(1 / 252)  # the most extreme of the 252 splits of 5 vs 5
    assert ret.probability_of_improvement.point == 0.0
    assert _verdict([40.0, 41.0, 42.0, 43.0, 44.0], base).verdict is Verdict.IMPROVED
    quiet = _verdict([20.5, 21.5, 22.5, 23.5, 21.0], base)
    assert quiet.verdict is Verdict.UNCHANGED, quiet.reason
    assert "detects a change of" in quiet.reason
    assert _verdict([20.0, 21.0], [22.0, 23.0]).verdict is Verdict.INCONCLUSIVE  # 2 vs 2: smallest p is 1/6
    # a significant drop smaller than the rule's least effect (10 % of A1's best return, 4.5) passes
    assert _verdict([18.0, 19.0, 20.0, 21.0, 22.0], base, rule="mean:10%").verdict is Verdict.UNCHANGED


def test_detectable_drop_shrinks_with_seeds_and_grows_with_spread() -> None:
    base = [20.0, 21.0, 22.0, 23.0, 24.0]
    three, ten = _verdict([22.0] * 3, base).metrics[0], _verdict([22.0] * 10, base).metrics[0]
    assert ten.detectable < three.detectable
    wide = _verdict([22.0] * 3, [10.0, 16.0, 22.0, 28.0, 34.0]).metrics[0]
    assert wide.detectable == pytest.approx(three.detectable * 6, rel=1e-6)  # 6x the standard deviation


def test_verdict_line_says_what_it_compared() -> None:
    (missing,) = compare_runs(runs([1.0, 2.0, 3.0]), {}, reps=200)
    assert missing.seeds == "3 seeds vs no stored baseline"
    assert "(3 seeds vs no stored baseline)" in missing.line
    assert _verdict([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0, 5.0]).seeds == "3 seeds vs 5"


def _gated(current: list[float], base: list[float], *, preset: str, fps: float = 1000.0) -> Comparison:
    """``preset``'s runs with ``current`` returns at ``fps`` env steps/s, gated against ``base`` at 1000/s."""
    baseline = build_baseline(runs(base, preset=preset), reps=300)
    (comparison,) = compare_runs(runs(current, preset=preset, fps=fps), {("a1-flat", preset): baseline}, reps=300)
    return comparison


def test_an_unchanged_line_says_the_difference_and_what_moved_as_the_report_does() -> None:
    """An unchanged night on a machine 50 % faster: the terminal and `sacbench compare` say throughput rose."""
    quiet = _gated([20.5, 21.5, 22.5, 23.5, 21.0], [20.0, 21.0, 22.0, 23.0, 24.0], preset="sac_tuned", fps=1500.0)
    assert quiet.verdict is Verdict.UNCHANGED, quiet.reason
    assert quiet.attribution is not None and quiet.attribution.cause is Cause.THROUGHPUT, quiet.reason
    text = "\n".join(line for line, _ in verdict_lines([quiet], "mean"))
    assert text.startswith(quiet.line) and "unchanged  a1-flat / sac_tuned  (5 seeds vs 5)" in quiet.line
    difference = quiet.metrics[0].difference
    assert f"eval/episode_return: mean difference {difference:+.2f}" in text
    assert "moved: throughput (throughput improved: 1," in text and "(+50%)" in text
    # the report's details column (the reason) holds the same sentences: one wording, not two
    assert all(detail in quiet.reason for detail in quiet.details("mean"))


def test_a_negative_controls_verdict_is_worded_for_the_effect_it_controls() -> None:
    """sac_tuned_legacy learning better is the bound effect shrinking, not a win; learning worse, it growing."""
    base = [-15.0, -14.5, -14.0, -13.5, -13.0]
    better = _gated([-5.0, -4.5, -4.0, -3.5, -3.0], base, preset="sac_tuned_legacy")
    worse = _gated([-25.0, -24.5, -24.0, -23.5, -23.0], base, preset="sac_tuned_legacy")
    assert (better.verdict, worse.verdict) == (Verdict.IMPROVED, Verdict.REGRESSED)  # the gate is unchanged
    assert better.look.text.startswith("control improved: the bound effect shrank")
    assert worse.look.text.startswith("control regressed: the bound effect grew")
    for control in (better, worse):
        assert control.look.css_class == "control" and control.look.colour == "yellow"
        assert control.look.label in control.line and control.look.meaning in control.line  # the terminal's too
    first, markup = verdict_lines([better], "mean")[0]
    assert first.lstrip().startswith("control improved  a1-flat / sac_tuned_legacy") and markup == {"yellow": True}
    # a preset that learns keeps the plain words and colours
    learner = _gated([-5.0, -4.5, -4.0, -3.5, -3.0], base, preset="sac_tuned")
    assert (learner.look.text, learner.look.css_class, learner.look.colour) == ("improved", "improved", "green")
    assert verdict_lines([learner], "mean")[0] == (learner.line, {"green": True})


def test_gate_refuses_to_compare_different_budgets_overrides_protocols_or_missing_baselines() -> None:
    comparison = _verdict([1.0, 2.0], [10.0, 11.0], budget=30.0)
    assert comparison.verdict is Verdict.INCONCLUSIVE
    assert "budget differs: baseline 60 s, runs [30.0] s" in comparison.reason
    baseline = build_baseline(runs([10.0, 11.0]), reps=200)
    overridden = [replace(r, hyperparameters={"overrides": {"num_envs": 8}}) for r in runs([1.0, 2.0])]
    (other,) = compare_runs(overridden, {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert other.verdict is Verdict.INCONCLUSIVE and "hyperparameter overrides differ" in other.reason
    old_protocol = [replace(r, final={**r.final, "eval/protocol": 1}) for r in runs([1.0, 2.0])]
    (protocol,) = compare_runs(old_protocol, {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert protocol.verdict is Verdict.INCONCLUSIVE and "evaluation differs: baseline protocol 2" in protocol.reason
    (missing,) = compare_runs(runs([1.0, 2.0]), {}, reps=200)
    assert missing.verdict is Verdict.INCONCLUSIVE and "no stored baseline" in missing.reason


def test_rough_tasks_also_gate_the_late_terrain_level_each_at_half_the_level() -> None:
    base = build_baseline(runs([10.0, 11.0, 12.0], task="anymal_c-rough"), reps=200)
    assert base.metrics == {
        "eval/episode_return": [10.0, 11.0, 12.0],
        "curriculum/terrain_level_late": [2.9, 3.9, 4.9],
        "eval/episode_length": [500.0, 510.0, 520.0],  # stored for the thresholds, not gated
    }
    (comparison,) = compare_runs(
        runs([10.0, 11.0, 12.0], task="anymal_c-rough"), {("anymal_c-rough", "sac_tuned"): base}, reps=300
    )
    assert {m.metric for m in comparison.metrics} == {"eval/episode_return", "curriculum/terrain_level_late"}
    assert {m.level for m in comparison.metrics} == {0.025}  # Bonferroni: 0.05 over two metrics


def test_a_baseline_without_the_late_level_says_so_and_how_to_remake_it() -> None:
    """A baseline written when the gate read the end-of-training level: its level is not compared, and the
    verdict says why and names the fix, rather than silently gating the return alone."""
    base = build_baseline(runs([10.0, 11.0, 12.0], task="anymal_c-rough"), reps=200)
    old = replace(
        base, metrics={"eval/episode_return": [10.0, 11.0, 12.0], "curriculum/terrain_level": [3.0, 4.0, 5.0]}
    )
    (comparison,) = compare_runs(
        runs([10.0, 11.0, 12.0], task="anymal_c-rough"), {("anymal_c-rough", "sac_tuned"): old}, reps=300
    )
    assert {m.metric for m in comparison.metrics} == {"eval/episode_return"}
    assert "curriculum/terrain_level_late not compared: the baseline has no values of it" in comparison.reason
    assert "sacbench baseline SESSION" in comparison.reason


def test_a_slower_machine_is_attributed_to_throughput_not_learning() -> None:
    """The same learning curve against samples, cut earlier by a machine 40 % slower."""
    base = build_baseline(runs([20.0, 21.0, 22.0, 23.0, 24.0], fps=1000.0), reps=200)
    slow = runs([12.0, 12.5, 13.0, 13.5, 14.0], fps=600.0)
    (comparison,) = compare_runs(slow, {("a1-flat", "sac_tuned"): base}, reps=200)
    assert comparison.verdict is Verdict.REGRESSED
    attribution = comparison.attribution
    assert attribution is not None and attribution.cause is Cause.THROUGHPUT, comparison.reason
    assert attribution.throughput is Verdict.REGRESSED and attribution.learning is Verdict.UNCHANGED
    assert attribution.matched_steps == int(600.0 * 60.0)  # the fewest env steps of any run
    assert "moved: throughput" in comparison.reason and "-40%" in comparison.reason


def test_an_agent_that_learns_worse_is_attributed_to_learning() -> None:
    base = build_baseline(runs([20.0, 21.0, 22.0, 23.0, 24.0]), reps=200)
    worse = runs([12.0, 12.5, 13.0, 13.5, 14.0], slope=0.5e-3)  # same speed, half the return per sample
    (comparison,) = compare_runs(worse, {("a1-flat", "sac_tuned"): base}, reps=200)
    assert comparison.verdict is Verdict.REGRESSED
    assert comparison.attribution is not None and comparison.attribution.cause is Cause.LEARNING, comparison.reason


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


def test_gate_never_compares_isaaclab_runs_of_another_set_up() -> None:
    """A CPU night on sacbench's assets is no GPU night on NVIDIA's, nor one on other asset files."""

    def on(device: str, assets: str, digest: str, values: list[float]) -> list[RunRecord]:
        setup = {"physics": "newton_mjwarp", "device": device, "assets": assets, "asset_digest": digest}
        return [replace(r, backend="isaaclab", provenance={"isaaclab_setup": setup}) for r in runs(values)]

    baseline = build_baseline(on("cpu", "sacbench", "ab" * 32, [10.0, 11.0, 12.0]), reps=200)
    assert baseline.provenance["isaaclab_setup"]["device"] == "cpu"
    key = ("a1-flat", "sac_tuned")
    (same,) = compare_runs(on("cpu", "sacbench", "ab" * 32, [1.0, 2.0, 3.0]), {key: baseline}, reps=200)
    assert same.verdict is Verdict.REGRESSED
    (gpu,) = compare_runs(on("cuda:0", "nvidia", "", [1.0, 2.0, 3.0]), {key: baseline}, reps=200)
    assert gpu.verdict is Verdict.INCONCLUSIVE
    assert gpu.reason == (
        "Isaac Lab set-up differs: baseline newton_mjwarp on the cpu, sacbench assets abababababab,"
        " runs newton_mjwarp on the cuda, nvidia assets"
    )
    (assets,) = compare_runs(on("cpu", "sacbench", "cd" * 32, [1.0, 2.0, 3.0]), {key: baseline}, reps=200)
    assert (
        assets.verdict is Verdict.INCONCLUSIVE
        and "runs newton_mjwarp on the cpu, sacbench assets cdcdcdcdcdcd" in assets.reason
    )


def test_a_verdict_and_the_report_print_one_interval_for_one_number() -> None:
    """The report's results table and the verdict bootstrap the same runs under one key and seed."""
    from sacbench.report import summarize

    tonight = runs([10.0, 12.0, 15.0, 11.0, 13.0])
    (comparison,) = compare_runs(tonight, {("a1-flat", "sac_tuned"): build_baseline(runs([9.0, 10.0, 11.0]))}, seed=7)
    (summary,) = summarize(tonight, seed=7, reps=2000)
    assert comparison.metrics[0].current == summary.ret["IQM"]


def test_a_faster_machine_does_not_explain_a_regression() -> None:
    """Learning fell while the machine got faster: the cause is learning alone."""
    base = build_baseline(runs([20.0, 21.0, 22.0, 23.0, 24.0], fps=1000.0), reps=200)
    worse = runs([12.0, 12.5, 13.0, 13.5, 14.0], fps=1400.0, slope=0.3e-3)
    (comparison,) = compare_runs(worse, {("a1-flat", "sac_tuned"): base}, reps=200)
    assert comparison.verdict is Verdict.REGRESSED
    attribution = comparison.attribution
    assert attribution is not None and attribution.throughput is Verdict.IMPROVED
    assert attribution.cause is Cause.LEARNING, comparison.reason


def test_a_faster_machine_can_lower_a_return_on_the_same_learning_curve() -> None:
    """The same curve against samples, cut later by a faster machine, where the return falls with samples
    (PPO starting to walk and fall, as on A1 rough): throughput is the cause, in the 'wrong' direction."""
    base = build_baseline(runs([20.0, 21.0, 22.0, 23.0, 24.0], fps=1000.0), reps=200)
    further = runs([12.0, 12.5, 13.0, 13.5, 14.0], fps=1700.0)
    (comparison,) = compare_runs(further, {("a1-flat", "sac_tuned"): base}, reps=200)
    assert comparison.verdict is Verdict.REGRESSED
    attribution = comparison.attribution
    assert attribution is not None and attribution.learning is Verdict.UNCHANGED
    assert attribution.throughput is Verdict.IMPROVED and attribution.cause is Cause.THROUGHPUT, comparison.reason
    assert "the same learning curve, cut by the budget at another sample count" in comparison.reason


def _diverged(record: RunRecord, *, nan_return: bool = False) -> RunRecord:
    """``record`` as a run that diverged (status ``diverged``), or finished with a NaN evaluation return."""
    final = {k: v for k, v in record.final.items() if k != "eval/episode_return"}
    if nan_return:
        return replace(record, final=final | {"eval/episode_return": None})
    return replace(record, status=RunStatus.DIVERGED, final=final, error="loss = nan")


def test_tonight_diverging_more_often_than_the_baseline_is_a_regression() -> None:
    baseline = build_baseline(runs([5.0, 6.0, 7.0, 8.0, 9.0]), reps=200)
    tonight = runs([5.0, 6.0, 7.0, 8.0, 9.0])
    tonight[1], tonight[3] = _diverged(tonight[1]), _diverged(tonight[3], nan_return=True)
    (comparison,) = compare_runs(tonight, {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert comparison.verdict is Verdict.REGRESSED
    assert comparison.reason.startswith("2 of 5 runs diverged; baseline 0 of 5; eval/episode_return: ")
    assert "did not finish" not in comparison.reason
    # the three seeds left read unchanged on their own: the divergence alone makes the verdict
    (alone,) = compare_runs([tonight[i] for i in (0, 2, 4)], {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert alone.verdict is not Verdict.REGRESSED
    # every run diverged: a regression, not "no finished run"
    (every,) = compare_runs([_diverged(r) for r in runs([1.0, 2.0])], {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert (every.verdict, every.reason) == (Verdict.REGRESSED, "2 of 2 runs diverged; baseline 0 of 5")


def test_divergence_as_often_as_the_baseline_is_not_a_regression() -> None:
    made = runs([5.0, 6.0, 7.0, 8.0, 9.0])
    baseline = build_baseline([*made[:4], _diverged(made[4])], reps=200)
    assert baseline.provenance["excluded_runs"] == {"a1-flat__sac_tuned__s4": "diverged"}
    tonight = runs([5.0, 6.0, 7.0, 8.0, 9.0])
    tonight[2] = _diverged(tonight[2])
    (comparison,) = compare_runs(tonight, {("a1-flat", "sac_tuned"): baseline}, reps=200)
    assert comparison.verdict is not Verdict.REGRESSED
    assert "1 of 5 runs diverged (baseline 1 of 5) and are left out" in comparison.reason


def _with_cpu(records: list[RunRecord], share: float, pinned: bool | None) -> list[RunRecord]:
    """Records whose runs used ``share`` CPU-seconds per second, pinned or not (``None``: unrecorded)."""
    pinning = {} if pinned is None else {"cpu_pinning": {"cores": [0], "pinned": pinned, "reason": "test"}}
    return [
        replace(r, timing=replace(r.timing, cpu_s=share * r.timing.total_s), provenance=r.provenance | pinning)
        for r in records
    ]


def test_a_baseline_that_used_more_than_one_core_is_not_compared_with_pinned_runs() -> None:
    unpinned = build_baseline(_with_cpu(runs([5.0, 6.0, 7.0, 8.0, 9.0]), 1.3, False), reps=200)
    pinned = _with_cpu(runs([1.0, 2.0, 3.0, 4.0, 5.0]), 0.99, True)
    (comparison,) = compare_runs(pinned, {("a1-flat", "sac_tuned"): unpinned}, reps=200)
    assert comparison.verdict is Verdict.INCONCLUSIVE
    assert comparison.reason.startswith(
        "CPU share differs: baseline 1.30 CPU-s per s (unpinned), runs 0.99 (pinned to one core); wall-clock"
    )
    # at equal CPU (a PPO baseline made unpinned used one core too) the drop is read
    one_core = build_baseline(_with_cpu(runs([5.0, 6.0, 7.0, 8.0, 9.0]), 1.0, False), reps=200)
    (comparison,) = compare_runs(pinned, {("a1-flat", "sac_tuned"): one_core}, reps=200)
    assert comparison.verdict is Verdict.REGRESSED
    # a baseline from before CPU shares were kept is refused for pinned runs, with the fix
    old = replace(one_core, throughput={k: v for k, v in one_core.throughput.items() if k != "timing/cpu_share"})
    (comparison,) = compare_runs(pinned, {("a1-flat", "sac_tuned"): old}, reps=200)
    assert comparison.verdict is Verdict.INCONCLUSIVE
    assert "rebuild the baseline from its records (`sacbench baseline SESSION`)" in comparison.reason


def _checkpointed(records: list[RunRecord], rows: int, *, changed_from: int | None = None) -> list[RunRecord]:
    """Records with ``rows`` checkpoints; from row ``changed_from`` on, other policy fingerprints."""
    out = []
    for r in records:
        tail = ["ffff" if changed_from is not None and k >= changed_from else "0000" for k in range(rows)]
        checkpoints = [
            {
                "env_steps": 16384 * (k + 1),
                "return_mean": float(k),
                "fingerprint": {
                    "policy": f"{r.seed:04d}{k:04d}{tail[k]}",
                    "critic": f"{r.seed:04d}{k:04d}",
                },
            }
            for k in range(rows)
        ]
        out.append(replace(r, checkpoints=checkpoints, provenance=r.provenance | {"hardware": {"cpu_model": "X"}}))
    return out


def test_learning_identity_up_to_the_shorter_run_and_the_first_divergence() -> None:
    baseline = build_baseline(_checkpointed(runs([5.0, 6.0, 7.0]), 6), reps=200)
    key = ("a1-flat", "sac_tuned")
    (same,) = compare_runs(_checkpointed(runs([5.0, 6.0, 7.0]), 4), {key: baseline}, reps=200)
    assert same.identity == "learning identical to the baseline on seed(s) 0, 1, 2 up to 65,536 env steps"
    changed = _checkpointed(runs([5.0, 6.0, 7.0]), 4, changed_from=2)
    mixed = [*changed[:1], *_checkpointed(runs([6.0, 7.0], seeds=[1, 2]), 5)]
    (diverged,) = compare_runs(mixed, {key: baseline}, reps=200)
    assert diverged.identity == (
        "learning identical to the baseline on seed(s) 1, 2 up to 81,920 env steps; learning diverged from the"
        " baseline on seed 0 from checkpoint 2 (49,152 env steps; policy differ); identity was expected (same CPU"
        " model, packages and thread setting): a change in the code path"
    )
    elsewhere = [replace(r, provenance=r.provenance | {"hardware": {"cpu_model": "Y"}}) for r in changed]
    (other,) = compare_runs(elsewhere, {key: baseline}, reps=200)
    assert other.identity is not None
    assert other.identity.endswith("identity is not expected: another CPU model (Y vs X)")
    # the same CPU held to another instruction set runs other code: identity is not expected either
    capped = [
        replace(r, provenance=r.provenance | {"thread_env": {"XLA_FLAGS": "--xla_cpu_max_isa=AVX2"}}) for r in changed
    ]
    (isa,) = compare_runs(capped, {key: baseline}, reps=200)
    assert isa.identity is not None
    assert isa.identity.endswith("identity is not expected: another instruction-set setting (XLA AVX2 vs native)")
    # the learning-at-matched-samples row is the last shared checkpoint's
    assert same.attribution is not None and same.attribution.matched_steps == 65_536
