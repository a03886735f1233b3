"""Where runs execute: in this process (``local``), in a pool of processes here, or as tasks on a Ray cluster (``ray``).

Both executors take `sacbench.train.RunConfig` objects and give back `RunRecord` objects; records are
written by the caller (the driver), never by the remote tasks, so a task that Ray re-runs after its
node died cannot leave a duplicate or a half-written record.  On Ray each run is one task that asks
for the resources of one run (one GPU on Isaac Lab, ``cpus_per_run`` CPUs otherwise) and is retried
by Ray when its worker or node dies (``max_retries``).
"""

from __future__ import annotations

import concurrent.futures
import enum
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from sacbench.algos import get_preset
from sacbench.records import RunRecord, usable
from sacbench.sim.protocol import Backend
from sacbench.train import RunConfig, on_cpu_device, train


class ExecutorKind(enum.StrEnum):
    """Executors."""

    LOCAL = "local"
    RAY = "ray"


@dataclass(frozen=True)
class Progress:
    """How many runs are queued, running, done and failed.

    ``failed`` counts the runs that gave no usable record (`sacbench.records.usable`): lost beyond
    their retries, crashed or diverged.
    """

    queued: int
    running: int
    done: int
    failed: int

    def line(self) -> str:
        """``ray: 3 queued, 2 running, 5 done, 0 failed``."""
        return f"{self.queued} queued, {self.running} running, {self.done} done, {self.failed} failed"


def train_isolated(config: RunConfig) -> RunRecord:
    """`train` in this process, except on Isaac Lab: there in a fresh (spawned) process per run.

    Isaac Lab allows one simulation context per process, and not every build survives a second env
    after ``close`` (isaac-sim/IsaacLab#3874: it hangs), so a session of several Isaac Lab runs gives
    each its own process.  The record comes back through the process pool (sacbench's own object,
    never a user's file).  The child prints no live progress lines (``on_progress`` stays here).
    """
    if config.backend is not Backend.ISAACLAB:
        return train(config)
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold Isaac Lab or JAX
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(train, replace(config, on_progress=None)).result()


class LocalExecutor:
    """Runs each config when its result is asked for (sequentially; Isaac Lab runs each in a fresh process)."""

    def __init__(self, trainer: Callable[[RunConfig], RunRecord] = train_isolated) -> None:
        self._trainer = trainer
        self._pending: dict[str, RunConfig] = {}
        self._results: dict[str, RunRecord] = {}

    def submit(self, key: str, config: RunConfig) -> None:
        """Queue ``config`` under ``key``."""
        self._pending[key] = config

    def result(self, key: str) -> RunRecord:
        """Train (now) and return the record of ``key``."""
        if key not in self._results:
            self._results[key] = self._trainer(self._pending.pop(key))
        return self._results[key]

    def progress(self) -> Progress:
        """Counts of the runs submitted to this executor."""
        failed = sum(not usable(r) for r in self._results.values())
        return Progress(len(self._pending), 0, len(self._results) - failed, failed)

    def shutdown(self) -> None:
        """Nothing to release."""


