"""Simulation backends behind one small protocol (see `sacbench.sim.protocol`).

- ``mujoco``: the embedded CPU backend, native MuJoCo, always installed.
- ``isaaclab``: Isaac Lab 3.0 on CUDA or on the CPU (optional extra, Python 3.12).

`sacbench.sim.status.backend_status` says whether each can run here.
"""

from __future__ import annotations

from sacbench.sim.protocol import Backend, BackendStatus, BatchedEnv

__all__ = ["Backend", "BackendStatus", "BatchedEnv"]
