"""Effects, not intentions: every preset knob read off the SBX/SB3 objects that train.

Each test builds a preset's env and agent with `sacbench.train.build_run`, the function `train`
builds through, at the preset's real CPU-scale values, and reads what a knob changed on the real
objects (flax parameter trees, optax states, replay and rollout buffers, the VecEnv stack, the
action box), or counts it in a short real run (gradient steps, actor updates, sampled batches,
optimizer steps, noise resets, the learning rate the optimizer held, the actions the simulator
received).  `OFF_POLICY_READERS` and `ON_POLICY_READERS` hold one reader per field of
`OffPolicyParams` and `OnPolicyParams`: a new field without a reader fails
`test_every_field_has_an_effect_reader`, and a new preset is covered by the parametrization.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import flax.linen as flax_nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from stable_baselines3.common.buffers import NStepReplayBuffer
from stable_baselines3.common.type_aliases import TrainFrequencyUnit
from stable_baselines3.common.vec_env import VecNormalize

import sacbench.train as train_module
from sacbench.algos import PRESETS, Scale
from sacbench.algos.presets import Activation, Algo, LinearSchedule, OffPolicyParams, OnPolicyParams, Optimizer
from sacbench.bounds import BoundsMode, bounds_dir
from sacbench.records import RunStatus
from sacbench.tasks import get_task
from sacbench.tasks.velocity import LEGACY_ACTION_BOUND
from sacbench.train import Budget, RunConfig, RunParts, build_run, train

TASK = "a1-flat"
NOT_APPLICABLE = "not applicable"
"""What a reader returns for a field that the algorithm has no use for (TQC's quantiles on SAC)."""
TINY_NET = {"net_arch": (32, 32)}
"""Counting runs keep every preset value but the widths (compile time; counts do not depend on it)."""

OFF_POLICY = sorted(name for name, p in PRESETS.items() if p.algo.off_policy)
ON_POLICY = sorted(name for name, p in PRESETS.items() if not p.algo.off_policy)


def _build(preset: str, **overrides: Any) -> RunParts:
    return build_run(RunConfig(task=TASK, preset=preset, seed=0, budget=Budget(60), overrides=overrides))


_PARTS: dict[str, RunParts] = {}


def _parts(preset: str) -> RunParts:
    """The preset as `train` builds it (built once per test session; the readers only read)."""
    if preset not in _PARTS:
        _PARTS[preset] = _build(preset)
    return _PARTS[preset]


# ------------------------------------------------------------------------ reading the real objects


def _dense_widths(tree: dict[str, Any]) -> list[int]:
    """Output widths of a flax module's ``Dense_<i>`` layers, in layer order."""
    dense = sorted((k for k in tree if k.startswith("Dense_")), key=lambda k: int(k.split("_")[1]))
    return [int(tree[k]["kernel"].shape[-1]) for k in dense]


def _critic_tree(parts: RunParts) -> dict[str, Any]:
    policy = parts.model.policy
    if hasattr(policy, "qf1_state"):  # TQC: two critics, each its own state
        return dict(policy.qf1_state.params["params"])
    (critic,) = policy.qf_state.params["params"].values()  # SAC: one vmapped ensemble
    return dict(critic)


def _injected(opt_state: Any) -> Any:
    """The ``inject_hyperparams`` state inside an optax state (SBX injects the learning rate)."""
    if hasattr(opt_state, "hyperparams"):
        return opt_state
    for child in opt_state if isinstance(opt_state, tuple) else ():
        found = _injected(child)
        if found is not None:
            return found
    return None


def _adam_count(opt_state: Any) -> int:
    """Updates applied by an optax Adam(W): its ``ScaleByAdamState.count`` (alone, or after clipping)."""
    counts = [
        int(state.count)
        for state in jax.tree_util.tree_leaves(opt_state, is_leaf=lambda x: isinstance(x, optax.ScaleByAdamState))
        if isinstance(state, optax.ScaleByAdamState)
    ]
    assert len(counts) == 1, f"expected one Adam state, found {counts}"
    return counts[0]


_FLAX_ACTIVATIONS = {
    flax_nn.relu: Activation.RELU,
    flax_nn.elu: Activation.ELU,
    flax_nn.tanh: Activation.TANH,
    flax_nn.swish: Activation.SWISH,
}
_TORCH_ACTIVATIONS = {
    torch.nn.ReLU: Activation.RELU,
    torch.nn.ELU: Activation.ELU,
    torch.nn.Tanh: Activation.TANH,
    torch.nn.SiLU: Activation.SWISH,
}


def _flax_activation(fn: Any) -> Activation:
    return next(act for flax_fn, act in _FLAX_ACTIVATIONS.items() if fn is flax_fn)


def _sb3_mlp(parts: RunParts, net: str) -> list[torch.nn.Module]:
    return list(getattr(parts.model.policy.mlp_extractor, net))


def _schedule_value(schedule: Any) -> float:
    return float(schedule(1.0)) if callable(schedule) else float(schedule)


# --- off-policy (SBX SAC / TQC) -----------------------------------------------------------------------


def _off_num_envs(parts: RunParts) -> int:
    assert parts.model.n_envs == parts.base.num_envs == parts.model.env.num_envs
    return int(parts.model.n_envs)


def _off_net_arch(parts: RunParts) -> tuple[int, ...]:
    return tuple(_dense_widths(parts.model.policy.actor_state.params["params"])[:-2])  # the mean and log-std heads


def _off_critic_net_arch(parts: RunParts) -> tuple[int, ...]:
    return tuple(_dense_widths(_critic_tree(parts))[:-1])  # the value (or quantile) head


def _off_weight_decay(parts: RunParts) -> float | None:
    """AdamW's decay measured: with zero gradients its update is ``-lr * decay * params``; Adam's is 0."""
    state = parts.model.policy.actor_state
    zeros = jax.tree_util.tree_map(jnp.zeros_like, state.params)
    updates, _ = state.tx.update(zeros, state.opt_state, state.params)
    update, param = (
        np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(t)]) for t in (updates, state.params)
    )
    if not np.any(update):
        return None
    rate = float(_injected(state.opt_state).hyperparams["learning_rate"])
    moved = np.abs(param) > 1e-3
    return float(np.median(-update[moved] / (rate * param[moved])))


