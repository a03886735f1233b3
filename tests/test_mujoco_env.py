"""The embedded MuJoCo backend, for real: physics, sensing, resets, curriculum, observations."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from conftest import quiet_task

from sacbench.sim.mujoco import MujocoVelocityEnv
from sacbench.sim.mujoco.terrain import TerrainMap
from sacbench.sim.protocol import BatchedEnv
from sacbench.tasks import Robot
from sacbench.tasks.velocity import RewardKind, RewardTerm


@pytest.mark.parametrize("robot", [r.value for r in Robot])
def test_every_robot_stands_for_five_seconds_with_zero_action(robot: str) -> None:
    env = MujocoVelocityEnv(quiet_task(f"{robot}-flat"), num_envs=2, seed=0)
    assert isinstance(env, BatchedEnv)
    zero = np.zeros((2, env.num_joints))
    for _ in range(250):  # 5 s at 50 Hz
        _, _, terminated, truncated, _ = env.step(zero)
        assert not terminated.any() and not truncated.any()
    assert (env.projected_gravity[:, 2] < -0.9).all(), "tilted more than 25 degrees"
    assert (env.episode_length == 250).all()


def test_base_pushed_into_the_ground_terminates() -> None:
    env = MujocoVelocityEnv(quiet_task("a1-flat"), num_envs=2, seed=0)
    zero = np.zeros((2, 12))
    for _ in range(10):
        env.step(zero)
    env.data.qpos[2] = 0.03  # robot 0: trunk (half height 0.057 m) pressed into the plane
    _, _, terminated, truncated, extras = env.step(zero)
    assert terminated.tolist() == [True, False] and not truncated.any()
    assert env.episode_length.tolist() == [0, 11]  # robot 0 was reset
    assert extras["log"]["episode_termination/base_contact"] == 1.0
    assert extras["final_obs"].shape == (2, 48)


def test_reward_is_weight_times_step_dt() -> None:
    task = quiet_task("a1-flat", rewards=(RewardTerm("action_rate_l2", RewardKind.ACTION_RATE_L2, -0.01),))
    env = MujocoVelocityEnv(task, num_envs=2, seed=0)
    a = np.full((2, 12), 0.5)
    env.step(a)
    b = np.zeros((2, 12))
    b[0, 0] = 2.0
    _, reward, *_ = env.step(b)
    expected = -0.01 * 0.02 * np.array([1.5**2 + 11 * 0.25, 12 * 0.25])
    np.testing.assert_allclose(reward, expected, rtol=1e-6)


def test_tracking_reward_matches_the_robot_state() -> None:
    task = quiet_task(
        "anymal_c-flat", command=(0.5, 0.0, 0.0),
        rewards=(RewardTerm("track_lin_vel_xy_exp", RewardKind.TRACK_LIN_VEL_XY_EXP, 1.0),),
    )  # fmt: skip
    env = MujocoVelocityEnv(task, num_envs=3, seed=0)
    _, reward, *_ = env.step(np.zeros((3, 12)))
    error = np.sum((np.array([0.5, 0.0]) - env.lin_vel_b[:, :2]) ** 2, axis=1)
    np.testing.assert_allclose(reward, 0.02 * np.exp(-error / 0.25), rtol=1e-6)


def test_observation_layout() -> None:
    env = MujocoVelocityEnv(quiet_task("a1-flat", command=(0.3, -0.2, 0.1)), num_envs=2, seed=0)
    action = np.linspace(-1, 1, 24).reshape(2, 12)
    obs, *_ = env.step(action)
    default = np.array(env.robot.default_joint_pos)
    parts = np.split(obs.astype(np.float64), np.cumsum([3, 3, 3, 3, 12, 12]), axis=1)
    lin, ang, grav, cmd, q, qd, last = parts
    np.testing.assert_allclose(lin, env.lin_vel_b, atol=1e-6)
    np.testing.assert_allclose(ang, env.ang_vel_b, atol=1e-6)
    np.testing.assert_allclose(grav, env.projected_gravity, atol=1e-6)
    np.testing.assert_allclose(cmd, np.tile([0.3, -0.2, 0.1], (2, 1)), atol=1e-6)
    np.testing.assert_allclose(q, env.q - default, atol=1e-6)
    np.testing.assert_allclose(qd, env.qd, atol=1e-5)
    np.testing.assert_allclose(last, action, atol=1e-6)  # the raw action, not the joint target


def test_base_velocity_is_the_centre_of_mass_velocity() -> None:
    env = MujocoVelocityEnv(quiet_task("a1-flat"), num_envs=1, seed=0)
    env._com_offset[0] = (0.1, 0.0, 0.0)
    yaw = math.pi / 2
    env._qpos[0, 3:7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
    env._qvel[0, 0:3] = (0.0, 0.0, 0.0)
    env._qvel[0, 3:6] = (0.0, 0.0, 2.0)  # spinning about z at 2 rad/s
    env._refresh_state()
    # CoM 0.1 m ahead of the base origin: it moves at 0.2 m/s sideways (body +y).
    np.testing.assert_allclose(env.lin_vel_b[0], (0.0, 0.2, 0.0), atol=1e-12)
    np.testing.assert_allclose(env.heading[0], yaw)
    np.testing.assert_allclose(env.projected_gravity[0], (0.0, 0.0, -1.0), atol=1e-12)


def _force_reset_next_step(env: MujocoVelocityEnv) -> None:
    env.episode_length[:] = env.cfg.max_episode_length - 1


def test_curriculum_promotes_demotes_and_wraps() -> None:
    env = MujocoVelocityEnv(quiet_task("anymal_c-rough", command=(1.0, 0.0, 0.0)), num_envs=4, seed=0)
    assert env.terrain is not None
    env.terrain_levels[:] = (3, 3, 9, 0)
    env.env_origins[:] = env.terrain.origins[env.terrain_levels, env.terrain_types]
    env.reset()
    start = env.env_origins.copy()
    # Scripted displacements: 5 m (> half a cell: promote), 0.5 m (< half of 1 m/s * 20 s: demote).
    env._qpos[:, 0] = start[:, 0] + np.array([5.0, 0.5, 5.0, 0.5])
    _force_reset_next_step(env)
    _, _, _, truncated, extras = env.step(np.zeros((4, 12)))
    assert truncated.all()
    levels = env.terrain_levels
    assert levels[0] == 4 and levels[1] == 2 and levels[3] == 0  # demotion stops at 0
    assert 0 <= levels[2] <= 9  # promoted past the top: a random level
    np.testing.assert_allclose(env.env_origins, env.terrain.origins[levels, env.terrain_types])
    assert extras["log"]["curriculum/terrain_level"] == pytest.approx(levels.mean())
    # The robots were spawned on their new cells.
    np.testing.assert_allclose(env.base_pos[:, :2], env.env_origins[:, :2], atol=0.05)


def _step_terrain(step_height: float) -> TerrainMap:
    """A 10 m x 10 m grid, 0.1 m cells, flat with a step of ``step_height`` for x >= 0."""
    x = np.arange(101) * 0.1 - 5.0
    heights = np.tile(np.where(x >= 0.0, step_height, 0.0), (101, 1))
    cfg = quiet_task("a1-rough").cfg.terrain
    assert cfg is not None
    return TerrainMap(heights, -5.0, -5.0, 0.1, np.zeros((1, 1, 3)), np.zeros(1, dtype=int), np.zeros((1, 1)), cfg)


@pytest.mark.parametrize("yaw", [0.0, math.pi / 2])
def test_height_scan_over_a_known_step(yaw: float) -> None:
    env = MujocoVelocityEnv(quiet_task("a1-rough"), num_envs=1, seed=0)
    env.terrain = _step_terrain(0.2)
    env._qpos[0, 0:3] = (0.0, 0.0, 0.7)
    env._qpos[0, 3:7] = (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
    env._refresh_state()
    scan = env._observations(slice(None))[0, 48:]
    pattern = np.array(np.meshgrid(np.arange(-8, 9) / 10, np.arange(-5, 6) / 10, indexing="xy")).reshape(2, -1).T
    world_x = np.cos(yaw) * pattern[:, 0] - np.sin(yaw) * pattern[:, 1]
    on_step = world_x > 1e-9
    below = world_x < -0.1 + 1e-9
    np.testing.assert_allclose(scan[on_step], 0.7 - 0.2 - 0.5, atol=1e-6)
    np.testing.assert_allclose(scan[below], 0.7 - 0.0 - 0.5, atol=1e-6)


def _rollout(seed: int, steps: int = 30) -> tuple[np.ndarray, np.ndarray]:
    env = MujocoVelocityEnv("go1-rough", num_envs=4, seed=seed)
    rng = np.random.default_rng(123)
    observations, rewards = [], []
    for _ in range(steps):
        obs, reward, *_ = env.step(rng.uniform(-1, 1, (4, 12)))
        observations.append(obs)
        rewards.append(reward)
    return np.stack(observations), np.stack(rewards)


def test_same_seed_is_bit_identical_and_seeds_differ() -> None:
    obs_a, rew_a = _rollout(seed=7)
    obs_b, rew_b = _rollout(seed=7)
    assert np.array_equal(obs_a, obs_b) and np.array_equal(rew_a, rew_b)
    obs_c, _ = _rollout(seed=8)
    assert not np.array_equal(obs_a, obs_c)


def _joint_spread(bound: float) -> tuple[float, float]:
    """A1, 100 steps of uniform actions in [-bound, bound]: (fraction of joints within 5 % of a limit,
    mean |q - default|)."""
    env = MujocoVelocityEnv("a1-flat", num_envs=16, seed=0)
    rng = np.random.default_rng(0)
    limits = np.array(env.robot.joint_limits)
    span = limits[:, 1] - limits[:, 0]
    near, deviation = [], []
    for _ in range(100):
        env.step(rng.uniform(-bound, bound, (16, 12)))
        margin = np.minimum(env.q - limits[:, 0], limits[:, 1] - env.q)
        near.append(np.mean(margin < 0.05 * span))
        deviation.append(np.mean(np.abs(env.q - np.array(env.robot.default_joint_pos))))
    return float(np.mean(near)), float(np.mean(deviation))


def test_legacy_bounds_drive_joints_to_their_limits_unit_bounds_do_not() -> None:
    """The post's phenomenon: uniform actions in Box(-100, 100) slam the joints into their limits."""
    legacy_near, legacy_dev = _joint_spread(100.0)
    unit_near, unit_dev = _joint_spread(1.0)
    assert legacy_near > 0.1 and unit_near < 0.01  # measured: 0.21 vs 0.00
    assert legacy_dev > 3 * unit_dev  # measured: 0.70 vs 0.13 rad


