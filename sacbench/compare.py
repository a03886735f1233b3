"""The baseline gate: per task and preset, ``improved``, ``unchanged``, ``regressed`` or ``inconclusive``.

The test (README, "The gate"): for each gated metric (the evaluation return; on rough terrain also
the curriculum level averaged over the last 10 % of training), an exact permutation test of
``stat(tonight) - stat(baseline)`` over the seeds, one-sided each way.  Permutation tests hold their
false-alarm rate at any seed count and for any distribution of returns (Colas et al. 2019, "A
Hitchhiker's Guide to Statistical Comparisons of RL Algorithms", measured the bootstrap and Welch's
t-test over-rejecting at 3-5 seeds; the permutation test did not).  With ``k`` gated metrics each is
tested at ``alpha / k`` (Bonferroni), so a night where nothing changed reads ``regressed`` with
probability at most ``alpha``:

- ``regressed``: a drop significant at ``alpha / k`` and larger than the rule's least effect;
- ``improved``: the same for a gain;
- ``unchanged``: neither, where the seed counts could have shown one.  Its power is stated: the
  drop the gate catches 80 % of the time (`sacbench.stats.detectable_shift`);
- ``inconclusive``: nothing comparable (no baseline, another budget, simulator, evaluation protocol
  or overrides), or too few seeds for the test to ever reject (the smallest possible p-value of
  2 vs 2 seeds is 1/6).

A preset's verdict is ``regressed`` if any metric regressed, else ``inconclusive`` if any metric
is, else ``improved`` if any improved, else ``unchanged``.  Each verdict also says what moved
(`Attribution`): throughput (env steps and gradient steps per second) or learning at matched
samples (the training return every run reached at the same env-step count), because a wall-clock
budget turns a slower machine into a lower return.

Rules are written ``<stat>[:<least effect>][@<alpha>]``: ``mean@0.05`` (the default), ``iqm:5%``
(a change must also exceed 5 % of the metric's scale: the task's best possible return, or the
number of terrain levels; a percentage of a near-zero baseline would be no tolerance at all),
``mean:0.5@0.01`` (absolute least effect, level 0.01).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sacbench import metrics
from sacbench.baselines import Baseline, gated_metrics, group_runs, overrides_of, stat_key
from sacbench.records import RunRecord, usable
from sacbench.stats import (
    DEFAULT_REPS,
    Interval,
    PermutationTest,
    aggregate_metrics,
    detectable_shift,
    permutation_test,
    probability_of_improvement,
    resample_curve,
)
from sacbench.tasks import metric_scale


class Verdict(enum.StrEnum):
    """Outcome of a comparison against the baseline."""

    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    REGRESSED = "regressed"
    INCONCLUSIVE = "inconclusive"


_RULE = re.compile(r"^(?P<stat>iqm|median|mean)(?::(?P<value>\d+(?:\.\d+)?)(?P<percent>%?))?(?:@(?P<alpha>0?\.\d+))?$")
POWER = 0.8
"""The detection probability of the stated detectable drop."""


@dataclass(frozen=True)
class CompareRule:
    """``<stat>[:<least effect>][@<alpha>]``: the statistic, how far it must move, the test's level."""

    statistic: str
    tolerance: float = 0.0
    relative: bool = False
    alpha: float = 0.05

    @classmethod
    def parse(cls, text: str) -> CompareRule:
        """Parse ``mean@0.05``, ``iqm:5%``, ``mean:0.5@0.01``.

        Raises:
            ValueError: Naming the text and the accepted form.
        """
        match = _RULE.match(text.strip().lower())
        if match is None:
            raise ValueError(
                f"compare rule {text!r}: expected <stat>[:<least effect>][@<alpha>] with stat iqm, median or"
                " mean, a least effect in percent of the metric's scale (iqm:5%) or absolute (mean:0.5), and a"
                " false-alarm level below 1 (mean@0.05)"
            )
        alpha = float(match["alpha"]) if match["alpha"] else 0.05
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"compare rule {text!r}: alpha {alpha} must lie in (0, 1), e.g. @0.05")
        value = float(match["value"]) if match["value"] else 0.0
        return cls(match["stat"], value, bool(match["percent"]), alpha)

    def tolerance_for(self, task: str, metric: str) -> float:
        """The least effect in the metric's units."""
        return metric_scale(task, metric) * self.tolerance / 100 if self.relative else self.tolerance

    def __str__(self) -> str:
        effect = f":{self.tolerance:g}{'%' if self.relative else ''}" if self.tolerance else ""
        return f"{self.statistic}{effect}@{self.alpha:g}"


