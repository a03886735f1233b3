"""Overhead of the runner: training throughput through ``train()``'s machinery against bare ``learn()``.

    python benchmarks/train_overhead.py [--presets sac_tuned ppo_sb3] [--steps 200] [--repeats 3]

For each preset, on the same env (the A1 flat mirror with its VecEnv adapter and VecNormalize, as
``train()`` builds it) and the same CPU-scale hyperparameters, in one process:

- ``bare``: the agent's ``learn()`` with no callback;
- ``train()``: the same ``learn()`` instrumented exactly as ``train()`` runs it: timed compiled
  entry points, the loss check after every update, and the budget / curve / schedule callback.

Each side first learns for a warm-up (buffers filled, JIT compiled), then the timed ``learn()``
continues for ``--steps`` env steps; sides alternate, best of ``--repeats``.  Goal: <= 3 % overhead.
"""

from __future__ import annotations

import argparse
import time

from sacbench.algos import Scale, get_preset, make_agent
from sacbench.runtime import configure_threads
from sacbench.sim.protocol import Backend
from sacbench.tasks import get_task
from sacbench.train import (
    Budget,
    CompileTimer,
    RunCallback,
    RunConfig,
    RunState,
    build_vec_env,
    instrument_agent,
    normalize_observations,
)


def _build(preset_name: str, instrumented: bool) -> tuple[object, object | None]:
    preset = get_preset(preset_name)
    params = preset.params(Scale.CPU)
    config = RunConfig(task="a1-flat", preset=preset_name, seed=0, budget=Budget(10**9), backend=Backend.MUJOCO)
    base, _ = build_vec_env(config, get_task(config.task), params.num_envs, 0, preset)
    model = make_agent(preset.algo, params, normalize_observations(base, params), seed=0)
    if not instrumented:
        return model, None
    timer = CompileTimer(enabled=preset.algo.jax)
    instrument_agent(model, timer)
    run = RunState(config, params, base, timer)
    return model, RunCallback(run)


def _rate(model: object, callback: object | None, steps: int, num_envs: int) -> float:
    start = time.perf_counter()
    model.learn(total_timesteps=steps * num_envs, callback=callback, reset_num_timesteps=False)  # type: ignore[attr-defined]
    return steps * num_envs / (time.perf_counter() - start)


def main() -> None:
    """Print the overhead table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["sac_tuned", "ppo_sb3"])
    parser.add_argument("--steps", type=int, default=200, help="timed env steps (x num_envs transitions)")
    parser.add_argument("--warmup", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configure_threads()
    print("| preset | bare learn() (transitions/s) | train() machinery (transitions/s) | overhead |")
    print("|---|---:|---:|---:|")
    for name in args.presets:
        num_envs = get_preset(name).params(Scale.CPU).num_envs
        bare, _ = _build(name, instrumented=False)
        ours, callback = _build(name, instrumented=True)
        _rate(bare, None, args.warmup, num_envs)
        _rate(ours, callback, args.warmup, num_envs)
        best_bare = best_ours = 0.0
        for _ in range(args.repeats):
            best_bare = max(best_bare, _rate(bare, None, args.steps, num_envs))
            best_ours = max(best_ours, _rate(ours, callback, args.steps, num_envs))
        print(f"| {name} | {best_bare:,.0f} | {best_ours:,.0f} | {1 - best_ours / best_bare:+.1%} |", flush=True)


if __name__ == "__main__":
    main()
