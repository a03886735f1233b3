"""The mirror held against the real Isaac Lab 3.0: every observation and reward term on one state.

    .venv-isaaclab/bin/python benchmarks/fidelity.py [--tasks a1-flat ...] [--envs 16] [--steps 200] [--out DIR]

Needs the Isaac Lab venv (docs/gpu.md: Isaac Lab on the CPU).  Per task, in a process of its own (Isaac
Lab allows one env per process):

1. The real Isaac Lab env (Newton MJWarp on the CPU, sacbench's assets, observation noise off) steps
   under seeded random actions (every fourth step a large one, so that limits and falls occur; on
   rough tasks every `PROMOTE_EVERY` steps half the robots are moved ahead and all time out, so
   that the curriculum promotes as well as demotes).  At each step its state is read twice off the
   env: inside its reward computation (after the physics, before any reset), and after the step
   (what the policy observes).
2. Each time, that state is written into the mirror (`MujocoVelocityEnv`): root pose and velocity,
   joint positions and velocities matched by name, the base's centre of mass, the command, the
   actions, applied torques, joint accelerations, the feet's contact timers, the normal contact
   forces, and on rough tasks the terrain height under each height-scan ray (the two terrains are
   generated apart, so the rays' hits on Isaac Lab's terrain stand in for the mirror's terrain).
   The mirror then computes its own observation terms, reward terms, base-contact terminations and
   ``terrain_levels_vel`` decisions from it, so that the terms are compared and not the physics
   drift of two engines.
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

ACTION_STD, ACTION_STD_LARGE = 0.5, 4.0
"""Random actions in the task's units (joint offset = 0.25 x action on the quadrupeds)."""
PROMOTE_EVERY, PROMOTE_DISTANCE = 50, 6.0
"""Rough tasks: every 50 steps half the robots are moved 6 m (past half an 8 m tile) and all time out."""
FLOAT32_TOL = 1e-4
"""Observations and smooth rewards: Isaac Lab computes in float32, the mirror in float64."""


@dataclass(frozen=True)
class Row:
    """One compared quantity of one task."""

    task: str
    kind: str
    """``observation``, ``reward``, ``termination``, ``curriculum`` or ``config``."""
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
    """A float64 numpy copy of a torch tensor or an Isaac Lab ``ProxyArray`` (through its ``.torch``)."""
    from sacbench.sim.protocol import as_numpy

    return as_numpy(getattr(x, "torch", x)).astype(np.float64)  # astype copies


class Snapshot(dict[str, np.ndarray]):
    """Isaac Lab's state at one moment, as numpy arrays in Isaac Lab's joint order."""


def snapshot(u: Any, base_index: int, foot_ids: list[int]) -> Snapshot:
    """The quantities the mirror's terms read, off the real env ``u`` (``ManagerBasedRLEnv``)."""
    robot, sensor = u.scene["robot"], u.scene["contact_forces"]
    snap = Snapshot(
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
        # What the contact terms read in 3.0 (undesired_contacts, illegal_contact): the normal force.
        forces=np.linalg.norm(_np(sensor.data.net_normal_forces_w_history), axis=-1).max(axis=1),
    )
    if "height_scanner" in u.scene.sensors:  # rough tasks: Isaac Lab's terrain under each ray
        snap["scan_z"] = _np(u.scene["height_scanner"].data.ray_hits_w)[..., 2]
    return snap


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
    if "scan_z" in snap:  # the terrain is not shared: the rays' hits on Isaac Lab's terrain stand in for the mirror's
        env._scan_heights = lambda rows: snap["scan_z"][rows]


def _observation_slices(spec: Any) -> dict[str, slice]:
    """Column ranges of each policy observation term (Isaac Lab's order, the mirror's too)."""
    j = spec.action_dim
    sizes = [("base_lin_vel", 3), ("base_ang_vel", 3), ("projected_gravity", 3), ("velocity_commands", 3),
             ("joint_pos", j), ("joint_vel", j), ("actions", j)]  # fmt: skip
    slices, start = {}, 0
    if spec.cfg.rough:
        from sacbench.tasks.registry import HEIGHT_SCAN_POINTS

        sizes.append(("height_scan", HEIGHT_SCAN_POINTS))
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


