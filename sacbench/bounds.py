"""Action-bound modes and the VecEnv adapter that applies them.

Isaac Lab 2.x's SB3 wrapper declares ``Box(-100, 100)`` for every locomotion task.  SAC squashes its
Gaussian with tanh and rescales to the declared box, so with ``[-100, 100]`` its initial actions
are uniform-ish over +-100 (joint targets +-25 rad on A1) and it never learns; PPO samples
``N(0, 1)`` and clips, so it barely notices.  The modes:

- ``legacy``: the task's own box (``[-100, 100]``);
- ``unit``: ``[-1, 1]`` (Isaac Lab 3.0's SB3 default);
- ``fraction``: a fraction of the legacy box (the post's quick fix: 3 %, i.e. ``[-3, 3]``);
- ``percentile``: per joint, the 2.5th and 97.5th percentiles of a trained PPO's actions, read
  from ``sacbench/data/bounds/<backend>/<robot>.json`` (written by ``sacbench bounds``);
- ``joint_limits``: per joint, the actions whose targets ``default + scale * action`` span the
  robot's soft joint limits (RSL-RL-SAC's bounds; from the robot tables, no trained PPO needed).

The adapter declares the chosen box as the agent's action space and passes actions through
unchanged: SAC's tanh rescale and PPO's clipping then behave exactly as in SB3.
"""

from __future__ import annotations

import enum
import json
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from sacbench import metrics
from sacbench.robots.spec import RobotSpec
from sacbench.sim.protocol import Backend, BatchedEnv, as_numpy
from sacbench.tasks.registry import TaskSpec

BOUNDS_SCHEMA_VERSION = 1


class BoundsMode(enum.StrEnum):
    """How the agent's action box is chosen."""

    LEGACY = "legacy"
    UNIT = "unit"
    FRACTION = "fraction"
    PERCENTILE = "percentile"
    JOINT_LIMITS = "joint_limits"


@dataclass(frozen=True)
class ActionBounds:
    """An action-bound mode and its parameter."""

    mode: BoundsMode
    fraction: float | None = None
    """``fraction`` mode: share of the legacy box, in (0, 1]."""
    start_scale: float = 1.0
    """Action-space schedule (an ablation of the post): the box starts this much smaller around its
    centre and grows linearly to full size over the first ``ramp_fraction`` of the budget."""
    ramp_fraction: float = 0.0

    def scale_at(self, progress: float) -> float:
        """Size of the box at ``progress`` in [0, 1] of the budget (1.0 without a schedule)."""
        if self.ramp_fraction <= 0.0 or progress >= self.ramp_fraction:
            return 1.0
        return self.start_scale + (1.0 - self.start_scale) * progress / self.ramp_fraction

    def __post_init__(self) -> None:
        if not (0.0 < self.start_scale <= 1.0 and 0.0 <= self.ramp_fraction <= 1.0):
            raise ValueError(
                f"start_scale={self.start_scale}, ramp_fraction={self.ramp_fraction}: the schedule needs"
                " 0 < start_scale <= 1 and 0 <= ramp_fraction <= 1"
            )
        if self.mode is BoundsMode.FRACTION:
            if self.fraction is None or not 0.0 < self.fraction <= 1.0:
                raise ValueError(
                    f"fraction={self.fraction!r}: the 'fraction' bound mode needs a fraction in (0, 1],"
                    " e.g. ActionBounds(BoundsMode.FRACTION, fraction=0.03) for the post's 3 %"
                )
        elif self.fraction is not None:
            raise ValueError(f"fraction={self.fraction} only applies to the 'fraction' mode, not {self.mode.value!r}")

    def describe(self) -> str:
        """Short label, e.g. ``fraction(0.03)`` or ``percentile, from 0.25x over 50 %``."""
        label = f"fraction({self.fraction:g})" if self.mode is BoundsMode.FRACTION else self.mode.value
        if self.ramp_fraction > 0:
            label += f", from {self.start_scale:g}x over {self.ramp_fraction:.0%}"
        return label


LEGACY = ActionBounds(BoundsMode.LEGACY)
UNIT = ActionBounds(BoundsMode.UNIT)
PERCENTILE = ActionBounds(BoundsMode.PERCENTILE)
JOINT_LIMITS = ActionBounds(BoundsMode.JOINT_LIMITS)


