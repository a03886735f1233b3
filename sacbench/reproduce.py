"""``sacbench reproduce REPORT_DIR``: re-run a report's runs exactly as they were made, and say what repeated.

Each run of the report is re-made from its own record: task, preset, seed, budget, scale, backend,
hyperparameter overrides and evaluation episodes.  Per task and preset it then says

- whether learning was identical (`sacbench.compare.learning_identity`: the re-runs' fingerprints
  against the original runs' of the same seeds, and whether identity was to be expected here);
- the gate's statistical verdict of the re-runs against the original runs taken as the baseline;
- the throughput ratio to the original machine (env steps per second, re-run over original).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sacbench import metrics
from sacbench.algos.presets import Scale
from sacbench.baselines import build_baseline, group_runs, overrides_of
from sacbench.compare import Comparison, compare_runs, learning_identity, machine_name
from sacbench.records import RunRecord, save_run
from sacbench.sim.protocol import Backend
from sacbench.train import Budget, RunConfig


def config_of(record: RunRecord) -> RunConfig:
    """The `RunConfig` that made ``record`` (its evaluation asked for the episodes it ran)."""
    return RunConfig(
        task=record.task,
        preset=record.preset,
        seed=record.seed,
        budget=Budget(float(record.budget["seconds"]), record.budget.get("max_env_steps")),
        scale=Scale(record.scale),
        backend=Backend(record.backend),
        overrides=overrides_of(record),
        eval_episodes=int(record.final.get(metrics.EVAL_EPISODES) or 64),
        backend_options=dict(record.provenance.get("backend_options") or {}),
    )


@dataclass(frozen=True)
class Reproduction:
    """What repeated of one task and preset."""

    task: str
    preset: str
    seeds: tuple[int, ...]
    identity: str
    comparison: Comparison
    """The re-runs against the original runs as their baseline."""
    throughput_ratio: float
    """Mean env steps per second of the re-runs over the original runs'."""
    machines: tuple[str, str]
    """The re-runs' machine and the original's."""

    def describe(self) -> str:
        """Three lines: identity, verdict, throughput."""
        here, there = self.machines
        where = f"on {here}" if here == there else f"on {here} vs {there}"
        return "\n".join(
            [
                f"{self.task} / {self.preset} (seeds {', '.join(map(str, self.seeds))})",
                f"  {self.identity}",
                f"  verdict against the original runs: {self.comparison.verdict.value} ({self.comparison.reason})",
                f"  throughput: {self.throughput_ratio:.2f}x the original's env steps per second {where}",
            ]
        )


def summarize(originals: Sequence[RunRecord], reruns: Sequence[RunRecord]) -> list[Reproduction]:
    """Per task and preset of ``reruns``: identity, verdict and throughput against ``originals``.

    Raises:
        ValueError: If a group of re-runs has no usable original run to compare with.
    """
    found = []
    by_group = group_runs(originals)
    for key, runs in group_runs(reruns).items():
        before = [r for r in by_group.get(key, []) if r.seed in {run.seed for run in runs}]
        baseline = build_baseline(before)
        _, _, task, preset = key
        (comparison,) = compare_runs(runs, {(task, preset): baseline})
        fps_now = np.mean([r.metric(metrics.ENV_FPS) for r in runs])
        fps_then = np.mean([r.metric(metrics.ENV_FPS) for r in before])
        found.append(
            Reproduction(
                task=task,
                preset=preset,
                seeds=tuple(r.seed for r in runs),
                identity=learning_identity(runs, baseline).replace("the baseline", "the original"),
                comparison=comparison,
                throughput_ratio=float(fps_now / fps_then),
                machines=(
                    machine_name(runs[0].provenance.get("hardware") or {}),
                    machine_name(before[0].provenance.get("hardware") or {}),
                ),
            )
        )
    return found


def reproduce(
    originals: Sequence[RunRecord],
    out: Path,
    trainer: Callable[[RunConfig], RunRecord],
    on_run: Callable[[RunRecord], None] | None = None,
) -> list[Reproduction]:
    """Re-make every run of ``originals`` with ``trainer``, write each record to ``out/runs``, and summarize.

    Args:
        originals: The report's records to re-make (a selection of them, or all).
        out: Folder of the re-runs' records (``out/runs``).
        trainer: `sacbench.executor.train_isolated` (Isaac Lab runs in a process each), or `train`.
        on_run: Called with each record as soon as it is written.
    """
    reruns = []
    for record in originals:
        rerun = trainer(config_of(record))
        save_run(rerun, out / "runs")
        reruns.append(rerun)
        if on_run is not None:
            on_run(rerun)
    return summarize(originals, reruns)
