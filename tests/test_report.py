"""Reports and the report/compare commands, from real run records (the committed bounds runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
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


def test_probability_of_improvement_against_named_references(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--against`` tables P(preset > each reference) per task, rliable's number, no self-pairs."""
    from rliable import metrics as rly

    headline = RECORDS.parent / "headline-a1-flat" / "runs"
    session = tmp_path / "session"
    shutil.copytree(headline, session / "runs")
    args = ["report", str(session), "--reps", "200", "--against", "ppo_sb3,sac_tuned,sac_tunedd"]
    assert cli_main(args) == 0
    assert "--against sac_tunedd: no run of it" in capsys.readouterr().err
    md = (session / "index.md").read_text()
    section = md.split("## Probability of improvement")[1].split("##")[0]
    assert "| task | preset | P(> ppo_sb3) [CI] | P(> sac_tuned) [CI] |" in section
    lines = [line.split(" | ") for line in section.splitlines() if line.startswith("| a1-flat")]
    rows = {cells[1]: cells[2:] for cells in lines}
    returns = {p: [r.metric("eval/episode_return") for r in load_runs(headline) if r.preset == p] for p in rows}
    assert rows["ppo_sb3"][0] == "--"  # a reference is not paired with itself
    assert rows["sac_tuned"][1].rstrip(" |") == "--"
    for preset, reference, cell in (("sac_tuned", "ppo_sb3", 0), ("ppo_sb3", "sac_tuned", 1)):
        expected = rly.probability_of_improvement(
            np.array(returns[preset])[:, None], np.array(returns[reference])[:, None]
        )
        assert rows[preset][cell].rstrip(" |").startswith(f"{expected:.2f} [")
    assert rows["sac_tuned_legacy"][1].startswith("0.00 [0.00, 0.00]")  # every legacy seed below every tuned one


def test_a_report_rebuilt_without_a_gate_drops_the_old_verdicts(tmp_path: Path, records: list) -> None:
    """`sacbench history` reads verdicts.json: a stale one would colour the session by a gate it no longer shows."""
    gated = build_report(records, tmp_path / "r", compare_runs(records, {}, reps=200), seed=0, reps=200)
    assert (gated.directory / "verdicts.json").is_file()
    build_report(records, tmp_path / "r", seed=0, reps=200)
    assert not (gated.directory / "verdicts.json").exists()
    assert "## Verdicts against the stored baseline" not in (gated.directory / "index.md").read_text()


def test_an_empty_against_list_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main(["report", str(tmp_path), "--against", " , "])
    assert "' , ': expected comma-separated preset names" in capsys.readouterr().err
