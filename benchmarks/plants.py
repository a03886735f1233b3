"""Planted faults that check the gate's attribution on real benchmark sessions (never loaded by default).

Load with ``PYTHONPATH=benchmarks pytest benchmarks -p plants --sacbench-plant=NAME ...``:

- ``slowdown``: every env step sleeps three times as long as it took (the simulator four times
  slower; PPO's updates are not slowed, so the whole run loses about 40 % of its env steps): the
  same learning per sample, fewer samples in the budget.  The gate must say ``throughput``.
- ``negated_reward``: the agent learns from minus the reward (a sign error in the learning signal),
  at the same speed; the env's own episode returns, which the curves and the evaluation record, are
  untouched.  The gate must say ``learning``.
- ``blind_commands``: the agent sees zeros instead of its velocity command (observation terms 9-11
  of the velocity task: base linear and angular velocity, projected gravity, then the command), at
  the same speed.  Measured: at 2 minutes on A1 flat this does not hurt PPO yet (it has not learned
  to track commands by then; standing still scores more than walking and falling), so it is kept
  for longer budgets and `negated_reward` is the learning defect of the 2-minute check.

The records of a planted session say so (``provenance.plant``), so they are never mistaken for a
night's.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sacbench.bounds import BatchedVecEnv
from sacbench.records import RunRecord
from sacbench.sim.mujoco import MujocoVelocityEnv

COMMAND = slice(9, 12)
"""The velocity command in the observation (``sacbench.sim.mujoco`` builds Isaac Lab's order)."""
SLOWDOWN = 3.0
"""Extra sleep per step, as a share of the step's own time.  (Half the step's time was measured to
cost A1 flat PPO only 3-11 % of its env steps, less than the VM's own drift within an hour: the
simulator is a quarter of a PPO step here.)"""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("sacbench").addoption(
        "--sacbench-plant",
        choices=["slowdown", "negated_reward", "blind_commands"],
        default=None,
        help="A planted fault (plants.py).",
    )


def pytest_configure(config: pytest.Config) -> None:
    plant = config.getoption("--sacbench-plant")
    if plant == "slowdown":
        _plant_slowdown()
    elif plant == "negated_reward":
        _plant_negated_reward()
    elif plant == "blind_commands":
        _plant_blind_commands()
    if plant is not None:
        _mark_records(plant)


def _plant_slowdown() -> None:
    step = MujocoVelocityEnv.step

    def slow_step(self: MujocoVelocityEnv, actions: np.ndarray) -> Any:
        start = time.perf_counter()
        out = step(self, actions)
        time.sleep(SLOWDOWN * (time.perf_counter() - start))
        return out

    MujocoVelocityEnv.step = slow_step  # type: ignore[method-assign]


def _plant_negated_reward() -> None:
    step_wait = BatchedVecEnv.step_wait

    def negated_step_wait(self: BatchedVecEnv) -> Any:
        obs, reward, dones, infos = step_wait(self)  # episode returns are recorded in here, unchanged
        return obs, -reward, dones, infos

    BatchedVecEnv.step_wait = negated_step_wait  # type: ignore[method-assign]


def _plant_blind_commands() -> None:
    reset, step_wait = BatchedVecEnv.reset, BatchedVecEnv.step_wait

    def blind(obs: np.ndarray) -> np.ndarray:
        obs = obs.copy()
        obs[:, COMMAND] = 0.0
        return obs

    def blind_reset(self: BatchedVecEnv) -> Any:
        return blind(reset(self))

    def blind_step_wait(self: BatchedVecEnv) -> Any:
        obs, reward, dones, infos = step_wait(self)
        for info in infos:
            if "terminal_observation" in info:
                info["terminal_observation"] = blind(info["terminal_observation"][None])[0]
        return blind(obs), reward, dones, infos

    BatchedVecEnv.reset = blind_reset  # type: ignore[method-assign]
    BatchedVecEnv.step_wait = blind_step_wait  # type: ignore[method-assign]


def _mark_records(plant: str) -> None:
    """Every record the session writes says which fault was planted (``provenance.plant``)."""
    import sacbench.pytest_plugin as plugin

    save_run = plugin.save_run

    def save_marked(record: RunRecord, folder: Path) -> Path:
        return save_run(replace(record, provenance={**record.provenance, "plant": plant}), folder)

    plugin.save_run = save_marked
