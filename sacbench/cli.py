"""The ``sacbench`` command line: doctor, run, bounds, report, compare, baseline, tune, render."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sacbench import metrics

if TYPE_CHECKING:
    from sacbench.thresholds import Threshold


def _cmd_doctor(args: argparse.Namespace) -> int:
    from sacbench.doctor import doctor_report

    print(doctor_report(as_json=args.json))
    if not args.gpu:
        return 0
    from sacbench.first_night import first_night_report

    text, passed = first_night_report(Path(args.out), budget_s=args.budget, device=args.device)
    print(f"\n{text}")
    return 0 if passed else 1


def _cmd_render(args: argparse.Namespace) -> int:
    import numpy as np

    from sacbench.sim.mujoco import MujocoVelocityEnv
    from sacbench.sim.mujoco.render import render_robot, save_png

    env = MujocoVelocityEnv(args.task, num_envs=1, seed=args.seed)
    zero = np.zeros((1, env.num_joints))
    for _ in range(args.steps):
        env.step(zero)
    path = save_png(render_robot(env, width=args.width, height=args.height), Path(args.out))
    print(f"wrote {path}")
    return 0


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` with a JSON value (numbers, booleans, lists); no code is ever evaluated.

    Raises:
        argparse.ArgumentTypeError: Naming the text and the expected form.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected KEY=VALUE, e.g. batch_size=256 or net_arch=[128,128]")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the value must be JSON (a number, true/false, or a list like [128,128])"
        ) from None
    return key.strip(), tuple(value) if isinstance(value, list) else value


def parse_task(text: str) -> str:
    """A registered task name (``a1-flat``); a miss lists the valid names and the closest one."""
    from sacbench.tasks import get_task

    try:
        return get_task(text).name
    except LookupError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_preset(text: str) -> str:
    """A registered preset name or a preset file (``*.yaml``), loaded and validated now."""
    from sacbench.algos.presets import get_preset

    try:
        get_preset(text)
    except (LookupError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive integer")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (seeds, counts that may be zero)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a non-negative integer")
    return value


def preset_list(text: str) -> tuple[str, ...]:
    """Comma-separated preset names as a report's records name them (``ppo_sb3,sac_tuned``).

    Not checked against the registry: stored records may name presets a later version removed.
    """
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated preset names, e.g. 'ppo_sb3,sac_tuned'")
    return names


def parse_rule(text: str) -> Any:
    """A gate rule: ``mean@0.05``, ``iqm:5%``, ``mean:0.5@0.01``."""
    from sacbench.compare import CompareRule

    try:
        return CompareRule.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def existing_dir(text: str) -> Path:
    """A folder that exists."""
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: no such folder")
    return path


def existing_file(text: str) -> Path:
    """A file that exists."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r}: no such file")
    return path


def parse_budget(text: str) -> float:
    """Budget seconds for argparse (``300``, ``90s``, ``5m``, ``1h30m``)."""
    from sacbench.train import Budget

    try:
        return Budget.parse(text).seconds
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _isaaclab_options(args: argparse.Namespace) -> dict[str, str]:
    """``--device``, ``--physics`` and ``--assets`` as backend options (Isaac Lab only).

    Raises:
        ValueError: If one is given with ``--backend mujoco``, or for a combination Isaac Lab cannot run.
    """
    given = {key: value for key in ("device", "physics", "assets") if (value := getattr(args, key)) is not None}
    if args.backend != "isaaclab":
        if given:
            flags = ", ".join(f"--{key} {value}" for key, value in given.items())
            raise ValueError(f"{flags}: applies to --backend isaaclab only (the mirror runs MuJoCo on the CPU)")
        return {}
    from sacbench.sim.isaaclab import IsaacLabOptions, resolve_physics

    options = IsaacLabOptions.parse(given)
    for task in args.task:
        resolve_physics(task, options.device, options.physics)
    return given


