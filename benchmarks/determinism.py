"""Learning identity, measured: the same seeds run serially, under xdist, and on an AVX2-only code path.

Three ways of running the same configurations (A1 flat, ``sac_tuned``, ``sac_cpu_tuned`` and
``ppo_sb3``, seeds 0 and 1, 30 s each, one core per run):

- ``serial``: ``sacbench run``, one run after the other (the reference);
- ``xdist``: the benchmark suite under ``pytest -n 2``: two workers, each run on its own core, the
  two seeds of a preset at the same time;
- ``avx2``: ``sacbench run`` again, with every numerical library held to the AVX2 instruction set
  (`AVX2_ONLY`), as on a CPU without AVX-512.  The machine's CPU model stays the same, so this
  isolates one way in which another CPU model changes the code a run executes.

Each mode's runs are compared with the serial runs of the same seed checkpoint by checkpoint
(`sacbench.fingerprint.first_divergence`), and through the real gate (`compare_runs` against a
baseline built from the serial runs), whose identity sentence is printed.  The records go to
``<out>/<mode>/``; the table to ``<out>/table.md``.

Run: ``python benchmarks/determinism.py --out reports/reference/determinism`` on a machine with two
idle cores (about 12 minutes; ``--modes serial,avx2`` needs one); ``--table`` prints the table of an
existing folder, running nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from sacbench.baselines import build_baseline
from sacbench.compare import compare_runs
from sacbench.fingerprint import first_divergence
from sacbench.records import RunRecord, load_runs, run_id

TASK = "a1-flat"
PRESETS = ("sac_tuned", "sac_cpu_tuned", "ppo_sb3")
SEEDS = (0, 1)
BUDGET = "30s"
EVAL_EPISODES = 16
MODES = ("serial", "xdist", "avx2")

AVX2_ONLY = {
    "XLA_FLAGS": "--xla_cpu_max_isa=AVX2",  # XLA's CPU code generation (SBX)
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's vectorised kernels (SB3)
    "DNNL_MAX_CPU_ISA": "AVX2",  # oneDNN, under torch
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",  # MKL, under torch
    "OPENBLAS_CORETYPE": "Haswell",  # numpy's BLAS
    "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR",
}
"""Environment that holds each library of a run to AVX2 (each reads it when it loads)."""


def _sacbench_run(preset: str, folder: Path, env: dict[str, str]) -> None:
    """The serial runs of ``preset`` into ``folder``; seeds whose record exists are skipped."""
    seeds = [s for s in SEEDS if not (folder / f"{run_id(TASK, preset, s)}.json").exists()]
    if not seeds:
        return
    cmd = [sys.executable, "-m", "sacbench.cli", "run", "--task", TASK, "--preset", preset,
           "--seed", *map(str, seeds), "--budget", BUDGET, "--eval-episodes", str(EVAL_EPISODES),
           "--out", str(folder), "--no-progress"]  # fmt: skip
    subprocess.run(cmd, env=env, check=True)


def _xdist_session(folder: Path) -> None:
    """Every preset and seed through the benchmark suite on two xdist workers; nothing when all records exist.

    The session reports into ``folder/session`` (resumable there); its records are then moved up into
    ``folder``, flat as the other modes' are, and the rest removed: a session folder would read as a
    night of 30 s runs on the history page of the reference folder it sits in.
    """
    if all((folder / f"{run_id(TASK, p, s)}.json").exists() for p in PRESETS for s in SEEDS):
        return
    session = folder / "session"
    session.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pytest", "benchmarks/test_locomotion.py", "-p", "no:cacheprovider", "-q",
           "-n", "2", "-k", f"{TASK}-", "--sacbench-presets", ",".join(PRESETS),
           "--sacbench-seeds", str(len(SEEDS)), "--sacbench-budget", BUDGET,
           "--sacbench-eval-episodes", str(EVAL_EPISODES), "--sacbench-compare-fail", "none",
           "--sacbench-resume", str(session)]  # fmt: skip
    subprocess.run(cmd, check=False)  # short budgets have no thresholds: items read "unasserted"
    for record in (session / "runs").glob("*.json"):
        record.replace(folder / record.name)
    shutil.rmtree(session)


def run_modes(out: Path, modes: Sequence[str] = MODES) -> None:
    """Make the records of ``modes`` that are missing under ``out``."""
    for mode in modes:
        if mode == "xdist":
            _xdist_session(out / "xdist")
            continue
        env = dict(os.environ, **(AVX2_ONLY if mode == "avx2" else {}))
        for preset in PRESETS:
            _sacbench_run(preset, out / mode, env)


def mode_runs(out: Path, mode: str) -> dict[tuple[str, int], RunRecord]:
    """``(preset, seed) -> record`` of one mode."""
    folder = out / mode
    if not folder.is_dir():
        return {}
    return {(r.preset, r.seed): r for r in load_runs(folder) if r.task == TASK}


def _identity(ours: RunRecord, theirs: RunRecord) -> str:
    """``identical (N checkpoints)`` or ``diverged at checkpoint k (E env steps; parts)``."""
    agreed, divergence = first_divergence(ours.checkpoints, theirs.checkpoints)
    if divergence is None:
        shared = min(len(ours.checkpoints), len(theirs.checkpoints))
        return f"identical ({shared} checkpoints, {agreed:,} env steps)"
    return (
        f"diverged at checkpoint {divergence.checkpoint} ({divergence.env_steps:,} env steps;"
        f" {', '.join(divergence.parts)})"
    )


def table(out: Path) -> list[str]:
    """Per preset and seed: each mode's checkpoints and its identity with the serial run."""
    serial = mode_runs(out, "serial")
    others = {mode: mode_runs(out, mode) for mode in MODES[1:]}
    lines = [
        "| preset | seed | serial: checkpoints | xdist -n 2 | AVX2 only |",
        "|---|---|---|---|---|",
    ]
    for preset in PRESETS:
        for seed in SEEDS:
            reference = serial.get((preset, seed))
            if reference is None:
                continue
            cells = [
                _identity(runs[(preset, seed)], reference) if (preset, seed) in runs else "not run"
                for runs in others.values()
            ]
            lines.append(f"| {preset} | {seed} | {len(reference.checkpoints)} | " + " | ".join(cells) + " |")
    return lines


