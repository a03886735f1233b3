"""Reports and the report/compare commands, from real run records (the committed bounds runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from sacbench.cli import main as cli_main
from sacbench.compare import compare_runs
from sacbench.records import load_runs
from sacbench.report import Document, build_report, latex_table, return_scale, session_name, summarize

RECORDS = Path(__file__).resolve().parents[1] / "reports" / "reference" / "bounds"


@pytest.fixture(scope="module")
def records() -> list:
    return load_runs(RECORDS)


def test_report_from_records(tmp_path: Path, records: list) -> None:
    result = build_report(records, tmp_path / "r", seed=3, reps=200)
    out = result.directory
    frame = pd.read_csv(out / "results.csv")
    assert len(frame) == len(records) == 6
    assert set(frame.task) == {f"{r}-flat" for r in ("a1", "go1", "go2", "anymal_b", "anymal_c", "bdx")}
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(f"{r.run_id}.json" for r in records)
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"curves_time.png", "curves_samples.png", "intervals.png", "performance_profiles.png"} <= figures
    md = (out / "index.md").read_text()
    assert "bootstrap seed 3" in md and "![Training episode return against wall-clock" in md
    html = (out / "index.html").read_text()
    assert html.count("data:image/png;base64,") == len(figures)
    tex = (out / "table.tex").read_text()
    assert "\\begin{tabular}" in tex and "ppo\\_sb3" in tex


def test_summaries_and_normalisation(records: list) -> None:
    assert return_scale("a1-flat") == pytest.approx((1.5 + 0.75) * 20)
    assert return_scale("anymal_c-rough") == pytest.approx((1.0 + 0.5) * 20)
    (a1,) = [s for s in summarize(records, seed=0, reps=200) if s.task == "a1-flat"]
    value = next(r.metric("eval/episode_return") for r in records if r.task == "a1-flat")
    assert a1.ret["IQM"].point == pytest.approx(value)  # one seed: the interval is the point
    assert a1.ret_normalized["IQM"].point == pytest.approx(value / 45.0)
    assert "a1-flat & ppo\\_sb3" in latex_table([a1], "caption")


def test_markdown_and_html_escape_their_content(tmp_path: Path) -> None:
    doc = Document("t <b>")
    doc.table(["a|b"], [["<script>x</script>"]])
    assert "&lt;script&gt;" in doc.html() and "<script>x" not in doc.html()
    assert "| a\\|b |" in doc.markdown(tmp_path)
    assert len(session_name()) == len("2026-11-24T02-13-45Z")


def test_report_and_compare_commands(tmp_path: Path, records: list, capsys: pytest.CaptureFixture[str]) -> None:
    session = tmp_path / "session"
    shutil.copytree(RECORDS, session / "runs")
    assert cli_main(["report", str(session), "--reps", "200"]) == 0
    assert "report:" in capsys.readouterr().out and (session / "index.html").exists()
    baselines = tmp_path / "baselines"
    assert cli_main(["baseline", str(session), "--out", str(baselines), "--reps", "200"]) == 0
    assert len(list((baselines / "mujoco" / "cpu").glob("*.json"))) == len(records)
    assert cli_main(["compare", str(session), str(baselines), "--reps", "200"]) == 0
    out = capsys.readouterr().out
    assert out.count("a1-flat / ppo_sb3") == 1
    verdicts = {c.verdict.value for c in compare_runs(records, {}, reps=200)}
    assert verdicts == {"inconclusive"}