def _cmd_run(args: argparse.Namespace) -> int:
    import itertools

    from sacbench.algos.presets import Scale, get_preset
    from sacbench.executor import make_executor, run_all
    from sacbench.records import RunStatus, run_id, save_run
    from sacbench.sim.protocol import Backend
    from sacbench.train import Budget, RunConfig, check_config

    configs = [
        (
            run_id(task, get_preset(preset).name, seed),
            RunConfig(
                task=task,
                preset=preset,
                seed=seed,
                budget=Budget(args.budget, max_env_steps=args.max_env_steps),
                scale=Scale(args.scale) if args.scale else None,
                backend=Backend(args.backend),
                overrides=dict(args.set),
                backend_options=_isaaclab_options(args),
                eval_episodes=args.eval_episodes,
                tensorboard_dir=Path(args.tensorboard) if args.tensorboard else None,
                progress=not args.no_progress and args.executor == "local",
            ),
        )
        for task, preset, seed in itertools.product(args.task, args.preset, args.seed)
    ]
    for _, config in configs:  # every run checked before the first one starts
        check_config(config, here=args.executor == "local")
    executor = make_executor(args.executor, address=args.ray_address)
    crashed = 0
    try:
        for key, outcome, progress in run_all(executor, configs):
            if isinstance(outcome, Exception):
                crashed += 1
                print(f"{key}: lost ({outcome}) [{progress.line()}]", file=sys.stderr)
                continue
            path = save_run(outcome, Path(args.out))
            final = outcome.final
            print(
                f"{key}: {outcome.status.value}; eval return {final.get(metrics.EVAL_RETURN)},"
                f" {final.get(metrics.ENV_STEPS):,} env steps in {outcome.timing.train_s:.0f} s"
                f" (+{outcome.timing.compile_s:.1f} s compile); record: {path} [{progress.line()}]"
            )
            if outcome.error:
                print(outcome.error, file=sys.stderr)
            crashed += outcome.status is RunStatus.CRASHED
    finally:
        executor.shutdown()
    return 2 if crashed else 0


