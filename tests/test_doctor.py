"""`sacbench doctor` reports versions, hardware and, plainly, which backends run and why not."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable

import pytest
import torch

from sacbench.doctor import doctor_report
from sacbench.sim import isaaclab as isaaclab_module
from sacbench.sim.protocol import Backend, BackendStatus
from sacbench.sim.status import backend_status


def test_doctor_lists_packages_and_backends() -> None:
    text = doctor_report()
    for needle in ("python", "cpu", "mujoco", "stable-baselines3", "sbx-rl", "rliable", "backends"):
        assert needle in text
    assert "mujoco    usable" in text


@pytest.fixture
def isaaclab_here(monkeypatch: pytest.MonkeyPatch) -> Callable[..., BackendStatus]:
    """`isaaclab_status` with each prerequisite made present or missing, on any Python."""

    def status(
        *, python: bool, package: bool, cuda: bool, newton: bool = True, device: str = "cuda:0"
    ) -> BackendStatus:
        here = sys.version_info[:2]
        supported = (here, (here[0], here[1] + 1)) if python else ((3, 99), (3, 100))
        monkeypatch.setattr(isaaclab_module, "ISAACLAB_PYTHON", supported)

        def version(name: str) -> str:
            if name == "isaaclab" and not package:
                raise importlib.metadata.PackageNotFoundError(name)
            return "3.0.0"

        monkeypatch.setattr(isaaclab_module.importlib.metadata, "version", version)
        monkeypatch.setattr(isaaclab_module, "_cuda_reason", lambda: None if cuda else "torch is a CPU-only build")
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA H100")
        real_find_spec = importlib.util.find_spec
        monkeypatch.setattr(
            isaaclab_module.importlib.util, "find_spec",
            lambda name, *a: (object() if newton else None) if name == "newton" else real_find_spec(name, *a),
        )  # fmt: skip
        return isaaclab_module.isaaclab_status(device)

    return status


def test_isaaclab_status_explains_each_missing_piece(isaaclab_here: Callable[..., BackendStatus]) -> None:
    wrong_python = isaaclab_here(python=False, package=True, cuda=True)
    assert not wrong_python.usable
    assert len(wrong_python.reasons) == 2 and "Isaac Lab 3.0 needs Python >= 3.12" in wrong_python.reasons[0]
    assert wrong_python.reasons[-1].startswith("fix: pip install")
    nothing = isaaclab_here(python=True, package=False, cuda=False)
    assert not nothing.usable
    assert nothing.reasons[:2] == (
        "the isaaclab package is not installed",
        "no CUDA GPU: torch is a CPU-only build (or run on the CPU: --device cpu)",
    )
    assert not any(reason.startswith("Python") for reason in nothing.reasons)
    ready = isaaclab_here(python=True, package=True, cuda=True)
    assert ready.usable and ready.reasons == () and ready.detail == "isaaclab 3.0.0 on NVIDIA H100"


def test_isaaclab_on_the_cpu_needs_no_cuda_but_newton(isaaclab_here: Callable[..., BackendStatus]) -> None:
    ready = isaaclab_here(python=True, package=True, cuda=False, device="cpu")
    assert ready.usable and ready.detail == "isaaclab 3.0.0 on the CPU (newton_mjwarp)"
    no_newton = isaaclab_here(python=True, package=True, cuda=False, newton=False, device="cpu")
    assert not no_newton.usable
    assert no_newton.reasons[0] == "the newton package is not installed (newton_mjwarp runs on it)"
    assert no_newton.reasons[-1].startswith('fix: pip install "sacbench[isaaclab]" in a Python 3.12 venv')
    assert not isaaclab_here(python=True, package=True, cuda=False, device="cuda:0").usable


def test_doctor_says_isaaclab_is_not_usable_here() -> None:
    if backend_status("isaaclab").usable:
        pytest.skip("Isaac Lab runs here")
    assert "isaaclab  NOT usable" in doctor_report()


def test_unknown_backend_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown backend 'genesis'; expected one of: mujoco, isaaclab"):
        backend_status("genesis")


def test_doctor_json_through_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sacbench.cli", "doctor", "--json"], capture_output=True, text=True, check=True
    ).stdout
    payload = json.loads(out)
    assert set(payload["backends"]) == {b.value for b in Backend}
    assert payload["backends"]["mujoco"]["usable"] is True
    assert payload["packages"]["mujoco"].startswith("4.")
