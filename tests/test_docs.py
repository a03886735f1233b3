"""The README and the docs pages: the two commands are what CI runs, and every figure a page quotes is
the committed record's, report's or benchmark output's."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from sacbench.baselines import baseline_path, load_baseline
from sacbench.metrics import EVAL_LENGTH, EVAL_RETURN, TERRAIN_LEVEL_LATE

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", section, flags=re.DOTALL)
    return [
        line.strip() for block in blocks for line in block.splitlines() if line.strip() and not line.startswith("#")
    ]


def test_quick_start_has_exactly_two_commands() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2, commands
    assert all(c.startswith("python3 -m pip install") for c in commands)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = _quick_start_commands()[1]
    assert "pytest tests" in test_command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def _tables(markdown: str) -> list[list[dict[str, str]]]:
    """Every pipe table of a markdown text, as rows keyed by the header's cells."""
    tables, lines = [], markdown.splitlines()
    for i in range(len(lines) - 1):
        if lines[i].startswith("| ") and lines[i + 1].startswith("|---"):
            header = [c.strip() for c in lines[i].strip().strip("|").split(" | ")]
            rows = []
            for line in lines[i + 2 :]:
                if not line.startswith("| "):
                    break
                rows.append(dict(zip(header, (c.strip() for c in line.strip().strip("|").split(" | ")), strict=True)))
            tables.append(rows)
    return tables


RECIPES_HEADING = "**The 2026 off-policy recipes on the mirror**"


def test_the_recipes_table_reads_the_committed_reports() -> None:
    """Every figure of the results page's recipe comparison is the committed report's (rebuilt from its records)."""
    section = _page("results.md").split(RECIPES_HEADING, 1)[1].split("\n**", 1)[0]
    (rows,) = _tables(section)
    assert {row["task"] for row in rows} == {"a1-flat", "anymal_c-rough"}
    for row in rows:
        task, preset = row["task"], row["preset"].strip("`")
        report = (ROOT / "reports" / "reference" / f"recipes-{task}" / "index.md").read_text(encoding="utf-8")
        results = next(t for t in _tables(report) if t and "return IQM [95% CI]" in t[0])
        improvement = next(t for t in _tables(report) if t and "P(> ppo_sb3) [CI]" in t[0])
        mine = next(r for r in results if (r["task"], r["preset"]) == (task, preset))
        assert row["eval return, IQM [95 % CI]"] == mine["return IQM [95% CI]"], (task, preset)
        odds = next(r for r in improvement if (r["task"], r["preset"]) == (task, preset))
        post = "sac_tuned_rough" if task.endswith("rough") else "sac_tuned"
        assert row["P(> the post's SAC) [CI]"] == odds[f"P(> {post}) [CI]"], (task, preset)
        assert row["P(> `ppo_sb3`) [CI]"] == odds["P(> ppo_sb3) [CI]"], (task, preset)


BASELINES_HEADING = "**Baselines**"


def test_the_baselines_table_reads_the_committed_baselines() -> None:
    """The results page's baseline table is the committed protocol-2 baselines, each row its file: IQM, CI, seeds,
    late levels and survival."""
    section = _page("results.md").split(BASELINES_HEADING, 1)[1].split("\n**", 1)[0]
    (rows,) = _tables(section)
    committed = [load_baseline(path) for path in sorted((ROOT / "baselines" / "mujoco" / "cpu").glob("*.json"))]
    listed = {(b.task, b.preset, f"{b.budget_s:g} s") for b in committed if b.eval_protocol == 2}
    assert {(row["task"], row["preset"].strip("`"), row["budget"]) for row in rows} == listed
    for row in rows:
        task, preset, budget_s = row["task"], row["preset"].strip("`"), float(row["budget"].removesuffix(" s"))
        path = baseline_path(ROOT / "baselines", "mujoco", "cpu", task, preset, budget_s=budget_s)
        baseline = load_baseline(path)
        point, low, high = baseline.summary[EVAL_RETURN]["IQM"]
        assert row["eval return, IQM [95 % CI]"] == f"{point:.2f} [{low:.2f}, {high:.2f}]", path.name
        values = baseline.metrics[EVAL_RETURN]
        digits = 1 if max(abs(v) for v in values) >= 1 else 2
        assert row["per seed"] == ", ".join(f"{v:.{digits}f}" for v in values), path.name
        levels = baseline.metrics.get(TERRAIN_LEVEL_LATE)  # gated on rough tasks only
        assert row["late terrain level, per seed"] == (", ".join(f"{v:.2f}" for v in levels) if levels else "--")
        lengths = baseline.metrics[EVAL_LENGTH]
        assert row["eval episode length, per seed"] == ", ".join(f"{v:.0f}" for v in lengths), path.name


