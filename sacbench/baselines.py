"""Stored baselines: per backend, scale, task and preset, what the gate needs of reference runs.

Per seed: the gated final metrics (and the evaluation episode length, which thresholds floor), the
throughput (env steps and gradient steps per second, and the CPU share the run had), the learning
curve (training return against env steps and time) and the checkpoints with their learning
fingerprints, so the gate can tell a slower machine from an agent that learns worse, and say
whether learning was identical; the report draws tonight's curves over the baseline's.
Layout: ``baselines/<backend>/<scale>/<task>__<preset>__<budget>s.json``: one baseline per budget,
so a longer tier (the terrain curriculum at 30 minutes) never replaces the nightly's 2-minute
baseline.  Baselines are never compared across backends, scales, budgets, simulator versions,
evaluation protocols or CPU shares.  Loading validates every field and names the file and field.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sacbench.metrics import (
    CPU_SHARE,
    ENV_FPS,
    EVAL_LENGTH,
    EVAL_PROTOCOL,
    EVAL_RETURN,
    GRAD_STEPS_PER_S,
    TERRAIN_LEVEL_LATE,
)
from sacbench.records import RunRecord, to_jsonable, usable, write_json_atomic
from sacbench.stats import DEFAULT_REPS, aggregate_metrics

BASELINE_SCHEMA_VERSION = 3
"""2 added the evaluation protocol, per-seed throughput and curves (the gate's attribution); 3 the
per-seed CPU share and checkpoints with learning fingerprints."""
CURVE_KEYS = ("time_s", "env_steps", "return_mean")
"""The columns of a run's curve a baseline keeps."""
CHECKPOINT_KEYS = ("env_steps", "return_mean", "fingerprint")
"""The columns of a run's checkpoints a baseline keeps."""
THROUGHPUT_METRICS = (ENV_FPS, GRAD_STEPS_PER_S)


def stat_key(backend: str, scale: str, task: str, preset: str, metric: str) -> str:
    """The key of a group's bootstrap, whatever role the group plays.

    The session report, the baseline file and the gate's baseline column all bootstrap a group's
    values under this key with the report's seed, so one set of values has one interval wherever it
    is printed (a baseline once had a key of its own, and its CI differed from its session's).
    """
    return "/".join((backend, scale, task, preset, metric))


def gated_metrics(terrain: str) -> tuple[str, ...]:
    """Metrics the gate compares: the evaluation return, and the late curriculum level on rough terrain.

    The late level (`TERRAIN_LEVEL_LATE`, the mean over the last 10 % of training), because one
    end-of-training reading is too noisy to gate or to floor.
    """
    return (EVAL_RETURN, TERRAIN_LEVEL_LATE) if terrain == "rough" else (EVAL_RETURN,)


def stored_metrics(terrain: str) -> tuple[str, ...]:
    """Metrics a baseline keeps per seed: the gated ones, and the evaluation episode length.

    The length (survival, in env steps) is not gated; the thresholds' survival floors are derived
    from it (`sacbench.thresholds.rule_metrics`).
    """
    return (*gated_metrics(terrain), EVAL_LENGTH)


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
    eval_protocol: int = 1
    """`sacbench.train.EVAL_PROTOCOL` of the runs; runs evaluated otherwise are not compared."""
    throughput: dict[str, list[float]] = field(default_factory=dict)
    """Per `THROUGHPUT_METRICS` entry, one value per seed."""
    curves: list[list[dict[str, float | None]]] = field(default_factory=list)
    """Per seed, the curve rows (`CURVE_KEYS`)."""
    checkpoints: list[list[dict[str, Any]]] = field(default_factory=list)
    """Per seed, the checkpoint rows (`CHECKPOINT_KEYS`); empty lists for runs that had none."""

    def scores(self, metric: str) -> np.ndarray:
        """``(num_seeds, 1)`` values of ``metric``."""
        return np.asarray(self.metrics[metric], dtype=float)[:, None]


def baseline_path(root: Path, backend: str, scale: str, task: str, preset: str, *, budget_s: float) -> Path:
    """``<root>/<backend>/<scale>/<task>__<preset>__<budget>s.json`` (``a1-flat__sac_tuned__120s.json``).

    The budget is written with every digit a float carries (``.15g``), so two budgets never share a name.
    """
    return root / backend / scale / f"{task}__{preset}__{budget_s:.15g}s.json"


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
    good = sorted((r for r in runs if usable(r)), key=lambda r: r.seed)  # seed order, as every bootstrap takes them
    if not good:
        raise ValueError(f"no finished run among {[r.run_id for r in runs]}")
    first = good[0]
    metrics = {m: [r.metric(m) for r in good] for m in stored_metrics(first.terrain)}
    metrics = {m: v for m, v in metrics.items() if all(math.isfinite(x) for x in v)}
    summary = summarize_metrics((first.backend, first.scale, first.task, first.preset), metrics, seed, reps)
    protocols = {int(r.final.get(EVAL_PROTOCOL) or 1) for r in good}
    if len(protocols) != 1:
        raise ValueError(f"a baseline needs runs of one evaluation protocol; got {sorted(protocols)}")
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
            **({"isaaclab_setup": first.provenance["isaaclab_setup"]} if "isaaclab_setup" in first.provenance else {}),
            "threads": first.provenance.get("threads"),
            "thread_env": first.provenance.get("thread_env", {}),  # instruction-set caps too (`isa_setting`)
            "cpu_pinning": [r.provenance.get("cpu_pinning") for r in good],
            "bootstrap": {"seed": seed, "reps": reps},
        },
        overrides=overrides_of(first),
        eval_protocol=protocols.pop(),
        throughput={m: [r.metric(m) for r in good] for m in THROUGHPUT_METRICS}
        | {CPU_SHARE: [round(r.timing.cpu_share, 4) for r in good]},
        curves=[[{k: row.get(k) for k in CURVE_KEYS} for row in r.curves] for r in good],
        checkpoints=[[{k: row.get(k) for k in CHECKPOINT_KEYS} for row in r.checkpoints] for r in good],
    )


