"""Build the SBX / SB3 agent of a preset on a VecEnv."""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from sacbench.algos.presets import Activation, Algo, AlgoParams, OffPolicyParams, OnPolicyParams, Optimizer


def _flax_activation(activation: Activation) -> Any:
    import flax.linen as nn

    return {Activation.RELU: nn.relu, Activation.ELU: nn.elu, Activation.TANH: nn.tanh}[activation]


def _torch_activation(activation: Activation) -> Any:
    from torch import nn

    return {Activation.RELU: nn.ReLU, Activation.ELU: nn.ELU, Activation.TANH: nn.Tanh}[activation]


def _off_policy_kwargs(p: OffPolicyParams) -> dict[str, Any]:
    import optax

    optimizer = {Optimizer.ADAM: optax.adam, Optimizer.ADAMW: optax.adamw}[p.optimizer]
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
        "policy_kwargs": {
            "net_arch": list(p.net_arch),
            "activation_fn": _flax_activation(p.activation),
            "layer_norm": p.layer_norm,
            "optimizer_class": optimizer,
        },
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
        kwargs = _off_policy_kwargs(params)
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
