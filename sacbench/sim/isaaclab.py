"""The GPU backend: Isaac Lab on CUDA.

Importing this module never imports Isaac Lab; it is loaded only when the backend is started.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys

from sacbench.sim.protocol import Backend, BackendStatus, BatchedEnv

ISAACLAB_PYTHON = ((3, 12), (3, 13))
"""Isaac Lab 3.0 supports Python >= 3.12 and < 3.13."""

INSTALL_HINT = (
    'pip install "sacbench[isaaclab]" on Python 3.12 with an NVIDIA driver (see README: GPU set-up)'
)


def _cuda_reason() -> str | None:
    """Why CUDA is not usable through torch, or ``None`` when it is."""
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    import torch

    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU-only build (torch.version.cuda is None)"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no CUDA device"
    return None


def isaaclab_status() -> BackendStatus:
    """Whether Isaac Lab can run here; every missing prerequisite is listed, with its fix."""
    reasons: list[str] = []
    (low, high) = ISAACLAB_PYTHON
    here = sys.version_info[:2]
    if not low <= here < high:
        reasons.append(
            f"Python {here[0]}.{here[1]} is running; Isaac Lab 3.0 needs Python >= 3.12 and < 3.13"
        )
    try:
        version = importlib.metadata.version("isaaclab")
    except importlib.metadata.PackageNotFoundError:
        version = None
        reasons.append("the isaaclab package is not installed")
    cuda = _cuda_reason()
    if cuda is not None:
        reasons.append(f"no CUDA GPU: {cuda}")
    if reasons:
        reasons.append(f"fix: {INSTALL_HINT}")
        return BackendStatus(Backend.ISAACLAB, False, tuple(reasons))
    import torch

    device = torch.cuda.get_device_name(0)
    return BackendStatus(Backend.ISAACLAB, True, detail=f"isaaclab {version} on {device}")


def make_isaaclab_env(task: object, num_envs: int, seed: int = 0, **kwargs: object) -> BatchedEnv:
    """Start Isaac Lab and build ``task`` (the GPU backend).

    Raises:
        RuntimeError: If Isaac Lab cannot run here; the message lists every missing prerequisite.
    """
    status = isaaclab_status()
    if not status.usable:
        raise RuntimeError("the Isaac Lab backend is not usable here:\n  - " + "\n  - ".join(status.reasons))
    raise NotImplementedError("the Isaac Lab adapter is not implemented yet")  # pragma: no cover
