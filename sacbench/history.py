"""The nightly history: every stored benchmark session, per task and preset, over time.

``sacbench history reports/`` reads each session folder under a reports directory (a folder with a
``runs/`` of records) and writes, into ``<dir>/history/``:

- ``history.csv``: one row per session x backend x scale x task x preset x budget: date, commit,
  seeds, IQM eval return with its 95 % CI (the report's computation, `stat_key`), mean env steps
  and gradient steps per second, the machine and its load, the session's verdict and what moved;
- ``history.png`` and a self-contained ``index.html``: per series, the IQM with its CI by session
  (labelled with date and commit, coloured by verdict), the throughput trend, and flagged shifts.

A shift is flagged where a session differs from the sessions just before it (up to `WINDOW`
pooled, the same budget) by the permutation test the gate uses, at `SHIFT_LEVEL`: in the return
(``return down`` / ``return up``) or in env steps per second (``throughput down`` / ``up``).  Like
mjlab's nightly page it is commit-tagged; like asv it flags steps; unlike both it carries each
point's confidence interval and says whether speed or learning moved.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sacbench import metrics
from sacbench.baselines import stat_key
from sacbench.records import RunRecord, load_runs, usable
from sacbench.report import VERDICTS_FILE, Document, _plt
from sacbench.stats import DEFAULT_REPS, aggregate_metrics, permutation_test

WINDOW = 3
"""Previous sessions pooled when flagging a shift."""
SHIFT_LEVEL = 0.05
"""One-sided level of a shift flag."""
VERDICT_COLORS = {"improved": "#0a7d28", "unchanged": "#555555", "regressed": "#b00020", "inconclusive": "#d9a400"}

SeriesKey = tuple[str, str, str, str, float]
"""``(backend, scale, task, preset, budget seconds)``: sessions are only compared within one."""


@dataclass(frozen=True)
class Point:
    """One series in one session."""

    session: str
    date: str
    commit: str
    key: SeriesKey
    returns: tuple[float, ...]
    env_fps: tuple[float, ...]
    grad_fps: tuple[float, ...]
    iqm: tuple[float, float, float]
    machine: str
    load: float | None
    verdict: str | None
    moved: str | None
    plant: str | None
    """A planted fault (``benchmarks/plants.py``) the session's records declare."""