@dataclass
class Pair:
    """The real Isaac Lab env and the mirror of one task, with the index maps between them."""

    spec: Any
    env: Any
    mirror: Any
    il_order: list[str]
    """Isaac Lab's joint order (Newton's)."""
    foot_ids: list[int]
    """The feet among the contact sensor's bodies, in the facts' order."""
    base_index: int
    slots: list[int]
    """The contact sensor's body of each of the mirror's tracked links."""

    @property
    def u(self) -> Any:
        """The ``ManagerBasedRLEnv``."""
        return self.env.unwrapped

    def snapshot(self) -> Snapshot:
        """Isaac Lab's state now."""
        return snapshot(self.u, self.base_index, self.foot_ids)


def make_pair(task: str, num_envs: int, seed: int) -> Pair:
    """Both envs of ``task``, observation noise off on both sides."""
    from dataclasses import replace

    from sacbench.sim.isaaclab import make_isaaclab_env
    from sacbench.sim.mujoco import MujocoVelocityEnv
    from sacbench.tasks import get_task

    spec = get_task(task)

    def noise_off(cfg: Any) -> None:
        cfg.observations.policy.enable_corruption = False

    env = make_isaaclab_env(task, num_envs=num_envs, seed=seed, device="cpu", configure=noise_off)
    mirror = MujocoVelocityEnv(replace(spec, cfg=replace(spec.cfg, observation_noise=False)), num_envs, seed)
    u = env.unwrapped
    sensor_names = list(u.scene["contact_forces"].sensor_names)
    return Pair(
        spec=spec,
        env=env,
        mirror=mirror,
        il_order=list(env.joint_names),
        foot_ids=[sensor_names.index(name) for name in spec.robot_spec.foot_links],
        base_index=list(u.scene["robot"].body_names).index(spec.robot_spec.base_link.name),
        slots=[sensor_names.index(name) for name in mirror.world.tracked_links],
    )


Record = tuple[Snapshot, np.ndarray, np.ndarray]
"""The state the reward terms saw, Isaac Lab's weighted term values ``(N, K)`` and its terminations."""


def record_reward_states(pair: Pair) -> list[Record]:
    """Wrap the real reward manager's ``compute``: the state it reads is kept, then it runs as before."""
    u, records = pair.u, []
    manager, compute = u.reward_manager, u.reward_manager.compute

    def recording_compute(dt: float) -> Any:
        snap = pair.snapshot()
        snap["base_contact"] = _np(u.termination_manager.get_term("base_contact"))
        if pair.spec.cfg.rough:  # the curriculum runs in this step's resets, on this state
            snap["levels"] = _np(u.scene.terrain.terrain_levels)
            snap["origins"] = _np(u.scene.env_origins)
        snap["reset"] = _np(u.termination_manager.dones)  # terminated or timed out: this step's resets
        out = compute(dt)
        records.append((snap, _np(manager._step_reward), _np(u.termination_manager.terminated)))
        return out

    manager.compute = recording_compute
    return records


def send_half_away_and_time_out(u: Any) -> None:
    """Move every other robot `PROMOTE_DISTANCE` ahead of where it is and time every robot out.

    Random actions never walk a robot off its tile, so the curriculum's promotions would go
    unchecked: this makes the next step's resets promote half the robots (and judge the others).
    """
    import torch

    robot = u.scene["robot"]
    ids = np.arange(0, u.num_envs, 2)
    pose = np.concatenate([_np(robot.data.root_link_pos_w), _np(robot.data.root_link_quat_w)], axis=1)[ids]
    pose[:, 0] += PROMOTE_DISTANCE
    pose[:, 2] += 0.5  # above whatever the terrain is there
    robot.write_root_link_pose_to_sim_index(
        root_pose=torch.as_tensor(pose, dtype=torch.float32), env_ids=torch.as_tensor(ids)
    )
    u.episode_length_buf[:] = u.max_episode_length - 1


