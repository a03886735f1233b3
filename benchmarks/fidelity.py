"""The mirror held against the real Isaac Lab 3.0: every observation and reward term on one state.

    .venv-isaaclab/bin/python benchmarks/fidelity.py [--tasks a1-flat ...] [--steps 100] [--out DIR]

Needs the Isaac Lab venv (README: Isaac Lab on the CPU).  Per task, in a process of its own (Isaac
Lab allows one env per process):

1. The real Isaac Lab env (Newton MJWarp on the CPU, sacbench's assets, observation noise off) steps
   under seeded random actions.  At each step its state is read twice off the env: inside its reward
   computation (after the physics, before any reset), and after the step (what the policy observes).
2. Each time, that state is written into the mirror (`MujocoVelocityEnv`): root pose and velocity,
   joint positions and velocities matched by name, the base's centre of mass, the command, the
   actions, applied torques, joint accelerations, the feet's contact timers and the contact forces.
   The mirror then computes its own observation terms and reward terms from it, so that the terms
   are compared and not the physics drift of two engines.
3. Each term's largest difference over every env and step is set against a tolerance: float32
   round-off (observations, and rewards on smooth inputs), or one air-time tick where a threshold is
   crossed.  The configuration the mirror restates (reward weights, command ranges and resampling,
   reset and interval events, terrain curriculum) is compared value by value.

Writes ``fidelity.md`` (the table, worst first) and ``fidelity.json`` (every figure) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_TASKS = ("a1-flat", "a1-rough", "go2-flat", "anymal_c-flat", "anymal_c-rough", "bdx-flat")
FLOAT32_TOL = 1e-4
"""Observations and smooth rewards: Isaac Lab computes in float32, the mirror in float64."""


@dataclass(frozen=True)
class Row:
    """One compared quantity of one task."""

    task: str
    kind: str
    """``observation``, ``reward`` or ``config``."""
    term: str
    max_abs_diff: float
    scale: float
    """Largest absolute value of the quantity on the Isaac Lab side (for reading the difference)."""
    tolerance: float
    why: str

    @property
    def ok(self) -> bool:
        """Whether the difference is within the tolerance."""
        return self.max_abs_diff <= self.tolerance


# ------------------------------------------------------------------------------------ child process


def _np(x: Any) -> np.ndarray:
    """A numpy copy of a torch tensor, Warp array or Isaac Lab ``ProxyArray``."""
    x = getattr(x, "torch", x)
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy().astype(np.float64).copy()
    return np.asarray(x, dtype=np.float64).copy()


class Snapshot(dict[str, np.ndarray]):
    """Isaac Lab's state at one moment, as numpy arrays in Isaac Lab's joint order."""


def snapshot(u: Any, base_index: int, foot_ids: list[int]) -> Snapshot:
    """The quantities the mirror's terms read, off the real env ``u`` (``ManagerBasedRLEnv``)."""
    robot, sensor = u.scene["robot"], u.scene["contact_forces"]
    return Snapshot(
        pos=_np(robot.data.root_link_pos_w),
        quat_xyzw=_np(robot.data.root_link_quat_w),
        lin_vel_w=_np(robot.data.root_link_lin_vel_w),
        ang_vel_w=_np(robot.data.root_link_ang_vel_w),
        com_b=_np(robot.data.body_com_pos_b)[:, base_index],
        q=_np(robot.data.joint_pos),
        qd=_np(robot.data.joint_vel),
        qdd=_np(robot.data.joint_acc),
        torque=_np(robot.actuators.applied_effort),
        command=_np(u.command_manager.get_command("base_velocity")),
        action=_np(u.action_manager.action),
        prev_action=_np(u.action_manager.prev_action),
        air=_np(sensor.data.current_air_time)[:, foot_ids],
        last_air=_np(sensor.data.last_air_time)[:, foot_ids],
        contact=_np(sensor.data.current_contact_time)[:, foot_ids],
        forces=np.linalg.norm(_np(sensor.data.net_forces_w_history), axis=-1).max(axis=1),
    )


