"""The baseline gate: per task and preset, ``improved``, ``unchanged``, ``regressed`` or ``inconclusive``.

For each gated metric (the evaluation return; on rough terrain also the curriculum level) the
gate bootstraps the difference ``stat(current) - stat(baseline)`` (stratified, independent
resampling of both sets of seeds) and reads its 95 % interval against a tolerance ``t``:

- ``regressed``: the whole interval lies below ``-t``;
- ``improved``: the whole interval lies above ``+t``;
- ``unchanged``: the interval lies inside ``[-t, +t]``;
- ``inconclusive``: anything else (too few seeds to tell), or nothing comparable.

A preset's verdict is ``regressed`` if any metric regressed, else ``inconclusive`` if any metric
is, else ``improved`` if any improved, else ``unchanged``.  The probability of improvement
P(current > baseline) is reported beside it.  The rule is written ``<stat>:<tolerance>``, e.g.
``iqm:5%`` (5 % of the baseline's statistic) or ``mean:0.5`` (absolute), like pytest-benchmark's
``--benchmark-compare-fail``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sacbench.baselines import Baseline, gated_metrics, group_runs, overrides_of
from sacbench.records import RunRecord, usable
from sacbench.stats import (
    DEFAULT_REPS,
    Interval,
    aggregate_metrics,
    probability_of_improvement,
    statistic_difference,
)


class Verdict(enum.StrEnum):
    """Outcome of a comparison against the baseline."""

    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    REGRESSED = "regressed"
    INCONCLUSIVE = "inconclusive"


_RULE = re.compile(r"^(?P<stat>iqm|median|mean):(?P<value>\d+(?:\.\d+)?)(?P<percent>%?)$")


@dataclass(frozen=True)
class CompareRule:
    """``<stat>:<tolerance>``: which statistic, and how far it may move before it counts."""

    statistic: str
    tolerance: float
    relative: bool

    @classmethod
    def parse(cls, text: str) -> CompareRule:
        """Parse ``iqm:5%``, ``mean:0.5``, ``median:10%``.

        Raises:
            ValueError: Naming the text and the accepted form.
        """
        match = _RULE.match(text.strip().lower())
        if match is None:
            raise ValueError(
                f"compare rule {text!r}: expected <stat>:<tolerance> with stat iqm, median or mean and a"
                " tolerance in percent of the baseline (iqm:5%) or absolute (mean:0.5)"
            )
        return cls(match["stat"], float(match["value"]), bool(match["percent"]))

    def tolerance_for(self, baseline_value: float) -> float:
        """Absolute tolerance for a baseline statistic."""
        return abs(baseline_value) * self.tolerance / 100 if self.relative else self.tolerance

    def __str__(self) -> str:
        return f"{self.statistic}:{self.tolerance:g}{'%' if self.relative else ''}"


DEFAULT_RULE = CompareRule("iqm", 10.0, relative=True)


@dataclass(frozen=True)
class MetricComparison:
    """One metric of one preset on one task, against its baseline."""

    metric: str
    verdict: Verdict
    current: Interval
    baseline: Interval
    difference: Interval
    tolerance: float
    probability_of_improvement: Interval


@dataclass(frozen=True)
class Comparison:
    """A preset on a task: its verdict, why, and the per-metric details."""

    task: str
    preset: str
    verdict: Verdict
    reason: str
    metrics: tuple[MetricComparison, ...] = ()
    num_current: int = 0
    num_baseline: int = 0


def classify(difference: Interval, tolerance: float) -> Verdict:
    """The verdict of a difference interval against a symmetric tolerance."""
    if difference.high < -tolerance:
        return Verdict.REGRESSED
    if difference.low > tolerance:
        return Verdict.IMPROVED
    if -tolerance <= difference.low and difference.high <= tolerance:
        return Verdict.UNCHANGED
    return Verdict.INCONCLUSIVE


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """Worst-first combination of per-metric verdicts."""
    found = set(verdicts)
    for verdict in (Verdict.REGRESSED, Verdict.INCONCLUSIVE, Verdict.IMPROVED):
        if verdict in found:
            return verdict
    return Verdict.UNCHANGED


def compare_metric(
    current: np.ndarray,
    baseline: np.ndarray,
    metric: str,
    rule: CompareRule,
    *,
    seed: int,
    key: str,
    reps: int,
) -> MetricComparison:
    """Compare ``(runs, 1)`` arrays of one metric."""
    stat_name = {"iqm": "IQM", "median": "Median", "mean": "Mean"}[rule.statistic]
    cur = aggregate_metrics({key: current}, seed, reps)[key][stat_name]
    base = aggregate_metrics({f"{key}/baseline": baseline}, seed, reps)[f"{key}/baseline"][stat_name]
    difference = statistic_difference(current, baseline, rule.statistic, seed=seed, key=key, reps=reps)
    tolerance = rule.tolerance_for(base.point)
    poi = probability_of_improvement({key: (current, baseline)}, seed, reps)[key]
    return MetricComparison(metric, classify(difference, tolerance), cur, base, difference, tolerance, poi)


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
        if (baseline.backend, baseline.scale) != (backend, scale):
            reason = f"baseline is {baseline.backend}/{baseline.scale}, runs are {backend}/{scale}"
            comparisons.append(Comparison(task, preset, Verdict.INCONCLUSIVE, reason))
            continue
        overrides = [overrides_of(r) for r in runs]
        if any(o != baseline.overrides for o in overrides):
            reason = f"hyperparameter overrides differ: baseline {baseline.overrides}, runs {overrides[0]}"
            comparisons.append(Comparison(task, preset, Verdict.INCONCLUSIVE, reason))
            continue
        engines = {v for r in good if (v := simulator_version(backend, r.provenance)) is not None}
        engine = simulator_version(backend, baseline.provenance)
        if engine is not None and engines - {engine}:
            reason = f"simulator differs: baseline {engine}, runs {', '.join(sorted(engines))}"
            comparisons.append(Comparison(task, preset, Verdict.INCONCLUSIVE, reason))
            continue
        budgets = {float(r.budget["seconds"]) for r in runs}
        if budgets != {baseline.budget_s}:
            reason = f"budget differs: baseline {baseline.budget_s:g} s, runs {sorted(budgets)} s"
            comparisons.append(Comparison(task, preset, Verdict.INCONCLUSIVE, reason))
            continue
        if not good:
            comparisons.append(Comparison(task, preset, Verdict.INCONCLUSIVE, f"no finished run{note}"))
            continue
        details = []
        for metric in gated_metrics(good[0].terrain):
            values = np.array([r.metric(metric) for r in good])
            if metric not in baseline.metrics or not np.isfinite(values).all():
                continue
            key = f"{backend}/{scale}/{task}/{preset}/{metric}"
            details.append(
                compare_metric(values[:, None], baseline.scores(metric), metric, rule, seed=seed, key=key, reps=reps)
            )
        verdict = combine(d.verdict for d in details) if details else Verdict.INCONCLUSIVE
        note += _hardware_note(baseline, good)
        reason = "; ".join(
            f"{d.metric}: {rule.statistic} {d.current.point:.2f} vs {d.baseline.point:.2f}, difference"
            f" {d.difference.format()} vs tolerance {d.tolerance:.2f} -> {d.verdict.value}"
            for d in details
        )
        comparisons.append(
            Comparison(task, preset, verdict, reason + note, tuple(details), len(good), len(baseline.seeds))
        )
    return comparisons


def _machine(hardware: dict[str, object]) -> str:
    gpus = hardware.get("gpus") or []
    names = ", ".join(str(g.get("name")) for g in gpus if isinstance(g, dict)) if isinstance(gpus, list) else ""
    return f"{hardware.get('cpu_model', '?')}" + (f" + {names}" if names else "")


def _hardware_note(baseline: Baseline, runs: list[RunRecord]) -> str:
    """Budgets are wall-clock: say so when the baseline was measured on another machine."""
    theirs = _machine(baseline.provenance.get("hardware") or {})
    ours = {_machine(r.provenance.get("hardware") or {}) for r in runs}
    if ours == {theirs}:
        return ""
    return f"; note: the baseline ran on {theirs}, these runs on {', '.join(sorted(ours))} (wall-clock budgets)"
