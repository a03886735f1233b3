"""Presets (the post's recipes as typed frozen dataclasses) and `make_agent`."""

from __future__ import annotations

from sacbench.algos.make import make_agent
from sacbench.algos.presets import (
    DEFAULT_MATRIX,
    PRESETS,
    SUITES,
    Algo,
    AlgoParams,
    OffPolicyParams,
    OnPolicyParams,
    Preset,
    Scale,
    Suite,
    get_preset,
    to_cpu_scale,
)

__all__ = [
    "DEFAULT_MATRIX",
    "PRESETS",
    "SUITES",
    "Algo",
    "AlgoParams",
    "OffPolicyParams",
    "OnPolicyParams",
    "Preset",
    "Scale",
    "Suite",
    "get_preset",
    "make_agent",
    "to_cpu_scale",
]
