"""Env throughput of the embedded backend against the bare physics of the same model, side by side.

    python benchmarks/env_throughput.py [--envs 64 256] [--steps 100] [--repeats 3] [--tasks a1-flat ...]

For each task and batch size, in one process and one after the other on the same world:

- ``env``: ``MujocoVelocityEnv.step`` with zero actions (the robots stand): actuator model and
  contact sensing every substep, rewards, terminations, resets, commands, pushes, observations;
- ``bare``: the same world's ``mj_step`` called ``decimation`` times per control step, the PD
  torques recomputed once per control step (one numpy line) so that the robots stand the same way,
  and nothing else.

Best of ``--repeats`` timings each; prints a Markdown table with the ratio env / bare.  Run it on an
otherwise idle machine: two busy processes halve each other on the 2-core CI machines.
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np

from sacbench.runtime import configure_threads
from sacbench.sim.mujoco import MujocoVelocityEnv
from sacbench.tasks import task_names


def env_rate(env: MujocoVelocityEnv, steps: int) -> float:
    """Env-steps per second of ``env.step`` with zero actions."""
    zero = np.zeros((env.num_envs, env.num_joints))
    start = time.perf_counter()
    for _ in range(steps):
        env.step(zero)
    return steps * env.num_envs / (time.perf_counter() - start)


def bare_rate(env: MujocoVelocityEnv, steps: int) -> float:
    """Env-steps per second of the bare ``mj_step`` loop on a copy of the env's world state."""
    model, data = env.model, mujoco.MjData(env.model)
    mujoco.mj_copyData(data, model, env.data)
    n, j = env.num_envs, env.num_joints
    qpos, qvel, ctrl = data.qpos.reshape(n, 7 + j), data.qvel.reshape(n, 6 + j), data.ctrl.reshape(n, j)
    perm, default = env.world.joint_perm, np.array(env.robot.default_joint_pos)
    kp, kd = np.array(env.robot.actuator.stiffness), np.array(env.robot.actuator.damping)
    limit = np.array(env.robot.actuator.effort_limit)
    implicit = env._implicit
    start = time.perf_counter()
    for _ in range(steps):
        if implicit:
            ctrl[:] = default
        else:
            ctrl[:] = np.clip(kp * (default - qpos[:, 7:][:, perm]) - kd * qvel[:, 6:][:, perm], -limit, limit)
        for _ in range(env.cfg.decimation):
            mujoco.mj_step(model, data)
    return steps * n / (time.perf_counter() - start)


def main() -> None:
    """Print the throughput table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", nargs="+", default=list(task_names()))
    args = parser.parse_args()
    configure_threads()
    print("| task | envs | env (steps/s) | bare physics (steps/s) | env / bare |")
    print("|---|---:|---:|---:|---:|")
    ratios = []
    for task in args.tasks:
        for num_envs in args.envs:
            env = MujocoVelocityEnv(task, num_envs=num_envs, seed=0)
            env_rate(env, 20)  # warm-up: let the robots settle
            best_env = best_bare = 0.0
            for _ in range(args.repeats):  # interleaved, so slow phases of the machine hit both
                best_env = max(best_env, env_rate(env, args.steps))
                best_bare = max(best_bare, bare_rate(env, args.steps))
            ratios.append(best_env / best_bare)
            print(
                f"| {task} | {num_envs} | {best_env:,.0f} | {best_bare:,.0f} | {best_env / best_bare:.0%} |",
                flush=True,
            )
    print(f"\nenv / bare: min {min(ratios):.0%}, median {np.median(ratios):.0%}, max {max(ratios):.0%}")


if __name__ == "__main__":
    main()
