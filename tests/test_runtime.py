"""Thread defaults for training processes (sacbench.runtime)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sacbench.runtime import NUM_THREADS_ENV_VAR, requested_num_threads


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
    import os

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
