"""Reports from run records: Markdown, self-contained HTML, PNG figures, CSV and LaTeX.

``reports/<session>/`` holds ``index.md``, ``index.html`` (figures embedded), ``figures/*.png``,
``results.csv`` (one row per run), ``table.tex`` (IQM [95 % CI] for papers), ``runs/*.json`` and
``environment.json``.  Everything is rebuilt from the run records alone (``sacbench report DIR``).
"""

from __future__ import annotations

import base64
import html
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from sacbench import metrics
from sacbench.baselines import Baseline, stat_key
from sacbench.compare import DEFAULT_RULE, CompareRule, Comparison, Verdict
from sacbench.history_page import history_anchor
from sacbench.records import RunRecord, save_run, to_jsonable, usable, write_json_atomic
from sacbench.stats import (
    CONFIDENCE,
    DEFAULT_REPS,
    Interval,
    aggregate_metrics,
    iqm_curves,
    performance_profiles,
    probability_of_improvement,
    resample_curve,
)
from sacbench.tasks import return_scale

DEFAULT_AGAINST = ("ppo_sb3",)
"""The presets every other preset is compared to by probability of improvement (where they ran);
``sacbench report --against`` names others, e.g. the post's SAC recipes."""
GRID_POINTS = 40


def session_name(now: datetime | None = None) -> str:
    """UTC timestamp usable as a folder name: ``2026-11-24T02-13-45Z``."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H-%M-%SZ")


# --------------------------------------------------------------------------------------- tables


def results_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Tidy table, one row per run."""
    rows = []
    for r in records:
        f = r.final
        rows.append(
            {
                "run_id": r.run_id,
                "task": r.task,
                "robot": r.robot,
                "terrain": r.terrain,
                "backend": r.backend,
                "scale": r.scale,
                "preset": r.preset,
                "algo": r.algo,
                "seed": r.seed,
                "status": r.status.value,
                "num_envs": r.num_envs,
                "budget_s": r.budget["seconds"],
                "train_s": r.timing.train_s,
                "compile_s": r.timing.compile_s,
                "overrun_s": r.timing.overrun_s,
                "cpu_share": r.timing.cpu_s / r.timing.total_s if r.timing.total_s else None,
                "env_steps": f.get(metrics.ENV_STEPS),
                "grad_steps": f.get(metrics.GRAD_STEPS),
                "replay_ratio": f.get(metrics.REPLAY_RATIO),
                "env_fps": f.get(metrics.ENV_FPS),
                "eval_return": f.get(metrics.EVAL_RETURN),
                "eval_return_normalized": r.metric(metrics.EVAL_RETURN) / return_scale(r.task),
                "eval_episode_length": f.get(metrics.EVAL_LENGTH),
                "eval_fall_rate": f.get(metrics.EVAL_FALL_RATE),
                "terrain_level": f.get(metrics.TERRAIN_LEVEL),
                "terrain_level_late": r.metric(metrics.TERRAIN_LEVEL_LATE),
                "actions_at_bounds": f.get(metrics.ACTIONS_AT_BOUNDS),
                "bounds_mode": r.bounds.get("mode"),
                "git_commit": r.provenance.get("git", {}).get("commit"),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class Summary:
    """Aggregates of one (task, preset): return and terrain-level intervals (the late level, as gated)."""

    task: str
    preset: str
    seeds: list[int]
    failed: list[str]
    ret: dict[str, Interval] = field(default_factory=dict)
    ret_normalized: dict[str, Interval] = field(default_factory=dict)
    level: dict[str, Interval] = field(default_factory=dict)
    budget_s: float = 0.0


def summarize(records: Sequence[RunRecord], seed: int, reps: int) -> list[Summary]:
    """Aggregates per (task, preset) (rliable, seeded per key)."""
    groups: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for r in records:
        groups[(r.task, r.preset)].append(r)
    summaries = []
    for (task, preset), runs in sorted(groups.items()):
        # In seed order, as baselines and the gate take them: the stratified bootstrap depends on
        # the order of the rows (run ids sort s10 before s2).
        good = sorted((r for r in runs if usable(r)), key=lambda r: r.seed)
        s = Summary(task, preset, [r.seed for r in good], [r.run_id for r in runs if not usable(r)])
        s.budget_s = float(runs[0].budget["seconds"])
        if good:
            # The gate's keys (`stat_key`): a verdict and this table print the same interval.
            backend, scale = good[0].backend, good[0].scale
            returns = np.array([[r.metric(metrics.EVAL_RETURN)] for r in good])
            key = stat_key(backend, scale, task, preset, metrics.EVAL_RETURN)
            s.ret = aggregate_metrics({key: returns}, seed, reps)[key]
            key = f"{key}/normalized"
            s.ret_normalized = aggregate_metrics({key: returns / return_scale(task)}, seed, reps)[key]
            levels = np.array([[r.metric(metrics.TERRAIN_LEVEL_LATE)] for r in good])
            if np.isfinite(levels).all() and runs[0].terrain == "rough":
                key = stat_key(backend, scale, task, preset, metrics.TERRAIN_LEVEL_LATE)
                s.level = aggregate_metrics({key: levels}, seed, reps)[key]
        summaries.append(s)
    return summaries


# --------------------------------------------------------------------------------------- figures


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colors(presets: Sequence[str]) -> dict[str, Any]:
    import seaborn as sns  # type: ignore[import-untyped]

    palette = sns.color_palette("colorblind", max(len(presets), 3))
    return {p: palette[i % len(palette)] for i, p in enumerate(presets)}


def _curve_matrix(
    curves: Sequence[Sequence[dict[str, Any]]], x_key: str, y_key: str, grid: np.ndarray
) -> np.ndarray | None:
    """``(num_runs, len(grid))`` resampled curves (one list of rows per run); runs without any value are dropped."""
    rows = []
    for curve in curves:
        x = np.array([np.nan if row.get(x_key) is None else row[x_key] for row in curve], dtype=float)
        y = np.array([np.nan if row.get(y_key) is None else row[y_key] for row in curve], dtype=float)
        if np.isfinite(y).any():
            rows.append(resample_curve(x, y, grid))
    return np.array(rows) if rows else None


def _rows(runs: Sequence[RunRecord], x_key: str) -> list[list[dict[str, Any]]]:
    """The rows a preset's curve is drawn from, one list per run.

    Against env steps, the checkpoints when every run kept them: rows at the same env-step counts on
    every machine, each the mean return of the latest 100 episodes (`sacbench.fingerprint`), so the
    curve compares row by row across machines and speeds.  Otherwise (against time, or records made
    before checkpoints) the curve rows, logged every 5 s of training.
    """
    if x_key == "env_steps" and all(r.checkpoints for r in runs):
        return [list(r.checkpoints) for r in runs]
    return [list(r.curves) for r in runs]


def _baseline_rows(baseline: Baseline, x_key: str) -> list[list[dict[str, Any]]]:
    """A baseline's rows, chosen as `_rows` chooses a session's."""
    if x_key == "env_steps" and baseline.checkpoints and all(baseline.checkpoints):
        return baseline.checkpoints
    return baseline.curves


def sample_indexed(records: Sequence[RunRecord]) -> bool:
    """Whether the samples figure of these records is drawn from checkpoints (`_rows`) throughout."""
    return all(r.checkpoints for r in records if r.curves)


def _curve_end(curves: Sequence[Sequence[dict[str, Any]]], x_key: str) -> float:
    """The largest x every run reached."""
    return min((max((row.get(x_key) or 0) for row in curve) if curve else 0) for curve in curves)


def env_steps_label(steps: float, _position: int | None = None) -> str:
    """An env-step tick in millions: ``0.2 M``, ``1 M``, ``1.25 M`` (``0`` at the origin).

    Six-digit step counts run into each other on a 5-inch panel ("100000200000..."); in millions
    the labels are short, and read as the step counts the documentation quotes ("0.51-0.67 M").
    """
    return "0" if steps == 0 else f"{steps / 1e6:.3g} M"


def plot_curves(
    records: Sequence[RunRecord],
    x_key: str,
    y_key: str,
    path: Path,
    *,
    seed: int,
    reps: int,
    ylabel: str,
    colors: dict[str, Any] | None = None,
    baselines: Mapping[tuple[str, str], Baseline] | None = None,
) -> Path | None:
    """`curves_figure` saved as a PNG at ``path`` (``None``: no curve to draw)."""
    fig = curves_figure(records, x_key, y_key, seed=seed, reps=reps, ylabel=ylabel, colors=colors, baselines=baselines)
    if fig is None:
        return None
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def curves_figure(
    records: Sequence[RunRecord],
    x_key: str,
    y_key: str,
    *,
    seed: int,
    reps: int,
    ylabel: str,
    colors: dict[str, Any] | None = None,
    baselines: Mapping[tuple[str, str], Baseline] | None = None,
) -> Any | None:
    """IQM across seeds of a curve against ``x_key``, with 95 % CI bands; one panel per task.

    With ``baselines``, each preset's baseline curve is drawn dashed in the preset's colour beneath
    tonight's (baselines keep time, env steps and training return per seed).  The y-range covers
    the presets expected to learn, after their first tenth: a negative control's -300 of random
    flailing would flatten every other curve, so it is drawn clipped and labelled "off scale".
    Env steps are ticked in millions (`env_steps_label`).

    Returns:
        The matplotlib figure, laid out, or ``None`` when no record has a curve.
    """
    plt = _plt()
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    by_task: dict[str, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r.curves:
            by_task[r.task][r.preset].append(r)
    tasks = sorted(by_task)
    if not tasks:
        return None
    colors = colors or _colors(sorted({p for t in tasks for p in by_task[t]}))
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.2 * len(tasks), 3.6), squeeze=False)
    drawn = False
    for ax, task in zip(axes[0], tasks, strict=True):
        shown: dict[str, np.ndarray] = {}
        lines = {}
        for preset, runs in sorted(by_task[task].items()):
            series = [("", _rows(runs, x_key), "-")]
            baseline = (baselines or {}).get((task, preset))
            stored = _baseline_rows(baseline, x_key) if baseline is not None else []
            if stored and stored[0] and y_key in stored[0][0]:
                series.append((" baseline", stored, "--"))
            for suffix, curves, style in series:
                end = _curve_end(curves, x_key)
                grid = np.linspace(0, end, GRID_POINTS)
                matrix = _curve_matrix(curves, x_key, y_key, grid) if end > 0 else None
                if matrix is None:
                    continue
                key = f"{task}/{preset}{suffix}/{x_key}/{y_key}"
                point, ci = iqm_curves({key: matrix}, seed, reps)[key]
                (line,) = ax.plot(grid, point, style, color=colors[preset], label=f"{preset}{suffix} (n={len(matrix)})")
                ax.fill_between(grid, ci[0], ci[1], color=colors[preset], alpha=0.2 if not suffix else 0.08)
                shown[f"{preset}{suffix}"], lines[f"{preset}{suffix}"] = ci[:, GRID_POINTS // 10 :], line
                drawn = True
        _fit_y(ax, shown, lines)
        ax.set_title(task)
        ax.set_xlabel({"time_s": "training time (s, compile excluded)", "env_steps": "env steps"}[x_key])
        if x_key == "env_steps":
            # At most 6 intervals of 1, 2 or 5 x 10^k steps: "0.25 M" labels would crowd a panel.
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
            ax.xaxis.set_major_formatter(FuncFormatter(env_steps_label))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if not drawn:
        plt.close(fig)
        return None
    fig.tight_layout()
    return fig


def _fit_y(ax: Any, shown: dict[str, np.ndarray], lines: dict[str, Any]) -> None:
    """The y-range of the learning presets' bands after their first tenth; others clipped and labelled.

    A band is labelled off scale when its median lies outside the range: a band whose edge just
    reaches into it shows a sliver, not a curve a reader can find from the legend.
    """
    if not shown:
        return
    learners = {k: v for k, v in shown.items() if _learns(k.removesuffix(" baseline"))} or shown
    low, high = min(float(c.min()) for c in learners.values()), max(float(c.max()) for c in learners.values())
    margin = 0.08 * max(high - low, 1e-6)
    low, high = low - margin, high + margin
    ax.set_ylim(low, high)
    for name, band in shown.items():
        if name not in learners and not low <= float(np.median(band)) <= high:
            lines[name].set_label(f"{lines[name].get_label()}, off scale: {float(np.median(band)):.0f}")


def _learns(preset: str) -> bool:
    """Whether a preset is expected to learn (unknown presets, e.g. preset files, count as learning)."""
    from sacbench.algos import PRESETS

    return PRESETS[preset].learns if preset in PRESETS else True


def plot_intervals(summaries: Sequence[Summary], path: Path) -> Path | None:
    """IQM, median and mean of the evaluation return with 95 % CIs, per task and preset."""
    plt = _plt()
    rows = [s for s in summaries if s.ret]
    if not rows:
        return None
    metrics = ("IQM", "Median", "Mean")
    fig, axes = plt.subplots(1, 3, figsize=(13, 0.45 * len(rows) + 1.2), sharey=True)
    labels = [f"{s.task} / {s.preset}" for s in rows]
    y = np.arange(len(rows))
    for ax, metric in zip(axes, metrics, strict=True):
        points = np.array([s.ret[metric].point for s in rows])
        lows = np.array([s.ret[metric].low for s in rows])
        highs = np.array([s.ret[metric].high for s in rows])
        ax.errorbar(points, y, xerr=[points - lows, highs - points], fmt="o", capsize=3)
        ax.set_title(f"{metric} eval return")
        ax.grid(alpha=0.3)
    axes[0].set_yticks(y, labels, fontsize=8)
    axes[0].invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def probability_pairs(
    records: Sequence[RunRecord], against: Sequence[str] = DEFAULT_AGAINST
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``"task: x,ref"`` pairs of ``(runs, 1)`` eval returns, keyed by `pair_key`.

    Every preset is paired with every reference of ``against`` that ran on the same task; a
    reference is not paired with itself.
    """
    by_key: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records:
        if usable(r):
            by_key[(r.task, r.preset)].append(r.metric(metrics.EVAL_RETURN))
    pairs = {}
    for task, preset in sorted(by_key):
        for reference in against:
            if preset != reference and (task, reference) in by_key:
                pairs[pair_key(task, preset, reference)] = (
                    np.array(by_key[(task, preset)])[:, None],
                    np.array(by_key[(task, reference)])[:, None],
                )
    return pairs


def pair_key(task: str, preset: str, reference: str) -> str:
    """``"a1-flat: rsl_rl_sac,ppo_sb3"``: the key (and bootstrap seed) of P(preset > reference) on a task."""
    return f"{task}: {preset},{reference}"


def plot_probability_of_improvement(poi: dict[str, Interval], path: Path) -> Path | None:
    """P(X > Y) with 95 % CIs, as rliable draws it."""
    if not poi:
        return None
    plt = _plt()
    from rliable import plot_utils

    estimates = {k: v.point for k, v in poi.items()}
    intervals = {k: np.array([v.low, v.high]) for k, v in poi.items()}
    # rliable prints the pair's names on both sides and a header above each column: below about
    # 2.6 inches a single pair's headers and tick labels overprint each other.
    fig, ax = plt.subplots(figsize=(10, max(2.6, 0.5 * len(poi) + 1.6)))
    plot_utils.plot_probability_of_improvement(
        estimates, intervals, ax=ax, pair_separator=",", xticks=[0.0, 0.25, 0.5, 0.75, 1.0]
    )
    # rliable zooms on the data; a probability reads only on its whole range, with 0.5 (a tie) marked.
    ax.set_xlim(0.0, 1.0)
    ax.axvline(0.5, color="grey", linestyle=":", linewidth=1)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_profiles(
    records: Sequence[RunRecord], path: Path, seed: int, reps: int, colors: dict[str, Any] | None = None
) -> Path | None:
    """Performance profiles of the normalised return (all runs of a preset pooled)."""
    scores: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if usable(r):
            scores[r.preset].append(r.metric(metrics.EVAL_RETURN) / return_scale(r.task))
    if not scores:
        return None
    plt = _plt()
    from rliable import plot_utils

    arrays = {k: np.array(v)[:, None] for k, v in sorted(scores.items())}
    low = min(float(a.min()) for a in arrays.values())
    taus = np.linspace(min(low, 0.0), 1.0, 81)
    profiles, cis = performance_profiles(arrays, taus, seed, reps)
    colors = colors or _colors(list(arrays))
    fig, ax = plt.subplots(figsize=(7, 4))
    plot_utils.plot_performance_profiles(
        profiles, taus, performance_profile_cis=cis, colors=colors, ax=ax,
        xlabel=r"normalised eval return $\tau$ (1 = perfect tracking)",
    )  # fmt: skip
    handles = [Line2D([0], [0], color=colors[name], label=name) for name in arrays]
    ax.legend(handles=handles, fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------- documents


def latex_table(summaries: Sequence[Summary], caption: str) -> str:
    """A booktabs table: IQM [95 % CI] of the return (and terrain level), seeds, budget."""
    lines = [
        "% Generated by sacbench; \\usepackage{booktabs}",
        "\\begin{table}[t]",
        "\\centering",
        "\\begin{tabular}{llrrrr}",
        "\\toprule",
        "Task & Preset & Return IQM [95\\% CI] & Late terrain level IQM [95\\% CI] & Seeds & Budget (s) \\\\",
        "\\midrule",
    ]
    for s in summaries:
        ret = s.ret["IQM"].format() if s.ret else "--"
        level = s.level["IQM"].format() if s.level else "--"
        name = s.preset.replace("_", "\\_")
        lines.append(f"{s.task} & {name} & {ret} & {level} & {len(s.seeds)} & {s.budget_s:g} \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", f"\\caption{{{caption}}}", "\\end{table}", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Styled:
    """A table cell drawn with a class of its own (a plain cell's class is its text)."""

    text: str
    css_class: str

    def __str__(self) -> str:
        return self.text


@dataclass
class Document:
    """Report content, rendered both as Markdown and as HTML."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        """A second-level heading."""
        self.blocks.append(("h2", text))

    def paragraph(self, text: str) -> None:
        """A paragraph of text."""
        self.blocks.append(("p", text))

    def bullets(self, items: Sequence[str]) -> None:
        """A bullet list."""
        self.blocks.append(("ul", list(items)))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, wide_last: bool = False) -> None:
        """A table (cells rendered with str; a `Styled` cell keeps its class).

        With ``wide_last``, each row's last cell (a long text, such as a verdict's details) is drawn
        apart from the others: in HTML on a row of its own beneath them, across the table; in
        Markdown as a bullet beneath the table.  As a column it would squeeze every other column's
        numbers onto several lines.
        """
        self.blocks.append(("table", (list(headers), [[_cell(c) for c in row] for row in rows], wide_last)))

    def links(self, items: Sequence[tuple[str, str]]) -> None:
        """A bullet list of links, ``(text, relative URL)`` each."""
        self.blocks.append(("links", list(items)))

    def figure(self, path: Path, caption: str) -> None:
        """A PNG figure with its caption."""
        self.blocks.append(("img", (path, caption)))

    def markdown(self, root: Path) -> str:
        """Markdown, figures linked relative to ``root``."""
        out = [f"# {self.title}", ""]
        for kind, content in self.blocks:
            if kind == "h2":
                out += [f"## {content}", ""]
            elif kind == "p":
                out += [content, ""]
            elif kind == "ul":
                out += [f"- {item}" for item in content] + [""]
            elif kind == "links":
                out += [f"- [{text}]({url})" for text, url in content] + [""]
            elif kind == "table":
                out += _markdown_table(*content)
            elif kind == "img":
                path, caption = content
                out += [f"![{caption}]({path.relative_to(root).as_posix()})", "", f"*{caption}*", ""]
        return "\n".join(out)

    def html(self) -> str:
        """Self-contained HTML, figures embedded."""
        parts = [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;"
            "color:#222}table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
            "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}"
            "tr.wide td{color:#444;font-size:0.95em;border-top:none;padding-bottom:8px}"
            "img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:0.9em}"
            ".regressed{color:#b00020;font-weight:bold}.improved{color:#0a7d28;font-weight:bold}"
            ".inconclusive{color:#8a6d00}.unchanged{color:#333}"
            ".control{color:#9a4d00;background:#fff3dc;font-weight:bold}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for kind, content in self.blocks:
            if kind == "h2":
                parts.append(f"<h2>{html.escape(content)}</h2>")
            elif kind == "p":
                parts.append(f"<p>{html.escape(content)}</p>")
            elif kind == "ul":
                parts.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in content) + "</ul>")
            elif kind == "links":
                items = (f"<li><a href='{html.escape(url)}'>{html.escape(text)}</a></li>" for text, url in content)
                parts.append("<ul>" + "".join(items) + "</ul>")
            elif kind == "table":
                parts.append(_html_table(*content))
            elif kind == "img":
                path, caption = content
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                parts.append(
                    f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
        parts.append("</body></html>")
        return "\n".join(parts)


def _markdown_table(headers: list[str], rows: list[list[Styled]], wide_last: bool) -> list[str]:
    """A table's Markdown lines; with ``wide_last``, each row's last cell as a bullet beneath the table.

    The bullet is named by the row's first two cells (task / preset): as a column, a verdict's
    details would stretch every row to many lines on GitHub and in the docs site.
    """
    narrow = headers[:-1] if wide_last else headers
    cells = [[c.text.replace("|", "\\|") for c in row[: len(narrow)]] for row in [[_cell(h) for h in narrow], *rows]]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(narrow)]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]] + [""]
    if wide_last:
        lines += [f"- {' / '.join(c.text for c in row[:2])}, {headers[-1]}: {row[-1].text}" for row in rows] + [""]
    return lines


def _html_table(headers: list[str], rows: list[list[Styled]], wide_last: bool) -> str:
    """A table's HTML; with ``wide_last`` each row's last cell on a row of its own (`Document.table`)."""

    def row_html(cells: list[Styled]) -> str:
        return "<tr>" + "".join(f"<td{_class_attribute(c)}>{html.escape(c.text)}</td>" for c in cells) + "</tr>"

    if not wide_last:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join(row_html(row) for row in rows)
    else:
        *narrow, wide = headers
        head = "".join(f"<th>{html.escape(h)}</th>" for h in narrow)
        body = "".join(
            row_html(row[:-1])
            + f"<tr class='wide'><td colspan='{len(narrow)}'>{html.escape(wide)}: {html.escape(row[-1].text)}</td></tr>"
            for row in rows
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_VERDICT_WORDS = frozenset(v.value for v in Verdict)


def _class_attribute(cell: Styled) -> str:
    """`` class='...'`` for a cell with a class, nothing for one without."""
    return f" class='{html.escape(cell.css_class)}'" if cell.css_class else ""


def _cell(value: Any) -> Styled:
    """A table cell: a `Styled` one as it is; any other its text, classed only when it is a verdict's word.

    A verdict written as a plain word (the history's table) is coloured by its class; any other text
    (a whole reason, an interval) has no class to give.
    """
    if isinstance(value, Styled):
        return value
    text = str(value)
    return Styled(text, text if text in _VERDICT_WORDS else "")


def _environment(records: Sequence[RunRecord]) -> dict[str, Any]:
    first = records[0].provenance
    return {
        "python": first.get("python"),
        "platform": first.get("platform"),
        "packages": first.get("packages"),
        "hardware": first.get("hardware"),
        "git_commits": sorted({str(r.provenance.get("git", {}).get("commit")) for r in records}),
        "dirty": sorted({str(r.provenance.get("git", {}).get("dirty")) for r in records}),
        "threads": first.get("threads"),
    }


@dataclass(frozen=True)
class ReportResult:
    """Where the report went and what the gate said."""

    directory: Path
    comparisons: tuple[Comparison, ...]

    @property
    def regressions(self) -> list[Comparison]:
        """Comparisons whose verdict is ``regressed``."""
        return [c for c in self.comparisons if c.verdict is Verdict.REGRESSED]


@dataclass(frozen=True)
class _Context:
    """What every section of a report needs."""

    records: list[RunRecord]
    frame: pd.DataFrame
    summaries: list[Summary]
    environment: dict[str, Any]
    seed: int
    reps: int
    baselines: dict[tuple[str, str], Baseline] = field(default_factory=dict)
    against: tuple[str, ...] = DEFAULT_AGAINST
    poi: dict[str, Interval] = field(default_factory=dict)
    """P(preset > reference) with its CI, by `pair_key`, for every reference of ``against``."""

    @property
    def backends(self) -> str:
        return ", ".join(sorted({f"{r.backend}/{r.scale}" for r in self.records}))

    @property
    def budgets(self) -> str:
        return ", ".join(f"{b:g}" for b in sorted({r.budget["seconds"] for r in self.records}))

    @property
    def hardware(self) -> str:
        hardware = self.environment.get("hardware") or {}
        gpus = ", ".join(g["name"] for g in hardware.get("gpus", [])) or "no GPU"
        return f"{hardware.get('cpu_model', '?')}; {gpus}"


def _header(doc: Document, ctx: _Context) -> None:
    packages = ", ".join(
        f"{k} {v}" for k, v in (ctx.environment.get("packages") or {}).items() if v and k in _KEY_PACKAGES
    )
    env = ctx.environment
    doc.bullets(
        [
            f"backend/scale: {ctx.backends}; budget: {ctx.budgets} s per run (training wall-clock, JIT compile"
            " excluded and recorded apart)",
            f"runs: {len(ctx.records)} ({sum(usable(r) for r in ctx.records)} finished); tasks:"
            f" {', '.join(sorted({r.task for r in ctx.records}))}",
            f"hardware: {ctx.hardware}; packages: {packages}",
            f"git: {', '.join(env['git_commits'])} (dirty: {', '.join(env['dirty'])})",
            f"statistics: rliable, {int(CONFIDENCE * 100)} % stratified bootstrap CIs, {ctx.reps} replications,"
            f" bootstrap seed {ctx.seed} (every interval is reproducible from it)",
            *_experiment(ctx.records),
        ]
    )


def _experiment(records: Sequence[RunRecord]) -> list[str]:
    """The header line of a session whose records declare a planted fault (``provenance.plant``), if any."""
    plants = sorted({str(r.provenance["plant"]) for r in records if r.provenance.get("plant")})
    if not plants:
        return []
    return [
        f"experiment: a planted fault ({', '.join(plants)}; benchmarks/plants.py), not a night: the history page"
        " keeps it out of trends"
    ]


def _verdicts(doc: Document, comparisons: Sequence[Comparison], rule: CompareRule | None) -> None:
    doc.heading("Verdicts against the stored baseline")
    rule = rule or DEFAULT_RULE
    doc.paragraph(
        f"Rule {rule}: per gated metric, an exact permutation test of the difference of the {rule.statistic}s"
        f" over the seeds, one-sided each way, at level {rule.alpha:g} shared among the metrics (Bonferroni):"
        " a night where nothing changed reads regressed with probability at most that level."
        " unchanged = no significant change; 'detects' is the change found with 80 % probability at these"
        " seed counts. inconclusive = nothing comparable or too few seeds. 'moved' says whether throughput"
        " (env steps/s) or learning at matched env steps changed. P(now > baseline) is rliable's"
        " probability of improvement. A negative control (a preset expected not to learn, e.g."
        " sac_tuned_legacy) reads the other way round: 'control improved' means the effect it controls for"
        " shrank, 'control regressed' that it grew (the gate still fails a session on any regressed item)."
    )
    rows = []
    for c in comparisons:
        ret = next((m for m in c.metrics if m.metric == metrics.EVAL_RETURN), None)
        values = (
            [
                ret.current.format(),
                ret.baseline.format(),
                f"{ret.difference:+.2f}",
                f"{ret.detectable:.2f}",
                ret.probability_of_improvement.format(),
            ]
            if ret
            else ["--"] * 5
        )
        moved = c.attribution.cause.value if c.attribution is not None else "--"
        rows.append([c.task, c.preset, Styled(c.look.text, c.look.css_class), moved, *values, c.seeds, c.reason])
    headers = ["task", "preset", "verdict", "moved", "IQM now [CI]", "IQM baseline [CI]",
               f"{rule.statistic} difference", "detects (80 %)", "P(now > baseline)"]  # fmt: skip
    doc.table([*headers, "seeds", "details"], rows, wide_last=True)
    doc.paragraph(
        f"How the gate decides, its simulated error rates and the sessions it was checked on: {DOCS_GATE} in"
        " sacbench's documentation ('The gate'). Each item over the nights, where `sacbench history` of this"
        " report's parent folder has written the history page beside it:"
    )
    doc.links([(f"{c.task} / {c.preset} over the nights", history_link(c.task, c.preset)) for c in comparisons])


DOCS_GATE = "docs/gate.md"
"""The documentation page that explains every verdict (its method, rates and checked sessions)."""


def history_link(task: str, preset: str) -> str:
    """The link from a session report to its item on the history page.

    ``sacbench history REPORTS`` writes ``REPORTS/history/index.html`` and every session report sits in
    ``REPORTS/<session>/``, so the page is one folder up; the anchor is `history_anchor`'s.
    """
    return f"../history/index.html#{history_anchor(task, preset)}"


def _results(doc: Document, ctx: _Context) -> None:
    doc.heading("Results")
    doc.paragraph(
        "Evaluation return of the deterministic policy (the same number of full episodes from every env of"
        " the env that trained, re-seeded apart from training). Normalised return: divided by the best"
        " possible return (perfect tracking, no penalty); the optimality gap is the mean shortfall of the"
        " normalised return below 1. Late terrain level (rough tasks): the mean level the curve logged over"
        " the last 10 % of training, the level the gate and the thresholds read."
    )
    rows = []
    for s in ctx.summaries:
        failed = ", ".join(s.failed) or "--"
        if not s.ret:
            rows.append([s.task, s.preset, 0, "--", "--", "--", "--", "--", failed])
            continue
        runs = ctx.frame[(ctx.frame.task == s.task) & (ctx.frame.preset == s.preset) & ctx.frame.eval_return.notna()]
        level = s.level["IQM"].format() if s.level else "--"
        gap = s.ret_normalized["Optimality Gap"].format(3)
        fall = f"{runs.eval_fall_rate.mean():.2f}"
        rows.append(
            [
                s.task,
                s.preset,
                len(s.seeds),
                s.ret["IQM"].format(),
                s.ret["Mean"].format(),
                gap,
                level,
                fall,
                failed,
            ]
        )
    headers = ["task", "preset", "seeds", "return IQM [95% CI]", "return mean [CI]", "optimality gap [CI]"]
    doc.table([*headers, "late terrain level IQM [CI]", "fall rate", "failed runs"], rows)


def sample_indexed_figure(runs: Sequence[RunRecord]) -> tuple[int, np.ndarray] | None:
    """The training return of every run at the last checkpoint all of them reached: ``(env steps, (n,))``.

    Rows sit at the same env-step counts on every machine and average a fixed window of episodes
    (`sacbench.fingerprint`), so this is the number another machine reproduces, whatever its speed.
    ``None`` when a run kept no checkpoint or had no finished episode there.
    """
    rows = [r.checkpoints for r in runs]
    if not runs or not all(rows):
        return None
    last = min(len(r) for r in rows) - 1
    at = [r[last] for r in rows]
    if len({row["env_steps"] for row in at}) != 1 or any(row.get("return_mean") is None for row in at):
        return None
    return int(at[0]["env_steps"]), np.array([float(row["return_mean"]) for row in at])


def _cite(doc: Document, ctx: _Context, folder: Path) -> None:
    """How to cite and re-make this report's numbers: command, commit, packages, hardware, figures."""
    doc.heading("Cite this")
    env = ctx.environment
    packages = ", ".join(f"{k} {v}" for k, v in sorted((env.get("packages") or {}).items()) if v)
    doc.bullets(
        [
            f"re-make every run of this report: `sacbench reproduce {folder}` (prints per item whether learning was"
            " identical, the verdict against these runs and the throughput ratio)",
            f"commit: {', '.join(env['git_commits'])}; hardware: {ctx.hardware}"
            f" ({(env.get('hardware') or {}).get('num_usable_cpus', '?')} usable CPUs)",
            f"packages: {packages}",
        ]
    )
    rows = []
    for s in ctx.summaries:
        good = [r for r in ctx.records if (r.task, r.preset) == (s.task, s.preset) and usable(r)]
        wall = s.ret["IQM"].format() if s.ret else "--"
        figure = sample_indexed_figure(good)
        if figure is None:
            sampled, at = "--", "no checkpoints"
        else:
            steps, values = figure
            key = stat_key(good[0].backend, good[0].scale, s.task, s.preset, "checkpoint/return_mean")
            interval = aggregate_metrics({key: values[:, None]}, ctx.seed, ctx.reps)[key]["IQM"]
            sampled, at = interval.format(), f"{steps:,}"
        rows.append([s.task, s.preset, len(good), f"{ctx.budgets} s", wall, at, sampled])
    doc.table(
        ["task", "preset", "seeds", "budget", "eval return IQM [95% CI] (wall-clock)", "env steps",
         "training return IQM [95% CI] at those env steps (machine-independent)"],
        rows,
    )  # fmt: skip


def _references(ctx: _Context) -> list[str]:
    """The presets of ``ctx.against`` that some preset was compared with (they ran beside another)."""
    return [ref for ref in ctx.against if any(k.endswith(f",{ref}") for k in ctx.poi)]


def _improvement(doc: Document, ctx: _Context) -> None:
    """P(preset > reference) per task, one column per reference of ``ctx.against`` that ran."""
    references = _references(ctx)
    if not references:
        return
    doc.heading("Probability of improvement")
    doc.paragraph(
        "P(X > Y): the probability that a run of the row's preset scores a higher evaluation return than"
        " a run of the column's on the same task (rliable's probability of improvement, with its 95 %"
        " stratified bootstrap CI); 0.5 is a tie."
    )
    rows = []
    for s in ctx.summaries:
        cells = [ctx.poi.get(pair_key(s.task, s.preset, ref)) for ref in references]
        if any(cells):
            rows.append([s.task, s.preset, *(c.format() if c else "--" for c in cells)])
    doc.table(["task", "preset", *(f"P(> {ref}) [CI]" for ref in references)], rows)


def _figures(doc: Document, ctx: _Context, folder: Path) -> None:
    doc.heading("Figures")
    records, seed, reps = ctx.records, ctx.seed, ctx.reps
    colors = _colors(sorted({r.preset for r in records}))  # one colour per preset across the figures
    rough = [r for r in records if r.terrain == "rough"]
    poi = ctx.poi
    base = ctx.baselines
    against = " over the baseline's (dashed)" if base else ""
    specs = [
        (plot_curves(records, "time_s", "return_mean", folder / "curves_time.png", seed=seed, reps=reps,
                     ylabel="episode return", colors=colors, baselines=base),
         f"Training episode return against wall-clock{against} (IQM across seeds, 95 % CI band)"),
        (plot_curves(records, "env_steps", "return_mean", folder / "curves_samples.png", seed=seed, reps=reps,
                     ylabel="episode return", colors=colors, baselines=base),
         f"Training episode return against samples{against} (IQM across seeds, 95 % CI band)"
         + ("; at the checkpoints: the same env-step counts on every machine, each the mean of the latest"
            " 100 episodes" if sample_indexed(records) else "")),
        (plot_curves(rough, "time_s", "terrain_level", folder / "terrain_levels.png", seed=seed, reps=reps,
                     ylabel="mean terrain level", colors=colors),
         "Terrain curriculum level against wall-clock, rough tasks (IQM across seeds, 95 % CI band)"),
        (plot_intervals(ctx.summaries, folder / "intervals.png"), "IQM, median and mean eval return with 95 % CIs"),
        (plot_probability_of_improvement(poi, folder / "probability_of_improvement.png"),
         f"Probability that a preset beats {' / '.join(_references(ctx))} on a task (eval return), 95 % CIs"),
        (plot_profiles(records, folder / "performance_profiles.png", seed, reps, colors),
         "Performance profiles: fraction of runs whose normalised eval return exceeds tau"),
    ]  # fmt: skip
    for path, caption in specs:
        if path is not None:
            doc.figure(path, caption)


def _failures(doc: Document, records: Sequence[RunRecord]) -> None:
    failed = [r for r in records if not usable(r)]
    if not failed:
        return
    doc.heading("Runs that did not finish")
    rows = []
    for r in failed:
        lines = (r.error or "").strip().splitlines()
        rows.append([r.run_id, r.status.value, lines[-1] if lines else ""])
    doc.table(["run", "status", "error (last line)"], rows)


_HOW_TO_READ = (
    "IQM: the mean of the middle 50 % of runs, robust to outlier seeds (Agarwal et al., 2021).",
    "CIs come from a stratified bootstrap over seeds; with 3-5 seeds they are wide. A verdict is a"
    " permutation test, not an interval: 'unchanged' means no change as large as the 'detects' column.",
    "Budgets are training wall-clock: a slower machine gives fewer env steps and a lower return; the"
    " 'moved' column says whether throughput or learning at matched env steps changed. Baselines are"
    " stored per backend, scale and budget, and compared only with runs of the same budget, simulator"
    " version and evaluation protocol.",
    "results.csv has one row per run; table.tex is ready for a paper; runs/*.json hold everything.",
)


def build_report(
    records: Sequence[RunRecord],
    out: Path,
    comparisons: Sequence[Comparison] = (),
    *,
    rule: CompareRule | None = None,
    seed: int = 0,
    reps: int = DEFAULT_REPS,
    title: str | None = None,
    baselines: Mapping[tuple[str, str], Baseline] | None = None,
    against: Sequence[str] = DEFAULT_AGAINST,
) -> ReportResult:
    """Write the report of ``records`` into ``out``.

    Args:
        records: Run records (failed runs are listed, not aggregated).
        out: Report folder (created).
        comparisons: Gate verdicts to show.
        rule: The gate's rule, for the text.
        seed: Bootstrap seed (stated in the report).
        reps: Bootstrap replications.
        title: Report title (default: the folder name).
        baselines: The baselines the verdicts compared against, by ``(task, preset)``: their
            curves are drawn beneath tonight's.
        against: Reference presets: every other preset's probability of improvement over each
            (on the tasks where both ran) is tabled and drawn.

    Raises:
        ValueError: If there is no record.
    """
    if not records:
        raise ValueError(f"no run record to report on in {out}")
    ordered = sorted(records, key=lambda r: r.run_id)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    for record in ordered:
        if not (out / "runs" / f"{record.run_id}.json").exists():
            save_run(record, out / "runs")
    for stale in figures.glob("*.png"):
        stale.unlink()
    pairs = probability_pairs(ordered, against)
    ctx = _Context(
        ordered, results_frame(ordered), summarize(ordered, seed, reps), _environment(ordered), seed, reps,
        dict(baselines or {}), tuple(against), probability_of_improvement(pairs, seed, reps) if pairs else {},
    )  # fmt: skip
    ctx.frame.to_csv(out / "results.csv", index=False)
    write_json_atomic(out / "environment.json", to_jsonable(ctx.environment))
    caption = (
        "Evaluation return (deterministic policy) and late curriculum level (mean over the last 10\\% of"
        " training), IQM with 95\\% stratified"
        f" bootstrap CIs ({reps} replications, seed {seed}). Backend/scale {ctx.backends}; budget {ctx.budgets} s"
        f" of training (compile excluded); {ctx.hardware}."
    )
    (out / "table.tex").write_text(latex_table(ctx.summaries, caption), encoding="utf-8")

    doc = Document(title or f"sacbench report {out.name}")
    _header(doc, ctx)
    if comparisons:
        _verdicts(doc, comparisons, rule)
    _results(doc, ctx)
    _improvement(doc, ctx)
    _figures(doc, ctx, figures)
    _failures(doc, ordered)
    _cite(doc, ctx, out)
    doc.heading("How to read this report")
    doc.bullets(_HOW_TO_READ)
    (out / "index.md").write_text(doc.markdown(out), encoding="utf-8")
    (out / "index.html").write_text(doc.html(), encoding="utf-8")
    if comparisons:
        verdicts = {"rule": str(rule or DEFAULT_RULE), "verdicts": to_jsonable(list(comparisons))}
        write_json_atomic(out / VERDICTS_FILE, verdicts)
    else:  # rebuilt without a gate: an earlier build's verdicts no longer describe this page
        (out / VERDICTS_FILE).unlink(missing_ok=True)
    return ReportResult(out, tuple(comparisons))


VERDICTS_FILE = "verdicts.json"
"""The session's verdicts as data (read by `sacbench.history`)."""


_KEY_PACKAGES = {"sacbench", "torch", "jax", "sbx-rl", "stable-baselines3", "mujoco", "rliable", "isaaclab"}
