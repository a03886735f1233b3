"""``sacbench tune``: the post's speed tuning of SAC with Optuna's CMA-ES sampler.

"Need for Speed": the objective is the return after a fixed wall-clock budget, whatever the number
of samples; the search space is the post's ``sample_sac_params`` (integers for the powers of two, so
that CMA-ES can search them); the number of env steps each trial managed is recorded.  The study
lives in a SQLite database through Optuna's RDB storage: a killed study resumes where it stopped
(trials left running by a dead process are failed by Optuna's heartbeat and retried once).
``--replay-best K --seeds M`` re-runs the best trials on more seeds to filter lucky ones and ranks
them by IQM; the winner is exported as a preset file.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sacbench import metrics
from sacbench.algos.presets import (
    EntropyCoef,
    OffPolicyParams,
    Preset,
    Scale,
    get_preset,
    write_preset_file,
)
from sacbench.records import RunRecord, save_run, usable
from sacbench.stats import DEFAULT_REPS, Interval, aggregate_metrics
from sacbench.train import Budget, RunConfig, train

NET_ARCHS: tuple[tuple[int, ...], ...] = ((64, 64), (128, 128), (256, 256), (512, 256, 128))
"""``net_arch_complexity`` 0..3.  The post names two of its four: "default" [256, 256] and "large"
[512, 256, 128]; the two smaller ones are sacbench's, for the CPU, where gradient steps are scarce."""


@dataclass(frozen=True)
class SearchSpace:
    """The post's ``sample_sac_params`` ranges (powers of two as integer exponents)."""

    gamma: tuple[float, float] = (0.975, 0.995)
    learning_rate: tuple[float, float] = (1e-4, 0.002)
    ent_coef_init: tuple[float, float] = (0.001, 0.02)
    batch_size_pow: tuple[int, int] = (7, 12)
    net_arch_complexity: tuple[int, int] = (0, len(NET_ARCHS) - 1)
    train_freq_pow: tuple[int, int] = (0, 3)
    gradient_steps_pow: tuple[int, int] = (0, 10)
    policy_delay_pow: tuple[int, int] = (0, 5)
    tau: tuple[float, float] = (0.001, 0.05)


def sample_params(trial: Any, space: SearchSpace) -> dict[str, Any]:
    """Sample one point (Optuna ``trial``), record the decoded values, return the sampled values."""
    sampled = {
        "gamma": trial.suggest_float("gamma", *space.gamma),
        "learning_rate": trial.suggest_float("learning_rate", *space.learning_rate, log=True),
        "ent_coef_init": trial.suggest_float("ent_coef_init", *space.ent_coef_init, log=True),
        "batch_size_pow": trial.suggest_int("batch_size_pow", *space.batch_size_pow),
        "net_arch_complexity": trial.suggest_int("net_arch_complexity", *space.net_arch_complexity),
        "train_freq_pow": trial.suggest_int("train_freq_pow", *space.train_freq_pow),
        "gradient_steps_pow": trial.suggest_int("gradient_steps_pow", *space.gradient_steps_pow),
        "policy_delay_pow": trial.suggest_int("policy_delay_pow", *space.policy_delay_pow),
        "tau": trial.suggest_float("tau", *space.tau, log=True),
    }
    # "Display true values" (the post): the decoded hyperparameters beside the sampled exponents.
    for key, value in to_overrides(sampled).items():
        shown = value.init if isinstance(value, EntropyCoef) else list(value) if isinstance(value, tuple) else value
        trial.set_user_attr(key, shown)
    return sampled


def to_overrides(sampled: Mapping[str, Any]) -> dict[str, Any]:
    """The post's ``to_hyperparams``: sampled values -> `OffPolicyParams` overrides.

    Raises:
        KeyError: If a sampled value is missing.
    """
    return {
        "gamma": float(sampled["gamma"]),
        "learning_rate": float(sampled["learning_rate"]),
        "ent_coef": EntropyCoef(init=float(sampled["ent_coef_init"])),
        "batch_size": 2 ** int(sampled["batch_size_pow"]),
        "net_arch": NET_ARCHS[int(sampled["net_arch_complexity"])],
        "train_freq": 2 ** int(sampled["train_freq_pow"]),
        "gradient_steps": 2 ** int(sampled["gradient_steps_pow"]),
        "policy_delay": 2 ** int(sampled["policy_delay_pow"]),
        "tau": float(sampled["tau"]),
    }


