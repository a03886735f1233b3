"""``sacbench bounds``: PPO-percentile action bounds from a run's recorded actions.

The post's method ("Defining Proper Action Bound - Extracting the Limits with PPO"): record the
actions a trained PPO takes and bound SAC to their 2.5th and 97.5th percentiles per joint.  A run
trained with ``record_actions`` keeps percentiles and histograms of its last actions in its record;
this module turns them into a bounds file (read by the ``percentile`` bound mode) and a figure.
"""

from __future__ import annotations

import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sacbench import metrics
from sacbench.bounds import BOUNDS_SCHEMA_VERSION, RECORDED_PERCENTILES, PercentileBounds, bounds_dir
from sacbench.records import RunRecord, to_jsonable, usable, write_json_atomic
from sacbench.tasks import get_task


class BoundsExtractionError(ValueError):
    """A record that cannot give bounds; the message says why and what to do."""


def extract_bounds(record: RunRecord, percentiles: tuple[float, float] = (2.5, 97.5)) -> PercentileBounds:
    """Per-joint percentile bounds from a record's ``recorded_actions/*`` fields.

    Raises:
        BoundsExtractionError: If the run did not finish, recorded no actions, or the percentiles
            are not among those kept in records.
    """
    lo, hi = percentiles
    if not lo < hi:
        raise BoundsExtractionError(f"percentiles {percentiles}: the low one must be below the high one")
    missing = [p for p in percentiles if p not in RECORDED_PERCENTILES]
    if missing:
        raise BoundsExtractionError(f"percentiles {missing} are not recorded; choose from {list(RECORDED_PERCENTILES)}")
    if not usable(record):
        raise BoundsExtractionError(f"{record.run_id} ended as {record.status.value!r}; bounds need a finished run")
    quantiles = record.final.get(metrics.RECORDED_QUANTILES)
    if not quantiles:
        raise BoundsExtractionError(
            f"{record.run_id} recorded no actions; train with record_actions > 0 (sacbench bounds --task ...)"
        )
    table = np.asarray(quantiles, dtype=float)
    low = table[RECORDED_PERCENTILES.index(lo)]
    high = table[RECORDED_PERCENTILES.index(hi)]
    task = get_task(record.task)
    provenance = {
        "source": (
            f"{record.preset} ({record.algo}) on the {record.backend} {record.task} task, "
            f"seed {record.seed}, "
            f"{record.budget['seconds']:g} s budget, eval return {record.final.get(metrics.EVAL_RETURN)}: "
            f"{lo}/{hi} percentiles of its last {record.final.get(metrics.RECORDED_SAMPLES)} actions"
        ),
        "backend": record.backend,
        "run_id": record.run_id,
        "eval_episode_return": record.final.get(metrics.EVAL_RETURN),
        "train_env_steps": record.final.get(metrics.ENV_STEPS),
        "git_commit": record.provenance.get("git", {}).get("commit"),
        "created_utc": datetime.now(UTC).isoformat(),
        "command": shlex.join(["sacbench", *sys.argv[1:]]) if sys.argv and "sacbench" in sys.argv[0] else None,
    }
    return PercentileBounds(
        robot=task.robot.value,
        # the env's order when the record names it (Isaac Lab 3.0 orders joints by physics engine)
        joint_order=tuple(record.bounds.get("joint_names") or task.robot_spec.joint_order),
        percentiles=(lo, hi),
        low=tuple(low.tolist()),
        high=tuple(np.maximum(high, low + 1e-3).tolist()),
        provenance=provenance,
    )


def bounds_to_dict(bounds: PercentileBounds) -> dict[str, Any]:
    """The bounds file's JSON content."""
    return {
        "schema_version": BOUNDS_SCHEMA_VERSION,
        "robot": bounds.robot,
        "joint_order": list(bounds.joint_order),
        "percentiles": list(bounds.percentiles),
        "low": [round(v, 4) for v in bounds.low],
        "high": [round(v, 4) for v in bounds.high],
        "provenance": to_jsonable(bounds.provenance),
    }


def default_bounds_path(backend: str, robot: str) -> Path:
    """``sacbench/data/bounds/<backend>/<robot>.json``: where the ``percentile`` mode looks."""
    return bounds_dir() / backend / f"{robot}.json"


def write_bounds(bounds: PercentileBounds, path: Path) -> Path:
    """Write a bounds file atomically."""
    return write_json_atomic(path, bounds_to_dict(bounds))


def plot_action_histograms(record: RunRecord, bounds: PercentileBounds, path: Path) -> Path:
    """One histogram per joint of the recorded actions, with the extracted bounds as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = record.final[metrics.RECORDED_HISTOGRAM]
    names = bounds.joint_order
    cols = 4
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.3 * rows), squeeze=False)
    for j, name in enumerate(names):
        ax = axes[j // cols][j % cols]
        edges, counts = np.asarray(hist["edges"][j]), np.asarray(hist["counts"][j])
        ax.stairs(counts / max(counts.sum(), 1), edges, fill=True, alpha=0.6)
        for x in (bounds.low[j], bounds.high[j]):
            ax.axvline(x, color="crimson", lw=1)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for k in range(len(names), rows * cols):
        axes[k // cols][k % cols].axis("off")
    lo, hi = bounds.percentiles
    fig.suptitle(
        f"{record.task}: actions of {record.preset}"
        f" (last {record.final.get(metrics.RECORDED_SAMPLES)} samples);"
        f" red: {lo}/{hi} percentiles",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def compare_boxes(task: str) -> str:
    """Per joint, the joint-limits box beside the PPO-percentile box of each committed backend file.

    Returns:
        A text table that also holds the soft limits and the standing pose (radians), so that a
        reader sees where the PPO percentiles command targets beyond the soft limits (the post's
        appendix: policies "learn to produce actions that set the target joint position outside of
        the joint limits").
    """
    from sacbench.bounds import joint_limit_box, load_percentile_bounds
    from sacbench.sim.protocol import Backend

    spec = get_task(task).robot_spec
    low, high = joint_limit_box(spec)
    files = {b.value: bounds_dir() / b.value / f"{spec.name}.json" for b in Backend}
    percentile = {name: load_percentile_bounds(path) for name, path in files.items() if path.exists()}
    header = f"{'joint':<18} {'soft limits (rad)':>18} {'default':>8} {'joint_limits box':>18}"
    header += "".join(f" {f'percentile ({name})':>22}" for name in percentile)
    lines = [
        f"{spec.display_name}: targets = default + {spec.action_scale:g} * action;"
        f" soft limits = the range shrunk by {spec.soft_limit_factor:g} about its middle",
        header,
    ]
    soft, default = spec.soft_joint_limits, spec.default_joint_pos
    for j, name in enumerate(spec.joint_order):
        row = f"{name:<18} {_interval(*soft[j]):>18} {default[j] + 0.0:8.3f} {_interval(low[j], high[j]):>18}"
        for table in percentile.values():
            k = table.joint_order.index(name)
            outside = table.low[k] < low[j] or table.high[k] > high[j]
            row += f" {_interval(table.low[k], table.high[k]) + ('*' if outside else ' '):>22}"
        lines.append(row)
    if percentile:
        lines.append("* the PPO percentiles command targets beyond the soft joint limits")
    return "\n".join(lines)


def _interval(low: float, high: float) -> str:
    """``[low, high]`` in fixed width."""
    return f"[{low:6.2f}, {high:6.2f}]"
