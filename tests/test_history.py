"""`sacbench history`: sessions read back, one row per session and series, shifts flagged, pages written."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_records import make_record

from sacbench.cli import main
from sacbench.history import (
    Series,
    build_history,
    discover_sessions,
    is_experiment,
    read_history,
    return_limits,
    robust_limits,
    throughput_limits,
    trend,
)
from sacbench.history_page import NO_VERDICT, history_anchor, latest_night
from sacbench.records import RunRecord, run_id, save_run
from sacbench.report import VERDICTS_FILE


def session(
    root: Path,
    name: str,
    returns: list[float],
    *,
    fps: float,
    commit: str,
    verdict: str | None = None,
    preset: str = "sac_tuned",
    start: str | None = None,
    plant: str | None = None,
) -> Path:
    """A session folder with one record per return (a1-flat / ``preset``), and its verdict if given.

    Called again on the same folder with another preset, it adds that preset's runs and verdict.
    """
    folder = root / name
    planted = {"plant": plant} if plant else {}
    for seed, value in enumerate(returns):
        record: RunRecord = make_record(
            run_id=run_id("a1-flat", preset, seed), seed=seed, preset=preset,
            final={"eval/episode_return": value, "train/env_fps": fps * (1 + 0.01 * seed),
                   "train/grad_steps_per_s": fps / 4},
            provenance={"git": {"commit": commit, "dirty": False}, "start_utc": start or f"{name}T00:00:00+00:00",
                        "hardware": {"cpu_model": "Xeon"}, "load_average_end_of_training": [1.0, 1.1, 1.0],
                        **planted},
        )  # fmt: skip
        save_run(record, folder / "runs")
    if verdict is not None:
        path = folder / VERDICTS_FILE
        verdicts = json.loads(path.read_text())["verdicts"] if path.is_file() else []
        verdicts.append({"task": "a1-flat", "preset": preset, "verdict": verdict, "attribution": {"cause": "learning"}})
        path.write_text(json.dumps({"rule": "mean@0.05", "verdicts": verdicts}))
    return folder


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    root = tmp_path / "reports"
    session(root, "2026-12-01", [10.0, 11.0, 12.0, 13.0, 14.0], fps=1000.0, commit="aaaa1111")
    session(root, "2026-12-02", [10.5, 11.5, 12.5, 13.5, 14.5], fps=1000.0, commit="bbbb2222", verdict="unchanged")
    session(root, "2026-12-03", [10.2, 11.2, 12.2, 13.2, 14.2], fps=1010.0, commit="cccc3333", verdict="unchanged")
    session(root, "2026-12-04", [2.0, 3.0, 3.5, 4.0, 5.0], fps=1000.0, commit="dddd4444", verdict="regressed")
    session(root, "2026-12-05", [9.8, 11.0, 12.1, 13.0, 14.1], fps=600.0, commit="eeee5555", verdict="unchanged")
    return root


def test_history_has_a_row_per_session_with_flagged_shifts(reports: Path) -> None:
    out, frame = build_history(reports, seed=0, reps=200)
    assert out == reports / "history"
    assert list(frame.commit) == ["aaaa1111", "bbbb2222", "cccc3333", "dddd4444", "eeee5555"]
    assert list(frame.seeds) == [5] * 5
    assert list(frame.verdict) == ["", "unchanged", "unchanged", "regressed", "unchanged"]
    shifts = list(frame.shifts)
    assert shifts[:3] == ["", "", ""]
    assert "return down" in shifts[3]  # every run below every run of the three sessions before
    assert "throughput down" in shifts[4]  # 40 % fewer env steps per second
    assert frame.return_ci_low.le(frame.return_iqm).all() and frame.return_iqm.le(frame.return_ci_high).all()


def test_history_pages_are_self_contained(reports: Path) -> None:
    main(["history", str(reports), "--reps", "200"])
    page = (reports / "history" / "index.html").read_text()
    assert "data:image/png;base64," in page and "dddd4444" in page
    assert (reports / "history" / "history.png").stat().st_size > 10_000
    assert (reports / "history" / "history.csv").read_text().count("\n") == 6
    # A second run does not read its own output as a session.
    assert reports / "history" not in discover_sessions(reports) or not any((reports / "history").glob("runs"))
    assert len(build_history(reports, reps=200)[1]) == 5


def test_a_copied_record_counts_once_in_the_session_that_ran_it(reports: Path) -> None:
    """A report that copies a baseline's records beside new runs is not a second night of them."""
    # Named to sort first, and its first run is a copy from 2026-12-01: only its last run says it ran later.
    beside = session(reports, "0-recipes", [20.0, 21.0], fps=1000.0, commit="ffff6666", preset="fast_sac",
                     start="2026-12-06T00:00:00+00:00")  # fmt: skip
    for path in (reports / "2026-12-01" / "runs").glob("*.json"):
        shutil.copy(path, beside / "runs" / path.name)
    _, frame = build_history(reports, reps=200)
    sessions = ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05"]
    assert list(frame[frame.preset == "sac_tuned"].session) == sessions
    assert list(frame[frame.preset == "fast_sac"].seeds) == [2]
    assert "5 copied records were not counted again" in (reports / "history" / "index.html").read_text()


