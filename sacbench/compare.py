"""The baseline gate: per task and preset, ``improved``, ``unchanged``, ``regressed`` or ``inconclusive``.

The test (docs/gate.md): for each gated metric (the evaluation return; on rough terrain also
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
- ``inconclusive``: nothing comparable (no baseline, another budget, simulator, evaluation protocol,
  overrides or CPU share), or too few seeds for the test to ever reject (the smallest possible
  p-value of 2 vs 2 seeds is 1/6).

A preset's verdict is ``regressed`` if any metric regressed, else ``inconclusive`` if any metric
is, else ``improved`` if any improved, else ``unchanged``.  Each verdict also says what moved
(`Attribution`): throughput (env steps and gradient steps per second) or learning at matched
samples (the training return every run reached at the same env-step count), because a wall-clock
budget turns a slower machine into a lower return.  Where tonight and the baseline share seeds and
both kept learning fingerprints, it also says whether learning was identical, up to how many env
steps, or from which checkpoint it diverged (`learning_identity`): a certain statement where the
tests above are statistical ones.

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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sacbench import metrics
from sacbench.algos import PRESETS, Scale, get_preset
from sacbench.baselines import Baseline, gated_metrics, group_runs, overrides_of, stat_key
from sacbench.bounds import BoundsMode
from sacbench.fingerprint import first_divergence
from sacbench.provenance import ISA_ENV_VARS
from sacbench.records import RunRecord, RunStatus, usable
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


@dataclass(frozen=True)
class VerdictLook:
    """How a verdict reads and is coloured: one answer for the report, the terminal and ``sacbench compare``."""

    label: str
    """``improved``; for a negative control ``control improved``."""
    meaning: str
    """What the verdict says about the effect the suite shows, where the label alone would mislead ('' if not)."""
    css_class: str
    """The report's class of the verdict cell."""
    colour: str | None
    """pytest's terminal markup (``red``, ``green``, ``yellow``), or ``None`` for plain text."""

    @property
    def text(self) -> str:
        """``control improved: the bound effect shrank (...)``, or the label alone."""
        return f"{self.label}: {self.meaning}" if self.meaning else self.label


_LOOKS = {
    Verdict.REGRESSED: VerdictLook("regressed", "", "regressed", "red"),
    Verdict.IMPROVED: VerdictLook("improved", "", "improved", "green"),
    Verdict.UNCHANGED: VerdictLook("unchanged", "", "unchanged", None),
    Verdict.INCONCLUSIVE: VerdictLook("inconclusive", "", "inconclusive", None),
}
LABEL_WIDTH = len("control regressed")
"""The width of the verdict column of the terminal's lines, so that every item's name starts at one place."""


def controlled_effect(preset: str) -> str | None:
    """The effect a negative control stands for (``the bound effect``), or ``None`` for a preset that learns.

    A negative control (`Preset.learns` false) is the half of an effect that must not learn:
    ``sac_tuned_legacy`` is the tuned SAC in the legacy box, beside ``sac_tuned`` in the percentile
    box.  Presets not registered here (preset files) count as learning, as in the report's figures.
    """
    found = PRESETS.get(preset)
    if found is None or found.learns:
        return None
    return "the bound effect" if found.bounds.mode is BoundsMode.LEGACY else "the effect it controls for"


