"""SBX actors and optimizers that SBX does not ship: a small initial noise, clipped gradients.

SBX's ``SquashedGaussianActor`` (SAC and TQC) draws its mean and log-std heads with flax's default
initialisation, so its initial standard deviation varies by state around 1 (before tanh), and SBX's
``log_std_init`` policy argument is accepted but never used.  RSL-RL-SAC (leggedrobotics/rsl_rl_sac,
``models/sac_mlp_model.py``, ``SACActorModel``) starts the log-std head with zero weights and a
constant bias, ``log(init_noise_std)``, and the mean head with weights of standard deviation 1e-3:
every state starts with the same small noise around a near-zero mean.  `SmallInitStdActor` does
that with SBX's layer order (hence SBX's parameter tree), passed as the policy's ``actor_class``.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax.numpy as jnp
import optax
from sbx.common.distributions import TanhTransformedDistribution, tfd
from sbx.common.policies import Flatten, SquashedGaussianActor

MEAN_INIT_STD = 1e-3
"""Standard deviation of the mean head's initial weights (RSL-RL-SAC's ``normal_(w, 0, 1e-3)``)."""
RSL_RL_SAC_INIT_STD = 0.15
"""RSL-RL-SAC's ``init_noise_std`` in every locomotion config."""


class SmallInitStdActor(SquashedGaussianActor):
    """SBX's squashed Gaussian actor whose noise starts at ``exp(log_std_init)`` in every state."""

    log_std_init: float = math.log(RSL_RL_SAC_INIT_STD)

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> Any:
        """The action distribution for observations ``x`` of shape ``(batch, obs_dim)``."""
        x = Flatten()(x)
        for n_units in self.net_arch:
            x = self.activation_fn(nn.Dense(n_units)(x))
        mean = nn.Dense(self.action_dim, kernel_init=nn.initializers.normal(MEAN_INIT_STD))(x)
        log_std = nn.Dense(
            self.action_dim,
            kernel_init=nn.initializers.zeros,
            bias_init=nn.initializers.constant(self.log_std_init),
        )(x)
        log_std = jnp.clip(log_std, self.log_std_min, self.log_std_max)
        return TanhTransformedDistribution(tfd.MultivariateNormalDiag(loc=mean, scale_diag=jnp.exp(log_std)))


# SBX builds each optimizer as ``optax.inject_hyperparams(optimizer_class)(learning_rate=...,
# **optimizer_kwargs)``: a factory with named numeric arguments keeps every one of them (the
# learning rate the schedules set, the clipping norm) readable in the optimizer's state.


def clipped_adam(learning_rate: float, max_grad_norm: float) -> optax.GradientTransformation:
    """Adam after clipping the gradients' global norm."""
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adam(learning_rate))


def clipped_adamw(
    learning_rate: float, max_grad_norm: float, weight_decay: float = 1e-4
) -> optax.GradientTransformation:
    """AdamW after clipping the gradients' global norm (optax's default weight decay)."""
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adamw(learning_rate, weight_decay=weight_decay))
