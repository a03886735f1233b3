"""The gate's false-alarm and detection rates, by simulating nights through the real gate.

For every committed baseline (``baselines/<backend>/<scale>/``), nights are drawn from a normal
distribution with the baseline's own per-seed mean and standard deviation, turned into run records
and judged by `sacbench.compare.compare_runs` against the committed baseline, exactly as a session
would be.  Printed per task and preset, at each nightly seed count:

- ``false alarm``: nights drawn with no change that read ``regressed``;
- ``unchanged``: the share of those nights that read ``unchanged`` (a pass);
- ``drop X %``: nights drawn with the mean lowered by X % of its absolute value that read ``regressed``;
- ``detects``: the stated detectable change (80 % power) the verdict line prints.

Then, with baselines of ``m`` seeds drawn afresh from the same distributions (the committed baseline
is one draw of them), the detection of the issue's target drops at 5 nightly seeds, to say how many
baseline seeds the targets need; and the share of nights on which any item of the whole committed
set reads ``regressed`` with nothing changed.

Run: ``python benchmarks/gate_power.py [--nights 300]`` (a few minutes on one core).  A verdict
depends only on the permutation tests and the attribution's; the bootstrap intervals the gate also
prints (IQM [95 % CI], P(now > baseline)) do not enter it, so here they are replaced by their point
estimates (`_points_only`), which makes tens of thousands of verdicts affordable.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

import sacbench.compare as compare_module
from sacbench import metrics
from sacbench.algos.presets import SUITES, Scale, Suite
from sacbench.baselines import Baseline, all_baselines, gated_metrics
from sacbench.compare import DEFAULT_RULE, CompareRule, Verdict, compare_runs, confirm
from sacbench.records import RunRecord, RunStatus, Timing, run_id
from sacbench.stats import Interval
from sacbench.tasks import get_task

REPS = 1
"""Bootstrap replications of the display-only intervals (replaced by `_points_only` anyway)."""


def _points_only() -> None:
    """Replace the gate's display-only bootstrap intervals by their point estimates."""
    from scipy.stats import trim_mean

    def aggregate(scores: dict[str, np.ndarray], seed: int, reps: int) -> dict[str, dict[str, Interval]]:
        out = {}
        for key, array in scores.items():
            iqm = float(trim_mean(np.ravel(array), 0.25))
            out[key] = {"IQM": Interval(iqm, iqm, iqm)}
        return out

    def improvement(pairs: dict[str, tuple[np.ndarray, np.ndarray]], seed: int, reps: int) -> dict[str, Interval]:
        out = {}
        for key, (x, y) in pairs.items():
            p = float(np.mean(np.ravel(x)[:, None] > np.ravel(y)[None, :]))
            out[key] = Interval(p, p, p)
        return out

    compare_module.aggregate_metrics = aggregate  # type: ignore[assignment]
    compare_module.probability_of_improvement = improvement  # type: ignore[assignment]


def night(baseline: Baseline, values: dict[str, np.ndarray]) -> list[RunRecord]:
    """Run records of one simulated night: ``values[metric]`` is ``(n,)``; everything else as the baseline's."""
    n = len(next(iter(values.values())))
    fps = float(np.mean(baseline.throughput.get(metrics.ENV_FPS, [1.0])))
    share = float(np.mean(baseline.throughput.get(metrics.CPU_SHARE, [1.0])))  # the baseline's CPU: comparable
    records = []
    for seed in range(n):
        final = {metric: float(v[seed]) for metric, v in values.items()}
        final.update({metrics.EVAL_PROTOCOL: baseline.eval_protocol, metrics.ENV_FPS: fps})
        records.append(
            RunRecord(
                run_id=run_id(baseline.task, baseline.preset, seed), task=baseline.task,
                robot=baseline.task.split("-")[0], terrain=baseline.task.split("-")[1],
                backend=baseline.backend, scale=baseline.scale, preset=baseline.preset, algo="", seed=seed,
                num_envs=0, budget={"seconds": baseline.budget_s, "max_env_steps": None},
                hyperparameters={"overrides": baseline.overrides}, bounds={},
                timing=Timing(0.0, 0.0, baseline.budget_s, 0.0, 0.0, baseline.budget_s, 0, share * baseline.budget_s),
                curves=[], final=final,
                status=RunStatus.OK, error=None,
                provenance={"packages": baseline.provenance.get("packages", {}),
                            "hardware": baseline.provenance.get("hardware", {})},
            )
        )  # fmt: skip
    return records


def draw(rng: np.random.Generator, baseline: Baseline, n: int, drop: float = 0.0) -> dict[str, np.ndarray]:
    """``n`` runs from the baseline's per-metric normal; the return's mean lowered by ``drop`` of its size.

    Only the metrics the gate tests are drawn (a baseline also keeps the episode length, for the
    thresholds), so a night costs what the verdict reads.
    """
    out = {}
    # The gate's own selection (`sacbench.compare.compare_runs`): gated metrics the baseline holds.
    for metric in (m for m in gated_metrics(get_task(baseline.task).terrain.value) if m in baseline.metrics):
        values = baseline.metrics[metric]
        mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
        shift = drop * abs(mean) if metric == metrics.EVAL_RETURN else 0.0
        out[metric] = rng.normal(mean - shift, sd, n)
    return out