def _cmd_bounds(args: argparse.Namespace) -> int:
    from sacbench.bounds_tool import (
        compare_boxes,
        default_bounds_path,
        extract_bounds,
        plot_action_histograms,
        write_bounds,
    )
    from sacbench.records import load_run, save_run
    from sacbench.sim.protocol import Backend
    from sacbench.train import Budget, RunConfig, check_config, train

    if args.compare:
        print(compare_boxes(args.compare))
        return 0
    low, high = args.percentiles
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(f"--percentiles {low:g} {high:g}: need 0 <= LOW < HIGH <= 100, e.g. 2.5 97.5")
    if args.from_record:
        record = load_run(Path(args.from_record))
    else:
        config = RunConfig(
            task=args.task,
            preset=args.preset,
            seed=args.seed,
            budget=Budget(args.budget),
            backend=Backend(args.backend),
            record_actions=args.samples,
            progress=not args.no_progress,
        )
        check_config(config)
        record = train(config)
        print(f"trained {record.run_id}: {record.status.value}, eval return {record.final.get(metrics.EVAL_RETURN)}")
        print(f"run record: {save_run(record, Path(args.runs_dir))}")
    bounds = extract_bounds(record, tuple(args.percentiles))
    path = Path(args.out) / f"{bounds.robot}.json" if args.out else default_bounds_path(record.backend, bounds.robot)
    write_bounds(bounds, path)
    figure = plot_action_histograms(record, bounds, path.with_suffix(".png"))
    print(f"bounds: {path}\nfigure: {figure}")
    for name, lo, hi in zip(bounds.joint_order, bounds.low, bounds.high, strict=True):
        print(f"  {name:<18} [{lo:7.3f}, {hi:7.3f}]")
    print(f"beside the joint-limits box: sacbench bounds --compare {record.task}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from sacbench.report import DEFAULT_AGAINST, VERDICTS_FILE
    from sacbench.session import finish_session, load_confirmations, load_session_records

    folder = Path(args.dir)
    records = load_session_records(folder)
    ran = {r.preset for r in records}
    for name in args.against or ():
        if name not in ran:  # a typo would otherwise just leave a column out
            print(f"note: --against {name}: no run of it in {folder} (ran: {', '.join(sorted(ran))})", file=sys.stderr)
    out = Path(args.out or folder)
    if not args.baselines and (out / VERDICTS_FILE).exists():
        print(f"note: no --baselines: the report in {out} is rebuilt without verdicts ({VERDICTS_FILE} removed)")
    result = finish_session(
        records,
        out,
        baseline_root=Path(args.baselines) if args.baselines else None,
        rule=args.rule,
        seed=args.bootstrap_seed,
        reps=args.reps,
        against=args.against or DEFAULT_AGAINST,
        confirmations=load_confirmations(folder),
    )
    print(f"report: {result.report.directory / 'index.html'} ({len(records)} runs)")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from sacbench.compare import Verdict, verdict_lines
    from sacbench.session import gate, load_confirmations, load_session_records

    records = load_session_records(Path(args.dir))
    confirmations = load_confirmations(Path(args.dir))
    comparisons, _ = gate(
        records, Path(args.baselines), args.rule, args.bootstrap_seed, args.reps, confirmations=confirmations
    )
    for text, _ in verdict_lines(comparisons, args.rule.statistic):  # the terminal summary's lines, uncoloured
        print(text)
    regressed = [c for c in comparisons if c.verdict is Verdict.REGRESSED]
    return 1 if regressed else 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from sacbench.executor import train_isolated
    from sacbench.reproduce import config_of, reproduce
    from sacbench.session import finish_session, load_session_records
    from sacbench.train import check_config

    folder = Path(args.dir)
    records = sorted(load_session_records(folder), key=lambda r: (r.task, r.preset, r.seed))
    if args.only:
        known = {f"{r.task}/{r.preset}" for r in records}
        unknown = sorted(set(args.only) - known)
        if unknown:
            raise ValueError(f"--only {', '.join(unknown)}: not in {folder}; it holds {', '.join(sorted(known))}")
        records = [r for r in records if f"{r.task}/{r.preset}" in args.only]
    if args.seeds is not None:
        records = [r for r in records if r.seed in sorted({r.seed for r in records})[: args.seeds]]
    for record in records:  # every run checked before the first one starts
        check_config(config_of(record))
    out = Path(args.out or Path("reports") / f"reproduce-{folder.resolve().name}")
    print(f"re-making {len(records)} runs of {folder} into {out}")
    found = reproduce(
        records, out, train_isolated, on_run=lambda r: print(f"  {r.run_id}: {r.status.value}", flush=True)
    )
    finish_session(load_session_records(out), out, baseline_root=None)
    for item in found:
        print(item.describe())
    print(f"report of the re-runs: {out / 'index.html'}")
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    from sacbench.history import build_history

    out, frame = build_history(Path(args.dir), Path(args.out) if args.out else None, seed=args.bootstrap_seed,
                               reps=args.reps)  # fmt: skip
    print(f"history: {out / 'index.html'} ({frame.session.nunique()} sessions, {len(frame)} points)")
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from sacbench.train import Budget
    from sacbench.tune import StudyConfig, export_winner, replay_best, run_study, study_figure

    config = StudyConfig(
        storage=Path(args.storage),
        study_name=args.study_name,
        task=args.task,
        base_preset=args.base_preset,
        budget=Budget(args.budget),
        n_trials=args.trials,
        seed=args.seed,
        popsize=args.popsize,
        eval_episodes=args.eval_episodes,
    )
    if args.replay_best:
        results = replay_best(config, args.replay_best, args.seeds)
        print(f"| rank | trial | study value | IQM eval return [95% CI] over {args.seeds} seeds | hyperparameters |")
        print("|---:|---:|---:|---|---|")
        for rank, r in enumerate(results, 1):
            shown = {k: (v.init if k == "ent_coef" else v) for k, v in r.overrides.items()}
            print(f"| {rank} | {r.trial} | {r.trial_value:.2f} | {r.iqm.format()} | {shown} |")
        if args.export and results:
            preset = export_winner(results[0], config, args.export_name, Path(args.export))
            print(f"winner exported as preset {preset.name!r}: {args.export}")
        return 0
    study = run_study(config)
    figure = study_figure(study, Path(args.figure) if args.figure else config.storage.with_suffix(".png"))
    best = study.best_trial
    print(f"{len(study.trials)} trials; best: trial {best.number}, eval return {best.value:.2f}")
    print(f"  {best.user_attrs}")
    print(f"figure: {figure}")
    return 0


def _cmd_baseline(args: argparse.Namespace) -> int:
    from sacbench.session import BASELINE_REFUSED, load_session_records, write_baselines

    notes = write_baselines(load_session_records(Path(args.dir)), Path(args.out), args.bootstrap_seed, args.reps)
    print("\n".join(notes))
    return 1 if any(note.startswith(BASELINE_REFUSED) for note in notes) else 0


def _cmd_thresholds(args: argparse.Namespace) -> int:
    from sacbench.algos import DEFAULT_MATRIX, PRESETS
    from sacbench.baselines import all_baselines
    from sacbench.tasks import get_task, task_names
    from sacbench.thresholds import rule_metrics, threshold_from_baseline, threshold_from_post

    entries = []
    if args.from_post:
        for task in task_names():
            for preset in DEFAULT_MATRIX[get_task(task).terrain.value]:
                entries.append(threshold_from_post(task, preset, learns=PRESETS[preset].learns))
    stored = all_baselines(Path(args.baselines), args.backend, args.scale)
    for baseline in sorted(stored, key=lambda b: (b.task, b.preset, b.budget_s)):
        learns = PRESETS[baseline.preset].learns if baseline.preset in PRESETS else True
        for metric in rule_metrics(get_task(baseline.task).terrain.value, learns=learns):
            if metric not in baseline.metrics or (metric in metrics.LEVEL_METRICS and not args.terrain_levels):
                continue
            entries.append(threshold_from_baseline(baseline, metric, learns=learns))
    # A vacuous entry (a terrain-level floor of 0) is shown, commented out, not proposed.
    print("\n".join(f"  # {_yaml_entry(e).lstrip()}" if e.vacuous else _yaml_entry(e) for e in entries))
    return 0


def _yaml_entry(entry: Threshold) -> str:
    """One ``thresholds.yaml`` list item, on one line (the source JSON-quoted: valid YAML)."""
    bound = f"min: {entry.min:g}" if entry.min is not None else f"max: {entry.max:g}"
    return (
        f"  - {{backend: {entry.backend}, scale: {entry.scale}, task: {entry.task}, preset: {entry.preset},"
        f" metric: {entry.metric}, {bound}, min_budget_s: {entry.min_budget_s:g}, source: {json.dumps(entry.source)}}}"
    )


def _cmd_export(args: argparse.Namespace) -> int:
    from sacbench.export import ExportError, write_training_bundle
    from sacbench.session import load_session_records

    written, refused = 0, []
    for record in load_session_records(Path(args.dir)):
        try:
            write_training_bundle(record, Path(args.out))
            written += 1
        except ExportError as exc:
            refused.append(str(exc))
    print(f"{written} Isaac Lab training bundle(s) written to {args.out}")
    for reason in refused:
        print(f"not exported: {reason}", file=sys.stderr)
    return 0 if written else 1


def _add_export(sub: Any) -> None:
    export = sub.add_parser(
        "export", help="write Isaac Lab runs as Isaac Lab 3.0 TrainingBundle files (training.json, schema 1.4)"
    )
    export.add_argument("dir", type=existing_dir, help="a session folder (with runs/) or a folder of run records")
    export.add_argument("--out", required=True, metavar="DIR", help="where the <run_id>.training.json files go")
    export.set_defaults(func=_cmd_export)


def _add_doctor(sub: Any) -> None:
    doctor = sub.add_parser("doctor", help="print versions, hardware and usable backends (for bug reports)")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.add_argument(
        "--gpu",
        action="store_true",
        help="the first night: check the Isaac Lab install and each physics, train one short run per physics"
        " (each in its own process) and build their report; exit 1 unless every check passes",
    )
    doctor.add_argument("--out", default="reports/first-night", metavar="DIR", help="Default: %(default)r")
    doctor.add_argument("--budget", type=parse_budget, default="30s", help="per run. Default: %(default)r")
    doctor.add_argument(
        "--device", default="cuda:0", metavar="DEVICE",
        help="with --gpu: Isaac Lab's device; cpu runs the same checklist on the CPU (Newton MJWarp, sacbench's"
        " assets, 16 envs). Default: %(default)r",
    )  # fmt: skip
    doctor.set_defaults(func=_cmd_doctor)


def _add_run(sub: Any) -> None:
    run = sub.add_parser("run", help="train one preset on one task for a wall-clock budget; writes a run record")
    run.add_argument(
        "--task", required=True, nargs="+", type=parse_task, help="task name(s), e.g. a1-flat anymal_c-rough"
    )
    run.add_argument(
        "--preset",
        required=True,
        nargs="+",
        type=parse_preset,
        help="preset name(s) or preset files, e.g. sac_tuned ppo_sb3",
    )
    run.add_argument("--seed", type=non_negative_int, nargs="+", default=[0], help="seed(s). Default: 0")
    run.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local: one after the other here; ray: every run a task on a Ray cluster. Default: %(default)r",
    )
    run.add_argument(
        "--ray-address", default=None, help="Ray cluster (auto, ray://host:10001); default: start a local one"
    )
    run.add_argument(
        "--budget",
        type=parse_budget,
        default="5m",
        help="training wall-clock, compile excluded: 300, 90s, 5m, 1h. Default: %(default)r",
    )
    run.add_argument(
        "--max-env-steps", type=positive_int, default=None, metavar="N", help="optional cap on transitions"
    )
    run.add_argument(
        "--scale",
        choices=["cpu", "gpu"],
        default=None,
        help="default: cpu on mujoco and on --device cpu, gpu on isaaclab",
    )
    run.add_argument("--backend", choices=["mujoco", "isaaclab"], default="mujoco", help="Default: %(default)r")
    run.add_argument(
        "--physics",
        choices=["newton_mjwarp", "isaacsim_physx", "ovphysx", "newton_kamino", "physx"],
        default=None,
        help="Isaac Lab 3.0 physics preset (--backend isaaclab). Default: each task's own; newton_mjwarp on the CPU",
    )
    run.add_argument(
        "--device", default=None, metavar="DEVICE",
        help="Isaac Lab's device (--backend isaaclab): cuda:0, or cpu (Newton MJWarp on Warp's CPU device,"
        " 16 envs unless --set num_envs=N). Default: cuda:0",
    )  # fmt: skip
    run.add_argument(
        "--assets", choices=["nvidia", "sacbench"], default=None,
        help="Isaac Lab assets (--backend isaaclab): NVIDIA's, or written from sacbench's robot facts"
        " (offline; actuator networks replaced). Default: sacbench on the CPU, nvidia on a GPU",
    )  # fmt: skip
    run.add_argument(
        "--eval-episodes", type=positive_int, default=64,
        help="least number of evaluation episodes (rounded up to a whole number per env). Default: %(default)r",
    )  # fmt: skip
    run.add_argument(
        "--set",
        type=parse_override,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a hyperparameter (repeatable), e.g. --set gradient_steps=4",
    )
    run.add_argument("--out", default="runs", metavar="DIR", help="where the record goes. Default: %(default)r")
    run.add_argument("--tensorboard", default=None, metavar="DIR", help="write SB3 TensorBoard logs here")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)


