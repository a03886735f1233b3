"""Ask pip's resolver whether sacbench and Isaac Lab 3.0 install together on Python 3.12.

The GPU nightly runs on Python 3.12 with ``pip install -e ".[isaaclab]"``; CI runs on another Python
and has no GPU, so this script resolves that install for Python 3.12 without installing anything:

1. sacbench's requirements and its ``isaaclab`` extra, with their environment markers evaluated
   for CPython 3.12 on Linux x86-64 (so the 3.12 lines of pyproject.toml are the ones checked);
2. the sdist-only pure-Python packages among them (``rliable``, and ``antlr4-python3-runtime`` that
   hydra-core >= 1.3 needs) built here as wheels, since a cross-Python resolve can only use wheels;
3. a current pip (run from its wheel, leaving this environment's pip alone: pip 23 applies the
   running interpreter's version to Requires-Python checks) with ``--dry-run --python-version 3.12
   --only-binary=:all: --report``.

It prints the versions the resolver chose for the packages that have collided before (mujoco,
numpy, torch, ...) and exits 1 when the resolver finds no solution.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
TARGET = {"python_version": "3.12", "python_full_version": "3.12.0", "implementation_name": "cpython",
          "platform_python_implementation": "CPython", "sys_platform": "linux", "platform_system": "Linux",
          "platform_machine": "x86_64", "os_name": "posix"}  # fmt: skip
SDIST_ONLY = ("rliable==1.2.0", "antlr4-python3-runtime==4.9.3")
"""Pure-Python packages published without wheels, built here for the resolver."""
WATCHED = ("isaaclab", "mujoco", "newton", "numpy", "torch", "jax", "sbx-rl", "stable-baselines3", "hydra-core")


def requirements() -> list[str]:
    """The requirements of sacbench and its ``isaaclab`` extra that apply on CPython 3.12 / Linux."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    environment = {**default_environment(), **TARGET, "extra": ""}
    lines = [*project["dependencies"], *project["optional-dependencies"]["isaaclab"]]
    chosen = []
    for line in lines:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            requirement.marker = None
            chosen.append(str(requirement))
    # hydra-core: Isaac Lab calls hydra.main(version_base="1.3"); a wheels-only resolve would
    # otherwise fall back to hydra-core 0.11 (its newer releases need the antlr4 sdist).
    return [*chosen, "hydra-core>=1.3"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """A subprocess whose output is kept (and shown on failure)."""
    return subprocess.run(args, capture_output=True, text=True, check=False)


def main() -> int:
    """Resolve, print the chosen versions, and return the exit code."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wheels = folder / "wheels"
        steps = [
            (sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(folder),
             "pip>=25"),
            (sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), *SDIST_ONLY),
        ]  # fmt: skip
        for step in steps:
            done = run(*step)
            if done.returncode:
                print(f"gpu install check: could not prepare ({' '.join(step)}):\n{done.stderr}", file=sys.stderr)
                return 1
        (pip_wheel,) = folder.glob("pip-*.whl")
        reqs = requirements()
        report = folder / "report.json"
        resolve = run(
            sys.executable, f"{pip_wheel}/pip", "install", "--dry-run", "--quiet", "--python-version", "3.12",
            "--only-binary=:all:", "--find-links", str(wheels), "--target", str(folder / "target"),
            "--report", str(report), *reqs,
        )  # fmt: skip
        if resolve.returncode:
            print("gpu install check: pip's resolver finds no Python 3.12 install of", file=sys.stderr)
            print("  " + "\n  ".join(reqs), file=sys.stderr)
            print(resolve.stderr[-4000:], file=sys.stderr)
            return 1
        chosen = {
            item["metadata"]["name"].lower(): item["metadata"]["version"]
            for item in json.loads(report.read_text())["install"]
        }
    print("gpu install check: sacbench + isaaclab[3.0.0] resolve on Python 3.12:")
    print("  " + ", ".join(f"{name} {chosen[name]}" for name in WATCHED if name in chosen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
