"""The sacbench pytest plugin (entry point ``pytest11: sacbench``).

It turns ``benchmarks/test_*.py`` functions that take the ``sacbench_case`` fixture into one item
per task x preset x seed, runs each through `sacbench.train.train`, writes one record per run
(under xdist, each worker writes its own files), and at the end of the session, on the controller,
aggregates the records with rliable into a report, compares them with the stored baselines and
fails the session on a regression.  Ctrl-C or SIGTERM keeps every finished record and still writes
the report; ``--sacbench-resume DIR`` skips the items whose record exists there.
"""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from sacbench import metrics
from sacbench.algos.presets import PRESETS, SUITES, Scale, Suite
from sacbench.records import RecordError, RunRecord, load_run, load_runs, run_id, save_run
from sacbench.sim.protocol import Backend

# ------------------------------------------------------------------------------------ parsers


def parse_seeds(text: str) -> tuple[int, ...]:
    """``3`` (seeds 0, 1, 2) or ``0,4,7`` (those seeds)."""
    try:
        if "," in text:
            seeds = tuple(int(s) for s in text.split(",") if s.strip())
        else:
            count = int(text)
            if count < 1:
                raise ValueError
            seeds = tuple(range(count))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a number of seeds (3 -> 0,1,2) or a comma-separated list (0,4,7)"
        ) from None
    if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"{text!r}: seeds must be distinct non-negative integers")
    return seeds


def parse_budget_option(text: str) -> float:
    """Budget seconds (``300``, ``90s``, ``5m``, ``1h``)."""
    from sacbench.train import Budget

    try:
        return Budget.parse(text).seconds
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_compare_rule(text: str) -> Any:
    """``mean@0.05``, ``iqm:5%``, ``mean:0.5@0.01`` or ``none``."""
    from sacbench.compare import CompareRule

    if text.strip().lower() == "none":
        return None
    try:
        return CompareRule.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


ALL_PRESETS = ("all",)
"""``--sacbench-presets all``: every registered preset that has the session's scale."""


def parse_presets(text: str) -> tuple[str, ...]:
    """``all``, or comma-separated preset names, each checked against the registry."""
    if text.strip().lower() == "all":
        return ALL_PRESETS
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in PRESETS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"unknown preset(s) {unknown or [text]}; valid: {', '.join(PRESETS)}")
    return names


def parse_positive_int(text: str) -> int:
    """A positive integer (the CLI's parser)."""
    from sacbench.cli import positive_int

    return positive_int(text)


def parse_confirm(text: str) -> int:
    """``--sacbench-confirm``: a number of fresh seeds, 0 to turn confirmation off (the CLI's parser)."""
    from sacbench.cli import non_negative_int

    return non_negative_int(text)


