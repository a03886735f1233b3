"""Process-wide runtime settings for training processes: thread counts and the JAX platform.

Measured on the 2-core CI machines (2026-11-23): SB3 PPO with two torch threads ran 10x slower and
erratically than with one, and two busy processes halve each other.  Training processes therefore
default to one thread for torch, BLAS/OpenMP and XLA.  A user overrides the count with the
``SACBENCH_NUM_THREADS`` environment variable (or ``num_threads=``), and the JAX platform by setting
``JAX_PLATFORMS`` themselves.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

NUM_THREADS_ENV_VAR = "SACBENCH_NUM_THREADS"
DEFAULT_NUM_THREADS = 1

# Variables read by OpenMP / BLAS builds when their thread pools start.  Setting them only helps for
# pools not yet started (and for child processes); threadpoolctl handles the ones already loaded.
_POOL_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


@dataclass(frozen=True)
class ThreadSettings:
    """The thread settings a process ended up with (recorded in every run's provenance)."""

    num_threads: int
    """Threads requested for torch, BLAS/OpenMP and XLA."""
    torch_threads: int | None
    """``torch.get_num_threads()`` after configuration, ``None`` when torch is not importable."""
    jax_platforms: str
    """``JAX_PLATFORMS`` as seen by this process (empty when JAX picks itself)."""
    xla_flags: str
    """``XLA_FLAGS`` as seen by this process."""


def requested_num_threads(num_threads: int | None = None) -> int:
    """Resolve the thread count: the argument, else ``$SACBENCH_NUM_THREADS``, else 1.

    Raises:
        ValueError: If the value is not a positive integer.
    """
    if num_threads is None:
        raw = os.environ.get(NUM_THREADS_ENV_VAR, str(DEFAULT_NUM_THREADS))
        try:
            num_threads = int(raw)
        except ValueError:
            raise ValueError(
                f"{NUM_THREADS_ENV_VAR}={raw!r} is not an integer; expected a positive thread count "
                f"such as 1 (the default). Fix: export {NUM_THREADS_ENV_VAR}=1"
            ) from None
    if num_threads < 1:
        raise ValueError(f"num_threads={num_threads} must be >= 1; use 1 (the measured best on 2-core machines).")
    return num_threads


def _set_xla_flags(num_threads: int) -> None:
    """Ask XLA's CPU backend for ``num_threads`` threads, unless the user set the flags already.

    A request, not a bound: with jax 0.10, XLA still ran RSL-RL-SAC's large updates (batch 4096,
    512-wide layers) on two ``tf_XLAEigen`` threads of this 2-core machine (seen in ``top -H``,
    2026-12-03); small updates (``sac_tuned``'s batch 256) stay near one.  Only CPU affinity bounds
    XLA's pool (jax-ml/jax#1539); it is not set here, as it changes every wall-clock figure and has
    not been measured side by side.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" in flags or "xla_cpu_multi_thread_eigen" in flags:
        return  # the user's choice wins
    extra = f"--xla_cpu_multi_thread_eigen={'false' if num_threads == 1 else 'true'} "
    extra += f"intra_op_parallelism_threads={num_threads}"
    os.environ["XLA_FLAGS"] = f"{flags} {extra}".strip()


def configure_threads(num_threads: int | None = None, *, jax_platform: str = "cpu") -> ThreadSettings:
    """Limit torch, BLAS/OpenMP and XLA to ``num_threads`` threads for this process.

    Call it at the start of a training process, before the first JAX computation: XLA reads its
    flags once, when its backend starts.  Torch and already-loaded BLAS pools are limited at once.

    Args:
        num_threads: Threads per library; ``None`` reads ``$SACBENCH_NUM_THREADS`` (default 1).
        jax_platform: Platform for JAX when the user has not set ``JAX_PLATFORMS`` (``"cpu"`` keeps
            JAX from probing for accelerators; the GPU backend passes ``"cuda"`` or ``""``).

    Returns:
        The settings in effect, for the run's provenance.
    """
    num_threads = requested_num_threads(num_threads)
    for var in _POOL_ENV_VARS:
        os.environ.setdefault(var, str(num_threads))
    if jax_platform:
        os.environ.setdefault("JAX_PLATFORMS", jax_platform)
    _set_xla_flags(num_threads)

    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=num_threads)
    torch_threads: int | None = None
    if "torch" in sys.modules or _importable("torch"):
        import torch

        torch.set_num_threads(num_threads)
        torch_threads = torch.get_num_threads()
    return ThreadSettings(
        num_threads=num_threads,
        torch_threads=torch_threads,
        jax_platforms=os.environ.get("JAX_PLATFORMS", ""),
        xla_flags=os.environ.get("XLA_FLAGS", ""),
    )


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