def discover_sessions(root: Path) -> list[Path]:
    """Folders under ``root`` (and ``root`` itself) that hold a ``runs/`` folder of records, by name."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder; give the reports folder of your benchmark sessions")
    found = [p.parent for p in root.rglob("runs") if p.is_dir() and any(p.glob("*.json"))]
    return sorted(set(found))


def _commit(records: Sequence[RunRecord]) -> str:
    commits = Counter(str(r.provenance.get("git", {}).get("commit") or "?")[:8] for r in records)
    dirty = any(r.provenance.get("git", {}).get("dirty") for r in records)
    return commits.most_common(1)[0][0] + ("+dirty" if dirty else "")


def _verdicts(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    path = folder / VERDICTS_FILE
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {(v["task"], v["preset"]): v for v in raw.get("verdicts", [])}


def session_records(folder: Path) -> list[RunRecord]:
    """The usable runs of one session folder."""
    return [r for r in load_runs(folder / "runs") if usable(r)]


def fingerprint(record: RunRecord) -> str:
    """One run's identity wherever its record is copied: a digest of the whole record.

    Reports that set new runs beside a baseline copy the baseline's records into their ``runs/``;
    the run id alone cannot tell a copy (same id, same start) from the next night's run of the
    same seed, and older records carry no start time, so the digest covers every field.
    """
    payload = json.dumps(record.to_dict(), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _last_start(records: Sequence[RunRecord]) -> str:
    return max((str(r.provenance.get("start_utc") or "") for r in records), default="")


def session_points(
    folder: Path, records: Sequence[RunRecord], seed: int = 0, reps: int = DEFAULT_REPS, *, name: str | None = None
) -> list[Point]:
    """The points of one session folder, from ``records`` (its usable runs, or those `build_history` keeps).

    ``name`` labels the session (default: the folder's name; `build_history` gives its path below the root,
    as two sessions may share a folder name, e.g. ``baselines/anymal_c-rough`` and ``curriculum/anymal_c-rough``).
    """
    from sacbench.compare import machine_name

    verdicts = _verdicts(folder)
    groups: dict[SeriesKey, list[RunRecord]] = defaultdict(list)
    for r in records:
        groups[(r.backend, r.scale, r.task, r.preset, float(r.budget["seconds"]))].append(r)
    points = []
    for key, runs in sorted(groups.items()):
        backend, scale, task, preset, _ = key
        returns = np.array([r.metric(metrics.EVAL_RETURN) for r in runs])
        bootstrap_key = stat_key(backend, scale, task, preset, metrics.EVAL_RETURN)
        iqm = aggregate_metrics({bootstrap_key: returns[:, None]}, seed, reps)[bootstrap_key]["IQM"]
        loads = [r.provenance.get("load_average_end_of_training") for r in runs]
        five_minute = [float(x[1]) for x in loads if isinstance(x, list) and len(x) > 1]
        verdict = verdicts.get((task, preset), {})
        attribution = verdict.get("attribution") or {}
        starts = sorted(str(r.provenance.get("start_utc", "")) for r in runs)
        points.append(
            Point(
                session=name or folder.name,
                date=(starts[0] or folder.name)[:16],
                commit=_commit(runs),
                key=key,
                returns=tuple(float(x) for x in returns),
                env_fps=tuple(r.metric(metrics.ENV_FPS) for r in runs),
                grad_fps=tuple(r.metric(metrics.GRAD_STEPS_PER_S) for r in runs),
                iqm=(iqm.point, iqm.low, iqm.high),
                machine=machine_name(runs[0].provenance.get("hardware") or {}),
                load=float(np.mean(five_minute)) if five_minute else None,
                verdict=verdict.get("verdict"),
                moved=attribution.get("cause"),
                plant=next((str(r.provenance["plant"]) for r in runs if r.provenance.get("plant")), None),
            )
        )
    return points


def shift_flags(series: Sequence[Point]) -> list[list[str]]:
    """Per point (in date order): the shifts against the up-to-`WINDOW` points before it."""
    flags: list[list[str]] = []
    for i, point in enumerate(series):
        before = series[max(0, i - WINDOW) : i]
        found: list[str] = []
        if before:
            for name, now, then in (
                ("return", np.array(point.returns), np.concatenate([p.returns for p in before])),
                ("throughput", np.log(point.env_fps), np.log(np.concatenate([p.env_fps for p in before]))),
            ):
                if not (np.isfinite(now).all() and np.isfinite(then).all()):
                    continue
                test = permutation_test(now, then, "mean", key=f"{point.session}/{name}")
                if test.p_lower <= SHIFT_LEVEL:
                    found.append(f"{name} down")
                elif test.p_upper <= SHIFT_LEVEL:
                    found.append(f"{name} up")
        flags.append(found)
    return flags


def build_history(
    root: Path, out: Path | None = None, *, seed: int = 0, reps: int = DEFAULT_REPS
) -> tuple[Path, pd.DataFrame]:
    """Write ``history.csv``, ``history.png`` and ``index.html`` for every session under ``root``.

    Returns:
        The output folder and the history table.

    Raises:
        FileNotFoundError: If ``root`` does not exist.
        ValueError: If no session folder with run records is found.
    """
    out = out or root / "history"
    sessions = [s for s in discover_sessions(root) if out not in s.parents and s != out]
    if not sessions:
        raise ValueError(f"{root}: no session folder with run records (<session>/runs/*.json) below it")
    series: dict[SeriesKey, list[Point]] = defaultdict(list)
    kept, copies = _without_copies(sessions)
    for folder, records in kept:
        name = folder.name if folder == root else folder.relative_to(root).as_posix()
        for point in session_points(folder, records, seed, reps, name=name):
            series[point.key].append(point)
    rows = []
    for key, points in sorted(series.items()):
        points.sort(key=lambda p: (p.date, p.session))
        for point, flags in zip(points, shift_flags(points), strict=True):
            rows.append(_row(key, point, flags))
    frame = pd.DataFrame(rows)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "history.csv", index=False)
    figure = plot_history(series, frame, out / "history.png")
    (out / "index.html").write_text(_document(root, frame, figure, len(sessions), copies).html(), encoding="utf-8")
    return out, frame


def _without_copies(sessions: Sequence[Path]) -> tuple[list[tuple[Path, list[RunRecord]]], int]:
    """Each session's usable runs, a record copied into several sessions kept only in the first.

    Sessions are taken by their last run's start (then by path): a session that copies records
    beside new runs ran after them, so a baseline's records count in the baseline's session and not
    again, as a second night, in the report that copied them (a copy would add a point identical to
    its source and hide a shift against it).

    Returns:
        ``(folder, runs)`` per session, and the number of copies left out.
    """
    loaded = sorted(((folder, session_records(folder)) for folder in sessions),
                    key=lambda item: (_last_start(item[1]), str(item[0])))  # fmt: skip
    seen: set[str] = set()
    kept, copies = [], 0
    for folder, records in loaded:
        prints = [fingerprint(r) for r in records]
        fresh = [r for r, digest in zip(records, prints, strict=True) if digest not in seen]
        seen.update(prints)
        kept.append((folder, fresh))
        copies += len(records) - len(fresh)
    return kept, copies


def _row(key: SeriesKey, point: Point, flags: list[str]) -> dict[str, Any]:
    backend, scale, task, preset, budget = key
    return {
        "session": point.session,
        "date": point.date,
        "commit": point.commit,
        "backend": backend,
        "scale": scale,
        "task": task,
        "preset": preset,
        "budget_s": budget,
        "seeds": len(point.returns),
        "return_iqm": round(point.iqm[0], 3),
        "return_ci_low": round(point.iqm[1], 3),
        "return_ci_high": round(point.iqm[2], 3),
        "env_steps_per_s": round(float(np.mean(point.env_fps)), 1),
        "grad_steps_per_s": round(float(np.nanmean(point.grad_fps)), 1),
        "machine": point.machine,
        "load_5min": None if point.load is None else round(point.load, 2),
        "verdict": point.verdict or "",
        "moved": point.moved or "",
        "shifts": ", ".join(flags),
        "plant": point.plant or "",
    }


def plot_history(series: dict[SeriesKey, list[Point]], frame: pd.DataFrame, path: Path) -> Path:
    """Per series: IQM with CI by session (verdict colours, shift triangles), and env steps per second."""
    plt = _plt()
    keys = sorted(series)
    fig, axes = plt.subplots(len(keys), 2, figsize=(13, 3.1 * len(keys)), squeeze=False)
    for (ax_ret, ax_fps), key in zip(axes, keys, strict=True):
        rows = frame[
            (frame.backend == key[0]) & (frame.scale == key[1]) & (frame.task == key[2])
            & (frame.preset == key[3]) & (frame.budget_s == key[4])
        ].reset_index(drop=True)  # fmt: skip
        x = np.arange(len(rows))
        labels = [f"{d[5:10]} {d[11:16]}\n{c}" + (f"\n[{p}]" if p else "") for d, c, p in
                  zip(rows.date, rows.commit, rows.plant, strict=True)]  # fmt: skip
        lows, highs = rows.return_iqm - rows.return_ci_low, rows.return_ci_high - rows.return_iqm
        ax_ret.plot(x, rows.return_iqm, color="#999999", linewidth=1, zorder=1)
        for i, row in enumerate(rows.itertuples(index=False)):
            color = VERDICT_COLORS.get(str(row.verdict), "#1f77b4")
            ax_ret.errorbar(i, row.return_iqm, yerr=[[lows[i]], [highs[i]]], fmt="o", color=color, capsize=3)
            _mark_shift(ax_ret, i, float(row.return_ci_high), str(row.shifts), "return")
            if row.verdict in ("regressed", "improved") and row.moved:
                ax_ret.annotate(f"moved: {row.moved}", (i, float(row.return_ci_low)), textcoords="offset points",
                                xytext=(0, -12), ha="center", fontsize=7, color=color)  # fmt: skip
        ax_ret.set_title(f"{key[2]} / {key[3]}  ({key[0]}/{key[1]}, {key[4]:g} s): eval return IQM [95 % CI]",
                         fontsize=9)  # fmt: skip
        fps = [np.array(p.env_fps) for p in sorted(series[key], key=lambda p: (p.date, p.session))]
        for i, values in enumerate(fps):
            ax_fps.scatter(np.full(values.size, i), values, s=10, color="#1f77b4", alpha=0.6)
        ax_fps.plot(x, rows.env_steps_per_s, color="#1f77b4")
        for i, row in enumerate(rows.itertuples(index=False)):
            _mark_shift(ax_fps, i, float(np.max(fps[i])), str(row.shifts), "throughput")
        ax_fps.set_title("env steps per second (runs and mean)", fontsize=9)
        for ax in (ax_ret, ax_fps):
            ax.set_xticks(x, labels, fontsize=7)
            ax.grid(alpha=0.3)
            ax.margins(x=0.08, y=0.15)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=c, label=v) for v, c in VERDICT_COLORS.items()]
    handles.append(plt.Line2D([], [], marker="o", linestyle="", color="#1f77b4", label="no verdict"))
    handles.append(plt.Line2D([], [], marker="v", linestyle="", color="#b00020", label="shift flagged (down)"))
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / (3.1 * len(keys))))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _mark_shift(ax: Any, x: int, y: float, shifts: str, name: str) -> None:
    """A triangle above the point where ``shifts`` flags ``name`` (down: red, up: green)."""
    for flag in str(shifts).split(", "):
        if flag.startswith(name):
            down = flag.endswith("down")
            ax.annotate(
                "\u25bc" if down else "\u25b2", (x, y), textcoords="offset points", xytext=(0, 7), ha="center",
                fontsize=10, color="#b00020" if down else "#0a7d28",
            )  # fmt: skip


def _document(root: Path, frame: pd.DataFrame, figure: Path, num_sessions: int, copies: int) -> Document:
    doc = Document(f"sacbench history of {root}")
    doc.paragraph(
        f"{num_sessions} sessions, {frame[['task', 'preset']].drop_duplicates().shape[0]} task/preset series."
        f" Each point: the IQM of the session's evaluation returns with its 95 % stratified-bootstrap CI (the"
        f" numbers of the session's report), coloured by the session's verdict against its baseline. A"
        f" triangle flags a shift: the session differs from the {WINDOW} sessions before it (pooled, same"
        f" budget) by the gate's permutation test at level {SHIFT_LEVEL} in the return (left) or in env steps"
        f" per second (right). 'moved' says what the verdict attributed the change to. A run whose record"
        f" is copied into several sessions (a report setting new runs beside a baseline's) counts once, in"
        f" the session whose last run started first: {copies} copied records were not counted again."
    )
    doc.figure(figure, "Return and throughput by session (date, commit; planted faults in brackets)")
    columns = ["date", "commit", "task", "preset", "budget_s", "seeds", "return_iqm", "return_ci_low",
               "return_ci_high", "env_steps_per_s", "load_5min", "verdict", "moved", "shifts", "plant"]  # fmt: skip
    doc.table(columns, [[_cell(v) for v in row] for row in frame[columns].itertuples(index=False)])
    doc.paragraph(f"Data: history.csv beside this page; machine(s): {', '.join(sorted(set(frame.machine)))}.")
    return doc


def _cell(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value)