@dataclass(frozen=True)
class StudyConfig:
    """One tuning study."""

    storage: Path
    """SQLite file of the study (created; reopened to resume)."""
    study_name: str = "sac_speed"
    task: str = "a1-flat"
    base_preset: str = "sac_tuned"
    """Preset whose other settings (bounds, envs, buffer, ...) every trial keeps."""
    base_overrides: Mapping[str, Any] = field(default_factory=dict)
    """Fixed changes to the base preset, applied before the sampled values (e.g. fewer envs)."""
    budget: Budget = field(default_factory=lambda: Budget(120.0))
    n_trials: int = 20
    """Completed trials to reach (over every resume)."""
    seed: int = 0
    """Seed of the trials' runs and of the sampler."""
    popsize: int | None = None
    """CMA-ES population (default: CMA-ES's own, 4 + 3 ln(dimension))."""
    eval_episodes: int = 32
    heartbeat_interval_s: int = 30
    grace_period_s: int = 90
    runs_dir: Path | None = None
    """Where trial records go (default: ``<storage>.runs/``)."""

    @property
    def records_dir(self) -> Path:
        """Folder of the trials' run records."""
        return self.runs_dir or self.storage.with_suffix(".runs")


def _storage(config: StudyConfig) -> Any:
    """SQLite through Optuna's RDB storage, with heartbeats so that a killed trial is failed and retried."""
    from optuna import storages
    from optuna.exceptions import ExperimentalWarning

    config.storage.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # Heartbeats are what make a killed study resumable; Optuna still labels them experimental.
        warnings.simplefilter("ignore", ExperimentalWarning)
        retry: dict[str, Any]
        if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):  # optuna >= 4.9
            retry = {"heartbeat_stale_trial_callback": storages.RetryHeartbeatStaleTrialCallback(max_retry=1)}
        else:
            retry = {"failed_trial_callback": storages.RetryFailedTrialCallback(max_retry=1)}
        return storages.RDBStorage(
            f"sqlite:///{config.storage.resolve()}",
            heartbeat_interval=config.heartbeat_interval_s,
            grace_period=config.grace_period_s,
            engine_kwargs={"connect_args": {"timeout": 30}},
            **retry,
        )


def load_study(config: StudyConfig) -> Any:
    """Create or reopen the study (CMA-ES sampler, seeded)."""
    import optuna

    sampler = optuna.samplers.CmaEsSampler(seed=config.seed, popsize=config.popsize, warn_independent_sampling=True)
    return optuna.create_study(
        study_name=config.study_name,
        storage=_storage(config),
        sampler=sampler,
        direction="maximize",
        load_if_exists=True,
    )


def _objective(config: StudyConfig, space: SearchSpace, trainer: Callable[[RunConfig], RunRecord]) -> Any:
    def objective(trial: Any) -> float:
        import optuna

        overrides = {**config.base_overrides, **to_overrides(sample_params(trial, space))}
        record = trainer(
            RunConfig(
                task=config.task,
                preset=config.base_preset,
                seed=config.seed,
                budget=config.budget,
                overrides=overrides,
                eval_episodes=config.eval_episodes,
            )
        )
        record = replace(record, run_id=f"trial{trial.number:04d}__{record.run_id}")
        save_run(record, config.records_dir)
        trial.set_user_attr("num_timesteps", record.final.get(metrics.ENV_STEPS))
        trial.set_user_attr("status", record.status.value)
        if not usable(record):
            # A diverged or crashed trial is a bad point, not an error of the study.
            raise optuna.TrialPruned(f"run ended as {record.status.value}: {(record.error or '')[-300:]}")
        return record.metric(metrics.EVAL_RETURN)

    return objective


