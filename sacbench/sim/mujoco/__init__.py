"""The embedded CPU backend: Isaac Lab's velocity task mirrored on native MuJoCo."""

from __future__ import annotations

from sacbench.sim.mujoco.env import MujocoVelocityEnv

__all__ = ["MujocoVelocityEnv"]