FIDELITY = ROOT / "reports" / "reference" / "fidelity"


def test_the_fidelity_claims_read_the_committed_comparison() -> None:
    """The fidelity figures of the mirror's page and the README are ``benchmarks/fidelity.py``'s committed output."""
    import json

    from sacbench.tasks import task_names

    results = json.loads((FIDELITY / "fidelity.json").read_text(encoding="utf-8"))
    assert [r["task"] for r in results] == list(task_names())
    (rows,) = _tables((FIDELITY / "fidelity.md").read_text(encoding="utf-8"))
    within = sum(row["within"] == "yes" for row in rows)
    curricula = [r["curriculum"] for r in results if r["curriculum"]]
    observations = max(f["max"] for r in results for f in r["observations"].values())
    rewards = max(f["max"] for r in results for f in r["rewards"].values())
    page = " ".join(_page("mirror.md").split())  # one line: wraps fall anywhere
    assert f"**{within} of {len(rows)} compared quantities within tolerance**" in page
    assert (
        f"{sum(c['decisions'] for c in curricula)} curriculum decisions"
        f" ({sum(c['promotions'] for c in curricula)} promotions" in page
    )
    assert f"largest term differences are {observations:.1g} (observations) and {rewards:.1g} (rewards)" in page
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"({within} of {len(rows)} compared terms agree with the real Isaac Lab's" in readme


def test_the_isaaclab_cpu_throughput_table_reads_the_committed_run() -> None:
    reference = _tables((ROOT / "reports" / "reference" / "isaaclab-cpu-throughput" / "README.md").read_text())[0]
    section = _page("gpu.md").split("## Isaac Lab on the CPU", 1)[1].split("\n## ", 1)[0]
    (rows,) = _tables(section.replace("\n  |", "\n|"))
    for row in rows:
        measured = [r for r in reference if r["task"] == row["task"]]
        assert row["envs"] == " / ".join(r["envs"] for r in measured)
        for column in ("Isaac Lab CPU (steps/s)", "mirror (steps/s)", "bare MuJoCo (steps/s)"):
            assert row[column] == " / ".join(r[column] for r in measured), (row["task"], column)


def test_the_isaaclab_cpu_run_figures_read_the_committed_record() -> None:
    from sacbench.records import RunStatus, load_run

    record = load_run(ROOT / "reports" / "reference" / "isaaclab-cpu-run" / "runs" / "anymal_c-rough__ppo_sb3__s0.json")
    assert record.status is RunStatus.OK and record.provenance["isaaclab_setup"]["device"] == "cpu"
    steps = record.curves[-1]["env_steps"]
    readme = " ".join(_page("gpu.md").split())
    rate = round(steps / record.timing.train_s)
    assert f"trained {steps:,} env steps ({rate} env steps/s with learning)" in readme
    assert f"took {record.timing.total_s:.0f} s with evaluation ({record.final['eval/episodes']} episodes)" in readme


GATE_POWER = ROOT / "reports" / "reference" / "gate-power" / "gate_power_300_nights.txt"


