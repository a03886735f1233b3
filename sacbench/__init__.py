"""sacbench: reproducibility benchmarks for RL on massively parallel legged-locomotion simulators.

The package is a thin layer over MuJoCo, Isaac Lab, SB3/SBX and rliable: tasks (`sacbench.tasks`),
backends (`sacbench.sim`), presets (`sacbench.algos`), the budgeted runner (`sacbench.train`), run
records (`sacbench.records`), statistics (`sacbench.stats`), the baseline gate (`sacbench.compare`),
reports (`sacbench.report`) and the pytest plugin (`sacbench.pytest_plugin`).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
