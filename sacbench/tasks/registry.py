"""The task registry: a task is a (robot, terrain) pair; one table maps it to its spec.

Names are ``<robot>-<terrain>``, e.g. ``a1-flat`` or ``anymal_c-rough``.  A lookup that misses lists
the valid names and the closest match.
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass, replace
from functools import cache

from sacbench.robots import A1, ANYMAL_B, ANYMAL_C, BDX, GO1, GO2, RobotSpec
from sacbench.tasks.velocity import (
    BASE_REWARDS,
    SMALL_ROBOT_TERRAIN,
    CommandsCfg,
    EventsCfg,
    RewardKind,
    RewardTerm,
    RoughTerrainCfg,
    VelocityTaskCfg,
    override_rewards,
)


class Robot(enum.StrEnum):
    """The six robots of the suite."""

    A1 = "a1"
    GO1 = "go1"
    GO2 = "go2"
    ANYMAL_B = "anymal_b"
    ANYMAL_C = "anymal_c"
    BDX = "bdx"


class Terrain(enum.StrEnum):
    """Flat plane, or Isaac Lab's rough terrain grid with the curriculum."""

    FLAT = "flat"
    ROUGH = "rough"


HEIGHT_SCAN_POINTS = 187
"""Isaac Lab's GridPatternCfg(resolution=0.1, size=[1.6, 1.0]): 17 x 11 rays."""


@dataclass(frozen=True)
class TaskSpec:
    """A robot on a terrain: the facts of the robot and the configuration of the task."""

    robot: Robot
    terrain: Terrain
    robot_spec: RobotSpec
    cfg: VelocityTaskCfg

    @property
    def name(self) -> str:
        """Registry name, ``<robot>-<terrain>``."""
        return f"{self.robot.value}-{self.terrain.value}"

    @property
    def action_dim(self) -> int:
        """Number of joints."""
        return self.robot_spec.num_joints

    @property
    def obs_dim(self) -> int:
        """Policy observation size: 12 + 3 * joints, plus the height scan on rough terrain."""
        dim = 3 + 3 + 3 + 3 + 3 * self.action_dim
        return dim + (HEIGHT_SCAN_POINTS if self.cfg.rough else 0)


# --- per-robot overrides, as in each robot's rough_env_cfg.py / flat_env_cfg.py -------------------

_UNITREE_ROUGH_REWARDS = override_rewards(
    BASE_REWARDS,
    weights={
        "feet_air_time": 0.01,
        "dof_torques_l2": -0.0002,
        "track_lin_vel_xy_exp": 1.5,
        "track_ang_vel_z_exp": 0.75,
        "dof_acc_l2": -2.5e-7,
    },
    remove=("undesired_contacts",),
)
_UNITREE_FLAT_WEIGHTS = {"flat_orientation_l2": -2.5, "feet_air_time": 0.25}
_GO2_ROUGH_REWARDS = override_rewards(
    _UNITREE_ROUGH_REWARDS,
    weights={"action_rate_l2": -0.005},
    # Go2 adds a base-height term (target 0.4 m above the scanned terrain; world height on flat).
    add=(RewardTerm("base_height_l2", RewardKind.BASE_HEIGHT_L2, -30.0, target=0.4),),
)
_ANYMAL_FLAT_WEIGHTS = {"flat_orientation_l2": -5.0, "dof_torques_l2": -2.5e-5, "feet_air_time": 0.5}

# BD-X (louislelay's port, on Isaac Lab 2.x's base task).
_BDX_HIP = ("left_hip_yaw", "right_hip_yaw", "left_hip_roll", "right_hip_roll")
_BDX_HEAD = ("neck_pitch", "head_pitch", "head_yaw", "head_roll")
_BDX_FLAT_REWARDS = override_rewards(
    BASE_REWARDS,
    weights={
        "track_lin_vel_xy_exp": 2.0,
        "track_ang_vel_z_exp": 1.0,
        "dof_torques_l2": -5.0e-6,
        "dof_acc_l2": -3.75e-7,
        "action_rate_l2": -0.015,
        "flat_orientation_l2": -2.5,
    },
    remove=("feet_air_time", "undesired_contacts", "dof_pos_limits"),
    add=(
        RewardTerm("termination_penalty", RewardKind.IS_TERMINATED, -200.0),
        RewardTerm("feet_air_time", RewardKind.FEET_AIR_TIME_POSITIVE_BIPED, 5.0, threshold=0.3),
        RewardTerm("dof_pos_limits", RewardKind.JOINT_POS_LIMITS, -1.0, joints=("left_ankle", "right_ankle")),
        RewardTerm("joint_deviation_hip", RewardKind.JOINT_DEVIATION_L1, -0.2, joints=_BDX_HIP),
        RewardTerm("joint_deviation_head", RewardKind.JOINT_DEVIATION_L1, -0.3, joints=_BDX_HEAD),
    ),
)
_BDX_COMMANDS = CommandsCfg(lin_vel_x=(0.5, 1.0), lin_vel_y=(0.0, 0.0))
_BDX_EVENTS = EventsCfg(
    base_mass_scale=None,
    base_mass_add=(-0.2, 0.5),
    mass_links=("pelvis", "head_body_roll"),
    joint_pos_scale=(1.0, 1.0),
    reset_velocity=0.0,
    push_interval_s=None,
)


