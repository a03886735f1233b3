"""The history page's HTML, from the history table alone: summary of the latest night, filter, series.

`sacbench.history` computes the table (one row per session and series, ``history.csv``) and draws
the plots; this module turns them into one self-contained ``index.html`` (figures embedded, the
filter's script inline, nothing fetched), so it works offline and from a CI artifact.  It imports no
plotting library, so a session report can import `history_anchor` cheaply to link to its series.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sacbench.compare import Verdict, verdict_look

SeriesKey = tuple[str, str, str, str, float]
"""``(backend, scale, task, preset, budget seconds)``: sessions are only compared within one."""
KEY_COLUMNS = ["backend", "scale", "task", "preset", "budget_s"]
"""The history table's columns that make up a `SeriesKey`, in its order."""
VERDICT_ORDER = ("regressed", "improved", "inconclusive", "unchanged")
"""The gate's verdicts, worst news first (the summary's order)."""
VERDICT_COLORS = {"improved": "#0a7d28", "unchanged": "#555555", "regressed": "#b00020", "inconclusive": "#d9a400"}
NO_VERDICT = "no verdict"
"""What the summary counts a series without a verdict as (a session run without a baseline)."""
NO_VERDICT_COLOR = "#1f77b4"
POINT_COLUMNS = ["session", "date", "commit", "task", "preset", "budget_s", "seeds", "return_iqm", "return_ci_low",
                 "return_ci_high", "env_steps_per_s", "load_5min", "verdict", "moved", "shifts", "plant"]  # fmt: skip
"""The columns of the page's table of every point."""

_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def history_anchor(task: str, preset: str) -> str:
    """The stable HTML id of a task and preset on the history page, e.g. ``history-a1-flat-ppo_sb3``.

    A session report links to ``<history page>#<this id>``.  The id sits on the first series of the
    pair on the page (the plotted series come before the table of one-session series); the pair's
    other budgets or backends, if any, follow it or sit in that table.  Characters outside
    ``[A-Za-z0-9_.-]`` become ``_`` so that the id needs no escaping in a URL; task names have one
    ``-`` and presets none, so distinct pairs of registered names get distinct ids.

    Args:
        task: The task's name, e.g. ``a1-flat``.
        preset: The preset's name, e.g. ``ppo_sb3``.

    Returns:
        ``history-<task>-<preset>``.
    """
    return "history-" + _ANCHOR_UNSAFE.sub("_", f"{task}-{preset}")


@dataclass(frozen=True)
class Night:
    """One session read as a night: its rows of the history table (one per series it ran)."""

    session: str
    rows: pd.DataFrame

    def counts(self) -> dict[str, int]:
        """Series per verdict: the gate's four (zero included), any other, then `NO_VERDICT` if any."""
        found = Counter(str(v) if v else NO_VERDICT for v in self.rows.verdict.fillna(""))
        others = sorted(v for v in found if v not in VERDICT_ORDER and v != NO_VERDICT)
        counts = {v: found.get(v, 0) for v in (*VERDICT_ORDER, *others)}
        if found.get(NO_VERDICT):
            counts[NO_VERDICT] = found[NO_VERDICT]
        return counts

    def moved(self) -> pd.DataFrame:
        """The rows whose verdict is not ``unchanged`` (and not missing) or that carry a shift flag."""
        verdict, shifts = self.rows.verdict.fillna(""), self.rows.shifts.fillna("")
        return self.rows[((verdict != "") & (verdict != "unchanged")) | (shifts != "")]


def latest_night(frame: pd.DataFrame) -> Night | None:
    """The latest session that is not an experiment: the one whose last series started last.

    Args:
        frame: The history table (``history.csv``: one row per session and series, with its
            ``experiment`` column).

    Returns:
        That session's rows, or None if every session is an experiment.
    """
    nights = frame[~frame.experiment.astype(bool)]
    if nights.empty:
        return None
    last = nights.groupby("session").date.max().reset_index().sort_values(["date", "session"])
    session = str(last.session.iloc[-1])
    return Night(session, nights[nights.session == session].reset_index(drop=True))


