"""The Isaac Lab adapter's assumptions, checked against the real ``isaaclab==3.0.0`` wheel's source.

Isaac Lab cannot run here (Python 3.12 and a GPU), but its wheel can be read: it bundles
``isaaclab``, ``isaaclab_tasks``, ``isaaclab_rl`` and the physics packages.  Each test below reads
the file the adapter or the stand-in (`tests/test_isaaclab.py`) copies and fails when the real source
says otherwise, so a change of the pinned release that breaks an assumption turns CI red.  The wheel
(12 MB) is fetched once per session with ``pip download`` from the package index; set
``SACBENCH_OFFLINE=1`` to skip these tests on a machine without one.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
import types
import typing
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sacbench.export import ExportError, training_bundle
from sacbench.sim.isaaclab import PHYSICS_PACKAGES, Physics, default_physics, task_id
from sacbench.tasks import Robot, get_task, task_names

VERSION = "3.0.0"
_FLAT_CFG = {
    Robot.A1: "isaaclab_tasks/contrib/velocity/config/a1/flat_env_cfg.py",
    Robot.GO1: "isaaclab_tasks/contrib/velocity/config/go1/flat_env_cfg.py",
    Robot.GO2: "isaaclab_tasks/core/velocity/config/go2/flat_env_cfg.py",
    Robot.ANYMAL_B: "isaaclab_tasks/contrib/velocity/config/anymal_b/flat_env_cfg.py",
    Robot.ANYMAL_C: "isaaclab_tasks/contrib/velocity/config/anymal_c/flat_env_cfg.py",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The ``isaaclab==3.0.0`` wheel, downloaded without installing anything."""
    if os.environ.get("SACBENCH_OFFLINE"):
        pytest.skip("SACBENCH_OFFLINE is set: the isaaclab wheel cannot be fetched")
    folder = tmp_path_factory.mktemp("isaaclab-wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--python-version", "3.12",
         "--only-binary=:all:", "-d", str(folder), f"isaaclab=={VERSION}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"pip download isaaclab=={VERSION} failed:\n{done.stderr[-2000:]}"
    (path,) = folder.glob("isaaclab-*.whl")
    return zipfile.ZipFile(path)


def _read(wheel: zipfile.ZipFile, path: str) -> str:
    return wheel.read(path).decode("utf-8")


def test_every_task_id_is_registered(wheel: zipfile.ZipFile) -> None:
    registered = "\n".join(
        _read(wheel, name) for name in wheel.namelist() if name.startswith("isaaclab_tasks/") and name.endswith(".py")
    )
    ids = set(re.findall(r'id="([^"]+)"', registered))
    ours = {task_id(t) for t in task_names() if get_task(t).robot is not Robot.BDX}  # BD-X: sacbench registers it
    assert ours <= ids, f"not registered by isaaclab_tasks {VERSION}: {sorted(ours - ids)}"


def test_default_physics_is_isaac_labs(wheel: zipfile.ZipFile) -> None:
    shared = _read(wheel, "isaaclab_tasks/core/velocity/velocity_env_cfg.py")
    assert re.search(r"^\s+default = newton_mjwarp$", shared, re.MULTILINE), "rough tasks default to Newton MJWarp"
    for robot, path in _FLAT_CFG.items():
        chosen = re.search(r"self\.sim\.physics\.default = self\.sim\.physics\.(\w+)", _read(wheel, path))
        physics = chosen.group(1) if chosen else "newton_mjwarp"
        assert default_physics(f"{robot.value}-flat") is Physics(physics), path
        assert default_physics(f"{robot.value}-rough") is Physics.NEWTON_MJWARP


def test_physics_packages_are_the_extras(wheel: zipfile.ZipFile) -> None:
    metadata = _read(wheel, f"isaaclab-{VERSION}.dist-info/METADATA")
    assert re.search(r'^Requires-Dist: isaacsim\[.*; extra == "isaacsim"$', metadata, re.MULTILINE)
    assert re.search(r'^Requires-Dist: ovphysx==.*; extra == "ovphysx"$', metadata, re.MULTILINE)
    assert re.search(r"^Requires-Dist: newton\[sim\]==1\.6\.1$", metadata, re.MULTILINE)  # every install
    assert PHYSICS_PACKAGES[Physics.ISAACSIM_PHYSX].modules == ("isaacsim",)
    assert PHYSICS_PACKAGES[Physics.OVPHYSX].modules == ("ovphysx",)
    assert PHYSICS_PACKAGES[Physics.NEWTON_MJWARP].modules == ("newton",)


def test_one_env_per_process(wheel: zipfile.ZipFile) -> None:
    """What the stand-in's ``open_envs`` copies (and why evaluation must not build a second env)."""
    source = _read(wheel, "isaaclab/envs/manager_based_env.py")
    assert 'raise RuntimeError("Simulation context already exists. Cannot create a new one.")' in source
    assert "self.sim.clear_instance()" in source  # close() frees the context


def test_joint_order_follows_the_physics_engine(wheel: zipfile.ZipFile) -> None:
    """No velocity robot fixes ``joint_ordering``, and the action term keeps the asset's order."""
    cfg = _read(wheel, "isaaclab/assets/articulation/articulation_cfg.py")
    assert re.search(r"joint_ordering: .* = None", cfg)
    resolvers = _read(wheel, "isaaclab/assets/articulation/ordering_resolvers.py")
    assert "depth-first" in resolvers and "breadth-first" in resolvers
    for robots in ("isaaclab_assets/robots/unitree.py", "isaaclab_assets/robots/anymal.py"):
        assert "joint_ordering" not in _read(wheel, robots), robots
    actions = _read(wheel, "isaaclab/envs/mdp/actions/actions_cfg.py")
    assert "preserve_order: bool = False" in actions


def test_log_keys_and_final_observations(wheel: zipfile.ZipFile) -> None:
    """The ``extras["log"]`` keys `translate_log` maps, and ``compute_final_obs`` being opt-in."""
    assert 'extras["Episode_Termination/" + key]' in _read(wheel, "isaaclab/managers/termination_manager.py")
    assert '"Episode_Reward/' in _read(wheel, "isaaclab/managers/reward_manager.py")
    assert 'extras[f"Curriculum/{term_name}"]' in _read(wheel, "isaaclab/managers/curriculum_manager.py")
    assert "terrain_levels" in _read(wheel, "isaaclab_tasks/core/velocity/velocity_env_cfg.py")
    assert "compute_final_obs: bool = False" in _read(wheel, "isaaclab/envs/manager_based_rl_env_cfg.py")
    assert '"final_obs"' in _read(wheel, "isaaclab/envs/manager_based_rl_env.py")


def test_the_sb3_wrapper_default_box_is_unit(wheel: zipfile.ZipFile) -> None:
    """3.0 fixed the [-100, 100] box in its own wrapper; sacbench's ``legacy`` mode keeps the post's."""
    source = _read(wheel, "isaaclab_rl/sb3.py")
    assert re.search(r"action_bounds: tuple\[float, float\] = \(-1\.0, 1\.0\)", source)


def test_the_wheel_needs_python_3_12(wheel: zipfile.ZipFile) -> None:
    metadata = _read(wheel, f"isaaclab-{VERSION}.dist-info/METADATA")
    assert "Requires-Python: <3.13,>=3.12" in metadata
    assert Path(wheel.filename or "").name == f"isaaclab-{VERSION}-py3-none-any.whl"


@pytest.fixture(scope="module")
def schema(wheel: zipfile.ZipFile, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """``isaaclab/benchmark/schema.py`` of the wheel, imported on its own (it needs only the stdlib)."""
    path = tmp_path_factory.mktemp("schema") / "schema.py"
    path.write_text(_read(wheel, "isaaclab/benchmark/schema.py"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("isaaclab_benchmark_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the dataclasses' string annotations resolve through it
    spec.loader.exec_module(module)
    return module


def build_schema_value(hint: Any, value: Any, where: str) -> Any:  # noqa: PLR0911 (a type switch)
    """``value`` (plain JSON) as ``hint`` of the schema, refusing anything the dataclasses do not declare."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            assert type(None) in args, f"{where}: None is not allowed"
            return None
        for kind in (a for a in args if a is not type(None)):
            try:
                return build_schema_value(kind, value, where)
            except AssertionError:
                continue
        raise AssertionError(f"{where}: {value!r} fits none of {args}")
    if origin is typing.Literal:
        assert value in args, f"{where}: {value!r} is not one of {args}"
        return value
    if origin is list:
        assert isinstance(value, list), f"{where}: expected a list"
        return [build_schema_value(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        assert isinstance(value, dict), f"{where}: expected a mapping"
        return {k: build_schema_value(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        assert isinstance(value, dict), f"{where}: expected a mapping for {hint.__name__}"
        fields = {f.name: f for f in dataclasses.fields(hint)}
        assert not set(value) - set(fields), f"{where}: unknown fields {sorted(set(value) - set(fields))}"
        required = {
            n
            for n, f in fields.items()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        assert required <= set(value), f"{where}: missing {sorted(required - set(value))}"
        hints = typing.get_type_hints(hint)
        return hint(
            **{k: build_schema_value(hints[k], v, f"{where}.{k}") for k, v in value.items()}
        )  # runs __post_init__
    if hint is float:
        assert isinstance(value, int | float) and not isinstance(value, bool), f"{where}: {value!r} is not a number"
        return float(value)
    assert isinstance(value, hint) and (hint is bool or not isinstance(value, bool)), (
        f"{where}: {value!r} is not {hint}"
    )
    return value


def _isaaclab_record(task: str, **changes: Any) -> Any:
    from test_records import make_record

    rows = [
        {"time_s": 5.0 * (i + 1), "env_steps": 40_000 * (i + 1), "return_mean": float(i), "length_mean": 100.0 + i,
         "env_fps": 8000.0 + i}
        for i in range(4)
    ]  # fmt: skip
    provenance = {
        "packages": {"isaaclab": "3.0.0", "torch": "2.11.0", "stable-baselines3": "2.9.2", "numpy": "2.5.5"},
        "hardware": {"cpu_model": "EPYC", "num_logical_cpus": 16, "memory_gib": 120.0,
                     "gpus": [{"name": "NVIDIA H100", "memory_mib": 81559, "driver": "580"}]},
        "git": {"commit": "abc", "dirty": False},
        "start_utc": "2026-12-02T01:00:00+00:00", "end_utc": "2026-12-02T01:05:30+00:00",
        "backend_options": {"device": "cuda:0"},
    }  # fmt: skip
    fields = {"task": task, "backend": "isaaclab", "scale": "gpu", "curves": rows, "provenance": provenance}
    return make_record(**{**fields, **changes})


@pytest.mark.parametrize(("task", "physics"), [("a1-flat", "physx"), ("anymal_c-rough", "newton_mjwarp")])
def test_an_exported_run_is_a_valid_training_bundle(schema: ModuleType, task: str, physics: str) -> None:
    bundle = json.loads(json.dumps(training_bundle(_isaaclab_record(task)), allow_nan=False))
    built = build_schema_value(schema.TrainingBundle, bundle, "bundle")
    assert built.schema_version == schema.SCHEMA_VERSION == "1.4"
    assert (built.run.framework, built.run.config.physics_backend, built.run.task) == ("sb3", physics, task_id(task))
    assert built.runtime.iterations_completed == 4 and built.learning.reward.final_raw == 3.0
    assert built.extra["sacbench/eval/episode_return"] == 12.5
    assert dataclasses.asdict(built) == bundle  # what Isaac Lab's serialize.py would write back


def test_mirror_runs_are_not_exported() -> None:
    from test_records import make_record

    with pytest.raises(ExportError, match="no physics backend for the MuJoCo mirror"):
        training_bundle(make_record())
