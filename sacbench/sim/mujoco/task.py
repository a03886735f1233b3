"""The velocity task's terms as vectorized numpy functions over a batch of robots.

Each function restates an Isaac Lab 3.0.0 ``mdp`` term (``isaaclab/envs/mdp/{rewards,observations}.py``,
``isaaclab_tasks/core/velocity/mdp/rewards.py``, ``isaaclab/actuators/actuator_pd.py``).  Shapes:
``N`` envs, ``J`` joints, ``F`` feet, ``R`` height-scan rays.  Quaternions are MuJoCo's ``(w, x, y, z)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sacbench.tasks.velocity import RewardKind, RewardTerm

FloatArray = np.ndarray
BoolArray = np.ndarray

# Observation noise half-widths (Isaac Lab ObservationsCfg.PolicyCfg, uniform, additive).
NOISE_LIN_VEL = 0.1
NOISE_ANG_VEL = 0.2
NOISE_GRAVITY = 0.05
NOISE_JOINT_POS = 0.01
NOISE_JOINT_VEL = 1.5
NOISE_HEIGHT_SCAN = 0.1
HEIGHT_SCAN_OFFSET = 0.5
"""``height_scan`` returns ``z_base - z_hit - 0.5``."""


def height_scan_pattern() -> FloatArray:
    """Ray offsets ``(R, 2)`` in the yaw frame: GridPatternCfg(resolution=0.1, size=[1.6, 1.0]), x fastest."""
    x = np.arange(-0.8, 0.8 + 1e-9, 0.1)
    y = np.arange(-0.5, 0.5 + 1e-9, 0.1)
    gx, gy = np.meshgrid(x, y, indexing="xy")
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def quat_to_rot(quat: FloatArray) -> FloatArray:
    """Rotation matrices ``(N, 3, 3)`` (body to world) from unit quaternions ``(N, 4)``."""
    w, x, y, z = quat[:, 0], quat[:, 1], quat[:, 2], quat[:, 3]
    rot = np.empty((quat.shape[0], 3, 3))
    rot[:, 0, 0] = 1 - 2 * (y * y + z * z)
    rot[:, 0, 1] = 2 * (x * y - z * w)
    rot[:, 0, 2] = 2 * (x * z + y * w)
    rot[:, 1, 0] = 2 * (x * y + z * w)
    rot[:, 1, 1] = 1 - 2 * (x * x + z * z)
    rot[:, 1, 2] = 2 * (y * z - x * w)
    rot[:, 2, 0] = 2 * (x * z - y * w)
    rot[:, 2, 1] = 2 * (y * z + x * w)
    rot[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return rot


def yaw_quat(yaw: FloatArray) -> FloatArray:
    """Quaternions ``(N, 4)`` of rotations by ``yaw`` about z."""
    quat = np.zeros((yaw.shape[0], 4))
    quat[:, 0] = np.cos(yaw / 2)
    quat[:, 3] = np.sin(yaw / 2)
    return quat


def wrap_to_pi(angle: FloatArray) -> FloatArray:
    """Wrap angles to ``[-pi, pi)``."""
    return (angle + np.pi) % (2 * np.pi) - np.pi


def dc_motor_torque(
    target: FloatArray,
    q: FloatArray,
    qd: FloatArray,
    *,
    kp: FloatArray,
    kd: FloatArray,
    saturation: FloatArray,
    effort_limit: FloatArray,
    velocity_limit: FloatArray,
) -> FloatArray:
    """Isaac Lab's ``DCMotor``: explicit PD, clipped by the torque-speed line and the effort limit.

    Args:
        target: Joint position targets ``(N, J)``.
        q: Joint positions ``(N, J)``.
        qd: Joint velocities ``(N, J)``.
        kp: Stiffness ``(J,)``.
        kd: Damping ``(J,)``.
        saturation: Stall torque of the torque-speed line ``(J,)``.
        effort_limit: Torque clip ``(J,)``.
        velocity_limit: Speed at which the available torque reaches zero ``(J,)``.

    Returns:
        Applied torques ``(N, J)``.
    """
    tau = kp * (target - q) - kd * qd
    v = np.clip(
        qd,
        -velocity_limit * (1 + effort_limit / saturation),
        velocity_limit * (1 + effort_limit / saturation),
    )
    tau_max = np.minimum(saturation * (1.0 - v / velocity_limit), effort_limit)
    tau_min = np.maximum(saturation * (-1.0 - v / velocity_limit), -effort_limit)
    return np.clip(tau, tau_min, tau_max)


@dataclass
class RewardContext:
    """What the reward terms read, after the physics of one env step (before any reset)."""

    lin_vel_b: FloatArray
    """``(N, 3)`` centre-of-mass velocity in the base frame."""
    ang_vel_b: FloatArray
    """``(N, 3)``."""
    projected_gravity: FloatArray
    """``(N, 3)``."""
    base_height: FloatArray
    """``(N,)`` base height above the terrain under the robot (Go2's base-height term)."""
    command: FloatArray
    """``(N, 3)``: vx, vy (base frame), yaw rate."""
    q: FloatArray
    q_rel: FloatArray
    torque: FloatArray
    joint_acc: FloatArray
    action: FloatArray
    prev_action: FloatArray
    soft_limits: FloatArray
    """``(J, 2)``."""
    first_contact: FloatArray
    """``(N, F)`` 1.0 where a foot touched down during this step."""
    last_air_time: FloatArray
    current_air_time: FloatArray
    current_contact_time: FloatArray
    undesired_force: FloatArray
    """``(N, U)`` max normal force of the undesired-contact links over the step's contact history."""
    terminated: BoolArray


RewardFn = Callable[[RewardContext, RewardTerm, np.ndarray], FloatArray]


def _track_lin_vel(c: RewardContext, t: RewardTerm, _: np.ndarray) -> FloatArray:
    error = np.sum(np.square(c.command[:, :2] - c.lin_vel_b[:, :2]), axis=1)
    return np.exp(-error / t.std**2)


def _track_ang_vel(c: RewardContext, t: RewardTerm, _: np.ndarray) -> FloatArray:
    return np.exp(-np.square(c.command[:, 2] - c.ang_vel_b[:, 2]) / t.std**2)


def _moving_command(c: RewardContext) -> FloatArray:
    return (np.linalg.norm(c.command[:, :2], axis=1) > 0.1).astype(np.float64)


def _feet_air_time(c: RewardContext, t: RewardTerm, _: np.ndarray) -> FloatArray:
    reward = np.sum((c.last_air_time - t.threshold) * c.first_contact, axis=1)
    return reward * _moving_command(c)


def _feet_air_time_biped(c: RewardContext, t: RewardTerm, _: np.ndarray) -> FloatArray:
    in_contact = c.current_contact_time > 0.0
    in_mode_time = np.where(in_contact, c.current_contact_time, c.current_air_time)
    single_stance = np.sum(in_contact, axis=1) == 1
    reward = np.min(np.where(single_stance[:, None], in_mode_time, 0.0), axis=1)
    return np.minimum(reward, t.threshold) * _moving_command(c)


def _joint_pos_limits(c: RewardContext, _: RewardTerm, idx: np.ndarray) -> FloatArray:
    lo, hi = c.soft_limits[idx, 0], c.soft_limits[idx, 1]
    q = c.q[:, idx]
    return np.sum(-np.minimum(q - lo, 0.0) + np.maximum(q - hi, 0.0), axis=1)


REWARD_FUNCTIONS: dict[RewardKind, RewardFn] = {
    RewardKind.TRACK_LIN_VEL_XY_EXP: _track_lin_vel,
    RewardKind.TRACK_ANG_VEL_Z_EXP: _track_ang_vel,
    RewardKind.LIN_VEL_Z_L2: lambda c, t, i: np.square(c.lin_vel_b[:, 2]),
    RewardKind.ANG_VEL_XY_L2: lambda c, t, i: np.sum(np.square(c.ang_vel_b[:, :2]), axis=1),
    RewardKind.JOINT_TORQUES_L2: lambda c, t, i: np.sum(np.square(c.torque[:, i]), axis=1),
    RewardKind.JOINT_ACC_L2: lambda c, t, i: np.sum(np.square(c.joint_acc[:, i]), axis=1),
    RewardKind.ACTION_RATE_L2: lambda c, t, i: np.sum(np.square(c.action - c.prev_action), axis=1),
    RewardKind.FEET_AIR_TIME: _feet_air_time,
    RewardKind.FEET_AIR_TIME_POSITIVE_BIPED: _feet_air_time_biped,
    RewardKind.UNDESIRED_CONTACTS: lambda c, t, i: np.sum(c.undesired_force > t.threshold, axis=1).astype(float),
    RewardKind.FLAT_ORIENTATION_L2: lambda c, t, i: np.sum(np.square(c.projected_gravity[:, :2]), axis=1),
    RewardKind.JOINT_POS_LIMITS: _joint_pos_limits,
    RewardKind.JOINT_DEVIATION_L1: lambda c, t, i: np.sum(np.abs(c.q_rel[:, i]), axis=1),
    RewardKind.BASE_HEIGHT_L2: lambda c, t, i: np.square(c.base_height - t.target),
    RewardKind.IS_TERMINATED: lambda c, t, i: c.terminated.astype(np.float64),
}
"""One numpy function per `RewardKind`: ``f(context, term, joint_indices) -> (N,)``, unweighted."""