def verdict_look(verdict: Verdict, preset: str) -> VerdictLook:
    """The words and colour of ``verdict`` for ``preset``.

    A negative control reads the other way round: its ``improved`` (it learned more than its
    baseline) means the effect it controls for shrank, which is no win, and its ``regressed`` that
    the effect grew, which is no failure of the recipes.  Both are drawn as a warning; the gate
    itself is unchanged (a ``regressed`` control still fails the session, as any change of a
    return does).
    """
    effect = controlled_effect(preset)
    if effect is None or verdict not in (Verdict.IMPROVED, Verdict.REGRESSED):
        return _LOOKS[verdict]
    more = verdict is Verdict.IMPROVED
    change, side = ("shrank", "above") if more else ("grew", "below")
    meaning = f"{effect} {change} (the negative control scored {side} its baseline)"
    return VerdictLook(f"control {verdict.value}", meaning, "control", "yellow")


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
        if self.cause is Cause.THROUGHPUT and self.learning is Verdict.UNCHANGED:
            parts.append("the same learning curve, cut by the budget at another sample count")
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
    identity: str | None = None
    """`learning_identity`'s sentence (``None`` without a comparable baseline)."""
    first_stage: Comparison | None = None
    """For a confirmed item (`confirm`): the first stage's comparison, whose ``regressed`` this one checked."""

    @property
    def seeds(self) -> str:
        """``5 seeds vs 5`` or ``3 seeds vs no stored baseline``."""
        base = "no stored baseline" if self.num_baseline is None else f"{self.num_baseline}"
        return f"{self.num_current} seeds vs {base}"

    @property
    def look(self) -> VerdictLook:
        """The verdict's words and colour (`verdict_look`)."""
        return verdict_look(self.verdict, self.preset)

    @property
    def line(self) -> str:
        """The verdict line of the terminal and of ``sacbench compare``.

        ``unchanged  a1-flat / ppo_sb3  (5 seeds vs 5)``; a negative control's line adds what its verdict means.
        """
        meaning = f": {self.look.meaning}" if self.look.meaning else ""
        return f"{self.look.label:>{LABEL_WIDTH}}  {self.task} / {self.preset}  ({self.seeds}){meaning}"

    def details(self, statistic: str) -> list[str]:
        """What the verdict rests on, one sentence each, in the words of the report's details column.

        Each gated metric's test (its ``statistic`` difference with the baseline, p-value, the change
        it detects), what moved (`Attribution.describe`: throughput and learning at matched samples),
        whether learning was identical, and for a confirmed item its first stage.  An item with no
        test says why not (its reason).
        """
        found = [m.describe(statistic) for m in self.metrics]
        found += [self.attribution.describe()] if self.attribution is not None else []
        found += [self.identity] if self.identity is not None else []
        if self.first_stage is not None:
            first = self.first_stage
            found.append(
                f"first stage {first.verdict.value} on {first.num_current} seeds; this verdict is the"
                f" confirmation's on {self.num_current} fresh seeds"
            )
        return found or [self.reason]


def verdict_lines(comparisons: Sequence[Comparison], statistic: str) -> list[tuple[str, dict[str, bool]]]:
    """The verdicts as the terminal summary and ``sacbench compare`` print them, with pytest's colour markup.

    Per item its `Comparison.line`, coloured by `verdict_look`, and beneath it its
    `Comparison.details`, so an ``unchanged`` night on a faster machine says that throughput rose;
    then every regression with its whole reason (why the session fails).
    """
    lines: list[tuple[str, dict[str, bool]]] = []
    indent = " " * (LABEL_WIDTH + 2)
    for c in comparisons:
        lines.append((c.line, {c.look.colour: True} if c.look.colour else {}))
        lines += [(f"{indent}{detail}", {}) for detail in c.details(statistic)]
    for c in comparisons:
        if c.verdict is Verdict.REGRESSED:
            lines.append((f"REGRESSED {c.task} / {c.preset}: {c.reason}", {"red": True, "bold": True}))
    return lines


