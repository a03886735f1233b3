"""One JSON record per run: what ran, on what, for how long, what it measured, and how it ended.

Records are written atomically (a temporary file renamed over the target), so a killed process
never leaves half a record.  Loading validates every field and names the first bad one.  The
schema is versioned; a record of another version is refused with its version and ours.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sacbench.metrics import EVAL_RETURN, LATE_SHARE, TERRAIN_LEVEL_LATE

SCHEMA_VERSION = 2
"""2 added ``checkpoints`` (sample-indexed rows with learning fingerprints); version 1 is still read."""
READABLE_SCHEMA_VERSIONS = (1, 2)


class RunStatus(enum.StrEnum):
    """How a run ended."""

    OK = "ok"
    DIVERGED = "diverged"
    """NaN/inf actions or losses; the record keeps the curves up to that point."""
    CRASHED = "crashed"
    """Any other exception; ``error`` holds the traceback."""
    BUDGET_OVERRUN = "budget_overrun"
    """Trained past its wall-clock budget by more than the tolerance (a slow train call, say)."""


@dataclass(frozen=True)
class Timing:
    """Where the wall-clock time of a run went (seconds)."""

    setup_s: float
    """Env and agent construction."""
    compile_s: float
    """JIT compilation, measured as the excess time of compiling calls; never counted in the budget."""
    train_s: float
    """Training time counted against the budget (compile excluded)."""
    overrun_s: float
    """How far past the budget the stop landed (stops land between train calls)."""
    eval_s: float
    total_s: float
    num_compiles: int
    cpu_s: float
    """Process CPU time over the run; ``cpu_s / total_s`` well below 1 means the machine was shared."""

    @property
    def cpu_share(self) -> float:
        """CPU-seconds per wall-clock second over the run (`cpu_s / total_s`): 1.0 is one busy core.

        Above 1, the run's threads used more than one core (unpinned XLA); below, it waited.
        """
        return self.cpu_s / self.total_s if self.total_s > 0 else math.nan


@dataclass(frozen=True)
class RunRecord:
    """Everything about one run (see `sacbench.train.train`)."""

    run_id: str
    task: str
    robot: str
    terrain: str
    backend: str
    scale: str
    preset: str
    algo: str
    seed: int
    num_envs: int
    budget: dict[str, Any]
    hyperparameters: dict[str, Any]
    bounds: dict[str, Any]
    timing: Timing
    curves: list[dict[str, float | None]]
    final: dict[str, Any]
    status: RunStatus
    error: str | None
    provenance: dict[str, Any]
    schema_version: int = SCHEMA_VERSION
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    """Rows every `sacbench.fingerprint.checkpoint_interval` env steps (``env_steps``, ``grad_steps``,
    ``episodes``, ``return_mean`` over the latest episodes, ``terrain_level``, ``fingerprint``);
    empty in version-1 records."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return to_jsonable(self)

    def metric(self, name: str) -> float:
        """A final metric as a float (NaN when missing).

        A record written before the runner stored `TERRAIN_LEVEL_LATE` has it derived from its
        curves, by the function the runner uses (`late_terrain_level`).
        """
        value = self.final.get(name)
        if name == TERRAIN_LEVEL_LATE and name not in self.final:
            return late_terrain_level(self.curves, float(self.timing.train_s))
        return float(value) if isinstance(value, int | float) else math.nan


def late_terrain_level(curves: Sequence[dict[str, Any]], train_s: float, share: float = LATE_SHARE) -> float:
    """The mean terrain level the curve logged over the last ``share`` of ``train_s`` seconds of training.

    Args:
        curves: Curve rows (``time_s``, ``terrain_level``); the runner adds one when training stops,
            so a run that logged any level has a reading in its last window.
        train_s: Training time of the run (the rows' clock).
        share: The share of training averaged (`sacbench.metrics.LATE_SHARE`).

    Returns:
        The mean level, or NaN when no row of the window holds a level (flat terrain, or no robot
        reset yet).
    """
    start = (1.0 - share) * train_s
    levels = [
        float(row["terrain_level"])
        for row in curves
        if row.get("terrain_level") is not None and float(row["time_s"]) >= start
    ]
    return float(np.mean(levels)) if levels else math.nan


def usable(record: RunRecord) -> bool:
    """Whether a run counts in statistics, baselines, gates and studies: the one rule for all of them.

    A run is usable when it trained to its end and was evaluated: status ``ok``, or
    ``budget_overrun`` (it trained, a little past its budget, and its evaluation is as valid), with
    a finite evaluation return.  Diverged and crashed runs never count; reports list them apart.
    """
    finished = record.status in (RunStatus.OK, RunStatus.BUDGET_OVERRUN)
    return finished and math.isfinite(record.metric(EVAL_RETURN))


def run_id(task: str, preset: str, seed: int) -> str:
    """``{task}__{preset}__s{seed}``, the run's file stem."""
    return f"{task}__{preset}__s{seed}"