def _add_bounds(sub: Any) -> None:
    bounds = sub.add_parser(
        "bounds",
        help="PPO-percentile action bounds: train a PPO (or read a record) and write the bounds file;"
        " --compare shows them beside the joint-limits box",
    )
    source = bounds.add_mutually_exclusive_group(required=True)
    source.add_argument("--task", type=parse_task, help="train on this task (its robot gets the bounds), e.g. a1-flat")
    source.add_argument(
        "--from-record", type=existing_file, metavar="JSON", help="a finished run recorded with record_actions"
    )
    source.add_argument(
        "--compare", type=parse_task, metavar="TASK",
        help="print the task's robot's joint-limits box beside its committed PPO-percentile boxes (trains"
        " nothing; --preset, --budget and the other training options do not apply)",
    )  # fmt: skip
    bounds.add_argument("--preset", type=parse_preset, default="ppo_sb3", help="Default: %(default)r")
    bounds.add_argument("--budget", type=parse_budget, default="5m", help="Default: %(default)r")
    bounds.add_argument("--seed", type=non_negative_int, default=0, help="Default: %(default)r")
    bounds.add_argument("--backend", choices=["mujoco", "isaaclab"], default="mujoco", help="Default: %(default)r")
    bounds.add_argument(
        "--samples",
        type=positive_int,
        default=65_536,
        help="recorded actions (env x steps) at the end of training. Default: %(default)r",
    )
    bounds.add_argument(
        "--percentiles",
        type=float,
        nargs=2,
        default=[2.5, 97.5],
        metavar=("LOW", "HIGH"),
        help="Default: 2.5 97.5",
    )
    bounds.add_argument("--out", default=None, metavar="DIR", help="default: sacbench/data/bounds/<backend>/")
    bounds.add_argument("--runs-dir", default="reports/bounds", metavar="DIR", help="Default: %(default)r")
    bounds.add_argument("--no-progress", action="store_true")
    bounds.set_defaults(func=_cmd_bounds)