def confirm(first: Comparison, second: Comparison) -> Comparison:
    """An item's verdict after a ``regressed`` first stage was re-run on fresh seeds (``second``).

    The item regressed only if the confirmation, judged alone against the same baseline, regressed
    too; otherwise it takes the confirmation's verdict.  Either way the result keeps the first
    stage (``first_stage``), so the report shows both.  Simulated through this function over the
    whole nightly matrix by ``benchmarks/gate_power.py``.

    Raises:
        ValueError: If ``first`` did not regress, or the two stages are of different items.
    """
    if first.verdict is not Verdict.REGRESSED:
        raise ValueError(f"{first.task} / {first.preset}: only a regressed verdict is confirmed, not {first.verdict}")
    if (first.task, first.preset) != (second.task, second.preset):
        raise ValueError(f"confirmation of {second.task} / {second.preset} given for {first.task} / {first.preset}")
    outcome = "confirmed" if second.verdict is Verdict.REGRESSED else f"not confirmed ({second.verdict.value})"
    reason = f"regressed, {outcome} by {second.num_current} fresh seeds: {second.reason} || first stage: {first.reason}"
    return replace(second, reason=reason, first_stage=first)


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
    # The machine's CPUs, not the process's: a run pinned or started under taskset may use fewer.
    cpus = hardware.get("num_logical_cpus") or hardware.get("num_usable_cpus")
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
            " (re-make the baseline: docs/results.md, 'Baselines')"
        )
    if (differs := cpu_share_differs(good, baseline)) is not None:
        return differs
    budgets = {float(r.budget["seconds"]) for r in runs}
    if budgets != {baseline.budget_s}:
        return f"budget differs: baseline {baseline.budget_s:g} s, runs {sorted(budgets)} s"
    if not good:
        return NO_FINISHED_RUN
    return None


NO_FINISHED_RUN = "no finished run"


def diverged(record: RunRecord) -> bool:
    """Whether a run diverged: NaN/inf actions or losses, or a finished run whose evaluation return is not finite."""
    finished = record.status in (RunStatus.OK, RunStatus.BUDGET_OVERRUN)
    return record.status is RunStatus.DIVERGED or (finished and not math.isfinite(record.metric(metrics.EVAL_RETURN)))


def more_divergence(runs: Sequence[RunRecord], baseline: Baseline) -> str | None:
    """``2 of 5 runs diverged; baseline 0 of 5`` when tonight's runs diverged more often than the baseline's.

    A diverged run has no return to test, so leaving it out would let the other seeds read
    ``unchanged``; a rate of divergence above the baseline's is a regression by itself.  The
    baseline's rate counts its usable seeds and the runs it left out as diverged
    (``provenance.excluded_runs``).
    """
    now, before, total = divergence_counts(runs, baseline)
    if now == 0 or now / len(runs) <= before / total:
        return None
    return f"{now} of {len(runs)} runs diverged; baseline {before} of {total}"


def divergence_counts(runs: Sequence[RunRecord], baseline: Baseline) -> tuple[int, int, int]:
    """``(tonight's diverged runs, the baseline's, the baseline's runs counted)``."""
    excluded = baseline.provenance.get("excluded_runs") or {}
    before = sum(status == RunStatus.DIVERGED.value for status in excluded.values())
    return sum(map(diverged, runs)), before, len(baseline.seeds) + before


CPU_SHARE_TOLERANCE = 0.05
"""A run with a CPU share above ``1 + CPU_SHARE_TOLERANCE`` used more than one core.

A pinned run uses at most 1.0 (measured 0.99-1.00); unpinned SBX SAC runs used 1.05-1.55."""


def _pinning(pinnings: Iterable[Any]) -> str:
    """``pinned to one core``, ``unpinned``, ``partly pinned`` or ``pinning unrecorded``."""
    found = {p.get("pinned") if isinstance(p, dict) else None for p in pinnings}
    if found == {True}:
        return "pinned to one core"
    if found == {False}:
        return "unpinned"
    return "pinning unrecorded" if found == {None} else "partly pinned"


