"""Reports and the report/compare commands, from real run records (the committed bounds runs)."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_compare import runs

from sacbench.baselines import build_baseline
from sacbench.cli import main as cli_main
from sacbench.compare import compare_runs
from sacbench.records import load_runs
from sacbench.report import (
    Document,
    build_report,
    curves_figure,
    env_steps_label,
    latex_table,
    return_scale,
    sample_indexed,
    session_name,
    summarize,
)

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
    # the terminal summary's lines: each item's test beneath its verdict (1 seed vs itself: no test can reject)
    assert "inconclusive  a1-flat / ppo_sb3  (1 seeds vs 1)\n" in out
    assert "eval/episode_return: mean difference +0.00 " in out
    verdicts = {c.verdict.value for c in compare_runs(records, {}, reps=200)}
    assert verdicts == {"inconclusive"}


def test_the_samples_figure_reads_the_checkpoints_where_every_run_kept_them() -> None:
    """Against env steps the curve is the checkpoints' (fixed env-step counts, a fixed episode window, the
    same on every machine); against time, the 5-second curve rows; without checkpoints, the curve rows."""
    from dataclasses import replace

    plain = runs([1.0, 2.0, 3.0])  # curve rows: return = 1e-3 * env steps, at most 60
    indexed = [
        replace(r, checkpoints=[{"env_steps": s, "return_mean": 100.0} for s in (0, 16384, 32768, 49152)])
        for r in plain
    ]
    assert not sample_indexed(plain) and sample_indexed(indexed)

    def drawn(records: list, x_key: str) -> np.ndarray:
        figure = curves_figure(records, x_key, "return_mean", seed=0, reps=50, ylabel="return")
        (line,) = figure.axes[0].get_lines()
        return np.asarray(line.get_ydata())

    assert np.allclose(drawn(indexed, "env_steps"), 100.0)
    assert drawn(indexed, "time_s").max() < 70.0 and drawn(plain, "env_steps").max() < 70.0


def test_a_planted_session_says_in_its_header_that_it_is_an_experiment(tmp_path: Path) -> None:
    from dataclasses import replace

    planted = [replace(r, provenance={**r.provenance, "plant": "slowdown"}) for r in runs([1.0, 2.0, 3.0])]
    build_report(planted, tmp_path / "r", seed=0, reps=50)
    markdown = (tmp_path / "r" / "index.md").read_text(encoding="utf-8")
    assert "- experiment: a planted fault (slowdown; benchmarks/plants.py), not a night" in markdown


def test_a_gated_report_links_each_item_to_the_history_page_beside_it(tmp_path: Path, records: list) -> None:
    """The links of a session report land on the series of the page `sacbench history` writes one folder up."""
    import re

    session = tmp_path / "reports" / "session"
    shutil.copytree(RECORDS, session / "runs")
    baselines = tmp_path / "baselines"
    assert cli_main(["baseline", str(session), "--out", str(baselines), "--reps", "200"]) == 0
    assert cli_main(["report", str(session), "--baselines", str(baselines), "--reps", "200"]) == 0
    assert cli_main(["history", str(tmp_path / "reports")]) == 0
    page = (tmp_path / "reports" / "history" / "index.html").read_text(encoding="utf-8")
    markdown = (session / "index.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((\.\./history/index\.html)#([\w.-]+)\)", markdown)
    assert len(links) == len(records)  # one per gated item
    for target, anchor in links:
        assert (session / target).resolve() == (tmp_path / "reports" / "history" / "index.html").resolve()
        assert page.count(f"id='{anchor}'") + page.count(f'id="{anchor}"') == 1, anchor
    assert "<a href='../history/index.html#history-a1-flat-ppo_sb3'>" in (session / "index.html").read_text()
    assert "docs/gate.md" in markdown
    # the details beneath the table, named by task / preset, not a column stretching every row
    header = next(line for line in markdown.splitlines() if line.startswith("| task | preset | verdict |"))
    assert "details" not in header
    assert "- a1-flat / ppo_sb3, details: " in markdown
    assert "experiment:" not in markdown  # no planted fault in these records


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


def test_env_steps_are_ticked_in_millions_without_overlap() -> None:
    """Six-digit tick labels ran into each other ("100000200000300000..."); in millions they read apart."""
    assert [env_steps_label(x) for x in (0, 200_000, 1_000_000, 1_250_000, 700_000.0000001)] == [
        "0", "0.2 M", "1 M", "1.25 M", "0.7 M",
    ]  # fmt: skip
    records = runs([1.0, 2.0, 3.0], fps=13_000.0) + runs([1.0, 2.0, 3.0], preset="ppo_sb3", fps=13_000.0)
    fig = curves_figure(records, "env_steps", "return_mean", seed=0, reps=100, ylabel="episode return")
    assert fig is not None
    (ax,) = fig.axes
    assert ax.xaxis.get_major_formatter().func is env_steps_label
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    low, high = ax.get_xlim()
    labels = [t for x, t in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True) if low <= x <= high]
    assert [t.get_text() for t in labels][:3] == ["0", "0.2 M", "0.4 M"]
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda box: box.x0)
    assert all(left.x1 < right.x0 for left, right in itertools.pairwise(boxes)), "tick labels overlap"


def test_a_negative_controls_improvement_is_not_painted_as_a_win(tmp_path: Path) -> None:
    """sac_tuned_legacy scoring above its baseline means the bound effect shrank: amber, and said so."""
    tonight = runs([-5.0, -4.5, -4.0, -3.5, -3.0], preset="sac_tuned_legacy")
    baseline = build_baseline(runs([-15.0, -14.5, -14.0, -13.5, -13.0], preset="sac_tuned_legacy"), reps=200)
    comparisons = compare_runs(tonight, {("a1-flat", "sac_tuned_legacy"): baseline}, reps=200)
    assert [c.verdict.value for c in comparisons] == ["improved"]  # the gate's verdict, as before
    out = build_report(tonight, tmp_path / "r", comparisons, seed=0, reps=200).directory
    page = (out / "index.html").read_text()
    assert "<td class='improved'>" not in page
    assert "<td class='control'>control improved: the bound effect shrank (" in page
    assert "| control improved: the bound effect shrank (" in (out / "index.md").read_text()
    # the long details on a row of their own beneath the item's numbers, not a column squeezing them
    assert "</tr><tr class='wide'><td colspan='10'>details: eval/episode_return: mean difference +10.00" in page
