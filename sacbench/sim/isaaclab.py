"""The GPU backend: Isaac Lab on CUDA, behind the backend protocol.

Importing this module never imports Isaac Lab; `make_isaaclab_env` does, when a run starts.

- Versions: 3.0 only (Python 3.12, "kit-less" ``launch_simulation``, physics presets, task ids
  without ``-v0``).  Isaac Lab 2.x cannot run beside sacbench (it needs Python 3.11 and
  ``numpy<2``; sacbench needs ``numpy>=2``), and its PyPI wheel is a thin wrapper without the
  ``app`` sources: `isaaclab_status` names an installed 2.x and the fix.  The version is read from
  the package metadata and the sources, never by importing Isaac Lab.
- Physics (3.0): ``newton_mjwarp`` (the default of the rough tasks and of Go2), ``isaacsim_physx``
  (the default of flat A1, Go1, ANYmal-B/C; needs Isaac Sim), ``ovphysx``, ``newton_kamino``, chosen
  through Isaac Lab's own preset override ``physics=<name>`` so that each task keeps its tuning.
- Seeds: ``env_cfg.seed`` before the env is created.
- Bounds: the adapter declares ``Box(-100, 100)`` like Isaac Lab 2.x's SB3 wrapper (3.0's wrapper
  defaults to ``[-1, 1]``), so the ``legacy`` bound mode means the same on both backends and as in
  the post.
- One conversion point: observations, rewards and flags stay torch tensors on the GPU here; the
  VecEnv adapter (`sacbench.bounds.BatchedVecEnv`) converts them to numpy once per step, and actions
  come back as numpy and are converted here.
- Final observations: 3.0's ``compute_final_obs`` is switched on, so time-outs bootstrap from the
  real last observation.
- Assets: robot USDs are fetched from NVIDIA's servers unless ``ISAACSIM_ASSET_ROOT`` points to a
  local mirror (set ``asset_root=`` or the variable before the run starts).
"""

from __future__ import annotations

import atexit
import enum
import importlib.metadata
import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from sacbench import metrics
from sacbench.sim.protocol import Backend, BackendStatus
from sacbench.tasks.registry import Robot, TaskSpec, Terrain, get_task
from sacbench.tasks.velocity import LEGACY_ACTION_BOUND

ISAACLAB_PYTHON = ((3, 12), (3, 13))
"""Isaac Lab 3.0 supports Python >= 3.12 and < 3.13."""

INSTALL_HINT = 'pip install "sacbench[isaaclab]" on Python 3.12 with an NVIDIA driver (see README: GPU set-up)'
BDX_USD_ENV_VAR = "SACBENCH_BDX_USD"


class IsaacLabVersion(enum.StrEnum):
    """Major versions of Isaac Lab; sacbench runs on 3.0 and recognises 2.x to refuse it clearly."""

    V2 = "2.x"
    V3 = "3.0"


SUPPORTED_VERSION = IsaacLabVersion.V3
V2_REASON = (
    "Isaac Lab {version} is installed; sacbench runs on Isaac Lab 3.0 only: 2.x needs Python 3.11 and"
    " numpy<2 while sacbench needs numpy>=2, and the PyPI 2.x wheel lacks the app launcher sources"
)


class Physics(enum.StrEnum):
    """Isaac Lab 3.0 physics presets of the velocity tasks (``RoughPhysicsCfg``)."""

    NEWTON_MJWARP = "newton_mjwarp"
    ISAACSIM_PHYSX = "isaacsim_physx"
    OVPHYSX = "ovphysx"
    NEWTON_KAMINO = "newton_kamino"
    PHYSX = "physx"
    """Auto: OvPhysX when nothing else needs Isaac Sim, else Isaac Sim's PhysX."""


_V3_NAMES = {
    Robot.A1: ("IsaacContrib", "UnitreeA1"),
    Robot.GO1: ("IsaacContrib", "UnitreeGo1"),
    Robot.GO2: ("Isaac", "UnitreeGo2"),
    Robot.ANYMAL_B: ("IsaacContrib", "AnymalB"),
    Robot.ANYMAL_C: ("IsaacContrib", "AnymalC"),
    Robot.BDX: ("Sacbench", "DisneyBDX"),
}


def task_id(task: TaskSpec | str) -> str:
    """Isaac Lab 3.0's gym id of a sacbench task.

    ``IsaacContrib-Velocity-Flat-UnitreeA1``, ``Isaac-Velocity-Rough-UnitreeGo2``, and the BD-X tasks
    sacbench registers itself (``Sacbench-Velocity-Flat-DisneyBDX``).
    """
    spec = get_task(task)
    prefix, name = _V3_NAMES[spec.robot]
    return f"{prefix}-Velocity-{spec.terrain.value.capitalize()}-{name}"