def test_history_of_a_folder_without_sessions_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no session folder with run records"):
        build_history(tmp_path)


# ------------------------------------------------------------------------- the page's design


NIGHTS = [10.0, 11.0, 12.0, 13.0, 14.0]


def sac_tuned(root: Path) -> Series:
    """The a1-flat / sac_tuned series of the sessions below ``root``."""
    (found,) = [s for s in read_history(root, reps=200).series if s.key[3] == "sac_tuned"]
    return found


def page(root: Path) -> str:
    return (root / "history" / "index.html").read_text()


def test_an_experiment_leaves_the_trend_y_range_and_shift_window_alone(reports: Path) -> None:
    """Planted sessions are drawn, but the nights' trend, y-range and shift tests ignore them.

    One is far off (a sign error, -350: the fence would drop it anyway), one is near (returns of
    20-24 at a third more env steps per second: inside the fence, so only the rule keeps it out).
    """
    before = sac_tuned(reports)
    # Between the nights in time, so both sit in later nights' windows.
    session(reports, "2026-12-03b", [-350.0, -352.0, -349.0, -351.0, -348.0], fps=1000.0, commit="ffff0000",
            verdict="regressed", start="2026-12-03T12:00:00+00:00", plant="negated_reward")  # fmt: skip
    session(reports, "2026-12-04b", [20.0, 21.0, 22.0, 23.0, 24.0], fps=1300.0, commit="ffff0001",
            verdict="improved", start="2026-12-04T12:00:00+00:00", plant="blind_commands")  # fmt: skip
    after = sac_tuned(reports)
    experiments = [p for p in after.points if is_experiment(p)]
    assert [(p.session, p.plant) for p in experiments] == [("2026-12-03b", "negated_reward"),
                                                           ("2026-12-04b", "blind_commands")]  # fmt: skip
    assert return_limits(after.points) == return_limits(before.points)
    assert throughput_limits(after.points) == throughput_limits(before.points)
    assert experiments[0].iqm[0] < return_limits(after.points)[0]  # drawn at the edge, with its value
    assert experiments[1].iqm[0] > return_limits(after.points)[1]
    assert trend(after.points) == ([0, 1, 2, 4, 6], trend(before.points)[1])  # the experiments are skipped
    nights_flags = [f for p, f in zip(after.points, after.flags, strict=True) if not is_experiment(p)]
    assert nights_flags == list(before.flags)  # 12-04 still reads "return down", against nights only
    assert "return down" in after.flags[3]  # an experiment itself is tested against the nights before it
    _, frame = build_history(reports, reps=200)
    assert list(frame.experiment) == [False, False, False, True, False, True, False]
    assert latest_night(frame).session == "2026-12-05"  # type: ignore[union-attr]
    text = page(reports)
    assert "2 experiment session(s)" in text and "2026-12-03b (negated_reward)" in text


def test_the_y_range_is_robust_to_one_far_night() -> None:
    iqm = np.array([5.0, 6.5, 4.9, 8.6, 5.3, -348.6])
    lows, highs = iqm - 1.5, iqm + 1.5
    low, high = robust_limits(iqm, lows, highs)
    assert low > -20 and high < 12  # the far night is left out ...
    assert low < iqm[:5].min() - 1.5 and high > iqm[:5].max() + 1.5  # ... every other one is in, with its CI
    # Two or three nights are never fenced off each other: their quartiles reach the farthest one.
    assert robust_limits(iqm[[0, 5]], lows[[0, 5]], highs[[0, 5]])[0] < -350
    assert robust_limits(iqm[[0, 1, 5]], lows[[0, 1, 5]], highs[[0, 1, 5]])[0] < -350
    with pytest.raises(ValueError, match="expected one shape"):
        robust_limits(iqm, lows[:2], highs)