def _clips_at(state: Any, norm: float) -> bool:
    """Whether an optimizer clips the global gradient norm at ``norm``, seen in its updates.

    A first gradient far above the norm, then a second of exactly the clipped size: after clipping
    the two are equal and Adam takes a full step (``lr`` per weight); an Adam that did not clip
    still remembers the large one and steps 0.67 ``lr``.  The weights are zero, so AdamW's decay adds
    nothing.
    """
    zeros = jax.tree_util.tree_map(jnp.zeros_like, state.params)
    clipped = norm / math.sqrt(sum(leaf.size for leaf in jax.tree_util.tree_leaves(zeros)))
    opt_state = state.tx.init(zeros)
    _, opt_state = state.tx.update(jax.tree_util.tree_map(lambda z: z + 1e3 * clipped, zeros), opt_state, zeros)
    second, _ = state.tx.update(jax.tree_util.tree_map(lambda z: z + clipped, zeros), opt_state, zeros)
    step = abs(float(jax.tree_util.tree_leaves(second)[0].ravel()[0]))
    rate = float(_injected(opt_state).hyperparams["learning_rate"])
    assert step == pytest.approx(rate, rel=0.01) or step == pytest.approx(0.67 * rate, rel=0.02), step / rate
    return step == pytest.approx(rate, rel=0.01)