def load_into_mirror(env: Any, snap: Snapshot, il_order: list[str]) -> None:
    """Write Isaac Lab's state into the mirror's MuJoCo state and buffers, joints matched by name."""
    from sacbench.sim.mujoco.task import quat_to_rot

    to_task = np.array([il_order.index(name) for name in env.robot.joint_order])
    perm = env._perm  # task column i is MuJoCo joint perm[i] of a robot
    quat = snap["quat_xyzw"][:, [3, 0, 1, 2]]  # Isaac Lab 3.0 is xyzw, MuJoCo wxyz
    rot = quat_to_rot(quat)
    env._qpos[:, 0:3] = snap["pos"]
    env._qpos[:, 3:7] = quat
    env._qpos[:, 7 + perm] = snap["q"][:, to_task]
    env._qvel[:, 0:3] = snap["lin_vel_w"]  # MuJoCo's free joint: the body origin's world velocity
    env._qvel[:, 3:6] = np.einsum("nji,nj->ni", rot, snap["ang_vel_w"])  # ... and body-frame angular velocity
    env._qvel[:, 6 + perm] = snap["qd"][:, to_task]
    env._com_offset = snap["com_b"]
    env._refresh_state()
    env.command = snap["command"]
    env.action, env.prev_action = snap["action"][:, to_task], snap["prev_action"][:, to_task]
    env.torque, env.joint_acc = snap["torque"][:, to_task], snap["qdd"][:, to_task]
    env.current_air_time, env.last_air_time = snap["air"], snap["last_air"]
    env.current_contact_time = snap["contact"]


def _observation_slices(spec: Any) -> dict[str, slice]:
    """Column ranges of each policy observation term (Isaac Lab's order, the mirror's too)."""
    j = spec.action_dim
    sizes = [("base_lin_vel", 3), ("base_ang_vel", 3), ("projected_gravity", 3), ("velocity_commands", 3),
             ("joint_pos", j), ("joint_vel", j), ("actions", j)]  # fmt: skip
    slices, start = {}, 0
    for name, size in sizes:
        slices[name] = slice(start, start + size)
        start += size
    return slices


def _joint_blocks_to_task_order(obs: np.ndarray, spec: Any, il_order: list[str]) -> np.ndarray:
    """Isaac Lab's observation with its three joint blocks re-ordered to the mirror's joint order."""
    out = obs.copy()
    to_task = np.array([il_order.index(name) for name in spec.robot_spec.joint_order])
    for name in ("joint_pos", "joint_vel", "actions"):
        block = _observation_slices(spec)[name]
        out[:, block] = obs[:, block][:, to_task]
    return out


def compare_task(task: str, num_envs: int, steps: int, seed: int) -> dict[str, Any]:
    """Run Isaac Lab and the mirror's terms on its states; the largest difference per term."""
    from dataclasses import replace

    from sacbench.sim.isaaclab import make_isaaclab_env
    from sacbench.sim.mujoco import MujocoVelocityEnv
    from sacbench.sim.mujoco.task import REWARD_FUNCTIONS
    from sacbench.tasks import get_task

    spec = get_task(task)
    quiet = replace(spec, cfg=replace(spec.cfg, observation_noise=False))

    def noise_off(cfg: Any) -> None:
        cfg.observations.policy.enable_corruption = False

    env = make_isaaclab_env(task, num_envs=num_envs, seed=seed, device="cpu", configure=noise_off)
    u = env.unwrapped
    robot, sensor = u.scene["robot"], u.scene["contact_forces"]
    il_order = list(env.joint_names)
    sensor_names = list(sensor.sensor_names)
    foot_ids = [sensor_names.index(name) for name in spec.robot_spec.foot_links]
    base_index = list(robot.body_names).index(spec.robot_spec.base_link.name)
    mirror = MujocoVelocityEnv(quiet, num_envs=num_envs, seed=seed)
    slots = [sensor_names.index(name) for name in mirror.world.tracked_links]

    rewards: list[tuple[Snapshot, np.ndarray, np.ndarray]] = []
    manager = u.reward_manager
    compute = manager.compute

    def recording_compute(dt: float) -> Any:
        snap = snapshot(u, base_index, foot_ids)
        out = compute(dt)
        rewards.append((snap, _np(manager._step_reward), _np(u.termination_manager.terminated)))
        return out

    manager.compute = recording_compute  # read the state the reward terms see, then let them run
    rng = np.random.default_rng(seed)
    obs_diffs: dict[str, list[float]] = {name: [] for name in _observation_slices(spec)}
    obs_scale: dict[str, float] = dict.fromkeys(obs_diffs, 0.0)
    env.reset(seed=seed)
    for _ in range(steps):
        obs, *_ = env.step(rng.normal(0.0, 0.5, (num_envs, spec.action_dim)))
        load_into_mirror(mirror, snapshot(u, base_index, foot_ids), il_order)
        ours = mirror._observations(slice(None)).astype(np.float64)
        theirs = _joint_blocks_to_task_order(_np(obs), spec, il_order)
        for name, cols in _observation_slices(spec).items():
            obs_diffs[name].append(float(np.abs(ours[:, cols] - theirs[:, cols]).max()))
            obs_scale[name] = max(obs_scale[name], float(np.abs(theirs[:, cols]).max()))
    term_names = list(manager.active_terms)
    reward_diffs: dict[str, list[float]] = {}
    reward_scale: dict[str, float] = {}
    for snap, step_reward, terminated in rewards:
        load_into_mirror(mirror, snap, il_order)
        ctx = mirror.reward_context(snap["forces"][:, slots], terminated.astype(bool))
        for term, idx in zip(mirror._terms, mirror._term_joints, strict=True):
            theirs = step_reward[:, term_names.index(term.name)]
            ours = REWARD_FUNCTIONS[term.kind](ctx, term, idx) * term.weight
            reward_diffs.setdefault(term.name, []).append(float(np.abs(ours - theirs).max()))
            reward_scale[term.name] = max(reward_scale.get(term.name, 0.0), float(np.abs(theirs).max()))
    result = {
        "task": task,
        "num_envs": num_envs,
        "steps": steps,
        "observations": {k: {"max": max(v), "scale": obs_scale[k]} for k, v in obs_diffs.items()},
        "rewards": {k: {"max": max(v), "scale": reward_scale[k]} for k, v in reward_diffs.items()},
        "reward_terms": {
            "isaaclab": {name: float(manager.get_term_cfg(name).weight) for name in term_names},
            "mirror": {t.name: t.weight for t in mirror._terms},
        },
        "config": config_pairs(u.cfg, spec),
        "scan_pattern": scan_pattern_diff(u, spec),
    }
    env.close()
    return result