def test_the_summary_counts_the_latest_nights_verdicts_and_links_what_moved(reports: Path) -> None:
    latest = "2026-12-06"
    session(reports, latest, NIGHTS, fps=1000.0, commit="abab0000", verdict="regressed", preset="ppo_sb3")
    session(reports, latest, NIGHTS, fps=1000.0, commit="abab0000", verdict="improved", preset="fast_sac")
    session(reports, latest, NIGHTS, fps=1000.0, commit="abab0000", verdict="unchanged", preset="sac_tuned_legacy")
    session(reports, latest, NIGHTS, fps=1000.0, commit="abab0000", preset="rsl_rl_sac")  # no verdict
    # A later experiment is not the latest night.
    session(reports, "2026-12-07", NIGHTS, fps=1000.0, commit="cdcd0000", verdict="regressed", plant="slowdown")
    _, frame = build_history(reports, reps=200)
    night = latest_night(frame)
    assert night is not None and night.session == latest
    stored = json.loads((reports / latest / VERDICTS_FILE).read_text())["verdicts"]
    expected = Counter(v["verdict"] for v in stored) + Counter({NO_VERDICT: 1})
    assert {v: n for v, n in night.counts().items() if n} == expected
    text = page(reports)
    summary = text[text.index("id='latest-night'") : text.index("</section>")]
    assert f"Latest night: <span class='session'>{latest}</span>" in summary
    shown = dict(re.findall(r"<li data-verdict='([^']+)'>.*?<b class='count'>(\d+)</b>", summary))
    assert {v: int(n) for v, n in shown.items() if int(n)} == expected
    assert shown["inconclusive"] == "0"  # the gate's four verdicts are always listed
    links = re.findall(r"<a href='#([^']+)'>", summary)
    assert links == [history_anchor("a1-flat", "fast_sac"), history_anchor("a1-flat", "ppo_sb3")]
    for anchor in links:
        assert text.count(f"id='{anchor}'") == 1


def test_a_negative_controls_improvement_is_worded_as_the_report_words_it(reports: Path) -> None:
    """On the history page too, the legacy box scoring above its baseline is no green win."""
    session(reports, "2026-12-06", NIGHTS, fps=1000.0, commit="abab0000", verdict="improved", preset="sac_tuned_legacy")
    session(reports, "2026-12-06", NIGHTS, fps=1000.0, commit="abab0000", verdict="improved", preset="fast_sac")
    build_history(reports, reps=200)
    text = page(reports)
    summary = text[text.index("id='latest-night'") : text.index("</section>")]
    control = re.search(r"a1-flat / sac_tuned_legacy[^<]*</a>: <span class='([^']+)' title='([^']+)'>([^<]+)<", summary)
    assert control is not None and control.groups()[0::2] == ("control", "control improved")
    assert "the bound effect shrank" in control.group(2)
    assert re.search(r"a1-flat / fast_sac[^<]*</a>: <span class='improved'", summary)


def test_a_series_with_one_session_is_a_table_row_not_a_plot(reports: Path) -> None:
    session(reports, "2026-12-06", NIGHTS, fps=1000.0, commit="abab0000", preset="fast_sac")
    session(reports, "2026-12-06", NIGHTS, fps=1000.0, commit="abab0000", preset="ppo_sb3")
    build_history(reports, reps=200)
    text = page(reports)
    plots = re.findall(r"<section class='series' id='([^']+)'[^>]*><h3>[^<]*</h3><img", text)
    assert plots == [history_anchor("a1-flat", "sac_tuned")]
    rows = re.findall(r"<tr class='series' id='([^']+)'", text)
    assert rows == [history_anchor("a1-flat", "fast_sac"), history_anchor("a1-flat", "ppo_sb3")]
    assert text.count("<img") == 1


def test_the_filter_lists_every_task_and_preset_and_needs_no_network(reports: Path) -> None:
    session(reports, "2026-12-06", NIGHTS, fps=1000.0, commit="abab0000", preset="ppo_sb3")
    _, frame = build_history(reports, reps=200)
    text = page(reports)
    for name, column in (("task", frame.task), ("preset", frame.preset)):
        select = re.search(rf"<select id='filter-{name}'[^>]*>(.*?)</select>", text)
        assert select is not None
        assert re.findall(r"<option value='([^']*)'>", select.group(1)) == ["", *sorted(set(column))]
    tagged = re.findall(r"<(?:section|tr) class='series'[^>]* data-task='([^']+)' data-preset='([^']+)'", text)
    assert sorted(tagged) == sorted(set(zip(frame.task, frame.preset, strict=True)))
    assert "<script>" in text and not re.search(r"(src|href)=['\"]?(https?:)?//", text)


def test_the_history_anchor_is_stable_and_url_safe() -> None:
    assert history_anchor("a1-flat", "ppo_sb3") == "history-a1-flat-ppo_sb3"
    assert history_anchor("a1-flat", "my preset/v2") == "history-a1-flat-my_preset_v2"


def test_the_committed_history_page_marks_the_planted_sessions() -> None:
    """The reference page: the gate-check plants are experiments, read from their records' provenance."""
    frame = pd.read_csv(Path(__file__).parents[1] / "reports" / "reference" / "history" / "history.csv")
    planted = frame[frame.experiment]
    assert set(planted.session) == {"gate-check/2-slowdown", "gate-check/3-negated-reward",
                                    "gate-check/5-blind-commands"}  # fmt: skip
    assert (planted.plant.str.len() > 0).all() and not frame[~frame.experiment].plant.notna().any()
