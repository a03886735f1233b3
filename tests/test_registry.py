"""The task registry and the robot tables."""

from __future__ import annotations

import numpy as np
import pytest

from sacbench.robots import ALL_ROBOTS
from sacbench.tasks import Robot, Terrain, all_tasks, get_task, make_env, task_names
from sacbench.tasks.registry import UnknownTaskError


def test_every_robot_on_every_terrain() -> None:
    assert len(all_tasks()) == len(Robot) * len(Terrain) == 12
    assert "anymal_c-rough" in task_names()
    assert get_task("bdx-flat").robot is Robot.BDX


def test_unknown_task_lists_valid_names_and_closest() -> None:
    with pytest.raises(UnknownTaskError, match=r"unknown task 'anymalc-rough'\. Did you mean 'anymal_c-rough'\?"):
        get_task("anymalc-rough")
    with pytest.raises(UnknownTaskError, match="Valid tasks: a1-flat, a1-rough"):
        make_env("nothing-like-it", num_envs=1)


def test_unknown_backend_is_named() -> None:
    with pytest.raises(ValueError, match="unknown backend 'genesis'; expected one of: mujoco, isaaclab"):
        make_env("a1-flat", num_envs=1, backend="genesis")


@pytest.mark.parametrize("task", task_names())
def test_make_reset_step_through_the_registry(task: str) -> None:
    env = make_env(task, num_envs=3, seed=0)
    spec = get_task(task)
    obs, _ = env.reset()
    assert obs.shape == (3, spec.obs_dim) and obs.dtype == np.float32
    assert env.action_space.shape == (spec.action_dim,)
    assert (env.action_space.low == -100).all() and (env.action_space.high == 100).all()
    obs, reward, terminated, truncated, _ = env.step(np.zeros((3, spec.action_dim)))
    assert obs.shape == (3, spec.obs_dim)
    assert reward.shape == terminated.shape == truncated.shape == (3,)
    assert np.isfinite(obs).all() and np.isfinite(reward).all()


def test_observation_sizes_match_isaac_lab() -> None:
    # 48 flat / 235 rough for the 12-joint robots (Isaac Lab), BD-X has 16 joints.
    assert get_task("a1-flat").obs_dim == 48
    assert get_task("anymal_c-rough").obs_dim == 235
    assert get_task("bdx-flat").obs_dim == 60
    assert get_task("bdx-rough").obs_dim == 60 + 187


@pytest.mark.parametrize("robot", ALL_ROBOTS, ids=lambda r: r.name)
def test_robot_tables_are_consistent(robot: object) -> None:
    from sacbench.robots.spec import RobotSpec

    assert isinstance(robot, RobotSpec)
    assert robot.sources and robot.approximations  # every table says where its numbers come from
    lo, hi = np.array(robot.joint_limits).T
    default = np.array(robot.default_joint_pos)
    assert (lo <= default).all() and (default <= hi).all()
    assert len(set(robot.joint_order)) == robot.num_joints


def test_robot_masses_from_the_facts() -> None:
    masses = {r.name: round(r.total_mass, 1) for r in ALL_ROBOTS}
    assert masses == {"a1": 12.5, "go1": 12.7, "go2": 15.2, "anymal_b": 30.6, "anymal_c": 52.0, "bdx": 13.8}
