"""The budgeted runner, for real: tiny SBX/SB3 trainings on the embedded backend."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from stable_baselines3.common.vec_env import VecEnvWrapper

import sacbench.train as train_module
from sacbench.algos import PRESETS, Scale, get_preset, to_cpu_scale
from sacbench.algos.presets import LinearSchedule, OffPolicyParams, UnknownPresetError
from sacbench.cli import main as cli_main
from sacbench.metrics import TERRAIN_LEVEL, TERRAIN_LEVEL_LATE
from sacbench.records import RunStatus, load_run, save_run
from sacbench.sim.mujoco import MujocoVelocityEnv
from sacbench.train import (
    Budget,
    CompileTimer,
    RunConfig,
    action_statistics,
    build_run,
    evaluate,
    resolve_params,
    train,
    union_length,
)

TINY_SAC = {
    "num_envs": 8,
    "net_arch": (32, 32),
    "batch_size": 32,
    "buffer_size": 5000,
    "learning_starts": 64,
    "gradient_steps": 1,
    "policy_delay": 1,
}
TINY_PPO = {"num_envs": 8, "net_arch": (32, 32), "n_steps": 16, "n_minibatches": 2, "n_epochs": 2}
TIMING_FIELDS = {"time_s", "env_fps", "grad_steps_per_s"}


@pytest.mark.parametrize(
    ("text", "seconds"), [("300", 300.0), ("90s", 90.0), ("5m", 300.0), ("2.5m", 150.0), ("1h30m", 5400.0)]
)
def test_budget_parses_durations(text: str, seconds: float) -> None:
    assert Budget.parse(text).seconds == seconds


@pytest.mark.parametrize("text", ["", "five minutes", "5min", "-5", "0"])
def test_bad_budgets_are_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="budget"):
        Budget.parse(text)


def test_presets_carry_the_posts_values() -> None:
    tuned = get_preset("sac_tuned").params(Scale.GPU)
    assert isinstance(tuned, OffPolicyParams)
    assert (tuned.batch_size, tuned.buffer_size, tuned.gradient_steps, tuned.policy_delay) == (
        512,
        2_000_000,
        32,
        8,
    )
    assert tuned.gamma == pytest.approx(0.9831, abs=1e-4) and tuned.tau == pytest.approx(0.00231, abs=1e-5)
    assert tuned.ent_coef.to_sb3() == "auto_0.009471776840423638"
    assert tuned.replay_ratio == pytest.approx(32 / 1024)
    rough = get_preset("sac_tuned_rough").params(Scale.GPU)
    assert isinstance(rough, OffPolicyParams)
    assert (rough.train_freq, rough.gradient_steps, rough.use_sde, rough.n_steps) == (10, 320, True, 3)
    assert get_preset("sac_quickfix").bounds.fraction == 0.03
    modes = {p.bounds.mode.value for p in PRESETS.values()}
    assert modes == {"legacy", "unit", "fraction", "percentile", "joint_limits"}


def test_cpu_scale_keeps_the_replay_ratio() -> None:
    derived = [p for p in PRESETS.values() if p.has_scale(Scale.GPU)]  # CPU-only recipes have no rule to follow
    assert len(derived) >= 12
    for preset in derived:
        gpu, cpu = preset.params(Scale.GPU), preset.params(Scale.CPU)
        assert cpu.num_envs == gpu.num_envs // 16
        if isinstance(gpu, OffPolicyParams) and isinstance(cpu, OffPolicyParams):
            # the same ratio, up to rounding to whole gradient steps (rsl_rl_sac: 12.5 -> 12), also
            # where it is below one step per train_freq (fast_sac, sac_default: fewer, not more, updates)
            assert cpu.gradient_steps >= 1
            assert cpu.replay_ratio == pytest.approx(gpu.replay_ratio, rel=0.05), preset.name
    fast = get_preset("fast_sac").params(Scale.CPU)
    assert isinstance(fast, OffPolicyParams)
    assert (fast.num_envs, fast.train_freq, fast.gradient_steps) == (256, 4, 1)  # 4 per 4096 transitions
    assert to_cpu_scale(get_preset("sac_tuned").params(Scale.GPU)).net_arch == (256, 128, 64)


def test_unknown_preset_and_override_are_explained() -> None:
    with pytest.raises(UnknownPresetError, match="Did you mean 'sac_tuned'"):
        get_preset("sac_tund")
    with pytest.raises(ValueError, match=r"sac_tuned: unknown hyperparameter\(s\) \['lr'\]; fields: \["):
        resolve_params(get_preset("sac_tuned"), Scale.CPU, {"lr": 1e-3})
    with pytest.raises(ValueError, match=r"ent_coef must be a mapping, got 0\.01"):
        resolve_params(get_preset("sac_tuned"), Scale.CPU, {"ent_coef": 0.01})
    params = resolve_params(
        get_preset("sac_tuned"), Scale.CPU, {"ent_coef": {"init": 0.02}, "net_arch": [64, 64], "activation": "relu"}
    )
    assert isinstance(params, OffPolicyParams)
    assert (params.ent_coef.init, params.net_arch, params.activation.value) == (0.02, (64, 64), "relu")


def test_linear_schedule_runs_on_the_budget() -> None:
    schedule = LinearSchedule(start=5e-4, end=1e-5, end_fraction=0.15)
    assert schedule(1.0) == pytest.approx(5e-4)
    assert schedule(1.0 - 0.075) == pytest.approx((5e-4 + 1e-5) / 2)
    assert schedule(0.5) == pytest.approx(1e-5)


def test_compile_time_is_what_jax_reports_and_a_slow_update_is_not_a_compile() -> None:
    """A 2-minute run trains for 2 minutes: only JAX's own compile spans are booked apart.

    The heuristic this replaced booked every train call over a second as a compile, so a large-batch
    recipe's updates (seconds each here) all fell outside the budget.
    """
    import jax
    import jax.numpy as jnp

    timer = CompileTimer()
    slow_update = timer.wrap("train", lambda: time.sleep(1.2))

    @jax.jit
    def forward(x: jax.Array) -> jax.Array:
        return jnp.tanh(x @ x.T).sum()

    x = jnp.ones((64, 64))
    with timer.listening():
        start = time.perf_counter()
        forward(x).block_until_ready()
        first_call = time.perf_counter() - start
        forward(x).block_until_ready()  # cached: no compile
        slow_update()
        slow_update()
    assert timer.num_compiles == 1 and timer.train_calls == 2
    assert 0.0 < timer.compile_s <= first_call
    booked = timer.compile_s
    jax.jit(lambda y: y * 2)(x).block_until_ready()  # compiled after the block: not listened to
    assert (timer.num_compiles, timer.compile_s) == (1, booked)
    torch_timer = CompileTimer(enabled=False)
    with torch_timer.listening():
        jax.jit(lambda y: y * 3)(x).block_until_ready()
    assert torch_timer.compile_s == 0.0 and torch_timer.num_compiles == 0


def test_nested_compile_spans_count_once() -> None:
    assert union_length([(0.0, 2.0), (1.0, 3.0), (5.0, 6.0), (5.5, 5.7)]) == pytest.approx(4.0)
    assert union_length([]) == 0.0


def test_action_statistics_on_a_hand_made_array() -> None:
    actions = np.array([[-1.0, 0.0], [1.0, 0.5], [0.0, 0.995], [0.5, -0.2]])
    stats = action_statistics(actions, np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    assert stats["actions/at_bounds_per_joint"] == [0.5, 0.25]
    assert stats["actions/at_bounds"] == pytest.approx(3 / 8)
    assert stats["actions/p50"] == [0.25, 0.25]


def _config(preset: str, **kwargs: Any) -> RunConfig:
    overrides = TINY_PPO if "ppo" in preset else TINY_SAC
    defaults: dict[str, Any] = {
        "task": "a1-flat",
        "preset": preset,
        "seed": 0,
        "budget": Budget(600, max_env_steps=8 * 60),
        "overrides": overrides,
        "eval_episodes": 4,
        "curve_every_steps": 8 * 15,
    }
    defaults.update(kwargs)
    return RunConfig(**defaults)


def test_sac_run_record(tmp_path: Path) -> None:
    record = train(_config("sac_tuned"))
    assert record.status is RunStatus.OK, record.error
    assert record.run_id == "a1-flat__sac_tuned__s0"
    assert (record.scale, record.backend, record.num_envs) == ("cpu", "mujoco", 8)
    assert record.bounds["mode"] == "percentile"
    assert record.timing.compile_s > 0.5 and record.timing.num_compiles >= 1  # JAX compiled, and it was measured
    assert record.final["train/env_steps"] >= 8 * 60
    assert record.final["train/grad_steps"] > 0
    assert record.hyperparameters["overrides"]["batch_size"] == 32
    assert record.hyperparameters["batch_size"] == 32 and record.hyperparameters["gamma"] == pytest.approx(0.9831, 1e-3)
    assert len(record.curves) >= 4 and record.curves[-1]["env_steps"] == record.final["train/env_steps"]
    # 4 episodes asked, rounded up to one per env of the 8 that trained
    assert record.final["eval/episodes"] == 8 and np.isfinite(record.final["eval/episode_return"])
    assert len(record.final["actions/p97.5"]) == 12
    assert record.provenance["packages"]["sbx-rl"]
    assert load_run(save_run(record, tmp_path)) == record


def test_a_rough_run_stores_the_late_terrain_level_its_curve_logged() -> None:
    """The gated level: the mean of the levels the real curriculum logged over the last 10 % of
    training (robots promoted and demoted on the rough grid), the value an older record without the
    key derives from its curves."""
    config = _config("ppo_sb3", task="a1-rough", budget=Budget(600, max_env_steps=8 * 400), curve_every_steps=8 * 20)
    record = train(config)
    assert record.status is RunStatus.OK, record.error
    start = 0.9 * record.timing.train_s
    window = [row["terrain_level"] for row in record.curves if row["time_s"] >= start]
    assert len(window) >= 2 and None not in window, record.curves
    assert all(float(level * 8).is_integer() for level in window)  # means of 8 robots' integer levels
    assert record.final[TERRAIN_LEVEL_LATE] == pytest.approx(np.mean(window))
    assert record.final[TERRAIN_LEVEL] == record.curves[-1]["terrain_level"]  # the end reading, described only
    older = replace(record, final={k: v for k, v in record.final.items() if k != TERRAIN_LEVEL_LATE})
    assert older.metric(TERRAIN_LEVEL_LATE) == pytest.approx(record.final[TERRAIN_LEVEL_LATE])


def _comparable(record: Any) -> Any:
    curves = [{k: v for k, v in row.items() if k not in TIMING_FIELDS} for row in record.curves]
    final = {k: v for k, v in record.final.items() if k not in ("train/env_fps", "train/grad_steps_per_s")}
    return curves, final, record.hyperparameters


@pytest.mark.parametrize("preset", ["sac_tuned", "ppo_sb3"])
def test_same_seed_same_record_except_timing(preset: str) -> None:
    first, second = train(_config(preset)), train(_config(preset))
    assert first.status is second.status is RunStatus.OK
    assert _comparable(first) == _comparable(second)
    third = train(_config(preset, seed=1))
    assert _comparable(third)[1]["eval/episode_return"] != _comparable(first)[1]["eval/episode_return"]


def test_wall_clock_budget_stops_the_run() -> None:
    record = train(_config("ppo_sb3", budget=Budget(3.0), curve_every_steps=None, curve_interval_s=1.0))
    assert record.status is RunStatus.OK
    assert 3.0 <= record.timing.train_s < 4.0
    assert record.timing.overrun_s == pytest.approx(record.timing.train_s - 3.0, abs=1e-3)
    assert len(record.curves) >= 3


def test_live_status_lines_while_training() -> None:
    """What the pytest plugin prints per item while it trains (elapsed of budget, env steps, return)."""
    lines: list[str] = []
    config = _config("ppo_sb3", budget=Budget(3.0), curve_every_steps=None, on_progress=lines.append)
    train(replace(config, progress_every_s=1.0))
    assert 2 <= len(lines) <= 4, lines
    assert re.fullmatch(r"1/3 s, [\d,]+ env steps, (training return -?\d+\.\d\d|no episode finished yet)", lines[0])


class _FaultyEnv:
    """Delegates to a real env; from step ``at`` on, returns NaN observations or raises."""

    def __init__(self, env: MujocoVelocityEnv, at: int, mode: str) -> None:
        self.env, self.at, self.mode, self.steps = env, at, mode, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)

    def step(self, actions: np.ndarray) -> Any:
        self.steps += 1
        out = self.env.step(actions)
        if self.steps >= self.at:
            if self.mode == "raise":
                raise RuntimeError("simulated fault in the simulator")
            return (np.full_like(out[0], np.nan), *out[1:])
        return out


@pytest.mark.parametrize(("mode", "status"), [("nan", RunStatus.DIVERGED), ("raise", RunStatus.CRASHED)])
def test_failures_are_recorded_with_the_curves_so_far(
    monkeypatch: pytest.MonkeyPatch, mode: str, status: RunStatus
) -> None:
    real_make_env = train_module.make_env

    def faulty(task: str, num_envs: int, seed: int, **kwargs: Any) -> Any:
        return _FaultyEnv(real_make_env(task, num_envs=num_envs, seed=seed, **kwargs), at=40, mode=mode)

    monkeypatch.setattr(train_module, "make_env", faulty)
    record = train(_config("ppo_sb3", curve_every_steps=8 * 10))
    assert record.status is status
    assert record.error is not None
    assert ("NaN or inf" in record.error) if mode == "nan" else ("simulated fault" in record.error)
    assert [row["env_steps"] for row in record.curves][:3] == [80, 160, 240]  # kept up to the failure
    assert "eval/episode_return" not in record.final


def _set_args(overrides: dict[str, Any]) -> list[str]:
    """``--set key=value`` arguments, JSON values (tuples as lists)."""
    pairs = [f"{k}={list(v) if isinstance(v, tuple) else v}".replace(" ", "") for k, v in overrides.items()]
    return [arg for pair in pairs for arg in ("--set", pair)]


def test_cli_run_writes_a_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(
        [
            "run", "--task", "a1-flat", "--preset", "ppo_sb3", "--budget", "2s", "--no-progress",
            "--eval-episodes", "2", "--out", str(tmp_path),
            *_set_args(TINY_PPO),
        ]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "a1-flat__ppo_sb3__s0: ok" in out
    record = load_run(tmp_path / "a1-flat__ppo_sb3__s0.json")
    assert record.hyperparameters["net_arch"] == [32, 32]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--task", "a2-flat", "--preset", "sac_tuned"],
            "argument --task: unknown task 'a2-flat'. Did you mean",
        ),
        (["run", "--task", "a1-flat", "--preset", "sac_tund"], "argument --preset: unknown preset 'sac_tund'"),
        (["run", "--task", "a1-flat", "--preset", "sac_tuned", "--seed", "-1"], "'-1': expected a non-negative"),
        (["run", "--task", "a1-flat", "--preset", "sac_tuned", "--eval-episodes", "0"], "'0': expected a positive"),
        (["run", "--task", "a1-flat", "--preset", "sac_tuned", "--set", "lr=3"], "unknown hyperparameter(s) ['lr']"),
        (["run", "--task", "a1-flat", "--preset", "ppo_sb3", "--set", "net_arch=3"], "net_arch must be a list"),
        (["run", "--task", "a1-flat", "--preset", "sac_cpu_tuned", "--scale", "gpu"], "has no GPU scale"),
        (["bounds", "--task", "a1-flat", "--percentiles", "90", "10"], "need 0 <= LOW < HIGH <= 100"),
        (["run", "--task", "a1-flat", "--preset", "ppo_sb3", "--physics", "ovphysx"], "applies to --backend isaaclab"),
        (["bounds", "--from-record", "no/such.json"], "'no/such.json': no such file"),
        (["report", "no/such/dir"], "argument dir: 'no/such/dir': no such folder"),
        (["compare", ".", "baselines", "--rule", "iqm5"], "expected <stat>[:<least effect>][@<alpha>]"),
        (["tune", "--storage", "x.db", "--task", "b1-flat"], "unknown task 'b1-flat'"),
        (["render", "a1-rouhg", "--out", "x.png"], "unknown task 'a1-rouhg'"),
    ],
)
def test_cli_refuses_bad_names_and_values_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setattr(train_module, "build_run", lambda *a, **k: pytest.fail("a run was built"))
    with pytest.raises(SystemExit) as exit_info:
        cli_main([*args, "--out", str(tmp_path)] if args[0] == "run" else args)
    assert exit_info.value.code == 2  # a usage error, not a lost run
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_cli_refuses_a_backend_that_cannot_run_here(capsys: pytest.CaptureFixture[str]) -> None:
    from sacbench.sim.status import backend_status

    if backend_status("isaaclab").usable:
        pytest.skip("Isaac Lab runs here")
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["run", "--task", "a1-flat", "--preset", "sac_tuned", "--backend", "isaaclab"])
    assert exit_info.value.code == 2
    assert "backend isaaclab cannot run here: " in capsys.readouterr().err


def test_evaluation_reads_the_envs_own_returns_not_the_rewards_the_agent_sees() -> None:
    """A reward wrapper above the adapter (here: a sign error) changes what the agent learns from,
    never the evaluation return, which is the adapter's episode return."""

    class Negated(VecEnvWrapper):
        def reset(self) -> Any:
            return self.venv.reset()

        def step_wait(self) -> Any:
            obs, reward, dones, infos = self.venv.step_wait()
            return obs, -reward, dones, infos

    parts = build_run(_config("ppo_sb3"))
    plain = evaluate(parts.model, parts.venv, parts.base, 4, seed=11)
    negated = evaluate(parts.model, Negated(parts.venv), parts.base, 4, seed=11)
    assert negated["eval/episode_return"] == pytest.approx(plain["eval/episode_return"], rel=1e-6)