def step_and_compare_observations(pair: Pair, steps: int, seed: int) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Step Isaac Lab; after each step, the mirror's observation terms on its state.

    Returns:
        Per term ``{"max": largest difference, "scale": largest Isaac Lab value}``, and the terrain
        levels after each step (rough tasks).
    """
    spec, u = pair.spec, pair.u
    slices = _observation_slices(spec)
    diffs: dict[str, float] = dict.fromkeys(slices, 0.0)
    scales: dict[str, float] = dict.fromkeys(slices, 0.0)
    levels_after = []
    rng = np.random.default_rng(seed)
    pair.env.reset(seed=seed)
    for step in range(steps):
        # Mostly small actions; every fourth step a large one, so that limits, falls and resets occur.
        scale = ACTION_STD_LARGE if step % 4 == 3 else ACTION_STD
        if spec.cfg.rough and step % PROMOTE_EVERY == PROMOTE_EVERY - 1:
            send_half_away_and_time_out(u)
        obs, *_ = pair.env.step(rng.normal(0.0, scale, (pair.mirror.num_envs, spec.action_dim)))
        if spec.cfg.rough:
            levels_after.append(_np(u.scene.terrain.terrain_levels))
        load_into_mirror(pair.mirror, pair.snapshot(), pair.il_order)
        ours = pair.mirror._observations(slice(None)).astype(np.float64)
        theirs = _joint_blocks_to_task_order(_np(obs), spec, pair.il_order)
        for name, cols in slices.items():
            diffs[name] = max(diffs[name], float(np.abs(ours[:, cols] - theirs[:, cols]).max()))
            scales[name] = max(scales[name], float(np.abs(theirs[:, cols]).max()))
    return {name: {"max": diffs[name], "scale": scales[name]} for name in slices}, levels_after


def compare_rewards(pair: Pair, records: list[Record], levels_after: list[np.ndarray]) -> dict[str, Any]:
    """The mirror's reward terms, termination rule and curriculum rule on each recorded state."""
    from sacbench.sim.mujoco.task import REWARD_FUNCTIONS

    spec, mirror = pair.spec, pair.mirror
    names = list(pair.u.reward_manager.active_terms)
    term_slots = [mirror.world.tracked_links.index(name) for name in spec.robot_spec.termination_links]
    rewards: dict[str, dict[str, float]] = {t.name: {"max": 0.0, "scale": 0.0} for t in mirror._terms}
    terminations = {"disagree": 0, "isaaclab_true": 0}
    curriculum = {"disagree": 0, "decisions": 0, "promotions": 0, "demotions": 0}
    for k, (snap, step_reward, terminated) in enumerate(records):
        load_into_mirror(mirror, snap, pair.il_order)
        hist_max = snap["forces"][:, pair.slots]
        contact = (hist_max[:, term_slots] > spec.cfg.contact_threshold).any(axis=1)
        terminations["disagree"] += int((contact != snap["base_contact"].astype(bool)).sum())
        terminations["isaaclab_true"] += int(snap["base_contact"].astype(bool).sum())
        if spec.cfg.rough:
            counted = curriculum_decisions(mirror, snap, levels_after[k], snap["reset"].astype(bool))
            for key, value in zip(("disagree", "decisions", "promotions", "demotions"), counted, strict=True):
                curriculum[key] += value
        ctx = mirror.reward_context(hist_max, terminated.astype(bool))
        for term, idx in zip(mirror._terms, mirror._term_joints, strict=True):
            theirs = step_reward[:, names.index(term.name)]
            ours = REWARD_FUNCTIONS[term.kind](ctx, term, idx) * term.weight
            figure = rewards[term.name]
            figure["max"] = max(figure["max"], float(np.abs(ours - theirs).max()))
            figure["scale"] = max(figure["scale"], float(np.abs(theirs).max()))
    return {"rewards": rewards, "terminations": terminations, "curriculum": curriculum if spec.cfg.rough else None}