def cpu_share_differs(runs: Sequence[RunRecord], baseline: Baseline) -> str | None:
    """Why ``runs`` and ``baseline`` had unequal CPU, or ``None``.

    A wall-clock budget buys what the CPU it gets allows: an unpinned SAC run whose XLA threads used
    1.3 cores is not a baseline for a pinned one.  The two sides differ when one used more than one
    core (a mean CPU share above ``1 + CPU_SHARE_TOLERANCE``) and the other did not.  Two unpinned
    sides are compared as before pinning existed; a share below one core (a run that waited for a
    busy machine) is not refused here: the attribution reports it as throughput.
    """
    shares = [r.timing.cpu_share for r in runs]
    now = float(np.mean(shares)) if shares else math.nan
    stored = baseline.throughput.get(metrics.CPU_SHARE)
    fix = "re-make the baseline with this sacbench, one core per run (docs/results.md, 'Baselines')"
    if not stored:
        if now > 1.0 + CPU_SHARE_TOLERANCE or any((r.provenance.get("cpu_pinning") or {}).get("pinned") for r in runs):
            return (
                f"CPU share differs: the baseline's is unrecorded (made before sacbench kept it), runs"
                f" {now:.2f} CPU-s per s ({_pinning(r.provenance.get('cpu_pinning') for r in runs)});"
                " rebuild the baseline from its records (`sacbench baseline SESSION`) or " + fix
            )
        return None
    base = float(np.mean(stored))
    if (now > 1.0 + CPU_SHARE_TOLERANCE) != (base > 1.0 + CPU_SHARE_TOLERANCE):
        return (
            f"CPU share differs: baseline {base:.2f} CPU-s per s"
            f" ({_pinning(baseline.provenance.get('cpu_pinning') or [None])}), runs {now:.2f}"
            f" ({_pinning(r.provenance.get('cpu_pinning') for r in runs)}); wall-clock results compare only"
            f" at equal CPU: {fix}"
        )
    return None


LEARNING_PACKAGES = (
    "numpy", "torch", "jax", "jaxlib", "flax", "optax", "sbx-rl", "stable-baselines3", "gymnasium", "mujoco",
    "isaaclab",
)  # fmt: skip
"""Packages whose versions change what a seeded run computes."""


def identity_obstacles(runs: Sequence[RunRecord], baseline: Baseline) -> list[str]:
    """Why learning need not be identical to the baseline's, even with nothing changed in sacbench.

    Floating-point results of one seed repeat only on one CPU model, with one set of numerical
    packages and one thread setting, and only where nothing follows the wall clock.
    """
    found = []
    ours = {machine_name(r.provenance.get("hardware") or {}) for r in runs}
    theirs = machine_name(baseline.provenance.get("hardware") or {})
    if ours != {theirs}:
        found.append(f"another CPU model ({', '.join(sorted(ours))} vs {theirs})")
    base_packages = baseline.provenance.get("packages") or {}
    changed = sorted(
        f"{name} {(r.provenance.get('packages') or {}).get(name)} vs {base_packages.get(name)}"
        for r in runs[:1]
        for name in LEARNING_PACKAGES
        if (r.provenance.get("packages") or {}).get(name) != base_packages.get(name)
    )
    if changed:
        found.append("other package versions (" + ", ".join(changed) + ")")
    threads = {_thread_setting(r.provenance.get("threads")) for r in runs}
    if threads != {_thread_setting(baseline.provenance.get("threads"))}:
        found.append("another thread setting")
    isas, base_isa = {isa_setting(r.provenance) for r in runs}, isa_setting(baseline.provenance)
    if isas != {base_isa}:
        found.append(f"another instruction-set setting ({', '.join(sorted(isas))} vs {base_isa})")
    # XLA sizes its thread pool by the cores a process may use when it starts: pinning is a thread setting too.
    pinned = {_pinning([r.provenance.get("cpu_pinning")]) for r in runs}
    if pinned != {_pinning(baseline.provenance.get("cpu_pinning") or [None])}:
        found.append("another CPU pinning")
    try:
        preset = get_preset(runs[0].preset)
        found += [f"the preset's {s} follows the wall clock" for s in preset.wall_clock_schedules(Scale(runs[0].scale))]
    except (LookupError, ValueError):
        found.append(f"preset {runs[0].preset!r} is not registered here (its schedules are unknown)")
    return found


