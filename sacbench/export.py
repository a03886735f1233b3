"""A sacbench run as an Isaac Lab 3.0 ``TrainingBundle`` (``training.json``, schema 1.4).

Isaac Lab's benchmark tools (dashboards, regression comparison) read ``TrainingBundle`` files
(``isaaclab/benchmark/schema.py`` in the ``isaaclab==3.0.0`` wheel; written by
``isaaclab/benchmark/serialize.py`` as the dataclass tree turned into plain JSON).  `training_bundle`
writes a run record in that shape so that a sacbench night on Isaac Lab can be read by them.

What sacbench measures differently, stated in the bundle's ``extra`` (the schema's free-form,
non-contract field) rather than hidden:

- an *iteration* is one curve row of the record (``curve_interval_s`` of training, 5 s by default),
  not an algorithm update: sacbench runs on a wall-clock budget, not an iteration count;
- ``collection_fps`` and ``total_fps`` are both the end-to-end env steps per second of training time
  (sacbench does not time the rollout apart from the updates);
- start-up is one figure (env, agent and launch: ``env_creation``; ``app_launch`` and ``first_step``
  are 0 and are included there);
- resources: the CPU share of the run is measured (process CPU time over wall time); GPU
  utilisation and memory and host RAM are not, and are written as 0 with ``extra`` saying so.

Only Isaac Lab runs are exported: the schema's physics backends do not include the MuJoCo mirror.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sacbench import metrics
from sacbench.records import RunRecord, RunStatus, write_json_atomic
from sacbench.sim.protocol import Backend

BUNDLE_SCHEMA_VERSION = "1.4"
"""``isaaclab.benchmark.schema.SCHEMA_VERSION`` of Isaac Lab 3.0.0."""
EMA_ALPHA = 0.1
"""Smoothing of the ``final_ema`` values (the schema's ``Learning.ema_alpha``)."""

_STATUS = {
    RunStatus.OK: "completed",
    RunStatus.BUDGET_OVERRUN: "completed",
    RunStatus.DIVERGED: "crashed",
    RunStatus.CRASHED: "crashed",
}
_PHYSICS = {"isaacsim_physx": "physx", "physx": "physx", "ovphysx": "ovphysx"}
"""sacbench's physics names to the schema's ``PhysicsBackend`` (Isaac Lab's ``capture.py`` also files
Isaac Sim's PhysX under ``physx``); the Newton presets keep their names."""


class ExportError(ValueError):
    """A record that cannot be written as a bundle; the message says why."""


def _mean_std(values: Sequence[float], peak: bool = False) -> dict[str, Any]:
    """``MeanStd`` of ``values`` (sample std; ``peak`` only where the schema wants one)."""
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        return {"mean": 0.0, "std": 0.0, "peak": 0.0 if peak else None}
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "peak": float(array.max()) if peak else None}


def _curve(values: Sequence[float | None]) -> dict[str, Any]:
    """``LearningCurve``: the last value, its exponential moving average, and the series."""
    series = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not series:
        return {"final_raw": 0.0, "final_ema": 0.0, "series_per_iter": None}
    ema = series[0]
    for value in series[1:]:
        ema = EMA_ALPHA * value + (1.0 - EMA_ALPHA) * ema
    return {"final_raw": series[-1], "final_ema": ema, "series_per_iter": series}


def _physics(record: RunRecord) -> str:
    from sacbench.sim.isaaclab import default_physics

    # The physics the env reported (a CPU run's differs from the task's default), else the one asked for.
    chosen = (
        (record.provenance.get("isaaclab_setup") or {}).get("physics")
        or (record.provenance.get("backend_options") or {}).get("physics")
        or default_physics(record.task).value
    )
    return _PHYSICS.get(chosen, chosen)


def _run(record: RunRecord) -> dict[str, Any]:
    from sacbench.sim.isaaclab import task_id

    return {
        "run_id": record.run_id,
        "framework": "sb3",  # SB3 and SBX (its JAX port) are the schema's "sb3"
        "config": {"physics_backend": _physics(record), "rendering_backend": "none", "presets": []},
        "task": task_id(record.task),
        "seed": record.seed,
        "start_time_utc": str(record.provenance.get("start_utc", "")),
        "end_time_utc": str(record.provenance.get("end_utc", "")),
        "duration_s": float(record.timing.total_s),
        "status": _STATUS[record.status],
        "num_envs": record.num_envs,
        "max_iterations": None,
    }


def _versions(record: RunRecord) -> dict[str, Any]:
    packages = record.provenance.get("packages") or {}
    git = record.provenance.get("git") or {}
    return {
        "isaaclab": str(packages.get("isaaclab")),
        "isaacsim": packages.get("isaacsim"),
        "kit": None,
        "newton": packages.get("newton"),
        "warp": packages.get("warp-lang"),
        "mjwarp": packages.get("mujoco-warp"),
        "torch": str(packages.get("torch")),
        "rsl_rl": None,
        "rl_games": None,
        "skrl": None,
        "sb3": packages.get("stable-baselines3"),
        "git_commit": git.get("commit"),
        "git_branch": git.get("branch"),
        "git_dirty": bool(git.get("dirty", False)),
        "numpy": packages.get("numpy"),
        "isaaclab_newton": None,
        "isaaclab_physx": None,
        "isaaclab_ov": None,
        "isaaclab_tasks": None,
        "isaaclab_rl": None,
        "ovrtx": None,
        "ovphysx": packages.get("ovphysx"),
        "mujoco": packages.get("mujoco"),
        "cuda_bindings": None,
        "usd_core": None,
        "usd_exchange": None,
        "isaaclab_release": None,
    }


