"""Whether a terrain-level floor would hold for healthy runs: on one end reading, and on the late level.

    python benchmarks/level_floor.py [SESSION] [--last-minutes 3] [--floors 0.02 0.04 0.05]

A run's end reading (``curriculum/terrain_level``) is the mean of the robots' levels at the last
reset before training stopped; it moves by one robot's share (1/64 on the CPU) at every promotion
or demotion.  Its late level (``curriculum/terrain_level_late``, what the gate and the thresholds
read) is the mean of the readings over the last 10 % of training.  For each run of a curriculum
session (default: the committed tier, ``reports/reference/curriculum/anymal_c-rough``) this prints
both as if training had stopped at each curve row of its last minutes, their spread, and the share
of those stops at or above each floor: the chance that the same healthy run, stopped a little earlier
(a slower machine), would pass that floor.  Rows are about 5 s apart, so neighbours are not
independent, and late levels of neighbouring stops share most of their window.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from sacbench import metrics
from sacbench.records import RunRecord, late_terrain_level, load_runs, usable

ROOT = Path(__file__).resolve().parents[1]


def stops(record: RunRecord, minutes: float) -> list[dict[str, Any]]:
    """The curve rows with a level in the last ``minutes`` of training: where a run could have stopped."""
    start = float(record.timing.train_s) - 60.0 * minutes
    return [row for row in record.curves if row.get("terrain_level") is not None and float(row["time_s"]) >= start]


def end_readings(record: RunRecord, minutes: float) -> np.ndarray:
    """The end reading had training stopped at each of `stops`, shape ``(stops,)``."""
    return np.array([float(row["terrain_level"]) for row in stops(record, minutes)], dtype=np.float64)


def late_levels(record: RunRecord, minutes: float) -> np.ndarray:
    """The late level had training stopped at each of `stops`, shape ``(stops,)``."""
    out = []
    for stop in (float(row["time_s"]) for row in stops(record, minutes)):
        rows = [row for row in record.curves if float(row["time_s"]) <= stop]
        out.append(late_terrain_level(rows, stop))
    return np.array(out, dtype=np.float64)


def table(title: str, records: list[RunRecord], values: dict[str, np.ndarray], floors: list[float]) -> None:
    """One Markdown table: per run, the spread of ``values[run_id]`` and the share at or above each floor."""
    shares = " | ".join(f"share >= {floor:g}" for floor in floors)
    print(f"\n{title}")
    print(f"| run | at the end | stops | min / median / max | {shares} |")
    print("|---|---|---|---|" + "---|" * len(floors))
    for record in records:
        v = values[record.run_id]
        if v.size == 0:
            print(f"| {record.run_id} | | 0 | |" + " |" * len(floors))
            continue
        cells = " | ".join(f"{np.mean(v >= floor - 1e-9):.0%}" for floor in floors)
        print(
            f"| {record.run_id} | {v[-1]:.3f} | {v.size} | {v.min():.3f} / {np.median(v):.3f} / {v.max():.3f} |"
            f" {cells} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("session", nargs="?", default=str(ROOT / "reports/reference/curriculum/anymal_c-rough"))
    parser.add_argument("--last-minutes", type=float, default=3.0)
    parser.add_argument("--floors", type=float, nargs="+", default=[0.02, 0.04, 0.05])
    args = parser.parse_args(argv)
    records = [r for r in load_runs(Path(args.session) / "runs") if usable(r)]
    if not records:
        raise SystemExit(f"{args.session}: no usable run records in {args.session}/runs/")
    minutes = args.last_minutes
    print(f"Had training stopped at each curve row of its last {minutes:g} minutes ({args.session}):")
    table(
        f"{metrics.TERRAIN_LEVEL} (one reading)",
        records, {r.run_id: end_readings(r, minutes) for r in records}, args.floors,
    )  # fmt: skip
    table(
        f"{metrics.TERRAIN_LEVEL_LATE} (mean over the last {metrics.LATE_SHARE:.0%} of training)",
        records, {r.run_id: late_levels(r, minutes) for r in records}, args.floors,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
