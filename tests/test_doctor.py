"""`sacbench doctor` reports versions, hardware and, plainly, which backends run and why not."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sacbench.doctor import doctor_report
from sacbench.sim.protocol import Backend, backend_status


def test_doctor_lists_packages_and_backends() -> None:
    text = doctor_report()
    for needle in ("python", "cpu", "mujoco", "stable-baselines3", "sbx-rl", "rliable", "backends"):
        assert needle in text
    assert "mujoco    usable" in text


def test_isaaclab_status_explains_each_missing_piece() -> None:
    status = backend_status("isaaclab")
    if sys.version_info[:2] != (3, 12):
        assert not status.usable
        assert any("Python" in r and "3.12" in r for r in status.reasons)
        assert status.reasons[-1].startswith("fix: pip install")
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
