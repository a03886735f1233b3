"""``sacbench reproduce``: a report's runs re-made from their records, on the real mirror and real PPO."""

from __future__ import annotations

from pathlib import Path

import pytest

from sacbench.cli import main as cli_main
from sacbench.records import load_runs, save_run
from sacbench.train import Budget, RunConfig, train

STEPS = 2 * 16_384
"""Two checkpoints of a 64-env run: the budget is a step cap, so every re-run stops where the original did."""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-run report: ``ppo_sb3`` on A1 flat, 64 envs, seed 0."""
    folder = tmp_path_factory.mktemp("report")
    config = RunConfig(
        task="a1-flat", preset="ppo_sb3", seed=0, budget=Budget(600, max_env_steps=STEPS),
        overrides={"num_envs": 64}, eval_episodes=8,
    )  # fmt: skip
    save_run(train(config), folder / "runs")
    return folder


def test_a_rerun_of_a_report_learns_identically(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["reproduce", str(report), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    (original,), (rerun,) = load_runs(report / "runs"), load_runs(tmp_path / "runs")
    assert (rerun.hyperparameters, rerun.budget, rerun.final["eval/episodes"]) == (
        original.hyperparameters, original.budget, original.final["eval/episodes"],
    )  # fmt: skip
    assert "a1-flat / ppo_sb3 (seeds 0)" in out
    assert f"learning identical to the original on seed(s) 0 up to {STEPS:,} env steps" in out
    assert "verdict against the original runs: inconclusive" in out  # one seed: no test can reject
    ratio = rerun.final["train/env_fps"] / original.final["train/env_fps"]
    assert f"throughput: {ratio:.2f}x the original's env steps per second on " in out
    assert (tmp_path / "index.html").is_file()


def test_a_changed_code_path_shows_where_learning_diverged(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], nudged_rewards: None
) -> None:
    """Planted: every reward the agent sees is 1e-6 larger."""
    assert cli_main(["reproduce", str(report), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "learning diverged from the original on seed 0 from checkpoint 0 (16,384 env steps; " in out
    assert "identity was expected (same CPU model, packages and thread setting): a change in the code path" in out


def test_bad_selections_are_refused_naming_what_the_report_holds(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["reproduce", str(report), "--out", str(tmp_path), "--only", "a1-flat/sac_tuned"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--only a1-flat/sac_tuned: not in" in err and "it holds a1-flat/ppo_sb3" in err
    assert not (tmp_path / "runs").exists()  # refused before anything ran
