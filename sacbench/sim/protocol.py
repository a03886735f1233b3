"""The backend protocol: Isaac Lab's vectorized-env surface, which both backends expose.

A batched env steps ``num_envs`` robots at once:

- ``reset(seed) -> (obs, extras)``;
- ``step(actions) -> (obs, reward, terminated, truncated, extras)``, auto-resetting finished envs;
- ``action_space``: the task's *own* space for one env (``Box(-100, 100, (12,))`` like Isaac Lab
  2.x's SB3 wrapper); the action-bound modes of `sacbench.bounds` are applied on top of it;
- ``extras["log"]``: scalars logged at resets (``curriculum/terrain_level``,
  ``episode_reward/<term>``, ``episode_termination/<term>``), and ``extras["final_obs"]``: the
  observation each env had when its episode ended, shape ``(num_envs, obs_dim)``, valid on the rows
  where ``terminated | truncated``.

Batches are numpy on the CPU backend and torch on Isaac Lab; the VecEnv adapter converts once.
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from gymnasium import spaces


class Backend(enum.StrEnum):
    """Simulation backends."""

    MUJOCO = "mujoco"
    """The embedded CPU backend: native MuJoCo, numpy batches."""
    ISAACLAB = "isaaclab"
    """Isaac Lab 3.0 on a CUDA GPU or on the CPU (Newton MJWarp), torch batches."""


def parse_backend(name: Backend | str) -> Backend:
    """A backend by name.

    Raises:
        ValueError: If the name is not a backend, listing the backends.
    """
    try:
        return Backend(name)
    except ValueError:
        valid = ", ".join(b.value for b in Backend)
        raise ValueError(f"unknown backend {name!r}; expected one of: {valid}") from None


@runtime_checkable
class BatchedEnv(Protocol):
    """What a backend's env offers (Isaac Lab's ``ManagerBasedRLEnv`` surface, flattened)."""

    num_envs: int
    action_space: spaces.Box
    observation_space: spaces.Box
    joint_names: tuple[str, ...]
    """The joint each action dimension drives (Isaac Lab 3.0: the physics engine's order)."""

    def reset(self, seed: int | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset every env; returns ``obs`` of shape ``(num_envs, obs_dim)`` and extras."""
        ...

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Apply ``actions`` of shape ``(num_envs, act_dim)`` in the task's own action units.

        Returns:
            ``(obs, reward, terminated, truncated, extras)`` with shapes ``(num_envs, obs_dim)``,
            ``(num_envs,)`` (float) and ``(num_envs,)`` (bool) twice.
        """
        ...

    def close(self) -> None:
        """Release the simulator."""
        ...


@dataclass(frozen=True)
class BackendStatus:
    """Whether a backend can run in this process, and if not, why and what to do."""

    backend: Backend
    usable: bool
    reasons: tuple[str, ...] = ()
    """Why it is not usable, one fact per line (empty when usable)."""
    detail: str = ""
    """Version or device information when usable."""


def as_numpy(x: Any) -> np.ndarray:
    """Convert a torch tensor (any device) or array-like to a numpy array, without copying numpy."""
    if isinstance(x, np.ndarray):
        return x
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)