def summarize_metrics(
    group: tuple[str, str, str, str], values: dict[str, list[float]], seed: int, reps: int
) -> dict[str, dict[str, list[float]]]:
    """A baseline's ``summary``: per metric, IQM, median and mean ``[point, low, high]`` of its seeds.

    Bootstrapped under the group's `stat_key`, as its session's report does (one interval per set
    of values).

    Args:
        group: ``(backend, scale, task, preset)``.
        values: Per metric, one value per seed, in seed order.
        seed: Bootstrap seed.
        reps: Bootstrap replications.
    """
    summary = {}
    for metric, per_seed in values.items():
        key = stat_key(*group, metric)
        stats = aggregate_metrics({key: np.asarray(per_seed)[:, None]}, seed=seed, reps=reps)[key]
        summary[metric] = {name: stats[name].to_list() for name in ("IQM", "Median", "Mean")}
    return summary


def overrides_of(record: RunRecord) -> dict[str, Any]:
    """The hyperparameter overrides a run was made with (empty for the preset as it is)."""
    overrides = record.hyperparameters.get("overrides", {})
    return dict(overrides) if isinstance(overrides, dict) else {}


def save_baseline(baseline: Baseline, root: Path) -> Path:
    """Write the baseline file atomically; it replaces the file of the same group and budget.

    The same baseline under the layout before budgets were in the name (``<task>__<preset>.json``,
    same budget) is removed once the new file is written, so the folder keeps one baseline per
    group and budget; any other file is left as it is.
    """
    path = _path_of(baseline, root)
    legacy = path.with_name(f"{baseline.task}__{baseline.preset}.json")
    write_json_atomic(path, {"schema_version": BASELINE_SCHEMA_VERSION, **to_jsonable(baseline)})
    if legacy.exists() and _holds(legacy, _identity(baseline)):
        legacy.unlink()
    return path


def _holds(path: Path, identity: tuple[str, str, str, str, float]) -> bool:
    """Whether ``path`` is a valid baseline of ``identity`` (an unreadable file is never removed)."""
    try:
        return _identity(load_baseline(path)) == identity
    except BaselineError:
        return False


def _path_of(baseline: Baseline, root: Path) -> Path:
    return baseline_path(
        root, baseline.backend, baseline.scale, baseline.task, baseline.preset, budget_s=baseline.budget_s
    )


def _identity(baseline: Baseline) -> tuple[str, str, str, str, float]:
    """What one baseline file stands for: ``(backend, scale, task, preset, budget_s)``."""
    return (baseline.backend, baseline.scale, baseline.task, baseline.preset, baseline.budget_s)


def _read_folder(folder: Path) -> list[tuple[Path, Baseline]]:
    """Every baseline file of one folder, validated, in name order."""
    return [(path, load_baseline(path)) for path in sorted(folder.glob("*.json"))] if folder.is_dir() else []


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
    version = raw.get("schema_version")
    if version not in (1, 2, BASELINE_SCHEMA_VERSION):
        raise BaselineError(
            f"{path}: field 'schema_version' is {version!r}; expected {BASELINE_SCHEMA_VERSION}"
            " (re-make it from its run records: sacbench baseline <session folder> --out <baselines dir>)"
        )
    if version == 1:
        # Made before evaluation protocol 2, without throughput and curves: it loads, and the gate
        # says "evaluation differs" against it instead of comparing two kinds of evaluation.
        raw = {**raw, "eval_protocol": 1, "throughput": {}, "curves": [[] for _ in raw.get("seeds", [])]}
    if version in (1, 2):
        # Made before checkpoints and CPU shares were kept: the gate says it cannot check them.
        raw = {**raw, "checkpoints": [[] for _ in raw.get("seeds", [])]}
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
        eval_protocol=int(_field(raw, "eval_protocol", int, path)),
        throughput=_per_seed(_field(raw, "throughput", dict, path), "throughput", len(seeds), path),
        curves=_curves(_field(raw, "curves", list, path), len(seeds), path),
        checkpoints=_checkpoints(_field(raw, "checkpoints", list, path), len(seeds), path),
    )