def verdicts(baseline: Baseline, rule: CompareRule, nights: list[dict[str, np.ndarray]]) -> list[Verdict]:
    """The gate's verdict on each night."""
    key = (baseline.task, baseline.preset)
    return [compare_runs(night(baseline, v), {key: baseline}, rule, reps=REPS)[0].verdict for v in nights]


def detectable(baseline: Baseline, rule: CompareRule, n: int, rng: np.random.Generator) -> float:
    """The detectable change the gate states for ``n`` nightly seeds."""
    comparison = compare_runs(night(baseline, draw(rng, baseline, n)), {(baseline.task, baseline.preset): baseline},
                              rule, reps=REPS)[0]  # fmt: skip
    ret = next(m for m in comparison.metrics if m.metric == metrics.EVAL_RETURN)
    return ret.detectable


def rates_table(baselines: Sequence[Baseline], rule: CompareRule, *, seeds: Sequence[int], drops: Sequence[float],
                num_nights: int, rng: np.random.Generator) -> list[str]:  # fmt: skip
    """Per baseline and nightly seed count: false alarms, passes, detection per drop, detectable change."""
    head = ["task / preset", "mean ± sd (seeds)", "nightly seeds", "false alarm", "unchanged",
            *[f"drop {d:.0%}" for d in drops], "detects (80 %)"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for baseline in baselines:
        values = np.asarray(baseline.metrics[metrics.EVAL_RETURN])
        spread = f"{values.mean():.2f} ± {values.std(ddof=1):.2f} ({values.size})"
        for n in seeds:
            quiet = verdicts(baseline, rule, [draw(rng, baseline, n) for _ in range(num_nights)])
            cells = [f"{baseline.task} / {baseline.preset}", spread, str(n),
                     f"{np.mean([v is Verdict.REGRESSED for v in quiet]):.1%}",
                     f"{np.mean([v is Verdict.UNCHANGED for v in quiet]):.1%}"]  # fmt: skip
            for d in drops:
                hit = verdicts(baseline, rule, [draw(rng, baseline, n, d) for _ in range(num_nights)])
                cells.append(f"{np.mean([v is Verdict.REGRESSED for v in hit]):.1%}")
            cells.append(f"{detectable(baseline, rule, n, rng):.2f}")
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def seeds_needed(baselines: Sequence[Baseline], rule: CompareRule, *, targets: dict[tuple[str, str], float],
                 baseline_seeds: Sequence[int], num_nights: int, rng: np.random.Generator) -> list[str]:  # fmt: skip
    """Detection of each target drop at 5 nightly seeds, with baselines of ``m`` seeds drawn afresh."""
    lines = ["| task / preset | drop | " + " | ".join(f"{m} baseline seeds" for m in baseline_seeds) + " |",
             "|---|---|" + "---|" * len(baseline_seeds)]  # fmt: skip
    for baseline in baselines:
        drop = targets.get((baseline.task, baseline.preset))
        if drop is None:
            continue
        mean = abs(float(np.mean(baseline.metrics[metrics.EVAL_RETURN])))
        cells = [f"{baseline.task} / {baseline.preset}", f"{drop:.0%} of {mean:.2f} = {drop * mean:.2f}"]
        for m in baseline_seeds:
            hits = []
            for _ in range(num_nights):
                fresh = draw(rng, baseline, m)
                redrawn = replace(baseline, metrics={k: v.tolist() for k, v in fresh.items()},
                                  seeds=tuple(range(m)), throughput={})  # fmt: skip
                (comparison,) = compare_runs(
                    night(redrawn, draw(rng, baseline, 5, drop)), {(baseline.task, baseline.preset): redrawn},
                    rule, reps=REPS,
                )  # fmt: skip
                hits.append(comparison.verdict is Verdict.REGRESSED)
            cells.append(f"{np.mean(hits):.1%}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def nightly_false_alarms(baselines: Sequence[Baseline], rule: CompareRule, n: int, num_nights: int,
                         rng: np.random.Generator) -> float:  # fmt: skip
    """The share of nights on which any of ``baselines`` reads ``regressed`` with nothing changed."""
    alarms = 0
    for _ in range(num_nights):
        alarms += any(verdicts(b, rule, [draw(rng, b, n)])[0] is Verdict.REGRESSED for b in baselines)
    return alarms / num_nights


def nightly_matrix(baselines: Sequence[Baseline], suite: Suite = SUITES["nightly"]) -> list[Baseline]:
    """The baselines of the suite's items: its presets per terrain, at its budget for the baseline's scale."""
    return [
        b for b in baselines
        if b.preset in suite.presets[get_task(b.task).terrain.value] and b.budget_s == suite.budget_s[Scale(b.scale)]
    ]  # fmt: skip


def night_with_confirmation(
    baseline: Baseline, rule: CompareRule, n: int, n_confirm: int, rng: np.random.Generator, *, drop: float = 0.0
) -> tuple[bool, bool]:
    """``(regressed, confirmed)`` of one item on one night.

    The item's ``n`` runs are judged against ``baseline``; a ``regressed`` verdict is confirmed by
    ``n_confirm`` runs on fresh seeds, drawn afresh from the same distribution and judged alone
    against the same baseline (`sacbench.compare.confirm`).
    """
    key = (baseline.task, baseline.preset)
    (first,) = compare_runs(night(baseline, draw(rng, baseline, n, drop=drop)), {key: baseline}, rule, reps=REPS)
    if first.verdict is not Verdict.REGRESSED or n_confirm == 0:
        return first.verdict is Verdict.REGRESSED, first.verdict is Verdict.REGRESSED
    fresh = draw(rng, baseline, n_confirm, drop=drop)
    (second,) = compare_runs(night(baseline, fresh), {key: baseline}, rule, reps=REPS)
    return True, confirm(first, second).verdict is Verdict.REGRESSED


def redrawn(baseline: Baseline, rng: np.random.Generator) -> Baseline:
    """A baseline of as many seeds drawn afresh from the committed one's distribution (baseline luck included)."""
    fresh = draw(rng, baseline, len(baseline.seeds))
    return replace(baseline, metrics={k: v.tolist() for k, v in fresh.items()})


def confirmation_table(
    baselines: Sequence[Baseline], rule: CompareRule, *, seeds: Sequence[int], drops: Sequence[float],
    num_nights: int, rng: np.random.Generator,
) -> list[str]:  # fmt: skip
    """Family-wise false failures per quiet night over ``baselines``, one stage and confirmed, and what it costs.

    Two ways of drawing nights: around the committed baselines (each committed baseline taken as
    the truth, as `rates_table` does), and with every baseline redrawn per night from that truth, so
    a baseline that happened to be drawn high, which makes both stages regress together, is in the
    rate.  Detection: per item, the share of nights with the return's mean lowered by ``drop`` that
    fail, before and after confirmation (the median item and the least-detected one).
    """
    head = ["nights drawn", "nightly = confirmation seeds", "nights failing, one stage", "nights failing, confirmed",
            "confirmation runs per quiet night", *[f"drop {d:.0%}: detection one stage -> confirmed (median item)"
                                                   for d in drops]]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for redraw in (False, True):
        for n in seeds:
            first_stage, confirmed, extra = 0, 0, 0
            for _ in range(num_nights):
                outcomes = [
                    night_with_confirmation(redrawn(b, rng) if redraw else b, rule, n, n, rng) for b in baselines
                ]
                first_stage += any(o[0] for o in outcomes)
                confirmed += any(o[1] for o in outcomes)
                extra += n * sum(o[0] for o in outcomes)
            cells = [
                "baselines redrawn" if redraw else "around the committed baselines",
                str(n),
                f"{first_stage / num_nights:.1%}",
                f"{confirmed / num_nights:.1%}",
                f"{extra / num_nights:.2f}",
            ]
            for d in drops:
                per_item = np.array([
                    np.mean([night_with_confirmation(redrawn(b, rng) if redraw else b, rule, n, n, rng, drop=d)
                             for _ in range(max(1, num_nights // 5))], axis=0)
                    for b in baselines
                ])  # fmt: skip
                median = np.median(per_item, axis=0)
                cells.append(f"{median[0]:.1%} -> {median[1]:.1%}")
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baselines", type=Path, default=Path("baselines"))
    parser.add_argument("--backend", default="mujoco")
    parser.add_argument("--scale", default="cpu")
    parser.add_argument("--rule", type=CompareRule.parse, default=DEFAULT_RULE)
    parser.add_argument("--nights", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    _points_only()
    rng = np.random.default_rng(args.seed)
    baselines = all_baselines(args.baselines, args.backend, args.scale)
    print(f"rule {args.rule}, {args.nights} simulated nights per cell, {len(baselines)} committed baselines\n")
    print("\n".join(rates_table(baselines, args.rule, seeds=(3, 5, 10), drops=(0.25, 0.5), num_nights=args.nights,
                                 rng=rng)))  # fmt: skip
    targets = {("a1-flat", "ppo_sb3"): 0.5, ("a1-flat", "sac_tuned"): 0.25}
    print("\nDetection of the target drops at 5 nightly seeds, by baseline size:\n")
    print("\n".join(seeds_needed(baselines, args.rule, targets=targets, baseline_seeds=(5, 10, 15, 20),
                                  num_nights=args.nights, rng=rng)))  # fmt: skip
    share = nightly_false_alarms(baselines, args.rule, 5, args.nights, rng)
    print(f"\nNights (5 seeds, all {len(baselines)} baselines) with at least one false regression: {share:.1%}")
    matrix = nightly_matrix(baselines)
    print(f"\nThe nightly's {len(matrix)} items, a regression confirmed by as many fresh seeds (--sacbench-confirm):\n")
    print("\n".join(confirmation_table(matrix, args.rule, seeds=(3, 5), drops=(0.25, 0.5), num_nights=args.nights,
                                      rng=rng)))  # fmt: skip


if __name__ == "__main__":
    main()