def render_page(title: str, frame: pd.DataFrame, figures: Mapping[SeriesKey, bytes], notes: Sequence[str]) -> str:
    """The self-contained page: summary, filter, plotted series, one-session table, every point.

    Args:
        title: The page's title.
        frame: The history table, one row per session and series, sorted by series then date.
        figures: A PNG per series with several sessions (series missing here go to the table).
        notes: Paragraphs that explain the page, shown under the filter.

    Returns:
        The HTML document.
    """
    placed: set[str] = set()
    parts = [_head(title), f"<h1>{_esc(title)}</h1>", _summary(frame), _filter(frame)]
    parts += [f"<p>{_esc(note)}</p>" for note in notes]
    parts.append(_legend())
    parts.append(_plotted(frame, figures, placed))
    parts.append(_single(frame, figures, placed))
    parts.append(_all_points(frame))
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _key(row: Any) -> SeriesKey:
    return (str(row.backend), str(row.scale), str(row.task), str(row.preset), float(row.budget_s))


def _label(key: SeriesKey) -> str:
    backend, scale, task, preset, budget = key
    return f"{task} / {preset} ({backend}/{scale}, {budget:g} s)"


def _attributes(task: str, preset: str, placed: set[str]) -> str:
    """The filter's data attributes, and the pair's anchor id if no element carries it yet."""
    anchor = history_anchor(task, preset)
    found = f" id='{_esc(anchor)}'" if anchor not in placed else ""
    placed.add(anchor)
    return f"{found} data-task='{_esc(task)}' data-preset='{_esc(preset)}'"


def _verdict(value: Any, preset: str | None = None) -> str:
    """A verdict's word with its class, as the report words it for ``preset`` (`verdict_look`).

    A negative control's ``improved`` reads "control improved", in amber: not a win.
    """
    text = _cell(value) or NO_VERDICT
    if preset is not None and text in {v.value for v in Verdict}:
        look = verdict_look(Verdict(text), preset)
        return f"<span class='{_esc(look.css_class)}' title='{_esc(look.meaning)}'>{_esc(look.label)}</span>"
    return f"<span class='{_esc(text.replace(' ', '-'))}'>{_esc(text)}</span>"


def _summary(frame: pd.DataFrame) -> str:
    night = latest_night(frame)
    parts = ["<section class='summary' id='latest-night'>"]
    if night is None:
        parts.append("<h2>Latest night</h2><p>No night yet: every session is an experiment.</p>")
    else:
        rows = night.rows
        start, end = str(rows.date.min()).replace("T", " "), str(rows.date.max()).replace("T", " ")
        when = start if start == end else f"{start} to {end[11:] if start[:10] == end[:10] else end}"
        parts.append(f"<h2>Latest night: <span class='session'>{_esc(night.session)}</span></h2>")
        parts.append(
            f"<p>Series started {_esc(when)} UTC; commit {_esc(', '.join(sorted(set(rows.commit))))};"
            f" {_esc(', '.join(sorted(set(rows.machine))))}. {len(rows)} series:</p>"
        )
        counts = "".join(
            f"<li data-verdict='{_esc(v)}'>{_verdict(v if v != NO_VERDICT else '')} <b class='count'>{n}</b></li>"
            for v, n in night.counts().items()
        )
        parts.append(f"<ul class='counts'>{counts}</ul>")
        parts.append(_moved(night))
    parts.append(_experiments(frame))
    parts.append("</section>")
    return "\n".join(parts)


def _moved(night: Night) -> str:
    moved = night.moved()
    if moved.empty:
        return "<p class='moved'>Nothing moved: every verdict <i>unchanged</i> (or none), no shift flagged.</p>"
    items = []
    for row in moved.itertuples(index=False):
        anchor = history_anchor(str(row.task), str(row.preset))
        text = f"<a href='#{_esc(anchor)}'>{_esc(_label(_key(row)))}</a>: {_verdict(row.verdict, str(row.preset))}"
        if _cell(row.moved) and _cell(row.verdict) in ("regressed", "improved"):
            text += f", moved: {_esc(row.moved)}"
        if _cell(row.shifts):
            text += f"; shift flagged: {_esc(row.shifts)}"
        items.append(f"<li>{text}</li>")
    return "<p>Series that moved (a verdict other than <i>unchanged</i>, or a shift):</p>" + (
        "<ul class='moved'>" + "".join(items) + "</ul>"
    )


