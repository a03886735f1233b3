"""Task registry: ``Robot`` x ``Terrain`` -> `TaskSpec`, and `make_env` to build one on a backend."""

from __future__ import annotations

from sacbench.sim.protocol import Backend, BatchedEnv, parse_backend
from sacbench.tasks.registry import Robot, TaskSpec, Terrain, all_tasks, get_task, task_names
from sacbench.tasks.velocity import LEGACY_ACTION_BOUND, VelocityTaskCfg


def make_env(
    task: str | TaskSpec,
    num_envs: int,
    seed: int = 0,
    backend: Backend | str = Backend.MUJOCO,
    **kwargs: object,
) -> BatchedEnv:
    """Build the batched env of ``task`` on ``backend``.

    Args:
        task: Task name such as ``"anymal_c-rough"`` (see `task_names`) or a `TaskSpec`.
        num_envs: Number of robots simulated together.
        seed: Seeds the terrain, randomisation and every draw of the episodes.
        backend: ``"mujoco"`` (embedded CPU backend) or ``"isaaclab"`` (GPU).
        **kwargs: Backend options (Isaac Lab: ``device``, ``physics``, ...).

    Raises:
        LookupError: If the task name is unknown (the message lists the valid names).
        ValueError: If the backend name is unknown.
    """
    spec = get_task(task)
    backend = parse_backend(backend)
    if backend is Backend.MUJOCO:
        from sacbench.sim.mujoco import MujocoVelocityEnv

        return MujocoVelocityEnv(spec, num_envs=num_envs, seed=seed, **kwargs)  # type: ignore[arg-type]
    from sacbench.sim.isaaclab import make_isaaclab_env

    return make_isaaclab_env(spec, num_envs=num_envs, seed=seed, **kwargs)  # type: ignore[arg-type]


__all__ = [
    "LEGACY_ACTION_BOUND",
    "Robot",
    "TaskSpec",
    "Terrain",
    "VelocityTaskCfg",
    "all_tasks",
    "get_task",
    "make_env",
    "task_names",
]


def return_scale(task: str) -> float:
    """Best possible return: perfect tracking, no penalty (sum of tracking weights x episode seconds).

    Used to normalise returns to [.., 1] for the optimality gap and performance profiles, and as
    the scale of a gate rule's relative least effect.
    """
    from sacbench.tasks.velocity import RewardKind

    cfg = get_task(task).cfg
    tracking = (RewardKind.TRACK_LIN_VEL_XY_EXP, RewardKind.TRACK_ANG_VEL_Z_EXP)
    return sum(t.weight for t in cfg.rewards if t.kind in tracking) * cfg.episode_length_s


def metric_scale(task: str, metric: str) -> float:
    """The natural scale of a gated metric: the best possible return, or the number of terrain levels.

    Raises:
        ValueError: For a metric without a scale.
    """
    from sacbench import metrics

    if metric == metrics.EVAL_RETURN:
        return return_scale(task)
    if metric in metrics.LEVEL_METRICS:
        terrain = get_task(task).cfg.terrain
        if terrain is None:
            raise ValueError(f"task {task!r} has no terrain curriculum, so no {metric} scale")
        return float(terrain.num_rows)
    expected = ", ".join((metrics.EVAL_RETURN, *metrics.LEVEL_METRICS))
    raise ValueError(f"metric {metric!r} has no scale; expected one of {expected}")
