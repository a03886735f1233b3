"""Run records: atomic writes, validation that names the bad field."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sacbench.metrics import TERRAIN_LEVEL_LATE
from sacbench.records import (
    RecordError,
    RunRecord,
    RunStatus,
    Timing,
    late_terrain_level,
    load_run,
    load_runs,
    record_from_dict,
    run_id,
    save_run,
    write_json_atomic,
)


def make_record(**changes: object) -> RunRecord:
    """A small valid record (no training) for tests of the record machinery."""
    base = {
        "run_id": run_id("a1-flat", "sac_tuned", 3),
        "task": "a1-flat",
        "robot": "a1",
        "terrain": "flat",
        "backend": "mujoco",
        "scale": "cpu",
        "preset": "sac_tuned",
        "algo": "sbx_sac",
        "seed": 3,
        "num_envs": 64,
        "budget": {"seconds": 60.0, "max_env_steps": None},
        "hyperparameters": {"batch_size": 256},
        "bounds": {"mode": "percentile", "low": [-1.0], "high": [1.0], "source": "test"},
        "timing": Timing(1.0, 10.0, 60.0, 0.1, 2.0, 75.0, 4, 70.0),
        "curves": [{"time_s": 5.0, "env_steps": 1000, "return_mean": None}],
        "final": {"eval/episode_return": 12.5},
        "status": RunStatus.OK,
        "error": None,
        "provenance": {"python": "3.11"},
    }
    base.update(changes)
    return RunRecord(**base)  # type: ignore[arg-type]


def test_round_trip(tmp_path: Path) -> None:
    record = make_record()
    path = save_run(record, tmp_path)
    assert path.name == "a1-flat__sac_tuned__s3.json"
    assert load_run(path) == record
    assert [r.run_id for r in load_runs(tmp_path)] == [record.run_id]
    assert record.metric("eval/episode_return") == 12.5


def test_the_late_terrain_level_averages_the_last_tenth_of_training() -> None:
    """Rows from 90 % of the training time on, skipping rows logged before any robot reset."""
    rows = [{"time_s": float(t), "terrain_level": t / 100} for t in range(0, 101, 5)]
    rows[-2]["terrain_level"] = None  # no reset logged a level yet in this row
    assert late_terrain_level(rows, 100.0) == pytest.approx((0.90 + 1.00) / 2)
    assert late_terrain_level(rows, 100.0, share=0.2) == pytest.approx((0.80 + 0.85 + 0.90 + 1.00) / 4)
    assert math.isnan(late_terrain_level([{"time_s": 60.0, "terrain_level": None}], 60.0))  # flat terrain


def test_a_stored_late_level_is_read_and_an_older_record_derives_it() -> None:
    rows = [{"time_s": 50.0, "terrain_level": 2.0}, {"time_s": 60.0, "terrain_level": 1.5}]
    older = make_record(curves=rows)  # written before the runner stored the late level
    assert older.metric(TERRAIN_LEVEL_LATE) == 1.5  # only the row at 60 s is in the last 6 s
    stored = make_record(curves=rows, final={"eval/episode_return": 1.0, TERRAIN_LEVEL_LATE: 1.75})
    assert stored.metric(TERRAIN_LEVEL_LATE) == 1.75
    flat = make_record(curves=rows, final={"eval/episode_return": 1.0, TERRAIN_LEVEL_LATE: None})
    assert math.isnan(flat.metric(TERRAIN_LEVEL_LATE))  # stored as missing stays missing


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def _raw(**changes: object) -> dict[str, object]:
    raw = make_record().to_dict()
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seed": "3"}, "field 'seed' must be int, got str '3'"),
        ({"seed": True}, "field 'seed' must be int, got True"),
        ({"status": "great"}, "field 'status' is 'great'; expected one of"),
        (
            {"schema_version": 99},
            "field 'schema_version' is 99; this sacbench reads versions \\[1, 2\\]",
        ),
        ({"curves": [{"time_s": "soon"}]}, r"field 'curves\[0\]\.time_s' must be int or float"),
        ({"timing": {"setup_s": 1.0}}, "field 'timing.compile_s' must be int or float, got NoneType"),
        ({"budget": {"seconds": None}}, "field 'budget.seconds' must be int or float"),
        ({"extra": 1}, r"unknown field\(s\) \['extra'\]"),
    ],
)
def test_validation_names_the_bad_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        record_from_dict(_raw(**changes))


def test_missing_field_and_file_are_named(tmp_path: Path) -> None:
    raw = _raw()
    del raw["final"]
    with pytest.raises(RecordError, match=r"missing field\(s\) \['final'\]"):
        record_from_dict(raw)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_raw(seed=1.5)))
    with pytest.raises(RecordError, match=r"bad.json: field 'seed' must be int"):
        load_run(bad)


def test_nan_is_written_as_null(tmp_path: Path) -> None:
    record = make_record(final={"eval/episode_return": float("nan")})
    loaded = load_run(save_run(record, tmp_path))
    assert loaded.final["eval/episode_return"] is None
