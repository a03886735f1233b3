"""Do two MuJoCo versions give the mirror the same physics?  (docs/mirror.md.)

Run once per MuJoCo version, then compare::

    python benchmarks/mujoco_versions.py record traj-4.0.npz
    PYTHONPATH=/path/to/mujoco-3.12 python benchmarks/mujoco_versions.py record traj-3.12.npz
    python benchmarks/mujoco_versions.py compare traj-4.0.npz traj-3.12.npz

Each task steps 8 envs for 300 control steps with the same seeded random actions; the trace is the
observations and rewards of every step.  Measured (MuJoCo 4.0.0 against 3.12.0): a1-flat and
bdx-flat bitwise identical; anymal_c-rough diverges from step 20, go2-rough from step 16.
"""

from __future__ import annotations

import argparse

import mujoco
import numpy as np

from sacbench.sim.mujoco import MujocoVelocityEnv

TASKS = ("a1-flat", "anymal_c-rough", "bdx-flat", "go2-rough")


def record(path: str, steps: int = 300) -> None:
    """Write the traces of every task, under the MuJoCo version imported here."""
    traces = {}
    for task in TASKS:
        env = MujocoVelocityEnv(task, num_envs=8, seed=3)
        env.reset(seed=3)
        rng = np.random.default_rng(0)
        rows = []
        for _ in range(steps):
            obs, reward, *_ = env.step(rng.uniform(-1.0, 1.0, (8, env.num_joints)))
            rows.append(np.concatenate([obs.ravel(), reward.ravel()]))
        traces[task] = np.array(rows)
    np.savez(path, version=mujoco.__version__, **traces)
    print(f"mujoco {mujoco.__version__}: {path}")


def compare(first: str, second: str) -> None:
    """Per task: identical, or the largest difference and the first step that differs."""
    a, b = np.load(first), np.load(second)
    print(f"mujoco {a['version']} vs {b['version']}")
    for task in TASKS:
        diff = np.abs(a[task] - b[task]).max(axis=1)
        if not diff.any():
            print(f"  {task}: bitwise identical")
        else:
            print(f"  {task}: max difference {diff.max():.3g}, first differing step {int(np.argmax(diff > 0))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("record").add_argument("path")
    both = sub.add_parser("compare")
    both.add_argument("first")
    both.add_argument("second")
    args = parser.parse_args()
    if args.command == "record":
        record(args.path)
    else:
        compare(args.first, args.second)


if __name__ == "__main__":
    main()
