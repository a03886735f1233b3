"""Real Isaac Lab 3.0 on the CPU beside the mirror and bare MuJoCo: env steps per second, one run.

    .venv-isaaclab/bin/python benchmarks/isaaclab_cpu_throughput.py [--envs 16 64 256] [--tasks a1-flat ...]

Needs the Isaac Lab venv (docs/gpu.md: Isaac Lab on the CPU).  For each task and batch size, one after
the other on the same machine and in one invocation:

- ``isaaclab``: the real Isaac Lab env (Newton MJWarp on Warp's CPU device, sacbench's assets), built
  in a child process of its own (one env per process), ``step`` with zero actions after a warm-up
  that compiles Warp's kernels;
- ``mirror``: `MujocoVelocityEnv.step` with zero actions;
- ``bare``: the mirror world's ``mj_step`` loop (``benchmarks/env_throughput.py``).

Each figure is the best of ``--repeats`` timings of about ``--env-steps`` env steps.  Run it on an
otherwise idle machine: two busy processes halve each other on the 2-core machines.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from env_throughput import bare_rate, env_rate

from sacbench.runtime import configure_threads
from sacbench.sim.mujoco import MujocoVelocityEnv


def steps_for(num_envs: int, env_steps: int) -> int:
    """Control steps that make about ``env_steps`` env steps at ``num_envs`` (at least 10)."""
    return max(10, env_steps // num_envs)


def isaaclab_child(task: str, num_envs: int, steps: int, repeats: int) -> None:
    """Child process: build the real env, warm up, print ``{"rate": best env steps/s, "build_s": ...}``."""
    from sacbench.sim.isaaclab import make_isaaclab_env

    start = time.perf_counter()
    env = make_isaaclab_env(task, num_envs=num_envs, seed=0, device="cpu")
    env.reset(seed=0)
    build_s = time.perf_counter() - start
    zero = np.zeros((num_envs, env.action_space.shape[0]))
    for _ in range(10):  # the first steps compile Warp's CPU kernels
        env.step(zero)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            env.step(zero)
        best = max(best, steps * num_envs / (time.perf_counter() - start))
    env.close()
    print(json.dumps({"rate": best, "build_s": build_s}))


def isaaclab_rate(task: str, num_envs: int, steps: int, repeats: int) -> dict[str, float]:
    """The child's figures (a fresh process per env: Isaac Lab allows one simulation per process)."""
    command = [sys.executable, __file__, "--child", task, str(num_envs), str(steps), str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Print the throughput table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--tasks", nargs="+", default=["a1-flat", "anymal_c-rough"])
    parser.add_argument("--env-steps", type=int, default=4096, help="per timing. Default: %(default)r")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs=4, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    configure_threads()
    if args.child:
        task, num_envs, steps, repeats = args.child
        isaaclab_child(task, int(num_envs), int(steps), int(repeats))
        return
    print(
        "| task | envs | Isaac Lab CPU (steps/s) | build (s) | mirror (steps/s) | bare MuJoCo (steps/s) | mirror / IL |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for task in args.tasks:
        for num_envs in args.envs:
            steps = steps_for(num_envs, args.env_steps)
            isaac = isaaclab_rate(task, num_envs, steps, args.repeats)
            env = MujocoVelocityEnv(task, num_envs=num_envs, seed=0)
            env_rate(env, 20)  # warm-up: let the robots settle
            mirror = max(env_rate(env, steps) for _ in range(args.repeats))
            bare = max(bare_rate(env, steps) for _ in range(args.repeats))
            print(
                f"| {task} | {num_envs} | {isaac['rate']:,.0f} | {isaac['build_s']:.0f} | {mirror:,.0f} | {bare:,.0f}"
                f" | {mirror / isaac['rate']:,.0f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