def gate_sentences(out: Path) -> list[str]:
    """What the gate says of each mode's runs against a baseline made of the serial runs."""
    serial = mode_runs(out, "serial")
    lines = []
    for mode in MODES[1:]:
        runs = mode_runs(out, mode)
        for preset in PRESETS:
            base = [r for (p, _), r in sorted(serial.items()) if p == preset]
            ours = [r for (p, _), r in sorted(runs.items()) if p == preset]
            if not base or not ours:
                continue
            (comparison,) = compare_runs(ours, {(TASK, preset): build_baseline(base, reps=200)}, reps=200)
            lines.append(f"- {mode}, `{preset}`: {comparison.identity or comparison.reason}")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/reference/determinism"))
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of " + ", ".join(MODES))
    parser.add_argument("--table", action="store_true", help="print the table of --out; run nothing")
    args = parser.parse_args(argv)
    if not args.table:
        modes = args.modes.split(",")
        if unknown := set(modes) - set(MODES):
            parser.error(f"--modes {args.modes!r}: unknown {sorted(unknown)}; expected a subset of {', '.join(MODES)}")
        run_modes(args.out, modes)
    rows, sentences = table(args.out), gate_sentences(args.out)  # each read and judged once
    if not args.table:
        (args.out / "table.md").write_text("\n".join(rows) + "\n", encoding="utf-8")
        (args.out / "gate.md").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    print("\n".join(rows))
    print()
    print("\n".join(sentences))


if __name__ == "__main__":
    main()