DEFAULT_RULE = CompareRule("mean", alpha=0.05)


@dataclass(frozen=True)
class MetricComparison:
    """One metric of one preset on one task, against its baseline."""

    metric: str
    verdict: Verdict
    current: Interval
    """Tonight's IQM and 95 % CI (the report's number: the same key and seed)."""
    baseline: Interval
    difference: float
    """``stat(tonight) - stat(baseline)`` with the rule's statistic."""
    p_lower: float
    p_upper: float
    level: float
    """The level this metric is tested at (``alpha / number of gated metrics``)."""
    tolerance: float
    detectable: float
    """The drop (or gain) detected with probability `POWER` at these seed counts."""
    probability_of_improvement: Interval

    def describe(self, statistic: str) -> str:
        """``eval/episode_return: mean difference -5.04 (one-sided p 0.004 vs level 0.050) -> regressed; ...``."""
        p = self.p_lower if self.difference < 0 else self.p_upper
        power = f"; detects a change of {self.detectable:.2f} or more with {POWER:.0%} probability"
        return (
            f"{self.metric}: {statistic} difference {self.difference:+.2f} (one-sided p {p:.3f} vs level"
            f" {self.level:.3f}) -> {self.verdict.value}" + (power if math.isfinite(self.detectable) else "")
        )


class Cause(enum.StrEnum):
    """What moved, when a verdict says something moved."""

    THROUGHPUT = "throughput"
    LEARNING = "learning"
    BOTH = "throughput and learning"
    NOTHING = "nothing detectable"


@dataclass(frozen=True)
class Attribution:
    """Throughput and learning at matched samples, each tested like the verdict's metrics.

    For a fixed preset the wall-clock result is the learning curve against samples, cut where the
    machine's throughput ends it: ``throughput`` compares env steps per second (and gradient steps
    per second), ``learning`` compares the training return every run reached at ``matched_steps``
    env steps (the fewest any run of tonight or of the baseline took), so a slower machine shows as
    throughput and an agent that learns worse as learning.
    """

    cause: Cause
    env_fps: tuple[float, float]
    """Tonight's and the baseline's mean env steps per second."""
    grad_fps: tuple[float, float]
    throughput: Verdict
    matched_steps: int | None
    learning: Verdict
    learning_values: tuple[float, float] | None
    machine: tuple[str, str]
    """Tonight's machine and the baseline's."""

    def describe(self) -> str:
        """One line: both halves with their numbers."""
        now, base = self.env_fps
        change = f"{(now / base - 1):+.0%}" if base > 0 else "n/a"
        machines = self.machine[0] if self.machine[0] == self.machine[1] else f"{self.machine[0]} vs {self.machine[1]}"
        parts = [
            f"throughput {self.throughput.value}: {now:,.0f} vs {base:,.0f} env steps/s ({change}),"
            f" {self.grad_fps[0]:,.0f} vs {self.grad_fps[1]:,.0f} gradient steps/s on {machines}"
        ]
        if self.learning_values is not None and self.matched_steps is not None:
            parts.append(
                f"learning at {self.matched_steps:,} env steps {self.learning.value}: training return"
                f" {self.learning_values[0]:.2f} vs {self.learning_values[1]:.2f}"
            )
        else:
            parts.append("learning at matched samples: not measurable (no training episode in common)")
        return f"moved: {self.cause.value} ({'; '.join(parts)})"


@dataclass(frozen=True)
class Comparison:
    """A preset on a task: its verdict, why, and the per-metric details."""

    task: str
    preset: str
    verdict: Verdict
    reason: str
    metrics: tuple[MetricComparison, ...] = ()
    num_current: int = 0
    num_baseline: int | None = None
    """``None``: no stored baseline."""
    attribution: Attribution | None = None

    @property
    def seeds(self) -> str:
        """``5 seeds vs 5`` or ``3 seeds vs no stored baseline``."""
        base = "no stored baseline" if self.num_baseline is None else f"{self.num_baseline}"
        return f"{self.num_current} seeds vs {base}"

    @property
    def line(self) -> str:
        """The verdict line of the terminal and the report."""
        return f"{self.verdict.value:>12}  {self.task} / {self.preset}  ({self.seeds})"


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """Worst-first combination of per-metric verdicts."""
    found = set(verdicts)
    for verdict in (Verdict.REGRESSED, Verdict.INCONCLUSIVE, Verdict.IMPROVED):
        if verdict in found:
            return verdict
    return Verdict.UNCHANGED


