"""Action-bound modes, bounds files and the VecEnv adapter."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import quiet_task

from sacbench import bounds as bounds_module
from sacbench.bounds import (
    LEGACY,
    PERCENTILE,
    UNIT,
    ActionBounds,
    BatchedVecEnv,
    BoundsFileError,
    BoundsMode,
    DivergedError,
    load_percentile_bounds,
    resolve_bounds,
)
from sacbench.sim.mujoco import MujocoVelocityEnv
from sacbench.sim.protocol import Backend
from sacbench.tasks import get_task


def _legacy_space(task: str) -> object:
    return MujocoVelocityEnv(task, num_envs=1).action_space


def test_modes_resolve_to_the_expected_boxes() -> None:
    task, space = get_task("a1-flat"), _legacy_space("a1-flat")
    legacy = resolve_bounds(LEGACY, task, space, Backend.MUJOCO)  # type: ignore[arg-type]
    assert legacy.low == (-100.0,) * 12 and legacy.high == (100.0,) * 12
    unit = resolve_bounds(UNIT, task, space, Backend.MUJOCO)  # type: ignore[arg-type]
    assert unit.low == (-1.0,) * 12
    fraction = resolve_bounds(ActionBounds(BoundsMode.FRACTION, 0.03), task, space, Backend.MUJOCO)  # type: ignore[arg-type]
    np.testing.assert_allclose(fraction.high, 3.0)
    # The post's A1 percentiles (measured on Isaac Lab) serve the mirror until mirror bounds exist.
    fallback = pytest.warns(UserWarning, match="using .*isaaclab/a1.json")
    with fallback if not _has_mujoco_a1() else contextlib.nullcontext():
        percentile = resolve_bounds(PERCENTILE, task, space, Backend.MUJOCO)  # type: ignore[arg-type]
    assert len(percentile.low) == 12 and all(lo < hi for lo, hi in zip(percentile.low, percentile.high, strict=True))
    isaac = resolve_bounds(PERCENTILE, task, space, Backend.ISAACLAB)  # type: ignore[arg-type]
    assert isaac.low[:3] == (-2.0, -0.4, -2.6) and isaac.high[:3] == (1.1, 2.6, 0.7)


def _has_mujoco_a1() -> bool:
    return (bounds_module.bounds_dir() / "mujoco" / "a1.json").exists()


def test_fraction_needs_a_valid_fraction() -> None:
    with pytest.raises(ValueError, match=r"fraction=None: the 'fraction' bound mode needs a fraction in \(0, 1\]"):
        ActionBounds(BoundsMode.FRACTION)
    with pytest.raises(ValueError, match=r"fraction=1\.5"):
        ActionBounds(BoundsMode.FRACTION, 1.5)
    with pytest.raises(ValueError, match="only applies to the 'fraction' mode"):
        ActionBounds(BoundsMode.UNIT, 0.5)


def test_missing_percentile_file_says_how_to_make_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bounds_module, "bounds_dir", lambda: tmp_path)
    with pytest.raises(
        FileNotFoundError, match=r"no PPO-percentile bounds for robot 'go2'.*sacbench bounds --task go2-flat"
    ):
        resolve_bounds(PERCENTILE, get_task("go2-flat"), _legacy_space("go2-flat"), Backend.MUJOCO)  # type: ignore[arg-type]


def _write(tmp_path: Path, **changes: object) -> Path:
    raw = json.loads((bounds_module.bounds_dir() / "isaaclab" / "a1.json").read_text())
    raw.update(changes)
    path = tmp_path / "a1.json"
    path.write_text(json.dumps(raw))
    return path


def test_bad_bounds_files_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(BoundsFileError, match=r"a1.json: field 'low' must be a list of 12 numbers"):
        load_percentile_bounds(_write(tmp_path, low=[0.0] * 11))
    with pytest.raises(BoundsFileError, match=r"low < high for every joint; violated at joint index \[0\]"):
        load_percentile_bounds(_write(tmp_path, low=[5.0] + [-1.0] * 11))
    with pytest.raises(BoundsFileError, match="schema_version=7, expected 1"):
        load_percentile_bounds(_write(tmp_path, schema_version=7))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(BoundsFileError, match=r"broken\.json: cannot read bounds file"):
        load_percentile_bounds(tmp_path / "broken.json")


def test_adapter_reports_time_outs_with_the_final_observation() -> None:
    env = MujocoVelocityEnv(quiet_task("a1-flat"), num_envs=2, seed=0)
    space = env.action_space
    venv = BatchedVecEnv(env, resolve_bounds(UNIT, get_task("a1-flat"), space, Backend.MUJOCO))
    assert venv.action_space.high.tolist() == [1.0] * 12
    obs = venv.reset()
    assert obs.dtype == np.float32 and obs.shape == (2, 48)
    zero = np.zeros((2, 12), np.float32)
    for _ in range(3):
        venv.step(zero)
    env.episode_length[:] = env.cfg.max_episode_length - 1
    obs, _, dones, infos = venv.step(zero)
    assert dones.all()
    for info in infos:
        assert info["TimeLimit.truncated"] is True
        assert info["episode"]["l"] == 4  # the adapter counted its own four steps
        assert info["terminal_observation"].shape == (48,)
    episodes = venv.drain_episodes()
    assert [length for _, length, _ in episodes] == [4, 4]
    assert venv.drain_episodes() == []
    assert "episode_reward/track_lin_vel_xy_exp" in venv.last_log


def test_adapter_refuses_non_finite_actions() -> None:
    env = MujocoVelocityEnv("a1-flat", num_envs=2, seed=0)
    venv = BatchedVecEnv(env, resolve_bounds(LEGACY, get_task("a1-flat"), env.action_space, Backend.MUJOCO))
    venv.reset()
    bad = np.zeros((2, 12), np.float32)
    bad[0, 0] = np.inf
    with pytest.raises(DivergedError, match="NaN or inf actions"):
        venv.step(bad)
