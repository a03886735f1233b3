"""Preset files (safe YAML, validated) and the action-space schedule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from sacbench.algos.presets import PresetFileError, get_preset, load_preset_file, preset_to_dict
from sacbench.bounds import ActionBounds, BatchedVecEnv, BoundsMode, resolve_bounds
from sacbench.sim.mujoco import MujocoVelocityEnv
from sacbench.sim.protocol import Backend
from sacbench.tasks import get_task


def _write(tmp_path: Path, change: dict[str, object]) -> Path:
    raw = preset_to_dict(get_preset("sac_tuned"))
    for dotted, value in change.items():
        target = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            target = target[key]
        target[leaf] = value
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cpu.batch_sise": 3}, r"field 'cpu': unknown field\(s\) \['batch_sise'\]; known: \["),
        ({"cpu.batch_size": 2.5}, r"field 'cpu'\.batch_size must be an integer, got 2\.5"),
        ({"cpu.activation": "gelu"}, r"activation is 'gelu'; expected one of \['relu', 'elu', 'tanh', 'swish'\]"),
        ({"cpu.net_arch": [256, -1]}, "must be a list of positive layer widths"),
        ({"bounds.mode": "huge"}, r"bounds\.mode' is 'huge'"),
        ({"bounds.fraction": 0.5}, r"only applies to the 'fraction' mode"),
        ({"algo": "ddpg"}, r"field 'algo' is 'ddpg'"),
        ({"schema_version": 9}, "schema_version is 9; expected 1"),
    ],
)
def test_bad_preset_files_name_the_field(tmp_path: Path, change: dict[str, object], message: str) -> None:
    with pytest.raises(PresetFileError, match=message):
        load_preset_file(_write(tmp_path, change))


def test_preset_files_never_run_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(PresetFileError, match="cannot read preset file"):
        load_preset_file(path)
    assert not (tmp_path / "pwned").exists()


def test_action_space_schedule() -> None:
    bounds = ActionBounds(BoundsMode.PERCENTILE, start_scale=0.25, ramp_fraction=0.5)
    assert [bounds.scale_at(p) for p in (0.0, 0.25, 0.5, 0.9)] == [0.25, 0.625, 1.0, 1.0]
    assert bounds.describe() == "percentile, from 0.25x over 50%"
    with pytest.raises(ValueError, match="the schedule needs 0 < start_scale <= 1"):
        ActionBounds(BoundsMode.UNIT, start_scale=0.0, ramp_fraction=0.5)
    env = MujocoVelocityEnv("a1-flat", num_envs=2, seed=0)
    resolved = resolve_bounds(
        ActionBounds(BoundsMode.FRACTION, 0.03), get_task("a1-flat"), env.action_space, Backend.MUJOCO
    )
    venv = BatchedVecEnv(env, resolved)
    venv.reset()
    venv.action_scale = 0.5
    venv.step(np.full((2, 12), 2.0, np.float32))
    np.testing.assert_allclose(env.action, 1.0)  # halfway to the centre (0) of the [-3, 3] box
