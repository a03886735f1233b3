"""Shared helpers of the test suite."""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import pytest

from sacbench.tasks import TaskSpec, get_task
from sacbench.tasks.velocity import CommandsCfg, EventsCfg

ISAACLAB_INSTALLED = importlib.util.find_spec("isaaclab") is not None
collect_ignore = [] if ISAACLAB_INSTALLED else ["isaaclab_cpu"]
"""The real-Isaac-Lab module needs Python 3.12 and ``sacbench[isaaclab]``: `.ci/run` runs it in a venv
of its own, where a missing Isaac Lab fails it instead of skipping."""


def _load_matplotlib() -> None:
    """Import all of matplotlib that a report uses, once, before any in-process pytester session.

    Pytester's in-process runs (``runpytest``) drop every module first imported during the run.
    `sacbench.report` imports ``matplotlib.lines`` at import time and pyplot only when it draws, so
    the first in-process session that drew a figure left ``matplotlib.lines`` and the modules it
    loaded in place and dropped ``pyplot``, ``figure`` and ``gridspec``; the next one re-imported
    those beside the kept ones and failed in ``plt.subplots`` ("Single argument to subplot must be
    a three-digit integer, not GridSpec(1, 1)[0:1, 0:1]": two ``SubplotSpec`` classes).  Whether
    it did depended on which earlier test had drawn a figure in the process.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots(1, 1, squeeze=False)
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


_load_matplotlib()


def pytest_report_header() -> str:
    """Say whether the real-Isaac-Lab module is collected, so that leaving it out is never silent."""
    if ISAACLAB_INSTALLED:
        return "sacbench: tests/isaaclab_cpu collected (real Isaac Lab on the CPU)"
    return "sacbench: tests/isaaclab_cpu NOT collected (no isaaclab here; .ci/run runs it in its Python 3.12 venv)"


def quiet_task(name: str, command: tuple[float, float, float] | None = None, **cfg_overrides: object) -> TaskSpec:
    """``name`` without randomisation or observation noise, for hand-checked scenarios.

    Args:
        name: Registry name.
        command: If given, every env gets this constant (vx, vy, yaw rate) command.
        **cfg_overrides: Further `VelocityTaskCfg` fields.
    """
    task = get_task(name)
    events = replace(
        EventsCfg(),
        base_mass_scale=None,
        base_com_range=(0.0, 0.0, 0.0),
        reset_xy=0.0,
        reset_yaw=0.0,
        reset_velocity=0.0,
        joint_pos_scale=(1.0, 1.0),
        push_interval_s=None,
    )
    cfg = replace(task.cfg, events=events, observation_noise=False, **cfg_overrides)  # type: ignore[arg-type]
    if command is not None:
        vx, vy, wz = command
        cfg = replace(
            cfg,
            commands=CommandsCfg(
                lin_vel_x=(vx, vx),
                lin_vel_y=(vy, vy),
                ang_vel_z=(wz, wz),
                heading_command=False,
                rel_standing_envs=0.0,
            ),
        )
    return replace(task, cfg=cfg)


@pytest.fixture
def nudged_rewards(monkeypatch: pytest.MonkeyPatch) -> None:
    """A planted change in learning: every reward the agent sees is 1e-6 larger (episode returns barely move)."""
    from sacbench.bounds import BatchedVecEnv

    step_wait = BatchedVecEnv.step_wait

    def nudged(self: BatchedVecEnv) -> tuple[object, ...]:
        obs, rewards, dones, infos = step_wait(self)
        return obs, rewards + 1e-6, dones, infos

    monkeypatch.setattr(BatchedVecEnv, "step_wait", nudged)
