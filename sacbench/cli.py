"""The ``sacbench`` command line: ``doctor``, ``run``, ``report``, ``compare``, ``bounds``, ``tune``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _cmd_doctor(args: argparse.Namespace) -> int:
    from sacbench.doctor import doctor_report

    print(doctor_report(as_json=args.json))
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    import numpy as np

    from sacbench.sim.mujoco import MujocoVelocityEnv
    from sacbench.sim.mujoco.render import render_robot, save_png

    env = MujocoVelocityEnv(args.task, num_envs=1, seed=args.seed)
    zero = np.zeros((1, env.num_joints))
    for _ in range(args.steps):
        env.step(zero)
    path = save_png(render_robot(env, width=args.width, height=args.height), Path(args.out))
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per job."""
    parser = argparse.ArgumentParser(prog="sacbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser("doctor", help="print versions, hardware and usable backends (for bug reports)")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.set_defaults(func=_cmd_doctor)

    render = sub.add_parser(
        "render", help="save a PNG of a robot of the embedded backend after standing still"
    )
    render.add_argument("task", help="task name, e.g. a1-flat")
    render.add_argument("--out", required=True, metavar="PNG", help="output file")
    render.add_argument(
        "--steps", type=int, default=50, help="zero-action steps before the picture (default: 50)"
    )
    render.add_argument("--seed", type=int, default=0)
    render.add_argument("--width", type=int, default=640)
    render.add_argument("--height", type=int, default=480)
    render.set_defaults(func=_cmd_render)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sacbench`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