def default_physics(task: TaskSpec | str) -> Physics:
    """Isaac Lab 3.0's default physics of a task.

    Newton MJWarp on rough terrain and for Go2, Isaac Sim's PhysX for flat A1, Go1 and ANYmal-B/C
    (their ``flat_env_cfg.py``), Newton for BD-X (sacbench's choice: kit-less).
    """
    spec = get_task(task)
    if spec.terrain is Terrain.ROUGH or spec.robot in (Robot.GO2, Robot.BDX):
        return Physics.NEWTON_MJWARP
    return Physics.ISAACSIM_PHYSX


NVIDIA_INDEX = "https://pypi.nvidia.com"
"""NVIDIA's package index: Isaac Sim and parts of Omniverse are published there only."""


@dataclass(frozen=True)
class PhysicsPackage:
    """What a physics preset needs installed beside ``isaaclab`` itself."""

    modules: tuple[str, ...]
    """Any one of these importable modules will do."""
    install: str
    """The pip command that installs it."""


PHYSICS_PACKAGES = {
    # isaaclab 3.0.0's METADATA: `newton[sim]==1.6.1` is a plain dependency; `isaacsim` and `ovphysx`
    # come with the extras of the same names (Isaac Sim from NVIDIA's index).
    Physics.NEWTON_MJWARP: PhysicsPackage(("newton",), 'pip install "isaaclab==3.0.0"'),
    Physics.NEWTON_KAMINO: PhysicsPackage(("newton",), 'pip install "isaaclab==3.0.0"'),
    Physics.ISAACSIM_PHYSX: PhysicsPackage(
        ("isaacsim",), f'pip install "isaaclab[isaacsim]==3.0.0" --extra-index-url {NVIDIA_INDEX}'
    ),
    Physics.OVPHYSX: PhysicsPackage(("ovphysx",), 'pip install "isaaclab[ovphysx]==3.0.0"'),
    # "physx" is resolved by Isaac Lab: OvPhysX when nothing needs Kit, Isaac Sim's PhysX otherwise
    Physics.PHYSX: PhysicsPackage(("ovphysx", "isaacsim"), 'pip install "isaaclab[ovphysx]==3.0.0"'),
}


def missing_physics(tasks: list[str], physics: Physics | None = None) -> list[str]:
    """One line per task whose physics package is not installed, naming the physics and the fix.

    Args:
        tasks: sacbench task names.
        physics: The session's override (``--sacbench-physics``), else each task's default.
    """
    lines = []
    for name in tasks:
        chosen = physics or default_physics(name)
        package = PHYSICS_PACKAGES[chosen]
        if not any(importlib.util.find_spec(module) is not None for module in package.modules):
            needs = " or ".join(package.modules)
            lines.append(f"{name} runs on {chosen.value}, which needs the {needs} package; fix: {package.install}")
    return lines


def detect_version(package_dir: Path | None = None) -> IsaacLabVersion | None:
    """Which Isaac Lab is installed, without importing it (``None`` when none is).

    Args:
        package_dir: The ``isaaclab`` package folder (default: found through ``importlib``).
    """
    if package_dir is None:
        spec = importlib.util.find_spec("isaaclab")
        if spec is None or not spec.submodule_search_locations:
            return None
        package_dir = Path(next(iter(spec.submodule_search_locations)))
    if (package_dir / "app" / "sim_launcher.py").is_file():
        return IsaacLabVersion.V3
    if (package_dir / "app" / "app_launcher.py").is_file():
        return IsaacLabVersion.V2
    return None


def _cuda_reason() -> str | None:
    """Why CUDA is not usable through torch, or ``None`` when it is."""
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    import torch

    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU-only build (torch.version.cuda is None)"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no CUDA device"
    return None


def isaaclab_status() -> BackendStatus:
    """Whether Isaac Lab can run here; every missing prerequisite is listed, with its fix."""
    reasons: list[str] = []
    (low, high) = ISAACLAB_PYTHON
    here = sys.version_info[:2]
    if not low <= here < high:
        reasons.append(f"Python {here[0]}.{here[1]} is running; Isaac Lab 3.0 needs Python >= 3.12 and < 3.13")
    try:
        version = importlib.metadata.version("isaaclab")
    except importlib.metadata.PackageNotFoundError:
        version = None
        reasons.append("the isaaclab package is not installed")
    if version is not None and not version.startswith("3."):
        reasons.append(V2_REASON.format(version=version))
    cuda = _cuda_reason()
    if cuda is not None:
        reasons.append(f"no CUDA GPU: {cuda}")
    if reasons:
        reasons.append(f"fix: {INSTALL_HINT}")
        return BackendStatus(Backend.ISAACLAB, False, tuple(reasons))
    import torch

    device = torch.cuda.get_device_name(0)
    return BackendStatus(Backend.ISAACLAB, True, detail=f"isaaclab {version} on {device}")