class PoolExecutor:
    """Runs up to ``workers`` configs at once, each in a fresh spawned process of its own.

    For runs the pytest controller trains itself after an xdist session (the nightly's confirmation
    runs): each run claims a free core in its process (`sacbench.runtime.one_core`), so ``workers``
    runs train side by side on their own cores, as xdist's workers did.  A process serves one run
    (``maxtasksperchild=1``: one Isaac Lab env per process, as in `train_isolated`).  The preset is
    resolved here, so a child trains the preset this process sees (a conftest may have changed it).
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers={workers} must be >= 1")
        self.workers = workers
        context = multiprocessing.get_context("spawn")  # no fork of a process that may hold Isaac Lab or JAX
        self._pool = context.Pool(processes=workers, maxtasksperchild=1)
        self._results: dict[str, Any] = {}
        self._records: dict[str, RunRecord] = {}

    def submit(self, key: str, config: RunConfig) -> None:
        """Start ``config`` in the next free process."""
        config = replace(config, preset=get_preset(config.preset), on_progress=None)
        self._results[key] = self._pool.apply_async(train, (config,))

    def result(self, key: str) -> RunRecord:
        """Wait for the record of ``key`` (a run's own failure comes back as its record's status)."""
        if key not in self._records:
            self._records[key] = self._results[key].get()
        return self._records[key]

    def progress(self) -> Progress:
        """Queued and running together (the pool does not say which), done and failed."""
        finished = {key for key, result in self._results.items() if result.ready()}
        failed = sum(not usable(r) for key, r in self._records.items() if key in finished)
        return Progress(len(self._results) - len(finished), 0, len(finished) - failed, failed)

    def shutdown(self) -> None:
        """Stop the processes; a run still training is killed (its record was never written)."""
        self._pool.terminate()
        self._pool.join()


def _train_task(config: RunConfig) -> RunRecord:
    """Body of a Ray task: one run; the record goes back to the driver, which writes it."""
    return train(config)


@dataclass
class RayExecutor:
    """Submits runs to a Ray cluster as tasks and collects their records.

    Args:
        address: Cluster address (``"auto"``, ``"ray://host:10001"``, ``"127.0.0.1:6379"``); ``None``
            starts a local cluster in this process.
        cpus_per_run: CPUs a run asks for (the machines are measured with one busy thread per run).
        max_retries: Re-runs of a task whose worker or node died.
        init_kwargs: Further ``ray.init`` arguments.
    """

    address: str | None = None
    cpus_per_run: float = 1.0
    max_retries: int = 3
    init_kwargs: dict[str, Any] = field(default_factory=dict)
    _refs: dict[str, Any] = field(default_factory=dict)
    _failed: set[str] = field(default_factory=set)
    _done: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        import ray

        if not ray.is_initialized():
            kwargs = {"include_dashboard": False, "log_to_driver": False, **self.init_kwargs}
            ray.init(address=self.address, **kwargs)
        self._ray = ray

    def submit(self, key: str, config: RunConfig) -> None:
        """Start ``config`` as a Ray task (one GPU on Isaac Lab's GPU, ``cpus_per_run`` CPUs otherwise).

        An Isaac Lab task's worker exits after its run (``max_calls=1``): one env per process, as in
        `train_isolated`.
        """
        isaaclab = config.backend is Backend.ISAACLAB
        gpus = 1.0 if isaaclab and not on_cpu_device(config) else 0.0
        remote = self._ray.remote(
            num_cpus=self.cpus_per_run, num_gpus=gpus, max_retries=self.max_retries, max_calls=1 if isaaclab else 0
        )(_train_task)
        self._refs[key] = remote.options(name=f"sacbench:{key}").remote(config)

    def result(self, key: str) -> RunRecord:
        """Wait for the record of ``key``.

        Raises:
            ray.exceptions.RayError: If the task failed more often than ``max_retries`` allows.
        """
        try:
            record: RunRecord = self._ray.get(self._refs[key])
        except self._ray.exceptions.RayError:
            self._failed.add(key)
            raise
        self._done.add(key)
        if not usable(record):
            self._failed.add(key)
        return record

    def progress(self) -> Progress:
        """Queued / running / done / failed, from Ray's task states when its state API answers."""
        refs = list(self._refs.values())
        ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0, fetch_local=False) if refs else ([], [])
        finished = {key for key, ref in self._refs.items() if ref in ready}
        failed = len(self._failed)
        done = len(finished) - failed
        pending = len(self._refs) - len(finished)
        running = self._running_tasks()
        running = pending if running is None else min(running, pending)
        return Progress(pending - running, running, done, failed)

    def _running_tasks(self) -> int | None:
        try:
            from ray.util.state import list_tasks

            tasks = list_tasks(filters=[("state", "=", "RUNNING")], raise_on_missing_output=False, timeout=5)
        except Exception:  # the state API needs the dashboard agent; without it, report pending runs only
            return None
        return sum(1 for t in tasks if str(getattr(t, "name", "")).startswith("sacbench:"))

    def shutdown(self) -> None:
        """Disconnect from the cluster (a cluster this process started stops with it)."""
        self._ray.shutdown()


Executor = LocalExecutor | PoolExecutor | RayExecutor


def make_executor(kind: ExecutorKind | str, address: str | None = None, **kwargs: Any) -> Executor:
    """A local or Ray executor.

    Raises:
        ValueError: For an unknown kind, naming the valid ones.
        ImportError: For ``ray`` when Ray is not installed, with the fix.
    """
    try:
        kind = ExecutorKind(kind)
    except ValueError:
        raise ValueError(
            f"unknown executor {kind!r}; expected one of: {', '.join(k.value for k in ExecutorKind)}"
        ) from None
    if kind is ExecutorKind.LOCAL:
        return LocalExecutor()
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ImportError('the ray executor needs Ray: pip install "sacbench[ray]"') from None
    return RayExecutor(address=address, **kwargs)


def run_all(
    executor: Executor, configs: Iterable[tuple[str, RunConfig]]
) -> Iterator[tuple[str, RunRecord | Exception, Progress]]:
    """Submit every config first (so a cluster runs them in parallel), then collect in order.

    Yields:
        ``(key, record or the exception of a run lost beyond its retries, progress)``.
    """
    configs = list(configs)
    for key, config in configs:
        executor.submit(key, config)
    for key, _ in configs:
        try:
            outcome: RunRecord | Exception = executor.result(key)
        except Exception as exc:  # a run lost beyond its retries: reported, the others go on
            outcome = exc
        yield key, outcome, executor.progress()
