"""Isaac Lab's velocity-tracking task as configuration: terms, weights and ranges, per robot.

Everything here restates ``isaaclab_tasks/core/velocity/velocity_env_cfg.py`` (Isaac Lab 3.0.0) and
the per-robot ``flat_env_cfg.py`` / ``rough_env_cfg.py`` overrides as frozen dataclasses.  Reward
names are Isaac Lab's attribute names, so ``episode_reward/<name>`` logs line up with Isaac Lab's
``Episode_Reward/<name>``.  The MuJoCo backend implements each `RewardKind`; the Isaac Lab backend
ignores this module (Isaac Lab has its own).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

LEGACY_ACTION_BOUND = 100.0
"""Isaac Lab 2.x's SB3 wrapper declares ``Box(-100, 100)`` for every task: the bound that breaks SAC."""


class RewardKind(enum.StrEnum):
    """Reward functions (Isaac Lab ``mdp`` function names)."""

    TRACK_LIN_VEL_XY_EXP = "track_lin_vel_xy_exp"
    TRACK_ANG_VEL_Z_EXP = "track_ang_vel_z_exp"
    LIN_VEL_Z_L2 = "lin_vel_z_l2"
    ANG_VEL_XY_L2 = "ang_vel_xy_l2"
    JOINT_TORQUES_L2 = "joint_torques_l2"
    JOINT_ACC_L2 = "joint_acc_l2"
    ACTION_RATE_L2 = "action_rate_l2"
    FEET_AIR_TIME = "feet_air_time"
    FEET_AIR_TIME_POSITIVE_BIPED = "feet_air_time_positive_biped"
    UNDESIRED_CONTACTS = "undesired_contacts"
    FLAT_ORIENTATION_L2 = "flat_orientation_l2"
    JOINT_POS_LIMITS = "joint_pos_limits"
    JOINT_DEVIATION_L1 = "joint_deviation_l1"
    BASE_HEIGHT_L2 = "base_height_l2"
    IS_TERMINATED = "is_terminated"


@dataclass(frozen=True)
class RewardTerm:
    """One weighted reward term; the env multiplies ``weight * value`` by the control step (0.02 s)."""

    name: str
    kind: RewardKind
    weight: float
    std: float = 0.5
    """Kernel width of the tracking terms (Isaac Lab: ``sqrt(0.25)``)."""
    threshold: float = 0.0
    """Air-time threshold (s) or contact-force threshold (N)."""
    target: float = 0.0
    """Target base height (m) above the terrain under the robot."""
    joints: tuple[str, ...] = ()
    """Joint subset for the joint terms; empty means all joints."""


@dataclass(frozen=True)
class CommandsCfg:
    """``UniformVelocityCommandCfg`` of the task."""

    lin_vel_x: tuple[float, float] = (-1.0, 1.0)
    lin_vel_y: tuple[float, float] = (-1.0, 1.0)
    ang_vel_z: tuple[float, float] = (-1.0, 1.0)
    heading: tuple[float, float] = (-math.pi, math.pi)
    heading_command: bool = True
    """Yaw-rate command from the heading error (``rel_heading_envs = 1``)."""
    heading_stiffness: float = 0.5
    rel_standing_envs: float = 0.02
    resampling_time_s: float = 10.0


@dataclass(frozen=True)
class EventsCfg:
    """Startup, reset and interval randomisation."""

    base_mass_scale: tuple[float, float] | None = (1 / 1.25, 1.25)
    """Log-uniform scale of the base mass (Isaac Lab 3.0); ``None`` disables."""
    base_mass_add: tuple[float, float] | None = None
    """Uniform mass added to ``mass_links`` (Isaac Lab 2.x style, used by the BD-X port)."""
    mass_links: tuple[str, ...] = ()
    """Links randomised by ``base_mass_add``; the base link when empty."""
    base_com_range: tuple[float, float, float] = (0.05, 0.05, 0.01)
    """Uniform CoM offset half-ranges of the base (m)."""
    friction: float = 0.8
    """Robot-ground sliding friction (PhysX static 0.8 x terrain 1.0; Newton uses 0.8)."""
    reset_xy: float = 0.5
    reset_yaw: float = 3.14
    reset_velocity: float = 0.5
    """Half-range of the uniform root velocity (all six components) at reset."""
    joint_pos_scale: tuple[float, float] = (0.5, 1.5)
    """Reset joint positions = default * U(scale), clipped to the soft limits."""
    push_interval_s: tuple[float, float] | None = (10.0, 15.0)
    push_velocity_xy: float = 0.5


