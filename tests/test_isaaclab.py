"""The Isaac Lab backend: id mapping, version detection, bounds and the adapter's conversions.

Isaac Lab cannot run here (Python 3.12 and a CUDA GPU); the adapter is exercised against
`StandInManagerBasedRLEnv`, a small stand-in that follows Isaac Lab 3.0's documented
``ManagerBasedRLEnv`` surface.  Real Isaac Lab tests are marked ``gpu`` and skip without it.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium import spaces

import sacbench.train as train_module
from sacbench.bounds import LEGACY, PERCENTILE, BatchedVecEnv, resolve_bounds
from sacbench.records import RunStatus
from sacbench.sim import isaaclab as isaaclab_module
from sacbench.sim.isaaclab import (
    IsaacLabEnv,
    IsaacLabOptions,
    IsaacLabVersion,
    Physics,
    bdx_usd_path,
    default_physics,
    detect_version,
    isaaclab_status,
    make_isaaclab_env,
    missing_physics,
    task_id,
    translate_log,
)
from sacbench.sim.protocol import Backend, BatchedEnv
from sacbench.tasks import get_task, task_names
from sacbench.train import EVAL_SEED_OFFSET, Budget, RunConfig, train

A1_PHYSX_ORDER = get_task("a1-flat").robot_spec.joint_order
"""Breadth-first: every hip, then every thigh, then every calf (PhysX's order, sacbench's table)."""
A1_NEWTON_ORDER = tuple(f"{leg}_{part}_joint" for leg in ("FL", "FR", "RL", "RR") for part in ("hip", "thigh", "calf"))
"""Depth-first: leg by leg (Newton/MJWarp, the default physics of every rough task)."""


class StandInManagerBasedRLEnv:
    """A STAND-IN for Isaac Lab 3.0's ``ManagerBasedRLEnv``, not a simulator.

    It copies what sacbench depends on, each from the file of the ``isaaclab==3.0.0`` wheel that does it:

    - one env per process: a second env while one is open raises ``RuntimeError`` (the simulation
      context check at the top of ``ManagerBasedEnv.__init__`` in ``isaaclab/envs/manager_based_env.py``,
      and ``SimulationContext.__init__`` in ``isaaclab/sim/simulation_context.py``); ``close`` clears it.
      With Isaac Sim's Kit; kit-less the same check fails as an ``AttributeError`` first (measured on
      the real env: ``tests/isaaclab_cpu``);
    - joint order: ``scene["robot"].joint_names`` in the physics engine's order, depth-first on Newton
      (``isaaclab/assets/articulation/ordering_resolvers.py``; no velocity task sets ``joint_ordering``,
      ``isaaclab/assets/articulation/articulation_cfg.py``), and action ``i`` drives ``joint_names[i]``
      (``isaaclab/envs/mdp/actions/joint_actions.py``);
    - ``reset(env_ids=None, *, seed=None, options=None)`` (``isaaclab/envs/manager_based_rl_env.py``);
      torch tensors in and out on ``device``; an unbounded ``single_action_space`` (same file);
    - ``extras["log"]`` with the keys ``Curriculum/terrain_levels``, ``Episode_Reward/<term>``,
      ``Episode_Termination/<term>``, ``Metrics/base_velocity/<metric>``, and with ``compute_final_obs``
      ``extras["final_obs"]["policy"]``, both refreshed only on steps where an env resets (``_reset_idx``
      and ``step`` in ``manager_based_rl_env.py``).

    Env ``i`` ends its episode every ``i + 2`` steps, by the time limit (``truncated``) or, for the
    envs in ``falls``, by a termination; observations count the episode's steps.
    """

    open_envs = 0
    """Envs open in this process (Isaac Lab's one simulation context)."""

    def __init__(
        self,
        num_envs: int = 3,
        obs_dim: int = 48,
        act_dim: int = 12,
        device: str = "cpu",
        joint_names: tuple[str, ...] = A1_NEWTON_ORDER,
        *,
        falls: tuple[int, ...] = (),
    ) -> None:
        if StandInManagerBasedRLEnv.open_envs:
            raise RuntimeError("Simulation context already exists. Cannot create a new one.")
        StandInManagerBasedRLEnv.open_envs += 1
        self.num_envs, self.device = num_envs, device
        self.single_observation_space = {"policy": spaces.Box(-np.inf, np.inf, (obs_dim,))}
        self.single_action_space = spaces.Box(-np.inf, np.inf, (act_dim,))
        self.scene = {"robot": SimpleNamespace(joint_names=list(joint_names))}
        self.unwrapped = self
        self.t = torch.zeros(num_envs)
        self.extras: dict[str, Any] = {}
        self.seen_actions: list[torch.Tensor] = []
        self.closed = False
        self.reset_seed: int | None = None
        self.falls = torch.zeros(num_envs, dtype=torch.bool)
        self.falls[list(falls)] = True

    def _obs(self) -> dict[str, torch.Tensor]:
        return {"policy": self.t[:, None].repeat(1, self.single_observation_space["policy"].shape[0])}

    def reset(
        self, env_ids: Any = None, *, seed: int | None = None, options: Any = None
    ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        self.reset_seed = seed
        self.t[:] = 0
        return self._obs(), self.extras

    def step(self, action: torch.Tensor) -> tuple[Any, ...]:
        if not isinstance(action, torch.Tensor):
            raise TypeError("ManagerBasedRLEnv.step expects a torch tensor")
        assert action.dtype == torch.float32 and action.shape == (self.num_envs, self.single_action_space.shape[0])
        self.seen_actions.append(action)
        self.t += 1
        ended = self.t >= torch.arange(2, self.num_envs + 2)
        terminated, truncated = ended & self.falls, ended & ~self.falls
        if ended.any():
            self.extras["final_obs"] = self._obs()
            self.extras["log"] = {
                "Curriculum/terrain_levels": torch.tensor(2.5),
                "Episode_Reward/track_lin_vel_xy_exp": torch.tensor(0.7),
                "Episode_Termination/time_out": 1.0,
                "Metrics/base_velocity/error_vel_xy": 0.3,
            }
            self.t[ended] = 0
        return self._obs(), torch.ones(self.num_envs), terminated, truncated, self.extras

    def close(self) -> None:
        if not self.closed:
            StandInManagerBasedRLEnv.open_envs -= 1
        self.closed = True


@pytest.fixture(autouse=True)
def _no_env_left_open() -> Any:
    """Each test starts in a process without an open simulation context, as a fresh process does."""
    StandInManagerBasedRLEnv.open_envs = 0
    yield
    StandInManagerBasedRLEnv.open_envs = 0


def test_task_ids_follow_isaac_lab_3() -> None:
    assert task_id("a1-flat") == "IsaacContrib-Velocity-Flat-UnitreeA1"
    assert task_id("anymal_c-rough") == "IsaacContrib-Velocity-Rough-AnymalC"
    assert task_id("go2-rough") == "Isaac-Velocity-Rough-UnitreeGo2"
    assert task_id("bdx-flat") == "Sacbench-Velocity-Flat-DisneyBDX"
    assert len({task_id(t) for t in task_names()}) == 12


def test_isaac_lab_2_is_named_and_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isaaclab_module.importlib.metadata, "version", lambda name: "2.3.2")
    reasons = isaaclab_status().reasons
    assert any(r.startswith("Isaac Lab 2.3.2 is installed; sacbench runs on Isaac Lab 3.0 only") for r in reasons)
    assert reasons[-1].startswith("fix: pip install")


def test_default_physics_follow_isaac_lab() -> None:
    assert default_physics("a1-flat") is Physics.ISAACSIM_PHYSX
    assert default_physics("anymal_c-flat") is Physics.ISAACSIM_PHYSX
    assert default_physics("go2-flat") is Physics.NEWTON_MJWARP
    assert all(default_physics(f"{r}-rough") is Physics.NEWTON_MJWARP for r in ("a1", "go1", "anymal_b", "bdx"))


def test_version_is_detected_from_files(tmp_path: Path) -> None:
    (tmp_path / "v3" / "app").mkdir(parents=True)
    (tmp_path / "v3" / "app" / "sim_launcher.py").touch()
    (tmp_path / "v2" / "app").mkdir(parents=True)
    (tmp_path / "v2" / "app" / "app_launcher.py").touch()
    assert detect_version(tmp_path / "v3") is IsaacLabVersion.V3
    assert detect_version(tmp_path / "v2") is IsaacLabVersion.V2
    assert detect_version(tmp_path) is None


def test_log_keys_are_translated() -> None:
    log = translate_log(
        {
            "Curriculum/terrain_levels": 1.0,
            "Episode_Reward/feet_air_time": 2.0,
            "Metrics/base_velocity/error_vel_yaw": 3.0,
            "Other": 4.0,
        }
    )
    assert log == {
        "curriculum/terrain_level": 1.0,
        "episode_reward/feet_air_time": 2.0,
        "metrics/error_vel_yaw": 3.0,
        "other": 4.0,
    }


def test_adapter_follows_the_protocol_with_one_conversion_point() -> None:
    stand_in = StandInManagerBasedRLEnv()
    env = IsaacLabEnv(stand_in)
    assert isinstance(env, BatchedEnv)
    assert env.num_envs == 3
    assert (env.action_space.low == -100).all() and (env.action_space.high == 100).all()  # legacy, like 2.x's wrapper
    obs, _ = env.reset(seed=5)
    assert stand_in.reset_seed == 5 and isinstance(obs, torch.Tensor)
    obs, reward, _, truncated, extras = env.step(np.ones((3, 12)))
    assert isinstance(obs, torch.Tensor) and isinstance(reward, torch.Tensor)  # still torch here
    assert stand_in.seen_actions[-1].dtype == torch.float32
    assert truncated.tolist() == [False, False, False] and extras == {}  # stale keys are not passed on
    _, _, _, truncated, extras = env.step(np.zeros((3, 12)))
    assert truncated.tolist() == [True, False, False]
    assert extras["final_obs"].shape == (3, 48)
    assert extras["log"]["curriculum/terrain_level"] == 2.5
    env.close()
    assert stand_in.closed


def test_vec_env_adapter_converts_once_and_uses_the_final_observation() -> None:
    env = IsaacLabEnv(StandInManagerBasedRLEnv())
    bounds = resolve_bounds(LEGACY, get_task("a1-flat"), env.action_space, Backend.ISAACLAB)
    venv = BatchedVecEnv(env, bounds)
    obs = venv.reset()
    assert isinstance(obs, np.ndarray) and obs.dtype == np.float32
    venv.step(np.zeros((3, 12), np.float32))
    obs, reward, dones, infos = venv.step(np.zeros((3, 12), np.float32))
    assert isinstance(reward, np.ndarray) and dones.tolist() == [True, False, False]
    assert infos[0]["terminal_observation"][0] == 2.0  # the pre-reset observation (step count 2)
    assert obs[0, 0] == 0.0  # the returned observation is the new episode's
    assert infos[0]["TimeLimit.truncated"] is True and infos[0]["episode"] == {"r": 2.0, "l": 2}
    assert venv.last_log["curriculum/terrain_level"] == 2.5


def test_percentile_bounds_on_isaaclab_are_the_posts() -> None:
    env = IsaacLabEnv(StandInManagerBasedRLEnv())
    bounds = resolve_bounds(PERCENTILE, get_task("a1-flat"), env.action_space, Backend.ISAACLAB)
    assert bounds.low[:3] == (-2.0, -0.4, -2.6) and bounds.source.startswith("isaaclab/a1.json")


def test_make_env_without_isaaclab_lists_what_is_missing() -> None:
    if isaaclab_status().usable:
        pytest.skip("Isaac Lab is usable here")
    with pytest.raises(
        RuntimeError, match=r"(?s)the Isaac Lab backend is not usable here:\n  - .*\n  - fix: pip install"
    ):
        make_isaaclab_env("a1-flat", num_envs=4)


def test_bdx_needs_its_usd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(isaaclab_module.BDX_USD_ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match=r"BD-X on Isaac Lab needs the robot's USD: .*--sacbench-bdx-usd PATH"):
        bdx_usd_path(IsaacLabOptions())
    with pytest.raises(FileNotFoundError, match=r"\(/no/such.usd does not exist\)"):
        bdx_usd_path(IsaacLabOptions(bdx_usd=Path("/no/such.usd")))
    usd = tmp_path / "BDX.usd"
    usd.touch()
    monkeypatch.setenv(isaaclab_module.BDX_USD_ENV_VAR, str(usd))
    assert bdx_usd_path(IsaacLabOptions()) == usd


@pytest.mark.gpu
@pytest.mark.skipif(not isaaclab_status().usable, reason="needs Isaac Lab on a CUDA GPU (see `sacbench doctor`)")
@pytest.mark.parametrize("task", ["a1-flat", "anymal_c-rough"])
def test_real_isaaclab_env_steps(task: str) -> None:  # pragma: no cover - GPU only
    env = make_isaaclab_env(task, num_envs=8, seed=0)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (8, get_task(task).obs_dim)
    for _ in range(5):
        obs, reward, *_ = env.step(np.zeros((8, 12)))
    assert reward.shape == (8,)
    env.close()


def _only_installed(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Pretend that of the physics packages only ``modules`` are importable."""
    real = isaaclab_module.importlib.util.find_spec
    physics_modules = {"newton", "isaacsim", "ovphysx"}

    def find_spec(name: str, *args: Any) -> Any:
        if name in physics_modules:
            return object() if name in modules else None
        return real(name, *args)

    monkeypatch.setattr(isaaclab_module.importlib.util, "find_spec", find_spec)


def test_missing_physics_names_the_task_its_physics_and_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    _only_installed(monkeypatch, "newton")
    (line,) = missing_physics(["a1-flat", "a1-rough", "go2-flat"])
    assert line == (
        "a1-flat runs on isaacsim_physx, which needs the isaacsim package; fix: pip install"
        ' "isaaclab[isaacsim]==3.0.0" --extra-index-url https://pypi.nvidia.com'
    )
    assert missing_physics(["a1-flat"], Physics.NEWTON_MJWARP) == []
    (line,) = missing_physics(["a1-rough"], Physics.OVPHYSX)
    assert 'needs the ovphysx package; fix: pip install "isaaclab[ovphysx]==3.0.0"' in line
    _only_installed(monkeypatch, "isaacsim")
    assert missing_physics(["a1-flat"], Physics.PHYSX) == []  # Isaac Sim's PhysX serves "physx" too


def test_per_joint_bounds_follow_the_envs_joint_names() -> None:
    """On Newton the A1's joints come leg by leg: each bound must still land on its own joint."""
    physx = IsaacLabEnv(StandInManagerBasedRLEnv(joint_names=A1_PHYSX_ORDER))
    by_physx = resolve_bounds(PERCENTILE, get_task("a1-flat"), physx.action_space, Backend.ISAACLAB, physx.joint_names)
    physx.close()
    newton = IsaacLabEnv(StandInManagerBasedRLEnv())
    assert newton.joint_names == A1_NEWTON_ORDER
    by_newton = resolve_bounds(
        PERCENTILE, get_task("a1-flat"), newton.action_space, Backend.ISAACLAB, newton.joint_names
    )
    physx_box = dict(zip(A1_PHYSX_ORDER, zip(by_physx.low, by_physx.high, strict=True), strict=True))
    newton_box = dict(zip(A1_NEWTON_ORDER, zip(by_newton.low, by_newton.high, strict=True), strict=True))
    assert newton_box == physx_box  # the same box for every joint name
    assert by_newton.low != by_physx.low  # in another order of the action vector
    assert by_newton.to_dict()["joint_names"] == list(A1_NEWTON_ORDER)


def test_adapter_refuses_joints_that_do_not_match_the_action() -> None:
    with pytest.raises(RuntimeError, match=r"the robot has 11 joints .* but the action has 12 dimensions"):
        IsaacLabEnv(StandInManagerBasedRLEnv(joint_names=A1_NEWTON_ORDER[:11]))


def test_stand_in_allows_one_env_per_process_like_isaac_lab() -> None:
    first = StandInManagerBasedRLEnv()
    with pytest.raises(RuntimeError, match="Simulation context already exists"):
        StandInManagerBasedRLEnv()
    first.close()
    StandInManagerBasedRLEnv().close()  # after close, a new one can be made


def test_a_run_on_the_stand_in_is_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training, then evaluation on the same env, re-seeded: one env per process, as Isaac Lab allows.

    Runners that built a second env for evaluation crashed here (with the training env open), or
    relied on re-creating an env after ``close``, which real Isaac Lab builds do not always survive
    (isaac-sim/IsaacLab#3874: a second env after ``close`` hangs)."""
    made: list[StandInManagerBasedRLEnv] = []

    def stand_in_env(task: str, num_envs: int, seed: int, **kwargs: Any) -> IsaacLabEnv:
        made.append(StandInManagerBasedRLEnv(num_envs=num_envs))
        return IsaacLabEnv(made[-1])

    monkeypatch.setattr(train_module, "make_env", stand_in_env)
    overrides = {"num_envs": 4, "net_arch": (16, 16), "n_steps": 8, "n_minibatches": 2, "n_epochs": 1}
    record = train(
        RunConfig("a1-flat", "ppo_sb3", 0, Budget(600, max_env_steps=64), overrides=overrides, eval_episodes=4)
    )
    assert record.status is RunStatus.OK, record.error
    assert [env.num_envs for env in made] == [4] and made[0].closed  # one env trained and evaluated
    assert made[0].reset_seed == EVAL_SEED_OFFSET  # the evaluation reset, seed 0 + offset
    assert record.final["eval/episodes"] == 4


def test_on_the_cpu_every_task_runs_newton_mjwarp_and_nothing_else() -> None:
    from sacbench.sim.isaaclab import CPU_PHYSICS, resolve_physics

    assert {resolve_physics(task, "cpu") for task in task_names()} == {CPU_PHYSICS}
    assert resolve_physics("a1-flat", "cuda:0") is Physics.ISAACSIM_PHYSX  # the task's own on a GPU
    assert resolve_physics("a1-flat", "cpu", "newton_mjwarp") is Physics.NEWTON_MJWARP
    with pytest.raises(ValueError, match=r"physics isaacsim_physx cannot run on device 'cpu'.*--physics newton_mjwarp"):
        resolve_physics("a1-flat", "cpu", "isaacsim_physx")
    with pytest.raises(ValueError, match=r"unknown physics 'bullet'; expected one of: newton_mjwarp, "):
        resolve_physics("a1-flat", "cuda:0", "bullet")


def test_options_parse_strings_and_pick_the_assets_by_device() -> None:
    from sacbench.sim.isaaclab import Assets

    cpu = IsaacLabOptions.parse({"device": "cpu"})
    assert cpu.resolved_assets is Assets.SACBENCH  # NVIDIA's server is out of reach on the CPU route
    assert IsaacLabOptions.parse({}).resolved_assets is Assets.NVIDIA
    mirror = IsaacLabOptions.parse({"device": "cpu", "asset_root": "/mirror"})
    assert mirror.asset_root == Path("/mirror") and mirror.resolved_assets is Assets.NVIDIA
    gpu = IsaacLabOptions.parse({"assets": "sacbench", "physics": "newton_mjwarp"})
    assert gpu.resolved_assets is Assets.SACBENCH and gpu.physics is Physics.NEWTON_MJWARP
    with pytest.raises(ValueError, match=r"unknown Isaac Lab option\(s\) \['gpu'\]; expected: asset_root, assets, "):
        IsaacLabOptions.parse({"gpu": "0"})
    with pytest.raises(ValueError, match=r"unknown assets 'omniverse'; expected one of: nvidia, sacbench"):
        IsaacLabOptions.parse({"assets": "omniverse"})
    with pytest.raises(ValueError, match=r"assets=sacbench brings its own asset root; asset_root=/m names"):
        IsaacLabOptions.parse({"assets": "sacbench", "asset_root": "/m"})


def test_bdx_on_sacbench_assets_uses_the_packaged_usd(monkeypatch: pytest.MonkeyPatch) -> None:
    from sacbench.sim.isaaclab_assets import PACKAGED_ROOT, ROBOT_USD

    monkeypatch.delenv(isaaclab_module.BDX_USD_ENV_VAR, raising=False)
    path = bdx_usd_path(IsaacLabOptions(device="cpu"))
    assert path == PACKAGED_ROOT / ROBOT_USD[get_task("bdx-flat").robot] and path.is_file()


def test_the_asset_root_cannot_change_once_isaac_lab_resolved_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from sacbench.sim.isaaclab import ASSET_ROOT_ENV_VAR, use_asset_root

    monkeypatch.delenv(ASSET_ROOT_ENV_VAR, raising=False)
    use_asset_root(Path("/a"))
    assert isaaclab_module.os.environ[ASSET_ROOT_ENV_VAR] == "/a"
    resolved = SimpleNamespace(NUCLEUS_ASSET_ROOT_DIR="/a")
    monkeypatch.setitem(isaaclab_module.sys.modules, "isaaclab.utils.assets", resolved)
    use_asset_root(Path("/a"))  # the same root: fine
    with pytest.raises(RuntimeError, match=r"already resolved its asset root to /a in this process, not /b"):
        use_asset_root(Path("/b"))


def test_a_cpu_device_run_is_cpu_scale_with_few_envs_recorded_as_overrides() -> None:
    from sacbench.algos.presets import Scale
    from sacbench.train import CPU_DEVICE_NUM_ENVS, config_scale, run_overrides

    cpu = RunConfig("a1-flat", "ppo_sb3", 0, Budget(60), backend=Backend.ISAACLAB, backend_options={"device": "cpu"})
    assert config_scale(cpu) is Scale.CPU and run_overrides(cpu) == {"num_envs": CPU_DEVICE_NUM_ENVS}
    mine = RunConfig(
        "a1-flat", "ppo_sb3", 0, Budget(60), backend=Backend.ISAACLAB, backend_options={"device": "cpu"},
        overrides={"num_envs": 64},
    )  # fmt: skip
    assert run_overrides(mine) == {"num_envs": 64}
    gpu = RunConfig("a1-flat", "ppo_sb3", 0, Budget(60), backend=Backend.ISAACLAB)
    assert config_scale(gpu) is Scale.GPU and run_overrides(gpu) == {}
    mirror = RunConfig("a1-flat", "ppo_sb3", 0, Budget(60))
    assert config_scale(mirror) is Scale.CPU and run_overrides(mirror) == {}


def test_the_cli_refuses_isaaclab_flags_on_the_mirror() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "sacbench.cli", "run", "--task", "a1-flat", "--preset", "ppo_sb3", "--device", "cpu"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--device cpu: applies to --backend isaaclab only" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "sacbench.cli", "run", "--task", "a1-flat", "--preset", "ppo_sb3", "--backend",
         "isaaclab", "--device", "cpu", "--physics", "ovphysx"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "physics ovphysx cannot run on device 'cpu'" in done.stderr
