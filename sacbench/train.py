"""The budgeted run: ``train(RunConfig) -> RunRecord``.

A run trains one preset on one task for a wall-clock budget, with set-up and JIT compilation
measured apart and kept out of the budget, then evaluates the policy deterministically.  It never
raises for a training failure: NaN/inf actions or losses end it as ``diverged``, any other exception
as ``crashed``, and the record keeps the curves recorded so far.

Compile time: SBX compiles its update on the first call, and again for each new static argument
(its ``policy_delay_offset`` cycles through up to ``policy_delay`` values).  For JAX agents the
runner times every call of the agent's ``train`` and ``predict``; a call slower than ``3 x`` the
median of the earlier calls of the same function plus 1 s is a compiling call, and its excess over
that median is compile time.  Torch agents (SB3 PPO) do not compile: nothing is excluded.  The
budget clock runs on training time = wall time since the start of ``learn`` minus compile time.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from sacbench import metrics
from sacbench.algos.make import make_agent
from sacbench.algos.presets import (
    AlgoParams,
    OffPolicyParams,
    OnPolicyParams,
    Preset,
    Scale,
    coerce_overrides,
    get_preset,
)
from sacbench.bounds import (
    ActionRecorder,
    BatchedVecEnv,
    DivergedError,
    ResolvedBounds,
    at_bounds_mask,
    resolve_bounds,
)
from sacbench.fingerprint import CHECKPOINT_WINDOW, agent_fingerprints, checkpoint_interval
from sacbench.provenance import collect_environment
from sacbench.records import RunRecord, RunStatus, Timing, late_terrain_level, run_id, to_jsonable
from sacbench.runtime import CpuPinning, configure_threads, one_core
from sacbench.sim.protocol import Backend
from sacbench.tasks import TaskSpec, get_task, make_env

EVAL_SEED_OFFSET = 1_000_003
"""The evaluation reset is seeded ``seed + EVAL_SEED_OFFSET``: unseen starts, reproducible."""
EVAL_PROTOCOL = 2
"""How `evaluate` measures, recorded in every record (``eval/protocol``): 1 = a fresh env of
``eval_episodes`` envs (records made before 2026-12-03); 2 = the training env, re-seeded, a whole
number of episodes per env.  The gate never compares two protocols."""

_DURATION = re.compile(r"^\s*(?:(?P<h>\d+(?:\.\d+)?)h)?\s*(?:(?P<m>\d+(?:\.\d+)?)m)?\s*(?:(?P<s>\d+(?:\.\d+)?)s?)?\s*$")


@dataclass(frozen=True)
class Budget:
    """How long a run trains."""

    seconds: float
    """Wall-clock training seconds, compile time excluded."""
    max_env_steps: int | None = None
    """Optional cap on collected transitions (all envs counted)."""

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError(f"budget seconds={self.seconds!r} must be > 0")
        if self.max_env_steps is not None and self.max_env_steps < 1:
            raise ValueError(f"max_env_steps={self.max_env_steps} must be >= 1 (or None for no cap)")

    @classmethod
    def parse(cls, text: str | float, max_env_steps: int | None = None) -> Budget:
        """Parse ``300``, ``"300"``, ``"90s"``, ``"5m"``, ``"1h30m"``.

        Raises:
            ValueError: Naming the text and the accepted forms.
        """
        if isinstance(text, int | float):
            return cls(float(text), max_env_steps)
        match = _DURATION.match(text)
        if not text.strip() or match is None or not any(match.groupdict().values()):
            raise ValueError(
                f"budget {text!r} is not a duration; expected seconds (300, 90s), minutes (5m) or hours (1h30m)"
            )
        parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
        return cls(parts["h"] * 3600 + parts["m"] * 60 + parts["s"], max_env_steps)

    def describe(self) -> str:
        """E.g. ``300 s`` or ``300 s or 1,000,000 env steps``."""
        text = f"{self.seconds:g} s"
        return text if self.max_env_steps is None else f"{text} or {self.max_env_steps:,} env steps"


@dataclass(frozen=True)
class RunConfig:
    """What to run."""

    task: str
    preset: str | Preset
    seed: int
    budget: Budget
    scale: Scale | None = None
    """``None``: CPU scale on the embedded backend, GPU scale on Isaac Lab."""
    backend: Backend = Backend.MUJOCO
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """Hyperparameter overrides by field name (recorded in the record's hyperparameters)."""
    eval_episodes: int = 64
    """Least number of evaluation episodes (rounded up to a whole number per env, see `evaluate`)."""
    curve_interval_s: float = 5.0
    """Training seconds between curve rows."""
    curve_every_steps: int | None = None
    """Record curve rows every this many env steps instead (deterministic row positions)."""
    tensorboard_dir: Path | None = None
    progress: bool = False
    on_progress: Callable[[str], None] | None = field(default=None, compare=False, repr=False)
    """Called every ``progress_every_s`` training seconds with a one-line status (the pytest plugin
    prints it on the terminal: elapsed of budget, env steps, recent training return)."""
    progress_every_s: float = 15.0
    overrun_tolerance_s: float | None = None
    """Overrun above which the run is ``budget_overrun``; default max(5 s, 5 % of the budget)."""
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    record_actions: int = 0
    """Record the policy's last ``record_actions`` actions (per env and step) into the record's
    ``recorded_actions/*`` fields (percentiles, histograms); 0 disables."""


def resolve_params(preset: Preset, scale: Scale, overrides: Mapping[str, Any]) -> AlgoParams:
    """The preset's hyperparameters at ``scale`` with ``overrides`` applied.

    Raises:
        ValueError: If an override names no field (the message lists the fields).
    """
    params = preset.params(scale)
    try:
        return replace(params, **coerce_overrides(params, overrides))
    except ValueError as exc:
        raise ValueError(f"{preset.name}: {exc}") from None


COMPILE_EVENTS = frozenset(
    {
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    }
)
"""JAX's own timed events of tracing, lowering and XLA compilation (``jax._src.dispatch``'s
``JAXPR_TRACE_EVENT``, ``JAXPR_TO_MLIR_MODULE_EVENT``, ``BACKEND_COMPILE_EVENT``)."""
_XLA_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


class CompileTimer:
    """Counts the agent's train calls and books JAX's compile time apart from the budget.

    Compile time is what JAX reports of itself while `listening`: the wall-clock union of its
    tracing, lowering and XLA-compile spans (`COMPILE_EVENTS`, through ``jax.monitoring``), so a
    trace nested in another counts once.  It replaced a heuristic that booked any train call over
    1 s as a compile: every update of a large-batch recipe (RSL-RL-SAC: 12 gradient steps on 4096
    samples, seconds here) then fell outside the budget, and a 2-minute run trained for many.

    Args:
        enabled: Listen to JAX's events (JAX agents); off, only train calls are counted.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.num_compiles = 0
        """XLA compilations while listening."""
        self.train_calls = 0
        self._spans: list[tuple[float, float]] = []
        self._compile_s = 0.0
        self._merged = 0

    @property
    def compile_s(self) -> float:
        """Seconds of tracing, lowering and compiling so far (overlapping spans counted once)."""
        if self._merged != len(self._spans):
            self._compile_s, self._merged = union_length(self._spans), len(self._spans)
        return self._compile_s

    def _on_span(self, event: str, start_time: float, end_time: float, **kwargs: str | int) -> None:
        if event in COMPILE_EVENTS:
            self._spans.append((start_time, end_time))
            self.num_compiles += event == _XLA_COMPILE_EVENT

    @contextlib.contextmanager
    def listening(self) -> Iterator[None]:
        """Book JAX's compile spans inside the block (the process-wide listener is removed after)."""
        if not self.enabled:
            yield
            return
        from jax import monitoring

        monitoring.register_event_time_span_listener(self._on_span)
        try:
            yield
        finally:
            monitoring.unregister_event_time_span_listener(self._on_span)

    def wrap(self, name: str, fn: Callable[..., Any], after: Callable[[], None] | None = None) -> Callable[..., Any]:
        """``fn``, counting calls named ``train``; ``after`` runs after each call (the divergence check)."""

        def counted(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            if name == "train":
                self.train_calls += 1
            if after is not None:
                after()
            return result

        return counted


def union_length(spans: list[tuple[float, float]]) -> float:
    """Total length of the union of ``(start, end)`` intervals."""
    total, reach = 0.0, -math.inf
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def _check_losses(model: BaseAlgorithm) -> None:
    """Raise `DivergedError` if a loss just logged by the agent is NaN or inf."""
    for key, value in model.logger.name_to_value.items():
        if "loss" in key and isinstance(value, int | float) and not math.isfinite(value):
            raise DivergedError(f"{key} = {value} after {model.num_timesteps} env steps")


def _grad_steps_per_call(params: AlgoParams) -> int:
    if isinstance(params, OffPolicyParams):
        return params.gradient_steps
    minibatches = math.ceil(params.n_steps * params.num_envs / params.batch_size)
    return params.n_epochs * minibatches


class RunCallback(BaseCallback):
    """Budget stop, curve rows, schedule progress and the progress bar."""

    def __init__(self, run: RunState) -> None:
        super().__init__()
        self.run = run

    def _on_training_start(self) -> None:
        self.run.start_clock()

    def _on_step(self) -> bool:
        return self.run.on_step(self.model)


@dataclass
class RunState:
    """Mutable state of one run (so that a crash keeps what was measured)."""

    config: RunConfig
    params: AlgoParams
    venv: BatchedVecEnv
    timer: CompileTimer
    bounds_schedule: Callable[[float], float] = field(default=lambda progress: 1.0)
    curves: list[dict[str, float | None]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    """Rows at every `checkpoint_interval` env steps: the machine-independent curve and fingerprints."""
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    falls: list[bool] = field(default_factory=list)
    learn_start: float = 0.0
    stopped_at: float | None = None
    _last_row_time: float = 0.0
    _last_row_steps: int = 0
    _last_row_grad: int = 0
    _last_row_episode: int = 0
    _next_checkpoint: int = 0
    """Env steps of the next checkpoint (set from the number of envs; read at every env step)."""
    _bar: Any = None
    _bar_time: float = 0.0
    _line_time: float = 0.0

    def __post_init__(self) -> None:
        self._next_checkpoint = checkpoint_interval(self.params.num_envs)

    def start_clock(self) -> None:
        """Start the budget clock (and the progress bar) when ``learn`` starts."""
        self.learn_start = time.perf_counter()
        # The first env step comes before the first callback: the action box starts where its
        # schedule starts, not at full size.
        self.venv.action_scale = self.bounds_schedule(0.0)
        if self.config.progress:
            from tqdm import tqdm

            self._bar = tqdm(total=round(self.config.budget.seconds), unit="s", desc=self.config.task, leave=True)

    def training_time(self) -> float:
        """Wall time since ``learn`` started, compile excluded."""
        return time.perf_counter() - self.learn_start - self.timer.compile_s

    def progress(self) -> float:
        """Share of the budget spent, in [0, 1] (0 until ``learn`` starts): what every schedule reads."""
        if not self.learn_start:
            return 0.0
        return min(1.0, self.training_time() / self.config.budget.seconds)

    def grad_steps(self) -> int:
        """Gradient steps so far (train calls x steps per call)."""
        return self.timer.train_calls * _grad_steps_per_call(self.params)

    def on_step(self, model: BaseAlgorithm) -> bool:
        """Collect finished episodes, record a curve row when due; ``False`` stops ``learn``."""
        for ret, length, fell in self.venv.drain_episodes():
            self.returns.append(ret)
            self.lengths.append(length)
            self.falls.append(fell)
        elapsed = self.training_time()
        budget = self.config.budget
        # The action-space schedule is read by the env adapter at every step.  The learning-rate
        # schedule is read by the agent through SB3's progress (`run_schedules_on_budget`).
        self.venv.action_scale = self.bounds_schedule(self.progress())
        if model.num_timesteps >= self._next_checkpoint:
            self.add_checkpoint(model)
        due = (
            model.num_timesteps - self._last_row_steps >= self.config.curve_every_steps
            if self.config.curve_every_steps
            else elapsed - self._last_row_time >= self.config.curve_interval_s
        )
        if due:
            self.add_row(model, elapsed)
        if self._bar is not None and elapsed - self._bar_time >= 0.5:
            self._bar.n = min(round(elapsed), self._bar.total)
            recent = self.returns[-100:]
            self._bar.set_postfix(steps=f"{model.num_timesteps:,}", ret=f"{np.mean(recent):.2f}" if recent else "-")
            self._bar_time = elapsed
        if self.config.on_progress is not None and elapsed - self._line_time >= self.config.progress_every_s:
            self.config.on_progress(self.status_line(model, elapsed))
            self._line_time = elapsed
        capped = budget.max_env_steps is not None and model.num_timesteps >= budget.max_env_steps
        if elapsed >= budget.seconds or capped:
            self.stopped_at = elapsed
            return False
        return True

    def status_line(self, model: BaseAlgorithm, elapsed: float) -> str:
        """``40/120 s, 250,112 env steps, training return 3.21``."""
        recent = self.returns[-100:]
        ret = f"training return {np.mean(recent):.2f}" if recent else "no episode finished yet"
        return f"{elapsed:.0f}/{self.config.budget.seconds:g} s, {model.num_timesteps:,} env steps, {ret}"

    def add_row(self, model: BaseAlgorithm, elapsed: float) -> None:
        """Append a curve row covering the time since the previous one."""
        window = slice(self._last_row_episode, None)
        rets, lens, falls = self.returns[window], self.lengths[window], self.falls[window]
        dt = max(elapsed - self._last_row_time, 1e-9)
        grad = self.grad_steps()
        row: dict[str, float | None] = {
            "time_s": round(elapsed, 3),
            "env_steps": model.num_timesteps,
            "grad_steps": grad,
            "episodes": len(rets),
            "return_mean": float(np.mean(rets)) if rets else None,
            "length_mean": float(np.mean(lens)) if lens else None,
            "fall_rate": float(np.mean(falls)) if falls else None,
            "terrain_level": self.venv.last_log.get(metrics.TERRAIN_LEVEL),
            "env_fps": round((model.num_timesteps - self._last_row_steps) / dt, 1),
            "grad_steps_per_s": round((grad - self._last_row_grad) / dt, 2),
        }
        for key in metrics.AGENT_LOG_KEYS:
            value = model.logger.name_to_value.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                row[key] = float(value)
        self.curves.append(row)
        for key, value in row.items():
            if value is not None and key != "time_s":
                model.logger.record(f"sacbench/{key.replace('train/', '')}", value)
        self._last_row_time, self._last_row_steps, self._last_row_grad = elapsed, model.num_timesteps, grad
        self._last_row_episode = len(self.returns)

    def add_checkpoint(self, model: BaseAlgorithm) -> None:
        """Append a checkpoint row: env and gradient steps, the return over a fixed window, fingerprints.

        The return is the mean of the latest `CHECKPOINT_WINDOW` finished episodes (``None`` before
        the first), not of the episodes since the previous row, so a row does not depend on when
        the previous one was taken.
        """
        recent = self.returns[-CHECKPOINT_WINDOW:]
        normalizer = model.get_vec_normalize_env()
        rms: Any = normalizer.obs_rms if normalizer is not None else None  # one Box: one RunningMeanStd
        obs_stats = [rms.mean, rms.var] if rms is not None else []
        self.checkpoints.append(
            {
                "env_steps": int(model.num_timesteps),
                "grad_steps": self.grad_steps(),
                "episodes": len(self.returns),
                "return_mean": float(np.mean(recent)) if recent else None,
                "terrain_level": self.venv.last_log.get(metrics.TERRAIN_LEVEL),
                "fingerprint": agent_fingerprints(model, obs_stats),
            }
        )
        self._next_checkpoint += checkpoint_interval(self.params.num_envs)

    def close_bar(self) -> None:
        """Close the progress bar, if any."""
        if self._bar is not None:
            self._bar.close()


def build_vec_env(
    config: RunConfig, task: TaskSpec, num_envs: int, seed: int, preset: Preset
) -> tuple[BatchedVecEnv, ResolvedBounds]:
    """The backend env of ``task`` (``config``'s, resolved once) behind the VecEnv adapter, in the preset's box."""
    env = make_env(task, num_envs=num_envs, seed=seed, backend=config.backend, **config.backend_options)
    bounds = resolve_bounds(preset.bounds, task, env.action_space, config.backend, env.joint_names)
    return BatchedVecEnv(env, bounds), bounds


def normalize_observations(venv: VecEnv, params: AlgoParams) -> VecEnv:
    """SB3 ``VecNormalize`` on the observations (not the rewards) when the preset asks for it."""
    if not params.normalize_obs:
        return venv
    clip = params.clip_obs if isinstance(params, OnPolicyParams) else 10.0
    return VecNormalize(venv, norm_obs=True, norm_reward=False, clip_obs=clip, gamma=params.gamma)


def action_statistics(actions: np.ndarray, low: np.ndarray, high: np.ndarray) -> dict[str, Any]:
    """Per-joint percentiles and the share of actions at the bounds (`at_bounds_mask`).

    Args:
        actions: ``(num_samples, num_joints)`` actions in the agent's box.
        low: Lower bounds ``(num_joints,)``.
        high: Upper bounds ``(num_joints,)``.
    """
    at_bound = at_bounds_mask(actions, low, high)
    return {
        metrics.ACTIONS_P2_5: np.percentile(actions, 2.5, axis=0).round(4).tolist(),
        metrics.ACTIONS_P50: np.percentile(actions, 50, axis=0).round(4).tolist(),
        metrics.ACTIONS_P97_5: np.percentile(actions, 97.5, axis=0).round(4).tolist(),
        metrics.ACTIONS_AT_BOUNDS: float(at_bound.mean()),
        metrics.ACTIONS_AT_BOUNDS_PER_JOINT: at_bound.mean(axis=0).round(4).tolist(),
    }


def evaluate(model: BaseAlgorithm, venv: VecEnv, base: BatchedVecEnv, episodes: int, seed: int) -> dict[str, Any]:
    """Deterministic policy on the env that trained, re-seeded; ``episodes`` full episodes.

    One env per process is all Isaac Lab allows (`ManagerBasedEnv.__init__` refuses a second
    simulation context), so both backends evaluate on the training env: SB3's `evaluate_policy`
    resets it with ``seed`` and collects the same number of episodes from every env (SB3's
    per-env targets: short episodes cannot crowd out long ones).  ``episodes`` is rounded up to a
    whole number per env, since every env steps until the last target is met anyway.  Observation
    statistics are frozen; on rough tasks the robots start on the terrain levels training reached.

    Args:
        model: The trained agent.
        venv: The training VecEnv stack (maybe observation-normalised).
        base: The adapter at its bottom, for the action box and terrain logs.
        episodes: Least number of evaluation episodes.
        seed: Seed of the evaluation reset.

    Returns:
        ``eval/*`` metrics and ``actions/*`` statistics of the evaluated actions.
    """
    if isinstance(venv, VecNormalize):
        venv.training = False
    base.action_scale = 1.0  # the whole box, whatever an action-space schedule left
    episodes = math.ceil(episodes / venv.num_envs) * venv.num_envs
    venv.seed(seed)
    actions_seen: list[np.ndarray] = []
    falls: list[bool] = []
    returns: list[float] = []
    lengths: list[int] = []

    def observe(local: dict[str, Any], _: dict[str, Any]) -> None:
        # Called once per env still collecting, after each step: its action, and its end if done.
        # The return is the adapter's own episode return, not evaluate_policy's sum of the rewards
        # that reach the agent (a reward wrapper above the adapter would change those).
        actions_seen.append(local["actions"][local["i"]])
        if local["done"]:
            info = local["info"]
            falls.append(not info["TimeLimit.truncated"])
            returns.append(info["episode"]["r"])
            lengths.append(info["episode"]["l"])

    evaluate_policy(
        model, venv, n_eval_episodes=episodes, deterministic=True, callback=observe, warn=False
    )  # fmt: skip
    returns_, lengths_ = np.asarray(returns, dtype=np.float64), np.asarray(lengths, dtype=np.float64)
    result: dict[str, Any] = {
        metrics.EVAL_PROTOCOL: EVAL_PROTOCOL,
        metrics.EVAL_EPISODES: int(episodes),
        metrics.EVAL_RETURN: float(returns_.mean()),
        metrics.EVAL_RETURN_STD: float(returns_.std()),
        metrics.EVAL_LENGTH: float(lengths_.mean()),
        metrics.EVAL_FALL_RATE: float(np.mean(falls)),
        metrics.EVAL_TERRAIN_LEVEL: base.last_log.get(metrics.TERRAIN_LEVEL),
    }
    bounds = base.bounds
    result.update(action_statistics(np.stack(actions_seen), np.array(bounds.low), np.array(bounds.high)))
    return result


def _final_metrics(run: RunState, params: AlgoParams, model: BaseAlgorithm | None) -> dict[str, Any]:
    train_s = run.stopped_at if run.stopped_at is not None else (run.training_time() if run.learn_start else 0.0)
    steps = model.num_timesteps if model is not None else 0
    recent = run.returns[-100:]
    return {
        metrics.ENV_STEPS: int(steps),
        metrics.GRAD_STEPS: run.grad_steps(),
        metrics.REPLAY_RATIO: params.replay_ratio,
        metrics.ENV_FPS: steps / train_s if train_s > 0 else None,
        metrics.GRAD_STEPS_PER_S: run.grad_steps() / train_s if train_s > 0 else None,
        metrics.TRAIN_EPISODES: len(run.returns),
        metrics.TRAIN_RETURN: float(np.mean(recent)) if recent else None,
        metrics.TRAIN_FALL_RATE: float(np.mean(run.falls[-100:])) if run.falls else None,
        metrics.TERRAIN_LEVEL: run.venv.last_log.get(metrics.TERRAIN_LEVEL),
        metrics.TERRAIN_LEVEL_LATE: late_terrain_level(run.curves, train_s),
    }


def instrument_agent(model: BaseAlgorithm, timer: CompileTimer) -> None:
    """Count the agent's updates and check its losses after every one (compile time: `CompileTimer.listening`)."""
    agent: Any = model  # ``train`` lives on the subclasses; patched per instance
    agent.train = timer.wrap("train", agent.train, after=lambda: _check_losses(model))


def run_schedules_on_budget(model: BaseAlgorithm, progress: Callable[[], float]) -> None:
    """Make the agent's schedules (learning rate, PPO's clip range) run on the wall-clock budget.

    SB3 and SBX read ``model._current_progress_remaining`` when they set the optimizer's learning
    rate in ``train()``, and recompute it in ``_update_current_progress_remaining(num_timesteps,
    total_timesteps)``: off-policy after every env step (in ``collect_rollouts``, *after* the
    callbacks), on-policy before every update.  A budgeted run has no meaningful
    ``total_timesteps``, so that one method is replaced on this instance: the value SB3 reads is
    then ``1 - progress()`` whenever SB3 refreshes it.  (Setting the attribute from a callback does
    not work: SB3 overwrites it right after the callback returns.)

    Args:
        model: The agent.
        progress: Share of the budget spent, in [0, 1].
    """

    def update(num_timesteps: int, total_timesteps: int) -> None:
        model._current_progress_remaining = 1.0 - progress()

    agent: Any = model
    agent._update_current_progress_remaining = update


def _learn(model: BaseAlgorithm, run: RunState, name: str) -> tuple[RunStatus, str | None]:
    """``model.learn`` until the budget callback stops it; failures become a status."""
    try:
        with run.timer.listening():
            model.learn(
                total_timesteps=run.config.budget.max_env_steps or 10**12,
                callback=RunCallback(run),
                tb_log_name=name,
            )
    except DivergedError as exc:
        return RunStatus.DIVERGED, str(exc)
    except Exception:
        return RunStatus.CRASHED, traceback.format_exc()
    finally:
        run.close_bar()
    return RunStatus.OK, None


def _overran(config: RunConfig, overrun: float, env_steps: int) -> bool:
    tolerance = config.overrun_tolerance_s
    if tolerance is None:
        tolerance = max(5.0, 0.05 * config.budget.seconds)
    capped = config.budget.max_env_steps is not None and env_steps >= config.budget.max_env_steps
    return overrun > tolerance and not capped


CPU_DEVICE_NUM_ENVS = 16
"""Isaac Lab on the CPU steps 221-1,448 env steps/s at 16-256 envs (``benchmarks/isaaclab_cpu_throughput.py``),
about 130 with learning at 16: small batches by default, for correctness rather than learning curves."""


def on_cpu_device(config: RunConfig) -> bool:
    """Whether the run is on Isaac Lab with ``device=cpu`` (Newton MJWarp on Warp's CPU device)."""
    from sacbench.sim.isaaclab import is_cpu

    return config.backend is Backend.ISAACLAB and is_cpu(str(config.backend_options.get("device", "cuda:0")))


def config_scale(config: RunConfig) -> Scale:
    """The scale a run uses: the config's, else CPU on the mirror and on Isaac Lab's CPU device, GPU on a GPU."""
    if config.scale is not None:
        return config.scale
    return Scale.GPU if config.backend is Backend.ISAACLAB and not on_cpu_device(config) else Scale.CPU


def run_overrides(config: RunConfig) -> dict[str, Any]:
    """The config's overrides, with `CPU_DEVICE_NUM_ENVS` envs on Isaac Lab's CPU device unless it sets ``num_envs``.

    The record keeps these (not the config's), so the number of envs a run used is always stated.
    """
    defaults = {"num_envs": CPU_DEVICE_NUM_ENVS} if on_cpu_device(config) else {}
    return defaults | dict(config.overrides)


def check_config(config: RunConfig, *, here: bool = True) -> None:
    """Refuse, before anything is built, what `train` would refuse or could not run.

    Args:
        config: The run.
        here: Whether it runs in this process (then its backend must be usable here; a Ray
            cluster's workers may have what this machine lacks).

    Raises:
        LookupError: For an unknown task or preset (listing the valid names).
        ValueError: For an override that names no field or has the wrong type, a scale the preset
            lacks, or a backend that cannot run here (naming what is missing).
    """
    from sacbench.sim.status import backend_status

    get_task(config.task)
    resolve_params(get_preset(config.preset), config_scale(config), run_overrides(config))
    status = backend_status(config.backend, str(config.backend_options.get("device", "cuda:0")))
    if here and not status.usable:
        raise ValueError(f"backend {config.backend.value} cannot run here: " + "; ".join(status.reasons))


@dataclass
class RunParts:
    """What `build_run` makes: the objects a run trains, exactly as `train` uses them."""

    preset: Preset
    task: TaskSpec
    scale: Scale
    params: AlgoParams
    base: BatchedVecEnv
    """The backend env behind the adapter (the agent's action box)."""
    bounds: ResolvedBounds
    venv: VecEnv
    """What the agent sees: ``base``, maybe recorded, maybe observation-normalised."""
    model: BaseAlgorithm
    recorder: ActionRecorder | None = None


def build_run(config: RunConfig) -> RunParts:
    """Resolve the preset and build the env and agent of ``config``, without training.

    `train` builds through this function, and the effect tests (``tests/test_effects.py``) read
    the preset's knobs off the objects it returns, so what they check is what trains.

    Raises:
        LookupError: For an unknown task or preset.
        ValueError: For a bad override or a scale the preset does not have.
    """
    preset, task, scale = get_preset(config.preset), get_task(config.task), config_scale(config)
    params = resolve_params(preset, scale, run_overrides(config))
    set_random_seed(config.seed)
    base, bounds = build_vec_env(config, task, params.num_envs, config.seed, preset)
    recorder = ActionRecorder(base, config.record_actions) if config.record_actions else None
    venv = normalize_observations(recorder or base, params)
    tb = str(config.tensorboard_dir) if config.tensorboard_dir else None
    model = make_agent(preset.algo, params, venv, seed=config.seed, tensorboard_log=tb)
    return RunParts(preset, task, scale, params, base, bounds, venv, model, recorder)


def train(config: RunConfig) -> RunRecord:
    """Train, evaluate, and describe the run, on one core of its own (`sacbench.runtime.one_core`).

    The run waits while every core it may use trains another sacbench run; its clocks start once it
    holds a core.

    Raises:
        LookupError: For an unknown task or preset, before anything runs.
        ValueError: For a bad override or budget, before anything runs.  Training failures never
            raise: they end in the record's status.
    """
    with one_core(on_wait=config.on_progress or _to_stderr) as pinning:
        return _train(config, pinning)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _train(config: RunConfig, pinning: CpuPinning) -> RunRecord:
    """`train` on the core ``pinning`` describes."""
    t0, cpu0, start_utc = time.perf_counter(), time.process_time(), datetime.now(UTC)
    threads = configure_threads(jax_platform="cpu" if config.backend is Backend.MUJOCO else "")
    parts = build_run(config)
    preset, task, scale, params, model = parts.preset, parts.task, parts.scale, parts.params, parts.model
    base, bounds, recorder, venv = parts.base, parts.bounds, parts.recorder, parts.venv
    timer = CompileTimer(enabled=preset.algo.jax)
    instrument_agent(model, timer)
    run = RunState(config, params, base, timer, bounds_schedule=preset.bounds.scale_at)
    run_schedules_on_budget(model, run.progress)
    setup_s = time.perf_counter() - t0

    name = run_id(task.name, preset.name, config.seed)
    status, error = _learn(model, run, name)
    # Budgets are wall-clock: another busy process on the machine costs this run env steps, so the
    # record keeps the load it trained under (1, 5 and 15-minute averages, where the OS has them).
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if run.stopped_at is None and run.learn_start:
        run.stopped_at = run.training_time()
    train_s = run.stopped_at or 0.0
    overrun = max(0.0, train_s - config.budget.seconds)
    if run.learn_start:
        run.add_row(model, train_s)

    final = _final_metrics(run, params, model)
    if recorder is not None:
        final.update(recorder.summary())
    eval_start = time.perf_counter()
    if status is RunStatus.OK:
        try:
            final.update(evaluate(model, venv, base, config.eval_episodes, config.seed + EVAL_SEED_OFFSET))
        except Exception:
            status, error = RunStatus.CRASHED, "evaluation failed:\n" + traceback.format_exc()
        if status is RunStatus.OK and _overran(config, overrun, model.num_timesteps):
            status = RunStatus.BUDGET_OVERRUN
    venv.close()
    eval_s = time.perf_counter() - eval_start

    environment = to_jsonable(collect_environment())
    if pinning.allowed:  # what the process may use, not the one core the run was bound to
        environment["hardware"]["num_usable_cpus"] = len(pinning.allowed)
    environment.update(
        threads=to_jsonable(threads),
        cpu_pinning=to_jsonable(pinning),
        start_utc=start_utc.isoformat(),
        end_utc=datetime.now(UTC).isoformat(),
        load_average_end_of_training=[round(x, 2) for x in load] if load else None,
        backend_options={key: str(value) for key, value in config.backend_options.items()},
    )
    if isinstance(setup := getattr(base.env, "setup", None), dict):
        environment["isaaclab_setup"] = to_jsonable(setup)
    return RunRecord(
        run_id=name,
        task=task.name,
        robot=task.robot.value,
        terrain=task.terrain.value,
        backend=config.backend.value,
        scale=scale.value,
        preset=preset.name,
        algo=preset.algo.value,
        seed=config.seed,
        num_envs=params.num_envs,
        budget={"seconds": config.budget.seconds, "max_env_steps": config.budget.max_env_steps},
        hyperparameters=to_jsonable(params) | {"overrides": to_jsonable(run_overrides(config))},
        bounds=bounds.to_dict(),
        timing=Timing(
            setup_s=round(setup_s, 3),
            compile_s=round(timer.compile_s, 3),
            train_s=round(train_s, 3),
            overrun_s=round(overrun, 3),
            eval_s=round(eval_s, 3),
            total_s=round(time.perf_counter() - t0, 3),
            num_compiles=timer.num_compiles,
            cpu_s=round(time.process_time() - cpu0, 3),
        ),
        curves=run.curves,
        checkpoints=run.checkpoints,
        final=to_jsonable(final),
        status=status,
        error=error,
        provenance=environment,
    )