@dataclass(frozen=True)
class RoughTerrainCfg:
    """``ROUGH_TERRAINS_CFG`` (``isaaclab/terrains/config/rough.py``) on a heightfield."""

    size: float = 8.0
    num_rows: int = 10
    """Difficulty levels."""
    num_cols: int = 20
    """Terrain columns; types are assigned by ``proportions`` as in Isaac Lab's curriculum mode."""
    border_width: float = 20.0
    horizontal_scale: float = 0.1
    """Heightfield resolution (m), Isaac Lab's.  Isaac Lab builds stairs and boxes as meshes with
    vertical walls; on a heightfield every wall becomes a ramp one cell wide (a 0.23 m step rises
    at 66 degrees).  Halving the cell to 0.05 m steepens the ramps to 78 degrees but slows rough
    physics by 25-30 % (measured: ANYmal-C 6.4k vs 8.3k, A1 7.2k vs 9.5k env-steps/s, 128 envs)."""
    proportions: tuple[float, float, float, float, float, float] = (0.2, 0.2, 0.2, 0.2, 0.1, 0.1)
    """pyramid_stairs, pyramid_stairs_inv, boxes, random_rough, hf_pyramid_slope, hf_pyramid_slope_inv."""
    step_height_range: tuple[float, float] = (0.05, 0.23)
    step_width: float = 0.3
    stairs_platform_width: float = 3.0
    stairs_border_width: float = 1.0
    box_grid_width: float = 0.45
    box_height_range: tuple[float, float] = (0.05, 0.2)
    box_platform_width: float = 2.0
    rough_noise_range: tuple[float, float] = (0.02, 0.10)
    rough_noise_step: float = 0.02
    hf_border_width: float = 0.25
    slope_range: tuple[float, float] = (0.0, 0.4)
    slope_platform_width: float = 2.0
    max_init_level: int = 5


SMALL_ROBOT_TERRAIN = RoughTerrainCfg(
    box_height_range=(0.025, 0.1), rough_noise_range=(0.01, 0.06), rough_noise_step=0.01
)
"""A1/Go1/Go2: "scale down the terrains because the robot is small"."""


@dataclass(frozen=True)
class VelocityTaskCfg:
    """The whole task for one robot on one terrain."""

    rewards: tuple[RewardTerm, ...]
    commands: CommandsCfg = CommandsCfg()
    events: EventsCfg = EventsCfg()
    terrain: RoughTerrainCfg | None = None
    """``None``: a flat plane, no height scan, no curriculum."""
    episode_length_s: float = 20.0
    sim_dt: float = 0.005
    decimation: int = 4
    env_spacing: float = 2.5
    contact_threshold: float = 1.0
    """Normal force (N) above which a body is in contact (PhysX's contact-sensor default)."""
    observation_noise: bool = True
    """Isaac Lab's ``enable_corruption`` (off in its play mode)."""

    @property
    def step_dt(self) -> float:
        """Control period (s)."""
        return self.sim_dt * self.decimation

    @property
    def max_episode_length(self) -> int:
        """Steps per episode: ``ceil(episode_length_s / step_dt)``."""
        return math.ceil(round(self.episode_length_s / self.step_dt, 9))

    @property
    def rough(self) -> bool:
        """Whether the task has the terrain generator, height scan and curriculum."""
        return self.terrain is not None


BASE_REWARDS = (
    RewardTerm("track_lin_vel_xy_exp", RewardKind.TRACK_LIN_VEL_XY_EXP, 1.0),
    RewardTerm("track_ang_vel_z_exp", RewardKind.TRACK_ANG_VEL_Z_EXP, 0.5),
    RewardTerm("lin_vel_z_l2", RewardKind.LIN_VEL_Z_L2, -2.0),
    RewardTerm("ang_vel_xy_l2", RewardKind.ANG_VEL_XY_L2, -0.05),
    RewardTerm("dof_torques_l2", RewardKind.JOINT_TORQUES_L2, -1.0e-5),
    RewardTerm("dof_acc_l2", RewardKind.JOINT_ACC_L2, -2.5e-7),
    RewardTerm("action_rate_l2", RewardKind.ACTION_RATE_L2, -0.01),
    RewardTerm("feet_air_time", RewardKind.FEET_AIR_TIME, 0.125, threshold=0.5),
    RewardTerm("undesired_contacts", RewardKind.UNDESIRED_CONTACTS, -1.0, threshold=1.0),
    RewardTerm("flat_orientation_l2", RewardKind.FLAT_ORIENTATION_L2, 0.0),
    RewardTerm("dof_pos_limits", RewardKind.JOINT_POS_LIMITS, 0.0),
)
"""``RewardsCfg`` of the base task, before per-robot overrides."""


def override_rewards(
    rewards: tuple[RewardTerm, ...],
    weights: Mapping[str, float] | None = None,
    remove: tuple[str, ...] = (),
    add: tuple[RewardTerm, ...] = (),
) -> tuple[RewardTerm, ...]:
    """Change weights by name, drop terms, append terms (Isaac Lab's ``__post_init__`` overrides).

    Raises:
        KeyError: If a name in ``weights`` or ``remove`` is not a term, listing the terms.
    """
    names = [r.name for r in rewards]
    for name in (*(weights or {}), *remove):
        if name not in names:
            raise KeyError(f"no reward term {name!r}; terms: {names}")
    weights = weights or {}
    kept = tuple(replace(r, weight=weights.get(r.name, r.weight)) for r in rewards if r.name not in remove)
    return kept + add