def _flat(rough: VelocityTaskCfg, weights: dict[str, float]) -> VelocityTaskCfg:
    """Flat variant: plane, no scan, no curriculum, and the flat reward weights."""
    return replace(rough, terrain=None, rewards=override_rewards(rough.rewards, weights=weights))


_UNITREE_ROUGH = VelocityTaskCfg(rewards=_UNITREE_ROUGH_REWARDS, terrain=SMALL_ROBOT_TERRAIN)
_GO2_ROUGH = VelocityTaskCfg(
    rewards=_GO2_ROUGH_REWARDS,
    terrain=replace(
        SMALL_ROBOT_TERRAIN,
        step_height_range=(0.025, 0.12),
    ),
)
_ANYMAL_ROUGH = VelocityTaskCfg(rewards=BASE_REWARDS, terrain=RoughTerrainCfg())
_BDX_FLAT = VelocityTaskCfg(rewards=_BDX_FLAT_REWARDS, commands=_BDX_COMMANDS, events=_BDX_EVENTS)

_TABLE: dict[tuple[Robot, Terrain], tuple[RobotSpec, VelocityTaskCfg]] = {
    (Robot.A1, Terrain.ROUGH): (A1, _UNITREE_ROUGH),
    (Robot.A1, Terrain.FLAT): (A1, _flat(_UNITREE_ROUGH, _UNITREE_FLAT_WEIGHTS)),
    (Robot.GO1, Terrain.ROUGH): (GO1, _UNITREE_ROUGH),
    (Robot.GO1, Terrain.FLAT): (GO1, _flat(_UNITREE_ROUGH, _UNITREE_FLAT_WEIGHTS)),
    (Robot.GO2, Terrain.ROUGH): (GO2, _GO2_ROUGH),
    (Robot.GO2, Terrain.FLAT): (GO2, _flat(_GO2_ROUGH, _UNITREE_FLAT_WEIGHTS)),
    (Robot.ANYMAL_B, Terrain.ROUGH): (ANYMAL_B, _ANYMAL_ROUGH),
    (Robot.ANYMAL_B, Terrain.FLAT): (ANYMAL_B, _flat(_ANYMAL_ROUGH, _ANYMAL_FLAT_WEIGHTS)),
    (Robot.ANYMAL_C, Terrain.ROUGH): (ANYMAL_C, _ANYMAL_ROUGH),
    (Robot.ANYMAL_C, Terrain.FLAT): (ANYMAL_C, _flat(_ANYMAL_ROUGH, _ANYMAL_FLAT_WEIGHTS)),
    (Robot.BDX, Terrain.FLAT): (BDX, _BDX_FLAT),
    # BD-X rough is sacbench's own: the port is flat only.  Its flat terms (without the flat
    # orientation penalty, as Isaac Lab's rough tasks) on the small-robot rough terrain.
    (Robot.BDX, Terrain.ROUGH): (
        BDX,
        replace(
            _BDX_FLAT,
            terrain=SMALL_ROBOT_TERRAIN,
            rewards=override_rewards(_BDX_FLAT_REWARDS, weights={"flat_orientation_l2": 0.0}),
        ),
    ),
}


@cache
def all_tasks() -> tuple[TaskSpec, ...]:
    """Every task, robots in `Robot` order, flat before rough."""
    return tuple(TaskSpec(robot, terrain, *_TABLE[(robot, terrain)]) for robot in Robot for terrain in Terrain)


def task_names() -> tuple[str, ...]:
    """Every registered task name."""
    return tuple(t.name for t in all_tasks())


class UnknownTaskError(LookupError):
    """A task name that is not in the registry."""


def get_task(name: str | TaskSpec) -> TaskSpec:
    """Look a task up by name (``a1-flat``), or pass a `TaskSpec` through.

    Raises:
        UnknownTaskError: If the name is unknown; the message lists the valid names and the closest.
    """
    if isinstance(name, TaskSpec):
        return name
    for task in all_tasks():
        if task.name == name:
            return task
    valid = task_names()
    close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnknownTaskError(f"unknown task {name!r}.{hint} Valid tasks: {', '.join(valid)}")
