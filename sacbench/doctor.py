"""``sacbench doctor``: a bug-report-ready summary of this machine and which backends can run."""

from __future__ import annotations

import json

from sacbench.provenance import collect_environment
from sacbench.sim.protocol import Backend, BackendStatus
from sacbench.sim.status import backend_status


def backend_statuses() -> list[BackendStatus]:
    """Status of every backend, in the order of `Backend`."""
    return [backend_status(b) for b in Backend]


def doctor_report(as_json: bool = False) -> str:
    """Render Python, package versions, hardware and backend availability.

    Args:
        as_json: Return JSON instead of the plain-text block meant for bug reports.
    """
    env = collect_environment()
    statuses = backend_statuses()
    if as_json:
        payload = env.to_dict()
        payload["backends"] = {
            s.backend.value: {"usable": s.usable, "reasons": list(s.reasons), "detail": s.detail} for s in statuses
        }
        return json.dumps(payload, indent=2)

    hw = env.hardware
    lines = ["sacbench doctor", "", f"python     {env.python}", f"platform   {env.platform}"]
    lines.append(f"cpu        {hw.cpu_model} ({hw.num_usable_cpus} usable of {hw.num_logical_cpus} logical)")
    lines.append(f"memory     {hw.memory_gib} GiB")
    if hw.gpus:
        for i, gpu in enumerate(hw.gpus):
            lines.append(f"gpu {i}      {gpu.name}, {gpu.memory_mib} MiB, driver {gpu.driver}")
    else:
        lines.append("gpu        none (nvidia-smi not found or lists no device)")
    commit = env.git.commit or "unknown"
    dirty = {True: " (dirty)", False: "", None: ""}[env.git.dirty]
    lines.append(f"git        {commit}{dirty}")
    lines += ["", "packages"]
    width = max(len(n) for n in env.packages)
    for name, version in env.packages.items():
        lines.append(f"  {name:<{width}}  {version or 'not installed'}")
    lines += ["", "threads"]
    if env.thread_env:
        lines += [f"  {k}={v}" for k, v in env.thread_env.items()]
    else:
        lines.append("  (defaults: training processes set 1 thread; override with SACBENCH_NUM_THREADS)")
    lines += ["", "backends"]
    for status in statuses:
        if status.usable:
            lines.append(f"  {status.backend.value:<9} usable: {status.detail}")
        else:
            lines.append(f"  {status.backend.value:<9} NOT usable:")
            lines += [f"    - {reason}" for reason in status.reasons]
    return "\n".join(lines)
