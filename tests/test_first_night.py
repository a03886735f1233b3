"""``sacbench doctor --gpu``: each step's outcome, in order, and nothing tried past a failure."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

from sacbench.first_night import first_night, first_night_report
from sacbench.records import RunRecord, save_run
from sacbench.sim.isaaclab import Physics
from sacbench.sim.protocol import Backend, BackendStatus
from sacbench.train import Budget, RunConfig, train

first_night_module = importlib.import_module("sacbench.first_night")


def test_without_isaac_lab_nothing_runs_and_the_reasons_are_named(tmp_path: Path) -> None:
    if first_night_module.isaaclab_status().usable:
        pytest.skip("Isaac Lab runs here")
    text, passed = first_night_report(tmp_path, runner=lambda *a: pytest.fail("a run was started"))
    assert not passed
    lines = text.splitlines()
    assert lines[1].startswith("[FAIL] install: ") and "fix: pip install" in lines[1]
    assert "[SKIP] run ppo_sb3 on a1-rough (newton_mjwarp, 30 s): not tried: install failed" in lines
    assert lines[-2] == "[SKIP] report: not tried: no run finished"
    assert lines[-1].startswith("NOT READY")


def _mirror_runner(task: str, physics: Physics, budget_s: float, out: Path) -> RunRecord:
    """Stands in for the Isaac Lab subprocess: a real, tiny run of the same preset on the mirror."""
    if physics is Physics.ISAACSIM_PHYSX:
        raise RuntimeError("exit 1: Isaac Sim failed to start")
    overrides = {"num_envs": 8, "net_arch": (16, 16), "n_steps": 8, "n_minibatches": 2, "n_epochs": 1}
    record = train(RunConfig(task, "ppo_sb3", 0, Budget(budget_s), overrides=overrides, eval_episodes=2))
    save_run(record, out)
    return record


def test_each_physics_is_run_and_reported_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        first_night_module, "isaaclab_status", lambda device="cuda:0": BackendStatus(Backend.ISAACLAB, True, (), "x")
    )
    monkeypatch.setattr(first_night_module, "missing_physics", lambda tasks, physics, device="cuda:0": [])
    checks = first_night(tmp_path, budget_s=2.0, runner=_mirror_runner)
    outcome: dict[str, Any] = {check.name: check for check in checks}
    assert [check.name for check in checks] == [
        "install",
        "physics newton_mjwarp",
        "run ppo_sb3 on a1-rough (newton_mjwarp, 2 s)",
        "physics isaacsim_physx",
        "run ppo_sb3 on a1-flat (isaacsim_physx, 2 s)",
        "report",
    ]
    assert outcome["run ppo_sb3 on a1-rough (newton_mjwarp, 2 s)"].ok is True
    failed = outcome["run ppo_sb3 on a1-flat (isaacsim_physx, 2 s)"]
    assert failed.ok is False and failed.detail == "exit 1: Isaac Sim failed to start"
    assert outcome["report"].ok and Path(outcome["report"].detail).is_file()  # from the run that finished