def _add_report(sub: Any) -> None:
    report = sub.add_parser("report", help="rebuild a report (md, html, png, csv, tex) from stored run records")
    report.add_argument("dir", type=existing_dir, help="a session folder (with runs/) or a folder of run records")
    report.add_argument("--out", default=None, metavar="DIR", help="default: the same folder")
    report.add_argument(
        "--baselines", type=existing_dir, default=None, metavar="DIR", help="also gate against these baselines"
    )
    report.add_argument("--rule", type=parse_rule, default="mean@0.05", help="compare rule. Default: 'mean@0.05'")
    report.add_argument("--bootstrap-seed", type=non_negative_int, default=0, help="Default: %(default)r")
    report.add_argument("--reps", type=positive_int, default=2000, help="bootstrap replications. Default: %(default)r")
    report.add_argument(
        "--against",
        type=preset_list,
        default=None,
        metavar="PRESETS",
        help="comma-separated reference presets: P(every other preset > each), where both ran."
        " Default: ppo_sb3 (sacbench.report.DEFAULT_AGAINST)",
    )
    report.set_defaults(func=_cmd_report)


def _add_compare(sub: Any) -> None:
    compare = sub.add_parser(
        "compare", help="regression verdicts of stored runs against baselines (exit 1 on regression)"
    )
    compare.add_argument("dir", type=existing_dir, help="a session folder (with runs/) or a folder of run records")
    compare.add_argument("baselines", type=existing_dir, help="baselines folder, e.g. baselines/")
    compare.add_argument("--rule", type=parse_rule, default="mean@0.05", help="Default: 'mean@0.05'")
    compare.add_argument("--bootstrap-seed", type=non_negative_int, default=0, help="Default: %(default)r")
    compare.add_argument("--reps", type=positive_int, default=2000, help="Default: %(default)r")
    compare.set_defaults(func=_cmd_compare)