def verdict_of(test: PermutationTest, level: float, tolerance: float) -> Verdict:
    """The verdict of one permutation test at ``level`` with the least effect ``tolerance``."""
    if test.p_lower <= level and test.difference < -tolerance:
        return Verdict.REGRESSED
    if test.p_upper <= level and test.difference > tolerance:
        return Verdict.IMPROVED
    if test.smallest_p > level:
        return Verdict.INCONCLUSIVE
    return Verdict.UNCHANGED


def compare_metric(
    current: np.ndarray,
    baseline: np.ndarray,
    metric: str,
    rule: CompareRule,
    *,
    task: str,
    level: float,
    key: str,
    seed: int,
    reps: int,
) -> MetricComparison:
    """Compare ``(runs,)`` values of one metric; ``key`` (`stat_key`) seeds both groups' intervals.

    The baseline's interval is bootstrapped under the group's own key, as when its session's report
    and its baseline file were made, so the gate prints the interval those print.
    """
    test = permutation_test(current, baseline, rule.statistic)
    tolerance = rule.tolerance_for(task, metric)
    verdict = verdict_of(test, level, tolerance)
    now = aggregate_metrics({key: current[:, None]}, seed, reps)[key]["IQM"]
    base = aggregate_metrics({key: baseline[:, None]}, seed, reps)[key]["IQM"]
    poi = probability_of_improvement({key: (current[:, None], baseline[:, None])}, seed, reps)[key]
    detectable = max(detectable_shift(baseline, current.size, level, POWER), tolerance)
    return MetricComparison(
        metric, verdict, now, base, test.difference, test.p_lower, test.p_upper, level, tolerance, detectable, poi
    )


SIMULATOR_PACKAGES = {"mujoco": "mujoco", "isaaclab": "isaaclab"}
"""The package whose version is the simulator of each backend."""


def simulator_version(backend: str, provenance: dict[str, Any]) -> str | None:
    """``mujoco 4.0``: the backend's simulator and its major.minor version, from a run's provenance.

    Results of one task differ between simulator versions (measured: MuJoCo 3.12 and 4.0 give
    bitwise-equal flat tasks but rough terrain diverges after 20 steps), so the gate compares runs
    only with a baseline made on the same major.minor version.  ``None`` when the provenance does not
    say (such a run is compared, as before versions were recorded).
    """
    package = SIMULATOR_PACKAGES.get(backend, backend)
    version = (provenance.get("packages") or {}).get(package)
    return f"{package} {'.'.join(str(version).split('.')[:2])}" if version else None


def isaaclab_setup(provenance: dict[str, Any]) -> str | None:
    """``newton_mjwarp on the cpu, sacbench assets 1c45feb2b65c``: what an Isaac Lab run simulated, or ``None``.

    Physics engine, device kind and assets change the simulation (and a CPU run's speed by orders of
    magnitude), so the gate compares only runs of one set-up.  ``None`` for mirror runs and for
    Isaac Lab records from before the set-up was recorded.
    """
    setup = provenance.get("isaaclab_setup")
    if not isinstance(setup, dict):
        return None
    device = str(setup.get("device", "?")).split(":")[0]
    digest = str(setup.get("asset_digest") or "")[:12]
    return f"{setup.get('physics')} on the {device}, {setup.get('assets')} assets" + (f" {digest}" if digest else "")


def eval_protocol(record: RunRecord) -> int:
    """How a run was evaluated (`sacbench.train.EVAL_PROTOCOL`); records from before it was recorded are 1."""
    return int(record.final.get(metrics.EVAL_PROTOCOL) or 1)


def machine_name(hardware: dict[str, object]) -> str:
    """``Intel Xeon ... (2 CPUs)`` or ``... + NVIDIA H100``: what a wall-clock result depends on."""
    gpus = hardware.get("gpus") or []
    names = ", ".join(str(g.get("name")) for g in gpus if isinstance(g, dict)) if isinstance(gpus, list) else ""
    cpus = hardware.get("num_usable_cpus")
    return f"{hardware.get('cpu_model', '?')}" + (f" ({cpus} CPUs)" if cpus else "") + (f" + {names}" if names else "")


