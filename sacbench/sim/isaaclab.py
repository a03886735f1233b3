"""The Isaac Lab 3.0 backend, behind the backend protocol: on a CUDA GPU (the nightly) or on the CPU.

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
- Devices: ``cuda:N`` or ``cpu``.  On the CPU the env is the same Isaac Lab env, kit-less, with Newton's
  MuJoCo-Warp solver on Warp's CPU device (the only physics that runs without a GPU or Isaac Sim).
- Assets (`Assets`): NVIDIA's (fetched from NVIDIA's servers unless ``ISAACSIM_ASSET_ROOT`` points to a
  local mirror of them), or sacbench's, written from its robot facts (`sacbench.sim.isaaclab_assets`;
  the CPU default, and any offline machine's), with the actuator networks replaced by each robot's
  actuator facts.  Each env says which it ran on (`IsaacLabEnv.setup`), and every record keeps it.
"""

from __future__ import annotations

import atexit
import enum
import importlib.metadata
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from sacbench import metrics
from sacbench.robots.spec import ActuatorModel, RobotSpec
from sacbench.sim.protocol import Backend, BackendStatus
from sacbench.tasks.registry import Robot, TaskSpec, Terrain, get_task
from sacbench.tasks.velocity import LEGACY_ACTION_BOUND

ISAACLAB_PYTHON = ((3, 12), (3, 13))
"""Isaac Lab 3.0 supports Python >= 3.12 and < 3.13."""

INSTALL_HINT = 'pip install "sacbench[isaaclab]" on Python 3.12 with an NVIDIA driver (see docs/gpu.md)'
CPU_INSTALL_HINT = 'pip install "sacbench[isaaclab]" in a Python 3.12 venv (see docs/gpu.md: Isaac Lab on the CPU)'
BDX_USD_ENV_VAR = "SACBENCH_BDX_USD"
ASSET_ROOT_ENV_VAR = "ISAACSIM_ASSET_ROOT"
"""Isaac Lab reads it once, when ``isaaclab.utils.assets`` is imported."""


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


CPU_PHYSICS = Physics.NEWTON_MJWARP
"""The physics of every task on the CPU: MuJoCo-Warp runs on Warp's CPU device, kit-less; PhysX needs
Isaac Sim and Kamino is untested there."""


def is_cpu(device: str) -> bool:
    """Whether ``device`` (torch/Warp style: ``cpu``, ``cuda:0``) is the CPU."""
    return device.split(":", maxsplit=1)[0] == "cpu"


def parse_physics(name: Physics | str) -> Physics:
    """A physics preset by name.

    Raises:
        ValueError: For a name that is not a preset, listing the presets.
    """
    try:
        return Physics(name)
    except ValueError:
        raise ValueError(f"unknown physics {name!r}; expected one of: {', '.join(Physics)}") from None


def resolve_physics(task: TaskSpec | str, device: str, physics: Physics | str | None = None) -> Physics:
    """The physics a run uses: the one asked for, else the task's default on a GPU and `CPU_PHYSICS` on the CPU.

    Raises:
        ValueError: For a physics name that is not a preset, or one that cannot run on the CPU.
    """
    if physics is not None:
        physics = parse_physics(physics)
    if not is_cpu(device):
        return physics or default_physics(task)
    if physics not in (None, CPU_PHYSICS):
        raise ValueError(
            f"physics {physics} cannot run on device {device!r}: on the CPU Isaac Lab 3.0 runs kit-less on"
            f" {CPU_PHYSICS.value} only. Fix: drop the physics option or use --physics {CPU_PHYSICS.value}"
        )
    return CPU_PHYSICS


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


def missing_physics(tasks: list[str], physics: Physics | None = None, device: str = "cuda:0") -> list[str]:
    """One line per task whose physics package is not installed, naming the physics and the fix.

    Args:
        tasks: sacbench task names.
        physics: The session's override (``--sacbench-physics``), else each task's default.
        device: Isaac Lab's device (on the CPU every task runs `CPU_PHYSICS`).

    Raises:
        ValueError: For a physics that cannot run on ``device`` (`resolve_physics`).
    """
    lines = []
    for name in tasks:
        chosen = resolve_physics(name, device, physics)
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


