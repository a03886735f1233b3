"""The real Isaac Lab 3.0 under sacbench, on the CPU: every task, sacbench's assets, short real runs.

Nothing here is a stand-in.  `.ci/run` runs this module in a Python 3.12 venv with
``sacbench[isaaclab]`` installed; Isaac Lab runs kit-less with Newton's MuJoCo-Warp solver on Warp's
CPU device, from the assets `sacbench.sim.isaaclab_assets` writes.  Isaac Lab allows one env per
process, so each task is built by ``probe.py`` in a process of its own and each run by
``sacbench run``.  The main suite (Python 3.11, no Isaac Lab) does not collect this folder
(``tests/conftest.py``); here a missing Isaac Lab is an import error, never a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import isaaclab  # noqa: F401  (fails loudly where Isaac Lab is missing)
import numpy as np
import pytest
from gymnasium import spaces

from sacbench.bounds import PERCENTILE, resolve_bounds
from sacbench.records import RunStatus, load_run
from sacbench.robots.spec import LinkSpec, RobotSpec
from sacbench.sim.isaaclab import LEGACY_ACTION_BOUND, Assets, task_id
from sacbench.sim.isaaclab_assets import PACKAGED_ROOT, asset_digest, write_assets
from sacbench.sim.mujoco.model import build_robot
from sacbench.sim.protocol import Backend
from sacbench.tasks import Robot, Terrain, get_task, task_names

PROBE = Path(__file__).with_name("probe.py")
FIDELITY = Path(__file__).resolve().parents[2] / "benchmarks" / "fidelity.py"
TASKS = task_names()
NETWORK_ACTUATORS = {Robot.GO1, Robot.ANYMAL_B, Robot.ANYMAL_C}
"""Robots whose Isaac Lab actuator is a network (Go1's MLP, ANYmal's LSTM)."""
_PROBES: dict[str, dict[str, Any]] = {}


def probe_of(task: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The facts ``probe.py`` reads off the real env of ``task`` (built once per session)."""
    if task not in _PROBES:
        out = tmp_path_factory.mktemp("probe") / f"{task}.json"
        done = subprocess.run(
            [sys.executable, str(PROBE), task, str(out)], capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, f"probe of {task} failed:\n{done.stderr[-4000:]}"
        _PROBES[task] = json.loads(out.read_text(encoding="utf-8"))
    return _PROBES[task]


@pytest.mark.parametrize("task", TASKS)
def test_every_task_builds_resets_and_steps(task: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    facts, spec = probe_of(task, tmp_path_factory), get_task(task)
    assert facts["obs_shape"] == [4, spec.obs_dim]
    assert facts["action_shape"] == [spec.action_dim]
    assert facts["finite"], "non-finite observation or reward under zero actions"
    assert np.asarray(facts["rewards"]).shape == (40, 4)
    assert facts["all_reset"] and facts["final_obs_shape"] == [4, spec.obs_dim]


def newton_joint_order(robot: RobotSpec) -> list[str]:
    """Depth-first from the base, siblings in joint-name order.

    The order the stand-in (`tests/test_isaaclab.py`) claims for Newton, measured here: ANYmal's legs
    come LF, LH, RF, RH (its USD joints ``joints/<name>`` sort by prim path), not the facts' LF, RF, LH, RH.
    """
    children: dict[str, list[LinkSpec]] = {}
    for link in robot.links[1:]:
        children.setdefault(str(link.parent), []).append(link)
    order: list[str] = []

    def visit(name: str) -> None:
        for link in sorted(children.get(name, []), key=lambda child: child.joint.name if child.joint else child.name):
            if link.joint is not None:
                order.append(link.joint.name)
            visit(link.name)

    visit(robot.base_link.name)
    return order


@pytest.mark.parametrize("task", TASKS)
def test_joints_match_by_name_and_the_bounds_land_on_them(task: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    facts, spec = probe_of(task, tmp_path_factory), get_task(task)
    robot = spec.robot_spec
    assert sorted(facts["joint_names"]) == sorted(robot.joint_order)
    assert facts["joint_names"] == newton_joint_order(robot)
    box = spaces.Box(-LEGACY_ACTION_BOUND, LEGACY_ACTION_BOUND, (spec.action_dim,), np.float32)
    with warnings.catch_warnings():  # robots without Isaac Lab bounds fall back to the mirror's, with a warning
        warnings.simplefilter("ignore")
        by_table = resolve_bounds(PERCENTILE, spec, box, Backend.ISAACLAB, robot.joint_order)
    expected = {n: [lo, hi] for n, lo, hi in zip(robot.joint_order, by_table.low, by_table.high, strict=True)}
    assert facts["bounds_by_joint"] == expected


@pytest.mark.parametrize("task", TASKS)
def test_bodies_and_masses_are_the_mirrors(task: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    facts, spec = probe_of(task, tmp_path_factory), get_task(task)
    model = build_robot(spec.robot_spec)
    mirror = {model.body(b).name: float(model.body_mass[b]) for b in range(1, model.nbody)}
    assert sorted(facts["body_names"]) == sorted(mirror)
    randomized = set(facts["mass_randomized_bodies"])
    assert randomized and randomized <= set(mirror), "the add_base_mass event bound to no body"
    for name, mass in zip(facts["body_names"], facts["body_masses"], strict=True):
        if name not in randomized:
            assert mass == pytest.approx(mirror[name], rel=1e-6), name


@pytest.mark.parametrize("task", TASKS)
def test_contact_terms_bind_to_the_bodies_of_the_facts(task: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    facts, robot = probe_of(task, tmp_path_factory), get_task(task).robot_spec
    assert facts["sensor_bodies"] == sorted(facts["body_names"])  # {ENV_REGEX_NS}/Robot/.*: every body
    assert facts["feet_air_time"] == sorted(robot.foot_links)
    assert facts["base_contact"] == sorted(robot.termination_links)
    expected = sorted(robot.undesired_contact_links) or None
    assert facts["undesired_contacts"] == expected


@pytest.mark.parametrize("task", TASKS)
def test_the_log_keys_sacbench_reads_are_written(task: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    facts, spec = probe_of(task, tmp_path_factory), get_task(task)
    log = facts["log"]
    assert {f"episode_reward/{term}" for term in facts["reward_terms"]} <= set(log)
    assert log["episode_termination/time_out"] == 1.0  # the share of resetting envs: all four timed out
    if spec.terrain is Terrain.ROUGH:
        assert "curriculum/terrain_level" in log and 0 <= log["curriculum/terrain_level"] <= 10
    else:
        assert "curriculum/terrain_level" not in log


@pytest.mark.parametrize("task", TASKS)
def test_each_env_says_what_it_runs_on(task: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    setup, spec = probe_of(task, tmp_path_factory)["setup"], get_task(task)
    assert (setup["isaaclab"], setup["device"], setup["physics"], setup["assets"]) == (
        "3.0.0", "cpu", "newton_mjwarp", Assets.SACBENCH.value,
    )  # fmt: skip
    assert setup["asset_root"] == str(PACKAGED_ROOT) and setup["asset_digest"] == asset_digest(PACKAGED_ROOT)
    replaced = bool(setup["deviations"])
    assert replaced == (spec.robot in NETWORK_ACTUATORS), setup["deviations"]


@pytest.mark.parametrize("task", TASKS)
def test_actuator_networks_are_replaced_by_the_facts_and_nothing_else(
    task: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Read off Newton's live actuators: PD gains in every group (no neural drive), the facts' where a net was."""
    facts, spec = probe_of(task, tmp_path_factory), get_task(task)
    robot = spec.robot_spec
    assert not any(kind.startswith("ActuatorNet") for kind in facts["actuator_cfgs"].values())
    if spec.robot in NETWORK_ACTUATORS:
        assert facts["actuator_cfgs"] == {"sacbench_facts": "DCMotorCfg"}
        live = facts["actuator_gains"]["sacbench_facts"]
        assert live["kp"] == pytest.approx(dict(zip(robot.joint_order, robot.actuator.stiffness, strict=True)))
        assert live["kd"] == pytest.approx(dict(zip(robot.joint_order, robot.actuator.damping, strict=True)))
    else:
        assert "sacbench_facts" not in facts["actuator_cfgs"]  # the task's own actuators, untouched
        joints = {joint for group in facts["actuator_gains"].values() for joint in group["kp"]}
        assert joints == set(robot.joint_order)


def test_the_packaged_assets_are_what_the_facts_write(tmp_path: Path) -> None:
    """The shipped USD files are regenerated from the robot tables with the real ``pxr`` and compared."""
    written = write_assets(tmp_path)
    assert {p.relative_to(tmp_path) for p in written} == {
        p.relative_to(PACKAGED_ROOT) for p in PACKAGED_ROOT.rglob("*") if p.is_file()
    }
    for path in written:
        packaged = PACKAGED_ROOT / path.relative_to(tmp_path)
        assert path.read_text(encoding="utf-8") == packaged.read_text(encoding="utf-8"), packaged
    assert asset_digest(tmp_path) == asset_digest(PACKAGED_ROOT)


RUNS = [("a1-flat", "sac_tuned"), ("anymal_c-rough", "ppo_sb3")]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short real run of each of `RUNS`, each ``sacbench run`` in its own process."""
    out = tmp_path_factory.mktemp("runs")
    for task, preset in RUNS:
        command = [
            sys.executable, "-m", "sacbench.cli", "run", "--backend", "isaaclab", "--device", "cpu", "--task", task,
            "--preset", preset, "--budget", "25s", "--set", "num_envs=8", "--eval-episodes", "8", "--out", str(out),
            "--no-progress",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, env=os.environ)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-4000:]}"
    return out


@pytest.mark.parametrize(("task", "preset"), RUNS)
def test_short_real_runs_write_usable_records(run_dir: Path, task: str, preset: str) -> None:
    (path,) = run_dir.glob(f"{task}__{preset}__s0*.json")
    record = load_run(path)
    assert record.status is RunStatus.OK, record.error
    assert (record.backend, record.num_envs, record.scale) == ("isaaclab", 8, "cpu")
    assert np.isfinite(record.final["eval/episode_return"]) and record.final["eval/episodes"] == 8
    assert record.curves[-1]["grad_steps"] > 0, "the agent never updated"
    setup = record.provenance["isaaclab_setup"]
    assert (setup["isaaclab"], setup["device"], setup["physics"]) == ("3.0.0", "cpu", "newton_mjwarp")
    assert sorted(record.bounds["joint_names"]) == sorted(get_task(task).robot_spec.joint_order)
    if get_task(task).terrain is Terrain.ROUGH:
        assert np.isfinite(record.final["curriculum/terrain_level_late"])


def test_the_first_night_checklist_completes_on_the_cpu(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "sacbench.cli", "doctor", "--gpu", "--device", "cpu", "--budget", "15s",
               "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    start = lines.index("sacbench doctor --gpu: the first night (Isaac Lab on cpu)")
    assert [line.split(":")[0] for line in lines[start + 1 : -1]] == [
        "[ OK ] install", "[ OK ] physics newton_mjwarp", "[ OK ] run ppo_sb3 on a1-rough (newton_mjwarp, 15 s)",
        "[ OK ] physics newton_mjwarp", "[ OK ] run ppo_sb3 on a1-flat (newton_mjwarp, 15 s)", "[ OK ] report",
    ]  # fmt: skip
    assert lines[-1] == "all checks passed"


def test_exports_are_valid_training_bundles_of_the_real_schema(run_dir: Path, tmp_path: Path) -> None:
    from isaaclab.benchmark import schema
    from test_isaaclab_source import build_schema_value

    done = subprocess.run(
        [sys.executable, "-m", "sacbench.cli", "export", str(run_dir), "--out", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    bundles = sorted(tmp_path.glob("*.training.json"))
    assert len(bundles) == len(RUNS)
    for path in bundles:
        built = build_schema_value(schema.TrainingBundle, json.loads(path.read_text()), path.name)
        assert built.run.config.physics_backend == "newton_mjwarp" and built.run.task in {task_id(t) for t, _ in RUNS}


def test_the_mirror_computes_isaac_labs_terms_on_isaac_labs_states(tmp_path: Path) -> None:
    """``benchmarks/fidelity.py`` on one flat and one rough task: every term and setting within its tolerance."""
    tasks = ["a1-flat", "anymal_c-rough"]
    command = [sys.executable, str(FIDELITY), "--tasks", *tasks, "--envs", "4", "--steps", "30", "--out", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads((tmp_path / "fidelity.json").read_text(encoding="utf-8"))
    assert [r["task"] for r in results] == tasks
    for result in results:
        spec = get_task(result["task"])
        assert set(result["rewards"]) == {term.name for term in spec.cfg.rewards}
        assert len(result["observations"]) == 7 + spec.cfg.rough  # the height scan on rough terrain
    table = (tmp_path / "fidelity.md").read_text(encoding="utf-8")
    failing = [line for line in table.splitlines() if "| NO |" in line]
    assert not failing, "\n".join(failing)


def test_several_runs_of_one_command_each_get_their_own_isaac_lab(tmp_path: Path) -> None:
    """Isaac Lab allows one env per process: ``sacbench run`` over two seeds must still finish both."""
    command = [
        sys.executable, "-m", "sacbench.cli", "run", "--backend", "isaaclab", "--device", "cpu", "--task", "a1-flat",
        "--preset", "ppo_sb3", "--seed", "0", "1", "--budget", "5s", "--set", "num_envs=4", "--eval-episodes", "4",
        "--out", str(tmp_path), "--no-progress",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    records = [load_run(path) for path in sorted(tmp_path.glob("a1-flat__ppo_sb3__s*.json"))]
    assert [r.seed for r in records] == [0, 1]
    assert all(r.status is RunStatus.OK and np.isfinite(r.final["eval/episode_return"]) for r in records)


SECOND_ENV = """
from sacbench.sim.isaaclab import make_isaaclab_env
first = make_isaaclab_env("a1-flat", num_envs=2, seed=0, device="cpu")
try:
    make_isaaclab_env("a1-flat", num_envs=2, seed=1, device="cpu")
except Exception as exc:
    print("refused:", type(exc).__name__, exc)
else:
    print("built a second env")
"""


def test_a_second_env_in_one_process_is_refused_as_the_stand_in_says() -> None:
    """The stand-in's one-env-per-process rule, on the real env: kit-less it is an ``AttributeError``.

    ``ManagerBasedEnv.__init__`` refuses a second simulation context through
    ``builtins.ISAAC_LAUNCHED_FROM_TERMINAL``, which only Isaac Sim's Kit defines; kit-less that
    lookup fails first.  Either way the second env is not built, which is why every Isaac Lab run
    gets its own process (`sacbench.executor.train_isolated`).
    """
    done = subprocess.run([sys.executable, "-c", SECOND_ENV], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused: AttributeError module 'builtins' has no attribute 'ISAAC_LAUNCHED_FROM_TERMINAL'" in done.stdout