def _parse_override(text: str) -> tuple[str, Any]:
    from sacbench.cli import parse_override

    return parse_override(text)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ``sacbench`` option group (every option prefixed, like pytest-benchmark's)."""
    group = parser.getgroup("sacbench", "sacbench: RL locomotion benchmarks")
    group.addoption(
        "--gpu",
        action="store_true",
        default=False,
        help="Run on Isaac Lab on CUDA (backend isaaclab, GPU scale), one GPU per xdist worker.",
    )
    group.addoption(
        "--sacbench-backend",
        metavar="NAME",
        choices=[b.value for b in Backend],
        default=None,
        help="Simulation backend: mujoco (embedded CPU mirror) or isaaclab. Default: mujoco, or isaaclab with --gpu.",
    )
    group.addoption(
        "--sacbench-scale",
        metavar="SCALE",
        choices=[s.value for s in Scale],
        default=None,
        help="Preset scale: cpu or gpu. Default: cpu on mujoco, gpu on isaaclab.",
    )
    group.addoption(
        "--sacbench-seeds",
        metavar="N|LIST",
        type=parse_seeds,
        default=(0, 1, 2),
        help="Number of seeds (3 -> 0,1,2) or a comma-separated list. Default: 3.",
    )
    group.addoption(
        "--sacbench-budget",
        metavar="DURATION",
        type=parse_budget_option,
        default=None,
        help="Training wall-clock per run, compile excluded: 300, 90s, 5m. Default: the suite's (nightly: 2m on"
        " cpu scale, 5m on gpu; curriculum: 30m).",
    )
    group.addoption(
        "--sacbench-presets",
        metavar="NAMES",
        type=parse_presets,
        default=None,
        help="Presets to run: exact names, comma-separated, or 'all'. Default: the suite's (nightly: the default"
        " matrix, flat: sac_tuned, sac_tuned_legacy, ppo_sb3; rough: sac_tuned_rough, ppo_sb3).",
    )
    group.addoption(
        "--sacbench-suite",
        metavar="NAME",
        choices=list(SUITES),
        default="nightly",
        help="The session's presets and default budget: "
        + "; ".join(f"{name}: {suite.doc}" for name, suite in SUITES.items())
        + ". Default: 'nightly'.",
    )
    group.addoption(
        "--sacbench-eval-episodes",
        metavar="N",
        type=parse_positive_int,
        default=64,
        help="Least number of deterministic evaluation episodes per run, on the env that trained (rounded up to a"
        " whole number per env). Default: %(default)r.",
    )
    group.addoption(
        "--sacbench-baseline-dir",
        metavar="DIR",
        default="baselines",
        help="Stored baselines (<dir>/<backend>/<scale>/<task>__<preset>__<budget>s.json). Default: %(default)r.",
    )
    group.addoption(
        "--sacbench-report-dir",
        metavar="DIR",
        default="reports",
        help="Reports go to <dir>/<UTC timestamp>/. Default: %(default)r.",
    )
    group.addoption(
        "--sacbench-compare-fail",
        metavar="RULE",
        type=parse_compare_rule,
        default="mean@0.05",
        help="Fail the session when a preset regresses: <stat>[:<least effect>][@<false-alarm level>], e.g."
        " mean@0.05, iqm:5%%@0.01 (5 %% of the task's best return), mean:0.5; 'none' to only report."
        " Default: 'mean@0.05'.",
    )
    group.addoption(
        "--sacbench-update-baselines",
        action="store_true",
        default=False,
        help="Write this session's results as the new baselines (instead of gating against the old ones).",
    )
    group.addoption(
        "--sacbench-resume",
        metavar="DIR",
        default=None,
        help="Continue an interrupted session: report into DIR and skip items whose record is in DIR/runs.",
    )
    group.addoption(
        "--sacbench-set",
        metavar="KEY=VALUE",
        type=_parse_override,
        action="append",
        default=[],
        help="Override a hyperparameter of every run (repeatable; JSON values, e.g. net_arch=[64,64]). The"
        " records keep the overrides; baselines are never compared across them.",
    )
    group.addoption(
        "--sacbench-executor",
        metavar="NAME",
        choices=["local", "ray"],
        default="local",
        help="local: each item trains in its own process (or xdist worker); ray: every selected run is"
        " submitted to a Ray cluster up front and each item waits for its own. Default: %(default)r.",
    )
    group.addoption(
        "--sacbench-ray-address",
        metavar="ADDR",
        default=None,
        help="Ray cluster for --sacbench-executor=ray (auto, ray://head:10001). Default: start a local one.",
    )
    group.addoption(
        "--sacbench-physics",
        metavar="NAME",
        choices=["newton_mjwarp", "isaacsim_physx", "ovphysx", "newton_kamino", "physx"],
        default=None,
        help="Isaac Lab 3.0 physics preset. Default: each task's own (newton_mjwarp on rough and Go2).",
    )
    group.addoption(
        "--sacbench-device",
        metavar="DEVICE",
        default=None,
        help="Isaac Lab's device: cuda:0, or cpu (the real Isaac Lab 3.0 on Newton MJWarp, Warp's CPU device;"
        " cpu scale, 16 envs unless --sacbench-set num_envs=N). Default: cuda:0.",
    )
    group.addoption(
        "--sacbench-assets",
        metavar="SOURCE",
        choices=["nvidia", "sacbench"],
        default=None,
        help="Isaac Lab assets: nvidia, or sacbench (written from sacbench's robot facts, offline; actuator"
        " networks replaced). Default: sacbench on the cpu device, nvidia on a GPU.",
    )
    group.addoption(
        "--sacbench-asset-root",
        metavar="DIR",
        default=None,
        help="Local mirror of NVIDIA's Isaac assets (ISAACSIM_ASSET_ROOT) for offline GPU machines.",
    )
    group.addoption(
        "--sacbench-bdx-usd",
        metavar="PATH",
        default=None,
        help="BD-X robot USD for Isaac Lab (or $SACBENCH_BDX_USD); not needed on the MuJoCo mirror.",
    )
    group.addoption(
        "--sacbench-unasserted",
        metavar="MODE",
        choices=["report", "fail"],
        default="report",
        help="Items with no threshold to assert (none for their task/preset/backend, or none for this budget):"
        " 'report' shows them as UNASSERTED (never as a plain pass), 'fail' fails them. Default: %(default)r.",
    )
    group.addoption(
        "--sacbench-confirm",
        metavar="N",
        type=parse_confirm,
        default=None,
        help="Re-run an item that reads 'regressed' on N fresh seeds after the session's runs; it fails only if"
        " the confirmation regresses too, and the report shows both stages (0: no confirmation). Default: the"
        " session's seed count for the nightly suite, 0 otherwise.",
    )
    group.addoption(
        "--sacbench-bootstrap-seed",
        metavar="SEED",
        type=int,
        default=0,
        help="Seed of every bootstrap interval in the report. Default: %(default)r.",
    )
    group.addoption(
        "--sacbench-bootstrap-reps", metavar="N", type=parse_positive_int, default=2000,
        help="Bootstrap replications. Default: %(default)r.",
    )  # fmt: skip


# ------------------------------------------------------------------------------------ state


@dataclass
class SacbenchState:
    """Session state, kept in ``config.stash``."""

    backend: Backend
    scale: Scale
    seeds: tuple[int, ...]
    budget_s: float
    presets: tuple[str, ...] | None
    """``None``: the suite's presets for each task's terrain."""
    eval_episodes: int
    baseline_dir: Path
    report_dir: Path
    compare_rule: Any
    update_baselines: bool
    resume: bool
    bootstrap_seed: int
    bootstrap_reps: int
    is_worker: bool
    backend_options: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    fail_unasserted: bool = False
    """``--sacbench-unasserted=fail``."""
    executor_kind: str = "local"
    ray_address: str | None = None
    suite: Suite = SUITES["nightly"]
    confirm: int = 0
    """Fresh seeds that re-run an item whose first stage regressed (``--sacbench-confirm``)."""
    executor: Any = None
    """The Ray executor once runs are submitted (``None``: items train themselves)."""
    report: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def runs_dir(self) -> Path:
        """Where every worker writes its records."""
        return self.report_dir / "runs"


STATE = pytest.StashKey[SacbenchState]()
DEFAULT_BUDGET_S = SUITES["nightly"].budget_s
_WORKER_REPORT_DIR = "sacbench_report_dir"


def _resolve_backend(config: pytest.Config) -> Backend:
    backend_opt = config.getoption("--sacbench-backend")
    if config.getoption("--gpu"):
        if backend_opt not in (None, Backend.ISAACLAB.value):
            raise pytest.UsageError(
                f"--gpu runs on Isaac Lab but --sacbench-backend={backend_opt}; drop one of the two"
            )
        return Backend.ISAACLAB
    return Backend(backend_opt or Backend.MUJOCO.value)


def _device(config: pytest.Config) -> str:
    """Isaac Lab's device: ``--sacbench-device``, else ``cuda:0`` (each worker sees its own GPU as 0)."""
    from sacbench.sim.isaaclab import is_cpu

    device = config.getoption("--sacbench-device") or "cuda:0"
    if config.getoption("--gpu") and is_cpu(device):
        raise pytest.UsageError("--gpu runs on a CUDA GPU but --sacbench-device=cpu; for the CPU use"
                                " --sacbench-backend isaaclab --sacbench-device cpu")  # fmt: skip
    return device


def _check_isaaclab(device: str) -> None:
    from sacbench.sim.isaaclab import isaaclab_status

    status = isaaclab_status(device)
    if not status.usable:
        lines = "\n  - ".join(status.reasons)
        raise pytest.UsageError(f"Isaac Lab on {device} is not usable here:\n  - {lines}")


def _check_physics(state: SacbenchState, tasks: list[str]) -> None:
    """A usage error naming each selected task whose physics package is missing (before any run)."""
    from sacbench.sim.isaaclab import Physics, missing_physics

    chosen = state.backend_options.get("physics")
    try:
        missing = missing_physics(tasks, Physics(chosen) if chosen else None, state.backend_options["device"])
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if missing:
        lines = "\n  - ".join(missing)
        raise pytest.UsageError(f"Isaac Lab: the selected tasks need physics that is not installed:\n  - {lines}")


def _report_dir(config: pytest.Config) -> tuple[Path, bool]:
    """The session's report folder (the same for every xdist worker) and whether it resumes."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and _WORKER_REPORT_DIR in workerinput:
        return Path(workerinput[_WORKER_REPORT_DIR]), bool(workerinput.get("sacbench_resume"))
    resume = config.getoption("--sacbench-resume")
    if resume:
        folder = Path(resume)
        if not folder.is_dir():
            raise pytest.UsageError(f"--sacbench-resume={resume}: no such folder; give a session folder of reports/")
        return folder, True
    from sacbench.report import session_name

    return Path(config.getoption("--sacbench-report-dir")) / session_name(), False


def _presets_at(scale: Scale, requested: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The session's presets: ``None`` (the suite's), every one with ``scale`` (``all``), or those named.

    CPU-only recipes (``sacbench tune`` results such as ``sac_cpu_tuned``) have no GPU settings, so
    ``all`` leaves them out of the GPU nightly, and naming one there is a usage error.
    """
    if requested is None:
        return None
    if requested == ALL_PRESETS:
        return tuple(name for name, preset in PRESETS.items() if preset.has_scale(scale))
    missing = [name for name in requested if not PRESETS[name].has_scale(scale)]
    if missing:
        raise pytest.UsageError(
            f"--sacbench-presets: {', '.join(missing)} has no {scale.value} scale (a CPU-only recipe);"
            f" drop it, or run at --sacbench-scale cpu"
        )
    return requested


def pytest_configure(config: pytest.Config) -> None:
    """Parse and check the options, declare the markers, install the SIGTERM handler."""
    config.addinivalue_line("markers", "sacbench: a training benchmark of the sacbench harness")
    config.addinivalue_line("markers", "gpu: needs Isaac Lab on a CUDA GPU (run with --gpu)")
    config.addinivalue_line(
        "markers",
        "negative_control: a preset expected not to learn; asserted by its 'max' thresholds (UNASSERTED without one)",
    )
    backend = _resolve_backend(config)
    is_worker = hasattr(config, "workerinput")
    from sacbench.sim.isaaclab import is_cpu

    on_gpu = backend is Backend.ISAACLAB and not is_cpu(_device(config))
    if backend is Backend.ISAACLAB and not is_worker:
        _check_isaaclab(_device(config))
    if on_gpu and is_worker:
        _assign_gpu(config)
    scale = Scale(config.getoption("--sacbench-scale") or (Scale.GPU if on_gpu else Scale.CPU))
    suite = SUITES[config.getoption("--sacbench-suite")]
    report_dir, resume = _report_dir(config)
    if config.getoption("--sacbench-update-baselines") and resume:
        config.issue_config_time_warning(
            pytest.PytestConfigWarning("--sacbench-update-baselines with --sacbench-resume: resumed records count too"),
            stacklevel=2,
        )
    config.stash[STATE] = SacbenchState(
        backend=backend,
        scale=scale,
        seeds=config.getoption("--sacbench-seeds"),
        budget_s=config.getoption("--sacbench-budget") or suite.budget_s[scale],
        presets=_presets_at(scale, config.getoption("--sacbench-presets")),
        eval_episodes=config.getoption("--sacbench-eval-episodes"),
        baseline_dir=Path(config.getoption("--sacbench-baseline-dir")),
        report_dir=report_dir,
        compare_rule=config.getoption("--sacbench-compare-fail"),
        update_baselines=config.getoption("--sacbench-update-baselines"),
        resume=resume,
        bootstrap_seed=config.getoption("--sacbench-bootstrap-seed"),
        bootstrap_reps=config.getoption("--sacbench-bootstrap-reps"),
        is_worker=is_worker,
        backend_options=_backend_options(config, backend),
        overrides=dict(config.getoption("--sacbench-set")),
        fail_unasserted=config.getoption("--sacbench-unasserted") == "fail",
        executor_kind=config.getoption("--sacbench-executor"),
        ray_address=config.getoption("--sacbench-ray-address"),
        suite=suite,
        confirm=_confirm_count(config, suite),
    )
    if config.stash[STATE].executor_kind == "ray" and (is_worker or config.getoption("numprocesses", None)):
        raise pytest.UsageError("--sacbench-executor=ray spreads the runs itself: do not combine it with xdist's -n")
    if not is_worker:
        _install_interrupt_handlers(config)


_PREVIOUS_HANDLERS = pytest.StashKey[dict[int, Any]]()
_SIGNALS_RECEIVED = pytest.StashKey[list[int]]()


def _confirm_count(config: pytest.Config, suite: Suite) -> int:
    """``--sacbench-confirm``, else the session's seed count on the nightly suite (0 on others)."""
    requested = config.getoption("--sacbench-confirm")
    if requested is not None:
        return int(requested)
    return len(config.getoption("--sacbench-seeds")) if suite.name == "nightly" else 0


def _backend_options(config: pytest.Config, backend: Backend) -> dict[str, Any]:
    """Isaac Lab options (a GPU worker's device comes from CUDA_VISIBLE_DEVICES, so it is cuda:0)."""
    if backend is not Backend.ISAACLAB:
        return {}
    options: dict[str, Any] = {"device": _device(config)}
    for option, key in (("--sacbench-physics", "physics"), ("--sacbench-assets", "assets"),
                        ("--sacbench-asset-root", "asset_root"), ("--sacbench-bdx-usd", "bdx_usd")):  # fmt: skip
        value = config.getoption(option)
        if value is not None:
            options[key] = Path(value) if key in ("asset_root", "bdx_usd") else value
    return options


def _install_interrupt_handlers(config: pytest.Config) -> None:
    """End the session on SIGTERM or Ctrl-C like pytest's own Ctrl-C, remembering that it came.

    SIGTERM (a scheduler's time limit) is turned into ``KeyboardInterrupt``: finished records are
    kept and ``pytest_sessionfinish`` still writes the report from them.  The signal is remembered
    because the exception can land inside a binding that swallows it: MuJoCo's pybind11 setters
    turn it into "TypeError: incompatible function arguments", which would read as a failed run.
    ``_signal_outranks_failures`` restores the interrupt.  A SIGINT that the shell ignores (a
    background job) stays ignored.
    """
    received: list[int] = []

    def interrupt(signum: int, frame: Any) -> None:
        received.append(signum)
        raise KeyboardInterrupt(f"signal {signum}")

    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        current = signal.getsignal(signum)
        if signum == signal.SIGINT and current is not signal.default_int_handler:
            continue
        previous[signum] = signal.signal(signum, interrupt)
    config.stash[_PREVIOUS_HANDLERS] = previous
    config.stash[_SIGNALS_RECEIVED] = received


def _signal_outranks_failures(config: pytest.Config) -> Generator[None, Any, Any]:
    """Wrap a test phase: after SIGTERM or Ctrl-C, whatever the phase raised (or not) is an interrupt."""
    received = config.stash.get(_SIGNALS_RECEIVED, [])
    try:
        result = yield
    except Exception as exc:
        if received:
            raise KeyboardInterrupt(
                f"signal {received[0]} (it surfaced as {type(exc).__name__} from code that caught the interrupt)"
            ) from exc
        raise
    if received:  # the interrupt was swallowed whole and the phase ran on
        raise KeyboardInterrupt(f"signal {received[0]}")
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    """See ``_signal_outranks_failures``."""
    return (yield from _signal_outranks_failures(item.config))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """See ``_signal_outranks_failures``."""
    return (yield from _signal_outranks_failures(item.config))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, Any, Any]:
    """See ``_signal_outranks_failures``."""
    return (yield from _signal_outranks_failures(item.config))