def _experiments(frame: pd.DataFrame) -> str:
    planted = frame[frame.experiment.astype(bool)]
    if planted.empty:
        return "<p class='experiments'>No experiments (sessions with a planted fault) below this folder.</p>"
    sessions = planted.groupby("session", sort=False).agg(plant=("plant", "first"), date=("date", "min"))
    named = ", ".join(f"{s} ({row.plant})" for s, row in sessions.sort_values("date").iterrows())
    return (
        f"<p class='experiments'>{len(sessions)} experiment session(s), whose records declare a planted fault"
        f" (<code>provenance.plant</code>, <code>benchmarks/plants.py</code>): {_esc(named)}. They are"
        " drawn hollow and labelled <i>experiment</i>, and kept out of the trend lines, the y-ranges and"
        " the windows that later sessions are tested against for shifts.</p>"
    )


def _filter(frame: pd.DataFrame) -> str:
    def select(name: str, values: Sequence[str]) -> str:
        options = "".join(f"<option value='{_esc(v)}'>{_esc(v)}</option>" for v in values)
        return (
            f"<label>{name} <select id='filter-{name}' data-filter='{name}'>"
            f"<option value=''>all</option>{options}</select></label>"
        )

    tasks, presets = sorted(set(frame.task.astype(str))), sorted(set(frame.preset.astype(str)))
    return (
        "<nav class='filter'>Show " + select("task", tasks) + " " + select("preset", presets)
        + " <span id='filter-count'></span></nav>"
    )  # fmt: skip


def _legend() -> str:
    dots = [*VERDICT_COLORS.items(), (NO_VERDICT, NO_VERDICT_COLOR)]
    items = "".join(f"<span><i class='dot' style='background:{c}'></i>{_esc(v)}</span>" for v, c in dots)
    items += "<span><i class='dot hollow'></i>experiment (planted fault)</span>"
    items += "<span><b style='color:#b00020'>&#9660;</b>/<b style='color:#0a7d28'>&#9650;</b> shift flagged</span>"
    items += "<span>&#9651;/&#9661; at an edge: beyond the y-range, value written beside it</span>"
    return f"<p class='legend'>{items}</p>"


def _series_groups(frame: pd.DataFrame) -> list[tuple[SeriesKey, pd.DataFrame]]:
    """Each series' rows, by task, preset, backend, scale and budget (a filter's choices sit together)."""
    groups = [(_key(rows.iloc[0]), rows) for _, rows in frame.groupby(KEY_COLUMNS, sort=False)]
    return sorted(groups, key=lambda item: (item[0][2], item[0][3], item[0][0], item[0][1], item[0][4]))


def _plotted(frame: pd.DataFrame, figures: Mapping[SeriesKey, bytes], placed: set[str]) -> str:
    parts = ["<section class='group'><h2>Series with several sessions</h2>"]
    for key, rows in _series_groups(frame):
        if key not in figures:
            continue
        data = base64.b64encode(figures[key]).decode("ascii")
        parts.append(
            f"<section class='series'{_attributes(key[2], key[3], placed)}>"
            f"<h3>{_esc(_label(key))}: {len(rows)} sessions</h3>"
            f"<img alt='{_esc(_label(key))}: eval return and env steps per second by session'"
            f" src='data:image/png;base64,{data}'></section>"
        )
    if len(parts) == 1:
        parts.append("<p>None yet: every series has one session.</p>")
    return "\n".join([*parts, "</section>"])


def _single(frame: pd.DataFrame, figures: Mapping[SeriesKey, bytes], placed: set[str]) -> str:
    """One table row per series with a single session (a plot of one point says no more than its row)."""
    headers = ["task", "preset", "backend", "budget s", "session", "date", "commit", "seeds",
               "return IQM [95 % CI]", "env steps/s", "verdict"]  # fmt: skip
    body = []
    for key, rows in _series_groups(frame):
        if key in figures:
            continue
        row = rows.iloc[0]
        note = f" <span class='experiment'>experiment [{_esc(row.plant)}]</span>" if bool(row.experiment) else ""
        cells = [key[2], key[3], f"{key[0]}/{key[1]}", f"{key[4]:g}", row.session, str(row.date).replace("T", " "),
                 row.commit, row.seeds]  # fmt: skip
        body.append(
            f"<tr class='series'{_attributes(key[2], key[3], placed)}>"
            + "".join(f"<td>{_esc(c)}</td>" for c in cells)
            + f"<td class='num'>{row.return_iqm:.2f} [{row.return_ci_low:.2f}, {row.return_ci_high:.2f}]</td>"
            + f"<td class='num'>{row.env_steps_per_s:.0f}</td><td>{_verdict(row.verdict, key[3])}{note}</td></tr>"
        )
    if not body:
        return ""
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    return (
        "<section class='group'><h2>Series with one session so far</h2>"
        f"<table class='single'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></section>"
    )


