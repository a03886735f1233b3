"""Build one sacbench task on the real Isaac Lab 3.0 (CPU, sacbench's assets), step it, report facts as JSON.

Run as ``python probe.py TASK OUT.json``: Isaac Lab allows one env per process, so every task is
probed in a process of its own (`test_real_isaaclab.py` starts them).  What it reports is read off
the real env: shapes, joint and body names, masses, the bodies each contact term bound to, the
log keys after every env resets, and whether the observations and rewards stay finite.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from sacbench.bounds import PERCENTILE, resolve_bounds
from sacbench.sim.isaaclab import make_isaaclab_env
from sacbench.sim.protocol import Backend, as_numpy
from sacbench.tasks import get_task

NUM_ENVS = 4
STEPS = 40


def _bound_bodies(manager: Any, sensor: Any, term: str) -> list[str] | None:
    """The contact-sensor bodies a term's ``sensor_cfg`` resolved to (``None`` if the task has no such term)."""
    if term not in manager.active_terms:
        return None
    ids = manager.get_term_cfg(term).params["sensor_cfg"].body_ids
    names = list(sensor.sensor_names)
    return sorted(names if isinstance(ids, slice) else [names[i] for i in ids])


def _mass_randomized(u: Any, robot: Any) -> list[str]:
    """Bodies whose mass the task's ``add_base_mass`` startup event changed (the base, BD-X's head)."""
    if "add_base_mass" not in u.event_manager.active_terms.get("startup", []):
        return []
    ids = u.event_manager.get_term_cfg("add_base_mass").params["asset_cfg"].body_ids
    names = list(robot.body_names)
    return sorted(names if isinstance(ids, slice) else [names[i] for i in ids])


def _live_gains(robot: Any) -> dict[str, dict[str, dict[str, float]]]:
    """Each actuator group's PD gains by joint, read off the live robot (a neural drive has none).

    Explicit groups (DC motors) are Newton actuators; implicit PD groups are the solver's joint drives.
    """
    from isaaclab.actuators.newton.adapter import read_group_parameter

    sim_gains = {"kp": robot.data.joint_stiffness, "kd": robot.data.joint_damping}
    gains = {}
    for name in robot.actuators:
        joints = robot.actuators._group_joint_names[name]  # no public accessor in Isaac Lab 3.0
        ids = [list(robot.joint_names).index(joint) for joint in joints]
        gains[name] = {}
        for gain in ("kp", "kd"):
            try:
                values = as_numpy(read_group_parameter(robot.actuators, name, "controller", gain))[0]
            except ValueError:  # not executed by a Newton actuator: implicit PD in the solver
                values = as_numpy(sim_gains[gain].torch)[0, ids]
            gains[name][gain] = dict(zip(joints, values.tolist(), strict=True))
    return gains


def probe(task: str) -> dict[str, Any]:
    """Facts of ``task`` on the real env, as plain JSON values."""
    start = time.perf_counter()
    env = make_isaaclab_env(task, num_envs=NUM_ENVS, seed=0, device="cpu")
    built_s = time.perf_counter() - start
    u = env.unwrapped
    robot, sensor = u.scene["robot"], u.scene["contact_forces"]
    spec = get_task(task)
    bounds = resolve_bounds(PERCENTILE, spec, env.action_space, Backend.ISAACLAB, env.joint_names)
    obs, _ = env.reset(seed=0)
    finite = bool(np.isfinite(as_numpy(obs)).all())
    rewards = []
    for _ in range(STEPS):
        obs, reward, *_ = env.step(np.zeros((NUM_ENVS, env.action_space.shape[0])))
        finite &= bool(np.isfinite(as_numpy(obs)).all() and np.isfinite(as_numpy(reward)).all())
        rewards.append(as_numpy(reward).tolist())
    # Time every env out on the next step: each resets, and the log carries every key once.
    u.episode_length_buf[:] = u.max_episode_length - 1
    _, _, terminated, truncated, extras = env.step(np.zeros((NUM_ENVS, env.action_space.shape[0])))
    facts = {
        "task": task,
        "built_s": round(built_s, 1),
        "stepped_s": round(time.perf_counter() - start - built_s, 1),
        "obs_shape": list(as_numpy(obs).shape),
        "action_shape": list(env.action_space.shape),
        "joint_names": list(env.joint_names),
        "bounds_by_joint": {
            name: [low, high] for name, low, high in zip(env.joint_names, bounds.low, bounds.high, strict=True)
        },
        "body_names": list(robot.body_names),
        "body_masses": as_numpy(robot.data.body_mass.torch)[0].tolist(),
        "mass_randomized_bodies": _mass_randomized(u, robot),
        "actuator_cfgs": {name: type(cfg).__name__ for name, cfg in u.cfg.scene.robot.actuators.items()},
        "actuator_gains": _live_gains(robot),
        "sensor_bodies": sorted(sensor.sensor_names),
        "feet_air_time": _bound_bodies(u.reward_manager, sensor, "feet_air_time"),
        "undesired_contacts": _bound_bodies(u.reward_manager, sensor, "undesired_contacts"),
        "base_contact": _bound_bodies(u.termination_manager, sensor, "base_contact"),
        "reward_terms": list(u.reward_manager.active_terms),
        "finite": finite,
        "rewards": rewards,
        "all_reset": bool((as_numpy(terminated) | as_numpy(truncated)).all()),
        "log": {key: float(as_numpy(value)) for key, value in extras.get("log", {}).items()},
        "final_obs_shape": list(as_numpy(extras["final_obs"]).shape) if "final_obs" in extras else None,
        "setup": env.setup,
    }
    env.close()
    return facts


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(probe(sys.argv[1]), indent=1), encoding="utf-8")
