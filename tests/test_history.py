"""`sacbench history`: sessions read back, one row per session and series, shifts flagged, pages written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_records import make_record

from sacbench.cli import main
from sacbench.history import build_history, discover_sessions
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
) -> Path:
    """A session folder with one record per return (a1-flat / ``preset``), and its verdicts if given."""
    folder = root / name
    for seed, value in enumerate(returns):
        record: RunRecord = make_record(
            run_id=run_id("a1-flat", preset, seed), seed=seed, preset=preset,
            final={"eval/episode_return": value, "train/env_fps": fps * (1 + 0.01 * seed),
                   "train/grad_steps_per_s": fps / 4},
            provenance={"git": {"commit": commit, "dirty": False}, "start_utc": start or f"{name}T00:00:00+00:00",
                        "hardware": {"cpu_model": "Xeon"}, "load_average_end_of_training": [1.0, 1.1, 1.0]},
        )  # fmt: skip
        save_run(record, folder / "runs")
    if verdict is not None:
        payload = {"task": "a1-flat", "preset": "sac_tuned", "verdict": verdict, "attribution": {"cause": "learning"}}
        (folder / VERDICTS_FILE).write_text(json.dumps({"rule": "mean@0.05", "verdicts": [payload]}))
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