def _incomparable(  # noqa: PLR0911 (one return per reason, in the order a user checks them)
    runs: list[RunRecord], good: list[RunRecord], baseline: Baseline, backend: str
) -> str | None:
    """Why ``runs`` cannot be compared with ``baseline`` at all, or ``None``."""
    if (baseline.backend, baseline.scale) != (runs[0].backend, runs[0].scale):
        return f"baseline is {baseline.backend}/{baseline.scale}, runs are {runs[0].backend}/{runs[0].scale}"
    overrides = [overrides_of(r) for r in runs]
    if any(o != baseline.overrides for o in overrides):
        return f"hyperparameter overrides differ: baseline {baseline.overrides}, runs {overrides[0]}"
    engines = {v for r in good if (v := simulator_version(backend, r.provenance)) is not None}
    engine = simulator_version(backend, baseline.provenance)
    if engine is not None and engines - {engine}:
        return f"simulator differs: baseline {engine}, runs {', '.join(sorted(engines))}"
    setups = {isaaclab_setup(r.provenance) for r in good}
    setup = isaaclab_setup(baseline.provenance)
    if setups - {setup}:
        runs_setups = ", ".join(sorted(s or "unrecorded" for s in setups))
        return f"Isaac Lab set-up differs: baseline {setup or 'unrecorded'}, runs {runs_setups}"
    protocols = {eval_protocol(r) for r in good}
    if protocols - {baseline.eval_protocol}:
        return (
            f"evaluation differs: baseline protocol {baseline.eval_protocol}, runs {sorted(protocols)}"
            " (re-make the baseline: README, 'Baselines')"
        )
    budgets = {float(r.budget["seconds"]) for r in runs}
    if budgets != {baseline.budget_s}:
        return f"budget differs: baseline {baseline.budget_s:g} s, runs {sorted(budgets)} s"
    if not good:
        return "no finished run"
    return None


def compare_runs(
    records: Iterable[RunRecord],
    baselines: dict[tuple[str, str], Baseline],
    rule: CompareRule = DEFAULT_RULE,
    seed: int = 0,
    reps: int = DEFAULT_REPS,
) -> list[Comparison]:
    """Verdicts of every (task, preset) in ``records`` against ``baselines`` of the same backend/scale."""
    comparisons = []
    for (backend, scale, task, preset), runs in group_runs(records).items():
        good = [r for r in runs if usable(r)]
        failed = len(runs) - len(good)
        note = f"; {failed} run(s) did not finish and are left out" if failed else ""
        baseline = baselines.get((task, preset))
        if baseline is None:
            reason = f"no stored baseline for {backend}/{scale}{note}"
            comparisons.append(Comparison(task, preset, Verdict.INCONCLUSIVE, reason, num_current=len(good)))
            continue
        why_not = _incomparable(runs, good, baseline, backend)
        if why_not is not None:
            comparisons.append(
                Comparison(task, preset, Verdict.INCONCLUSIVE, why_not + note, (), len(good), len(baseline.seeds))
            )
            continue
        gated = [m for m in gated_metrics(good[0].terrain) if m in baseline.metrics]
        note += "".join(f"; {_missing(metric)}" for metric in gated_metrics(good[0].terrain) if metric not in gated)
        level = rule.alpha / max(1, len(gated))
        details = []
        for metric in gated:
            values = np.array([r.metric(metric) for r in good])
            if not np.isfinite(values).all():
                continue
            details.append(
                compare_metric(
                    values, np.asarray(baseline.metrics[metric]), metric, rule,
                    task=task, level=level, key=stat_key(backend, scale, task, preset, metric), seed=seed, reps=reps,
                )
            )  # fmt: skip
        verdict = combine(d.verdict for d in details) if details else Verdict.INCONCLUSIVE
        attribution = attribute(good, baseline, rule, level, verdict)
        reason = "; ".join(d.describe(rule.statistic) for d in details)
        if attribution is not None:
            reason += f"; {attribution.describe()}"
        note += _hardware_note(baseline, good)
        comparisons.append(
            Comparison(
                task, preset, verdict, reason + note, tuple(details), len(good), len(baseline.seeds), attribution
            )
        )
    return comparisons


