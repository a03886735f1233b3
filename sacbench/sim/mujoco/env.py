"""The embedded CPU backend: Isaac Lab's velocity task on native MuJoCo, batched.

One MuJoCo world holds every robot (`sacbench.sim.mujoco.model`); one ``mj_step`` advances them all.
Everything else (actuators, contact sensing, commands, rewards, resets, curriculum, observations)
is numpy over ``(num_envs, ...)`` arrays.  A step follows Isaac Lab 3.0's
``ManagerBasedRLEnv.step``: actions, ``decimation`` physics substeps (actuator model and contact
sensor every substep), terminations, rewards, resets of finished envs (curriculum first, with the
pre-reset state), command update, interval pushes, observations.

Deviations from Isaac Lab, by design: joint order is PhysX's for every task; the observation of an
episode's last step is kept in ``extras["final_obs"]`` (Isaac Lab's ``compute_final_obs``) so that
time-outs bootstrap correctly; the terrain is a heightfield (see `sacbench.sim.mujoco.terrain`);
the first reset does not bump curriculum levels.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces

from sacbench import metrics
from sacbench.robots.spec import ActuatorModel
from sacbench.sim.mujoco.model import SolverSettings, World, build_world
from sacbench.sim.mujoco.task import (
    HEIGHT_SCAN_OFFSET,
    NOISE_ANG_VEL,
    NOISE_GRAVITY,
    NOISE_HEIGHT_SCAN,
    NOISE_JOINT_POS,
    NOISE_JOINT_VEL,
    NOISE_LIN_VEL,
    REWARD_FUNCTIONS,
    RewardContext,
    dc_motor_torque,
    height_scan_pattern,
    quat_to_rot,
    wrap_to_pi,
    yaw_quat,
)
from sacbench.sim.mujoco.terrain import TerrainMap, generate_terrain
from sacbench.tasks.registry import TaskSpec, get_task
from sacbench.tasks.velocity import LEGACY_ACTION_BOUND, RewardKind

CONTACT_HISTORY = 3
"""Isaac Lab's ContactSensorCfg(history_length=3), updated every physics substep."""
_MAX_QVEL = 1e3
"""Joint or base speeds beyond this (rad/s, m/s) are a diverged simulation, not a robot."""
_FIRST_CONTACT_TOLERANCE = 0.0025
"""``compute_first_contact``: contact started within ``step_dt + 0.5 * sim_dt``."""


def flat_origins(num_envs: int, spacing: float) -> np.ndarray:
    """Isaac Lab's cloner grid ``(N, 3)``: rows along -x, columns along +y, centred on the origin."""
    rows = math.ceil(num_envs / math.sqrt(num_envs))
    cols = math.ceil(num_envs / rows)
    k = np.arange(num_envs)
    r, c = k // cols, k % cols
    origins = np.zeros((num_envs, 3))
    origins[:, 0] = -(r - (rows - 1) / 2) * spacing
    origins[:, 1] = (c - (cols - 1) / 2) * spacing
    return origins