_XLA_ISA_FLAG = "--xla_cpu_max_isa="


def _thread_setting(threads: Any) -> str | None:
    """The thread count and XLA flags a run had (its instruction-set cap aside), or ``None`` when unrecorded."""
    if not isinstance(threads, dict):
        return None
    flags = [f for f in str(threads.get("xla_flags") or "").split() if not f.startswith(_XLA_ISA_FLAG)]
    return f"{threads.get('num_threads')} threads, XLA {' '.join(flags)}"


def isa_setting(provenance: dict[str, Any]) -> str:
    """The instruction sets a run's libraries were held to (`ISA_ENV_VARS`, XLA's flag): ``"native"`` if none.

    A capped run executes other code than an uncapped one on the same CPU, as a run on another CPU
    model does: identity with the baseline is not to be expected across it.
    """
    env = provenance.get("thread_env") or {}
    caps = [f"{name}={env[name]}" for name in ISA_ENV_VARS if env.get(name)]
    flags = str((provenance.get("threads") or {}).get("xla_flags") or env.get("XLA_FLAGS") or "").split()
    caps += [f"XLA {f.removeprefix(_XLA_ISA_FLAG)}" for f in flags if f.startswith(_XLA_ISA_FLAG)]
    return ", ".join(caps) or "native"


def learning_identity(runs: Sequence[RunRecord], baseline: Baseline) -> str:
    """Whether tonight's runs learned exactly what the baseline's runs of the same seeds learned.

    Each seed present on both sides is compared checkpoint by checkpoint up to the shorter run
    (`sacbench.fingerprint.first_divergence`).  The sentence says ``identical ... up to N env
    steps`` or ``diverged ... from checkpoint k (E env steps)``, and whether identity was to be
    expected (`identity_obstacles`); where it was and learning diverged, that is a change in the
    code path, not chance.
    """
    base_rows = dict(zip(baseline.seeds, baseline.checkpoints, strict=False))
    pairs = [(r.seed, r.checkpoints, base_rows[r.seed]) for r in runs if r.seed in base_rows]
    if not pairs:
        return "learning identity: not checkable (no seed in common with the baseline)"
    if not all(ours and theirs for _, ours, theirs in pairs):
        have_ours, have_theirs = any(o for _, o, _ in pairs), any(t for _, _, t in pairs)
        where = "the baseline" if have_ours else "these runs" if have_theirs else "these runs or the baseline"
        return f"learning identity: not checkable (no learning fingerprints in {where})"
    obstacles = identity_obstacles(runs, baseline)
    same, apart = [], []
    for seed, ours, theirs in pairs:
        agreed, divergence = first_divergence(ours, theirs)
        if divergence is None:
            same.append((seed, agreed))
        else:
            apart.append(
                f"seed {seed} from checkpoint {divergence.checkpoint} ({divergence.env_steps:,} env steps;"
                f" {', '.join(divergence.parts)} differ)"
            )
    parts = []
    if same:
        parts.append(
            f"learning identical to the baseline on seed(s) {', '.join(str(s) for s, _ in same)} up to"
            f" {min(a for _, a in same):,} env steps"
        )
    if apart:
        parts.append("learning diverged from the baseline on " + "; ".join(apart))
    if obstacles:
        parts.append("identity is not expected: " + "; ".join(obstacles))
    elif apart:
        parts.append("identity was expected (same CPU model, packages and thread setting): a change in the code path")
    return "; ".join(parts)


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
        failed = len(runs) - len(good) - sum(map(diverged, runs))
        note = f"; {failed} run(s) did not finish and are left out" if failed else ""
        baseline = baselines.get((task, preset))
        if baseline is None:
            reason = f"no stored baseline for {backend}/{scale}{note}"
            comparisons.append(Comparison(task, preset, Verdict.INCONCLUSIVE, reason, num_current=len(good)))
            continue
        why_not = _incomparable(runs, good, baseline, backend)
        divergence = more_divergence(runs, baseline) if why_not in (None, NO_FINISHED_RUN) else None
        if divergence is None and (counts := divergence_counts(runs, baseline))[0]:
            note += f"; {counts[0]} of {len(runs)} runs diverged (baseline {counts[1]} of {counts[2]}) and are left out"
        if why_not is not None:
            verdict, reason = Verdict.INCONCLUSIVE, why_not
            if divergence is not None:
                verdict, reason = Verdict.REGRESSED, divergence
            comparisons.append(Comparison(task, preset, verdict, reason + note, (), len(good), len(baseline.seeds)))
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
        if divergence is not None:
            verdict = Verdict.REGRESSED
        attribution = attribute(good, baseline, rule, level, verdict)
        reason = "; ".join(([divergence] if divergence else []) + [d.describe(rule.statistic) for d in details])
        if attribution is not None:
            reason += f"; {attribution.describe()}"
        identity = learning_identity(good, baseline)
        note += f"; {identity}" + _hardware_note(baseline, good)
        comparisons.append(
            Comparison(
                task, preset, verdict, reason + note, tuple(details), len(good), len(baseline.seeds), attribution,
                identity,
            )
        )  # fmt: skip
    return comparisons


