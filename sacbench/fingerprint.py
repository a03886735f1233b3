"""Learning fingerprints: what an agent had learned at fixed env-step checkpoints, as short hashes.

On one machine, with one package set and one thread setting, a seeded mirror run is deterministic
up to where its wall-clock budget stops it: a faster run only goes further along the same path.
So every run records, at the same env-step checkpoints on every machine (`checkpoint_interval`),
a hash of the policy's parameters and of the critic's, with the training return over a fixed
window of the latest episodes.  Two runs of one seed that agree at a checkpoint learned the same
thing up to it, bit for bit; the first checkpoint where they differ says when a change altered
learning.  `sacbench.compare` turns these into "learning identical" or "diverged from checkpoint k".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CHECKPOINT_MIN_STEPS = 2**14
"""Checkpoints come at least this many env steps apart (all envs counted)."""
CHECKPOINT_MIN_VECTOR_STEPS = 256
"""...and at least this many vector steps apart, so a GPU run of 4,096 envs keeps a few dozen rows."""
CHECKPOINT_WINDOW = 100
"""A checkpoint's training return is the mean over at most this many of the latest finished episodes."""
DIGEST_CHARS = 16
"""Hex characters kept of each BLAKE2b digest (64 bits: a chance collision is not a concern)."""


def checkpoint_interval(num_envs: int) -> int:
    """Env steps between checkpoints (16,384 for 64 envs, 1,048,576 for 4,096).

    `CHECKPOINT_MIN_STEPS`, or `CHECKPOINT_MIN_VECTOR_STEPS` vector steps when that is more, rounded
    up to a power of two.  It depends on the run's number of envs only, so it is the same on every machine.
    """
    if num_envs < 1:
        raise ValueError(f"num_envs={num_envs} must be >= 1")
    steps = max(CHECKPOINT_MIN_STEPS, CHECKPOINT_MIN_VECTOR_STEPS * num_envs)
    return 1 << (steps - 1).bit_length()


def digest(arrays: Iterable[np.ndarray]) -> str:
    """A BLAKE2b hash of the arrays' dtypes, shapes and bytes, in order (`DIGEST_CHARS` hex characters)."""
    h = hashlib.blake2b(digest_size=16)
    for raw in arrays:
        array = np.ascontiguousarray(raw)
        h.update(f"{array.dtype.str}{array.shape}".encode())
        h.update(array.tobytes())
    return h.hexdigest()[:DIGEST_CHARS]


def _jax_leaves(tree: Any) -> list[np.ndarray]:
    import jax

    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(tree)]


def _torch_arrays(state: dict[str, Any]) -> list[np.ndarray]:
    return [value.detach().cpu().numpy() for _, value in sorted(state.items())]


def agent_fingerprints(model: Any, obs_stats: Sequence[np.ndarray] = ()) -> dict[str, str]:
    """``{"policy": ..., "critic": ...}``: hashes of what the agent has learned so far.

    - SBX (SAC, TQC, PPO): ``policy`` hashes the actor's parameters; ``critic`` the Q- or value
      networks' parameters and, where learned, the entropy coefficient's.
    - SB3 PPO: one network module holds actor and critic; ``policy`` hashes the actor's part
      (``mlp_extractor.policy_net``, ``action_net``, ``log_std``) and ``critic`` the rest.

    Args:
        model: The SBX or SB3 agent.
        obs_stats: Arrays of the observation normaliser (running mean, variance), hashed into
            ``policy``: they are part of what the policy computes.
    """
    policy = model.policy
    if hasattr(policy, "actor_state"):  # SBX: flax states on the policy module
        actor = _jax_leaves(policy.actor_state.params)
        critic = [
            *_jax_leaves(getattr(getattr(policy, "qf_state", None), "params", None)),
            *_jax_leaves(getattr(getattr(policy, "vf_state", None), "params", None)),
            *_jax_leaves(getattr(getattr(model, "ent_coef_state", None), "params", None)),
        ]
    else:  # SB3: torch parameters, split by the module they belong to
        state = policy.state_dict()
        actor_keys = {k for k in state if k.startswith(("mlp_extractor.policy_net", "action_net", "log_std"))}
        actor = _torch_arrays({k: v for k, v in state.items() if k in actor_keys})
        critic = _torch_arrays({k: v for k, v in state.items() if k not in actor_keys})
    return {"policy": digest([*actor, *obs_stats]), "critic": digest(critic)}


@dataclass(frozen=True)
class Divergence:
    """Where two runs of one seed first disagree."""

    checkpoint: int
    """Index of the first differing checkpoint (0 is the first)."""
    env_steps: int
    parts: tuple[str, ...]
    """Which fingerprints differ there (``policy``, ``critic``)."""


def first_divergence(ours: Sequence[dict[str, Any]], theirs: Sequence[dict[str, Any]]) -> tuple[int, Divergence | None]:
    """Compare two runs' checkpoints row by row up to the shorter.

    Args:
        ours: Checkpoint rows (``env_steps``, ``fingerprint``), in order.
        theirs: The other run's.

    Returns:
        ``(env steps of the last agreeing checkpoint or 0, the first divergence or None)``.  Rows at
        different env steps (another number of envs) diverge at the first such row.
    """
    agreed = 0
    for index, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        fa, fb = a.get("fingerprint") or {}, b.get("fingerprint") or {}
        parts = tuple(sorted(k for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k)))
        if a["env_steps"] != b["env_steps"] or parts:
            return agreed, Divergence(index, int(a["env_steps"]), parts or ("env_steps",))
        agreed = int(a["env_steps"])
    return agreed, None
