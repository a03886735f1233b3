"""Simulation backends behind one small protocol (see `sacbench.sim.protocol`).

- ``mujoco``: the embedded CPU backend, native MuJoCo, always installed.
- ``isaaclab``: the GPU backend, Isaac Lab on CUDA (optional extra, Python 3.12).
"""

from __future__ import annotations

from sacbench.sim.protocol import Backend, BackendStatus, BatchedEnv, backend_status

__all__ = ["Backend", "BackendStatus", "BatchedEnv", "backend_status"]