def scan_pattern_diff(u: Any, spec: Any) -> float | None:
    """Largest distance between Isaac Lab's height-scan ray offsets and the mirror's, ray by ray (rough tasks)."""
    if not spec.cfg.rough:
        return None
    from sacbench.sim.mujoco.task import height_scan_pattern

    theirs = _np(u.scene["height_scanner"].ray_starts)[0, :, :2]
    ours = height_scan_pattern()
    return float(np.abs(theirs - ours).max()) if theirs.shape == ours.shape else math.inf


def config_pairs(cfg: Any, spec: Any) -> dict[str, list[Any]]:
    """``name -> [Isaac Lab's value, the mirror's]`` for the configuration the mirror restates."""
    commands, events, mine = cfg.commands.base_velocity, cfg.events, spec.cfg
    ranges = commands.ranges
    pairs: dict[str, list[Any]] = {
        "commands/lin_vel_x": [list(ranges.lin_vel_x), list(mine.commands.lin_vel_x)],
        "commands/lin_vel_y": [list(ranges.lin_vel_y), list(mine.commands.lin_vel_y)],
        "commands/ang_vel_z": [list(ranges.ang_vel_z), list(mine.commands.ang_vel_z)],
        "commands/heading_command": [bool(commands.heading_command), mine.commands.heading_command],
        "commands/heading_stiffness": [float(commands.heading_control_stiffness), mine.commands.heading_stiffness],
        "commands/rel_standing_envs": [float(commands.rel_standing_envs), mine.commands.rel_standing_envs],
        "commands/resampling_time_s": [list(commands.resampling_time_range), [mine.commands.resampling_time_s] * 2],
        "episode_length_s": [float(cfg.episode_length_s), mine.episode_length_s],
        "decimation": [int(cfg.decimation), mine.decimation],
        "sim_dt": [float(cfg.sim.dt), mine.sim_dt],
        "events/reset_joints_position_range": [
            list(events.reset_robot_joints.params["position_range"]),
            list(mine.events.joint_pos_scale),
        ],
    }
    push = getattr(events, "push_robot", None)
    pairs["events/push_interval_s"] = [
        list(push.interval_range_s) if push is not None else None,
        list(mine.events.push_interval_s) if mine.events.push_interval_s else None,
    ]
    pose = events.reset_base.params["pose_range"]
    pairs["events/reset_xy"] = [list(pose.get("x", (0.0, 0.0))), [-mine.events.reset_xy, mine.events.reset_xy]]
    pairs["events/reset_yaw"] = [list(pose.get("yaw", (0.0, 0.0))), [-mine.events.reset_yaw, mine.events.reset_yaw]]
    if mine.terrain is not None:
        generator = cfg.scene.terrain.terrain_generator
        pairs["terrain/num_rows"] = [int(generator.num_rows), mine.terrain.num_rows]
        pairs["terrain/num_cols"] = [int(generator.num_cols), mine.terrain.num_cols]
        pairs["terrain/size"] = [list(generator.size), [mine.terrain.size] * 2]
        pairs["terrain/max_init_level"] = [int(cfg.scene.terrain.max_init_terrain_level), mine.terrain.max_init_level]
        proportions = [float(sub.proportion) for sub in generator.sub_terrains.values()]
        pairs["terrain/proportions"] = [proportions, list(mine.terrain.proportions)]
    return pairs