@dataclass(frozen=True)
class ResolvedBounds:
    """The box an agent acts in, per joint, and where it came from."""

    mode: BoundsMode
    low: tuple[float, ...]
    high: tuple[float, ...]
    source: str
    joint_names: tuple[str, ...] = ()
    """The joint each action dimension drives, in the env's order (Isaac Lab 3.0's order follows the
    physics engine, so per-joint values are matched by name, never by position)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for run records)."""
        return {
            "mode": self.mode.value,
            "low": list(self.low),
            "high": list(self.high),
            "source": self.source,
            "joint_names": list(self.joint_names),
        }


@dataclass(frozen=True)
class PercentileBounds:
    """A bounds data file: per-joint percentiles of a trained PPO's actions."""

    robot: str
    joint_order: tuple[str, ...]
    percentiles: tuple[float, float]
    low: tuple[float, ...]
    high: tuple[float, ...]
    provenance: dict[str, Any]


class BoundsFileError(ValueError):
    """A bounds data file that cannot be used; the message names the file and the field."""


def bounds_dir() -> Path:
    """Folder of the packaged bounds files (``<backend>/<robot>.json``)."""
    return Path(str(resources.files("sacbench") / "data" / "bounds"))


def load_percentile_bounds(path: Path) -> PercentileBounds:
    """Read and validate a bounds file.

    Raises:
        BoundsFileError: Naming the file and the bad field.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BoundsFileError(f"{path}: cannot read bounds file: {exc}") from exc
    required = ("schema_version", "robot", "joint_order", "percentiles", "low", "high", "provenance")
    missing = [k for k in required if k not in raw]
    if missing:
        raise BoundsFileError(f"{path}: missing field(s) {missing}; expected {list(required)}")
    if raw["schema_version"] != BOUNDS_SCHEMA_VERSION:
        raise BoundsFileError(f"{path}: schema_version={raw['schema_version']!r}, expected {BOUNDS_SCHEMA_VERSION}")
    n = len(raw["joint_order"])
    for key in ("low", "high"):
        values = raw[key]
        if not isinstance(values, list) or len(values) != n or not all(isinstance(v, int | float) for v in values):
            raise BoundsFileError(f"{path}: field {key!r} must be a list of {n} numbers (one per joint)")
    low, high = np.array(raw["low"], float), np.array(raw["high"], float)
    if not np.all(np.isfinite(low) & np.isfinite(high) & (low < high)):
        bad = np.flatnonzero(~(low < high)).tolist()
        raise BoundsFileError(f"{path}: need finite low < high for every joint; violated at joint index {bad}")
    return PercentileBounds(
        robot=str(raw["robot"]),
        joint_order=tuple(raw["joint_order"]),
        percentiles=(float(raw["percentiles"][0]), float(raw["percentiles"][1])),
        low=tuple(low.tolist()),
        high=tuple(high.tolist()),
        provenance=dict(raw["provenance"]),
    )


def find_percentile_bounds(task: TaskSpec, backend: Backend) -> tuple[PercentileBounds, Path]:
    """The percentile bounds of ``task``'s robot, measured on ``backend`` if available.

    Falls back to the other backend's file for the same robot, with a warning.

    Raises:
        FileNotFoundError: If no file exists for the robot, with the command that makes one.
    """
    robot = task.robot.value
    candidates = [bounds_dir() / backend.value / f"{robot}.json"]
    candidates += [bounds_dir() / b.value / f"{robot}.json" for b in Backend if b is not backend]
    for path in candidates:
        if path.exists():
            if path != candidates[0]:
                warnings.warn(
                    f"no {backend.value} PPO-percentile bounds for {robot!r}; using {path} instead",
                    UserWarning,
                    stacklevel=3,
                )
            bounds = load_percentile_bounds(path)
            if sorted(bounds.joint_order) != sorted(task.robot_spec.joint_order):
                raise BoundsFileError(
                    f"{path}: joints {sorted(bounds.joint_order)} are not the robot's"
                    f" {sorted(task.robot_spec.joint_order)}"
                )
            return bounds, path
    raise FileNotFoundError(
        f"no PPO-percentile bounds for robot {robot!r} (looked for {[str(c) for c in candidates]}). "
        f"Fix: run `sacbench bounds --task {robot}-flat` to extract them from a trained PPO, or choose "
        "another bound mode (legacy, unit, fraction)."
    )


def resolve_bounds(
    bounds: ActionBounds,
    task: TaskSpec,
    legacy: spaces.Box,
    backend: Backend,
    joint_names: tuple[str, ...] | None = None,
) -> ResolvedBounds:
    """The per-joint box for ``bounds`` on ``task``, in the env's joint order.

    Args:
        bounds: The mode.
        task: The task (for the robot's percentile file).
        legacy: The task's own action space (``Box(-100, 100)`` on both backends).
        backend: Which backend's percentile file to prefer.
        joint_names: The joint of each action dimension, as the env orders them (``BatchedEnv.
            joint_names``); default: the robot table's order (the mirror's).

    Raises:
        BoundsFileError: If the env names joints the percentile file does not have.
    """
    names = tuple(joint_names) if joint_names is not None else task.robot_spec.joint_order
    lo, hi = np.asarray(legacy.low, float), np.asarray(legacy.high, float)
    if bounds.mode is BoundsMode.LEGACY:
        return ResolvedBounds(bounds.mode, tuple(lo), tuple(hi), "the task's action space", names)
    if bounds.mode is BoundsMode.UNIT:
        return ResolvedBounds(bounds.mode, (-1.0,) * lo.size, (1.0,) * lo.size, "[-1, 1]", names)
    if bounds.mode is BoundsMode.FRACTION:
        assert bounds.fraction is not None
        f = bounds.fraction
        return ResolvedBounds(bounds.mode, tuple(lo * f), tuple(hi * f), f"{f:g} x the task's action space", names)
    if bounds.mode is BoundsMode.JOINT_LIMITS:
        return _joint_limit_bounds(task.robot_spec, names)
    percentile, path = find_percentile_bounds(task, backend)
    index = {name: i for i, name in enumerate(percentile.joint_order)}
    missing = [name for name in names if name not in index]
    if missing:
        raise BoundsFileError(f"{path}: no bounds for the env's joint(s) {missing}; it has {list(index)}")
    low = tuple(percentile.low[index[name]] for name in names)
    high = tuple(percentile.high[index[name]] for name in names)
    source = f"{path.parent.name}/{path.name}: {percentile.provenance.get('source', '')}".strip()
    return ResolvedBounds(bounds.mode, low, high, source, names)


def _joint_limit_bounds(robot: RobotSpec, names: tuple[str, ...]) -> ResolvedBounds:
    """`joint_limit_box` in the env's joint order (matched by name, like the percentile files)."""
    low, high = joint_limit_box(robot)
    index = {name: i for i, name in enumerate(robot.joint_order)}
    unknown = [name for name in names if name not in index]
    if unknown:
        raise ValueError(f"robot {robot.name!r} has no joint(s) {unknown} of the env; it has {list(index)}")
    by_name = [index[name] for name in names]
    source = (
        f"soft joint limits of the {robot.name} table (factor {robot.soft_limit_factor:g}):"
        f" (limit - default) / {robot.action_scale:g}"
    )
    return ResolvedBounds(BoundsMode.JOINT_LIMITS, tuple(low[by_name]), tuple(high[by_name]), source, names)