def to_jsonable(obj: Any) -> Any:  # noqa: PLR0911 (a type switch)
    """Dataclasses, enums, tuples, numpy scalars and arrays to plain JSON types (NaN -> None)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if callable(obj):
        return getattr(obj, "__name__", repr(obj))
    return repr(obj)


def write_json_atomic(path: Path, payload: Any) -> Path:
    """Write ``payload`` as JSON to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=1, allow_nan=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return path


def save_run(record: RunRecord, directory: Path) -> Path:
    """Write ``<directory>/<run_id>.json`` atomically; returns its path."""
    return write_json_atomic(directory / f"{record.run_id}.json", record.to_dict())


class RecordError(ValueError):
    """A run record that fails validation; the message names the file and the field."""


_NUMBER = (int, float)


def _expect(value: Any, kinds: tuple[type, ...] | type, where: str, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return value
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise RecordError(f"field {where!r} must be {_names(kinds)}, got {value!r}")
    if not isinstance(value, kinds):
        raise RecordError(f"field {where!r} must be {_names(kinds)}, got {type(value).__name__} {value!r:.60}")
    return value


def _names(kinds: tuple[type, ...] | type) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(k.__name__ for k in kinds)


def record_from_dict(raw: Any) -> RunRecord:
    """Validate a decoded JSON object into a `RunRecord`.

    Raises:
        RecordError: Naming the first bad field.
    """
    _expect(raw, dict, "<record>")
    version = raw.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS:
        raise RecordError(
            f"field 'schema_version' is {version!r}; this sacbench reads versions {list(READABLE_SCHEMA_VERSIONS)}"
        )
    names = {f.name for f in dataclasses.fields(RunRecord)}
    optional = {"checkpoints"} if version == 1 else set()
    missing = sorted(names - set(raw) - optional)
    if missing:
        raise RecordError(f"missing field(s) {missing}")
    unknown = sorted(set(raw) - names)
    if unknown:
        raise RecordError(f"unknown field(s) {unknown}; known: {sorted(names)}")
    for key in ("run_id", "task", "robot", "terrain", "backend", "scale", "preset", "algo"):
        _expect(raw[key], str, key)
    _expect(raw["seed"], int, "seed")
    _expect(raw["num_envs"], int, "num_envs")
    for key in ("budget", "hyperparameters", "bounds", "final", "provenance"):
        _expect(raw[key], dict, key)
    _expect(raw["budget"].get("seconds"), _NUMBER, "budget.seconds")
    _expect(raw["budget"].get("max_env_steps"), int, "budget.max_env_steps", allow_none=True)
    timing_raw = _expect(raw["timing"], dict, "timing")
    timing_fields = {f.name: f for f in dataclasses.fields(Timing)}
    for key in timing_fields:
        _expect(timing_raw.get(key), _NUMBER, f"timing.{key}")
    curves = _expect(raw["curves"], list, "curves")
    for i, row in enumerate(curves):
        _expect(row, dict, f"curves[{i}]")
        for key, value in row.items():
            _expect(value, _NUMBER, f"curves[{i}].{key}", allow_none=True)
    _check_checkpoints(raw.get("checkpoints", []))
    try:
        status = RunStatus(raw["status"])
    except ValueError:
        raise RecordError(
            f"field 'status' is {raw['status']!r}; expected one of {[s.value for s in RunStatus]}"
        ) from None
    _expect(raw["error"], str, "error", allow_none=True)
    return RunRecord(
        **{k: raw[k] for k in names if k not in ("timing", "status") and k in raw},
        timing=Timing(**{k: timing_raw[k] for k in timing_fields}),
        status=status,
    )


def _check_checkpoints(rows: Any) -> None:
    """Checkpoint rows: numbers (or null), and a ``fingerprint`` mapping of hex strings."""
    _expect(rows, list, "checkpoints")
    for i, row in enumerate(rows):
        _expect(row, dict, f"checkpoints[{i}]")
        _expect(row.get("env_steps"), int, f"checkpoints[{i}].env_steps")
        for key, value in row.items():
            if key == "fingerprint":
                for part, text in _expect(value, dict, f"checkpoints[{i}].fingerprint").items():
                    _expect(text, str, f"checkpoints[{i}].fingerprint.{part}")
            else:
                _expect(value, _NUMBER, f"checkpoints[{i}].{key}", allow_none=True)


def load_run(path: Path) -> RunRecord:
    """Read and validate one record.

    Raises:
        RecordError: Naming the file and the bad field.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RecordError(f"{path}: cannot read run record: {exc}") from exc
    try:
        return record_from_dict(raw)
    except RecordError as exc:
        raise RecordError(f"{path}: {exc}") from None


def load_runs(paths: Iterable[Path] | Path) -> list[RunRecord]:
    """Load every ``*.json`` record of a folder (or the given files), sorted by run id."""
    if isinstance(paths, Path):
        paths = sorted(paths.glob("*.json")) if paths.is_dir() else [paths]
    return sorted((load_run(p) for p in paths), key=lambda r: r.run_id)


@dataclass
class CurveLog:
    """Rows recorded during training (kept outside the agent so a crash keeps them)."""

    rows: list[dict[str, float | None]] = field(default_factory=list)
