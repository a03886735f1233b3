"""Time-out-aware bootstrapping on both backends, read off the replay buffer SB3 fills.

An episode cut by its time limit did not end: its last transition must bootstrap from the value of
the observation *before* the reset (the final observation), whereas a fall (a termination) must not
bootstrap at all.  Each backend hands SB3 the final observation and ``TimeLimit.truncated`` through
`sacbench.bounds.BatchedVecEnv`; SB3's off-policy loop stores them (``_store_transition``) and its
buffer turns them into the ``dones`` the critic's target multiplies (``(1 - done) * discount``).
These tests run SB3's own loop on the env as `sacbench.train.build_run` builds it, then sample the
stored transitions through the buffer's own ``_get_samples`` (n-step included), per env.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import quiet_task
from stable_baselines3.common.buffers import ReplayBuffer
from test_isaaclab import StandInManagerBasedRLEnv

import sacbench.train as train_module
from sacbench.algos import Scale
from sacbench.sim.isaaclab import IsaacLabEnv
from sacbench.sim.mujoco import MujocoVelocityEnv
from sacbench.sim.protocol import Backend
from sacbench.train import Budget, RunConfig, build_run

QUICK = {"net_arch": (16, 16), "learning_starts": 10**9}
"""Only the buffer is read: no gradient step is taken (learning never starts)."""


def _samples_at(buffer: ReplayBuffer, rows: list[int], env: int, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The buffer's own sampling of transitions ``rows`` of env ``env`` (it draws the envs at random)."""
    with monkeypatch.context() as patch:
        patch.setattr(np.random, "randint", lambda low, high=None, size=None: np.full(size, env))
        return buffer._get_samples(np.array(rows))


def _stand_in(monkeypatch: pytest.MonkeyPatch) -> list[StandInManagerBasedRLEnv]:
    """Isaac Lab's env replaced by the stand-in: env 0 times out every 2 steps, env 1 falls every 3."""
    made: list[StandInManagerBasedRLEnv] = []

    def make(task: str, num_envs: int, seed: int, **kwargs: Any) -> IsaacLabEnv:
        made.append(StandInManagerBasedRLEnv(num_envs=num_envs, falls=(1,)))
        return IsaacLabEnv(made[-1])

    monkeypatch.setattr(train_module, "make_env", make)
    return made


@pytest.mark.parametrize(("preset", "bootstraps"), [("rsl_rl_sac", True), ("rsl_rl_sac_no_timeout", False)])
def test_on_isaac_lab_a_time_out_bootstraps_from_the_final_observation(
    preset: str, bootstraps: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stand_in(monkeypatch)
    overrides = {"num_envs": 3, **QUICK}
    parts = build_run(
        RunConfig("a1-flat", preset, 0, Budget(60), backend=Backend.ISAACLAB, scale=Scale.CPU, overrides=overrides)
    )
    try:  # one rollout: train_freq (24) steps of each env, every episode ended several times
        parts.model.learn(total_timesteps=3)
    finally:
        parts.venv.close()  # one simulation context per process, as in Isaac Lab
    buffer = parts.model.replay_buffer
    gamma = parts.model.gamma

    # env 0: steps 1-2, time-out (the stand-in's observation counts the episode's steps)
    timed_out = _samples_at(buffer, [0, 1], env=0, monkeypatch=monkeypatch)
    assert timed_out.next_observations[:, 0].tolist() == pytest.approx([2.0, 2.0], rel=1e-4)  # not the reset's 0
    assert timed_out.dones.flatten().tolist() == ([0.0, 0.0] if bootstraps else [1.0, 1.0])
    assert timed_out.discounts.flatten().tolist() == pytest.approx([gamma**2, gamma])  # the n-step return stops
    assert timed_out.rewards.flatten().tolist() == pytest.approx([1 + gamma, 1.0])  # at the episode's end

    # env 1: steps 1-3, a fall: never bootstrapped, whatever the preset
    fell = _samples_at(buffer, [0, 2], env=1, monkeypatch=monkeypatch)
    assert fell.dones.flatten().tolist() == [1.0, 1.0]
    assert fell.next_observations[:, 0].tolist() == pytest.approx([3.0, 3.0], rel=1e-4)


def test_on_the_mirror_time_outs_bootstrap_from_the_final_observation_and_falls_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Real MuJoCo episodes of one second under random actions: some fall, the rest time out."""
    finals: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (terminated, truncated, final obs) per step

    def make(task: str, num_envs: int, seed: int, **kwargs: Any) -> MujocoVelocityEnv:
        env = MujocoVelocityEnv(quiet_task(task, episode_length_s=1.0), num_envs=num_envs, seed=seed)
        step = env.step

        def recording(actions: Any) -> Any:
            out = step(actions)
            finals.append((out[2].copy(), out[3].copy(), np.array(out[4].get("final_obs", out[0]))))
            return out

        env.step = recording  # type: ignore[method-assign]
        return env

    monkeypatch.setattr(train_module, "make_env", make)
    parts = build_run(RunConfig("a1-flat", "rsl_rl_sac", 0, Budget(60), overrides={"num_envs": 8, **QUICK}))
    parts.model.learn(total_timesteps=8 * 120)
    buffer = parts.model.replay_buffer
    timeouts = falls = 0
    for row, (terminated, truncated, final) in enumerate(finals):
        for env in np.flatnonzero(terminated | truncated):
            sample = _samples_at(buffer, [row], env=int(env), monkeypatch=monkeypatch)
            stored = np.asarray(sample.next_observations[0])
            if truncated[env] and not terminated[env]:
                timeouts += 1
                assert float(sample.dones[0, 0]) == 0.0  # bootstrapped
                np.testing.assert_allclose(stored, final[env], rtol=1e-4, atol=1e-4)  # from the final observation
                if row + 1 < buffer.pos:  # not the next episode's first observation
                    assert not np.allclose(stored, buffer.observations[row + 1, env])
            else:
                falls += 1
                assert float(sample.dones[0, 0]) == 1.0  # not bootstrapped
    assert timeouts >= 4 and falls >= 4, f"{timeouts} time-outs and {falls} falls: the scenario needs both"
