"""Whether a terrain-level floor on one end-of-training reading would hold for healthy runs.

    python benchmarks/level_floor.py [SESSION] [--last-minutes 3] [--floors 0.02 0.04 0.05]

A run's terrain level (``curriculum/terrain_level``) is one reading at the end of training: the
mean of the robots' levels, which moves by one robot's share (1/64 on the CPU) at every promotion
or demotion.  For each run of a curriculum session (default: the committed tier,
``reports/reference/curriculum/anymal_c-rough``) this reads every level its training curve logged
over the last minutes and prints their spread, their mean, and the share of them at or above each
floor: the chance that the same healthy run, stopped a little earlier or later (a slower or faster
machine), would pass that floor.  Readings are logged about every 5 s of training, so neighbours
are not independent.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sacbench import metrics
from sacbench.records import RunRecord, load_runs, usable

ROOT = Path(__file__).resolve().parents[1]


def late_levels(record: RunRecord, minutes: float) -> np.ndarray:
    """The terrain levels logged in the last ``minutes`` of training, shape ``(readings,)``."""
    start = float(record.timing.train_s) - 60.0 * minutes
    rows = [row for row in record.curves if row.get("terrain_level") is not None and float(row["time_s"]) >= start]
    return np.array([float(row["terrain_level"]) for row in rows], dtype=np.float64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("session", nargs="?", default=str(ROOT / "reports/reference/curriculum/anymal_c-rough"))
    parser.add_argument("--last-minutes", type=float, default=3.0)
    parser.add_argument("--floors", type=float, nargs="+", default=[0.02, 0.04, 0.05])
    args = parser.parse_args(argv)
    records = [r for r in load_runs(Path(args.session) / "runs") if usable(r)]
    if not records:
        raise SystemExit(f"{args.session}: no usable run records in {args.session}/runs/")
    shares = " | ".join(f"share >= {floor:g}" for floor in args.floors)
    print(f"terrain levels logged in the last {args.last_minutes:g} minutes of training, per run")
    print(f"| run | final reading | readings | min / median / max | mean | {shares} |")
    print("|---|---|---|---|---|" + "---|" * len(args.floors))
    for record in records:
        levels = late_levels(record, args.last_minutes)
        if levels.size == 0:
            print(
                f"| {record.run_id} | {record.metric(metrics.TERRAIN_LEVEL):.3f} | 0 | | | |" + " |" * len(args.floors)
            )
            continue
        cells = " | ".join(f"{np.mean(levels >= floor - 1e-9):.0%}" for floor in args.floors)
        print(
            f"| {record.run_id} | {record.metric(metrics.TERRAIN_LEVEL):.3f} | {levels.size} |"
            f" {levels.min():.3f} / {np.median(levels):.3f} / {levels.max():.3f} | {levels.mean():.3f} | {cells} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