def joint_limit_box(robot: RobotSpec) -> tuple[np.ndarray, np.ndarray]:
    """The actions that reach the robot's soft joint limits, per joint in the table's order.

    The task's joint target is ``default + action_scale * action`` (Isaac Lab's
    ``JointPositionAction`` with ``use_default_offset``), so the box is ``(soft limit - default) /
    action_scale``: every action inside it commands a target inside the soft limits, and every
    soft-limit target is reachable.

    Returns:
        ``(low, high)``, each ``(num_joints,)``.
    """
    soft = np.array(robot.soft_joint_limits)
    default = np.array(robot.default_joint_pos)
    return (soft[:, 0] - default) / robot.action_scale, (soft[:, 1] - default) / robot.action_scale


AT_BOUND_MARGIN = 0.01
"""An action counts as at its bound within this share of the box's width (SAC's tanh saturating)."""


def at_bounds_mask(actions: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Which actions sit at their box's bounds (within `AT_BOUND_MARGIN` of the width).

    Args:
        actions: ``(num_samples, num_joints)`` actions in the agent's box.
        low: Lower bounds ``(num_joints,)``.
        high: Upper bounds ``(num_joints,)``.

    Returns:
        Booleans ``(num_samples, num_joints)``.
    """
    margin = AT_BOUND_MARGIN * (high - low)
    return (actions <= low + margin) | (actions >= high - margin)


class DivergedError(RuntimeError):
    """The policy produced NaN/inf actions, or a loss went non-finite."""


class BatchedVecEnv(VecEnv):
    """SB3 ``VecEnv`` over a backend's batched env, acting in a chosen action box.

    Converts the backend's batches (numpy or torch) once per step, turns auto-resets into SB3's
    ``terminal_observation`` / ``TimeLimit.truncated`` infos, adds Monitor-style ``episode`` infos,
    and keeps what the runner's callbacks read: finished episodes since the last `drain_episodes`
    and the latest ``extras["log"]``.

    Args:
        env: The batched env (task units: joint target = default + scale * action).
        bounds: The agent's action box.
    """

    def __init__(self, env: BatchedEnv, bounds: ResolvedBounds) -> None:
        obs_dim = env.observation_space.shape[0]
        observation_space = spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
        action_space = spaces.Box(np.array(bounds.low, np.float32), np.array(bounds.high, np.float32))
        self.env = env  # before VecEnv.__init__, which reads render_mode through get_attr
        super().__init__(env.num_envs, observation_space, action_space)
        self.bounds = bounds
        self._actions: np.ndarray | None = None
        self._episode_return = np.zeros(env.num_envs)
        self._episode_length = np.zeros(env.num_envs, dtype=np.int64)
        self._finished: list[tuple[float, int, bool]] = []
        self.last_log: dict[str, float] = {}
        self._centre = (np.array(bounds.low) + np.array(bounds.high)) / 2
        self.action_scale = 1.0
        """Shrinks actions towards the centre of the box (the action-space schedule); 1 = off."""

    def reset(self) -> VecEnvObs:
        """Reset every env (seeded by the last `seed` call, if any)."""
        seed = self._seeds[0] if self._seeds else None
        obs, _ = self.env.reset(seed=seed)
        self._reset_seeds()
        self._episode_return[:] = 0.0
        self._episode_length[:] = 0
        return as_numpy(obs).astype(np.float32, copy=False)

    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions of the next step."""
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        """Step the backend and translate its outputs to SB3's conventions."""
        actions = self._actions
        assert actions is not None, "step_async must come first"
        if not np.isfinite(actions).all():
            raise DivergedError("the policy produced NaN or inf actions")
        if self.action_scale != 1.0:
            actions = self._centre + self.action_scale * (actions - self._centre)
        obs, reward, terminated, truncated, extras = self.env.step(actions)
        obs, reward = (
            as_numpy(obs).astype(np.float32, copy=False),
            as_numpy(reward).astype(np.float32, copy=False),
        )
        if not (np.isfinite(obs).all() and np.isfinite(reward).all()):
            raise DivergedError("the env returned NaN or inf observations or rewards")
        terminated, truncated = as_numpy(terminated).astype(bool), as_numpy(truncated).astype(bool)
        dones = terminated | truncated
        self._episode_return += reward
        self._episode_length += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        ended = np.flatnonzero(dones)
        if ended.size:
            final = as_numpy(extras["final_obs"]) if "final_obs" in extras else obs
            for i in ended:
                ret, length, fell = (
                    float(self._episode_return[i]),
                    int(self._episode_length[i]),
                    bool(terminated[i]),
                )
                infos[i]["terminal_observation"] = final[i].astype(np.float32, copy=False)
                infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                infos[i]["episode"] = {"r": ret, "l": length}
                self._finished.append((ret, length, fell))
            self._episode_return[ended] = 0.0
            self._episode_length[ended] = 0
        if "log" in extras:
            self.last_log = {k: float(as_numpy(v)) for k, v in extras["log"].items()}
        return obs, reward, dones, infos

    def drain_episodes(self) -> list[tuple[float, int, bool]]:
        """Episodes finished since the last call: ``(return, length, terminated)``."""
        finished, self._finished = self._finished, []
        return finished

    def close(self) -> None:
        """Close the backend."""
        self.env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The backend env's attribute, once per selected env (one batched env serves them all)."""
        value = getattr(self.env, attr_name, None) if attr_name == "render_mode" else getattr(self.env, attr_name)
        return [value] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute of the backend env."""
        setattr(self.env, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """Call a method of the backend env once."""
        return [getattr(self.env, method_name)(*method_args, **method_kwargs)]

    def env_is_wrapped(self, wrapper_class: type[Any], indices: VecEnvIndices = None) -> list[bool]:
        """No gymnasium wrappers here."""
        return [False] * len(self._get_indices(indices))

    def _get_indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)


RECORDED_PERCENTILES = (0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 97.5, 99.0, 99.5)
"""Percentiles of the recorded actions kept in run records (what ``sacbench bounds`` can extract)."""
HISTOGRAM_BINS = 60


class ActionRecorder(VecEnvWrapper):
    """Records the actions a policy sends to the env, in a ring buffer of bounded size.

    The post's method: watch what a trained PPO actually commands, then bound SAC to its 2.5th and
    97.5th percentiles.  Memory stays ``max_samples x num_joints`` float32 however long the run;
    the buffer keeps the most recent samples (the trained policy, not its first random steps).

    Args:
        venv: The VecEnv whose actions are recorded.
        max_samples: Ring-buffer rows (one row per env per step).
    """

    def __init__(self, venv: VecEnv, max_samples: int = 65_536) -> None:
        super().__init__(venv)
        if max_samples < venv.num_envs:
            raise ValueError(f"max_samples={max_samples} must hold at least one step of {venv.num_envs} envs")
        shape = self.action_space.shape
        assert shape is not None
        self.max_samples = max_samples
        self._buffer = np.zeros((max_samples, shape[0]), dtype=np.float32)
        self._next = 0
        self.num_seen = 0

    def reset(self) -> VecEnvObs:
        """Reset the wrapped env (the recording is kept)."""
        return self.venv.reset()

    def step_async(self, actions: np.ndarray) -> None:
        """Record, then forward, the actions of all envs."""
        rows = np.asarray(actions, dtype=np.float32).reshape(self.num_envs, -1)
        idx = (self._next + np.arange(len(rows))) % self.max_samples
        self._buffer[idx] = rows
        self._next = int((self._next + len(rows)) % self.max_samples)
        self.num_seen += len(rows)
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """Forward the step results unchanged."""
        return self.venv.step_wait()

    def samples(self) -> np.ndarray:
        """The recorded actions ``(min(num_seen, max_samples), num_joints)``, oldest first."""
        if self.num_seen < self.max_samples:
            return self._buffer[: self.num_seen].copy()
        return np.roll(self._buffer, -self._next, axis=0)

    def summary(self) -> dict[str, Any]:
        """Percentiles and a histogram per joint, for the run record (JSON-ready)."""
        actions = self.samples()
        if len(actions) == 0:
            return {metrics.RECORDED_SAMPLES: 0}
        low, high = self.action_space.low, self.action_space.high  # type: ignore[attr-defined]
        at_bound = at_bounds_mask(actions, low, high)
        edges, counts = [], []
        for j in range(actions.shape[1]):
            c, e = np.histogram(actions[:, j], bins=HISTOGRAM_BINS)
            edges.append(e.round(5).tolist())
            counts.append(c.tolist())
        return {
            metrics.RECORDED_SAMPLES: len(actions),
            metrics.RECORDED_SEEN: int(self.num_seen),
            metrics.RECORDED_PERCENTILES: list(RECORDED_PERCENTILES),
            metrics.RECORDED_QUANTILES: np.percentile(actions, RECORDED_PERCENTILES, axis=0).round(5).tolist(),
            metrics.RECORDED_AT_BOUNDS_PER_JOINT: at_bound.mean(axis=0).round(5).tolist(),
            metrics.RECORDED_HISTOGRAM: {"edges": edges, "counts": counts},
        }
