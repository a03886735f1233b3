"""The sacbench pytest plugin (registered as the ``pytest11`` entry point ``sacbench``)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers used by the benchmarks."""
    config.addinivalue_line("markers", "gpu: needs Isaac Lab on a CUDA GPU (run with --gpu)")