# ------------------------------------------------------------------------------------ the table

REWARD_TOLERANCE = {
    "feet_air_time": (0.02, "an air-time threshold crossed within one physics substep (5 ms) of float32 timers"),
    "feet_air_time_positive_biped": (0.02, "as feet_air_time"),
}
"""Terms whose inputs are timers or thresholds; every other term is held to float32 round-off."""


def rows_of(result: dict[str, Any]) -> list[Row]:
    """The compared quantities of one task, with their tolerances and reasons."""
    task, rows = result["task"], []
    for name, figure in result["observations"].items():
        tol = FLOAT32_TOL * max(1.0, figure["scale"])
        rows.append(Row(task, "observation", name, figure["max"], figure["scale"], tol, "float32 round-off"))
    for name, figure in result["rewards"].items():
        tol, why = REWARD_TOLERANCE.get(name, (FLOAT32_TOL * max(1.0, figure["scale"]), "float32 round-off"))
        if figure["scale"] == 0.0:
            why += "; NOT EXERCISED: zero on every env and step of this run"
        rows.append(Row(task, "reward", name, figure["max"], figure["scale"], tol, why))
    weights = result["reward_terms"]
    for name in sorted(set(weights["isaaclab"]) | set(weights["mirror"])):
        theirs, ours = weights["isaaclab"].get(name), weights["mirror"].get(name)
        same = theirs is not None and ours is not None and math.isclose(theirs, ours, rel_tol=1e-9)
        absent_zero = (theirs or 0.0) == 0.0 and (ours or 0.0) == 0.0
        diff = 0.0 if same or absent_zero else math.inf
        rows.append(Row(task, "config", f"weight/{name}", diff, abs(theirs or 0.0), 0.0, f"{theirs} vs {ours}"))
    for name, (theirs, ours) in result["config"].items():
        diff = 0.0 if np.allclose(np.asarray(theirs, float), np.asarray(ours, float)) else math.inf
        if theirs is None or ours is None:
            diff = 0.0 if theirs == ours else math.inf
        rows.append(Row(task, "config", name, diff, 0.0, 0.0, f"{theirs} vs {ours}"))
    if result["scan_pattern"] is not None:
        rows.append(Row(task, "observation", "height_scan rays (x, y)", result["scan_pattern"], 0.8, 1e-6,
                        "the 17 x 11 grid, ray by ray"))  # fmt: skip
    return rows


def table(rows: list[Row]) -> str:
    """Markdown: every row that fails its tolerance first, then the largest difference per term kind."""
    lines = [
        "| task | kind | term | max abs diff | Isaac Lab scale | tolerance | within | why |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r.ok, -r.max_abs_diff / max(r.tolerance, 1e-12))):
        lines.append(
            f"| {row.task} | {row.kind} | {row.term} | {row.max_abs_diff:.3g} | {row.scale:.3g} | {row.tolerance:.3g}"
            f" | {'yes' if row.ok else 'NO'} | {row.why} |"
        )
    return "\n".join(lines)


def run_child(task: str, num_envs: int, steps: int, seed: int) -> dict[str, Any]:
    """`compare_task` in a fresh process (one Isaac Lab env per process)."""
    command = [sys.executable, __file__, "--child", task, "--envs", str(num_envs), "--steps", str(steps),
               "--seed", str(seed)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"fidelity of {task} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Compare every task asked for and write the table and its data."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS))
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("reports/reference/fidelity"))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(compare_task(args.child, args.envs, args.steps, args.seed)))
        return
    results = [run_child(task, args.envs, args.steps, args.seed) for task in args.tasks]
    rows = [row for result in results for row in rows_of(result)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fidelity.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (args.out / "fidelity.md").write_text(table(rows) + "\n", encoding="utf-8")
    failed = [row for row in rows if not row.ok]
    print(table(rows))
    print(f"\n{len(rows) - len(failed)} of {len(rows)} within tolerance; data in {args.out}")


if __name__ == "__main__":
    main()