def isaaclab_status(device: str = "cuda:0") -> BackendStatus:
    """Whether Isaac Lab can run here on ``device``; every missing prerequisite is listed, with its fix.

    On the CPU no CUDA is needed, but Newton is (`CPU_PHYSICS`); it comes with ``isaaclab`` 3.0.
    """
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
    if is_cpu(device):
        if version is not None and importlib.util.find_spec("newton") is None:
            reasons.append(f"the newton package is not installed ({CPU_PHYSICS.value} runs on it)")
    elif (cuda := _cuda_reason()) is not None:
        reasons.append(f"no CUDA GPU: {cuda} (or run on the CPU: --device cpu)")
    if reasons:
        reasons.append(f"fix: {CPU_INSTALL_HINT if is_cpu(device) else INSTALL_HINT}")
        return BackendStatus(Backend.ISAACLAB, False, tuple(reasons))
    if is_cpu(device):
        return BackendStatus(Backend.ISAACLAB, True, detail=f"isaaclab {version} on the CPU ({CPU_PHYSICS.value})")
    import torch

    name = torch.cuda.get_device_name(0)
    return BackendStatus(Backend.ISAACLAB, True, detail=f"isaaclab {version} on {name}")


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
        setup: What the env runs on (Isaac Lab version, device, physics, assets, deviations), kept
            in the run's record.
    """

    def __init__(self, env: Any, close_hook: Any = None, setup: dict[str, Any] | None = None) -> None:
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
        self.setup: dict[str, Any] = dict(setup or {})

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
    Newton/MJWarp (``isaaclab/assets/articulation/ordering_resolvers.py``), siblings by joint prim
    path there (measured on the CPU: ANYmal's legs come LF, LH, RF, RH; ``tests/isaaclab_cpu``).

    Raises:
        RuntimeError: If the robot's joints do not match the action dimension.
    """
    names = tuple(str(name) for name in unwrapped.scene["robot"].joint_names)
    if len(names) != act_dim:
        raise RuntimeError(f"the robot has {len(names)} joints {list(names)} but the action has {act_dim} dimensions")
    return names


class Assets(enum.StrEnum):
    """Where the robots, the ground plane and the actuator models come from."""

    NVIDIA = "nvidia"
    """NVIDIA's asset server (or a local mirror of it: ``asset_root``), with Isaac Lab's actuator networks."""
    SACBENCH = "sacbench"
    """Written from sacbench's robot facts (`sacbench.sim.isaaclab_assets`); actuator networks replaced
    by each robot's actuator facts.  Offline, and the one robot description the mirror uses too."""


