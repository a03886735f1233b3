"""The nightly history: every stored benchmark session, per task and preset, over time.

``sacbench history reports/`` reads each session folder under a reports directory (a folder with a
``runs/`` of records) and writes, into ``<dir>/history/``:

- ``history.csv``: one row per session x backend x scale x task x preset x budget: date, commit,
  seeds, IQM eval return with its 95 % CI (the report's computation, `stat_key`), mean env steps
  and gradient steps per second, the machine and its load, the session's verdict and what moved,
  and whether the session is an experiment (`is_experiment`);
- ``history.png``: per series with several sessions, the IQM with its CI by session (labelled with
  date and commit, coloured by verdict), the throughput trend, and flagged shifts;
- ``index.html`` (self-contained, `sacbench.history_page`): what the latest night did, a filter by
  task and preset, those plots, and one table for the series with a single session.

A shift is flagged where a session differs from the nights just before it (up to `WINDOW`
pooled, the same budget) by the permutation test the gate uses, at `SHIFT_LEVEL`: in the return
(``return down`` / ``return up``) or in env steps per second (``throughput down`` / ``up``).  Like
mjlab's nightly page it is commit-tagged; like asv it flags steps; unlike both it carries each
point's confidence interval and says whether speed or learning moved.

Experiments (sessions whose records declare a planted fault) are drawn, hollow, but are no night:
they are left out of the trend line, the y-range and the windows that later sessions are tested
against.  The y-range is also robust to a night far from the others (`robust_limits`): such a
point is drawn at the edge with its value.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sacbench import metrics
from sacbench.baselines import stat_key
from sacbench.history_page import NO_VERDICT, NO_VERDICT_COLOR, VERDICT_COLORS, SeriesKey, render_page
from sacbench.records import RunRecord, load_runs, usable
from sacbench.report import VERDICTS_FILE, _plt
from sacbench.stats import DEFAULT_REPS, aggregate_metrics, permutation_test

WINDOW = 3
"""Previous nights (experiments left out) pooled when flagging a shift."""
SHIFT_LEVEL = 0.05
"""One-sided level of a shift flag."""
FENCE = 3.0
"""Tukey's "far out" fence: a point more than this many spreads beyond the quartiles is left out of
the y-range (`robust_limits`)."""
PAD = 0.12
"""Share of the y-span added above and below the kept points (room for a shift triangle over a CI)."""
MAX_TICK_LABELS = 8
"""Sessions labelled under a panel at most (the labels of more would overlap)."""
TREND_COLOR = "#999999"
THROUGHPUT_COLOR = "#1f77b4"


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


def is_experiment(point: Point) -> bool:
    """Whether a point is an experiment rather than a night: its session's records declare a planted fault.

    `benchmarks/plants.py` writes the fault's name into every record of a planted session
    (``provenance.plant``), so the rule reads that recorded fact and not the session's folder name:
    a planted session is recognised under any name, and a night is never taken for one by its name.
    """
    return point.plant is not None


def shift_flags(series: Sequence[Point]) -> list[list[str]]:
    """Per point (in date order): the shifts against the up-to-`WINDOW` nights before it.

    Experiments are tested against the nights before them (so a planted fault shows its shift) but
    never pooled into a later session's window: a planted -350 would flag the next night as ``up``.
    """
    flags: list[list[str]] = []
    for i, point in enumerate(series):
        before = [p for p in series[:i] if not is_experiment(p)][-WINDOW:]
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


@dataclass(frozen=True)
class Series:
    """One backend x scale x task x preset x budget over its sessions."""

    key: SeriesKey
    points: tuple[Point, ...]
    """In date order (then session name)."""
    flags: tuple[tuple[str, ...], ...]
    """Per point, its shift flags (`shift_flags`)."""


@dataclass(frozen=True)
class History:
    """Every series of the sessions below a reports folder."""

    series: tuple[Series, ...]
    """Sorted by key."""
    num_sessions: int
    copies: int
    """Records left out because an earlier session holds the same record (`_without_copies`)."""

    def frame(self) -> pd.DataFrame:
        """The history table (``history.csv``): one row per series and session, by series then date."""
        rows = [_row(s.key, p, f) for s in self.series for p, f in zip(s.points, s.flags, strict=True)]
        return pd.DataFrame(rows)


def read_history(root: Path, out: Path | None = None, *, seed: int = 0, reps: int = DEFAULT_REPS) -> History:
    """Every session folder below ``root`` (but none below ``out``), read into series with their shifts.

    Raises:
        FileNotFoundError: If ``root`` does not exist.
        ValueError: If no session folder with run records is found.
    """
    out = out or root / "history"
    sessions = [s for s in discover_sessions(root) if out not in s.parents and s != out]
    if not sessions:
        raise ValueError(f"{root}: no session folder with run records (<session>/runs/*.json) below it")
    points: dict[SeriesKey, list[Point]] = defaultdict(list)
    kept, copies = _without_copies(sessions)
    for folder, records in kept:
        name = folder.name if folder == root else folder.relative_to(root).as_posix()
        for point in session_points(folder, records, seed, reps, name=name):
            points[point.key].append(point)
    series = []
    for key, found in sorted(points.items()):
        found.sort(key=lambda p: (p.date, p.session))
        flags = tuple(tuple(f) for f in shift_flags(found))
        series.append(Series(key, tuple(found), flags))
    return History(tuple(series), len(sessions), copies)


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
    history = read_history(root, out, seed=seed, reps=reps)
    frame = history.frame()
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "history.csv", index=False)
    plotted = [s for s in history.series if len(s.points) > 1]  # one point is a table row, not a plot
    plot_history(plotted, out / "history.png")
    figures = {s.key: series_png(s) for s in plotted}
    page = render_page(f"sacbench history of {root}", frame, figures, _notes(history, frame))
    (out / "index.html").write_text(page, encoding="utf-8")
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


def _row(key: SeriesKey, point: Point, flags: Sequence[str]) -> dict[str, Any]:
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
        "experiment": is_experiment(point),
    }


# ------------------------------------------------------------------------------------ y-ranges


def robust_limits(centers: np.ndarray, lows: np.ndarray, highs: np.ndarray, k: float = FENCE) -> tuple[float, float]:
    """Axis limits that hold every point within Tukey's fence, with its interval, and no point beyond it.

    The spread is the larger of the centers' interquartile range and the median interval width, so
    that a few nights whose intervals overlap are never fenced off each other (two or three points
    never are: their quartiles reach the farthest one).  A night far from the rest (a crash to -350
    among returns of 5-10) falls beyond the fence; the caller draws it at the edge with its value.

    Args:
        centers: Shape ``(num_points,)``: each point's estimate (an IQM, a mean).
        lows: Shape ``(num_points,)``: each point's interval's lower end.
        highs: Shape ``(num_points,)``: each point's interval's upper end.
        k: The fence, in spreads beyond the quartiles.

    Returns:
        ``(low, high)``, padded by `PAD` of the span (or by 1 where all points coincide).

    Raises:
        ValueError: If the three arrays differ in shape.
    """
    centers, lows, highs = (np.asarray(a, dtype=float) for a in (centers, lows, highs))
    if not centers.shape == lows.shape == highs.shape:
        raise ValueError(f"centers, lows, highs: expected one shape, got {centers.shape}, {lows.shape}, {highs.shape}")
    finite = np.isfinite(centers) & np.isfinite(lows) & np.isfinite(highs)
    if not finite.any():
        return -1.0, 1.0
    centers, lows, highs = centers[finite], lows[finite], highs[finite]
    q1, q3 = np.quantile(centers, [0.25, 0.75])
    spread = max(float(q3 - q1), float(np.median(highs - lows)))
    inside = (centers >= q1 - k * spread) & (centers <= q3 + k * spread)
    low, high = float(lows[inside].min()), float(highs[inside].max())
    pad = PAD * (high - low) if high > low else 1.0
    return low - pad, high + pad


def _nights(points: Sequence[Point]) -> list[Point]:
    """The points that are not experiments (all of them if every one is: a page needs some range)."""
    return [p for p in points if not is_experiment(p)] or list(points)


def return_limits(points: Sequence[Point]) -> tuple[float, float]:
    """The y-range of a series' return panel: its nights' IQMs and CIs (`robust_limits`), experiments left out."""
    iqm = np.array([p.iqm for p in _nights(points)])  # (num_nights, 3): point, low, high
    return robust_limits(iqm[:, 0], iqm[:, 1], iqm[:, 2])


def throughput_limits(points: Sequence[Point]) -> tuple[float, float]:
    """The y-range of a series' throughput panel: its nights' mean env steps per second and their runs' range."""
    fps = [np.asarray(p.env_fps, dtype=float) for p in _nights(points)]
    return robust_limits(
        np.array([f.mean() for f in fps]), np.array([f.min() for f in fps]), np.array([f.max() for f in fps])
    )