def _off_max_grad_norm(parts: RunParts) -> float | None:
    """The norm both networks' optimizers clip at, seen in their updates (``None``: they do not clip)."""
    policy = parts.model.policy
    states = (policy.actor_state, getattr(policy, "qf_state", None) or policy.qf1_state)
    held = [_injected(state.opt_state).hyperparams.get("max_grad_norm") for state in states]
    norms = {None if norm is None else float(norm) for norm in held}
    (norm,) = norms  # the same in both
    probe = 1.0 if norm is None else norm
    clips = {_clips_at(state, probe) for state in states}
    assert len(clips) == 1, "the actor and the critic must clip alike"
    return probe if clips.pop() else None


def _initial_std(parts: RunParts) -> np.ndarray:
    """The actor's standard deviation (before tanh) on 64 random observations: ``(64, action_dim)``."""
    obs = np.random.default_rng(0).normal(size=(64, *parts.venv.observation_space.shape)).astype(np.float32)
    policy = parts.model.policy
    dist = policy.actor.apply(policy.actor_state.params, obs)
    return np.asarray(dist.distribution.stddev())


def _off_init_std(parts: RunParts) -> float | None:
    """The same std in every state and joint (the set initial std), or ``None``: SBX's state-dependent one."""
    std = _initial_std(parts)
    if np.allclose(std, std.flat[0], rtol=1e-5):
        return float(std.flat[0])
    assert 0.3 < float(np.median(std)) < 3.0, "SBX's default init gives a std around 1"
    return None


def _off_target_entropy(parts: RunParts) -> float:
    """The entropy target SBX's temperature loss uses (set at the first ``learn``, from the constructor's)."""
    return float(parts.model.target_entropy)


def _off_activation(parts: RunParts) -> Activation:
    actor = _flax_activation(parts.model.policy.actor.activation_fn)
    critic = _flax_activation(parts.model.policy.qf.activation_fn)
    assert actor is critic
    return actor


def _off_layer_norm(parts: RunParts) -> bool:
    return any(key.startswith("LayerNorm") for key in _critic_tree(parts))


def _off_optimizer(parts: RunParts) -> Optimizer:
    """AdamW decays the weights: with zero gradients it still moves them; Adam does not."""
    state = parts.model.policy.actor_state
    zeros = jax.tree_util.tree_map(jnp.zeros_like, state.params)
    updates, _ = state.tx.update(zeros, state.opt_state, state.params)
    moved = any(bool(jnp.any(u != 0)) for u in jax.tree_util.tree_leaves(updates))
    return Optimizer.ADAMW if moved else Optimizer.ADAM


def _off_learning_rate(parts: RunParts) -> float:
    """The rate injected into both optimizers at the start (the schedule's course: `test_lr_schedule...`)."""
    actor = float(_injected(parts.model.policy.actor_state.opt_state).hyperparams["learning_rate"])
    critic_state = getattr(parts.model.policy, "qf_state", None) or parts.model.policy.qf1_state
    critic = float(_injected(critic_state.opt_state).hyperparams["learning_rate"])
    assert actor == pytest.approx(critic, rel=1e-6)
    return actor


def _off_buffer_size(parts: RunParts) -> int:
    """SB3 keeps ``buffer_size // n_envs`` rows of ``n_envs`` transitions."""
    return int(parts.model.replay_buffer.buffer_size * parts.model.n_envs)


def _off_train_freq(parts: RunParts) -> int:
    assert parts.model.train_freq.unit is TrainFrequencyUnit.STEP
    return int(parts.model.train_freq.frequency)


def _off_n_steps(parts: RunParts) -> int:
    buffer = parts.model.replay_buffer
    if isinstance(buffer, NStepReplayBuffer):
        assert buffer.gamma == parts.model.gamma  # the n-step discount uses the agent's gamma
        return int(buffer.n_steps)
    return 1


def _off_ent_coef(parts: RunParts) -> tuple[float, bool]:
    """The coefficient the first update uses, and whether it is a trained parameter (SBX keeps a
    learned one as ``log_ent_coef`` and a fixed one as an untrained dummy)."""
    model = parts.model
    value = float(model.ent_coef.apply({"params": model.ent_coef_state.params}))
    return value, "log_ent_coef" in model.ent_coef_state.params


