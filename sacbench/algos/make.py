"""Build the SBX / SB3 agent of a preset on a VecEnv."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from sacbench.algos.presets import Activation, Algo, AlgoParams, OffPolicyParams, OnPolicyParams, Optimizer


def _flax_activation(activation: Activation) -> Any:
    import flax.linen as nn

    table = {Activation.RELU: nn.relu, Activation.ELU: nn.elu, Activation.TANH: nn.tanh, Activation.SWISH: nn.swish}
    return table[activation]


def _torch_activation(activation: Activation) -> Any:
    from torch import nn

    table = {Activation.RELU: nn.ReLU, Activation.ELU: nn.ELU, Activation.TANH: nn.Tanh, Activation.SWISH: nn.SiLU}
    return table[activation]


def _off_policy_optimizer(p: OffPolicyParams) -> tuple[Any, dict[str, Any]]:
    """SBX's ``optimizer_class`` and ``optimizer_kwargs`` for both networks."""
    import optax

    from sacbench.algos.actors import clipped_adam, clipped_adamw

    kwargs: dict[str, Any] = {} if p.weight_decay is None else {"weight_decay": p.weight_decay}
    if p.max_grad_norm is None:
        return {Optimizer.ADAM: optax.adam, Optimizer.ADAMW: optax.adamw}[p.optimizer], kwargs
    kwargs["max_grad_norm"] = p.max_grad_norm
    return {Optimizer.ADAM: clipped_adam, Optimizer.ADAMW: clipped_adamw}[p.optimizer], kwargs


def target_entropy(p: OffPolicyParams, box: spaces.Box) -> float:
    """The entropy target SBX gets: ``-scale * action_dim``, in SBX's squashed ``[-1, 1]`` space.

    A target meant in the box's units (``entropy_in_box_units``: RSL-RL-SAC's log-probabilities
    include the box's ``-sum(log(half-widths))``) is lowered by that sum, which SBX's omit.
    """
    target = -p.target_entropy_scale * box.shape[0]
    if p.entropy_in_box_units:
        target -= float(np.sum(np.log((box.high - box.low) / 2)))
    return target


def _off_policy_kwargs(p: OffPolicyParams, box: spaces.Box) -> dict[str, Any]:
    """SBX SAC/TQC constructor arguments for ``p`` acting in ``box``."""
    optimizer, optimizer_kwargs = _off_policy_optimizer(p)
    policy_kwargs: dict[str, Any] = {
        "net_arch": {"pi": list(p.net_arch), "qf": list(p.critic_net_arch or p.net_arch)},
        "activation_fn": _flax_activation(p.activation),
        "layer_norm": p.layer_norm,
        "optimizer_class": optimizer,
        "optimizer_kwargs": optimizer_kwargs,
    }
    if p.init_std is not None:
        from sacbench.algos.actors import SmallInitStdActor  # imports flax: only when needed

        policy_kwargs["actor_class"] = functools.partial(SmallInitStdActor, log_std_init=math.log(p.init_std))
    return {
        "learning_rate": p.learning_rate,
        "buffer_size": p.buffer_size,
        "learning_starts": p.learning_starts,
        "batch_size": p.batch_size,
        "tau": p.tau,
        "gamma": p.gamma,
        "train_freq": p.train_freq,
        "gradient_steps": p.gradient_steps,
        "policy_delay": p.policy_delay,
        "n_steps": p.n_steps,
        "ent_coef": p.ent_coef.to_sb3(),
        "use_sde": p.use_sde,
        "target_entropy": target_entropy(p, box),
        "replay_buffer_kwargs": {"handle_timeout_termination": p.timeout_bootstrap},
        "policy_kwargs": policy_kwargs,
    }


def _ppo_kwargs(p: OnPolicyParams, algo: Algo) -> dict[str, Any]:
    policy_kwargs: dict[str, Any] = {
        "net_arch": {"pi": list(p.net_arch), "vf": list(p.net_arch)},
        "log_std_init": p.log_std_init,
        "ortho_init": p.ortho_init,
        # Both libraries use Adam; SBX's PPO would otherwise keep its own eps (1e-5).
        "optimizer_kwargs": {"eps": p.optimizer_eps},
    }
    if algo is Algo.SB3_PPO:
        import torch

        policy_kwargs["activation_fn"] = _torch_activation(p.activation)
        policy_kwargs["optimizer_class"] = torch.optim.Adam
    else:
        policy_kwargs["activation_fn"] = _flax_activation(p.activation)
    return {
        "learning_rate": p.learning_rate,
        "n_steps": p.n_steps,
        "batch_size": p.batch_size,
        "n_epochs": p.n_epochs,
        "gamma": p.gamma,
        "gae_lambda": p.gae_lambda,
        "clip_range": p.clip_range,
        "ent_coef": p.ent_coef,
        "vf_coef": p.vf_coef,
        "max_grad_norm": p.max_grad_norm,
        "policy_kwargs": policy_kwargs,
    }


def make_agent(
    algo: Algo,
    params: AlgoParams,
    venv: VecEnv,
    *,
    seed: int,
    tensorboard_log: str | None = None,
    verbose: int = 0,
) -> BaseAlgorithm:
    """Instantiate the agent.

    Args:
        algo: Which implementation.
        params: Its hyperparameters (already at the chosen scale).
        venv: The (possibly normalised) VecEnv.
        seed: Seeds the networks, the exploration noise and the replay sampling.
        tensorboard_log: Folder for SB3's TensorBoard logs, or ``None``.
        verbose: SB3 verbosity.

    Raises:
        TypeError: If ``params`` do not fit ``algo``.
    """
    common: dict[str, Any] = {
        "env": venv,
        "seed": seed,
        "tensorboard_log": tensorboard_log,
        "verbose": verbose,
        "device": "cpu",
    }
    if algo.off_policy:
        if not isinstance(params, OffPolicyParams):
            raise TypeError(f"{algo.value} needs OffPolicyParams, got {type(params).__name__}")
        assert isinstance(venv.action_space, spaces.Box)
        kwargs = _off_policy_kwargs(params, venv.action_space)
        if algo is Algo.SBX_TQC:
            from sbx import TQC

            return TQC(
                "MlpPolicy",
                top_quantiles_to_drop_per_net=params.top_quantiles_to_drop_per_net,
                **kwargs,
                **common,
            )
        from sbx import SAC

        return SAC("MlpPolicy", **kwargs, **common)
    if not isinstance(params, OnPolicyParams):
        raise TypeError(f"{algo.value} needs OnPolicyParams, got {type(params).__name__}")
    if algo is Algo.SB3_PPO:
        from stable_baselines3 import PPO

        return PPO("MlpPolicy", **_ppo_kwargs(params, algo), **common)
    from sbx import PPO as SBXPPO

    return SBXPPO("MlpPolicy", **_ppo_kwargs(params, algo), **common)
