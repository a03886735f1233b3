"""Per-item thresholds of the benchmarks: a table (safe YAML), validated on load.

Each entry bounds one metric of one preset on one task, for one backend and scale, and applies only
when the run's budget is at least ``min_budget_s`` (a threshold calibrated for two minutes says
nothing about a ten-second smoke run).  ``max`` entries are negative controls: the preset must *not*
learn (``sac_default`` with the legacy bounds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sacbench import metrics
from sacbench.baselines import Baseline, gated_metrics
from sacbench.records import RunRecord

THRESHOLDS_SCHEMA_VERSION = 1
_FIELDS = {"backend", "scale", "task", "preset", "metric", "min", "max", "min_budget_s", "source"}


@dataclass(frozen=True)
class Threshold:
    """``min <= metric <= max`` for runs of at least ``min_budget_s``."""

    backend: str
    scale: str
    task: str
    preset: str
    metric: str
    min: float | None
    max: float | None
    min_budget_s: float
    source: str

    @property
    def vacuous(self) -> bool:
        """Whether no run can fail it: a terrain-level floor at or below 0 (levels start at 0)."""
        return self.metric in metrics.LEVEL_METRICS and self.max is None and (self.min or 0.0) <= 0.0

    def check(self, record: RunRecord) -> tuple[bool, str]:
        """Whether the record passes, and a message saying what was compared."""
        value = record.metric(self.metric)
        bounds = " and ".join(
            part
            for part in (
                f">= {self.min:g}" if self.min is not None else "",
                f"<= {self.max:g}" if self.max is not None else "",
            )
            if part
        )
        message = f"{record.run_id}: {self.metric} = {value:.3f}, required {bounds} ({self.source})"
        if not math.isfinite(value):
            return False, message
        ok = (self.min is None or value >= self.min) and (self.max is None or value <= self.max)
        return ok, message


class ThresholdsError(ValueError):
    """A thresholds file that fails validation; the message names the file, entry and field."""


@dataclass(frozen=True)
class Assessment:
    """A run against its thresholds."""

    failures: tuple[str, ...]
    """One message per threshold the run missed."""
    unasserted: str | None
    """Why nothing was asserted (no entry, or none for this budget); ``None`` when something was."""


@dataclass(frozen=True)
class Thresholds:
    """The loaded table."""

    entries: tuple[Threshold, ...]

    def assess(self, record: RunRecord, *, learns: bool) -> Assessment:
        """Check ``record`` against its entries, and say when nothing was asserted.

        Args:
            record: The run.
            learns: Whether its preset is expected to learn; a negative control (``False``) is only
                asserted by an entry with a ``max``, i.e. one that fails when the preset learns.
        """
        applicable, _ = self.for_record(record)
        failures = tuple(message for ok, message in (t.check(record) for t in applicable) if not ok)
        item = (record.backend, record.scale, record.task, record.preset)
        return Assessment(failures, self.unasserted(*item, float(record.budget["seconds"]), learns=learns))

    def unasserted(
        self, backend: str, scale: str, task: str, preset: str, budget_s: float, *, learns: bool
    ) -> str | None:
        """Why an item of this budget would assert nothing, or ``None`` when something asserts it."""
        applicable, too_short = self.for_item(backend, scale, task, preset, budget_s)
        vacuous = [t for t in applicable + too_short if t.vacuous]
        applicable = [t for t in applicable if not t.vacuous]
        too_short = [t for t in too_short if not t.vacuous]
        if vacuous and not (applicable or too_short):
            return f"its only threshold asserts nothing ({vacuous[0].source})"
        if not learns:
            applicable = [t for t in applicable if t.max is not None]
        if applicable:
            return None
        if too_short:
            needed = min(t.min_budget_s for t in too_short)
            return f"its thresholds need a budget >= {needed:g} s; this run had {budget_s:g} s"
        kind = "upper ('max') threshold: a negative control" if not learns else "threshold"
        return f"no {kind} for {backend}/{scale}/{task}/{preset}"

    def for_record(self, record: RunRecord) -> tuple[list[Threshold], list[Threshold]]:
        """``(applicable, too_short)``: the record's thresholds whose budget condition holds, and not."""
        item = (record.backend, record.scale, record.task, record.preset)
        return self.for_item(*item, float(record.budget["seconds"]))

    def for_item(
        self, backend: str, scale: str, task: str, preset: str, budget_s: float
    ) -> tuple[list[Threshold], list[Threshold]]:
        """``(applicable, too_short)`` for an item of this budget (see `for_record`)."""
        mine = [t for t in self.entries if (t.backend, t.scale, t.task, t.preset) == (backend, scale, task, preset)]
        return [t for t in mine if budget_s >= t.min_budget_s], [t for t in mine if budget_s < t.min_budget_s]


