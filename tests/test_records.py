"""Run records: atomic writes, validation that names the bad field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sacbench.records import (
    SCHEMA_VERSION,
    RecordError,
    RunRecord,
    RunStatus,
    Timing,
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
            f"field 'schema_version' is 99; this sacbench reads version {SCHEMA_VERSION}",
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