def _add_reproduce(sub: Any) -> None:
    reproduce = sub.add_parser(
        "reproduce",
        help="re-run a report's runs exactly (task, preset, seed, budget, overrides from its records) and say per"
        " item whether learning was identical, the verdict against the original runs, and the throughput ratio",
    )
    reproduce.add_argument("dir", type=existing_dir, help="a report folder with runs/, e.g. reports/reference/...")
    reproduce.add_argument("--out", default=None, metavar="DIR", help="default: reports/reproduce-<report name>")
    reproduce.add_argument(
        "--only", nargs="+", metavar="TASK/PRESET", default=None, help="re-run these items only, e.g. a1-flat/ppo_sb3"
    )
    reproduce.add_argument("--seeds", type=positive_int, default=None, metavar="N", help="the first N seeds only")
    reproduce.set_defaults(func=_cmd_reproduce)


def _add_history(sub: Any) -> None:
    history = sub.add_parser(
        "history", help="the nightly history of every session under a reports folder (html, png, csv)"
    )
    history.add_argument("dir", type=existing_dir, help="a reports folder holding session folders, e.g. reports/")
    history.add_argument("--out", default=None, metavar="DIR", help="default: <dir>/history")
    history.add_argument("--bootstrap-seed", type=non_negative_int, default=0, help="Default: %(default)r")
    history.add_argument("--reps", type=positive_int, default=2000, help="Default: %(default)r")
    history.set_defaults(func=_cmd_history)