def _per_seed(values: dict[str, Any], name: str, num_seeds: int, path: Path) -> dict[str, list[float]]:
    """``{metric: one finite number per seed}``, validated."""
    for metric, listed in values.items():
        if not isinstance(listed, list) or len(listed) != num_seeds:
            raise BaselineError(f"{path}: field '{name}.{metric}' must list one number per seed ({num_seeds})")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in listed):
            raise BaselineError(f"{path}: field '{name}.{metric}' must hold finite numbers")
    return {k: [float(v) for v in vs] for k, vs in values.items()}


def _curves(curves: list[Any], num_seeds: int, path: Path) -> list[list[dict[str, float | None]]]:
    """One list of rows with `CURVE_KEYS` per seed, validated."""
    if len(curves) != num_seeds:
        raise BaselineError(f"{path}: field 'curves' must hold one curve per seed ({num_seeds}), has {len(curves)}")
    for i, rows in enumerate(curves):
        if not isinstance(rows, list) or not all(isinstance(r, dict) and set(r) == set(CURVE_KEYS) for r in rows):
            raise BaselineError(f"{path}: field 'curves[{i}]' must be a list of rows with keys {list(CURVE_KEYS)}")
    return curves


def _checkpoints(rows_per_seed: list[Any], num_seeds: int, path: Path) -> list[list[dict[str, Any]]]:
    """One list of rows with `CHECKPOINT_KEYS` per seed, validated (``[]``: no seed kept any)."""
    if not rows_per_seed:
        return [[] for _ in range(num_seeds)]
    if len(rows_per_seed) != num_seeds:
        raise BaselineError(
            f"{path}: field 'checkpoints' must hold one list per seed ({num_seeds}), has {len(rows_per_seed)}"
        )
    for i, rows in enumerate(rows_per_seed):
        ok = isinstance(rows, list) and all(
            isinstance(r, dict)
            and set(r) == set(CHECKPOINT_KEYS)
            and isinstance(r["env_steps"], int)
            and isinstance(r["fingerprint"], dict)
            for r in rows
        )
        if not ok:
            raise BaselineError(
                f"{path}: field 'checkpoints[{i}]' must be a list of rows with keys {list(CHECKPOINT_KEYS)}"
                " (env_steps an integer, fingerprint a mapping)"
            )
    return rows_per_seed


def all_baselines(root: Path, backend: str, scale: str) -> list[Baseline]:
    """Every baseline of ``backend``/``scale`` under ``root``, every budget.

    Raises:
        BaselineError: If a file fails validation, or two files hold one group at one budget.
    """
    seen: dict[tuple[str, str, str, str, float], Path] = {}
    baselines = []
    for path, baseline in _read_folder(root / backend / scale):
        other = seen.setdefault(_identity(baseline), path)
        if other != path:
            raise BaselineError(
                f"{path} and {other} both hold the {baseline.task} / {baseline.preset} baseline at"
                f" {baseline.budget_s:g} s; keep one (sacbench writes {_path_of(baseline, root).name})"
            )
        baselines.append(baseline)
    return baselines


def baselines_for(records: Iterable[RunRecord], stored: Iterable[Baseline]) -> dict[tuple[str, str], Baseline]:
    """The baseline each ``(task, preset)`` of ``records`` is compared with, from ``stored``.

    The one made at the runs' budget; failing that, the nearest other budget's, so that the gate
    says "budget differs" and names both rather than "no stored baseline" (runs of one group at
    several budgets are not compared at all: the gate says so).
    """
    budgets: dict[tuple[str, str], set[float]] = defaultdict(set)
    for record in records:
        budgets[(record.task, record.preset)].add(float(record.budget["seconds"]))
    candidates: dict[tuple[str, str], list[Baseline]] = defaultdict(list)
    for baseline in stored:
        if (baseline.task, baseline.preset) in budgets:
            candidates[(baseline.task, baseline.preset)].append(baseline)
    return {
        key: min(found, key=lambda b: min(abs(b.budget_s - budget) for budget in budgets[key]))
        for key, found in candidates.items()
    }