def test_the_gate_rates_are_the_committed_simulation_output() -> None:
    """The gate page's simulated rates are the committed output of `benchmarks/gate_power.py`, line for line,
    and the confirmation ranges (gate page and README) are its confirmation table's."""
    readme = _page("gate.md")
    block = readme.split("**Its rates, simulated**", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    committed = GATE_POWER.read_text(encoding="utf-8")
    assert [line for line in block.splitlines() if line] == [line for line in committed.splitlines() if line]
    (rows,) = _tables(committed.split("--sacbench-confirm):", 1)[1])
    one = [float(r["nights failing, one stage"].rstrip("%")) for r in rows]
    both = [float(r["nights failing, confirmed"].rstrip("%")) for r in rows]
    runs = [float(r["confirmation runs per quiet night"]) for r in rows]
    bullet = readme.split("**Confirmation holds the night, and costs detection.**", 1)[1].split("\n- **", 1)[0]
    bullet = " ".join(bullet.split())
    assert f"falls from {_span(one, '.1f')} % to {_span(both, '.1f')} %" in bullet
    assert f"It costs {_span(runs, '.2f')} extra runs per quiet night" in bullet
    assert max(both) <= 5.0  # the issue's target: at most 5 % of quiet nights fail with confirmation
    summary = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"holds false failures to {_span(both, '.1f')} % of quiet nights" in summary
    assert f"against {_span(one, '.1f')} % without" in summary


def _span(values: list[float], spec: str) -> str:
    """``1.5-2.0``, or ``0.0`` when every value prints the same."""
    low, high = format(min(values), spec), format(max(values), spec)
    return low if low == high else f"{low}-{high}"


PINNING = ROOT / "reports" / "reference" / "pinning"


def test_the_pinning_table_is_rebuilt_from_its_committed_records() -> None:
    """The results page's pinned-against-unpinned table is `benchmarks/pinning.py`'s table of the committed records."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("pinning", ROOT / "benchmarks" / "pinning.py")
    assert spec is not None and spec.loader is not None
    pinning = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pinning)
    rebuilt = pinning.table(PINNING, "a1-flat")
    assert rebuilt == (PINNING / "table.md").read_text(encoding="utf-8").splitlines()
    section = _page("results.md").split("**The CPU scale changes the picture", 1)[1]
    indented = [line.strip() for line in section.splitlines()]
    start = indented.index(rebuilt[0])
    assert indented[start : start + len(rebuilt)] == rebuilt


DETERMINISM = ROOT / "reports" / "reference" / "determinism"


def test_the_determinism_table_is_rebuilt_from_its_committed_records() -> None:
    """The gate page's identity table is `benchmarks/determinism.py`'s table of the committed records, and
    what the README says of it holds: identical under xdist everywhere, diverged somewhere on AVX2."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("determinism", ROOT / "benchmarks" / "determinism.py")
    assert spec is not None and spec.loader is not None
    determinism = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(determinism)
    rebuilt = determinism.table(DETERMINISM)
    assert rebuilt == (DETERMINISM / "table.md").read_text(encoding="utf-8").splitlines()
    page = [line.strip() for line in _page("gate.md").splitlines()]
    start = page.index(rebuilt[0])
    assert page[start : start + len(rebuilt)] == rebuilt
    rows = _tables("\n".join(rebuilt))[0]
    assert len(rows) == len(determinism.PRESETS) * len(determinism.SEEDS)
    assert all(row["xdist -n 2"].startswith("identical") for row in rows)
    assert any(row["AVX2 only"].startswith("diverged") for row in rows)
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "learning is bit-identical alone, slowed or under xdist, and not always across instruction sets" in readme


README_LINES = 200  # issue 29: a README of at most about 200 lines; the rest lives in docs/


def test_the_readme_is_short_and_its_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_LINES
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert any(t.startswith("docs/") for t in local)
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"


HEADLINE = ROOT / "reports" / "reference" / "baselines-pinned" / "a1-flat"


def test_the_readme_headline_is_the_pinned_a1_flat_report() -> None:
    """Every figure of the README's headline table is the pinned A1 flat report's (results and "Cite this"),
    and the env-step ranges of its bullet are the records'."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The headline, at equal CPU", 1)[1].split("\n## ", 1)[0]
    _check_headline(section, HEADLINE)


HEADLINE_5_MINUTES = ROOT / "reports" / "reference" / "headline-a1-flat-pinned"


def test_the_five_minute_headline_is_its_pinned_report() -> None:
    """The results page's 5-minute headline, table and env-step ranges, is the pinned 5-minute session's."""
    section = _page("results.md").split("**The headline, 5 minutes, at equal CPU**", 1)[1]
    section = section.split("**The post's method on the CPU**", 1)[0]
    _check_headline(section, HEADLINE_5_MINUTES)
    results = next(t for t in _tables((HEADLINE_5_MINUTES / "index.md").read_text()) if "return IQM [95% CI]" in t[0])
    iqm = {r["preset"]: r["return IQM [95% CI]"].split()[0] for r in results}
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"At 5 minutes, pinned, PPO pulls away ({iqm['ppo_sb3']} against {iqm['sac_tuned']})" in readme


def _check_headline(section: str, folder: Path) -> None:
    """``section``'s one table and its "PPO a-b M" and "SAC a-b M" env-step ranges are ``folder``'s report's."""
    from sacbench.records import load_run

    (rows,) = _tables(section)
    report = (folder / "index.md").read_text(encoding="utf-8")
    results = next(t for t in _tables(report) if t and "return IQM [95% CI]" in t[0])
    cite = next(t for t in _tables(report) if t and "env steps" in t[0])
    assert {row["preset"].strip("`") for row in rows} == {r["preset"] for r in results}
    for row in rows:
        preset = row["preset"].strip("`")
        mine = next(r for r in results if r["preset"] == preset)
        assert row["eval return, IQM [95 % CI]"] == mine["return IQM [95% CI]"], preset
        assert row["fall rate"] == mine["fall rate"], preset
        cited = next(r for r in cite if r["preset"] == preset)
        assert row["env steps reached by every seed"] == cited["env steps"], preset
        training = "training return IQM [95% CI] at those env steps (machine-independent)"
        assert row["training return there, IQM [95 % CI]"] == cited[training], preset
    records = [load_run(p) for p in sorted((folder / "runs").glob("*.json"))]
    text = " ".join(section.split())
    for preset, name in (("ppo_sb3", "PPO"), ("sac_tuned", "SAC")):
        runs = [r for r in records if r.preset == preset]
        assert f"{name} {_env_steps(runs)}" in text.replace("collected ", ""), preset


def _docs_extension(name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, DOCS / "_ext" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_every_reference_report_gets_a_docs_page(tmp_path: Path) -> None:
    """The docs list a report for every folder holding an ``index.md``, nested ones included, and none else."""
    pages = _docs_extension("reference_reports")
    for folder in ("headline", "baselines/a1-flat", "baselines/go1-flat", "bounds"):
        (tmp_path / folder).mkdir(parents=True)
    for folder in ("headline", "baselines/a1-flat", "baselines/go1-flat"):
        (tmp_path / folder / "index.md").write_text("# report\n", encoding="utf-8")
    assert pages.reference_reports(tmp_path) == ["baselines/a1-flat", "baselines/go1-flat", "headline"]
    assert pages.page_name("baselines/a1-flat") == "baselines--a1-flat"
    committed = pages.reference_reports()
    assert "headline-a1-flat" in committed and "gate-check/3-negated-reward" in committed


def test_the_pytest_options_page_lists_every_plugin_option() -> None:
    """The generated options table holds each option ``pytest --help`` shows, with its expanded help."""
    import subprocess

    options = {o.flags[0]: o for o in _docs_extension("pytest_options").plugin_options()}
    shown = subprocess.run(
        [sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    listed = set(re.findall(r"^\s+(--sacbench-[a-z-]+|--gpu)\b", shown, flags=re.MULTILINE))
    assert listed and listed == set(options)
    assert "Default: 64." in options["--sacbench-eval-episodes"].help  # %(default)r expanded as argparse does
    assert "%" not in options["--sacbench-eval-episodes"].help


PINNED = ROOT / "reports" / "reference" / "baselines-pinned"


def _pinned_verdict(task: str, preset: str) -> dict[str, Any]:
    import json

    verdicts = json.loads((PINNED / task / "verdicts.json").read_text(encoding="utf-8"))["verdicts"]
    return next(v for v in verdicts if v["preset"] == preset)


def _difference(verdict: dict[str, Any], metric: str) -> float:
    return float(next(m for m in verdict["metrics"] if m["metric"] == metric)["difference"])


def _speedup(verdict: dict[str, Any]) -> str:
    now, base = verdict["attribution"]["env_fps"]
    return f"{now / base - 1:+.0%}".replace("%", " %")


PINNED_NAMES = {
    "a1-flat": "A1 flat", "go1-flat": "Go1 flat", "anymal_b-flat": "ANYmal-B flat", "anymal_c-flat": "ANYmal-C flat",
    "bdx-flat": "BD-X flat", "anymal_b-rough": "ANYmal-B rough", "bdx-rough": "BD-X rough",
}  # fmt: skip
"""The PPO items the results page lists as `unchanged` or `improved` against the unpinned baselines."""


def test_the_pinned_sessions_verdicts_are_the_committed_ones() -> None:
    """What the results page says the gate said of the pinned sessions against the unpinned baselines."""
    from sacbench.metrics import EVAL_RETURN, TERRAIN_LEVEL_LATE

    text = " ".join(_page("results.md").split())
    listed = text.split("- `unchanged`, with throughput named as what moved, on ", 1)[1].split("\n", 1)[0]
    unchanged_part, improved_part = listed.split("`improved` on ", 1)
    improved_part = improved_part.split(";", 1)[0]
    for task, name in PINNED_NAMES.items():
        verdict = _pinned_verdict(task, "ppo_sb3")
        part = unchanged_part if name + " (" in unchanged_part else improved_part
        assert name + " (" in part, f"{name} is not listed"
        assert verdict["verdict"] == ("unchanged" if part is unchanged_part else "improved"), (task, verdict["verdict"])
        assert verdict["attribution"]["cause"] == "throughput", task
        assert f"{name} ({_difference(verdict, EVAL_RETURN):+.2f}, throughput {_speedup(verdict)}" in part
    a1_rough, go1_rough = _pinned_verdict("a1-rough", "ppo_sb3"), _pinned_verdict("go1-rough", "ppo_sb3")
    assert a1_rough["verdict"] == "regressed"
    steps, (now, base) = a1_rough["attribution"]["matched_steps"], a1_rough["attribution"]["learning_values"]
    assert a1_rough["attribution"]["learning"] == "unchanged" and a1_rough["attribution"]["cause"] == "throughput"
    assert (
        f"`regressed` on A1 rough (return {_difference(a1_rough, EVAL_RETURN):.2f}, late level"
        f" {_difference(a1_rough, TERRAIN_LEVEL_LATE):.2f}) with throughput {_speedup(a1_rough)} and learning at"
        f" {steps:,} env steps unchanged ({now:.2f} against {base:.2f})" in text
    )
    anymal_c = _pinned_verdict("anymal_c-rough", "ppo_sb3")
    assert anymal_c["verdict"] == "regressed"
    assert (
        f"ANYmal-C rough PPO read `regressed` on its late level ({_difference(anymal_c, TERRAIN_LEVEL_LATE):.2f},"
        f" every seed at 0.00) while its return rose ({_difference(anymal_c, EVAL_RETURN):+.2f}), with throughput"
        f" {_speedup(anymal_c)}" in text
    )
    assert go1_rough["verdict"] == "regressed"
    late = _difference(go1_rough, TERRAIN_LEVEL_LATE)
    assert (
        f"Go1 rough PPO read the same way (late level {late:.2f}, return unchanged, throughput {_speedup(go1_rough)})"
        in text
    )


def test_the_readme_bound_effect_reads_the_legacy_baselines() -> None:
    """ "On all six flat tasks the legacy box falls ... within A-B steps": the committed legacy baselines' lengths."""
    from sacbench.metrics import EVAL_LENGTH

    legacy = [load_baseline(p) for p in sorted((ROOT / "baselines" / "mujoco" / "cpu").glob("*__sac_tuned_legacy__*"))]
    robots = ("a1", "go1", "go2", "anymal_b", "anymal_c", "bdx")
    assert {b.task for b in legacy} == {f"{robot}-flat" for robot in robots}
    lengths = [v for b in legacy for v in b.metrics[EVAL_LENGTH]]
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"box falls in every evaluation episode, within {min(lengths):.0f}-{max(lengths):.0f} steps" in readme


def _pinned_a1_flat(preset: str) -> tuple[Any, list[Any]]:
    """The committed 2-minute A1 flat baseline of ``preset`` and the pinned records it was made from."""
    from sacbench.records import load_runs

    baseline = load_baseline(baseline_path(ROOT / "baselines", "mujoco", "cpu", "a1-flat", preset, budget_s=120.0))
    folder = PINNED / ("a1-flat-extra" if preset in ("sac_cpu_tuned", "sac_default") else "a1-flat")
    records = [r for r in load_runs(folder / "runs") if r.preset == preset]
    assert sorted(r.seed for r in records) == sorted(baseline.seeds)
    return baseline, records


def _iqm_ci(baseline: Any) -> str:
    point, low, high = baseline.summary[EVAL_RETURN]["IQM"]
    return f"{point:.2f} [{low:.2f}, {high:.2f}]"


def _after(text: str, heading: str, end: str) -> str:
    """The part of ``text`` after ``heading``, up to the next ``end``."""
    return text.split(heading, 1)[1].split(end, 1)[0]


def _env_steps(records: list[Any]) -> str:
    """``"0.15-0.16 M"``: the range of the env steps ``records`` collected."""
    steps = [r.curves[-1]["env_steps"] / 1e6 for r in records]
    return f"{min(steps):.2f}-{max(steps):.2f} M"


def test_the_tuned_recipe_against_ppo_pinned_reads_the_baselines() -> None:
    """'Pinned, at equal CPU, the winner is level with PPO at 2 minutes': the baselines and the gate's own test."""
    import numpy as np

    from sacbench.stats import permutation_test

    (tuned, tuned_runs), (ppo, ppo_runs) = _pinned_a1_flat("sac_cpu_tuned"), _pinned_a1_flat("ppo_sb3")
    sac, _ = _pinned_a1_flat("sac_tuned")
    assert all(r.provenance["cpu_pinning"]["pinned"] for r in tuned_runs + ppo_runs)
    text = " ".join(_page("results.md").split())
    paragraph = _after(text, "**Pinned, at equal CPU, the winner is level with PPO at 2 minutes**", "**")
    values = {name: np.array(b.metrics[EVAL_RETURN]) for name, b in (("tuned", tuned), ("ppo", ppo), ("sac", sac))}
    against_ppo = permutation_test(values["tuned"], values["ppo"], "mean")
    against_sac = permutation_test(values["tuned"], values["sac"], "mean")
    assert against_ppo.p_upper > 0.05 and against_ppo.p_lower > 0.05  # level: neither way at the gate's level
    assert against_sac.p_upper < 0.05
    assert (
        f"reads {_iqm_ci(tuned)} against PPO's {_iqm_ci(ppo)} (mean difference {against_ppo.difference:+.2f},"
        f" one-sided exact permutation p = {against_ppo.p_upper:.2f}) and above `sac_tuned`'s {_iqm_ci(sac)}"
        f" ({against_sac.difference:+.2f}, p = {against_sac.p_upper:.3f}), on {_env_steps(tuned_runs)} env steps"
        f" against PPO's {_env_steps(ppo_runs)}" in paragraph
    )


def test_the_baselines_outside_the_matrix_read_their_pinned_records() -> None:
    """The results page's bullet on A1 flat `sac_cpu_tuned` and `sac_default`, re-made pinned."""
    from sacbench.metrics import EVAL_FALL_RATE

    (tuned, tuned_runs), (control, control_runs) = _pinned_a1_flat("sac_cpu_tuned"), _pinned_a1_flat("sac_default")
    text = " ".join(_page("results.md").split())
    bullet = _after(text, "- **Outside the default matrix, re-made pinned**", "- **")
    falls = {
        p: sum(r.final[EVAL_FALL_RATE] for r in runs) / len(runs)
        for p, runs in (("t", tuned_runs), ("c", control_runs))
    }
    lengths = control.metrics[EVAL_LENGTH]
    assert (
        f"Pinned, `sac_cpu_tuned` reads {_iqm_ci(tuned)} on {_env_steps(tuned_runs)} env steps with"
        f" {falls['t']:.0%} falls, and `sac_default` {_iqm_ci(control)}: it falls in {falls['c']:.0%} of its"
        f" evaluation episodes, after {min(lengths):.0f}-{max(lengths):.0f} steps on average per seed"
        in bullet.replace(" %", "%")
    )
    assert max(control.metrics[EVAL_RETURN]) < 0  # the control holds
