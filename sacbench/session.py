"""The session pipeline: run records -> baselines or gate -> report.

The pytest plugin (at the end of a benchmark session) and the CLI (``sacbench report``,
``sacbench compare``, ``sacbench baseline``) call these functions and nothing else, so a session
gives the same verdicts and the same report whichever way it is read.  Records of several backends
or scales are each gated against their own baselines (``baselines/<backend>/<scale>/``), never
across.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sacbench import metrics
from sacbench.baselines import Baseline, all_baselines, baselines_for, build_baseline, group_runs, save_baseline
from sacbench.compare import DEFAULT_RULE, CompareRule, Comparison, Verdict, compare_runs, confirm
from sacbench.records import RunRecord, load_runs
from sacbench.report import DEFAULT_AGAINST, ReportResult, build_report
from sacbench.stats import DEFAULT_REPS

BASELINE_REFUSED = "baseline not written"
"""How a note of `write_baselines` begins when a group had no usable run."""
CONFIRM_DIR = "confirm"
"""The session folder's sub-folder of confirmation runs (``<session>/confirm/runs/``)."""


@dataclass(frozen=True)
class SessionResult:
    """What a finished session produced."""

    report: ReportResult
    notes: tuple[str, ...]
    """One line per baseline written or refused (empty when gating)."""


def load_session_records(folder: Path) -> list[RunRecord]:
    """The records of a session folder (its ``runs/``) or of a plain folder of records.

    Raises:
        FileNotFoundError: If ``folder`` does not exist.
    """
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder; give a session folder of reports/ or a folder of records")
    runs = folder / "runs"
    return load_runs(runs if runs.is_dir() else folder)


def load_confirmations(folder: Path) -> list[RunRecord]:
    """The confirmation runs of a session folder (``<folder>/confirm/runs/``; none if it has no such folder)."""
    runs = folder / CONFIRM_DIR / "runs"
    return load_runs(runs) if runs.is_dir() else []


def confirmation_seeds(records: Sequence[RunRecord], baseline: Baseline | None, count: int) -> tuple[int, ...]:
    """``count`` fresh seeds: above every seed of tonight's runs and of the baseline's."""
    used = {r.seed for r in records} | set(baseline.seeds if baseline is not None else ())
    start = max(used, default=-1) + 1
    return tuple(range(start, start + count))


def gate(
    records: Sequence[RunRecord],
    baseline_root: Path,
    rule: CompareRule = DEFAULT_RULE,
    seed: int = 0,
    reps: int = DEFAULT_REPS,
    *,
    confirmations: Sequence[RunRecord] = (),
) -> tuple[list[Comparison], dict[tuple[str, str], Baseline]]:
    """Verdicts of ``records`` against the baselines under ``baseline_root``, per backend and scale.

    An item that reads ``regressed`` and has confirmation runs (``confirmations``: fresh seeds of
    the same item, run after the first stage) gets `sacbench.compare.confirm`'s verdict: regressed
    only if the confirmation runs, judged alone, regress too.

    Returns:
        The verdicts, and the baselines they used by ``(task, preset)`` (for the report's curves).
    """
    comparisons: list[Comparison] = []
    used: dict[tuple[str, str], Baseline] = {}
    for backend, scale in sorted({(r.backend, r.scale) for r in records}):
        mine = [r for r in records if (r.backend, r.scale) == (backend, scale)]
        baselines = baselines_for(mine, all_baselines(baseline_root, backend, scale))
        second = {
            (c.task, c.preset): c
            for c in compare_runs([r for r in confirmations if (r.backend, r.scale) == (backend, scale)],
                                  baselines, rule, seed, reps)
        }  # fmt: skip
        comparisons += [
            confirm(c, second[(c.task, c.preset)]) if c.verdict is Verdict.REGRESSED and (c.task, c.preset) in second
            else c
            for c in compare_runs(mine, baselines, rule, seed, reps)
        ]  # fmt: skip
        # Curves are drawn beneath tonight's only where the budgets match (a 2-minute baseline is
        # not the reference of a 30-minute run).
        budgets = {(r.task, r.preset, float(r.budget["seconds"])) for r in mine}
        used.update({key: b for key, b in baselines.items() if (*key, b.budget_s) in budgets})
    return comparisons, used


def write_baselines(
    records: Sequence[RunRecord], baseline_root: Path, seed: int = 0, reps: int = DEFAULT_REPS
) -> list[str]:
    """One baseline per backend x scale x task x preset of ``records``; a line per file written or refused."""
    notes = []
    for runs in group_runs(records).values():
        try:
            baseline = build_baseline(runs, seed, reps)
        except ValueError as exc:
            notes.append(f"{BASELINE_REFUSED}: {exc}")
            continue
        path = save_baseline(baseline, baseline_root)
        point, low, high = baseline.summary[metrics.EVAL_RETURN]["IQM"]
        seeds = len(baseline.seeds)
        notes.append(f"baseline written: {path} ({seeds} seeds, IQM eval return {point:.2f} [{low:.2f}, {high:.2f}])")
    return notes


def finish_session(
    records: Sequence[RunRecord],
    out: Path,
    *,
    baseline_root: Path | None,
    rule: CompareRule = DEFAULT_RULE,
    update_baselines: bool = False,
    seed: int = 0,
    reps: int = DEFAULT_REPS,
    against: Sequence[str] = DEFAULT_AGAINST,
    confirmations: Sequence[RunRecord] = (),
) -> SessionResult:
    """Baselines written, or the gate run, then the report written into ``out``.

    Args:
        records: The session's run records.
        out: Report folder.
        baseline_root: Stored baselines; ``None`` reports without a gate.
        rule: The gate's rule.
        update_baselines: Write the records as the new baselines instead of gating against the old.
        seed: Seed of every bootstrap (gate and report).
        reps: Bootstrap replications.
        against: The report's reference presets for probability of improvement.
        confirmations: Runs on fresh seeds of items whose first stage regressed (`gate`).

    Raises:
        ValueError: If there is no record.
    """
    notes: list[str] = []
    comparisons: list[Comparison] = []
    used: dict[tuple[str, str], Baseline] = {}
    if baseline_root is not None and update_baselines:
        notes = write_baselines(records, baseline_root, seed, reps)
    elif baseline_root is not None:
        comparisons, used = gate(records, baseline_root, rule, seed, reps, confirmations=confirmations)
    report = build_report(records, out, comparisons, rule=rule, seed=seed, reps=reps, baselines=used, against=against)
    return SessionResult(report, tuple(notes))
