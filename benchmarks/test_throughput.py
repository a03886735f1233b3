"""Speed benchmarks (pytest-benchmark): env step and agent update on the embedded backend.

Track them between commits with ``pytest benchmarks/test_throughput.py --benchmark-autosave`` and
``--benchmark-compare --benchmark-compare-fail=mean:10%``.  They time the same objects the training
benchmarks use: the batched env of a task and the agent of a CPU-scale preset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sacbench.algos import Scale, get_preset, make_agent
from sacbench.bounds import BatchedVecEnv, resolve_bounds
from sacbench.pytest_plugin import STATE
from sacbench.runtime import configure_threads
from sacbench.sim.mujoco import MujocoVelocityEnv
from sacbench.sim.protocol import Backend
from sacbench.tasks import get_task

pytestmark = pytest.mark.benchmark(group="throughput", min_rounds=5)


@pytest.fixture(autouse=True)
def _mujoco_only(request: pytest.FixtureRequest) -> None:
    configure_threads()
    if request.config.stash[STATE].backend is not Backend.MUJOCO:
        pytest.skip("throughput benchmarks time the embedded MuJoCo backend")


@pytest.mark.parametrize("task", ["a1-flat", "anymal_c-rough", "bdx-flat"])
def test_env_step(benchmark: Any, task: str) -> None:
    """One control step of 64 robots (4 physics substeps), zero actions."""
    env = MujocoVelocityEnv(task, num_envs=64, seed=0)
    actions = np.zeros((64, env.num_joints))
    for _ in range(10):
        env.step(actions)
    benchmark(env.step, actions)
    benchmark.extra_info["env_steps_per_call"] = 64


def _agent(preset: str) -> Any:
    params = get_preset(preset).params(Scale.CPU)
    env = MujocoVelocityEnv("a1-flat", num_envs=params.num_envs, seed=0)
    bounds = resolve_bounds(get_preset(preset).bounds, get_task("a1-flat"), env.action_space, Backend.MUJOCO)
    model = make_agent(get_preset(preset).algo, params, BatchedVecEnv(env, bounds), seed=0)
    model.learn(total_timesteps=params.num_envs * 40)  # fill buffers, compile
    return model, params


def test_sac_update(benchmark: Any) -> None:
    """One ``train`` call of CPU-scale sac_tuned (its gradient steps per env step)."""
    model, params = _agent("sac_tuned")
    model.train(gradient_steps=params.gradient_steps, batch_size=params.batch_size)
    for _ in range(params.policy_delay):  # compile every policy-delay offset first
        model.train(gradient_steps=params.gradient_steps, batch_size=params.batch_size)
    benchmark(model.train, gradient_steps=params.gradient_steps, batch_size=params.batch_size)
    benchmark.extra_info["gradient_steps_per_call"] = params.gradient_steps


def test_ppo_update(benchmark: Any) -> None:
    """One ``train`` call of CPU-scale ppo_sb3 (5 epochs over a 24-step rollout of 256 envs)."""
    model, _ = _agent("ppo_sb3")
    benchmark.pedantic(model.train, rounds=3, iterations=1)
