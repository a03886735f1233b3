"""The README's two commands are what CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

from sacbench.baselines import baseline_path, load_baseline
from sacbench.metrics import EVAL_LENGTH, EVAL_RETURN, TERRAIN_LEVEL_LATE

ROOT = Path(__file__).resolve().parents[1]


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
    """Every figure of the README's recipe comparison is the committed report's (rebuilt from its records)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(RECIPES_HEADING, 1)[1].split("\n**", 1)[0]
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
    """The README's baseline table is the committed protocol-2 baselines, each row its file: IQM, CI, seeds,
    late levels and survival."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(BASELINES_HEADING, 1)[1].split("\n**", 1)[0]
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
    """The README's fidelity figures are those of ``benchmarks/fidelity.py``'s committed output."""
    import json

    from sacbench.tasks import task_names

    results = json.loads((FIDELITY / "fidelity.json").read_text(encoding="utf-8"))
    assert [r["task"] for r in results] == list(task_names())
    (rows,) = _tables((FIDELITY / "fidelity.md").read_text(encoding="utf-8"))
    within = sum(row["within"] == "yes" for row in rows)
    curricula = [r["curriculum"] for r in results if r["curriculum"]]
    observations = max(f["max"] for r in results for f in r["observations"].values())
    rewards = max(f["max"] for r in results for f in r["rewards"].values())
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())  # one line: wraps fall anywhere
    assert f"**{within} of {len(rows)} compared quantities within tolerance**" in readme
    assert (
        f"{sum(c['decisions'] for c in curricula)} curriculum decisions"
        f" ({sum(c['promotions'] for c in curricula)} promotions" in readme
    )
    assert f"largest term differences are {observations:.1g} (observations) and {rewards:.1g} (rewards)" in readme


def test_the_isaaclab_cpu_throughput_table_reads_the_committed_run() -> None:
    reference = _tables((ROOT / "reports" / "reference" / "isaaclab-cpu-throughput" / "README.md").read_text())[0]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Isaac Lab on the CPU", 1)[1].split("\n## ", 1)[0]
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
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    rate = round(steps / record.timing.train_s)
    assert f"trained {steps:,} env steps ({rate} env steps/s with learning)" in readme
    assert f"took {record.timing.total_s:.0f} s with evaluation ({record.final['eval/episodes']} episodes)" in readme


GATE_POWER = ROOT / "reports" / "reference" / "gate-power" / "gate_power_300_nights.txt"


def test_the_gate_rates_are_the_committed_simulation_output() -> None:
    """The README's simulated rates are the committed output of `benchmarks/gate_power.py`, line for line,
    and the confirmation bullet's ranges are its confirmation table's."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("**Its rates, simulated**", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    committed = GATE_POWER.read_text(encoding="utf-8")
    assert [line for line in block.splitlines() if line] == [line for line in committed.splitlines() if line]
    (rows,) = _tables(committed.split("--sacbench-confirm):", 1)[1])
    one = [float(r["nights failing, one stage"].rstrip("%")) for r in rows]
    both = [float(r["nights failing, confirmed"].rstrip("%")) for r in rows]
    runs = [float(r["confirmation runs per quiet night"]) for r in rows]
    bullet = readme.split("**Confirmation holds the night, and costs detection.**", 1)[1].split("\n- **", 1)[0]
    bullet = " ".join(bullet.split())
    assert f"falls from {min(one):.1f}-{max(one):.1f} % to {min(both):.1f}-{max(both):.1f} %" in bullet
    assert f"It costs {min(runs):.2f}-{max(runs):.2f} extra runs per quiet night" in bullet
    assert max(both) <= 5.0  # the target: at most 5 % of quiet nights fail with confirmation


PINNING = ROOT / "reports" / "reference" / "pinning"


def test_the_pinning_table_is_rebuilt_from_its_committed_records() -> None:
    """The README's pinned-against-unpinned table is `benchmarks/pinning.py`'s table of the committed records."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("pinning", ROOT / "benchmarks" / "pinning.py")
    assert spec is not None and spec.loader is not None
    pinning = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pinning)
    rebuilt = pinning.table(PINNING, "a1-flat")
    assert rebuilt == (PINNING / "table.md").read_text(encoding="utf-8").splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    indented = [line.strip() for line in readme.split("**The CPU scale changes the picture", 1)[1].splitlines()]
    start = indented.index(rebuilt[0])
    assert indented[start : start + len(rebuilt)] == rebuilt
