"""The Ray executor on a real local Ray cluster (loopback only), against the local executor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sacbench.executor import LocalExecutor, PoolExecutor, Progress, RayExecutor, make_executor, run_all
from sacbench.records import RunRecord, load_runs
from sacbench.sim.protocol import Backend
from sacbench.train import Budget, RunConfig

ray = pytest.importorskip("ray", reason='the Ray executor needs pip install "sacbench[ray]"')
psutil = pytest.importorskip("psutil")

TINY_PPO = {"num_envs": 8, "net_arch": (32, 32), "n_steps": 16, "n_minibatches": 2, "n_epochs": 2}
TIMING = {"time_s", "env_fps", "grad_steps_per_s"}


def _config(seed: int, budget: Budget | None = None) -> RunConfig:
    return RunConfig(
        task="a1-flat", preset="ppo_sb3", seed=seed, budget=budget or Budget(600, max_env_steps=8 * 40),
        overrides=TINY_PPO, eval_episodes=2, curve_every_steps=80,
    )  # fmt: skip


def _comparable(record: RunRecord) -> Any:
    curves = [{k: v for k, v in row.items() if k not in TIMING} for row in record.curves]
    final = {k: v for k, v in record.final.items() if k not in ("train/env_fps", "train/grad_steps_per_s")}
    return record.run_id, record.status, curves, final, record.hyperparameters, record.bounds


@pytest.fixture(scope="module")
def local_cluster() -> Any:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield
    ray.shutdown()


def test_ray_gives_the_same_records_as_local(local_cluster: Any) -> None:
    configs = [(f"a1-flat__ppo_sb3__s{seed}", _config(seed)) for seed in (0, 1)]
    local = {key: outcome for key, outcome, _ in run_all(LocalExecutor(), configs)}
    executor = RayExecutor()
    remote = {}
    for key, outcome, progress in run_all(executor, configs):
        remote[key] = outcome
        assert progress.queued + progress.running + progress.done + progress.failed == 2
    assert progress.done == 2 and progress.failed == 0
    for key, here in local.items():
        there = remote[key]
        assert isinstance(here, RunRecord) and isinstance(there, RunRecord)
        assert _comparable(there) == _comparable(here)
        assert there.provenance["packages"] == here.provenance["packages"]


def test_a_process_pool_gives_the_same_records_as_local() -> None:
    """Two runs at once, each in a spawned process of its own (the confirmation runs of an xdist night)."""
    configs = [(f"a1-flat__ppo_sb3__s{seed}", _config(seed)) for seed in (0, 1)]
    local = {key: outcome for key, outcome, _ in run_all(LocalExecutor(), configs)}
    executor = PoolExecutor(2)
    try:
        pooled = {key: outcome for key, outcome, _ in run_all(executor, configs)}
        assert executor.progress() == Progress(0, 0, 2, 0)
    finally:
        executor.shutdown()
    for key, here in local.items():
        there = pooled[key]
        assert isinstance(here, RunRecord) and isinstance(there, RunRecord)
        assert _comparable(there) == _comparable(here)


def test_unknown_executor_is_named() -> None:
    with pytest.raises(ValueError, match="unknown executor 'dask'; expected one of: local, ray"):
        make_executor("dask")


def _worker_running(name: str) -> Any:
    """The Ray worker process whose title is the running task ``ray::<name>``."""
    for proc in psutil.process_iter(["cmdline"]):
        if any(name in part for part in proc.info["cmdline"] or []):
            return proc
    return None


def test_killed_worker_is_retried_and_each_run_has_one_record(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    cmd = [
        sys.executable, "-m", "sacbench.cli", "run", "--task", "a1-flat", "--preset", "ppo_sb3", "--seed", "0", "1",
        "--budget", "8s", "--eval-episodes", "2", "--executor", "ray", "--out", str(out),
        "--set", "num_envs=8", "--set", "net_arch=[32,32]", "--set", "n_steps=16", "--set", "n_minibatches=2",
    ]  # fmt: skip
    env = dict(os.environ, RAY_NODE_IP_ADDRESS="127.0.0.1", PYTHONUNBUFFERED="1")
    driver = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        time.sleep(0.5)
        victim = _worker_running("sacbench:a1-flat__ppo_sb3__s1")
    assert victim is not None, "the run never started on the cluster"
    time.sleep(3)  # mid-run
    os.kill(victim.pid, signal.SIGKILL)
    output, _ = driver.communicate(timeout=300)
    assert driver.returncode == 0, output
    records = load_runs(out)
    assert [r.run_id for r in records] == ["a1-flat__ppo_sb3__s0", "a1-flat__ppo_sb3__s1"]  # one each
    assert all(r.status.value == "ok" for r in records)
    assert sorted(p.name for p in out.iterdir()) == ["a1-flat__ppo_sb3__s0.json", "a1-flat__ppo_sb3__s1.json"]
    assert "2 done, 0 failed" in output


def test_isaaclab_runs_get_a_fresh_process_each_and_mirror_runs_stay_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Isaac Lab allows one simulation per process: each of its runs is trained in a spawned child."""
    from sacbench import executor as executor_module
    from sacbench.executor import train_isolated

    trained_in: list[int] = []
    monkeypatch.setattr(executor_module, "train", lambda config: trained_in.append(os.getpid()) or "record")
    mirror = RunConfig("a1-flat", "ppo_sb3", 0, Budget(1))
    assert train_isolated(mirror) == "record" and trained_in == [os.getpid()]

    made: list[str] = []

    class Pool:
        """Stands in for the spawned pool: records that one was made per run, with the spawn context."""

        def __init__(self, max_workers: int, mp_context: object) -> None:
            made.append(mp_context.get_start_method())  # type: ignore[attr-defined]

        def __enter__(self) -> Pool:
            return self

        def __exit__(self, *args: object) -> None:
            return None

        def submit(self, fn: Any, config: RunConfig) -> Any:
            assert config.on_progress is None  # a callback cannot cross into the child
            return SimpleNamespace(result=lambda: ("child", config.seed))

    monkeypatch.setattr(executor_module.concurrent.futures, "ProcessPoolExecutor", Pool)
    isaac = RunConfig("a1-flat", "ppo_sb3", 0, Budget(1), backend=Backend.ISAACLAB, on_progress=print)
    assert [train_isolated(replace(isaac, seed=s)) for s in (0, 1)] == [("child", 0), ("child", 1)]
    assert made == ["spawn", "spawn"] and trained_in == [os.getpid()]


def test_ray_gives_isaac_lab_runs_a_worker_each_and_a_gpu_only_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """What sacbench asks Ray for: ``max_calls=1`` (one env per process) and a GPU unless on the CPU device."""
    asked: list[dict[str, Any]] = []

    def remote(**kwargs: Any) -> Any:
        asked.append(kwargs)
        task = SimpleNamespace(remote=lambda config: None)
        return lambda fn: SimpleNamespace(options=lambda **o: task)

    fake = SimpleNamespace(is_initialized=lambda: True, remote=remote)
    monkeypatch.setitem(sys.modules, "ray", fake)
    executor = RayExecutor()
    mirror = RunConfig("a1-flat", "ppo_sb3", 0, Budget(1))
    gpu = replace(mirror, backend=Backend.ISAACLAB)
    cpu = replace(gpu, backend_options={"device": "cpu"})
    for key, config in (("mirror", mirror), ("gpu", gpu), ("cpu", cpu)):
        executor.submit(key, config)
    assert [(a["num_gpus"], a["max_calls"]) for a in asked] == [(0.0, 0), (1.0, 1), (0.0, 1)]