def run_study(
    config: StudyConfig, space: SearchSpace | None = None, trainer: Callable[[RunConfig], RunRecord] = train
) -> Any:
    """Optimise until ``n_trials`` trials have completed (counting earlier sessions of the study)."""
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    study = load_study(config)
    done = len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)))
    if done < config.n_trials:
        study.optimize(
            _objective(config, space or SearchSpace(), trainer),
            callbacks=[MaxTrialsCallback(config.n_trials, states=(TrialState.COMPLETE, TrialState.PRUNED))],
            gc_after_trial=True,
        )
    return study


@dataclass(frozen=True)
class ReplayResult:
    """A replayed trial: its hyperparameters and the IQM of its seeds."""

    trial: int
    trial_value: float
    overrides: dict[str, Any]
    returns: tuple[float, ...]
    iqm: Interval


def replay_best(
    config: StudyConfig,
    top_k: int,
    seeds: int,
    trainer: Callable[[RunConfig], RunRecord] = train,
    reps: int = DEFAULT_REPS,
) -> list[ReplayResult]:
    """Re-run the ``top_k`` best trials on seeds ``1..seeds`` and rank them by IQM (best first).

    Seeds start at 1: seed 0 is the one the study tuned on, and it would favour the lucky trials.
    """
    from optuna.trial import TrialState

    study = load_study(config)
    trials = sorted(study.get_trials(states=(TrialState.COMPLETE,)), key=lambda t: t.value, reverse=True)[:top_k]
    results = []
    for trial in trials:
        overrides = {**config.base_overrides, **to_overrides(trial.params)}
        returns = []
        for seed in range(1, seeds + 1):
            run_config = RunConfig(
                task=config.task, preset=config.base_preset, seed=seed, budget=config.budget,
                overrides=overrides, eval_episodes=config.eval_episodes,
            )  # fmt: skip
            record = trainer(run_config)
            record = replace(record, run_id=f"replay{trial.number:04d}__{record.run_id}")
            save_run(record, config.records_dir)
            returns.append(record.metric(metrics.EVAL_RETURN) if usable(record) else math.nan)
        finite = np.array([r for r in returns if math.isfinite(r)])
        key = f"trial{trial.number}"
        iqm = (
            aggregate_metrics({key: finite[:, None]}, seed=config.seed, reps=reps)[key]["IQM"]
            if finite.size
            else Interval(float("nan"), float("nan"), float("nan"))
        )
        results.append(ReplayResult(trial.number, float(trial.value), overrides, tuple(returns), iqm))
    return sorted(results, key=lambda r: -r.iqm.point if math.isfinite(r.iqm.point) else math.inf)


def export_winner(result: ReplayResult, config: StudyConfig, name: str, path: Path) -> Preset:
    """The replayed winner as a CPU-scale preset file (the base preset with the tuned values)."""
    base = get_preset(config.base_preset)
    params = replace(base.params(Scale.CPU), **result.overrides)
    assert isinstance(params, OffPolicyParams)
    source = (
        f"sacbench tune: Optuna CMA-ES study {config.study_name!r} on {config.task} (CPU mirror),"
        f" {config.budget.describe()} per trial, base preset {config.base_preset}; trial {result.trial}"
        f" replayed on {len(result.returns)} seeds: IQM eval return {result.iqm.format()}"
    )
    preset = Preset(name, base.algo, base.bounds, None, params, source)
    write_preset_file(preset, path)
    return preset


def study_figure(study: Any, path: Path) -> Path:
    """Optimisation history: each trial's return and the best so far (the post's summary figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.trial import TrialState

    trials = study.get_trials(states=(TrialState.COMPLETE,))
    numbers = [t.number for t in trials]
    values = [t.value for t in trials]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(numbers, values, s=18, label="trial")
    if values:
        ax.plot(numbers, np.maximum.accumulate(values), color="crimson", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("eval return after the budget")
    ax.set_title(f"{study.study_name}: CMA-ES optimisation history")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
