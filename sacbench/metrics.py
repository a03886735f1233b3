"""Metric keys of run records, curve rows, baselines and reports: one name per quantity.

Keys are ``/``-namespaced like SB3's logger (``eval/...`` from the deterministic evaluation,
``train/...`` from training, ``curriculum/...`` from the task's ``extras["log"]``, ``actions/...``
from the evaluated actions, ``recorded_actions/...`` from `sacbench.bounds.ActionRecorder`).
Every module reads and writes these constants, never the strings, so a renamed metric cannot leave
one reader behind.
"""

from __future__ import annotations

# --- deterministic evaluation (sacbench.train.evaluate) ------------------------------------------
EVAL_EPISODES = "eval/episodes"
EVAL_RETURN = "eval/episode_return"
"""The headline metric: mean undiscounted return of the evaluation episodes."""
EVAL_RETURN_STD = "eval/episode_return_std"
EVAL_LENGTH = "eval/episode_length"
"""Mean length of the evaluation episodes, in env steps: survival (an episode ends early in a fall).
Not gated; on flat terrain the thresholds floor it (`sacbench.thresholds.rule_metrics`)."""
EVAL_FALL_RATE = "eval/fall_rate"
EVAL_PROTOCOL = "eval/protocol"
"""How the evaluation was made (`sacbench.train.EVAL_PROTOCOL`); records without it are protocol 1."""
EVAL_TERRAIN_LEVEL = "eval/terrain_level"
"""Mean terrain level the env logged at the evaluation's last episode end (rough tasks; the
evaluation runs on the training env, so its robots start where the curriculum had them)."""

# --- training ---------------------------------------------------------------------------------------
ENV_STEPS = "train/env_steps"
GRAD_STEPS = "train/grad_steps"
REPLAY_RATIO = "train/replay_ratio"
ENV_FPS = "train/env_fps"
GRAD_STEPS_PER_S = "train/grad_steps_per_s"
CPU_SHARE = "timing/cpu_share"
"""CPU-seconds per wall-clock second of a run (`sacbench.records.Timing.cpu_share`); baselines keep it per seed."""
TRAIN_EPISODES = "train/episodes"
TRAIN_RETURN = "train/episode_return"
TRAIN_FALL_RATE = "train/fall_rate"

# --- the task's curriculum (Isaac Lab's ``Curriculum/terrain_levels``, translated) ---------------
TERRAIN_LEVEL = "curriculum/terrain_level"
"""The mean level of the robots at the last reset before training stopped: one reading, which moves
by one robot's share at every promotion or demotion (by a third at once when robots that started
together time out together), so it is described, not gated."""
TERRAIN_LEVEL_LATE = "curriculum/terrain_level_late"
"""The mean of the terrain levels the training curve logged over its last `LATE_SHARE` of training
time: the level the gate and the thresholds read (`sacbench.records.late_terrain_level`)."""
LATE_SHARE = 0.1
"""The share of training a late level averages: 12 s (3 curve rows) of a 2-minute run, 3 minutes
(37 rows) of the 30-minute curriculum tier, where one healthy seed's end readings span 0-0.14 over
its last 3 minutes and their mean is 0.055 (``python benchmarks/level_floor.py``)."""
LEVEL_METRICS = (TERRAIN_LEVEL, TERRAIN_LEVEL_LATE)
"""Metrics counted in terrain levels (their scale is the number of levels; no value is below 0)."""

# --- actions of the evaluated policy --------------------------------------------------------------
ACTIONS_P2_5 = "actions/p2.5"
ACTIONS_P50 = "actions/p50"
ACTIONS_P97_5 = "actions/p97.5"
ACTIONS_AT_BOUNDS = "actions/at_bounds"
ACTIONS_AT_BOUNDS_PER_JOINT = "actions/at_bounds_per_joint"

# --- actions recorded during training (sacbench bounds) -------------------------------------------
RECORDED_SAMPLES = "recorded_actions/samples"
RECORDED_SEEN = "recorded_actions/seen"
RECORDED_PERCENTILES = "recorded_actions/percentiles"
RECORDED_QUANTILES = "recorded_actions/quantiles"
RECORDED_AT_BOUNDS_PER_JOINT = "recorded_actions/at_bounds_per_joint"
RECORDED_HISTOGRAM = "recorded_actions/histogram"

# --- SB3/SBX logger keys the runner copies into curve rows ----------------------------------------
AGENT_LOG_KEYS = (
    "train/ent_coef",
    "train/critic_loss",
    "train/actor_loss",
    "train/value_loss",
    "train/std",
    "train/learning_rate",  # SB3 PPO: the rate it just set on its optimizer
    "train/learning_rate_actor",  # SBX: the rate it just injected into the actor's optax state
)
