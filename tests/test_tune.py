"""sacbench tune: the post's search space, a resumable SQLite study, replay and preset export."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest

from sacbench.algos.presets import EntropyCoef, get_preset, load_preset_file
from sacbench.train import Budget
from sacbench.tune import NET_ARCHS, SearchSpace, StudyConfig, export_winner, replay_best, sample_params, to_overrides

TINY = {"num_envs": 8, "learning_starts": 64, "buffer_size": 5000}


def test_overrides_decode_the_powers_of_two() -> None:
    sampled = {
        "gamma": 0.98, "learning_rate": 1e-3, "ent_coef_init": 0.01, "batch_size_pow": 9, "net_arch_complexity": 3,
        "train_freq_pow": 2, "gradient_steps_pow": 5, "policy_delay_pow": 3, "tau": 0.01,
    }  # fmt: skip
    overrides = to_overrides(sampled)
    assert overrides["batch_size"] == 512 and overrides["train_freq"] == 4
    assert overrides["gradient_steps"] == 32 and overrides["policy_delay"] == 8
    assert overrides["net_arch"] == NET_ARCHS[3] == (512, 256, 128)
    assert overrides["ent_coef"] == EntropyCoef(init=0.01)


def test_sampler_records_the_decoded_values() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    sampled = sample_params(trial, SearchSpace())
    assert 7 <= sampled["batch_size_pow"] <= 12
    assert trial.user_attrs["batch_size"] == 2 ** sampled["batch_size_pow"]
    assert trial.user_attrs["net_arch"] == list(NET_ARCHS[sampled["net_arch_complexity"]])
    assert trial.user_attrs["ent_coef"] == sampled["ent_coef_init"]  # JSON-storable, as Optuna needs


_CHILD = """
import sys
from pathlib import Path
from sacbench.train import Budget
from sacbench.tune import SearchSpace, StudyConfig, run_study
# One compiled update per trial (gradient steps and policy delay fixed at 1): seconds, not minutes.
space = SearchSpace(batch_size_pow=(5, 6), net_arch_complexity=(0, 0), train_freq_pow=(0, 0),
                    gradient_steps_pow=(0, 0), policy_delay_pow=(0, 0))
config = StudyConfig(storage=Path(sys.argv[1]), budget=Budget(2.0), n_trials=3, eval_episodes=2,
                     base_overrides={base_overrides}, heartbeat_interval_s=1, grace_period_s=2)
run_study(config, space)
"""


def _study(storage: Path) -> optuna.Study:
    return optuna.load_study(study_name="sac_speed", storage=f"sqlite:///{storage}")


def test_study_resumes_after_being_killed(tmp_path: Path) -> None:
    storage = tmp_path / "study.db"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(_CHILD).replace("{base_overrides}", repr(TINY)))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    child = subprocess.Popen([sys.executable, str(script), str(storage)], env=env)
    deadline = time.monotonic() + 240
    killed_trial = None
    while time.monotonic() < deadline:  # kill it while its second trial runs
        time.sleep(0.5)
        if not storage.exists():
            continue
        try:
            trials = _study(storage).trials
        except Exception:  # the study may not be created yet
            continue
        states = [t.state for t in trials]
        if optuna.trial.TrialState.COMPLETE in states and states[-1] == optuna.trial.TrialState.RUNNING:
            killed_trial = trials[-1].number
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert killed_trial is not None, "the study never reached its second trial"
    time.sleep(3)  # past the grace period: the dead trial's heartbeat is stale
    subprocess.run([sys.executable, str(script), str(storage)], env=env, check=True, timeout=600)
    trials = _study(storage).trials
    states = [t.state for t in trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 3
    assert trials[killed_trial].state is optuna.trial.TrialState.FAIL  # failed by the heartbeat, then retried
    assert all("num_timesteps" in t.user_attrs for t in trials if t.state is optuna.trial.TrialState.COMPLETE)

    config = StudyConfig(storage=storage, n_trials=3, base_overrides=TINY, eval_episodes=2, budget=Budget(2.0))
    results = replay_best(config, top_k=1, seeds=1, reps=200)
    assert len(results) == 1 and len(results[0].returns) == 1
    path = tmp_path / "sac_cpu_tuned.yaml"
    export_winner(results[0], config, "sac_cpu_tuned", path)
    preset = load_preset_file(path)
    assert preset.name == "sac_cpu_tuned" and preset.gpu is None
    assert preset.cpu.num_envs == 8  # the base overrides are part of the recipe
    assert get_preset(str(path)) == preset
    assert (config.records_dir / f"trial{trials[0].number:04d}__a1-flat__sac_tuned__s0.json").exists()


@pytest.mark.parametrize(
    "name",
    [
        "sac_default",
        "sac_tuned_rough",
        "sac_tuned_lr_schedule",
        "sac_tuned_action_schedule",
        "ppo_sbx",
        "rsl_rl_sac",
        "fast_sac",
    ],
)
def test_presets_round_trip_through_files(tmp_path: Path, name: str) -> None:
    from sacbench.algos.presets import write_preset_file

    preset = get_preset(name)
    assert load_preset_file(write_preset_file(preset, tmp_path / f"{name}.yaml")) == preset
