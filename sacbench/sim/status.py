"""Whether each backend can run here, without starting it (``sacbench doctor``, run checks).

Its own module so that the protocol (`sacbench.sim.protocol`) imports no backend: the backends import
the protocol, and only this module imports the backends.
"""

from __future__ import annotations

from sacbench.sim.isaaclab import isaaclab_status
from sacbench.sim.protocol import Backend, BackendStatus, parse_backend


def _mujoco_status() -> BackendStatus:
    try:
        import mujoco
    except ImportError as exc:  # pragma: no cover - mujoco is a hard dependency
        return BackendStatus(Backend.MUJOCO, False, (f"cannot import mujoco: {exc}; pip install mujoco",))
    return BackendStatus(Backend.MUJOCO, True, detail=f"mujoco {mujoco.__version__} on the CPU")


def backend_status(backend: Backend | str, device: str = "cuda:0") -> BackendStatus:
    """Check whether ``backend`` can run here, without starting it.

    Args:
        backend: ``"mujoco"`` or ``"isaaclab"``.
        device: Isaac Lab's device (``cuda:0`` needs a CUDA GPU, ``cpu`` does not); the mirror ignores it.

    Raises:
        ValueError: If the name is not a backend.
    """
    backend = parse_backend(backend)
    if backend is Backend.MUJOCO:
        return _mujoco_status()
    return isaaclab_status(device)
