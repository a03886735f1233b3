"""Where a number came from: Python, package versions, hardware, git commit.

Collected once per run into its record (`sacbench.records`) and printed by ``sacbench doctor``.
Everything here is read without importing the heavy packages (versions come from the installed
metadata), except the optional CUDA probe.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Distributions whose versions change benchmark numbers; recorded with every run.
TRACKED_PACKAGES = (
    "sacbench",
    "numpy",
    "torch",
    "jax",
    "jaxlib",
    "flax",
    "optax",
    "sbx-rl",
    "stable-baselines3",
    "gymnasium",
    "mujoco",
    "pandas",
    "scipy",
    "arch",
    "rliable",
    "matplotlib",
    "optuna",
    "pytest",
    "pytest-xdist",
    "pytest-benchmark",
    "isaaclab",
    "ray",
)


@dataclass(frozen=True)
class GpuInfo:
    """One CUDA device as ``nvidia-smi`` reports it."""

    name: str
    memory_mib: int
    driver: str


@dataclass(frozen=True)
class Hardware:
    """The machine a run used."""

    cpu_model: str
    num_logical_cpus: int
    num_usable_cpus: int
    memory_gib: float
    gpus: tuple[GpuInfo, ...] = ()


@dataclass(frozen=True)
class GitState:
    """The commit of the working tree, and whether it had uncommitted changes."""

    commit: str | None
    dirty: bool | None


@dataclass(frozen=True)
class Environment:
    """Everything needed to say which software and hardware produced a number."""

    python: str
    platform: str
    packages: dict[str, str | None]
    hardware: Hardware
    git: GitState
    thread_env: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return asdict(self)


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, ``None`` when it is not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    return float("nan")


def nvidia_gpus() -> tuple[GpuInfo, ...]:
    """CUDA devices listed by ``nvidia-smi`` (empty when it is absent or fails)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return ()
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and parts[1].isdigit():
            gpus.append(GpuInfo(name=parts[0], memory_mib=int(parts[1]), driver=parts[2]))
    return tuple(gpus)


def hardware() -> Hardware:
    """CPU model and counts, memory and GPUs of this machine."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 1
    return Hardware(
        cpu_model=_cpu_model(),
        num_logical_cpus=os.cpu_count() or 1,
        num_usable_cpus=usable,
        memory_gib=_memory_gib(),
        gpus=nvidia_gpus(),
    )


def git_state(path: Path | None = None) -> GitState:
    """Commit and dirty flag of the git checkout containing ``path`` (default: this package)."""
    where = path or Path(__file__).resolve().parent
    git = shutil.which("git")
    if git is None:
        return GitState(commit=None, dirty=None)
    try:
        commit = subprocess.run(
            [git, "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            [git, "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return GitState(commit=None, dirty=None)
    return GitState(commit=commit, dirty=bool(status.strip()))


ISA_ENV_VARS = (
    "ATEN_CPU_CAPABILITY",
    "DNNL_MAX_CPU_ISA",
    "MKL_ENABLE_INSTRUCTIONS",
    "OPENBLAS_CORETYPE",
    "NPY_DISABLE_CPU_FEATURES",
)
"""Variables that hold torch, oneDNN, MKL, OpenBLAS or numpy to an instruction set (XLA's is a flag in
``XLA_FLAGS``): the code a seeded run executes, and so its floating-point results, depend on them."""


def collect_environment() -> Environment:
    """Snapshot of the software and hardware of this process."""
    thread_vars = (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "XLA_FLAGS",
        "JAX_PLATFORMS",
        "CUDA_VISIBLE_DEVICES",
        "SACBENCH_NUM_THREADS",
        *ISA_ENV_VARS,
    )
    return Environment(
        python=sys.version.split()[0],
        platform=platform.platform(),
        packages=package_versions(),
        hardware=hardware(),
        git=git_state(),
        thread_env={k: os.environ[k] for k in thread_vars if k in os.environ},
    )
