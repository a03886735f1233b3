"""Disney BD-X as an Isaac Lab 3.0 task, registered by sacbench (imports Isaac Lab: GPU side only).

BD-X is not part of Isaac Lab.  This restates the community port (louislelay/disney_bdx_rl_isaaclab,
written for Isaac Lab 2.x) on 3.0's velocity task: the robot from a user-supplied USD (the port
keeps it in Git LFS), the port's implicit PD gains, commands, events and rewards (the same table as
`sacbench.tasks.registry` uses for the MuJoCo mirror), flat, and rough on the shared rough terrain
with the small-robot scaling.  Not run on a real GPU yet (see docs/gpu.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import isaaclab.sim as sim_utils
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.assets import ArticulationCfg
from isaaclab.managers import RewardTermCfg as RewTerm
from isaaclab.managers import SceneEntityCfg
from isaaclab.utils import configclass
from isaaclab_tasks.core.velocity import mdp
from isaaclab_tasks.core.velocity.velocity_env_cfg import LocomotionVelocityRoughEnvCfg, RewardsCfg

from sacbench.robots.bdx import BDX

_USD: dict[str, Path] = {}
_FEET = ".*_foot_link"
_BASE_CONTACT = [
    "pelvis", ".*_shin", ".*_thigh", ".*_hip", ".*_hip_rotation", "ear_.*", "head_body_roll", "head_body_yaw",
    "head_body_pitch", "neck",
]  # fmt: skip


def bdx_articulation(usd_path: Path) -> ArticulationCfg:
    """The port's ``BDX_CFG`` with the user's USD."""
    gains = {joint: (BDX.actuator.stiffness[i], BDX.actuator.damping[i]) for i, joint in enumerate(BDX.joint_order)}
    legs = [j for j in BDX.joint_order if any(k in j for k in ("hip", "knee", "ankle"))]
    head = [j for j in BDX.joint_order if j not in legs]
    return ArticulationCfg(
        prim_path="{ENV_REGEX_NS}/Robot",
        spawn=sim_utils.UsdFileCfg(
            usd_path=str(usd_path),
            activate_contact_sensors=True,
            rigid_props=sim_utils.RigidBodyPropertiesCfg(
                disable_gravity=False, max_linear_velocity=1000.0, max_angular_velocity=1000.0,
                max_depenetration_velocity=1.0,
            ),
            articulation_props=sim_utils.ArticulationRootPropertiesCfg(
                enabled_self_collisions=False, solver_position_iteration_count=4, solver_velocity_iteration_count=0
            ),
        ),
        init_state=ArticulationCfg.InitialStateCfg(pos=(0.0, 0.0, BDX.init_height), joint_pos={".*": 0.0}),
        soft_joint_pos_limit_factor=BDX.soft_limit_factor,
        actuators={
            "legs": ImplicitActuatorCfg(
                joint_names_expr=legs,
                stiffness={j: gains[j][0] for j in legs},
                damping={j: gains[j][1] for j in legs},
            ),
            "head": ImplicitActuatorCfg(
                joint_names_expr=head,
                stiffness={j: gains[j][0] for j in head},
                damping={j: gains[j][1] for j in head},
            ),
        },
    )  # fmt: skip


@configclass
class BdxRewards(RewardsCfg):  # type: ignore[misc]
    """The port's extra terms on top of the base task's."""

    termination_penalty = RewTerm(func=mdp.is_terminated, weight=-200.0)
    joint_deviation_hip = RewTerm(
        func=mdp.joint_deviation_l1, weight=-0.2,
        params={"asset_cfg": SceneEntityCfg("robot", joint_names=[".*_hip_yaw", ".*_hip_roll"])},
    )  # fmt: skip
    joint_deviation_head = RewTerm(
        func=mdp.joint_deviation_l1, weight=-0.3,
        params={"asset_cfg": SceneEntityCfg("robot", joint_names=["head_.*", "neck_.*"])},
    )  # fmt: skip


@configclass
class SacbenchBdxRoughEnvCfg(LocomotionVelocityRoughEnvCfg):  # type: ignore[misc]
    """BD-X on the shared rough terrain (sacbench's own task: the port is flat only)."""

    rewards: BdxRewards = BdxRewards()

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scene.robot = bdx_articulation(_USD["path"])
        self.scene.height_scanner.prim_path = "{ENV_REGEX_NS}/Robot/pelvis"
        self.actions.joint_pos.scale = BDX.action_scale
        terrains = self.scene.terrain.terrain_generator.sub_terrains
        terrains["boxes"].grid_height_range = (0.025, 0.1)
        terrains["random_rough"].noise_range = (0.01, 0.06)
        terrains["random_rough"].noise_step = 0.01
        self.commands.base_velocity.ranges.lin_vel_x = (0.5, 1.0)
        self.commands.base_velocity.ranges.lin_vel_y = (0.0, 0.0)
        self.events.push_robot = None
        self.events.add_base_mass.params["asset_cfg"] = SceneEntityCfg("robot", body_names=["pelvis", "head_body_roll"])
        self.events.add_base_mass.params["mass_distribution_params"] = (-0.2, 0.5)
        self.events.add_base_mass.params["operation"] = "add"
        self.events.add_base_mass.params["distribution"] = "uniform"
        self.events.base_com.params["asset_cfg"] = SceneEntityCfg("robot", body_names="pelvis")
        self.events.base_external_force_torque.params["asset_cfg"] = SceneEntityCfg("robot", body_names="pelvis")
        self.events.reset_robot_joints.params["position_range"] = (1.0, 1.0)
        self.events.reset_base.params["velocity_range"] = {}
        self.rewards.undesired_contacts = None
        self.rewards.feet_air_time = RewTerm(
            func=mdp.feet_air_time_positive_biped, weight=5.0,
            params={"command_name": "base_velocity", "threshold": 0.3,
                    "sensor_cfg": SceneEntityCfg("contact_forces", body_names=_FEET)},
        )  # fmt: skip
        self.rewards.dof_pos_limits.weight = -1.0
        self.rewards.dof_pos_limits.params["asset_cfg"] = SceneEntityCfg("robot", joint_names=".*_ankle")
        self.rewards.dof_torques_l2.weight = -5.0e-6
        self.rewards.track_lin_vel_xy_exp.weight = 2.0
        self.rewards.track_ang_vel_z_exp.weight = 1.0
        self.rewards.action_rate_l2.weight = -0.015
        self.rewards.dof_acc_l2.weight = -3.75e-7
        self.terminations.base_contact.params["sensor_cfg"] = SceneEntityCfg("contact_forces", body_names=_BASE_CONTACT)


@configclass
class SacbenchBdxFlatEnvCfg(SacbenchBdxRoughEnvCfg):
    """The port's flat task."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.sim.physics.default = self.sim.physics.newton_mjwarp
        self.scene.terrain.terrain_type = "plane"
        self.scene.terrain.terrain_generator = None
        self.scene.height_scanner = None
        self.observations.policy.height_scan = None
        self.rewards.flat_orientation_l2.weight = -2.5
        self.curriculum.terrain_levels = None


def register_bdx_tasks(usd_path: Path, env_ids: Mapping[str, str]) -> None:
    """Register the BD-X tasks (once) with the given USD.

    Args:
        usd_path: The robot's USD.
        env_ids: Gym id by terrain (``{"flat": "Sacbench-Velocity-Flat-DisneyBDX", "rough": ...}``,
            from `sacbench.sim.isaaclab.task_id`: this module imports nothing of sacbench's backend).
    """
    _USD["path"] = usd_path
    for terrain, cfg in (("flat", SacbenchBdxFlatEnvCfg), ("rough", SacbenchBdxRoughEnvCfg)):
        env_id = env_ids[terrain]
        if env_id in gym.registry:
            continue
        kwargs: dict[str, Any] = {"env_cfg_entry_point": f"{__name__}:{cfg.__name__}"}
        gym.register(id=env_id, entry_point="isaaclab.envs:ManagerBasedRLEnv", disable_env_checker=True, kwargs=kwargs)
