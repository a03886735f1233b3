"""One table of facts per robot (`sacbench.robots.spec.RobotSpec`); no behaviour lives here."""

from __future__ import annotations

from sacbench.robots.anymal import ANYMAL_B, ANYMAL_C
from sacbench.robots.bdx import BDX
from sacbench.robots.spec import RobotSpec
from sacbench.robots.unitree import A1, GO1, GO2

ALL_ROBOTS: tuple[RobotSpec, ...] = (A1, GO1, GO2, ANYMAL_B, ANYMAL_C, BDX)

__all__ = ["A1", "ALL_ROBOTS", "ANYMAL_B", "ANYMAL_C", "BDX", "GO1", "GO2", "RobotSpec"]