def _all_points(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in POINT_COLUMNS)
    body = "".join(
        f"<tr data-task='{_esc(row.task)}' data-preset='{_esc(row.preset)}'>"
        + "".join(f"<td>{_esc(_cell(v))}</td>" for v in row)
        + "</tr>"
        for row in frame[POINT_COLUMNS].itertuples(index=False)
    )
    return (
        f"<details><summary>Every point ({len(frame)} rows; the same as history.csv)</summary>"
        f"<table class='points'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>"
    )


def _head(title: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>"
    )


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1240px;margin:1.5em auto;padding:0 1em;color:#222}"
    "[hidden]{display:none!important}"
    "table{border-collapse:collapse;margin:0.5em 0 1em;font-size:0.85em}"
    "th,td{border:1px solid #ccc;padding:3px 6px;text-align:left}th{background:#f3f3f3}td.num{text-align:right}"
    "table.single td,table.single th,table.points td{white-space:nowrap}table.points{font-size:0.75em}"
    "img{max-width:100%;border:1px solid #eee}"
    ".summary{border:1px solid #ccc;border-radius:6px;padding:0.2em 1em 0.5em;background:#fafafa}"
    ".summary h2{margin:0.5em 0 0.3em}.counts{list-style:none;padding:0;display:flex;gap:1.5em;margin:0.3em 0}"
    ".filter{position:sticky;top:0;background:#fff;padding:0.5em 0;border-bottom:1px solid #ddd;z-index:1}"
    ".filter select{margin-right:1em}#filter-count{color:#555}"
    ".legend span{margin-right:1.2em;white-space:nowrap;font-size:0.9em}"
    ".dot{display:inline-block;width:0.7em;height:0.7em;border-radius:50%;margin-right:0.3em;vertical-align:middle}"
    ".dot.hollow{border:2px solid #555;background:#fff;width:0.5em;height:0.5em}"
    ".series h3{font-size:1em;margin:1.2em 0 0.3em}"
    ".experiment{color:#555;font-style:italic;margin-left:0.4em}"
    ".regressed{color:#b00020;font-weight:bold}.improved{color:#0a7d28;font-weight:bold}"
    ".inconclusive{color:#8a6d00}.unchanged{color:#333}.no-verdict{color:#1f77b4}"
    ".control{color:#9a4d00;background:#fff3dc;font-weight:bold}"
)

_SCRIPT = """
(function () {
  var selects = document.querySelectorAll('select[data-filter]');
  var count = document.getElementById('filter-count');
  function apply() {
    var shown = 0, total = 0;
    document.querySelectorAll('[data-task]').forEach(function (el) {
      var ok = true;
      selects.forEach(function (s) { ok = ok && (!s.value || el.dataset[s.dataset.filter] === s.value); });
      el.hidden = !ok;
      if (el.classList.contains('series')) { total += 1; if (ok) { shown += 1; } }
    });
    count.textContent = shown + ' of ' + total + ' series shown';
    document.querySelectorAll('.group').forEach(function (group) {  // no heading over an empty group
      group.hidden = group.querySelector('.series') !== null && group.querySelector('.series:not([hidden])') === null;
    });
  }
  function reveal() {  // a link to a series the filter hides clears the filter
    var target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && target.hidden) {
      selects.forEach(function (s) { s.value = ''; });
      apply();
      target.scrollIntoView();
    }
  }
  selects.forEach(function (s) { s.addEventListener('change', apply); });
  window.addEventListener('hashchange', reveal);
  apply();
  reveal();
})();
"""