def matched_learning(runs: Sequence[RunRecord], baseline: Baseline) -> tuple[int, np.ndarray, np.ndarray] | None:
    """The training return of every run at the fewest env steps any run (tonight or baseline) took.

    Returns:
        ``(steps, tonight (n,), baseline (m,))``, or ``None`` when a run has no finished episode by then.
    """
    curves_now = [_curve(r.curves) for r in runs]
    curves_base = [_curve(c) for c in baseline.curves]
    if not curves_base or any(c is None for c in (*curves_now, *curves_base)):
        return None
    ends = [c[0][-1] for c in (*curves_now, *curves_base)]  # type: ignore[index]
    steps = int(min(ends))

    def at(curve: tuple[np.ndarray, np.ndarray] | None) -> float:
        assert curve is not None
        x, y = curve
        return float(resample_curve(x, y, np.array([steps]))[0]) if x[0] <= steps else math.nan

    now, base = np.array([at(c) for c in curves_now]), np.array([at(c) for c in curves_base])
    if not (np.isfinite(now).all() and np.isfinite(base).all()):
        return None
    return steps, now, base


def _curve(rows: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray] | None:
    """``(env steps, training return)`` of the rows with a finished episode, or ``None``."""
    pairs = [(r["env_steps"], r["return_mean"]) for r in rows if r.get("return_mean") is not None]
    if not pairs:
        return None
    x, y = np.array(pairs, dtype=float).T
    return x, y


def attribute(
    runs: Sequence[RunRecord], baseline: Baseline, rule: CompareRule, level: float, verdict: Verdict
) -> Attribution | None:
    """Throughput and learning at matched samples, tonight against the baseline (``None``: not stored).

    The cause names what moved in the verdict's direction: a machine that got faster does not
    explain a regression (for ``unchanged`` and ``inconclusive``, any significant move counts).
    """
    if not baseline.throughput.get(metrics.ENV_FPS):
        return None
    fps_now = np.array([r.metric(metrics.ENV_FPS) for r in runs])
    fps_base = np.asarray(baseline.throughput[metrics.ENV_FPS], dtype=float)
    grad_now = np.array([r.metric(metrics.GRAD_STEPS_PER_S) for r in runs])
    grad_base = np.asarray(baseline.throughput.get(metrics.GRAD_STEPS_PER_S, [math.nan]), dtype=float)
    if not (np.isfinite(fps_now).all() and np.isfinite(fps_base).all()):
        return None
    # Throughput is compared on its logarithm: a machine 20 % slower is the same change at any speed.
    throughput = verdict_of(permutation_test(np.log(fps_now), np.log(fps_base), "mean"), level, 0.0)
    matched = matched_learning(runs, baseline)
    if matched is None:
        learning, values, steps = Verdict.INCONCLUSIVE, None, None
    else:
        steps, now, base = matched
        tolerance = rule.tolerance_for(runs[0].task, metrics.EVAL_RETURN)
        learning = verdict_of(permutation_test(now, base, rule.statistic), level, tolerance)
        values = (float(np.mean(now)), float(np.mean(base)))
    moved = {verdict} if verdict in (Verdict.IMPROVED, Verdict.REGRESSED) else {Verdict.IMPROVED, Verdict.REGRESSED}
    cause = {
        (True, True): Cause.BOTH,
        (True, False): Cause.THROUGHPUT,
        (False, True): Cause.LEARNING,
        (False, False): Cause.NOTHING,
    }[(throughput in moved, learning in moved)]
    machine = (
        machine_name(runs[0].provenance.get("hardware") or {}),
        machine_name(baseline.provenance.get("hardware") or {}),
    )
    return Attribution(
        cause,
        (float(np.mean(fps_now)), float(np.mean(fps_base))),
        (_finite_mean(grad_now), _finite_mean(grad_base)),
        throughput,
        steps,
        learning,
        values,
        machine,
    )  # fmt: skip


def _finite_mean(values: np.ndarray) -> float:
    """The mean of the finite values (``nan`` if none: a rate the runs did not record)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _missing(metric: str) -> str:
    """Why a gated metric is not compared, and the fix (a baseline written before it was gated)."""
    return (
        f"{metric} not compared: the baseline has no values of it (made by an older sacbench);"
        " re-make it from its records with `sacbench baseline SESSION`"
    )


def _hardware_note(baseline: Baseline, runs: list[RunRecord]) -> str:
    """Budgets are wall-clock: say so when the baseline was measured on another machine."""
    theirs = machine_name(baseline.provenance.get("hardware") or {})
    ours = {machine_name(r.provenance.get("hardware") or {}) for r in runs}
    if ours == {theirs}:
        return ""
    return f"; note: the baseline ran on {theirs}, these runs on {', '.join(sorted(ours))} (wall-clock budgets)"