def trend(points: Sequence[Point]) -> tuple[list[int], list[float]]:
    """The trend line of a series' returns: the positions and IQMs of its nights, experiments left out."""
    kept = [(i, p.iqm[0]) for i, p in enumerate(points) if not is_experiment(p)]
    return [i for i, _ in kept], [y for _, y in kept]


# ------------------------------------------------------------------------------------ figures


def plot_history(series: Sequence[Series], path: Path) -> Path:
    """Per series (those given, in order): IQM with CI by session, and env steps per second; one PNG."""
    plt = _plt()
    fig, axes = plt.subplots(max(len(series), 1), 2, figsize=(13, 3.6 * max(len(series), 1)), squeeze=False)
    for (ax_ret, ax_fps), one in zip(axes, series, strict=False):
        draw_series(ax_ret, ax_fps, one)
    if not series:
        for ax in axes[0]:
            ax.set_axis_off()
        axes[0][0].text(0.5, 0.5, "no series with several sessions yet", ha="center", transform=axes[0][0].transAxes)
    fig.legend(handles=_legend_handles(plt), loc="upper center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (3.6 * max(len(series), 1))))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def series_png(series: Series) -> bytes:
    """One series' two panels as PNG bytes (the page embeds them one per series)."""
    plt = _plt()
    fig, (ax_ret, ax_fps) = plt.subplots(1, 2, figsize=(12.4, 3.7))
    draw_series(ax_ret, ax_fps, series, titled=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def draw_series(ax_ret: Any, ax_fps: Any, series: Series, *, titled: bool = True) -> None:
    """Draw a series' returns (``ax_ret``) and throughput (``ax_fps``) by session, experiments hollow.

    Args:
        ax_ret: The axes of the IQM of the eval return with its CI.
        ax_fps: The axes of env steps per second (every run, and the nights' mean).
        series: The series.
        titled: Whether the return panel's title names the series (the page names it in a heading).
    """
    _draw_returns(ax_ret, series)
    _draw_throughput(ax_fps, series)
    _, _, task, preset, _ = series.key
    name = f"{task} / {preset}  ({series.key[0]}/{series.key[1]}, {series.key[4]:g} s): " if titled else ""
    ax_ret.set_title(f"{name}eval return IQM [95 % CI]", fontsize=9)
    ax_fps.set_title("env steps per second (runs, and the nights' mean)", fontsize=9)
    labels = _tick_labels(series.points)
    for ax in (ax_ret, ax_fps):
        ax.set_xticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(alpha=0.3)


def _draw_returns(ax: Any, series: Series) -> None:
    low, high = return_limits(series.points)
    ax.plot(*trend(series.points), color=TREND_COLOR, linewidth=1, zorder=1)
    for i, (point, flags) in enumerate(zip(series.points, series.flags, strict=True)):
        color, face = _colors(point)
        value, ci_low, ci_high = point.iqm
        if low <= value <= high:
            bars = ax.errorbar(i, value, yerr=[[value - ci_low], [ci_high - value]], fmt="o", color=color,
                               markerfacecolor=face, capsize=3, zorder=2)  # fmt: skip
            if is_experiment(point):
                bars.lines[2][0].set_linestyle("--")
            _mark_shift(ax, i, min(ci_high, high), flags, "return")
        else:
            _mark_clipped(ax, i, point, value=value, limits=(low, high), flags=flags, name="return",
                          num_points=len(series.points))  # fmt: skip
    ax.set_ylim(low, high)


def _draw_throughput(ax: Any, series: Series) -> None:
    low, high = throughput_limits(series.points)
    nights = [(i, float(np.mean(p.env_fps))) for i, p in enumerate(series.points) if not is_experiment(p)]
    ax.plot([i for i, _ in nights], [y for _, y in nights], color=THROUGHPUT_COLOR, linewidth=1, zorder=1)
    for i, (point, flags) in enumerate(zip(series.points, series.flags, strict=True)):
        values = np.asarray(point.env_fps, dtype=float)
        face = "white" if is_experiment(point) else THROUGHPUT_COLOR
        mean = float(values.mean())
        if low <= mean <= high:
            ax.scatter(np.full(values.size, i), values, s=14, color=THROUGHPUT_COLOR, facecolors=face, alpha=0.8)
            _mark_shift(ax, i, min(float(values.max()), high), flags, "throughput")
        else:
            _mark_clipped(ax, i, point, value=mean, limits=(low, high), flags=flags, name="throughput",
                          num_points=len(series.points), color=THROUGHPUT_COLOR)  # fmt: skip
    ax.set_ylim(low, high)


def _colors(point: Point) -> tuple[str, str]:
    """Edge and face colour of a point: its verdict's colour, hollow (white face) for an experiment."""
    color = VERDICT_COLORS.get(point.verdict or "", NO_VERDICT_COLOR)
    return color, "white" if is_experiment(point) else color


def _mark_clipped(
    ax: Any,
    x: int,
    point: Point,
    *,
    value: float,
    limits: tuple[float, float],
    flags: Sequence[str],
    name: str,
    num_points: int,
    color: str | None = None,
) -> None:
    """A triangle at the y-range's edge for a point beyond it, its value (and "experiment") beside it.

    A shift flag of the point goes beside the marker, not above it (stacked on the edge marker it
    would read as one more clipped point).
    """
    edge_color, face = _colors(point)
    color = color or edge_color
    above = value > limits[1]
    edge = limits[1] if above else limits[0]
    ax.plot(x, edge, marker="^" if above else "v", markersize=9, color=color, markerfacecolor=face,
            clip_on=False, zorder=3)  # fmt: skip
    text = f"{value:.4g}" + (" (experiment)" if is_experiment(point) else "")
    left = x >= (num_points - 1) / 2  # text towards the middle, never off the panel's side
    ax.annotate(text, (x, edge), textcoords="offset points", xytext=(-8 if left else 8, -9 if above else 9),
                ha="right" if left else "left", va="center", fontsize=8, color=color)  # fmt: skip
    # The shift flag beside the edge marker, away from the text.
    _mark_shift(ax, x, edge, flags, name, offset=(9 if left else -9, -9 if above else 9))


def _tick_labels(points: Sequence[Point]) -> list[str]:
    """Per point its label; with more than `MAX_TICK_LABELS` points only every k-th and the last are labelled.

    Labels are about as wide as a point's slot at seven sessions, so more would overlap.
    """
    step = -(-len(points) // MAX_TICK_LABELS)
    return [_tick_label(p) if i % step == 0 or i == len(points) - 1 else "" for i, p in enumerate(points)]


def _tick_label(point: Point) -> str:
    """Date, commit (``dirty`` below it), "experiment" and the plant, then what moved if the gate saw a change."""
    commit, dirty, _ = point.commit.partition("+dirty")
    lines = [f"{point.date[5:10]} {point.date[11:16]}".strip(), commit + ("\ndirty" if dirty else "")]
    if is_experiment(point):
        lines += ["experiment", f"[{point.plant}]"]
    if point.verdict in ("regressed", "improved") and point.moved:
        lines.append(f"moved: {point.moved}")
    return "\n".join(lines)


def _legend_handles(plt: Any) -> list[Any]:
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=c, label=v) for v, c in VERDICT_COLORS.items()]
    handles.append(plt.Line2D([], [], marker="o", linestyle="", color=NO_VERDICT_COLOR, label=NO_VERDICT))
    handles.append(plt.Line2D([], [], marker="o", linestyle="", color="#555555", markerfacecolor="white",
                              label="experiment (planted fault)"))  # fmt: skip
    handles.append(plt.Line2D([], [], marker="v", linestyle="", color="#b00020", label="shift flagged (down)"))
    handles.append(plt.Line2D([], [], marker="^", linestyle="", color="#555555", markerfacecolor="white",
                              label="beyond the y-range (value beside)"))  # fmt: skip
    return handles


def _mark_shift(
    ax: Any, x: int, y: float, shifts: Sequence[str], name: str, *, offset: tuple[float, float] = (0.0, 10.0)
) -> None:
    """A triangle ``offset`` points from ``(x, y)`` where ``shifts`` flags ``name`` (down: red, up: green)."""
    for flag in shifts:
        if flag.startswith(name):
            down = flag.endswith("down")
            ax.annotate(
                "\u25bc" if down else "\u25b2", (x, y), textcoords="offset points", xytext=offset, ha="center",
                va="center", fontsize=10, color="#b00020" if down else "#0a7d28",
            )  # fmt: skip


def _notes(history: History, frame: pd.DataFrame) -> list[str]:
    """The page's explanation, under the summary."""
    num_series = frame[["task", "preset"]].drop_duplicates().shape[0]
    return [
        f"{history.num_sessions} sessions, {num_series} task/preset series. Each point: the IQM of the session's"
        f" evaluation returns with its 95 % stratified-bootstrap CI (the numbers of the session's report),"
        f" coloured by the session's verdict against its baseline. A triangle flags a shift: the session differs"
        f" from the {WINDOW} nights before it (pooled, same budget, experiments left out) by the gate's"
        f" permutation test at level {SHIFT_LEVEL} in the return (left) or in env steps per second (right)."
        f" 'moved' says what the verdict attributed the change to. Each y-range holds the nights within"
        f" {FENCE:g} spreads of the quartiles (the spread: the larger of the interquartile range and the median"
        f" CI); a point beyond it sits at the edge as a triangle with its value. A series with one session so"
        f" far is a row of the table below the plots. A run whose record is copied into several sessions (a"
        f" report setting new runs beside a baseline's) counts once, in the session whose last run started"
        f" first: {history.copies} copied records were not counted again.",
        f"Data: history.csv beside this page; machine(s): {', '.join(sorted(set(frame.machine)))}.",
    ]