def test_bad_actions_are_rejected_with_the_reason() -> None:
    env = MujocoVelocityEnv("a1-flat", num_envs=2, seed=0)
    with pytest.raises(ValueError, match=r"actions of shape \(2, 3\); expected \(2, 12\)"):
        env.step(np.zeros((2, 3)))
    bad = np.zeros((2, 12))
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step(bad)


def test_time_out_is_a_truncation_with_the_final_observation() -> None:
    env = MujocoVelocityEnv(quiet_task("a1-flat"), num_envs=2, seed=0)
    zero = np.zeros((2, 12))
    last, *_ = env.step(zero)
    _force_reset_next_step(env)
    _, _, terminated, truncated, extras = env.step(zero)
    assert truncated.all() and not terminated.any()
    final = extras["final_obs"]
    # The final observation is of the robot before its reset: it stood still, like the step before.
    np.testing.assert_allclose(final[:, 12:24], last[:, 12:24], atol=0.02)
    assert {"episode_reward/track_lin_vel_xy_exp", "metrics/error_vel_xy"} <= set(extras["log"])
    assert (env.episode_length == 0).all()


def test_startup_randomisation_changes_mass_and_com_per_env() -> None:
    env = MujocoVelocityEnv("anymal_c-flat", num_envs=8, seed=0)
    masses = env.model.body_mass[env.world.base_body]
    assert masses.min() >= 26.2 / 1.25 - 1e-9 and masses.max() <= 26.2 * 1.25 + 1e-9
    assert np.unique(masses).size == 8
    assert np.abs(env._com_offset[:, :2]).max() <= 0.05 + 1e-12