def _hardware(record: RunRecord) -> dict[str, Any]:
    hardware = record.provenance.get("hardware") or {}
    gpus = [
        {"name": str(g.get("name")), "mem_gb": round(float(g.get("memory_mib", 0)) / 1024, 2), "compute_cap": "unknown"}
        for g in hardware.get("gpus") or []
    ]
    return {
        "hostname": str(record.provenance.get("hostname", "unknown")),
        "gpu_devices": gpus,
        "cpu_name": str(hardware.get("cpu_model", "unknown")),
        "cpu_count": int(hardware.get("num_logical_cpus", 0)),
        "ram_gb": round(float(hardware.get("memory_gib", 0.0)) * 1.073741824, 2),
    }


def _row_durations(record: RunRecord) -> list[float]:
    """Training seconds covered by each curve row (a bundle "iteration")."""
    times = [float(r.get("time_s") or 0.0) for r in record.curves]
    return [b - a for a, b in zip([0.0, *times], times, strict=False) if b > a]


def _runtime(record: RunRecord) -> dict[str, Any]:
    rows = record.curves
    durations = _row_durations(record)
    steps = [int(r.get("env_steps") or 0) for r in rows]
    per_row = [b - a for a, b in zip([0, *steps], steps, strict=False)]
    fps = [float(value) for r in rows if (value := r.get("env_fps"))]
    return {
        "startup_time_s": {
            "app_launch": 0.0,
            "env_creation": float(record.timing.setup_s),
            "first_step": 0.0,
            "python_imports": None,
            "task_config": None,
        },
        "iterations_completed": len(rows),
        "total_wall_time_s": float(record.timing.total_s),
        "steps_per_iteration": round(float(np.mean(per_row))) if per_row else 0,
        "iteration_time_s": _mean_std(durations),
        "collection_fps": _mean_std(fps),
        "total_fps": _mean_std(fps),
        "iterations_per_s": _mean_std([1.0 / d for d in durations]),
        "environment_step_timing": None,
    }


def _resources(record: RunRecord) -> dict[str, Any]:
    cpu = 100.0 * record.timing.cpu_s / record.timing.total_s if record.timing.total_s else 0.0
    unmeasured = {"mean": 0.0, "std": 0.0, "peak": None}
    return {
        "gpu_util_pct": unmeasured,
        "gpu_mem_gb": {**unmeasured, "peak": 0.0},
        "cpu_util_pct": {"mean": cpu, "std": 0.0, "peak": None},
        "ram_gb": {**unmeasured, "peak": 0.0},
        "devices": {},
    }


def _extra(record: RunRecord) -> dict[str, float | int | str | bool]:
    extra: dict[str, float | int | str | bool] = {
        "sacbench/preset": record.preset,
        "sacbench/algo": record.algo,
        "sacbench/scale": record.scale,
        "sacbench/budget_s": float(record.budget["seconds"]),
        "sacbench/compile_s": float(record.timing.compile_s),
        "sacbench/bounds_mode": str(record.bounds.get("mode")),
        "sacbench/iteration": f"one curve row of the record, median {np.median(_row_durations(record) or [0.0]):.1f} s",
        "sacbench/fps": "collection_fps = total_fps = env steps per second of training time",
        "sacbench/startup": "env_creation holds the whole set-up (launch, env, agent)",
        "sacbench/resources_measured": "cpu_util_pct only; GPU and RAM are not measured (0)",
    }
    for key in (
        metrics.EVAL_RETURN,
        metrics.EVAL_FALL_RATE,
        metrics.EVAL_LENGTH,
        metrics.TERRAIN_LEVEL,
        metrics.TERRAIN_LEVEL_LATE,
        metrics.ENV_STEPS,
    ):
        value = record.metric(key)
        if math.isfinite(value):
            extra[f"sacbench/{key}"] = value
    return extra


def training_bundle(record: RunRecord) -> dict[str, Any]:
    """The record as the plain-JSON form of an Isaac Lab 3.0 ``TrainingBundle`` (schema 1.4).

    Raises:
        ExportError: For a run that is not on Isaac Lab.
    """
    if record.backend != Backend.ISAACLAB.value:
        raise ExportError(
            f"{record.run_id} ran on {record.backend!r}; Isaac Lab's bundle schema has no physics backend for"
            " the MuJoCo mirror, so only Isaac Lab runs are exported"
        )
    return {
        "run": _run(record),
        "versions": _versions(record),
        "hardware": _hardware(record),
        "runtime": _runtime(record),
        "resources": _resources(record),
        "learning": {
            "ema_alpha": EMA_ALPHA,
            "reward": _curve([r.get("return_mean") for r in record.curves]),
            "ep_length": _curve([r.get("length_mean") for r in record.curves]),
            "success_rate": None,
        },
        "success_rate": None,
        "checkpoint_path": None,
        "video_path": None,
        "extra": _extra(record),
        "schema_version": BUNDLE_SCHEMA_VERSION,
    }


def write_training_bundle(record: RunRecord, folder: Path) -> Path:
    """Write ``<folder>/<run_id>.training.json`` atomically."""
    return write_json_atomic(folder / f"{record.run_id}.training.json", training_bundle(record))