def pytest_report_header(config: pytest.Config) -> str | None:
    """The session's backend, scale, suite, budget and seeds: what every number of it depends on."""
    state = config.stash.get(STATE, None)
    if state is None:
        return None
    seeds = ",".join(str(s) for s in state.seeds)
    return (
        f"sacbench: {state.backend.value}/{state.scale.value}, suite {state.suite.name}, budget {state.budget_s:g} s"
        f" per run, seeds {seeds}"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Give SIGTERM and SIGINT their previous handlers back (pytest may run inside a longer-lived process)."""
    for signum, previous in config.stash.get(_PREVIOUS_HANDLERS, {}).items():
        signal.signal(signum, previous)


def _assign_gpu(config: pytest.Config) -> None:
    """One GPU per xdist worker, within an outer ``CUDA_VISIBLE_DEVICES`` if one is set."""
    worker = str(config.workerinput["workerid"])  # type: ignore[attr-defined]
    index = int(worker.removeprefix("gw"))
    visible = config.workerinput.get("sacbench_visible_gpus")  # type: ignore[attr-defined]
    gpus = [g for g in str(visible).split(",") if g.strip()] if visible else []
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Xdist controller: tell each worker the session's report folder and the GPUs to share."""
    state = node.config.stash[STATE]
    node.workerinput[_WORKER_REPORT_DIR] = str(state.report_dir)
    node.workerinput["sacbench_resume"] = state.resume
    if state.backend is Backend.ISAACLAB:
        node.workerinput["sacbench_visible_gpus"] = os.environ.get("CUDA_VISIBLE_DEVICES") or _all_gpus()


def _all_gpus() -> str:
    from sacbench.provenance import nvidia_gpus

    return ",".join(str(i) for i in range(len(nvidia_gpus())))


# ------------------------------------------------------------------------------------ items


@dataclass(frozen=True)
class Case:
    """One benchmark item: a preset on a task with a seed."""

    task: str
    preset: str
    seed: int

    @property
    def id(self) -> str:
        """Item id selectable with ``-k``: ``a1-flat-sac_tuned-s0``."""
        return f"{self.task}-{self.preset}-s{self.seed}"

    @property
    def run_id(self) -> str:
        """File stem of its record."""
        return run_id(self.task, self.preset, self.seed)


def cases(state: SacbenchState) -> list[Case]:
    """Every task x preset x seed of the session."""
    from sacbench.tasks import task_names

    return [Case(t, p, s) for t in task_names() for p in presets_for(state, t) for s in state.seeds]


def presets_for(state: SacbenchState, task: str) -> tuple[str, ...]:
    """The presets the session runs on ``task``: the requested ones, or the suite's for its terrain."""
    if state.presets is not None:
        return state.presets
    from sacbench.tasks import get_task

    return state.suite.presets[get_task(task).terrain.value]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``sacbench_case`` over the matrix, with ids that ``-k`` selects."""
    if "sacbench_case" not in metafunc.fixturenames:
        return
    state = metafunc.config.stash[STATE]
    params = []
    for case in cases(state):
        marks = [pytest.mark.sacbench]
        if state.backend is Backend.ISAACLAB:
            marks.append(pytest.mark.gpu)
        if not PRESETS[case.preset].learns:
            marks.append(pytest.mark.negative_control)
        params.append(pytest.param(case, id=case.id, marks=marks))
    metafunc.parametrize("sacbench_case", params)


@pytest.fixture
def sacbench_state(request: pytest.FixtureRequest) -> SacbenchState:
    """The session's sacbench settings."""
    return request.config.stash[STATE]


def run_config(state: SacbenchState, case: Case) -> Any:
    """The `RunConfig` of a case in this session."""
    from sacbench.train import Budget, RunConfig

    return RunConfig(
        task=case.task,
        preset=case.preset,
        seed=case.seed,
        budget=Budget(state.budget_s),
        scale=state.scale,
        backend=state.backend,
        backend_options=state.backend_options,
        overrides=state.overrides,
        eval_episodes=state.eval_episodes,
    )


def _resumed(state: SacbenchState, case: Case) -> bool:
    """Whether a resumed session already holds a valid record of ``case``."""
    path = state.runs_dir / f"{case.run_id}.json"
    if not (state.resume and path.exists()):
        return False
    try:
        load_run(path)
    except RecordError:
        return False  # a damaged record is run again
    return True


def _check_resumed_budgets(state: SacbenchState, selected: list[Case]) -> None:
    """Refuse to resume into records of another budget: the runs would replace them (one file per run id).

    Raises:
        pytest.UsageError: Naming a record, its budget and the session's.
    """
    for case in selected:
        path = state.runs_dir / f"{case.run_id}.json"
        try:
            budget = float(load_run(path).budget["seconds"]) if path.exists() else state.budget_s
        except RecordError:
            continue  # a damaged record is run again
        if budget != state.budget_s:
            raise pytest.UsageError(
                f"--sacbench-resume {state.report_dir}: {path.name} was made at a {budget:g} s budget, this"
                f" session's is {state.budget_s:g} s; resume with --sacbench-budget {budget:g}, or report into"
                " another folder (resuming would replace its records)"
            )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """On Isaac Lab, check the physics of every selected task; with Ray, submit every selected run now."""
    state = config.stash.get(STATE, None)
    if state is None or state.is_worker:
        return
    selected = [case for item in items if (case := _case_of(item)) is not None]
    if state.resume:
        _check_resumed_budgets(state, selected)
    if state.backend is Backend.ISAACLAB:
        _check_physics(state, sorted({case.task for case in selected}))
    if state.executor_kind != "ray":
        return
    todo = [case for case in selected if not _resumed(state, case)]
    if not todo:
        return
    from sacbench.executor import make_executor

    state.executor = make_executor("ray", address=state.ray_address)
    for case in todo:
        state.executor.submit(case.run_id, run_config(state, case))
    _terminal_line(config, f"sacbench ray: submitted {len(todo)} runs [{state.executor.progress().line()}]")


def _case_of(item: pytest.Item) -> Case | None:
    """The sacbench case an item runs, if any."""
    callspec = getattr(item, "callspec", None)
    case = callspec.params.get("sacbench_case") if callspec is not None else None
    return case if isinstance(case, Case) else None


def _terminal_line(config: pytest.Config, text: str) -> None:
    """A line on the terminal, also from inside a test (output capture suspended meanwhile)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        _write_line(reporter, text)
        return
    with capture.global_and_fixture_disabled():
        _write_line(reporter, text)


def _write_line(reporter: Any, text: str) -> None:
    """``text`` on a line of its own: after xdist's progress line too, which `write_line` would continue."""
    writer = getattr(reporter, "_tw", None)  # pytest's TerminalWriter knows where its cursor is
    if writer is not None and int(getattr(writer, "width_of_current_line", 0) or 0) > 0:
        reporter.write("\n")
    reporter.write_line(text)


@pytest.fixture
def sacbench_run(request: pytest.FixtureRequest, sacbench_state: SacbenchState) -> Callable[[Case], RunRecord]:
    """Train a case (or skip it when resuming and its record exists) and write its record.

    With the Ray executor the run was submitted at collection: the item waits for its record.
    """

    def run(case: Case) -> RunRecord:
        state = sacbench_state
        if _resumed(state, case):
            pytest.skip(f"resumed: record exists in {state.runs_dir}")
        if state.executor is not None:
            record = state.executor.result(case.run_id)
            _terminal_line(
                request.config,
                f"sacbench ray: {case.run_id} {record.status.value} [{state.executor.progress().line()}]",
            )
        else:
            from sacbench.executor import train_isolated

            def line(status: str) -> None:
                _terminal_line(request.config, f"  {case.id}: {status}")

            # A live line per item (the controller's terminal; xdist workers have none to write to).
            record = train_isolated(replace(run_config(state, case), on_progress=None if state.is_worker else line))
        save_run(record, state.runs_dir)  # written once, by this process
        for key in (metrics.EVAL_RETURN, metrics.TERRAIN_LEVEL, metrics.TERRAIN_LEVEL_LATE, metrics.ENV_STEPS):
            request.node.user_properties.append((key, record.final.get(key)))
        request.node.user_properties.append(("status", record.status.value))
        return record

    return run


@pytest.fixture
def sacbench_thresholds(request: pytest.FixtureRequest) -> Any:
    """The threshold table next to the benchmarks (``thresholds.yaml``)."""
    from sacbench.thresholds import load_thresholds

    return load_thresholds(Path(request.node.path).parent / "thresholds.yaml")


UNASSERTED = "sacbench_unasserted"
"""The user property that marks an item which asserted nothing (its value says why)."""


@pytest.fixture
def sacbench_unasserted(request: pytest.FixtureRequest, sacbench_state: SacbenchState) -> Callable[[str], None]:
    """Declare that this item asserted nothing: shown ``UNASSERTED``, or failed with ``--sacbench-unasserted=fail``."""

    def unasserted(reason: str) -> None:
        if sacbench_state.fail_unasserted:
            pytest.fail(f"nothing asserted: {reason} (--sacbench-unasserted=fail)", pytrace=False)
        request.node.user_properties.append((UNASSERTED, reason))

    return unasserted


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    """A passed item that asserted nothing is shown as ``U`` / ``UNASSERTED``, never as a plain pass."""
    if report.when == "call" and report.passed and any(key == UNASSERTED for key, _ in report.user_properties):
        return "unasserted", "U", ("UNASSERTED", {"yellow": True})
    return None


# ------------------------------------------------------------------------------------ session end


def _session_records(state: SacbenchState) -> list[RunRecord]:
    if not state.runs_dir.is_dir():
        return []
    return load_runs(state.runs_dir)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Controller only: report, baselines, gate."""
    state = session.config.stash.get(STATE, None)
    if state is None or state.is_worker:
        return
    records = _session_records(state)
    try:
        if records and state.compare_rule is not None and not state.update_baselines and state.confirm:
            _confirm_regressions(session.config, state, records)
    except KeyboardInterrupt:
        _terminal_line(session.config, "sacbench: confirmation interrupted; the report uses what finished")
    finally:
        if state.executor is not None:
            state.executor.shutdown()
    if not records:
        return
    from sacbench.compare import DEFAULT_RULE
    from sacbench.session import finish_session, load_confirmations

    result = finish_session(
        records,
        state.report_dir,
        baseline_root=state.baseline_dir,
        # With --sacbench-compare-fail=none the verdicts are still shown, under the default rule.
        rule=state.compare_rule or DEFAULT_RULE,
        update_baselines=state.update_baselines,
        seed=state.bootstrap_seed,
        reps=state.bootstrap_reps,
        confirmations=load_confirmations(state.report_dir),
    )
    state.notes.extend(result.notes)
    state.report = result.report
    if state.compare_rule is not None and state.report.regressions and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _confirm_regressions(config: pytest.Config, state: SacbenchState, records: list[RunRecord]) -> None:
    """Re-run every item whose first stage reads ``regressed`` on ``state.confirm`` fresh seeds.

    The gate's first stage is computed here as the report will compute it.  The confirmation runs
    are submitted together (`_confirm_executor`: side by side where the session ran side by side)
    and each record is written to ``<session>/confirm/runs/`` as soon as it is collected, so a
    resumed session keeps it.
    """
    from sacbench.executor import run_all
    from sacbench.session import CONFIRM_DIR, confirmation_seeds, gate, load_confirmations

    first, baselines = gate(records, state.baseline_dir, state.compare_rule, state.bootstrap_seed, state.bootstrap_reps)
    regressed = [c for c in first if c.verdict.value == "regressed"]
    if not regressed:
        return
    done = {(r.task, r.preset, r.seed) for r in load_confirmations(state.report_dir)}
    cases = [
        Case(comparison.task, comparison.preset, seed)
        for comparison in regressed
        for seed in confirmation_seeds(
            [r for r in records if (r.task, r.preset) == (comparison.task, comparison.preset)],
            baselines.get((comparison.task, comparison.preset)),
            state.confirm,
        )
        if (comparison.task, comparison.preset, seed) not in done
    ]
    executor = _confirm_executor(config, state)
    _terminal_line(config, f"sacbench: {len(regressed)} item(s) read regressed; confirming each on {state.confirm}"
                           f" fresh seeds ({_where(executor)})")  # fmt: skip
    out = state.report_dir / CONFIRM_DIR / "runs"
    try:
        for key, outcome, _ in run_all(executor, [(case.id, run_config(state, case)) for case in cases]):
            if isinstance(outcome, Exception):  # lost beyond its retries: no record, the item reads fewer seeds
                _terminal_line(config, f"  confirm {key}: lost ({type(outcome).__name__}: {outcome})")
                continue
            save_run(outcome, out)
            _terminal_line(config, f"  confirm {key}: {outcome.status.value}")
    finally:
        if executor is not state.executor:
            executor.shutdown()


def _confirm_executor(config: pytest.Config, state: SacbenchState) -> Any:
    """Where the confirmation runs train.

    On the session's Ray cluster when it used one; in as many processes as xdist had workers when
    it used xdist (each run on a core of its own, as the workers' were); else here, one after another.
    """
    from sacbench.executor import LocalExecutor, PoolExecutor, make_executor

    if state.executor_kind == "ray" and state.executor is None:  # a resumed session with nothing left to run
        state.executor = make_executor("ray", address=state.ray_address)
    if state.executor is not None:
        return state.executor
    workers = config.getoption("numprocesses", None)
    if isinstance(workers, int) and workers > 1 and config.getoption("dist", "no") != "no":
        return PoolExecutor(workers)
    return LocalExecutor()


def _where(executor: Any) -> str:
    """``on the Ray cluster``, ``2 at a time`` or ``one after another``."""
    from sacbench.executor import PoolExecutor, RayExecutor

    if isinstance(executor, RayExecutor):
        return "on the Ray cluster"
    if isinstance(executor, PoolExecutor):
        return f"{executor.workers} at a time"
    return "one after another"


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Verdicts, regressions with their reasons, and where the report is."""
    state = config.stash.get(STATE, None)
    if state is None or state.is_worker or state.report is None:
        return
    tr = terminalreporter
    tr.section("sacbench")
    for note in state.notes:
        tr.write_line(note)
    for report in tr.stats.get("unasserted", []):
        reason = dict(report.user_properties).get(UNASSERTED)
        tr.write_line(f"  UNASSERTED  {report.nodeid}: {reason}", yellow=True)
    from sacbench.compare import DEFAULT_RULE, verdict_lines

    # The rule the report was gated under (with --sacbench-compare-fail=none, the default one).
    statistic = (state.compare_rule or DEFAULT_RULE).statistic
    for text, markup in verdict_lines(state.report.comparisons, statistic):
        tr.write_line(text, **markup)
    if state.report.regressions and state.compare_rule is None:
        tr.write_line("(--sacbench-compare-fail=none: regressions are reported, the session does not fail)")
    tr.write_line(f"report: {state.report.directory / 'index.html'}")