def test_bdx_events_follow_the_port() -> None:
    env = MujocoVelocityEnv("bdx-flat", num_envs=4, seed=0)
    assert env.cfg.events.push_interval_s is None
    assert (env.command[:, 1] == 0).all()
    assert ((env.command[:, 0] >= 0.5) | (np.abs(env.command).sum(axis=1) == 0)).all()
    pelvis = env.model.body_mass[env.world.mass_links["pelvis"]]
    assert ((pelvis >= 5.713 - 0.2 - 1e-9) & (pelvis <= 5.713 + 0.5 + 1e-9)).all()


def _mean_speed_after(task_name: str, push_interval_s: tuple[float, float] | None) -> float:
    task = quiet_task(task_name)
    task = replace(task, cfg=replace(task.cfg, events=replace(task.cfg.events, push_interval_s=push_interval_s)))
    env = MujocoVelocityEnv(task, num_envs=64, seed=0)
    for _ in range(3):
        env.step(np.zeros((64, 12)))
    return float(np.linalg.norm(env._qvel[:, :2], axis=1).mean())


def test_pushes_set_the_base_moving() -> None:
    still = _mean_speed_after("a1-flat", None)
    pushed = _mean_speed_after("a1-flat", (0.02, 0.02))  # every env pushed at every step
    assert still < 0.05 and pushed > 0.2


def test_contacts_register_on_the_border_around_the_grid() -> None:
    env = MujocoVelocityEnv(quiet_task("a1-rough"), num_envs=2, seed=0)
    assert env.terrain is not None
    zero = np.zeros((2, 12))
    # Robot 0 stands on the flat border box 5 m beyond the grid (a box-vs-sphere pair puts the robot
    # geom first, unlike plane and heightfield pairs); robot 1 stays where it is.
    env._qpos[0, 0:3] = (env.terrain.x0 - 5.0, 0.0, 0.3)
    for _ in range(25):
        _, _, terminated, _, _ = env.step(zero)
        assert not terminated.any()
    assert env.current_contact_time[0].min() > 0  # all four feet on the border box
    env._qpos[0, 2] = -0.02  # trunk pressed deep into it (a shallow press is over within one
    _, _, terminated, _, _ = env.step(zero)  # substep, which Isaac Lab's 3-substep history misses)
    assert terminated.tolist() == [True, False]