def _off_use_sde(parts: RunParts) -> bool:
    """gSDE in SBX keeps one noise sample until the next reset: the same observation, the same action."""
    obs = np.zeros((2, *parts.venv.observation_space.shape), np.float32)
    first, _ = parts.model.predict(obs, deterministic=False)
    second, _ = parts.model.predict(obs, deterministic=False)
    assert parts.model.use_sde == parts.model.policy.use_sde
    return bool(np.array_equal(first, second))


def _off_top_quantiles(parts: RunParts) -> int | str:
    policy = parts.model.policy
    if not hasattr(policy, "n_target_quantiles"):
        return NOT_APPLICABLE
    dropped = policy.n_quantiles * policy.n_critics - policy.n_target_quantiles
    return int(dropped // policy.n_critics)


def _normalized(parts: RunParts) -> bool:
    venv = parts.venv
    if not isinstance(venv, VecNormalize):
        return False
    assert parts.model.get_env() is venv and parts.model.get_vec_normalize_env() is venv
    assert venv.norm_obs and not venv.norm_reward and venv.training
    return True


OFF_POLICY_READERS: dict[str, Callable[[RunParts], Any]] = {
    "num_envs": _off_num_envs,
    "net_arch": _off_net_arch,
    "activation": _off_activation,
    "layer_norm": _off_layer_norm,
    "optimizer": _off_optimizer,
    "learning_rate": _off_learning_rate,
    "buffer_size": _off_buffer_size,
    "learning_starts": lambda parts: parts.model.learning_starts,
    "batch_size": lambda parts: parts.model.batch_size,
    "tau": lambda parts: parts.model.tau,
    "gamma": lambda parts: parts.model.gamma,
    "train_freq": _off_train_freq,
    "gradient_steps": lambda parts: parts.model.gradient_steps,
    "policy_delay": lambda parts: parts.model.policy_delay,
    "n_steps": _off_n_steps,
    "ent_coef": _off_ent_coef,
    "use_sde": _off_use_sde,
    "top_quantiles_to_drop_per_net": _off_top_quantiles,
    "normalize_obs": _normalized,
    "critic_net_arch": _off_critic_net_arch,
    "weight_decay": _off_weight_decay,
    "max_grad_norm": _off_max_grad_norm,
    "init_std": _off_init_std,
    "target_entropy_scale": _off_target_entropy,
    "entropy_in_box_units": _off_target_entropy,
    "timeout_bootstrap": lambda parts: parts.model.replay_buffer.handle_timeout_termination,
}


# --- on-policy (SB3 PPO / SBX PPO) --------------------------------------------------------------------


def _sb3(parts: RunParts) -> bool:
    return parts.preset.algo is Algo.SB3_PPO


def _on_net_arch(parts: RunParts) -> tuple[int, ...]:
    if _sb3(parts):
        pi = [m.out_features for m in _sb3_mlp(parts, "policy_net") if isinstance(m, torch.nn.Linear)]
        vf = [m.out_features for m in _sb3_mlp(parts, "value_net") if isinstance(m, torch.nn.Linear)]
    else:
        pi = _dense_widths(parts.model.policy.actor_state.params["params"])[:-1]
        vf = _dense_widths(parts.model.policy.vf_state.params["params"])[:-1]
    assert pi == vf, f"policy {pi} vs value {vf}"
    return tuple(pi)


def _on_activation(parts: RunParts) -> Activation:
    if not _sb3(parts):
        return _flax_activation(parts.model.policy.actor.activation_fn)
    kinds = {type(m) for net in ("policy_net", "value_net") for m in _sb3_mlp(parts, net)} - {torch.nn.Linear}
    (kind,) = kinds
    return _TORCH_ACTIVATIONS[kind]


def _on_optimizer_hyper(parts: RunParts, name: str) -> float:
    if _sb3(parts):
        (group,) = parts.model.policy.optimizer.param_groups
        return float(group["lr" if name == "learning_rate" else name])
    return float(_injected(parts.model.policy.actor_state.opt_state).hyperparams[name])


def _on_log_std_init(parts: RunParts) -> float:
    if _sb3(parts):
        values = parts.model.policy.log_std.detach().numpy()
    else:
        values = np.asarray(parts.model.policy.actor_state.params["params"]["log_std"])
    assert np.all(values == values[0])
    return float(values[0])


def _on_ortho_init(parts: RunParts) -> bool:
    """The post's last-layer fix: the action layer starts ~100 x smaller, so the first actions are ~0.

    Orthogonal init with gain 0.01 gives rows (SB3) or columns (flax) of norm 0.01; the libraries'
    defaults give norms of 0.5-1.
    """
    if _sb3(parts):
        weight = parts.model.policy.action_net.weight.detach().numpy()
        norms = np.linalg.norm(weight, axis=1)
    else:
        tree = parts.model.policy.actor_state.params["params"]
        last = max((k for k in tree if k.startswith("Dense_")), key=lambda k: int(k.split("_")[1]))
        norms = np.linalg.norm(np.asarray(tree[last]["kernel"]), axis=0)
    small = bool(norms.max() < 0.05)
    assert small or norms.min() > 0.2, f"action-layer norms {norms} are neither the fix's nor the default's"
    return small


def _on_clip_range(parts: RunParts) -> float:
    model = parts.model
    return _schedule_value(model.clip_range if _sb3(parts) else model.clip_range_schedule)


def _on_clip_obs(parts: RunParts) -> float | str:
    return float(parts.venv.clip_obs) if isinstance(parts.venv, VecNormalize) else NOT_APPLICABLE


ON_POLICY_READERS: dict[str, Callable[[RunParts], Any]] = {
    "num_envs": _off_num_envs,
    "net_arch": _on_net_arch,
    "activation": _on_activation,
    "learning_rate": lambda parts: _on_optimizer_hyper(parts, "learning_rate"),
    "n_steps": lambda parts: parts.model.rollout_buffer.buffer_size,
    "n_minibatches": lambda parts: (
        parts.model.rollout_buffer.buffer_size * parts.model.n_envs // parts.model.batch_size
    ),
    "n_epochs": lambda parts: parts.model.n_epochs,
    "gamma": lambda parts: parts.model.rollout_buffer.gamma,  # the buffer computes the returns and GAE
    "gae_lambda": lambda parts: parts.model.rollout_buffer.gae_lambda,
    "clip_range": _on_clip_range,
    "ent_coef": lambda parts: parts.model.ent_coef,
    "vf_coef": lambda parts: parts.model.vf_coef,
    "max_grad_norm": lambda parts: parts.model.max_grad_norm,
    "log_std_init": _on_log_std_init,
    "ortho_init": _on_ortho_init,
    "optimizer_eps": lambda parts: _on_optimizer_hyper(parts, "eps"),
    "normalize_obs": _normalized,
    "clip_obs": _on_clip_obs,
}


def _expected(parts: RunParts, name: str) -> Any:  # noqa: PLR0911 (one case per library rule)
    """What the reader of field ``name`` must find, from the preset's value and the library's rule."""
    params = parts.params
    value = getattr(params, name)
    if name == "learning_rate":
        return pytest.approx(_schedule_value(value), rel=1e-6)
    if isinstance(params, OffPolicyParams):
        if name == "buffer_size":  # SB3 keeps whole rows of num_envs transitions
            return max(value // params.num_envs, 1) * params.num_envs
        if name == "ent_coef":
            return (pytest.approx(value.init, rel=1e-5), value.learned)
        if name == "top_quantiles_to_drop_per_net" and parts.preset.algo is not Algo.SBX_TQC:
            return NOT_APPLICABLE
        if name == "critic_net_arch" and value is None:  # the actor's widths
            return params.net_arch
        if name == "weight_decay" and params.optimizer is Optimizer.ADAMW:  # measured, in float32
            return pytest.approx(value if value is not None else 1e-4, rel=1e-3)
        if name in ("target_entropy_scale", "entropy_in_box_units"):  # both set the one target
            box = parts.model.action_space
            box_units = np.sum(np.log((box.high - box.low) / 2)) if params.entropy_in_box_units else 0.0
            return pytest.approx(-params.target_entropy_scale * box.shape[0] - box_units, rel=1e-5)
        if name == "init_std" and value is not None:
            return pytest.approx(value, rel=1e-5)
    elif name == "clip_obs" and not params.normalize_obs:
        return NOT_APPLICABLE
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-6)
    return value


# ------------------------------------------------------------------------ static effects


def test_every_field_has_an_effect_reader() -> None:
    assert set(OFF_POLICY_READERS) == {f.name for f in fields(OffPolicyParams)}
    assert set(ON_POLICY_READERS) == {f.name for f in fields(OnPolicyParams)}
    assert OFF_POLICY and ON_POLICY and set(OFF_POLICY) | set(ON_POLICY) == set(PRESETS)


@pytest.mark.parametrize("preset", OFF_POLICY)
@pytest.mark.parametrize("name", sorted(OFF_POLICY_READERS))
def test_off_policy_field_reaches_the_agent(preset: str, name: str) -> None:
    parts = _parts(preset)
    assert parts.scale is Scale.CPU
    assert OFF_POLICY_READERS[name](parts) == _expected(parts, name), f"{preset}: {name}"


@pytest.mark.parametrize("preset", ON_POLICY)
@pytest.mark.parametrize("name", sorted(ON_POLICY_READERS))
def test_on_policy_field_reaches_the_agent(preset: str, name: str) -> None:
    parts = _parts(preset)
    assert ON_POLICY_READERS[name](parts) == _expected(parts, name), f"{preset}: {name}"


def _expected_box(mode: BoundsMode, fraction: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The box each bound mode stands for, from its definition (and the bounds data file)."""
    legacy = np.full(12, LEGACY_ACTION_BOUND)
    if mode is BoundsMode.LEGACY:
        return -legacy, legacy
    if mode is BoundsMode.UNIT:
        return -np.ones(12), np.ones(12)
    if mode is BoundsMode.FRACTION:
        assert fraction is not None
        return -fraction * legacy, fraction * legacy
    if mode is BoundsMode.JOINT_LIMITS:  # Isaac Lab's soft limits, reached through default + 0.25 * action
        spec = get_task(TASK).robot_spec
        hard = np.array([spec.joints[name].range for name in spec.joint_order])
        middle, half = hard.mean(axis=1), (hard[:, 1] - hard[:, 0]) / 2 * 0.9
        default = np.array([spec.joints[name].default for name in spec.joint_order])
        return (middle - half - default) / 0.25, (middle + half - default) / 0.25
    raw = json.loads((bounds_dir() / "mujoco" / "a1.json").read_text())
    return np.array(raw["low"]), np.array(raw["high"])


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_agent_acts_in_the_presets_box(preset: str) -> None:
    parts = _parts(preset)
    low, high = _expected_box(parts.preset.bounds.mode, parts.preset.bounds.fraction)
    space = parts.model.action_space
    np.testing.assert_allclose(space.low, low, rtol=1e-6)
    np.testing.assert_allclose(space.high, high, rtol=1e-6)
    if parts.preset.algo.off_policy:  # SAC squashes into the box: its random actions fill it
        obs = np.zeros((256, *parts.venv.observation_space.shape), np.float32)
        actions, _ = parts.model.predict(obs, deterministic=False)
        assert np.all(actions >= low - 1e-4) and np.all(actions <= high + 1e-4)


@pytest.mark.parametrize(("preset", "std"), [("rsl_rl_sac", 0.15), ("fast_sac", 0.22), ("rsl_rl_sac_sbx_std", None)])
def test_the_initial_std_is_the_spread_of_the_first_actions(preset: str, std: float | None) -> None:
    """The real policy's exploratory actions, mapped back through the box and tanh: around the
    deterministic action they spread by the preset's initial std (SBX's own init: about 1, and a
    mean anywhere), and with a set std the deterministic action starts at the box's centre."""
    parts = _parts(preset)
    obs = np.repeat(np.random.default_rng(1).normal(size=(1, *parts.venv.observation_space.shape)), 4096, axis=0)
    low, high = parts.model.action_space.low, parts.model.action_space.high
    centre, half = (low + high) / 2, (high - low) / 2

    def pre_tanh(actions: np.ndarray) -> np.ndarray:
        return np.arctanh(np.clip((actions - centre) / half, -1 + 1e-6, 1 - 1e-6))

    sampled, _ = parts.model.predict(obs.astype(np.float32), deterministic=False)
    mean, _ = parts.model.predict(obs[:1].astype(np.float32), deterministic=True)
    spread = (pre_tanh(sampled) - pre_tanh(mean)).std(axis=0)  # (action_dim,)
    if std is None:
        assert np.median(spread) > 0.5
    else:
        np.testing.assert_allclose(spread, std, rtol=0.1)
        assert np.abs(pre_tanh(mean)).max() < 0.05


# ------------------------------------------------------------------------ counted in real runs


def _rollouts_and_train_calls(total: int, per_rollout: int, learning_starts: int) -> tuple[int, int]:
    """SB3's off-policy loop: rollouts of ``per_rollout`` transitions until ``total``; a train call
    after each rollout that ends past ``learning_starts``."""
    rollouts = math.ceil(total / per_rollout)
    return rollouts, sum(k * per_rollout > learning_starts for k in range(1, rollouts + 1))


@pytest.mark.parametrize("preset", OFF_POLICY)
def test_off_policy_counts_in_a_real_run(preset: str) -> None:
    """Gradient steps, actor updates (policy delay), sampled batch, gSDE resets and observation
    statistics, counted while SB3's own loop trains the agent."""
    parts = _build(preset, **TINY_NET)
    model, params = parts.model, parts.params
    assert isinstance(params, OffPolicyParams)
    sampled: list[int] = []
    sample = model.replay_buffer.sample
    model.replay_buffer.sample = lambda n, env=None: sampled.append(n) or sample(n, env=env)
    resets = []
    reset_noise = model.actor.reset_noise
    model.actor.reset_noise = lambda n=1: resets.append(n) or reset_noise(n)
    per_rollout = params.num_envs * params.train_freq
    total = params.learning_starts + 8 * per_rollout
    model.learn(total_timesteps=total)

    rollouts, calls = _rollouts_and_train_calls(total, per_rollout, params.learning_starts)
    updates = calls * params.gradient_steps
    assert calls >= 8
    critic_state = getattr(model.policy, "qf_state", None) or model.policy.qf1_state
    assert _adam_count(critic_state.opt_state) == updates == model._n_updates
    # SBX updates the actor on every policy_delay-th critic update (counted from 1)
    assert _adam_count(model.policy.actor_state.opt_state) == updates // params.policy_delay
    assert sampled == [params.batch_size * params.gradient_steps] * calls
    assert len(resets) == (rollouts if params.use_sde else 0)
    if params.normalize_obs:
        assert parts.venv.obs_rms.count >= total  # every observation updated the statistics


@pytest.mark.parametrize("preset", ON_POLICY)
def test_on_policy_counts_in_a_real_run(preset: str) -> None:
    """One rollout of ``n_steps`` per env, then ``n_epochs`` x ``n_minibatches`` optimizer steps."""
    parts = _build(preset, **TINY_NET)
    model, params = parts.model, parts.params
    assert isinstance(params, OnPolicyParams)
    model.learn(total_timesteps=params.n_steps * params.num_envs)
    assert model.num_timesteps == params.n_steps * params.num_envs
    steps = params.n_epochs * math.ceil(params.n_steps * params.num_envs / params.batch_size)
    if _sb3(parts):
        counts = {int(s["step"]) for s in model.policy.optimizer.state.values()}
        assert counts == {steps}
    else:
        assert _adam_count(model.policy.actor_state.opt_state) == steps
        assert _adam_count(model.policy.vf_state.opt_state) == steps


# ------------------------------------------------------------------------ schedules on the budget


def test_lr_schedule_reaches_the_optimizer(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sac_tuned_lr_schedule``: 5e-4 -> 1e-5 over the first 15 % of the budget.

    After every update, the learning rate SBX trained with is read from its optax state and compared
    with the schedule at the share of the budget the runner's clock gave SB3 at its last refresh.
    """
    seen: list[tuple[float, float]] = []
    given: list[float] = [math.nan]
    instrument, drive = train_module.instrument_agent, train_module.run_schedules_on_budget

    def probe(model: Any, timer: Any) -> None:
        instrument(model, timer)
        update = model.train

        def update_and_read(*args: Any, **kwargs: Any) -> None:
            progress = given[0]
            update(*args, **kwargs)
            seen.append((progress, float(_injected(model.policy.actor_state.opt_state).hyperparams["learning_rate"])))

        model.train = update_and_read

    def keep_clock(model: Any, progress: Callable[[], float]) -> None:
        def read() -> float:
            given[0] = progress()
            return given[0]

        drive(model, read)

    monkeypatch.setattr(train_module, "instrument_agent", probe)
    monkeypatch.setattr(train_module, "run_schedules_on_budget", keep_clock)
    # the schedule's values are the preset's; only the network and warm-up are small, to be quick
    overrides = {**TINY_NET, "num_envs": 16, "learning_starts": 64, "policy_delay": 1}
    record = train(RunConfig(TASK, "sac_tuned_lr_schedule", 0, Budget(15.0), overrides=overrides, eval_episodes=2))
    assert record.status is RunStatus.OK, record.error
    schedule = PRESETS["sac_tuned_lr_schedule"].cpu.learning_rate
    assert isinstance(schedule, LinearSchedule)
    assert len(seen) > 100
    for progress, rate in seen:
        assert rate == pytest.approx(schedule(1.0 - progress), rel=1e-5), f"at {progress:.1%} of the budget"
    # updates before the schedule's end were seen (the first comes after warm-up and compile)
    assert seen[0][0] < schedule.end_fraction and seen[0][1] > 5 * schedule.end
    assert seen[-1][0] > 0.9 and seen[-1][1] == pytest.approx(schedule.end, rel=1e-5)  # the end of the budget


def test_action_space_schedule_reaches_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sac_tuned_action_schedule``: the box starts at a quarter of its size around its centre and
    grows to full size at half the budget, measured on the actions the simulator receives."""
    received: list[tuple[float, np.ndarray]] = []
    real_make_env = train_module.make_env

    def recording(task: str, num_envs: int, seed: int, **kwargs: Any) -> Any:
        env = real_make_env(task, num_envs=num_envs, seed=seed, **kwargs)
        if not received:  # the one env: it trains, then evaluates
            step = env.step
            env.step = lambda actions: received.append((time.perf_counter(), np.array(actions))) or step(actions)
        return env

    monkeypatch.setattr(train_module, "make_env", recording)
    # learning never starts: every action is SB3's uniform sample from the agent's box
    overrides = {**TINY_NET, "learning_starts": 10**9}
    record = train(RunConfig(TASK, "sac_tuned_action_schedule", 0, Budget(3.0), overrides=overrides, eval_episodes=2))
    assert record.status is RunStatus.OK, record.error
    low, high = np.array(record.bounds["low"]), np.array(record.bounds["high"])
    centre, half = (low + high) / 2, (high - low) / 2
    # The training steps only: the evaluation that follows on the same env acts in the whole box.
    training = received[: record.final["train/env_steps"] // record.num_envs]
    spread = [float(np.abs((a - centre) / half).max()) for _, a in training]
    assert spread[0] <= 0.25 + 1e-3  # a quarter of the box at the start
    assert max(spread[: len(spread) // 20]) < 0.4
    assert min(spread[-len(spread) // 4 :]) > 0.9  # the full box after half the budget