@dataclass(frozen=True)
class IsaacLabOptions:
    """Backend options (``RunConfig.backend_options`` / the ``--sacbench-*`` Isaac Lab options)."""

    device: str = "cuda:0"
    """``cuda:N`` or ``cpu`` (Newton MJWarp on Warp's CPU device)."""
    physics: Physics | None = None
    """``None``: the task's own default on a GPU (`default_physics`), `CPU_PHYSICS` on the CPU."""
    assets: Assets | None = None
    """``None``: sacbench's on the CPU (NVIDIA's server is out of reach there), NVIDIA's on a GPU."""
    asset_root: Path | None = None
    """Local mirror of NVIDIA's assets (sets ``ISAACSIM_ASSET_ROOT`` before Isaac Lab is imported)."""
    bdx_usd: Path | None = None
    """The BD-X robot USD (default: sacbench's with sacbench's assets, else ``$SACBENCH_BDX_USD``)."""

    @property
    def resolved_assets(self) -> Assets:
        """The asset source this run uses."""
        if self.assets is not None:
            return self.assets
        return Assets.SACBENCH if is_cpu(self.device) and self.asset_root is None else Assets.NVIDIA

    @classmethod
    def parse(cls, options: dict[str, Any]) -> IsaacLabOptions:
        """Options from strings (the CLI's and a record's ``backend_options``).

        Raises:
            ValueError: For an unknown option, physics or asset source, naming the valid ones, or
                sacbench's assets together with an ``asset_root`` of NVIDIA's.
        """
        known = {"device", "physics", "assets", "asset_root", "bdx_usd"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown Isaac Lab option(s) {unknown}; expected: {', '.join(sorted(known))}")
        values = dict(options)
        if values.get("physics") is not None:
            values["physics"] = parse_physics(values["physics"])
        if values.get("assets") is not None:
            try:
                values["assets"] = Assets(values["assets"])
            except ValueError:
                raise ValueError(f"unknown assets {values['assets']!r}; expected one of: {', '.join(Assets)}") from None
        for key in ("asset_root", "bdx_usd"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        parsed = cls(**values)
        if parsed.assets is Assets.SACBENCH and parsed.asset_root is not None:
            raise ValueError(
                f"assets=sacbench brings its own asset root; asset_root={parsed.asset_root} names a mirror of"
                " NVIDIA's. Fix: drop one of the two"
            )
        return parsed


def actuator_facts_cfg(robot: RobotSpec) -> Any:
    """Isaac Lab's actuator config for ``robot``'s actuator facts (imports Isaac Lab).

    A DC motor becomes ``DCMotorCfg`` (explicit PD, torque-speed clip), implicit PD ``ImplicitActuatorCfg``;
    gains, limits and armature per joint, by exact joint name.
    """
    from isaaclab.actuators import DCMotorCfg, ImplicitActuatorCfg

    act = robot.actuator

    def per_joint(values: tuple[float, ...]) -> dict[str, float]:
        return dict(zip(robot.joint_order, values, strict=True))

    common = {
        "joint_names_expr": list(robot.joint_order),
        "stiffness": per_joint(act.stiffness),
        "damping": per_joint(act.damping),
        "armature": act.armature,
    }
    if act.model is ActuatorModel.DC_MOTOR:
        return DCMotorCfg(
            **common,
            saturation_effort=per_joint(act.saturation_effort),
            actuator_effort_limit=per_joint(act.effort_limit),
            actuator_velocity_limit=per_joint(act.velocity_limit),
        )
    return ImplicitActuatorCfg(**common, effort_limit_sim=per_joint(act.effort_limit))


def replace_actuator_networks(robot_cfg: Any, robot: RobotSpec) -> list[str]:
    """Replace the actuator networks of ``robot_cfg`` (an ``ArticulationCfg``) by ``robot``'s actuator facts.

    Go1's MLP and ANYmal's LSTM load weights from NVIDIA's server that no registry serves; every
    other actuator of the task is kept.

    Returns:
        One line per replaced actuator group, naming what replaced what (the run's deviations).
    """
    replaced = []
    for name, cfg in list(robot_cfg.actuators.items()):
        kind = type(cfg).__name__
        if kind.startswith("ActuatorNet"):
            network = Path(str(getattr(cfg, "network_file", "?"))).name
            replaced.append(
                f"actuators[{name!r}]: Isaac Lab's {kind} ({network}) replaced by sacbench's"
                f" {robot.actuator.model.value} from the {robot.display_name} facts"
            )
    if replaced:
        robot_cfg.actuators = {"sacbench_facts": actuator_facts_cfg(robot)}
    return replaced


def use_asset_root(root: Path) -> None:
    """Point Isaac Lab at ``root`` before it resolves its asset root.

    Raises:
        RuntimeError: If Isaac Lab already resolved another root in this process (it reads the
            variable once, at import); start a fresh process.
    """
    assets = sys.modules.get("isaaclab.utils.assets")
    resolved = getattr(assets, "NUCLEUS_ASSET_ROOT_DIR", None)
    if resolved is not None and Path(resolved) != root:
        raise RuntimeError(
            f"Isaac Lab already resolved its asset root to {resolved} in this process, not {root};"
            " fix: build the env in a fresh process (sacbench run does)"
        )
    os.environ[ASSET_ROOT_ENV_VAR] = str(root)


def _make_v3(
    spec: TaskSpec, num_envs: int, seed: int, options: IsaacLabOptions, configure: Callable[[Any], None] | None
) -> IsaacLabEnv:
    import gymnasium as gym
    import isaaclab_tasks  # noqa: F401  (registers the gym ids; safe before launch on 3.0)
    from isaaclab.app import launch_simulation
    from isaaclab_tasks.utils import parse_env_cfg

    from sacbench.sim.isaaclab_assets import asset_digest

    assets = options.resolved_assets
    if spec.robot is Robot.BDX:
        from sacbench.sim.isaaclab_bdx import register_bdx_tasks

        register_bdx_tasks(bdx_usd_path(options), {t.value: task_id(f"bdx-{t.value}") for t in Terrain})
    env_id = task_id(spec)
    physics = resolve_physics(spec, options.device, options.physics)
    # Presets are resolved here, before launch: an unresolved PresetCfg would make the launcher
    # believe Isaac Sim is needed.  `overrides` must be a list: with None Isaac Lab parses sys.argv.
    cfg = parse_env_cfg(env_id, device=options.device, num_envs=num_envs, overrides=[f"physics={physics.value}"])
    cfg.seed = seed
    cfg.compute_final_obs = True
    deviations = replace_actuator_networks(cfg.scene.robot, spec.robot_spec) if assets is Assets.SACBENCH else []
    if configure is not None:
        configure(cfg)
    launch = launch_simulation(cfg, {"headless": True, "device": options.device, "visualizer": ["none"]})
    launch.__enter__()

    def end_launch() -> None:
        # With Isaac Sim (Kit) running, leaving the launch context ends the process: defer that to exit.
        atexit.register(launch.__exit__, None, None, None)

    root = os.environ.get(ASSET_ROOT_ENV_VAR, "")
    setup = {
        "isaaclab": importlib.metadata.version("isaaclab"),
        "device": options.device,
        "physics": physics.value,
        "assets": assets.value,
        "asset_root": root,
        "asset_digest": asset_digest(Path(root)) if assets is Assets.SACBENCH else "",
        "deviations": deviations,
    }
    env = IsaacLabEnv(gym.make(env_id, cfg=cfg), close_hook=end_launch, setup=setup)
    if sorted(env.joint_names) != sorted(spec.robot_spec.joint_order):
        env.close()
        raise RuntimeError(
            f"{env_id}: the env's joints {list(env.joint_names)} are not sacbench's {spec.robot.value} joints"
            f" {list(spec.robot_spec.joint_order)}"
        )
    return env


def bdx_usd_path(options: IsaacLabOptions) -> Path:
    """The BD-X USD: the option, else sacbench's own with sacbench's assets, else ``$SACBENCH_BDX_USD``.

    Raises:
        FileNotFoundError: Naming what is missing and where to get it.
    """
    from sacbench.sim.isaaclab_assets import PACKAGED_ROOT, ROBOT_USD

    path = options.bdx_usd
    if path is None and options.resolved_assets is Assets.SACBENCH:
        path = PACKAGED_ROOT / ROBOT_USD[Robot.BDX]
    if path is None and os.environ.get(BDX_USD_ENV_VAR):
        path = Path(os.environ[BDX_USD_ENV_VAR])
    if path is None or not path.is_file():
        given = f" ({path} does not exist)" if path else ""
        raise FileNotFoundError(
            f"BD-X on Isaac Lab needs the robot's USD{given}: it is not part of Isaac Lab. Fix: use sacbench's"
            " (--sacbench-assets sacbench), or fetch BDX.usd from louislelay/disney_bdx_rl_isaaclab (Git LFS:"
            f" git lfs pull) and pass --sacbench-bdx-usd PATH or export {BDX_USD_ENV_VAR}=PATH."
        )
    return path


def make_isaaclab_env(
    task: TaskSpec | str,
    num_envs: int,
    seed: int = 0,
    *,
    configure: Callable[[Any], None] | None = None,
    **kwargs: Any,
) -> IsaacLabEnv:
    """Start Isaac Lab headless and build ``task`` on it.

    Args:
        task: sacbench task.
        num_envs: Parallel robots.
        seed: ``env_cfg.seed``, set before the env is created.
        configure: Called with the parsed env cfg before the env is built (``benchmarks/fidelity.py``
            switches the observation noise off); runs never set it.
        **kwargs: `IsaacLabOptions` fields (``device``, ``physics``, ``assets``, ``asset_root``,
            ``bdx_usd``), as values or strings.

    Raises:
        ValueError: For a bad option (`IsaacLabOptions.parse`) or a physics the device cannot run.
        RuntimeError: If Isaac Lab cannot run here; the message lists every missing prerequisite.
    """
    options = IsaacLabOptions.parse({k: v for k, v in kwargs.items() if v is not None})
    spec = get_task(task)
    resolve_physics(spec, options.device, options.physics)
    status = isaaclab_status(options.device)
    if not status.usable:
        raise RuntimeError("the Isaac Lab backend is not usable here:\n  - " + "\n  - ".join(status.reasons))
    if options.resolved_assets is Assets.SACBENCH:
        from sacbench.sim.isaaclab_assets import PACKAGED_ROOT

        use_asset_root(PACKAGED_ROOT)
    elif options.asset_root is not None:
        use_asset_root(options.asset_root)
    version = detect_version()
    if version is not SUPPORTED_VERSION:
        raise RuntimeError(
            f"the installed isaaclab is {version or 'of an unknown version'} (no isaaclab/app/sim_launcher.py);"
            f" sacbench runs on Isaac Lab 3.0. Fix: {INSTALL_HINT}"
        )
    return _make_v3(spec, num_envs, seed, options, configure)