def _number(entry: dict[str, Any], key: str, where: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ThresholdsError(f"{where}: field {key!r} must be a finite number, got {value!r}")
    return float(value)


def load_thresholds(path: Path) -> Thresholds:
    """Read ``thresholds.yaml`` with ``yaml.safe_load`` and validate every entry.

    A missing file is an empty table.

    Raises:
        ThresholdsError: Naming the file, the entry and the field.
    """
    if not path.exists():
        return Thresholds(())
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ThresholdsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("schema_version") != THRESHOLDS_SCHEMA_VERSION:
        raise ThresholdsError(f"{path}: expected a mapping with schema_version: {THRESHOLDS_SCHEMA_VERSION}")
    items = raw.get("thresholds")
    if not isinstance(items, list):
        raise ThresholdsError(f"{path}: field 'thresholds' must be a list of entries")
    entries = []
    for i, entry in enumerate(items):
        where = f"{path}: thresholds[{i}]"
        if not isinstance(entry, dict):
            raise ThresholdsError(f"{where}: expected a mapping, got {entry!r}")
        unknown = sorted(set(entry) - _FIELDS)
        if unknown:
            raise ThresholdsError(f"{where}: unknown field(s) {unknown}; known: {sorted(_FIELDS)}")
        for key in ("backend", "scale", "task", "preset", "metric", "source"):
            if not isinstance(entry.get(key), str):
                raise ThresholdsError(f"{where}: field {key!r} must be a string, got {entry.get(key)!r}")
        low, high = _number(entry, "min", where), _number(entry, "max", where)
        if low is None and high is None:
            raise ThresholdsError(f"{where}: give 'min', 'max' or both")
        budget = _number(entry, "min_budget_s", where)
        entries.append(
            Threshold(
                entry["backend"], entry["scale"], entry["task"], entry["preset"], entry["metric"],
                low, high, budget or 0.0, entry["source"],
            )
        )  # fmt: skip
    return Thresholds(tuple(entries))


ROUNDING = 0.5
"""Derived bounds of returns are rounded outwards to this step (down for a floor, up for a ceiling)."""
LEVEL_ROUNDING = 0.01
"""The step for terrain levels (`ROUNDING` would floor every level below 0.5 to 0).  The curriculum
tier ends at about 0.1 after 30 minutes on the mirror (`reports/reference/curriculum/anymal_c-rough`):
its late levels (`sacbench.metrics.TERRAIN_LEVEL_LATE`) are 0.055-0.117, so half the worst seed is
0.027, which a step of 0.05 would round to a floor of 0 that asserts nothing.  The floor is only as
fine as the smoothed level it bounds: one end-of-training reading of a healthy seed spans 0-0.14 over
its last 3 minutes (``python benchmarks/level_floor.py``), so no step makes a floor on it safe."""


LENGTH_ROUNDING = 1.0
"""The step for episode lengths: one env step."""


def rounding(metric: str) -> float:
    """The step a derived bound of ``metric`` is rounded outwards to."""
    if metric in metrics.LEVEL_METRICS:
        return LEVEL_ROUNDING
    return LENGTH_ROUNDING if metric == metrics.EVAL_LENGTH else ROUNDING


def rule_metrics(terrain: str, *, learns: bool) -> tuple[str, ...]:
    """The metrics `threshold_from_baseline` bounds for a preset on a task of ``terrain``.

    The gated ones (`sacbench.baselines.gated_metrics`: the return, and the late terrain level on
    rough terrain) and, for a preset that learns on flat terrain, the survival of its evaluation
    episodes (`sacbench.metrics.EVAL_LENGTH`).  The post's bound effect shows as survival before it
    shows as return: after 2 CPU minutes on ANYmal-C flat, `sac_tuned` with PPO-percentile bounds
    lasts 516-970 steps with returns of -37.6 to 2.8, while the legacy box lasts 14-24 steps (means
    per seed; `reports/reference/baselines/anymal_c-flat`), so a return floor alone would not tell them apart.
    A negative control is bounded by its return only (surviving is not learning).
    """
    survival = (metrics.EVAL_LENGTH,) if learns and terrain == "flat" else ()
    return (*gated_metrics(terrain), *survival)


def threshold_from_baseline(baseline: Baseline, metric: str, *, learns: bool) -> Threshold:
    """The one rule that turns a committed baseline into an item's threshold.

    A preset that learns must reach ``worst - |worst| / 2`` of its baseline seeds (half the worst
    seed when it is positive; half as far again below it when it is not, so a near-zero learner is
    still asserted: it must not collapse), rounded down to the metric's step (`rounding`): room for
    a slower machine, as budgets are wall-clock.  A terrain-level floor of 0 asserts nothing (no
    level is below 0): its source says so, ``sacbench thresholds`` comments it out, and an item
    with only such an entry is unasserted.  A negative control must stay at or below 0 (a policy
    that stands still scores above 0, about 8 on A1 flat; surviving is not enough, as flailing is
    penalised), or below its best seed rounded up if that is positive (then the control does not
    hold on this backend, and the entry's source says so).

    Survival (`sacbench.metrics.EVAL_LENGTH`, see `rule_metrics`) is floored by the same rule, in
    steps of one env step, and only for a preset that learns.

    Raises:
        KeyError: If the baseline has no values of ``metric``.
        ValueError: For the survival of a negative control (no rule: surviving is not learning).
    """
    if metric == metrics.EVAL_LENGTH and not learns:
        raise ValueError(
            f"{baseline.task}__{baseline.preset} is a negative control: its {metric} has no threshold"
            " (surviving is not learning); bound its return"
        )
    values = baseline.metrics[metric]
    name = f"baseline {baseline.task}__{baseline.preset}"
    common = (baseline.backend, baseline.scale, baseline.task, baseline.preset, metric)
    step = rounding(metric)
    if learns:
        worst = min(values)
        floor = math.floor(round((worst - abs(worst) / 2) / step, 9)) * step
        source = f"{name}: worst of {len(values)} seeds {worst:.2f}"
        if floor <= 0 and metric in metrics.LEVEL_METRICS:
            source += f" (0: asserts nothing, half the worst seed is below one {step:g} step)"
        elif floor < 0:  # a floor below what a standing policy scores: say what it still asserts
            source += " (below 0: asserts no collapse, not learning)"
        return Threshold(*common, round(floor, 9) + 0.0, None, baseline.budget_s, source)
    best = max(values)
    ceiling = max(0.0, round(math.ceil(round(best / step, 9)) * step, 9))
    held = "" if best <= 0 else "; the control does NOT hold here (a seed scored above 0)"
    source = f"negative control; {name}: best of {len(values)} seeds {best:.2f}{held}"
    return Threshold(*common, None, ceiling, baseline.budget_s, source)


POST_SOLVED = 1 / 3
"""Share of a task's best return above which the post calls a velocity task almost solved: on A1
flat, "above an episode return of 15, the task is almost solved", and A1's best is 45 (tracking
weights 1.5 + 0.75, 20 s episodes; `sacbench.tasks.return_scale`)."""
POST_NO_IMPROVEMENT = 1 / 9
"""Share of a task's best return a policy must pass to show any sign of learning: 5 on A1 flat, the
ceiling sacbench set for the post's default SAC ("no sign of improvement") before this rule."""
POST_BUDGET_S = 300.0
"""The post's budget: "in 5 minutes"; its speed tuning evaluated after five minutes of training."""
POST_SOURCE = "post (Isaac Lab 2.x), not yet measured by sacbench on a GPU"


def threshold_from_post(task: str, preset: str, *, learns: bool, backend: str = "isaaclab") -> Threshold:
    """The one rule for the GPU items, which have no sacbench baseline yet: the post's own figures.

    The post reports one number (A1 flat: almost solved above 15 in 5 minutes) and claims that the
    same recipe "worked" on every other flat task, and only learned (then, with gSDE and 3-step
    returns, solved with more time) on rough.  Scaled by each task's best return
    (`sacbench.tasks.return_scale`): on flat, a learner must reach `POST_SOLVED` of it; on rough,
    `POST_NO_IMPROVEMENT` (the post gives no rough figure at 5 minutes: only learning is asserted);
    a negative control must stay at or below `POST_NO_IMPROVEMENT`.  Floors are rounded down and
    ceilings up to `ROUNDING`.  Replaced by `threshold_from_baseline` once GPU baselines exist.
    """
    from sacbench.tasks import Terrain, get_task, return_scale

    best = return_scale(task)
    common = (backend, "gpu", task, preset, metrics.EVAL_RETURN)

    def of_best(share: float) -> str:
        return f"1/{round(1 / share)} of the best return {best:g}"

    if not learns:
        ceiling = math.ceil(best * POST_NO_IMPROVEMENT / ROUNDING) * ROUNDING
        source = f"negative control; {POST_SOURCE}: no sign of improvement ({of_best(POST_NO_IMPROVEMENT)})"
        return Threshold(*common, None, ceiling, POST_BUDGET_S, source)
    rough = get_task(task).terrain is Terrain.ROUGH
    share, claim = (POST_NO_IMPROVEMENT, "learns") if rough else (POST_SOLVED, "almost solved")
    floor = math.floor(best * share / ROUNDING) * ROUNDING
    return Threshold(*common, floor, None, POST_BUDGET_S, f"{POST_SOURCE}: {claim} ({of_best(share)})")
