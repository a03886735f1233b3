"""Stored baselines: per backend, scale, task and preset, the per-seed final metrics of reference runs.

Layout: ``baselines/<backend>/<scale>/<task>__<preset>.json``.  Baselines are never compared across
backends or scales, nor across budgets.  Loading validates every field and names the file and field.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sacbench.metrics import EVAL_RETURN, TERRAIN_LEVEL
from sacbench.records import RunRecord, to_jsonable, usable, write_json_atomic
from sacbench.stats import DEFAULT_REPS, aggregate_metrics

BASELINE_SCHEMA_VERSION = 1


def gated_metrics(terrain: str) -> tuple[str, ...]:
    """Metrics the gate compares: the evaluation return, and the curriculum level on rough terrain."""
    return (EVAL_RETURN, TERRAIN_LEVEL) if terrain == "rough" else (EVAL_RETURN,)


@dataclass(frozen=True)
class Baseline:
    """Reference results of one preset on one task, at one scale on one backend."""

    backend: str
    scale: str
    task: str
    preset: str
    budget_s: float
    seeds: tuple[int, ...]
    metrics: dict[str, list[float]]
    """Per gated metric, one value per seed (in ``seeds`` order)."""
    summary: dict[str, dict[str, list[float]]]
    """Per metric, ``{"IQM": [point, low, high], "Median": ..., "Mean": ...}``."""
    provenance: dict[str, Any]
    overrides: dict[str, Any]
    """Hyperparameter overrides of the runs (``--sacbench-set``); runs with others are not compared."""

    def scores(self, metric: str) -> np.ndarray:
        """``(num_seeds, 1)`` values of ``metric``."""
        return np.asarray(self.metrics[metric], dtype=float)[:, None]


def baseline_path(root: Path, backend: str, scale: str, task: str, preset: str) -> Path:
    """``<root>/<backend>/<scale>/<task>__<preset>.json``."""
    return root / backend / scale / f"{task}__{preset}.json"


def group_runs(records: Iterable[RunRecord]) -> dict[tuple[str, str, str, str], list[RunRecord]]:
    """Records by ``(backend, scale, task, preset)``, seeds in order."""
    groups: dict[tuple[str, str, str, str], list[RunRecord]] = defaultdict(list)
    for record in records:
        groups[(record.backend, record.scale, record.task, record.preset)].append(record)
    return {key: sorted(runs, key=lambda r: r.seed) for key, runs in sorted(groups.items())}


def build_baseline(runs: list[RunRecord], seed: int = 0, reps: int = DEFAULT_REPS) -> Baseline:
    """A baseline from the usable runs of one group.

    Raises:
        ValueError: If the runs mix groups or budgets, or none is usable.
    """
    keys = {(r.backend, r.scale, r.task, r.preset, r.budget["seconds"], str(overrides_of(r))) for r in runs}
    if len(keys) != 1:
        raise ValueError(
            f"a baseline needs runs of one backend, scale, task, preset, budget and overrides; got {sorted(keys)}"
        )
    good = [r for r in runs if usable(r)]
    if not good:
        raise ValueError(f"no finished run among {[r.run_id for r in runs]}")
    first = good[0]
    metrics = {m: [r.metric(m) for r in good] for m in gated_metrics(first.terrain)}
    metrics = {m: v for m, v in metrics.items() if all(math.isfinite(x) for x in v)}
    summary = {}
    for metric, values in metrics.items():
        stats = aggregate_metrics({metric: np.asarray(values)[:, None]}, seed=seed, reps=reps)[metric]
        summary[metric] = {name: stats[name].to_list() for name in ("IQM", "Median", "Mean")}
    return Baseline(
        backend=first.backend,
        scale=first.scale,
        task=first.task,
        preset=first.preset,
        budget_s=float(first.budget["seconds"]),
        seeds=tuple(r.seed for r in good),
        metrics=metrics,
        summary=summary,
        provenance={
            "created_utc": datetime.now(UTC).isoformat(),
            "runs": [r.run_id for r in good],
            "excluded_runs": {r.run_id: r.status.value for r in runs if not usable(r)},
            "git_commits": sorted({str(r.provenance.get("git", {}).get("commit")) for r in good}),
            "packages": first.provenance.get("packages", {}),
            "hardware": first.provenance.get("hardware", {}),
            "bootstrap": {"seed": seed, "reps": reps},
        },
        overrides=overrides_of(first),
    )


def overrides_of(record: RunRecord) -> dict[str, Any]:
    """The hyperparameter overrides a run was made with (empty for the preset as it is)."""
    overrides = record.hyperparameters.get("overrides", {})
    return dict(overrides) if isinstance(overrides, dict) else {}


def save_baseline(baseline: Baseline, root: Path) -> Path:
    """Write the baseline file atomically."""
    path = baseline_path(root, baseline.backend, baseline.scale, baseline.task, baseline.preset)
    return write_json_atomic(path, {"schema_version": BASELINE_SCHEMA_VERSION, **to_jsonable(baseline)})


class BaselineError(ValueError):
    """A baseline file that fails validation; the message names the file and the field."""


def _field(raw: dict[str, Any], key: str, kind: type | tuple[type, ...], path: Path) -> Any:
    if key not in raw:
        raise BaselineError(f"{path}: missing field {key!r}")
    value = raw[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BaselineError(f"{path}: field {key!r} has {type(value).__name__} {value!r:.60}; expected {kind}")
    return value


def load_baseline(path: Path) -> Baseline:
    """Read and validate one baseline file.

    Raises:
        BaselineError: Naming the file and the bad field.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc}") from exc
    if not isinstance(raw, dict):
        raise BaselineError(f"{path}: expected a JSON object")
    if raw.get("schema_version") != BASELINE_SCHEMA_VERSION:
        raise BaselineError(
            f"{path}: field 'schema_version' is {raw.get('schema_version')!r}; expected {BASELINE_SCHEMA_VERSION}"
        )
    seeds = _field(raw, "seeds", list, path)
    metrics = _field(raw, "metrics", dict, path)
    for metric, values in metrics.items():
        if not isinstance(values, list) or len(values) != len(seeds):
            raise BaselineError(f"{path}: field 'metrics.{metric}' must list one number per seed ({len(seeds)})")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            raise BaselineError(f"{path}: field 'metrics.{metric}' must hold finite numbers")
    return Baseline(
        backend=_field(raw, "backend", str, path),
        scale=_field(raw, "scale", str, path),
        task=_field(raw, "task", str, path),
        preset=_field(raw, "preset", str, path),
        budget_s=float(_field(raw, "budget_s", (int, float), path)),
        seeds=tuple(int(s) for s in seeds),
        metrics={k: [float(v) for v in vs] for k, vs in metrics.items()},
        summary=_field(raw, "summary", dict, path),
        provenance=_field(raw, "provenance", dict, path),
        overrides=_field(raw, "overrides", dict, path),
    )


def load_baselines(root: Path, backend: str, scale: str) -> dict[tuple[str, str], Baseline]:
    """Every baseline of ``backend``/``scale`` under ``root``, by ``(task, preset)``."""
    folder = root / backend / scale
    if not folder.is_dir():
        return {}
    baselines = {}
    for path in sorted(folder.glob("*.json")):
        baseline = load_baseline(path)
        baselines[(baseline.task, baseline.preset)] = baseline
    return baselines
