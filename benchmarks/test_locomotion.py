"""The locomotion benchmarks: one item per robot x terrain x preset x seed.

Select with ``-k`` on the item id ``<robot>-<terrain>-<preset>-s<seed>``, e.g.
``pytest benchmarks -k "a1 and flat"`` or ``pytest benchmarks -k rough --gpu``; ``-k`` matches
substrings (``sac_tuned`` also selects ``sac_tuned_rough``), so use ``--sacbench-presets`` for exact
preset names.  Each item trains through `sacbench.train.train` for the session's budget, writes its
run record, and asserts its thresholds from ``thresholds.yaml`` (a negative control: its ``max``
entries).  An item with nothing to assert is reported ``UNASSERTED``, never as a plain pass, and
fails under ``--sacbench-unasserted=fail``.  The session then aggregates every record into a report
and gates it against ``baselines/``.
"""

from __future__ import annotations

from collections.abc import Callable

from sacbench.algos import get_preset
from sacbench.pytest_plugin import Case
from sacbench.records import RunRecord, usable
from sacbench.thresholds import Thresholds


def test_locomotion(
    sacbench_case: Case,
    sacbench_run: Callable[[Case], RunRecord],
    sacbench_thresholds: Thresholds,
    sacbench_unasserted: Callable[[str], None],
) -> None:
    record = sacbench_run(sacbench_case)
    assert usable(record), f"{record.run_id} ended as {record.status.value}: {record.error}"
    assessment = sacbench_thresholds.assess(record, learns=get_preset(sacbench_case.preset).learns)
    assert not assessment.failures, "\n".join(assessment.failures)
    if assessment.unasserted is not None:
        sacbench_unasserted(assessment.unasserted)
