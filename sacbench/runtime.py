"""Process-wide runtime settings for training processes: one core, thread counts, the JAX platform.

Measured on the 2-core CI machines (2026-11-23): SB3 PPO with two torch threads ran 10x slower and
erratically than with one, and two busy processes halve each other.  Training processes therefore
default to one thread for torch, BLAS/OpenMP and XLA.  A user overrides the count with the
``SACBENCH_NUM_THREADS`` environment variable (or ``num_threads=``), and the JAX platform by setting
``JAX_PLATFORMS`` themselves.

Thread counts are requests that XLA's Eigen pool does not honour: unpinned SBX SAC runs used 1.05-1.55
CPU-seconds per second (133 committed records) while PPO used 1.00, so every wall-clock SAC-vs-PPO
figure gave SAC about 30 % more CPU.  `one_core` bounds every thread of a training process to
one core for the run, claimed through a lock file so that xdist workers, Ray tasks and separate shells
on one machine each get their own (``SACBENCH_PIN=off`` turns it off; the record says which).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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


PIN_ENV_VAR = "SACBENCH_PIN"
"""``on`` (the default): each training process claims one core; ``off``: the OS schedules it."""
CORE_LOCK_DIR_ENV_VAR = "SACBENCH_CORE_LOCKS"
"""Folder of the per-core lock files (default ``<tmp>/sacbench-cores``); one per machine."""


@dataclass(frozen=True)
class CpuPinning:
    """Which cores a training process's threads may run on (recorded in every run's provenance)."""

    cores: tuple[int, ...]
    """The cores every thread of the run may use (the claimed one when pinned)."""
    allowed: tuple[int, ...]
    """The process's affinity before the run (what it may use apart from pinning)."""
    pinned: bool
    """Whether every thread is bound to the one core this process claimed."""
    reason: str
    """``claimed core 1 of 0-1`` or why it is not pinned (``SACBENCH_PIN=off``, no affinity API)."""


def pinning_requested() -> bool:
    """Whether ``$SACBENCH_PIN`` asks for pinning (``on``, the default, or ``off``).

    Raises:
        ValueError: For any other value, naming it and the fix.
    """
    raw = os.environ.get(PIN_ENV_VAR, "on").strip().lower()
    if raw not in ("on", "off"):
        raise ValueError(f"{PIN_ENV_VAR}={raw!r}: expected 'on' (one core per run, the default) or 'off'")
    return raw == "on"


def core_lock_dir() -> Path:
    """``$SACBENCH_CORE_LOCKS`` or ``<tmp>/sacbench-cores`` (created)."""
    path = Path(os.environ.get(CORE_LOCK_DIR_ENV_VAR) or Path(tempfile.gettempdir()) / "sacbench-cores")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _try_lock(core: int, lock_dir: Path) -> int | None:
    """The descriptor of ``core``'s lock file if this process could lock it, else ``None``."""
    fd = os.open(lock_dir / f"core-{core}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def claim_core(
    candidates: tuple[int, ...], lock_dir: Path, *, poll_s: float = 0.5, on_wait: Callable[[str], None] | None = None
) -> tuple[int, int]:
    """Claim the first free core of ``candidates``, waiting while all are taken.

    A core is claimed by an exclusive ``flock`` on ``<lock_dir>/core-<n>.lock``; closing the
    returned descriptor releases it, and so does the OS when the process ends (even on SIGKILL), so
    no claim outlives its run.  Waiting, rather than doubling up, is the point: two busy runs on one
    core would halve each other's budgets.

    Args:
        candidates: The cores the process may use (its affinity), in order of preference.
        lock_dir: The machine's lock folder (`core_lock_dir`).
        poll_s: Seconds between tries while every core is taken.
        on_wait: Told once, with a line naming the cores, when the process starts waiting.

    Returns:
        ``(core, lock descriptor)``.
    """
    told = False
    while True:
        for core in candidates:
            fd = _try_lock(core, lock_dir)
            if fd is not None:
                return core, fd
        if not told and on_wait is not None:
            on_wait(f"sacbench: cores {_ranges(candidates)} are each training a run; waiting for one to finish")
            told = True
        time.sleep(poll_s)


def _bind_threads(cores: set[int]) -> None:
    """Bind every thread of this process to ``cores`` (threads started later inherit it).

    ``sched_setaffinity(0, ...)`` binds only the calling thread on Linux, so each thread of
    ``/proc/self/task`` is bound by its id: XLA's Eigen pool and torch's pool may already run.
    """
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(task.name), cores)


@contextlib.contextmanager
def one_core(on_wait: Callable[[str], None] | None = None) -> Iterator[CpuPinning]:
    """Run the block with every thread of this process bound to one claimed core.

    `sacbench.train.train` runs inside it.  The claim and the binding last for the block only: the
    process's threads get their affinity back after it, so a process that trains and then starts
    another training process (a test calling the CLI, the plugin's Isaac Lab child) never waits on
    itself.

    Args:
        on_wait: Told when every core is busy with another sacbench run and this one waits.

    Yields:
        The affinity in effect, for the run's provenance.
    """
    if not hasattr(os, "sched_setaffinity") or not Path("/proc/self/task").is_dir():
        yield CpuPinning((), (), False, "not pinned: this OS has no per-thread CPU affinity")
        return
    allowed = os.sched_getaffinity(0)
    cores = tuple(sorted(allowed))
    if not pinning_requested():
        yield CpuPinning(cores, cores, False, f"not pinned: {PIN_ENV_VAR}=off")
        return
    core, fd = claim_core(cores, core_lock_dir(), on_wait=on_wait)
    try:
        _bind_threads({core})
        yield CpuPinning((core,), cores, True, f"claimed core {core} of {_ranges(cores)}")
    finally:
        _bind_threads(allowed)
        os.close(fd)


def _ranges(cores: tuple[int, ...]) -> str:
    """``0-3,6`` for ``(0, 1, 2, 3, 6)``."""
    parts: list[list[int]] = []
    for core in cores:
        if parts and core == parts[-1][-1] + 1:
            parts[-1].append(core)
        else:
            parts.append([core])
    return ",".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in parts)
