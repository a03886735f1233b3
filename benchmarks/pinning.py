"""Pinned against unpinned, side by side: what one core per run changes for SAC and PPO on the mirror.

For each preset and seed, one run pinned to a core (``SACBENCH_PIN=on``, the default) and one
unpinned (``SACBENCH_PIN=off``: the OS spreads XLA's and torch's threads over every core), one
after the other, each through ``sacbench run`` in its own process, on a machine with nothing else
running (the unpinned runs need the second core idle to show what they took).  The records go to
``<out>/pinned/`` and ``<out>/unpinned/``; the table gives, per preset and mode, the CPU share
(CPU-seconds per second), env steps, gradient steps and evaluation return, mean over seeds.

Run: ``python benchmarks/pinning.py --out reports/reference/pinning`` (2-minute runs: about 2.5
minutes each); ``--table`` prints the table of an existing folder without running anything.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sacbench import metrics
from sacbench.records import load_runs, run_id

PRESETS = ("sac_tuned", "sac_cpu_tuned", "ppo_sb3")
MODES = {"pinned": "on", "unpinned": "off"}


def run(task: str, preset: str, seed: int, *, budget: str, mode: str, out: Path) -> None:
    """One ``sacbench run`` with ``SACBENCH_PIN`` set for ``mode``; skipped when its record exists."""
    folder = out / mode
    if (folder / f"{run_id(task, preset, seed)}.json").exists():
        return
    env = dict(os.environ, SACBENCH_PIN=MODES[mode])
    cmd = [sys.executable, "-m", "sacbench.cli", "run", "--task", task, "--preset", preset, "--seed", str(seed),
           "--budget", budget, "--out", str(folder), "--no-progress"]  # fmt: skip
    subprocess.run(cmd, env=env, check=True)


def table(out: Path, task: str) -> list[str]:
    """Per preset and mode: CPU share, env steps, gradient steps, return (means over the seeds run)."""
    lines = [
        "| preset | mode | seeds | CPU-s per s | env steps | gradient steps | eval return (per seed) |",
        "|---|---|---|---|---|---|---|",
    ]
    for preset in PRESETS:
        for mode in MODES:
            folder = out / mode
            runs = [r for r in load_runs(folder) if (r.task, r.preset) == (task, preset)] if folder.is_dir() else []
            if not runs:
                continue
            share = np.mean([r.timing.cpu_share for r in runs])
            steps = np.mean([r.metric(metrics.ENV_STEPS) for r in runs])
            grads = np.mean([r.metric(metrics.GRAD_STEPS) for r in runs])
            returns = [r.metric(metrics.EVAL_RETURN) for r in runs]
            per_seed = ", ".join(f"{x:.1f}" for x in returns)
            lines.append(
                f"| {preset} | {mode} | {len(runs)} | {share:.2f} | {steps:,.0f} | {grads:,.0f} |"
                f" {np.mean(returns):.2f} ({per_seed}) |"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/reference/pinning"))
    parser.add_argument("--task", default="a1-flat")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--budget", default="2m")
    parser.add_argument("--table", action="store_true", help="print the table of --out; run nothing")
    args = parser.parse_args(argv)
    if not args.table:
        for seed in range(args.seeds):
            for preset in PRESETS:
                for mode in MODES:  # interleaved, so that a drift of the machine reaches both modes alike
                    run(args.task, preset, seed, budget=args.budget, mode=mode, out=args.out)
    print("\n".join(table(args.out, args.task)))


if __name__ == "__main__":
    main()