class MujocoVelocityEnv:
    """``num_envs`` robots tracking velocity commands, stepped together (the backend protocol).

    Args:
        task: Task name (``"a1-flat"``) or spec.
        num_envs: Number of robots simulated together.
        seed: Seeds the terrain, the startup randomisation and every random draw of the episodes.
        solver: MuJoCo solver settings.
    """

    def __init__(
        self, task: str | TaskSpec, num_envs: int, seed: int = 0, solver: SolverSettings | None = None
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs={num_envs} must be >= 1")
        self.task = get_task(task)
        self.cfg = self.task.cfg
        self.robot = self.task.robot_spec
        self.joint_names = self.robot.joint_order
        self.num_envs = num_envs
        self.seed = seed
        self.render_mode: str | None = None  # gymnasium convention, read by SB3's VecEnv
        self.rng = np.random.default_rng(seed)
        n, j = num_envs, self.robot.num_joints
        self.num_joints = j
        self.action_space: spaces.Box = spaces.Box(-LEGACY_ACTION_BOUND, LEGACY_ACTION_BOUND, (j,), np.float32)
        self.observation_space: spaces.Box = spaces.Box(-np.inf, np.inf, (self.task.obs_dim,), np.float32)

        self.terrain: TerrainMap | None = None
        if self.cfg.terrain is not None:
            tcfg = self.cfg.terrain
            self.terrain = generate_terrain(tcfg, self.rng)
            self.terrain_levels = self.rng.integers(0, min(tcfg.max_init_level, tcfg.num_rows - 1) + 1, n)
            self.terrain_types = np.floor(np.arange(n) / (n / tcfg.num_cols)).astype(np.int64)
            self.env_origins = self.terrain.origins[self.terrain_levels, self.terrain_types].copy()
        else:
            self.terrain_levels = np.zeros(n, dtype=np.int64)
            self.terrain_types = np.zeros(n, dtype=np.int64)
            self.env_origins = flat_origins(n, self.cfg.env_spacing)
        spawn = self.env_origins + np.array([0.0, 0.0, self.robot.init_height])
        self.world: World = build_world(
            self.robot,
            n,
            spawn,
            dt=self.cfg.sim_dt,
            friction=self.cfg.events.friction,
            terrain=self.terrain,
            solver=solver,
        )
        self.model = self.world.model
        self.data = mujoco.MjData(self.model)
        self._init_views()
        self._init_actuators()
        self._init_buffers()
        self._randomize_startup()
        self._last_obs = self.reset()[0]

    # ----------------------------------------------------------------------------------- set-up
    def _init_views(self) -> None:
        n, j = self.num_envs, self.num_joints
        self._qpos = self.data.qpos.reshape(n, 7 + j)  # views into MjData: writes go to MuJoCo
        self._qvel = self.data.qvel.reshape(n, 6 + j)
        self._ctrl = self.data.ctrl.reshape(n, j)
        self._perm = self.world.joint_perm
        self._slots = {name: i for i, name in enumerate(self.world.tracked_links)}
        self._num_slots = len(self._slots)
        self._foot_slots = np.array([self._slots[k] for k in self.robot.foot_links])
        self._term_slots = np.array([self._slots[k] for k in self.robot.termination_links])
        self._undesired_slots = np.array([self._slots[k] for k in self.robot.undesired_contact_links], dtype=int)
        self._scan_pattern = height_scan_pattern() if self.cfg.rough else np.zeros((0, 2))
        self._pyramidal = self.model.opt.cone == mujoco.mjtCone.mjCONE_PYRAMIDAL
        self._pyramid_rows = np.arange(4)
        assert (self.model.geom_condim[self.world.geom_slot >= 0] == 3).all()

    def _init_actuators(self) -> None:
        act = self.robot.actuator
        self._implicit = act.model is ActuatorModel.IMPLICIT_PD
        self._kp, self._kd = np.array(act.stiffness), np.array(act.damping)
        self._sat, self._effort = np.array(act.saturation_effort), np.array(act.effort_limit)
        self._vlim = np.array(act.velocity_limit)
        self._default = np.array(self.robot.default_joint_pos)
        self.soft_limits = np.array(self.robot.soft_joint_limits)

    def _init_buffers(self) -> None:
        n, j, f = self.num_envs, self.num_joints, len(self.robot.foot_links)
        self.action = np.zeros((n, j))
        self.prev_action = np.zeros((n, j))
        self.command = np.zeros((n, 3))
        self._heading_target = np.zeros(n)
        self._standing = np.zeros(n, dtype=bool)
        self._command_time_left = np.zeros(n)
        self._error_xy = np.zeros(n)
        self._error_yaw = np.zeros(n)
        self._metric_steps = np.zeros(n)
        self.episode_length = np.zeros(n, dtype=np.int64)
        self._terms = list(self.cfg.rewards)
        names = self.robot.joint_order
        self._term_joints = [np.array([names.index(q) for q in t.joints] or range(j)) for t in self._terms]
        self._episode_sums = np.zeros((n, len(self._terms)))
        self._force_hist = np.zeros((CONTACT_HISTORY, n, self._num_slots))
        self._hist_ptr = 0
        self.current_air_time = np.zeros((n, f))
        self.current_contact_time = np.zeros((n, f))
        self.last_air_time = np.zeros((n, f))
        self.last_contact_time = np.zeros((n, f))
        self._push_time_left = np.full(n, np.inf)
        self._unstable = np.zeros(n, dtype=bool)
        self.torque = np.zeros((n, j))
        self.joint_acc = np.zeros((n, j))
        self._needs_base_height = any(t.kind is RewardKind.BASE_HEIGHT_L2 for t in self._terms)
        self._noise = self._noise_scale()

    def _noise_scale(self) -> np.ndarray:
        """Per-column uniform noise half-width ``(obs_dim,)`` (0 for the command and last action)."""
        j = self.num_joints
        parts = [
            np.full(3, NOISE_LIN_VEL),
            np.full(3, NOISE_ANG_VEL),
            np.full(3, NOISE_GRAVITY),
            np.zeros(3),
            np.full(j, NOISE_JOINT_POS),
            np.full(j, NOISE_JOINT_VEL),
            np.zeros(j),
            np.full(len(self._scan_pattern), NOISE_HEIGHT_SCAN),
        ]
        return np.concatenate(parts)

    def _randomize_startup(self) -> None:
        """Startup events: base mass, extra masses (BD-X), base centre of mass."""
        ev, m, n = self.cfg.events, self.model, self.num_envs
        base = self.world.base_body
        if ev.base_mass_scale is not None:
            lo, hi = np.log(ev.base_mass_scale[0]), np.log(ev.base_mass_scale[1])
            scale = np.exp(self.rng.uniform(lo, hi, n))
            m.body_mass[base] *= scale
            m.body_inertia[base] *= scale[:, None]
        if ev.base_mass_add is not None:
            for link in ev.mass_links or (self.robot.base_link.name,):
                ids = self.world.mass_links[link]
                old = m.body_mass[ids].copy()
                m.body_mass[ids] = np.maximum(old + self.rng.uniform(*ev.base_mass_add, n), 1e-6)
                m.body_inertia[ids] *= (m.body_mass[ids] / old)[:, None]
        m.body_ipos[base] += self.rng.uniform(-1, 1, (n, 3)) * np.array(ev.base_com_range)
        mujoco.mj_setConst(m, self.data)
        self._com_offset = m.body_ipos[base].copy()  # (N, 3) base CoM in the base frame

    # ----------------------------------------------------------------------------------- state
    def _refresh_state(self) -> None:
        """Base kinematics of every robot from ``qpos``/``qvel`` (no ``mj_forward`` needed)."""
        qpos, qvel = self._qpos, self._qvel
        self.base_pos = qpos[:, 0:3].copy()
        self.base_quat = qpos[:, 3:7].copy()
        rot = quat_to_rot(self.base_quat)
        self._rot = rot
        self.ang_vel_b = qvel[:, 3:6].copy()  # MuJoCo: free-joint angular velocity is in the body frame
        omega_w = np.einsum("nij,nj->ni", rot, self.ang_vel_b)
        com_w = np.einsum("nij,nj->ni", rot, self._com_offset)
        v_com_w = qvel[:, 0:3] + np.cross(omega_w, com_w)  # Isaac Lab observes the CoM velocity
        self.lin_vel_b = np.einsum("nji,nj->ni", rot, v_com_w)
        self.projected_gravity = -rot[:, 2, :]  # R^T (0, 0, -1)
        self.heading = np.arctan2(rot[:, 1, 0], rot[:, 0, 0])
        self.q = qpos[:, 7:][:, self._perm]
        self.qd = qvel[:, 6:][:, self._perm]

    def _contact_forces(self) -> np.ndarray:
        """Net normal contact force on each tracked link ``(N, slots)`` for the current substep."""
        d = self.data
        size = self.num_envs * self._num_slots
        if not d.ncon:
            return np.zeros((self.num_envs, self._num_slots))
        contact = d.contact
        # MuJoCo orders a pair by geom type, so the robot geom may be either one (a foot sphere comes
        # before a border box, after the plane or heightfield); terrain geoms have slot -1.
        geom_slot = self.world.geom_slot
        geom = contact.geom
        slot = np.maximum(geom_slot[geom[:, 0]], geom_slot[geom[:, 1]])
        adr = contact.efc_address
        keep = (slot >= 0) & (adr >= 0)
        if self._pyramidal:
            # condim 3: four pyramid-edge rows; the normal force is their sum.
            normal = d.efc_force[adr[keep, None] + self._pyramid_rows].sum(axis=1)
        else:  # elliptic: the first row is the normal force
            normal = d.efc_force[adr[keep]]
        return np.bincount(slot[keep], weights=normal, minlength=size).reshape(self.num_envs, self._num_slots)

    def _sense_contacts(self, dt: float) -> None:
        """Contact sensor update after one substep: force history and the feet's air-time clocks."""
        forces = self._contact_forces()
        self._force_hist[self._hist_ptr] = forces
        self._hist_ptr = (self._hist_ptr + 1) % CONTACT_HISTORY
        contact = forces[:, self._foot_slots] > self.cfg.contact_threshold
        touchdown = contact & (self.current_air_time > 0)
        liftoff = ~contact & (self.current_contact_time > 0)
        self.last_air_time = np.where(touchdown, self.current_air_time + dt, self.last_air_time)
        self.last_contact_time = np.where(liftoff, self.current_contact_time + dt, self.last_contact_time)
        self.current_contact_time = np.where(contact, self.current_contact_time + dt, 0.0)
        self.current_air_time = np.where(contact, 0.0, self.current_air_time + dt)

    def _terrain_height(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.zeros_like(x) if self.terrain is None else self.terrain.height_at(x, y)

    def _scan_heights(self, rows: np.ndarray | slice) -> np.ndarray:
        """Terrain height under each ray ``(n, R)`` (yaw-aligned grid around the base)."""
        heading = self.heading[rows]
        c, s = np.cos(heading)[:, None], np.sin(heading)[:, None]
        ox, oy = self._scan_pattern[:, 0], self._scan_pattern[:, 1]
        px = self.base_pos[rows, 0:1] + c * ox - s * oy
        py = self.base_pos[rows, 1:2] + s * ox + c * oy
        return self._terrain_height(px, py)

    # ----------------------------------------------------------------------------------- API
    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every env; ``seed`` re-seeds the episode randomness.

        Returns:
            Observations ``(num_envs, obs_dim)`` float32 and extras (empty).
        """
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        ids = np.arange(self.num_envs)
        self._refresh_state()
        self._reset_idx(ids, update_curriculum=False)
        self._refresh_state()
        obs = self._observations(slice(None))
        self._last_obs = obs
        return obs, {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Advance every env by one control step (``decimation`` physics substeps).

        Args:
            actions: ``(num_envs, num_joints)`` in the task's own units (joint target =
                default + action_scale * action).

        Returns:
            ``(obs, reward, terminated, truncated, extras)``; finished envs are already reset, their
            last observation is in ``extras["final_obs"]`` and the episode logs in ``extras["log"]``.

        Raises:
            ValueError: If the actions have the wrong shape or contain NaN or inf.
        """
        a = np.asarray(actions, dtype=np.float64)
        if a.shape != (self.num_envs, self.num_joints):
            raise ValueError(f"actions of shape {a.shape}; expected ({self.num_envs}, {self.num_joints})")
        if not np.isfinite(a).all():
            raise ValueError("actions contain NaN or inf; the policy has diverged")
        self.prev_action = self.action
        self.action = a.copy()
        self._simulate(self._default + self.robot.action_scale * a)

        self.episode_length += 1
        hist_max = self._force_hist.max(axis=0)
        terminated = (hist_max[:, self._term_slots] > self.cfg.contact_threshold).any(axis=1) | self._unstable
        truncated = self.episode_length >= self.cfg.max_episode_length
        reward = self._rewards(hist_max, terminated)

        extras: dict[str, Any] = {}
        done = terminated | truncated
        if done.any():
            ids = np.flatnonzero(done)
            final = self._last_obs.copy()
            final[ids] = self._observations(ids)
            extras["final_obs"] = final
            extras["log"] = self._reset_idx(ids, terminated=terminated, truncated=truncated)
            if self._unstable.any():
                extras["log"]["sim/unstable_resets"] = float(self._unstable.sum())
                self._unstable[:] = False
            self._refresh_state()
        self._update_commands()
        if self._apply_pushes():
            self._refresh_state()
        obs = self._observations(slice(None))
        self._last_obs = obs
        return obs, reward.astype(np.float32), terminated, truncated, extras

    def close(self) -> None:
        """Nothing to release (MuJoCo frees its memory with the objects)."""

    # ----------------------------------------------------------------------------------- step parts
    def _simulate(self, target: np.ndarray) -> None:
        """``decimation`` substeps: actuator model, ``mj_step``, contact sensor."""
        dt = self.cfg.sim_dt
        if self._implicit:
            self._ctrl[:] = target
        for _ in range(self.cfg.decimation):
            qd_before = self._qvel[:, 6:][:, self._perm]
            if not self._implicit:
                q = self._qpos[:, 7:][:, self._perm]
                self.torque = dc_motor_torque(
                    target, q, qd_before, kp=self._kp, kd=self._kd, saturation=self._sat,
                    effort_limit=self._effort, velocity_limit=self._vlim,
                )  # fmt: skip
                self._ctrl[:] = self.torque
            mujoco.mj_step(self.model, self.data)
            if not np.abs(self.data.qvel).max() < _MAX_QVEL:  # also catches NaN
                self._recover_unstable()
            self._sense_contacts(dt)
        if self._implicit:
            self.torque = self.data.actuator_force.reshape(self.num_envs, self.num_joints).copy()
        self._refresh_state()
        self.joint_acc = (self.qd - qd_before) / dt  # finite difference over the last substep

    def _recover_unstable(self) -> None:
        """Put robots whose state went non-finite back at their spawn pose; they end their episode.

        Rare (once in ~20k random legacy-bound BD-X steps, measured), but one NaN robot must not
        poison the batch or, through MuJoCo's auto-reset, reset every other robot.
        """
        bad = ~(np.isfinite(self._qpos).all(axis=1) & (np.abs(self._qvel) < _MAX_QVEL).all(axis=1))
        ids = np.flatnonzero(bad)
        mj_q = np.empty((ids.size, self.num_joints))
        mj_q[:, self._perm] = self._default
        self._qpos[ids, 0:3] = self.env_origins[ids] + np.array([0.0, 0.0, self.robot.init_height])
        self._qpos[ids, 3:7] = (1.0, 0.0, 0.0, 0.0)
        self._qpos[ids, 7:] = mj_q
        self._qvel[ids] = 0.0
        self.data.qacc_warmstart[:] = np.nan_to_num(self.data.qacc_warmstart, nan=0.0, posinf=0.0, neginf=0.0)
        self._unstable[ids] = True
        warnings.warn(f"MuJoCo went unstable for envs {ids.tolist()}; reset them", RuntimeWarning, stacklevel=3)

    def _rewards(self, hist_max: np.ndarray, terminated: np.ndarray) -> np.ndarray:
        """Weighted sum of the terms times ``step_dt``; accumulates the episode sums."""
        ctx = self.reward_context(hist_max, terminated)
        reward = np.zeros(self.num_envs)
        for k, (term, idx) in enumerate(zip(self._terms, self._term_joints, strict=True)):
            if term.weight == 0.0:
                continue
            value = REWARD_FUNCTIONS[term.kind](ctx, term, idx) * (term.weight * self.cfg.step_dt)
            self._episode_sums[:, k] += value
            reward += value
        return reward

    def reward_context(self, hist_max: np.ndarray, terminated: np.ndarray) -> RewardContext:
        """What the reward terms read from the current state.

        ``benchmarks/fidelity.py`` fills that state from Isaac Lab's and compares the terms.

        Args:
            hist_max: ``(N, slots)`` largest contact force of each tracked link over the contact history.
            terminated: ``(N,)`` the step's terminations.
        """
        if self._needs_base_height:
            ground = self._scan_heights(slice(None)).mean(axis=1) if self.cfg.rough else np.zeros(self.num_envs)
            base_height = self.base_pos[:, 2] - ground
        else:
            base_height = self.base_pos[:, 2]
        first_contact = (self.current_contact_time > 0) & (
            self.current_contact_time < self.cfg.step_dt + _FIRST_CONTACT_TOLERANCE
        )
        return RewardContext(
            lin_vel_b=self.lin_vel_b,
            ang_vel_b=self.ang_vel_b,
            projected_gravity=self.projected_gravity,
            base_height=base_height,
            command=self.command,
            q=self.q,
            q_rel=self.q - self._default,
            torque=self.torque,
            joint_acc=self.joint_acc,
            action=self.action,
            prev_action=self.prev_action,
            soft_limits=self.soft_limits,
            first_contact=first_contact.astype(np.float64),
            last_air_time=self.last_air_time,
            current_air_time=self.current_air_time,
            current_contact_time=self.current_contact_time,
            undesired_force=hist_max[:, self._undesired_slots],
            terminated=terminated,
        )

    def _observations(self, rows: np.ndarray | slice) -> np.ndarray:
        """Policy observations ``(n, obs_dim)`` float32 with Isaac Lab's noise; scan clipped to [-1, 1]."""
        parts = [
            self.lin_vel_b[rows],
            self.ang_vel_b[rows],
            self.projected_gravity[rows],
            self.command[rows],
            self.q[rows] - self._default,
            self.qd[rows],
            self.action[rows],
        ]
        if self.cfg.rough:
            parts.append(self.base_pos[rows, 2:3] - self._scan_heights(rows) - HEIGHT_SCAN_OFFSET)
        obs = np.concatenate(parts, axis=1)
        if self.cfg.observation_noise:
            obs += self.rng.uniform(-1.0, 1.0, obs.shape) * self._noise
        if self.cfg.rough:
            scan = obs[:, -len(self._scan_pattern) :]
            np.clip(scan, -1.0, 1.0, out=scan)
        return obs.astype(np.float32)

    # ----------------------------------------------------------------------------------- resets
    def _reset_idx(
        self,
        ids: np.ndarray,
        update_curriculum: bool = True,
        terminated: np.ndarray | None = None,
        truncated: np.ndarray | None = None,
    ) -> dict[str, float]:
        """Reset ``ids``: curriculum (pre-reset state), logs, root and joint state, commands, sensors."""
        log: dict[str, float] = {}
        if self.terrain is not None:
            if update_curriculum:
                self._update_curriculum(ids)
            log[metrics.TERRAIN_LEVEL] = float(self.terrain_levels.mean())
        for k, term in enumerate(self._terms):
            log[f"episode_reward/{term.name}"] = float(self._episode_sums[ids, k].mean() / self.cfg.episode_length_s)
        if terminated is not None and truncated is not None:
            log["episode_termination/base_contact"] = float(terminated[ids].mean())
            log["episode_termination/time_out"] = float((truncated[ids] & ~terminated[ids]).mean())
        steps = np.maximum(self._metric_steps[ids], 1)
        log["metrics/error_vel_xy"] = float((self._error_xy[ids] / steps).mean())
        log["metrics/error_vel_yaw"] = float((self._error_yaw[ids] / steps).mean())

        self._reset_root(ids)
        self._reset_joints(ids)
        self._episode_sums[ids] = 0.0
        self.action[ids] = 0.0
        self.prev_action[ids] = 0.0
        self.episode_length[ids] = 0
        self._error_xy[ids] = self._error_yaw[ids] = self._metric_steps[ids] = 0.0
        self._force_hist[:, ids] = 0.0
        for clock in (
            self.current_air_time,
            self.current_contact_time,
            self.last_air_time,
            self.last_contact_time,
        ):
            clock[ids] = 0.0
        self._resample_commands(ids)
        if self.cfg.events.push_interval_s is not None:
            self._push_time_left[ids] = self.rng.uniform(*self.cfg.events.push_interval_s, len(ids))
        return log

    def _update_curriculum(self, ids: np.ndarray) -> None:
        """``terrain_levels_vel``: promote after half a cell, demote below half the commanded distance."""
        assert self.terrain is not None
        tcfg = self.terrain.cfg
        distance = np.linalg.norm(self.base_pos[ids, :2] - self.env_origins[ids, :2], axis=1)
        up = distance > tcfg.size / 2
        required = np.linalg.norm(self.command[ids, :2], axis=1) * self.cfg.episode_length_s * 0.5
        down = (distance < required) & ~up
        levels = self.terrain_levels[ids] + up.astype(np.int64) - down.astype(np.int64)
        # Robots that solved the last level go back to a random one (Isaac Lab's update_env_origins).
        levels = np.where(levels >= tcfg.num_rows, self.rng.integers(0, tcfg.num_rows, len(ids)), np.maximum(levels, 0))
        self.terrain_levels[ids] = levels
        self.env_origins[ids] = self.terrain.origins[levels, self.terrain_types[ids]]

    def _reset_root(self, ids: np.ndarray) -> None:
        """``reset_root_state_uniform``: xy and yaw around the origin, uniform CoM twist (world frame)."""
        ev, n = self.cfg.events, len(ids)
        pos = self.env_origins[ids].copy()
        pos[:, :2] += self.rng.uniform(-ev.reset_xy, ev.reset_xy, (n, 2))
        pos[:, 2] += self.robot.init_height
        quat = yaw_quat(self.rng.uniform(-ev.reset_yaw, ev.reset_yaw, n))
        twist = self.rng.uniform(-ev.reset_velocity, ev.reset_velocity, (n, 6))
        rot = quat_to_rot(quat)
        omega_w = twist[:, 3:]
        com_w = np.einsum("nij,nj->ni", rot, self._com_offset[ids])
        self._qpos[ids, 0:3] = pos
        self._qpos[ids, 3:7] = quat
        self._qvel[ids, 0:3] = twist[:, :3] - np.cross(omega_w, com_w)  # body-origin velocity
        self._qvel[ids, 3:6] = np.einsum("nji,nj->ni", rot, omega_w)  # body-frame angular velocity

    def _reset_joints(self, ids: np.ndarray) -> None:
        """``reset_joints_by_scale``: default * U(scale), clipped to the soft limits; zero velocity."""
        lo, hi = self.cfg.events.joint_pos_scale
        q = self._default * self.rng.uniform(lo, hi, (len(ids), self.num_joints))
        q = np.clip(q, self.soft_limits[:, 0], self.soft_limits[:, 1])
        mj_q = np.empty_like(q)
        mj_q[:, self._perm] = q
        self._qpos[ids, 7:] = mj_q
        self._qvel[ids, 6:] = 0.0
        if self._implicit:
            self._ctrl[ids] = q  # hold the reset pose until the next action

    def _resample_commands(self, ids: np.ndarray) -> None:
        c, n = self.cfg.commands, len(ids)
        self.command[ids, 0] = self.rng.uniform(*c.lin_vel_x, n)
        self.command[ids, 1] = self.rng.uniform(*c.lin_vel_y, n)
        self.command[ids, 2] = self.rng.uniform(*c.ang_vel_z, n)
        self._heading_target[ids] = self.rng.uniform(*c.heading, n)
        self._standing[ids] = self.rng.uniform(0.0, 1.0, n) <= c.rel_standing_envs
        self._command_time_left[ids] = c.resampling_time_s

    def _update_commands(self) -> None:
        """Metrics, resampling of expired commands, heading control, standing envs."""
        c = self.cfg.commands
        self._error_xy += np.linalg.norm(self.command[:, :2] - self.lin_vel_b[:, :2], axis=1)
        self._error_yaw += np.abs(self.command[:, 2] - self.ang_vel_b[:, 2])
        self._metric_steps += 1
        self._command_time_left -= self.cfg.step_dt
        expired = np.flatnonzero(self._command_time_left <= 0.0)
        if expired.size:
            self._resample_commands(expired)
        if c.heading_command:
            error = wrap_to_pi(self._heading_target - self.heading)
            self.command[:, 2] = np.clip(c.heading_stiffness * error, *c.ang_vel_z)
        self.command[self._standing] = 0.0

    def _apply_pushes(self) -> bool:
        """``push_by_setting_velocity`` every 10-15 s per env; returns whether any env was pushed."""
        ev = self.cfg.events
        if ev.push_interval_s is None:
            return False
        self._push_time_left -= self.cfg.step_dt
        ids = np.flatnonzero(self._push_time_left < 1e-6)
        if ids.size == 0:
            return False
        self._push_time_left[ids] = self.rng.uniform(*ev.push_interval_s, ids.size)
        self._qvel[ids, 0:2] += self.rng.uniform(-ev.push_velocity_xy, ev.push_velocity_xy, (ids.size, 2))
        return True
