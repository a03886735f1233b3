"""Each reward term, the actuator model and the math helpers against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sacbench.sim.mujoco.task import (
    REWARD_FUNCTIONS,
    RewardContext,
    dc_motor_torque,
    height_scan_pattern,
    quat_to_rot,
    wrap_to_pi,
    yaw_quat,
)
from sacbench.tasks.velocity import RewardKind, RewardTerm


def _ctx(**overrides: np.ndarray) -> RewardContext:
    """Two envs, three joints, two feet; all zero unless overridden."""
    zeros = {
        "lin_vel_b": np.zeros((2, 3)),
        "ang_vel_b": np.zeros((2, 3)),
        "projected_gravity": np.tile([0.0, 0.0, -1.0], (2, 1)),
        "base_height": np.zeros(2),
        "command": np.zeros((2, 3)),
        "q": np.zeros((2, 3)),
        "q_rel": np.zeros((2, 3)),
        "torque": np.zeros((2, 3)),
        "joint_acc": np.zeros((2, 3)),
        "action": np.zeros((2, 3)),
        "prev_action": np.zeros((2, 3)),
        "soft_limits": np.tile([-1.0, 1.0], (3, 1)),
        "first_contact": np.zeros((2, 2)),
        "last_air_time": np.zeros((2, 2)),
        "current_air_time": np.zeros((2, 2)),
        "current_contact_time": np.zeros((2, 2)),
        "undesired_force": np.zeros((2, 4)),
        "terminated": np.zeros(2, dtype=bool),
    }
    zeros.update(overrides)
    return RewardContext(**zeros)  # type: ignore[arg-type]


ALL = np.arange(3)


def _value(kind: RewardKind, ctx: RewardContext, idx: np.ndarray = ALL, **term: float) -> np.ndarray:
    return REWARD_FUNCTIONS[kind](ctx, RewardTerm("t", kind, 1.0, **term), idx)  # type: ignore[arg-type]


def test_every_kind_has_a_function() -> None:
    assert set(REWARD_FUNCTIONS) == set(RewardKind)


def test_tracking_kernels() -> None:
    ctx = _ctx(
        command=np.array([[1.0, 0.0, 0.5], [0.0, 0.0, 0.0]]),
        lin_vel_b=np.array([[0.5, 0.5, 9.0], [0.0, 0.0, 0.0]]),
        ang_vel_b=np.array([[9.0, 9.0, 0.0], [0.0, 0.0, 0.0]]),
    )
    # error 0.25 + 0.25 = 0.5, std 0.5 -> exp(-0.5 / 0.25) = exp(-2); z velocity is ignored
    np.testing.assert_allclose(_value(RewardKind.TRACK_LIN_VEL_XY_EXP, ctx), [math.exp(-2), 1.0])
    np.testing.assert_allclose(_value(RewardKind.TRACK_ANG_VEL_Z_EXP, ctx), [math.exp(-1), 1.0])


def test_l2_penalties() -> None:
    ctx = _ctx(
        lin_vel_b=np.array([[0.0, 0.0, 2.0], [0.0, 0.0, -1.0]]),
        ang_vel_b=np.array([[1.0, 2.0, 7.0], [0.0, 0.0, 0.0]]),
        torque=np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),
        joint_acc=np.array([[10.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
        action=np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]),
        prev_action=np.array([[0.0, 3.0, 1.0], [0.0, 0.0, 0.0]]),
        projected_gravity=np.array([[0.6, 0.0, -0.8], [0.0, 0.0, -1.0]]),
    )
    np.testing.assert_allclose(_value(RewardKind.LIN_VEL_Z_L2, ctx), [4.0, 1.0])
    np.testing.assert_allclose(_value(RewardKind.ANG_VEL_XY_L2, ctx), [5.0, 0.0])
    np.testing.assert_allclose(_value(RewardKind.JOINT_TORQUES_L2, ctx), [14.0, 0.0])
    np.testing.assert_allclose(_value(RewardKind.JOINT_TORQUES_L2, ctx, np.array([2])), [9.0, 0.0])
    np.testing.assert_allclose(_value(RewardKind.JOINT_ACC_L2, ctx), [100.0, 0.0])
    np.testing.assert_allclose(_value(RewardKind.ACTION_RATE_L2, ctx), [5.0, 0.0])
    np.testing.assert_allclose(_value(RewardKind.FLAT_ORIENTATION_L2, ctx), [0.36, 0.0])


def test_feet_air_time_rewards_long_steps_only_when_commanded() -> None:
    ctx = _ctx(
        command=np.array([[1.0, 0.0, 0.0], [0.05, 0.0, 0.0]]),
        first_contact=np.array([[1.0, 1.0], [1.0, 0.0]]),
        last_air_time=np.array([[0.7, 0.3], [0.9, 0.9]]),
    )
    # env 0: (0.7 - 0.5) + (0.3 - 0.5) = 0; env 1: command below 0.1 m/s -> 0
    np.testing.assert_allclose(_value(RewardKind.FEET_AIR_TIME, ctx, threshold=0.5), [0.0, 0.0], atol=1e-12)
    ctx.last_air_time = np.array([[0.9, 0.8], [0.9, 0.9]])
    ctx.first_contact = np.array([[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(_value(RewardKind.FEET_AIR_TIME, ctx, threshold=0.5), [0.4, 0.0])


def test_biped_air_time_single_stance() -> None:
    ctx = _ctx(
        command=np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]),
        current_contact_time=np.array([[0.2, 0.0], [0.2, 0.3]]),
        current_air_time=np.array([[0.0, 0.25], [0.0, 0.0]]),
    )
    # env 0: single stance, min(0.2, 0.25) = 0.2, clipped at 0.3; env 1: double stance -> 0
    np.testing.assert_allclose(_value(RewardKind.FEET_AIR_TIME_POSITIVE_BIPED, ctx, threshold=0.3), [0.2, 0.0])


def test_contact_and_limit_terms() -> None:
    ctx = _ctx(
        undesired_force=np.array([[0.0, 2.0, 5.0, 0.9], [0.0, 0.0, 0.0, 0.0]]),
        q=np.array([[1.5, -1.2, 0.0], [0.0, 0.0, 0.0]]),
        q_rel=np.array([[0.1, -0.2, 0.3], [0.0, 0.0, 0.0]]),
        base_height=np.array([0.3, 0.4]),
        terminated=np.array([True, False]),
    )
    np.testing.assert_allclose(_value(RewardKind.UNDESIRED_CONTACTS, ctx, threshold=1.0), [2.0, 0.0])
    np.testing.assert_allclose(_value(RewardKind.JOINT_POS_LIMITS, ctx), [0.7, 0.0])  # 0.5 over + 0.2 under
    np.testing.assert_allclose(_value(RewardKind.JOINT_DEVIATION_L1, ctx, np.array([1, 2])), [0.5, 0.0])
    np.testing.assert_allclose(_value(RewardKind.BASE_HEIGHT_L2, ctx, target=0.4), [0.01, 0.0])
    np.testing.assert_allclose(_value(RewardKind.IS_TERMINATED, ctx), [1.0, 0.0])


def test_dc_motor_clips_with_the_torque_speed_line() -> None:
    ones = np.ones(1)
    kw = {"kp": 25 * ones, "kd": 0.5 * ones, "saturation": 33.5 * ones, "effort_limit": 33.5 * ones}
    # Standing still, a small error: plain PD.
    tau = dc_motor_torque(np.array([[0.1]]), np.zeros((1, 1)), np.zeros((1, 1)), velocity_limit=21 * ones, **kw)
    assert tau[0, 0] == pytest.approx(2.5)
    # Moving at half the velocity limit in the driving direction: at most 33.5 * (1 - 0.5) = 16.75.
    tau = dc_motor_torque(np.array([[5.0]]), np.zeros((1, 1)), np.array([[10.5]]), velocity_limit=21 * ones, **kw)
    assert tau[0, 0] == pytest.approx(16.75)
    # Braking against the motion may use the full effort limit.
    tau = dc_motor_torque(np.array([[-5.0]]), np.zeros((1, 1)), np.array([[10.5]]), velocity_limit=21 * ones, **kw)
    assert tau[0, 0] == pytest.approx(-33.5)


def test_rotation_helpers() -> None:
    quat = yaw_quat(np.array([math.pi / 2]))
    rot = quat_to_rot(quat)[0]
    np.testing.assert_allclose(rot @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(wrap_to_pi(np.array([3 * math.pi / 2, -3 * math.pi / 2])), [-math.pi / 2, math.pi / 2])


def test_height_scan_pattern_is_isaac_labs_grid() -> None:
    pattern = height_scan_pattern()
    assert pattern.shape == (187, 2)
    np.testing.assert_allclose(pattern[0], [-0.8, -0.5])
    np.testing.assert_allclose(pattern[1], [-0.7, -0.5])  # x varies fastest
    np.testing.assert_allclose(pattern[17], [-0.8, -0.4])
    np.testing.assert_allclose(pattern[-1], [0.8, 0.5])
