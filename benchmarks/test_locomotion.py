"""The locomotion benchmarks: one item per robot x terrain x preset x seed.

Select with ``-k`` on the item id ``<robot>-<terrain>-<preset>-s<seed>``, e.g.
``pytest benchmarks -k "a1 and flat"`` or ``pytest benchmarks -k rough --gpu``; ``-k`` matches
substrings (``sac_tuned`` also selects ``sac_tuned_rough``), so use ``--sacbench-presets`` for exact
preset names.  Each item trains through `sacbench.train.train` for the session's budget, writes its
run record, and asserts its thresholds from ``thresholds.yaml``; the session then aggregates every
record into a report and gates it against ``baselines/``.
"""

from __future__ import annotations

from collections.abc import Callable

from sacbench.pytest_plugin import Case
from sacbench.records import RunRecord, RunStatus
from sacbench.thresholds import Thresholds


def test_locomotion(
    sacbench_case: Case, sacbench_run: Callable[[Case], RunRecord], sacbench_thresholds: Thresholds
) -> None:
    record = sacbench_run(sacbench_case)
    assert record.status in (RunStatus.OK, RunStatus.BUDGET_OVERRUN), (
        f"{record.run_id} ended as {record.status.value}: {record.error}"
    )
    applicable, _ = sacbench_thresholds.for_record(record)
    failures = [message for ok, message in (t.check(record) for t in applicable) if not ok]
    assert not failures, "\n".join(failures)