# --------------------------------------------------------------------------------------- logs

_LOG_KEYS = (
    (re.compile(r"^Curriculum/terrain_levels$"), metrics.TERRAIN_LEVEL),
    (re.compile(r"^Episode_Reward/(.+)$"), r"episode_reward/\1"),
    (re.compile(r"^Episode_Termination/(.+)$"), r"episode_termination/\1"),
    (re.compile(r"^Metrics/base_velocity/(.+)$"), r"metrics/\1"),
)


def translate_log(log: dict[str, Any]) -> dict[str, Any]:
    """Isaac Lab's ``extras["log"]`` keys in sacbench's namespace (unknown keys kept, lowercased)."""
    out = {}
    for key, value in log.items():
        for pattern, replacement in _LOG_KEYS:
            if pattern.match(key):
                out[pattern.sub(replacement, key)] = value
                break
        else:
            out[key.lower()] = value
    return out


# --------------------------------------------------------------------------------------- adapter


class IsaacLabEnv:
    """A ``ManagerBasedRLEnv`` (Isaac Lab 3.0) behind the backend protocol.

    Args:
        env: The gym env (``gym.make(task_id, cfg=env_cfg)``) or an object with its surface.
        close_hook: Called by `close` after the env closes (ends the 3.0 launch context).
    """

    def __init__(self, env: Any, close_hook: Any = None) -> None:
        self.env = env
        self.unwrapped = getattr(env, "unwrapped", env)
        self.num_envs = int(self.unwrapped.num_envs)
        self.device = self.unwrapped.device
        obs_space = self.unwrapped.single_observation_space["policy"]
        act_dim = int(self.unwrapped.single_action_space.shape[0])
        self.observation_space: spaces.Box = spaces.Box(-np.inf, np.inf, (int(obs_space.shape[0]),), np.float32)
        self.action_space: spaces.Box = spaces.Box(-LEGACY_ACTION_BOUND, LEGACY_ACTION_BOUND, (act_dim,), np.float32)
        self.render_mode: str | None = None
        self._close_hook = close_hook
        self.joint_names = robot_joint_names(self.unwrapped, act_dim)

    def reset(self, seed: int | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset every env (keywords: 3.0's signature is ``reset(env_ids=..., *, seed=None, options=None)``)."""
        obs, _ = self.env.reset(seed=seed)
        return obs["policy"], {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Step with actions in the task's own units; returns torch tensors on the env's device."""
        import torch

        action = torch.as_tensor(np.asarray(actions), dtype=torch.float32, device=self.device)
        obs, reward, terminated, truncated, extras = self.env.step(action)
        out: dict[str, Any] = {}
        done = terminated | truncated
        if bool(done.any()):
            # Both keys are only refreshed on steps where some env reset; elsewhere they are stale.
            if "final_obs" in extras:
                out["final_obs"] = extras["final_obs"]["policy"]
            if "log" in extras:
                out["log"] = translate_log(extras["log"])
        return obs["policy"], reward, terminated, truncated, out

    def close(self) -> None:
        """Close the env, then the launch context."""
        self.env.close()
        if self._close_hook is not None:
            self._close_hook()


def robot_joint_names(unwrapped: Any, act_dim: int) -> tuple[str, ...]:
    """The joint each action dimension drives, as Isaac Lab 3.0 orders them.

    The velocity tasks' action term is ``JointPositionActionCfg(joint_names=[".*"])`` without
    ``preserve_order``, so action ``i`` drives the robot's ``joint_names[i]``
    (``isaaclab/envs/mdp/actions/joint_actions.py``, ``find_joints``); and that public order follows
    the physics engine unless ``joint_ordering`` is set, which no velocity task does
    (``isaaclab/assets/articulation/articulation_cfg.py``): breadth-first on PhysX, depth-first on
    Newton/MJWarp (``isaaclab/assets/articulation/ordering_resolvers.py``).

    Raises:
        RuntimeError: If the robot's joints do not match the action dimension.
    """
    names = tuple(str(name) for name in unwrapped.scene["robot"].joint_names)
    if len(names) != act_dim:
        raise RuntimeError(f"the robot has {len(names)} joints {list(names)} but the action has {act_dim} dimensions")
    return names


@dataclass(frozen=True)
class IsaacLabOptions:
    """Backend options (``RunConfig.backend_options`` / the ``--sacbench-*`` GPU options)."""

    device: str = "cuda:0"
    physics: Physics | None = None
    """``None``: the task's own default (`default_physics`)."""
    asset_root: Path | None = None
    """Local mirror of NVIDIA's assets (sets ``ISAACSIM_ASSET_ROOT`` before Isaac Lab is imported)."""
    bdx_usd: Path | None = None
    """The BD-X robot USD (default: ``$SACBENCH_BDX_USD``)."""


def _make_v3(spec: TaskSpec, num_envs: int, seed: int, options: IsaacLabOptions) -> IsaacLabEnv:
    import gymnasium as gym
    import isaaclab_tasks  # noqa: F401  (registers the gym ids; safe before launch on 3.0)
    from isaaclab.app import launch_simulation
    from isaaclab_tasks.utils import parse_env_cfg

    if spec.robot is Robot.BDX:
        from sacbench.sim.isaaclab_bdx import register_bdx_tasks

        register_bdx_tasks(bdx_usd_path(options))
    env_id = task_id(spec)
    physics = options.physics or default_physics(spec)
    # Presets are resolved here, before launch: an unresolved PresetCfg would make the launcher
    # believe Isaac Sim is needed.  `overrides` must be a list: with None Isaac Lab parses sys.argv.
    cfg = parse_env_cfg(env_id, device=options.device, num_envs=num_envs, overrides=[f"physics={physics.value}"])
    cfg.seed = seed
    cfg.compute_final_obs = True
    launch = launch_simulation(cfg, {"headless": True, "device": options.device, "visualizer": ["none"]})
    launch.__enter__()

    def end_launch() -> None:
        # With Isaac Sim (Kit) running, leaving the launch context ends the process: defer that to exit.
        atexit.register(launch.__exit__, None, None, None)

    env = IsaacLabEnv(gym.make(env_id, cfg=cfg), close_hook=end_launch)
    if sorted(env.joint_names) != sorted(spec.robot_spec.joint_order):
        env.close()
        raise RuntimeError(
            f"{env_id}: the env's joints {list(env.joint_names)} are not sacbench's {spec.robot.value} joints"
            f" {list(spec.robot_spec.joint_order)}"
        )
    return env


def bdx_usd_path(options: IsaacLabOptions) -> Path:
    """The BD-X USD from the options or ``$SACBENCH_BDX_USD``.

    Raises:
        FileNotFoundError: Naming what is missing and where to get it.
    """
    path = options.bdx_usd or (Path(os.environ[BDX_USD_ENV_VAR]) if os.environ.get(BDX_USD_ENV_VAR) else None)
    if path is None or not path.is_file():
        given = f" ({path} does not exist)" if path else ""
        raise FileNotFoundError(
            f"BD-X on Isaac Lab needs the robot's USD{given}: it is not part of Isaac Lab. Fix: fetch BDX.usd"
            " from louislelay/disney_bdx_rl_isaaclab (Git LFS: git lfs pull) and pass --sacbench-bdx-usd PATH"
            f" or export {BDX_USD_ENV_VAR}=PATH."
        )
    return path


def make_isaaclab_env(task: TaskSpec | str, num_envs: int, seed: int = 0, **kwargs: Any) -> IsaacLabEnv:
    """Start Isaac Lab headless and build ``task`` on it.

    Args:
        task: sacbench task.
        num_envs: Parallel robots.
        seed: ``env_cfg.seed``, set before the env is created.
        **kwargs: `IsaacLabOptions` fields (``device``, ``physics``, ``asset_root``, ``bdx_usd``).

    Raises:
        RuntimeError: If Isaac Lab cannot run here; the message lists every missing prerequisite.
    """
    if isinstance(kwargs.get("physics"), str):
        kwargs["physics"] = Physics(kwargs["physics"])
    options = IsaacLabOptions(**kwargs)
    status = isaaclab_status()
    if not status.usable:
        raise RuntimeError("the Isaac Lab backend is not usable here:\n  - " + "\n  - ".join(status.reasons))
    if options.asset_root is not None:
        os.environ["ISAACSIM_ASSET_ROOT"] = str(options.asset_root)  # read once, when isaaclab.utils.assets loads
    spec = get_task(task)
    version = detect_version()
    if version is not SUPPORTED_VERSION:
        raise RuntimeError(
            f"the installed isaaclab is {version or 'of an unknown version'} (no isaaclab/app/sim_launcher.py);"
            f" sacbench runs on Isaac Lab 3.0. Fix: {INSTALL_HINT}"
        )
    return _make_v3(spec, num_envs, seed, options)