def compare_task(task: str, num_envs: int, steps: int, seed: int) -> dict[str, Any]:
    """Run Isaac Lab and the mirror's terms on its states; the largest difference per term."""
    pair = make_pair(task, num_envs, seed)
    records = record_reward_states(pair)
    observations, levels_after = step_and_compare_observations(pair, steps, seed)
    manager = pair.u.reward_manager
    result = {
        "task": task,
        "num_envs": num_envs,
        "steps": steps,
        "observations": observations,
        **compare_rewards(pair, records, levels_after),
        "reward_terms": {
            "isaaclab": {name: float(manager.get_term_cfg(name).weight) for name in manager.active_terms},
            "mirror": {t.name: t.weight for t in pair.mirror._terms},
        },
        "config": config_pairs(pair.u.cfg, pair.spec),
        "scan_pattern": scan_pattern_diff(pair.u, pair.spec),
    }
    pair.env.close()
    return result


def curriculum_decisions(
    mirror: Any, snap: Snapshot, levels_after: np.ndarray, reset: np.ndarray
) -> tuple[int, int, int, int]:
    """Disagreements, decisions, promotions and demotions of the mirror's level rule against Isaac Lab's.

    Promotions and demotions are Isaac Lab's, on the resets compared.

    The mirror's ``_update_curriculum`` runs on Isaac Lab's positions, origins, commands and levels;
    robots past the top level are left out (both send them to a random level, each with its own RNG).
    """
    ids = np.flatnonzero(reset)
    top = mirror.terrain.cfg.num_rows - 1
    ids = ids[snap["levels"][ids] < top]
    if ids.size == 0:
        return 0, 0, 0, 0
    mirror.base_pos = snap["pos"].copy()
    mirror.env_origins = snap["origins"].copy()
    mirror.terrain_levels = snap["levels"].astype(np.int64)
    mirror._update_curriculum(ids)
    moved = levels_after[ids] - snap["levels"][ids]
    disagree = int((mirror.terrain_levels[ids] != levels_after[ids]).sum())
    return disagree, int(ids.size), int((moved > 0).sum()), int((moved < 0).sum())


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
        if result["reward_terms"]["isaaclab"].get(name) == 0.0:
            why = "weight 0 on this task: neither side computes it"
        elif figure["scale"] == 0.0:
            why += "; NOT EXERCISED: zero on every env and step of this run"
        rows.append(Row(task, "reward", name, figure["max"], figure["scale"], tol, why))
    disagree, fired = result["terminations"]["disagree"], result["terminations"]["isaaclab_true"]
    why = f"base contact, env-steps that disagree ({fired} terminations in Isaac Lab)"
    if fired == 0:
        why += "; NOT EXERCISED"
    rows.append(Row(task, "termination", "base_contact", disagree, fired, 0.0, why))
    if result["curriculum"] is not None:
        count, up, down = (result["curriculum"][k] for k in ("decisions", "promotions", "demotions"))
        why = f"terrain level after a reset, resets that disagree ({count} decisions: {up} up, {down} down)"
        if count == 0:
            why += "; NOT EXERCISED"
        rows.append(Row(task, "curriculum", "terrain_levels_vel", result["curriculum"]["disagree"], count, 0.0, why))
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
    parser.add_argument("--tasks", nargs="+", default=None, help="Default: all twelve")
    parser.add_argument("--envs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("reports/reference/fidelity"))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(compare_task(args.child, args.envs, args.steps, args.seed)))
        return
    from sacbench.tasks import task_names

    results = [run_child(task, args.envs, args.steps, args.seed) for task in args.tasks or task_names()]
    rows = [row for result in results for row in rows_of(result)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fidelity.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (args.out / "fidelity.md").write_text(table(rows) + "\n", encoding="utf-8")
    failed = [row for row in rows if not row.ok]
    print(table(rows))
    print(f"\n{len(rows) - len(failed)} of {len(rows)} within tolerance; data in {args.out}")


if __name__ == "__main__":
    main()
