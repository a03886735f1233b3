"""Thread defaults for training processes (sacbench.runtime)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sacbench.runtime import (
    CORE_LOCK_DIR_ENV_VAR,
    NUM_THREADS_ENV_VAR,
    PIN_ENV_VAR,
    _try_lock,
    claim_core,
    one_core,
    requested_num_threads,
)


def test_default_is_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(NUM_THREADS_ENV_VAR, raising=False)
    assert requested_num_threads() == 1


def test_env_var_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NUM_THREADS_ENV_VAR, "3")
    assert requested_num_threads() == 3
    assert requested_num_threads(2) == 2  # an explicit argument wins


@pytest.mark.parametrize("raw", ["two", "1.5", ""])
def test_bad_env_var_names_value_and_fix(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(NUM_THREADS_ENV_VAR, raw)
    with pytest.raises(ValueError, match=rf"{NUM_THREADS_ENV_VAR}=.*export {NUM_THREADS_ENV_VAR}=1"):
        requested_num_threads()


def test_zero_threads_rejected() -> None:
    with pytest.raises(ValueError, match="num_threads=0 must be >= 1"):
        requested_num_threads(0)


def _run_fresh(code: str, env_extra: dict[str, str]) -> str:
    """Run ``code`` in a fresh interpreter (thread settings are process-wide)."""
    env = {k: v for k, v in os.environ.items() if k not in {"XLA_FLAGS", "OMP_NUM_THREADS", NUM_THREADS_ENV_VAR}}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_configure_threads_limits_torch_and_xla() -> None:
    code = (
        "from sacbench.runtime import configure_threads\n"
        "import torch\n"
        "s = configure_threads()\n"
        "print(torch.get_num_threads(), s.num_threads, s.xla_flags, s.jax_platforms)\n"
    )
    torch_threads, num, *rest = _run_fresh(code, {}).split()
    assert (torch_threads, num) == ("1", "1")
    assert "--xla_cpu_multi_thread_eigen=false" in rest
    assert "intra_op_parallelism_threads=1" in rest
    assert rest[-1] == "cpu"


def test_user_xla_flags_win() -> None:
    code = "from sacbench.runtime import configure_threads\nprint(configure_threads().xla_flags)\n"
    flags = "--xla_cpu_multi_thread_eigen=true"
    assert _run_fresh(code, {"XLA_FLAGS": flags}) == flags


def _affinities() -> dict[int, set[int]]:
    """Every thread of this process and its CPU affinity."""
    return {int(t.name): os.sched_getaffinity(int(t.name)) for t in Path("/proc/self/task").iterdir()}


def test_one_core_binds_every_thread_started_before_and_after_and_gives_them_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CORE_LOCK_DIR_ENV_VAR, str(tmp_path))
    monkeypatch.delenv(PIN_ENV_VAR, raising=False)
    allowed = os.sched_getaffinity(0)
    stop = threading.Event()
    before, during = threading.Thread(target=stop.wait), threading.Thread(target=stop.wait)
    before.start()
    try:
        with one_core() as pinning:
            during.start()
            assert pinning.pinned and pinning.cores == (min(allowed),)
            assert pinning.reason.startswith(f"claimed core {min(allowed)} of ")
            assert set(map(frozenset, _affinities().values())) == {frozenset(pinning.cores)}
            assert os.sched_getaffinity(before.native_id) == os.sched_getaffinity(during.native_id) == {min(allowed)}
        assert all(cores == allowed for cores in _affinities().values())
    finally:
        stop.set()
        for thread in (before, during):
            if thread.is_alive():
                thread.join()


def test_a_claimed_core_is_skipped_and_a_run_waits_while_all_are_taken(tmp_path: Path) -> None:
    held = _try_lock(0, tmp_path)  # another process's claim (flock conflicts across open files)
    assert held is not None
    core, fd = claim_core((0, 1), tmp_path)
    assert core == 1
    waited: list[str] = []
    result: list[tuple[int, int]] = []
    waiter = threading.Thread(
        target=lambda: result.append(claim_core((0, 1), tmp_path, poll_s=0.05, on_wait=waited.append))
    )
    waiter.start()
    time.sleep(0.5)
    assert not result and waited == ["sacbench: cores 0-1 are each training a run; waiting for one to finish"]
    os.close(held)  # the other run ends
    waiter.join(timeout=5)
    assert result and result[0][0] == 0
    os.close(fd)
    os.close(result[0][1])


def test_pinning_off_and_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PIN_ENV_VAR, "off")
    with one_core() as pinning:
        assert not pinning.pinned and pinning.reason == f"not pinned: {PIN_ENV_VAR}=off"
        assert pinning.cores == tuple(sorted(os.sched_getaffinity(0)))
    monkeypatch.setenv(PIN_ENV_VAR, "yes")
    with pytest.raises(ValueError, match=f"{PIN_ENV_VAR}='yes': expected 'on'"), one_core():
        pass