def matched_learning(runs: Sequence[RunRecord], baseline: Baseline) -> tuple[int, np.ndarray, np.ndarray] | None:
    """The training return of every run at the fewest env steps any run (tonight or baseline) took.

    Runs that kept checkpoints (`sacbench.fingerprint`) are matched on them: the last checkpoint
    every run reached, each row's return over the same window of episodes on every machine.  Older
    runs are matched on their wall-clock curves, interpolated.

    Returns:
        ``(steps, tonight (n,), baseline (m,))``, or ``None`` when a run has no finished episode by then.
    """
    if all(r.checkpoints for r in runs) and baseline.checkpoints and all(baseline.checkpoints):
        return _matched_checkpoint([r.checkpoints for r in runs], baseline.checkpoints)
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


def _matched_checkpoint(
    ours: Sequence[Sequence[dict[str, Any]]], theirs: Sequence[Sequence[dict[str, Any]]]
) -> tuple[int, np.ndarray, np.ndarray] | None:
    """The training return at the last checkpoint every run reached (``None``: no return there yet)."""
    last = min(len(rows) for rows in (*ours, *theirs)) - 1
    rows = [r[last] for r in (*ours, *theirs)]
    steps = {int(row["env_steps"]) for row in rows}
    if len(steps) != 1 or any(row.get("return_mean") is None for row in rows):
        return None
    values = np.array([float(row["return_mean"]) for row in rows])
    return steps.pop(), values[: len(ours)], values[len(ours) :]


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

    The cause names what moved in the verdict's direction (for ``unchanged`` and ``inconclusive``,
    any significant move counts).  One exception: where learning at matched samples is measured and
    unchanged, a significant change of throughput is the cause in either direction.  A wall-clock
    budget then cuts the same learning curve at another sample count, and a return need not rise with
    samples: a faster machine can lower it (A1 rough ``ppo_sb3``, pinned, docs/results.md).
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
    changes = {Verdict.IMPROVED, Verdict.REGRESSED}
    moved = {verdict} if verdict in changes else changes
    cut_elsewhere = learning is Verdict.UNCHANGED and throughput in changes
    cause = {
        (True, True): Cause.BOTH,
        (True, False): Cause.THROUGHPUT,
        (False, True): Cause.LEARNING,
        (False, False): Cause.NOTHING,
    }[(throughput in moved or cut_elsewhere, learning in moved)]
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