def _add_render(sub: Any) -> None:
    render = sub.add_parser("render", help="save a PNG of a robot of the embedded backend after standing still")
    render.add_argument("task", type=parse_task, help="task name, e.g. a1-flat")
    render.add_argument("--out", required=True, metavar="PNG", help="output file")
    render.add_argument(
        "--steps", type=non_negative_int, default=50, help="zero-action steps before the picture (default: 50)"
    )
    render.add_argument("--seed", type=non_negative_int, default=0)
    render.add_argument("--width", type=positive_int, default=640)
    render.add_argument("--height", type=positive_int, default=480)
    render.set_defaults(func=_cmd_render)


def _add_thresholds(sub: Any) -> None:
    thresholds = sub.add_parser(
        "thresholds", help="thresholds.yaml entries from stored baselines, by the one rule (sacbench.thresholds)"
    )
    thresholds.add_argument("baselines", type=existing_dir, help="baselines folder, e.g. baselines/")
    thresholds.add_argument("--backend", default="mujoco", help="Default: %(default)r")
    thresholds.add_argument("--scale", default="cpu", help="Default: %(default)r")
    thresholds.add_argument("--terrain-levels", action="store_true", help="also the terrain level of rough tasks")
    thresholds.add_argument(
        "--from-post", action="store_true",
        help="also the Isaac Lab GPU entries of every default-matrix item, from the post's figures"
        " (sacbench.thresholds.threshold_from_post), until GPU baselines exist",
    )  # fmt: skip
    thresholds.set_defaults(func=_cmd_thresholds)


def _add_baseline(sub: Any) -> None:
    baseline = sub.add_parser(
        "baseline", help="write baselines from stored run records (one file per task x preset x budget)"
    )
    baseline.add_argument("dir", type=existing_dir, help="a session folder (with runs/) or a folder of run records")
    baseline.add_argument("--out", default="baselines", metavar="DIR", help="Default: %(default)r")
    baseline.add_argument("--bootstrap-seed", type=non_negative_int, default=0, help="Default: %(default)r")
    baseline.add_argument("--reps", type=positive_int, default=2000, help="Default: %(default)r")
    baseline.set_defaults(func=_cmd_baseline)


def _add_tune(sub: Any) -> None:
    tune = sub.add_parser("tune", help="Optuna CMA-ES speed tuning of SAC (SQLite study; resumes), replay, export")
    tune.add_argument("--storage", required=True, metavar="DB", help="SQLite file of the study (reopened to resume)")
    tune.add_argument("--study-name", default="sac_speed", help="Default: %(default)r")
    tune.add_argument("--task", type=parse_task, default="a1-flat", help="Default: %(default)r")
    tune.add_argument(
        "--base-preset", type=parse_preset, default="sac_tuned", help="settings every trial keeps. Default: %(default)r"
    )
    tune.add_argument("--budget", type=parse_budget, default="2m", help="per trial. Default: %(default)r")
    tune.add_argument("--trials", type=positive_int, default=20, help="completed trials to reach. Default: %(default)r")
    tune.add_argument("--seed", type=non_negative_int, default=0, help="Default: %(default)r")
    tune.add_argument("--popsize", type=positive_int, default=None, help="CMA-ES population (default: CMA-ES's own)")
    tune.add_argument("--eval-episodes", type=positive_int, default=32, help="Default: %(default)r")
    tune.add_argument("--figure", default=None, metavar="PNG", help="default: <storage>.png")
    tune.add_argument(
        "--replay-best", type=non_negative_int, default=0, metavar="K", help="re-run the K best trials instead"
    )
    tune.add_argument(
        "--seeds", type=positive_int, default=5, metavar="M", help="seeds per replayed trial. Default: %(default)r"
    )
    tune.add_argument("--export", default=None, metavar="YAML", help="write the replay winner as a preset file")
    tune.add_argument("--export-name", default="sac_cpu_tuned", help="Default: %(default)r")
    tune.set_defaults(func=_cmd_tune)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per job."""
    parser = argparse.ArgumentParser(prog="sacbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_doctor, _add_run, _add_bounds, _add_report, _add_compare, _add_reproduce, _add_history, _add_render,
        _add_tune, _add_baseline, _add_thresholds, _add_export,
    ):  # fmt: skip
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sacbench`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (LookupError, ValueError, FileNotFoundError) as exc:
        # Configuration errors (unknown task or preset, bad override, missing bounds file) are
        # raised before anything runs; training failures end up in the run record instead.
        parser.exit(2, f"sacbench {args.command}: error: {exc}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
