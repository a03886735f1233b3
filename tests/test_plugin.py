"""The pytest plugin, through pytester: options and their errors, items, reports, gate, resume."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sacbench.algos import DEFAULT_MATRIX, PRESETS, Scale
from sacbench.cli import main as cli_main
from sacbench.records import load_runs

pytest_plugins = ["pytester"]
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester folder holding the real benchmark file (no thresholds: the gate is under test)."""
    pytester.makepyfile(test_locomotion=(BENCHMARKS / "test_locomotion.py").read_text())
    return pytester


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sacbench-seeds", "0"], "expected a number of seeds (3 -> 0,1,2) or a comma-separated list"),
        (["--sacbench-seeds", "1,1"], "seeds must be distinct non-negative integers"),
        (["--sacbench-budget", "5min"], "budget '5min' is not a duration"),
        (["--sacbench-compare-fail", "iqm5%"], "expected <stat>[:<least effect>][@<alpha>]"),
        (["--sacbench-presets", "sac_tund"], "unknown preset(s) ['sac_tund']"),
        (["--sacbench-backend", "genesis"], "invalid choice: 'genesis'"),
        (["--sacbench-eval-episodes", "-2"], "'-2': expected a positive integer"),
        (["--gpu", "--sacbench-backend", "mujoco"], "--gpu runs on Isaac Lab but --sacbench-backend=mujoco"),
        (["--gpu", "--sacbench-device", "cpu"], "--gpu runs on a CUDA GPU but --sacbench-device=cpu"),
        (["--sacbench-assets", "omniverse"], "invalid choice: 'omniverse'"),
        (["--sacbench-resume", "no/such/dir"], "--sacbench-resume=no/such/dir: no such folder"),
        (["--sacbench-executor", "ray", "-n", "2"], "do not combine it with xdist's -n"),
        (["--sacbench-executor", "dask"], "invalid choice: 'dask'"),
        (["--sacbench-suite", "weekly"], "invalid choice: 'weekly'"),
        (["--sacbench-scale", "gpu", "--sacbench-presets", "sac_cpu_tuned"], "sac_cpu_tuned has no gpu scale"),
    ],
)
def test_bad_options_are_usage_errors(bench: pytest.Pytester, args: list[str], message: str) -> None:
    result = bench.runpytest(*args, "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


@pytest.mark.skipif(sys.version_info[:2] == (3, 12), reason="only meaningful where Isaac Lab cannot run")
def test_gpu_without_isaaclab_says_what_is_missing(bench: pytest.Pytester) -> None:
    result = bench.runpytest("--gpu", "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "Isaac Lab on cuda:0 is not usable here" in err
    assert "Isaac Lab 3.0 needs Python >= 3.12" in err
    assert 'pip install "sacbench[isaaclab]"' in err


def test_gpu_names_the_physics_each_selected_task_lacks(
    bench: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sacbench.sim.protocol import Backend, BackendStatus

    # through sys.modules, as the plugin imports it (an earlier in-process run may have replaced it)
    isaaclab = importlib.import_module("sacbench.sim.isaaclab")

    monkeypatch.setattr(isaaclab, "isaaclab_status", lambda device="cuda:0": BackendStatus(Backend.ISAACLAB, True))
    real = isaaclab.importlib.util.find_spec
    monkeypatch.setattr(
        isaaclab.importlib.util,
        "find_spec",
        lambda name, *a: None if name in {"isaacsim", "ovphysx"} else real(name, *a),
    )
    monkeypatch.setitem(sys.modules, "newton", sys)  # Newton "installed"
    rough = bench.runpytest("--gpu", "--collect-only", "-q", "-k", "a1-rough", "--sacbench-seeds", "1")
    assert rough.ret == pytest.ExitCode.OK  # Newton serves the rough tasks
    flat = bench.runpytest("--gpu", "--collect-only", "-q", "-k", "a1-flat or go2-flat", "--sacbench-seeds", "1")
    assert flat.ret == pytest.ExitCode.USAGE_ERROR
    err = flat.stderr.str()
    assert "a1-flat runs on isaacsim_physx, which needs the isaacsim package" in err
    assert "go2-flat" not in err  # Go2 flat runs on Newton


def test_isaaclab_on_the_cpu_is_a_cpu_scale_session_on_newton(
    bench: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sacbench.sim.protocol import Backend, BackendStatus

    isaaclab = importlib.import_module("sacbench.sim.isaaclab")
    devices: list[str] = []

    def status(device: str = "cuda:0") -> BackendStatus:
        devices.append(device)
        return BackendStatus(Backend.ISAACLAB, True)

    monkeypatch.setattr(isaaclab, "isaaclab_status", status)
    monkeypatch.setitem(sys.modules, "newton", sys)  # Newton "installed"
    args = ["--sacbench-backend", "isaaclab", "--sacbench-device", "cpu", "--collect-only", "-k", "a1-flat"]
    ok = bench.runpytest(*args, "--sacbench-seeds", "1")
    assert ok.ret == pytest.ExitCode.OK and devices == ["cpu"]
    assert "sacbench: isaaclab/cpu, suite nightly" in ok.stdout.str()  # the CPU scale, not the GPU's
    physx = bench.runpytest(*args, "--sacbench-physics", "isaacsim_physx")
    assert physx.ret == pytest.ExitCode.USAGE_ERROR
    assert "physics isaacsim_physx cannot run on device 'cpu'" in physx.stderr.str()


def test_items_follow_the_default_matrix_and_k_selects_them(bench: pytest.Pytester) -> None:
    result = bench.runpytest("--collect-only", "-q", "--sacbench-seeds", "2", "-k", "a1 and flat")
    ids = [line for line in result.outlines if "::" in line]
    assert len(ids) == len(DEFAULT_MATRIX["flat"]) * 2  # the flat claims, two seeds
    assert "test_locomotion.py::test_locomotion[a1-flat-sac_tuned_legacy-s0]" in ids
    result = bench.runpytest(
        "--collect-only", "-q", "--sacbench-presets", "ppo_sb3", "-k", "rough", "--sacbench-seeds", "0,5"
    )
    ids = [line for line in result.outlines if "::" in line]
    assert len(ids) == 6 * 2
    assert "test_locomotion.py::test_locomotion[anymal_c-rough-ppo_sb3-s5]" in ids
    result = bench.runpytest(
        "--collect-only", "-q", "--sacbench-presets", "all", "-k", "a1-flat", "--sacbench-seeds", "1"
    )
    assert len([line for line in result.outlines if "::" in line]) == len(PRESETS)  # every preset, one option away


def test_the_nightly_is_the_size_the_docs_say(bench: pytest.Pytester) -> None:
    """``pytest benchmarks -k rough``: 6 rough tasks x 2 presets x 3 seeds (docs/getting-started.md)."""
    rough = bench.runpytest("--collect-only", "-q", "-k", "rough")
    assert len([line for line in rough.outlines if "::" in line]) == 6 * 2 * 3
    everything = bench.runpytest("--collect-only", "-q")
    assert len([line for line in everything.outlines if "::" in line]) == (6 * 3 + 6 * 2) * 3


def test_the_curriculum_suite_is_the_rough_recipe_at_its_own_budget(bench: pytest.Pytester) -> None:
    """``--sacbench-suite curriculum``: sac_tuned_rough on every rough task, 30 minutes by default."""
    tier = bench.runpytest("--collect-only", "--sacbench-suite", "curriculum")
    ids = [line.strip() for line in tier.outlines if "test_locomotion[" in line]
    assert len(ids) == 6 * 3 and all("-rough-sac_tuned_rough-s" in i for i in ids), ids
    tier.stdout.fnmatch_lines(["sacbench: mujoco/cpu, suite curriculum, budget 1800 s per run, seeds 0,1,2"])
    shorter = bench.runpytest("--collect-only", "--sacbench-suite", "curriculum", "--sacbench-budget", "10m")
    shorter.stdout.fnmatch_lines(["sacbench: mujoco/cpu, suite curriculum, budget 600 s per run, seeds 0,1,2"])
    nightly = bench.runpytest("--collect-only", "-k", "rough")
    nightly.stdout.fnmatch_lines(["sacbench: mujoco/cpu, suite nightly, budget 120 s per run, seeds 0,1,2"])


def test_negative_controls_are_marked(bench: pytest.Pytester) -> None:
    negative = [name for name, preset in PRESETS.items() if not preset.learns]
    assert negative == ["sac_default", "sac_tuned_legacy"]
    default = bench.runpytest("--collect-only", "-q", "-m", "negative_control", "--sacbench-seeds", "1")
    assert len([line for line in default.outlines if "::" in line]) == 6  # sac_tuned_legacy on every flat task
    every = bench.runpytest(
        "--collect-only", "-q", "-m", "negative_control", "--sacbench-seeds", "1", "--sacbench-presets", "all"
    )
    assert len([line for line in every.outlines if "::" in line]) == 12 * len(negative)


def test_gpu_scale_leaves_out_cpu_only_presets(bench: pytest.Pytester) -> None:
    cpu_only = [name for name, preset in PRESETS.items() if not preset.has_scale(Scale.GPU)]
    assert "sac_cpu_tuned" in cpu_only  # the packaged result of sacbench tune
    result = bench.runpytest(
        "--collect-only", "-q", "--sacbench-scale", "gpu", "--sacbench-seeds", "1", "-k", "a1-flat",
        "--sacbench-presets", "all",
    )  # fmt: skip
    ids = [line for line in result.outlines if "::" in line]
    assert len(ids) == len(PRESETS) - len(cpu_only)
    assert not any(name in line for line in ids for name in cpu_only)


def _outcomes(result: pytest.RunResult) -> dict[str, int]:
    """The closing line's counts, without the items ``-k`` deselected."""
    return {k: v for k, v in result.parseoutcomes().items() if k != "deselected"}


def _session(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--sacbench-presets", "ppo_sb3", "-k", "a1-flat",
        "--sacbench-budget", "2s", "--sacbench-eval-episodes", "2", "--sacbench-bootstrap-reps", "200",
        "--sacbench-set", "num_envs=32", *args,
    )  # fmt: skip


def test_session_reports_updates_baselines_then_gates(bench: pytest.Pytester) -> None:
    reports, baselines = bench.path / "reports", bench.path / "baselines"
    first = _session(bench, "--sacbench-seeds", "2", "--sacbench-update-baselines")
    assert first.ret == 0, first.stdout.str()
    first.stdout.fnmatch_lines(
        [
            "*sacbench*",
            "baseline written: *a1-flat__ppo_sb3__2s.json (2 seeds, IQM eval return *)",
            "report: *index.html",
        ]
    )
    (session,) = reports.iterdir()
    assert sorted(p.name for p in (session / "runs").iterdir()) == [
        "a1-flat__ppo_sb3__s0.json",
        "a1-flat__ppo_sb3__s1.json",
    ]
    for name in ("index.md", "index.html", "results.csv", "table.tex", "environment.json"):
        assert (session / name).is_file(), name
    html = (session / "index.html").read_text()
    assert "data:image/png;base64," in html  # self-contained
    baseline = json.loads((baselines / "mujoco" / "cpu" / "a1-flat__ppo_sb3__2s.json").read_text())
    assert baseline["seeds"] == [0, 1] and baseline["budget_s"] == 2.0

    # 2-second runs can land on any verdict; with the rule off the gate still runs and reports, and
    # the session's outcome is fixed (test_planted_regression_is_caught checks that a rule fails it)
    second = _session(bench, "--sacbench-seeds", "2", "--sacbench-compare-fail", "none")
    # beneath the verdict, in the words of the report's details column: the difference and what moved
    second.stdout.fnmatch_lines(
        ["*a1-flat / ppo_sb3  (2 seeds vs 2)*", "*eval/episode_return: mean difference *", "*moved: *"]
    )
    assert second.ret == 0, second.stdout.str()
    # the CLI reads the same session through the same pipeline: the same verdicts, to the digit
    tonight = max(reports.iterdir(), key=lambda p: p.name)
    rebuilt = bench.path / "rebuilt"
    assert (
        cli_main(["report", str(tonight), "--out", str(rebuilt), "--baselines", str(baselines), "--reps", "200"]) == 0
    )
    assert _verdict_section(rebuilt / "index.md") == _verdict_section(tonight / "index.md")
    other = _session(bench, "--sacbench-seeds", "2", "--sacbench-budget", "3s")
    other.stdout.fnmatch_lines(["*inconclusive  a1-flat / ppo_sb3*"])  # a different budget is not compared


def _verdict_section(path: Path) -> str:
    text = path.read_text()
    start = text.index("## Verdicts against the stored baseline")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_resume_skips_items_with_a_record(bench: pytest.Pytester) -> None:
    first = _session(bench, "--sacbench-seeds", "1", "--sacbench-compare-fail", "none")
    assert first.ret == 0
    (session,) = (bench.path / "reports").iterdir()
    resumed = _session(
        bench, "--sacbench-seeds", "2", "--sacbench-resume", str(session), "--sacbench-compare-fail", "none"
    )
    assert _outcomes(resumed) == {"unasserted": 1, "skipped": 1}  # no thresholds file here
    assert len(list((session / "runs").iterdir())) == 2
    records = {p.name: p.read_bytes() for p in (session / "runs").iterdir()}
    longer = bench.runpytest("--sacbench-resume", str(session), "--sacbench-budget", "30m", "-k", "a1-flat-ppo_sb3")
    assert longer.ret == pytest.ExitCode.USAGE_ERROR  # its runs would replace records of another budget
    assert "a1-flat__ppo_sb3__s0.json was made at a 2 s budget, this session's is 1800 s" in longer.stderr.str()
    assert {p.name: p.read_bytes() for p in (session / "runs").iterdir()} == records


def test_items_without_a_threshold_are_unasserted_never_plain_passes(bench: pytest.Pytester) -> None:
    bare = _session(bench, "--sacbench-seeds", "1", "--sacbench-compare-fail", "none")
    assert bare.ret == 0
    assert _outcomes(bare) == {"unasserted": 1}
    bare.stdout.fnmatch_lines(["*UNASSERTED*a1-flat-ppo_sb3-s0*: no threshold for mujoco/cpu/a1-flat/ppo_sb3"])
    strict = _session(bench, "--sacbench-seeds", "1", "--sacbench-compare-fail", "none", "--sacbench-unasserted=fail")
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.stdout.fnmatch_lines(["*nothing asserted: no threshold for mujoco/cpu/a1-flat/ppo_sb3*"])
    bench.makefile(
        ".yaml",
        thresholds="""
        schema_version: 1
        thresholds:
          - {backend: mujoco, scale: cpu, task: a1-flat, preset: ppo_sb3, metric: train/env_steps, min: 1,
             source: "the run collected transitions"}
        """,
    )
    asserted = _session(bench, "--sacbench-seeds", "1", "--sacbench-compare-fail", "none", "--sacbench-unasserted=fail")
    assert _outcomes(asserted) == {"passed": 1}


def test_sigterm_keeps_finished_records_and_writes_the_report(bench: pytest.Pytester) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--sacbench-presets", "ppo_sb3", "-k", "a1-flat",
        "--sacbench-budget", "3s", "--sacbench-eval-episodes", "2", "--sacbench-seeds", "4",
        "--sacbench-bootstrap-reps", "200", "--sacbench-compare-fail", "none",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=bench.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    runs = bench.path / "reports"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(runs.glob("*/runs/*.json")):
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
    (session,) = runs.iterdir()
    finished = list((session / "runs").glob("*.json"))
    assert 1 <= len(finished) < 4
    assert (session / "index.html").is_file()
    assert f"({len(finished)} finished)" in (session / "index.md").read_text()


BINDING_THAT_SWALLOWS_THE_INTERRUPT = """
import os, signal, mujoco

class SignalledWhileConverted:
    def __float__(self):
        os.kill(os.getpid(), signal.SIGTERM)  # a scheduler's time limit, arriving mid-call
        return 0.0

def test_builds_a_joint():
    joint = mujoco.MjSpec().worldbody.add_body(name="b").add_joint(name="j")
    joint.axis = [SignalledWhileConverted(), 1.0, 0.0]  # pybind11 reports the interrupt as a TypeError

def test_never_reached():
    pass
"""

CODE_THAT_SWALLOWS_THE_INTERRUPT = """
import os, signal, time

def test_runs_on():
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
    except KeyboardInterrupt:
        pass  # as a library's blanket except would

def test_never_reached():
    pass
"""


@pytest.mark.parametrize(
    ("source", "surfaced"),
    [(BINDING_THAT_SWALLOWS_THE_INTERRUPT, "*KeyboardInterrupt: signal 15 (it surfaced as TypeError*"),
     (CODE_THAT_SWALLOWS_THE_INTERRUPT, "*KeyboardInterrupt: signal 15")],
    ids=["turned-into-an-error", "swallowed-whole"],
)  # fmt: skip
def test_sigterm_caught_by_the_code_under_test_still_interrupts_the_session(
    pytester: pytest.Pytester, source: str, surfaced: str
) -> None:
    # In CI a SIGTERM landed inside MuJoCo's model building: the real binding turned it into
    # "TypeError: incompatible function arguments", and the session read as a failed run.
    pytester.makepyfile(test_interrupted=source)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()
    result.stdout.fnmatch_lines([surfaced])
    outcomes = result.parseoutcomes()
    assert "failed" not in outcomes and "passed" not in outcomes  # the interrupted test is neither


SMALL_SAC_SESSION = [
    "-p", "no:cacheprovider", "--sacbench-presets", "sac_tuned", "-k", "a1-flat", "--sacbench-seeds", "3",
    "--sacbench-budget", "4s", "--sacbench-eval-episodes", "8", "--sacbench-bootstrap-reps", "500",
    # a small SAC, one compiled update: the point is the bounds, not the network
    "--sacbench-set", "num_envs=16", "--sacbench-set", "net_arch=[64,64]", "--sacbench-set", "batch_size=128",
    "--sacbench-set", "gradient_steps=1", "--sacbench-set", "policy_delay=1",
]  # fmt: skip
"""Three seeds of a small SAC on A1 flat, 4 s each: the sessions of the planted-regression tests."""


def test_planted_regression_is_caught(bench: pytest.Pytester) -> None:
    """A deliberately broken preset (the post's bug put back: sac_tuned on the [-100, 100] box)."""
    common = SMALL_SAC_SESSION
    good = bench.runpytest_subprocess(*common, "--sacbench-update-baselines")
    assert good.ret == 0, good.stdout.str()
    bench.makeconftest(
        """
        import dataclasses
        from sacbench.algos import presets
        from sacbench.bounds import LEGACY

        presets.PRESETS["sac_tuned"] = dataclasses.replace(presets.PRESETS["sac_tuned"], bounds=LEGACY)
        """
    )
    # 3 vs 3 seeds: only the most extreme of the 20 splits reaches p <= 0.05, as a broken box gives.
    # The nightly confirms a regression on as many fresh seeds (3, 4, 5): the broken box regresses again.
    # Under xdist, as a nightly runs, the confirmation runs train side by side too.
    broken = bench.runpytest_subprocess(*common, "-n", "2", "--sacbench-compare-fail", "mean@0.05")
    broken.stdout.fnmatch_lines(
        [
            "sacbench: 1 item(s) read regressed; confirming each on 3 fresh seeds (2 at a time)",
            "*confirm a1-flat-sac_tuned-s3: ok",
            "*regressed  a1-flat / sac_tuned*",
            "REGRESSED a1-flat / sac_tuned: regressed, confirmed by 3 fresh seeds: eval/episode_return*"
            "|| first stage: eval/episode_return*",
        ]
    )
    assert broken.ret == pytest.ExitCode.TESTS_FAILED
    session = max((bench.path / "reports").iterdir(), key=lambda p: p.name)
    assert sorted(p.name for p in (session / "confirm" / "runs").iterdir()) == [
        f"a1-flat__sac_tuned__s{seed}.json" for seed in (3, 4, 5)
    ]
    verdicts = json.loads((session / "verdicts.json").read_text())["verdicts"]
    assert [(v["verdict"], v["first_stage"]["verdict"]) for v in verdicts] == [("regressed", "regressed")]
    confirmation = load_runs(session / "confirm" / "runs")
    assert all(r.preset == "sac_tuned" and r.bounds["mode"] == "legacy" for r in confirmation)  # the conftest's box
    # two at a time, each on a core of its own: the first two ran at once
    first, second, _ = sorted(confirmation, key=lambda r: r.provenance["start_utc"])
    assert first.provenance["cpu_pinning"]["cores"] != second.provenance["cpu_pinning"]["cores"]
    assert second.provenance["start_utc"] < first.provenance["end_utc"]


def test_a_first_stage_regression_the_confirmation_does_not_repeat_passes(bench: pytest.Pytester) -> None:
    """Tonight's seeds on the broken box, the confirmation's on the right one: a one-night fault.

    The confirmation's seeds 3, 4, 5 train as the baseline's seeds 0, 1, 2 did (the same learning up to
    where the clock stops them), so that the confirmation reads no regression for certain rather than
    with the test's 95 %.
    """
    common = SMALL_SAC_SESSION
    assert bench.runpytest_subprocess(*common, "--sacbench-update-baselines").ret == 0
    bench.makeconftest(
        """
        import dataclasses
        from sacbench import executor
        from sacbench.algos import presets
        from sacbench.bounds import LEGACY

        _train = executor.train

        def train(config):
            if config.seed < 3:
                broken = dataclasses.replace(presets.PRESETS[config.preset], bounds=LEGACY)
                return _train(dataclasses.replace(config, preset=broken))
            record = _train(dataclasses.replace(config, seed=config.seed - 3))
            return dataclasses.replace(record, seed=config.seed, run_id=record.run_id[:-1] + str(config.seed))

        executor.train = train
        """
    )
    night = bench.runpytest_subprocess(*common, "--sacbench-compare-fail", "mean@0.05")
    night.stdout.fnmatch_lines(
        [
            "sacbench: 1 item(s) read regressed; confirming each on 3 fresh seeds (one after another)",
            "*a1-flat / sac_tuned  (3 seeds vs 3)*",
        ]
    )
    assert "REGRESSED a1-flat / sac_tuned" not in night.stdout.str()
    assert night.ret == 0, night.stdout.str()
    session = max((bench.path / "reports").iterdir(), key=lambda p: p.name)
    (verdict,) = json.loads((session / "verdicts.json").read_text())["verdicts"]
    assert verdict["verdict"] != "regressed" and verdict["first_stage"]["verdict"] == "regressed"
    assert verdict["reason"].startswith(f"regressed, not confirmed ({verdict['verdict']}) by 3 fresh seeds: ")
    # off: the first stage decides
    unconfirmed = bench.runpytest_subprocess(*common, "--sacbench-compare-fail", "mean@0.05", "--sacbench-confirm", "0")
    assert unconfirmed.ret == pytest.ExitCode.TESTS_FAILED


def test_ray_executor_runs_the_selected_items(bench: pytest.Pytester) -> None:
    pytest.importorskip("ray")
    result = _session(bench, "--sacbench-seeds", "2", "--sacbench-executor", "ray", "--sacbench-compare-fail", "none")
    assert _outcomes(result) == {"unasserted": 2}
    result.stdout.fnmatch_lines(["*sacbench ray: submitted 2 runs*", "*sacbench ray: a1-flat__ppo_sb3__s1 ok*"])
    (session,) = (bench.path / "reports").iterdir()
    assert len(list((session / "runs").iterdir())) == 2
