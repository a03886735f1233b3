"""``sacbench doctor --gpu``: the first night in a few minutes, with each step's outcome said plainly.

A user with a GPU runs this before the first ``pytest benchmarks -k rough --gpu``.  It checks, in
order, and stops a branch at its first failure:

1. install: Python 3.12, ``isaaclab==3.0.0``, CUDA through torch (`isaaclab_status`);
2. physics: for each physics of the velocity tasks (``newton_mjwarp``: every rough task, Go2 and
   BD-X; ``isaacsim_physx``: flat A1, Go1, ANYmal-B/C), whether its package is installed;
3. one short run per installed physics (``ppo_sb3`` for ``budget_s`` seconds on ``a1-rough`` and
   ``a1-flat``), each in its own process (Isaac Lab allows one simulation context per process),
   through the same ``sacbench run`` a user calls;
4. the report of those runs (`sacbench.session.finish_session`).

With ``device="cpu"`` the same checklist runs the real Isaac Lab on the CPU: no CUDA, both tasks on
``newton_mjwarp`` (`CPU_PROBES`), sacbench's assets, the CPU device's default number of envs.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sacbench import metrics
from sacbench.records import RunRecord, load_run, run_id, usable
from sacbench.sim.isaaclab import CPU_PHYSICS, Physics, is_cpu, isaaclab_status, missing_physics

PROBES = ((Physics.NEWTON_MJWARP, "a1-rough"), (Physics.ISAACSIM_PHYSX, "a1-flat"))
"""One task per physics of the velocity tasks' defaults (on a GPU)."""
CPU_PROBES = ((CPU_PHYSICS, "a1-rough"), (CPU_PHYSICS, "a1-flat"))
"""On the CPU every task runs on Newton MJWarp: one rough and one flat task."""
PRESET = "ppo_sb3"
GPU_NUM_ENVS = 256


@dataclass(frozen=True)
class Check:
    """One step's outcome: ``ok`` is ``None`` when the step was not tried (an earlier one failed)."""

    name: str
    ok: bool | None
    detail: str

    def line(self) -> str:
        """``[ OK ] install: isaaclab 3.0.0 on NVIDIA H100``."""
        mark = {True: " OK ", False: "FAIL", None: "SKIP"}[self.ok]
        return f"[{mark}] {self.name}: {self.detail}"


Runner = Callable[[str, Physics, float, Path], RunRecord]
"""Runs ``PRESET`` on a task with a physics for a budget, writing its record under a folder."""


def run_in_subprocess(task: str, physics: Physics, budget_s: float, out: Path, device: str = "cuda:0") -> RunRecord:
    """``sacbench run`` in a fresh process (one Isaac Lab simulation per process), then its record.

    Raises:
        RuntimeError: With the process's last output when it wrote no record.
    """
    command = [
        sys.executable, "-m", "sacbench.cli", "run", "--task", task, "--preset", PRESET, "--backend", "isaaclab",
        "--budget", f"{budget_s:g}", "--eval-episodes", "8", "--no-progress", "--out", str(out),
        "--physics", physics.value, "--device", device,
    ]  # fmt: skip
    if not is_cpu(device):  # on the CPU, the run's own default (sacbench.train.CPU_DEVICE_NUM_ENVS)
        command += ["--set", f"num_envs={GPU_NUM_ENVS}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    path = out / f"{run_id(task, PRESET, 0)}.json"
    if not path.is_file():
        raise RuntimeError(f"exit {done.returncode}: {(done.stderr or done.stdout)[-1500:]}")
    return load_run(path)


def first_night(out: Path, budget_s: float = 30.0, runner: Runner | None = None, device: str = "cuda:0") -> list[Check]:
    """Every check, in order (see the module docstring).

    Args:
        out: Where the runs and the report go.
        budget_s: Training seconds per run.
        runner: Runs one probe (default: `run_in_subprocess` on ``device``).
        device: Isaac Lab's device, ``cuda:0`` or ``cpu``.
    """
    from sacbench.session import finish_session

    run = runner or functools.partial(run_in_subprocess, device=device)
    status = isaaclab_status(device)
    checks = [Check("install", status.usable, status.detail if status.usable else "; ".join(status.reasons))]
    records: list[RunRecord] = []
    for physics, task in CPU_PROBES if is_cpu(device) else PROBES:
        missing = missing_physics([task], physics, device)
        checks.append(Check(f"physics {physics.value}", not missing, missing[0] if missing else "installed"))
        name = f"run {PRESET} on {task} ({physics.value}, {budget_s:g} s)"
        if not status.usable or missing:
            checks.append(Check(name, None, "not tried: " + ("install failed" if not status.usable else "no physics")))
            continue
        try:
            record = run(task, physics, budget_s, out / physics.value)
        except Exception as exc:  # the run's own failure, reported, the other physics go on
            checks.append(Check(name, False, str(exc)))
            continue
        records.append(record)
        detail = f"{record.status.value}, {record.metric(metrics.ENV_STEPS):,.0f} env steps, error: {record.error}"
        if usable(record):
            detail = f"{record.status.value}, eval return {record.metric(metrics.EVAL_RETURN):.2f}"
        checks.append(Check(name, usable(record), detail))
    if not records:
        checks.append(Check("report", None, "not tried: no run finished"))
        return checks
    result = finish_session(records, out / "report", baseline_root=None)
    checks.append(Check("report", True, str(result.report.directory / "index.html")))
    return checks


def first_night_report(
    out: Path, budget_s: float = 30.0, runner: Runner | None = None, device: str = "cuda:0"
) -> tuple[str, bool]:
    """The checklist as text, and whether every check passed."""
    checks = first_night(out, budget_s, runner, device)
    lines = [f"sacbench doctor --gpu: the first night (Isaac Lab on {device})", *[check.line() for check in checks]]
    passed = all(check.ok for check in checks)
    lines.append("all checks passed" if passed else "NOT READY: fix the first FAIL above, then run this again")
    return "\n".join(lines), passed
