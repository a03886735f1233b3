"""The post's recipes as presets, at the paper's GPU scale and at a derived CPU scale.

Every value comes from ``shared/reference/sac-massive-sim-blogpost.md`` (cited per preset) or from
Isaac Lab's own agent configs.  Unspecified SAC values are SBX's defaults, as in the post.

CPU scale (`to_cpu_scale`): the embedded backend simulates ~10-20k env-steps/s on one core, and
SBX SAC does ~70-130 gradient steps/s with the post's networks there (measured), against a GPU's
thousands.  The rule, applied to every preset unless it defines its CPU scale itself:

- envs / 16 (1024 -> 64, 2048 -> 128, 4096 -> 256);
- every hidden layer half as wide (at least 64), the critics' too; batch half as large (at least 128);
- replay buffer / 4 (at least 100k transitions);
- gradient steps scaled with the envs so that the replay ratio
  ``gradient_steps / (num_envs * train_freq)`` stays the same; where that is less than one step
  per ``train_freq`` (FastSAC: 0.25, SBX's defaults: 0.0625), one step taken ``train_freq`` times
  less often instead;
- PPO keeps its rollout length and minibatch count (so its batch shrinks with the envs);
- every other hyperparameter unchanged.
"""

from __future__ import annotations

import enum
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sacbench.bounds import JOINT_LIMITS, LEGACY, PERCENTILE, UNIT, ActionBounds, BoundsMode


class Algo(enum.StrEnum):
    """Learning algorithms (implementation library in the name)."""

    SBX_SAC = "sbx_sac"
    SBX_TQC = "sbx_tqc"
    SBX_PPO = "sbx_ppo"
    SB3_PPO = "sb3_ppo"

    @property
    def off_policy(self) -> bool:
        """SAC and TQC."""
        return self in (Algo.SBX_SAC, Algo.SBX_TQC)

    @property
    def jax(self) -> bool:
        """Whether the algorithm is SBX (JIT-compiled on first use)."""
        return self is not Algo.SB3_PPO


class Scale(enum.StrEnum):
    """Which hyperparameters a run uses; a report always names its scale."""

    GPU = "gpu"
    CPU = "cpu"


class Activation(enum.StrEnum):
    """Hidden-layer activations."""

    RELU = "relu"
    ELU = "elu"
    TANH = "tanh"
    SWISH = "swish"
    """SiLU, ``x * sigmoid(x)`` (RSL-RL-SAC's "swish")."""


class Optimizer(enum.StrEnum):
    """Optimizers (optax for SBX, torch for SB3)."""

    ADAM = "adam"
    ADAMW = "adamw"


@dataclass(frozen=True)
class EntropyCoef:
    """SAC's entropy coefficient: learned from ``init`` (SB3's ``"auto_<init>"``), or fixed."""

    init: float = 1.0
    learned: bool = True

    def to_sb3(self) -> str | float:
        """The value SB3/SBX expect for ``ent_coef``."""
        return f"auto_{self.init}" if self.learned else self.init


@dataclass(frozen=True)
class LinearSchedule:
    """A learning rate going linearly from ``start`` to ``end``.

    Over the first ``end_fraction`` of the run's budget: SB3's ``get_linear_fn``, driven by the
    wall-clock budget rather than by a number of steps.
    """

    start: float
    end: float
    end_fraction: float

    def __call__(self, progress_remaining: float) -> float:
        """SB3's schedule signature: ``progress_remaining`` goes from 1 to 0."""
        progress = 1.0 - progress_remaining
        if progress >= self.end_fraction:
            return self.end
        return self.start + progress * (self.end - self.start) / self.end_fraction


LearningRate = float | LinearSchedule


MAX_INIT_STD = math.exp(2.0)
"""The largest standard deviation SBX's actors allow (their log-std is clipped to [-20, 2])."""


@dataclass(frozen=True)
class OffPolicyParams:
    """SAC / TQC hyperparameters (SBX names; defaults are SBX's)."""

    num_envs: int
    net_arch: tuple[int, ...] = (256, 256)
    activation: Activation = Activation.RELU
    layer_norm: bool = False
    optimizer: Optimizer = Optimizer.ADAM
    learning_rate: LearningRate = 3e-4
    buffer_size: int = 1_000_000
    learning_starts: int = 100
    batch_size: int = 256
    tau: float = 0.005
    gamma: float = 0.99
    train_freq: int = 1
    gradient_steps: int = 1
    policy_delay: int = 1
    n_steps: int = 1
    """n-step returns."""
    ent_coef: EntropyCoef = EntropyCoef()
    use_sde: bool = False
    """gSDE: SBX resamples the noise once per rollout of ``train_freq`` steps."""
    top_quantiles_to_drop_per_net: int = 2
    """TQC only."""
    normalize_obs: bool = True
    """Observation normalisation (SB3 ``VecNormalize``, clip 10)."""
    critic_net_arch: tuple[int, ...] | None = None
    """The critics' hidden widths; ``None``: the actor's (``net_arch``)."""
    weight_decay: float | None = None
    """AdamW's decoupled weight decay; ``None``: optax's default (1e-4).  Only with AdamW."""
    max_grad_norm: float | None = None
    """Clip each network's gradients to this global norm before the optimizer; ``None``: no clipping
    (SBX's default).  Per optimizer state: the actor, the critic ensemble (TQC: each critic apart);
    the entropy coefficient's own optimizer is never clipped."""
    init_std: float | None = None
    """The actor's initial standard deviation (before tanh), the same in every state, with a mean
    head started near zero (RSL-RL-SAC's initialisation); ``None``: SBX's init (flax's defaults give
    a state-dependent standard deviation around 1)."""
    target_entropy_scale: float = 1.0
    """Target entropy = -scale x action dimensions (1.0: SBX's ``"auto"``; RSL-RL-SAC: 0.167)."""
    entropy_in_box_units: bool = False
    """Whether the target is meant for the entropy of the actions in the agent's box, as RSL-RL-SAC
    measures it (its log-probabilities include ``-sum(log(half-widths))`` of the box), rather than
    in SBX's squashed ``[-1, 1]`` space; then the target SBX gets is lowered by
    ``sum(log(half-widths))`` (about 17.9 on A1's joint-limits box)."""
    timeout_bootstrap: bool = True
    """Bootstrap from the final observation when the time limit cuts an episode (SB3's
    ``handle_timeout_termination``); ``False`` treats time-outs as terminations (an ablation)."""

    def __post_init__(self) -> None:
        if self.weight_decay is not None and self.optimizer is not Optimizer.ADAMW:
            raise ValueError(
                f"weight_decay={self.weight_decay} needs optimizer='adamw' (got {self.optimizer.value!r});"
                " drop weight_decay or set optimizer='adamw'"
            )
        for name in ("weight_decay", "max_grad_norm", "init_std", "target_entropy_scale"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name}={value!r}: must be a positive number")
        if self.init_std is not None and not self.init_std <= MAX_INIT_STD:
            raise ValueError(
                f"init_std={self.init_std}: SBX clips the log-std to at most 2, so the std must be in"
                f" (0, {MAX_INIT_STD:.2f}]"
            )

    @property
    def replay_ratio(self) -> float:
        """``gradient_steps / (num_envs * train_freq)``: gradient steps per collected transition."""
        return self.gradient_steps / (self.num_envs * self.train_freq)


@dataclass(frozen=True)
class OnPolicyParams:
    """PPO hyperparameters (SB3 names)."""

    num_envs: int
    net_arch: tuple[int, ...] = (64, 64)
    activation: Activation = Activation.TANH
    learning_rate: LearningRate = 3e-4
    n_steps: int = 2048
    """Rollout length per env."""
    n_minibatches: int = 32
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    log_std_init: float = 0.0
    ortho_init: bool = False
    """SB3: orthogonal init of every layer (action layer gain 0.01). SBX: the actor's last layer
    orthogonal with scale 0.01 and zero bias, so that the initial actions are near zero (the
    post's appendix fix)."""
    optimizer_eps: float = 1e-5
    normalize_obs: bool = True
    clip_obs: float = 10.0

    @property
    def batch_size(self) -> int:
        """Minibatch size: ``n_steps * num_envs / n_minibatches`` (Isaac Lab's ``n_minibatches``)."""
        return max(1, self.n_steps * self.num_envs // self.n_minibatches)

    @property
    def replay_ratio(self) -> None:
        """Not defined for on-policy algorithms."""
        return None


AlgoParams = OffPolicyParams | OnPolicyParams


def _halve(widths: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(max(64, w // 2) for w in widths)


def to_cpu_scale(params: AlgoParams) -> AlgoParams:
    """The documented GPU -> CPU rule (module docstring)."""
    num_envs = max(16, params.num_envs // 16)
    if isinstance(params, OnPolicyParams):
        return replace(params, num_envs=num_envs, net_arch=_halve(params.net_arch))
    critic = params.critic_net_arch
    train_freq, gradient_steps = _same_replay_ratio(params.replay_ratio, num_envs, params.train_freq)
    return replace(
        params,
        num_envs=num_envs,
        net_arch=_halve(params.net_arch),
        critic_net_arch=_halve(critic) if critic is not None else None,
        batch_size=max(128, params.batch_size // 2),
        buffer_size=max(100_000, params.buffer_size // 4),
        train_freq=train_freq,
        gradient_steps=gradient_steps,
    )


def _same_replay_ratio(ratio: float, num_envs: int, train_freq: int) -> tuple[int, int]:
    """``(train_freq, gradient_steps)`` giving ``ratio`` gradient steps per transition at ``num_envs``.

    Whole gradient steps per ``train_freq`` vectorised steps, rounded (RSL-RL-SAC: 12.5 -> 12); below
    one, a single step every ``train_freq / exact`` steps, so the ratio is kept rather than raised to
    one step per ``train_freq`` (FastSAC's 4 steps per 4096 transitions would become 1 per 256).
    """
    exact = ratio * num_envs * train_freq
    if exact >= 1:
        return train_freq, round(exact)
    return max(train_freq, round(train_freq / exact)), 1


@dataclass(frozen=True)
class Preset:
    """A named recipe: algorithm, action bounds, and hyperparameters at both scales."""

    name: str
    algo: Algo
    bounds: ActionBounds
    gpu: AlgoParams | None
    """The paper's settings (``None`` for CPU-only recipes)."""
    cpu: AlgoParams
    source: str
    """Where the values come from (section of the post, or Isaac Lab file)."""
    learns: bool = True
    """Whether the recipe is expected to learn; negative controls set ``False``."""

    def has_scale(self, scale: Scale) -> bool:
        """Whether the preset defines hyperparameters at ``scale`` (CPU-only recipes have no GPU scale)."""
        return scale is Scale.CPU or self.gpu is not None

    def wall_clock_schedules(self, scale: Scale) -> tuple[str, ...]:
        """What of the recipe follows the wall-clock budget: ``learning-rate schedule``, ``action-space schedule``.

        A run with such a schedule learns differently at another speed (its schedule moves on the
        clock, not on samples), so its learning fingerprints are not expected to match a slower run's.
        """
        found = []
        if isinstance(self.params(scale).learning_rate, LinearSchedule):
            found.append("learning-rate schedule")
        if self.bounds.ramp_fraction > 0:
            found.append("action-space schedule")
        return tuple(found)

    def params(self, scale: Scale) -> AlgoParams:
        """Hyperparameters at ``scale``.

        Raises:
            ValueError: If the preset has no such scale.
        """
        if scale is Scale.GPU:
            if self.gpu is None:
                raise ValueError(f"preset {self.name!r} has no GPU scale; use scale='cpu'")
            return self.gpu
        return self.cpu


def derived(
    name: str, algo: Algo, bounds: ActionBounds, gpu: AlgoParams, source: str, *, learns: bool = True
) -> Preset:
    """A preset whose CPU scale follows `to_cpu_scale`."""
    return Preset(name, algo, bounds, gpu, to_cpu_scale(gpu), source, learns=learns)


# --- SAC ------------------------------------------------------------------------------------------

SAC_DEFAULT_GPU = OffPolicyParams(num_envs=1024)
"""SBX's defaults plus observation normalisation ("SAC and TQC, with default hyperparameters (and
observation normalization) ... didn't work")."""

SAC_QUICKFIX_GPU = OffPolicyParams(
    num_envs=2048,
    net_arch=(512, 256, 128),
    activation=Activation.ELU,
    # "When using 2048 envs, gradient_steps=512 corresponds to an update-to-data ratio of 1/4"
    gradient_steps=512,
    ent_coef=EntropyCoef(init=0.006),
)

SAC_TUNED_GPU = OffPolicyParams(
    num_envs=1024,
    net_arch=(512, 256, 128),
    activation=Activation.ELU,
    layer_norm=True,
    optimizer=Optimizer.ADAMW,
    learning_rate=0.00044689099625712413,
    buffer_size=2_000_000,
    learning_starts=2000,
    batch_size=512,
    tau=0.0023055560568780655,
    gamma=0.983100250213744,
    train_freq=1,
    gradient_steps=32,
    policy_delay=8,
    ent_coef=EntropyCoef(init=0.009471776840423638),
)

SAC_TUNED_ROUGH_GPU = replace(SAC_TUNED_GPU, train_freq=10, gradient_steps=320, use_sde=True, n_steps=3)

# --- The 2026 off-policy recipes --------------------------------------------------------------------

RSL_RL_SAC_GPU = OffPolicyParams(
    num_envs=4096,  # not set by the agent configs: Isaac Lab's velocity default
    net_arch=(1024, 512, 256),
    activation=Activation.SWISH,
    layer_norm=False,
    optimizer=Optimizer.ADAM,
    learning_rate=2e-4,  # actor and critic; the entropy coefficient's 2e-5 cannot be set apart in SBX
    buffer_size=5_000_000,
    learning_starts=24 * 4096,  # start_training: one iteration of 24 steps
    batch_size=8192,
    tau=0.003,
    gamma=0.97,
    train_freq=24,  # num_steps_per_env
    gradient_steps=200,  # num_mini_batches per iteration
    policy_delay=1,
    n_steps=5,
    ent_coef=EntropyCoef(init=0.001),
    normalize_obs=True,
    max_grad_norm=1.0,
    init_std=0.15,
    target_entropy_scale=0.167,
    entropy_in_box_units=True,
    timeout_bootstrap=True,
)
"""RSL-RL-SAC's shared velocity-task configuration (ETH, arXiv 2605.24975; its IsaacLab fork's
``config/<robot>/agents/rsl_rl_sac_cfg.py``, read at glmzsemanur/IsaacLab@e2a08885, anymal_d: the
rough settings every robot shares but for the widths; its flat override, gamma 0.96 and
512-256-128, is not applied).  Algorithm: leggedrobotics/rsl_rl_sac@e0d243aa (``algorithms/sac.py``,
``models/sac_mlp_model.py``), read through its vendored copy in jordibelp/isaaclab-solo@00841541."""

FAST_SAC_GPU = OffPolicyParams(
    num_envs=4096,
    net_arch=(512, 256, 128),
    critic_net_arch=(1024, 512, 256),
    activation=Activation.RELU,
    optimizer=Optimizer.ADAMW,
    weight_decay=0.1,
    learning_rate=3e-4,
    buffer_size=5_120 * 4096,  # its rough value (flat: 10,240 per env, 79 GB of host RAM on rough)
    learning_starts=10 * 4096,  # 10 vectorised steps
    batch_size=32_768,
    tau=0.1,
    gamma=0.99,
    train_freq=1,
    gradient_steps=4,  # num_updates per env step
    policy_delay=2,  # policy_frequency
    n_steps=8,
    ent_coef=EntropyCoef(init=0.001),
    normalize_obs=True,
    init_std=0.22,  # its log-std head maps ~0 at init to log(std) = -1.5
)
"""FastSAC's Isaac Lab velocity settings (younggyoseo/FastTD3, branch ``fastsac``@09b0554,
``fast_sac/hyperparams.py``: ``IsaacLabArgs`` and the H1/G1 velocity classes, L345-413; actor and
critic in ``fast_sac/fast_sac.py``).  Its README says it was only tested on CheetahRun and
WalkerRun and never tuned; these are FastTD3's Isaac Lab values carried over."""


def _per_iteration_warmup(gpu: OffPolicyParams) -> OffPolicyParams:
    """The CPU scale of `to_cpu_scale`, with the warm-up kept in vectorised steps.

    Both recipes count their warm-up in iterations or env steps, not transitions; kept in
    transitions, the rule's warm-up would idle a 2-minute run.
    """
    cpu = to_cpu_scale(gpu)
    assert isinstance(cpu, OffPolicyParams)
    return replace(cpu, learning_starts=gpu.learning_starts * cpu.num_envs // gpu.num_envs)


# --- PPO ------------------------------------------------------------------------------------------

PPO_ISAACLAB_GPU = OnPolicyParams(
    num_envs=4096,
    net_arch=(512, 256, 128),
    activation=Activation.ELU,
    learning_rate=1e-3,
    n_steps=24,
    n_minibatches=4,
    n_epochs=5,
    gamma=0.99,
    gae_lambda=0.95,
    clip_range=0.2,
    ent_coef=0.005,
    vf_coef=1.0,
    max_grad_norm=1.0,
    ortho_init=False,
    optimizer_eps=1e-8,
    normalize_obs=True,
    clip_obs=10.0,
)
"""Isaac Lab's ``config/a1/agents/sb3_ppo_cfg.yaml`` (the only SB3 config of the velocity tasks)."""

_POST = "shared/reference/sac-massive-sim-blogpost.md"
_RSL = "RSL-RL-SAC (leggedrobotics/rsl_rl_sac; arXiv 2605.24975)"


def _newer_recipes() -> tuple[Preset, ...]:
    """RSL-RL-SAC with its four fixes, one ablation per fix, and FastSAC (`RSL_RL_SAC_GPU`, `FAST_SAC_GPU`)."""

    def rsl(name: str, bounds: ActionBounds, gpu: OffPolicyParams, what: str) -> Preset:
        return Preset(name, Algo.SBX_SAC, bounds, gpu, _per_iteration_warmup(gpu), f"{_RSL}: {what}")

    fast_cpu = replace(_per_iteration_warmup(FAST_SAC_GPU), buffer_size=2_000_000)
    return (
        rsl(
            "rsl_rl_sac", JOINT_LIMITS, RSL_RL_SAC_GPU,
            "its four fixes (joint-limit bounds, initial std 0.15, time-out bootstrapping, 5-step returns)"
            " and shared velocity config; not reproduced: the entropy coefficient's own rate (2e-5; SBX uses"
            " the actor's), the flat override (gamma 0.96, 512-256-128)",
        ),
        rsl(
            "rsl_rl_sac_unit_box", UNIT, RSL_RL_SAC_GPU,
            "ablation: [-1, 1] (Isaac Lab 3.0's SB3 box) instead of the joint limits",
        ),
        rsl(
            "rsl_rl_sac_sbx_std", JOINT_LIMITS, replace(RSL_RL_SAC_GPU, init_std=None),
            "ablation: SBX's initial std instead of 0.15",
        ),
        rsl(
            "rsl_rl_sac_no_timeout", JOINT_LIMITS, replace(RSL_RL_SAC_GPU, timeout_bootstrap=False),
            "ablation: time-outs treated as terminations (no bootstrapping)",
        ),
        rsl(
            "rsl_rl_sac_1step", JOINT_LIMITS, replace(RSL_RL_SAC_GPU, n_steps=1),
            "ablation: 1-step returns instead of 5",
        ),
        Preset(
            "fast_sac", Algo.SBX_SAC, UNIT, FAST_SAC_GPU, fast_cpu,
            "FastSAC (younggyoseo/FastTD3@09b0554, fast_sac/hyperparams.py, Isaac velocity args): 4096 envs,"
            " batch 32768, 8-step returns, [-1, 1] actions, its rough buffer (5,120 per env) on every terrain;"
            " CPU scale by the rule, but a 2 M buffer (the rule's 5.2 M would reserve 10 GB for rough"
            " observations; a 2-minute run collects < 0.5 M); not reproduced: bf16, torch.compile, its"
            " tanh-mapped log-std (only its initial value, 0.22), its mean head's initial scale (0.01; here"
            " RSL-RL-SAC's 1e-3)",
        ),
    )  # fmt: skip


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        derived(
            "sac_default", Algo.SBX_SAC, LEGACY, SAC_DEFAULT_GPU,
            f"{_POST}, 'The Hunt Begins': SBX defaults + observation normalisation, legacy bounds",
            learns=False,
        ),
        derived(
            "sac_quickfix", Algo.SBX_SAC, ActionBounds(BoundsMode.FRACTION, fraction=0.03), SAC_QUICKFIX_GPU,
            f"{_POST}, 'Quick Fix': 3 % of the action space, PPO-like network, ent_coef auto_0.006",
        ),
        derived(
            "sac_tuned", Algo.SBX_SAC, PERCENTILE, SAC_TUNED_GPU,
            f"{_POST}, 'Optimization Result - Tuned Hyperparameters' + PPO-percentile bounds",
        ),
        derived(
            "sac_tuned_legacy", Algo.SBX_SAC, LEGACY, SAC_TUNED_GPU,
            "negative control: the tuned recipe with the legacy [-100, 100] bounds",
            learns=False,
        ),
        derived(
            "sac_tuned_rough", Algo.SBX_SAC, PERCENTILE, SAC_TUNED_ROUGH_GPU,
            f"{_POST}, 'Improving Exploration and Performance': + train_freq 10, 320 gradient steps,"
            " gSDE, n_steps 3",
        ),
        derived(
            "tqc_tuned", Algo.SBX_TQC, PERCENTILE, SAC_TUNED_GPU,
            f"{_POST}: TQC with the tuned SAC hyperparameters (top 2 quantiles dropped per net)",
        ),
        derived(
            "ppo_sb3", Algo.SB3_PPO, LEGACY, PPO_ISAACLAB_GPU,
            "isaaclab_tasks/contrib/velocity/config/a1/agents/sb3_ppo_cfg.yaml (Isaac Lab's tuned SB3 PPO)",
        ),
        derived(
            "ppo_sbx", Algo.SBX_PPO, LEGACY, replace(PPO_ISAACLAB_GPU, ortho_init=True),
            f"{_POST}, 'Appendix: SB3 PPO vs. SBX PPO': SBX PPO with the last-layer initialisation fix",
        ),
        derived(
            "ppo_sbx_nofix", Algo.SBX_PPO, LEGACY, PPO_ISAACLAB_GPU,
            f"{_POST}, 'Appendix: SB3 PPO vs. SBX PPO': SBX PPO before the fix (default last layer)",
        ),
        *_newer_recipes(),
        derived(
            "sac_tuned_unit", Algo.SBX_SAC, UNIT, SAC_TUNED_GPU,
            "ablation: the tuned recipe in Isaac Lab 3.0's default [-1, 1] box",
        ),
        derived(
            "sac_tuned_lr_schedule", Algo.SBX_SAC, PERCENTILE,
            replace(SAC_TUNED_GPU, learning_rate=LinearSchedule(start=5e-4, end=1e-5, end_fraction=0.15)),
            f"{_POST}, 'En Vrac': linear schedule 5e-4 -> 1e-5 over the first 15 % (of the budget here)",
        ),
        derived(
            "sac_tuned_action_schedule", Algo.SBX_SAC,
            ActionBounds(BoundsMode.PERCENTILE, start_scale=0.25, ramp_fraction=0.5), SAC_TUNED_GPU,
            f"{_POST}, 'En Vrac': action-space schedule; the post gives no numbers: sacbench starts at a quarter"
            " of the percentile box and reaches it at half the budget",
        ),
    )
}  # fmt: skip


DEFAULT_MATRIX: dict[str, tuple[str, ...]] = {
    "flat": ("sac_tuned", "sac_tuned_legacy", "ppo_sb3"),
    "rough": ("sac_tuned_rough", "ppo_sb3"),
}
"""The presets a benchmark session runs by default, per terrain: the post's claims, nothing more.

Flat: the bound effect (the tuned SAC learns in the PPO-percentile box; the same SAC in the legacy
[-100, 100] box must not: `sac_tuned_legacy`, the negative control) and SAC against PPO.  Rough:
the rough recipe (gSDE, 3-step returns) against PPO, with the terrain curriculum.  Every other
preset (ablations, the post's other variants) runs with ``--sacbench-presets all`` or by name."""


@dataclass(frozen=True)
class Suite:
    """A named benchmark session: its presets per terrain and its default budget per scale."""

    name: str
    presets: dict[str, tuple[str, ...]]
    """Per terrain (``flat``, ``rough``); a terrain with none has no item."""
    budget_s: dict[Scale, float]
    """Training wall-clock per run, compile excluded, by scale (``--sacbench-budget`` overrides it)."""
    doc: str


SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in (
        Suite(
            "nightly", DEFAULT_MATRIX, {Scale.CPU: 120.0, Scale.GPU: 300.0},
            "the default matrix at the nightly budget (the post's 5 minutes on a GPU, 2 minutes on the mirror)",
        ),
        Suite(
            "curriculum", {"flat": (), "rough": ("sac_tuned_rough",)}, {Scale.CPU: 1800.0, Scale.GPU: 1800.0},
            "the post's rough recipe long enough for the terrain curriculum to climb: on the mirror, levels rise"
            " from 21-25 minutes (reports/reference/curriculum/anymal_c-rough); the GPU budget is the same 30"
            " minutes, not a measured figure",
        ),
    )
}  # fmt: skip
"""``--sacbench-suite``: ``nightly`` (the default) or ``curriculum`` (the terrain-curriculum tier)."""


class UnknownPresetError(LookupError):
    """A preset name that is not registered."""


def get_preset(name: str | Preset) -> Preset:
    """Look a preset up by name, or load a preset file (``*.yaml``).

    Raises:
        UnknownPresetError: Listing the valid names and the closest one.
        PresetFileError: For a preset file that fails validation.
    """
    if isinstance(name, Preset):
        return name
    if name in PRESETS:
        return PRESETS[name]
    if name.endswith((".yaml", ".yml")):
        return load_preset_file(Path(name))
    import difflib

    close = difflib.get_close_matches(name, PRESETS, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnknownPresetError(f"unknown preset {name!r}.{hint} Valid presets: {', '.join(PRESETS)}")


# --- preset files (safe YAML) ---------------------------------------------------------------------

PRESET_SCHEMA_VERSION = 1


class PresetFileError(ValueError):
    """A preset file that fails validation; the message names the file and the field."""


def _convert(value: Any, hint: Any, where: str) -> Any:  # noqa: PLR0911, PLR0912 (a type switch)
    """A YAML value checked and converted to a params field's type."""
    optional = typing.get_args(hint)
    if type(None) in optional:
        if value is None:
            return None
        (inner,) = (arg for arg in optional if arg is not type(None))
        return _convert(value, inner, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise PresetFileError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PresetFileError(f"{where} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PresetFileError(f"{where} must be a number, got {value!r}")
        return float(value)
    if hint == tuple[int, ...]:
        if not isinstance(value, list) or not value or not all(isinstance(v, int) and v > 0 for v in value):
            raise PresetFileError(f"{where} must be a list of positive layer widths, got {value!r}")
        return tuple(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise PresetFileError(f"{where} is {value!r}; expected one of {[m.value for m in hint]}") from None
    if hint is EntropyCoef:
        return _from_mapping(EntropyCoef, value, where)
    if hint == LearningRate:
        if isinstance(value, dict):
            return _from_mapping(LinearSchedule, value, where)
        return _convert(value, float, where)
    raise PresetFileError(f"{where}: unsupported field type {hint}")  # pragma: no cover - internal


def _from_mapping(cls: type[Any], raw: Any, where: str) -> Any:
    """Build a frozen dataclass from a mapping, refusing unknown keys (listing the known ones)."""
    if not isinstance(raw, dict):
        raise PresetFileError(f"{where} must be a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise PresetFileError(f"{where}: unknown field(s) {unknown}; known: {known}")
    return cls(**{k: _convert(v, hints[k], f"{where}.{k}") for k, v in raw.items()})


def coerce_overrides(params: AlgoParams, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` checked against the fields of ``params`` and converted to their types.

    Values may be typed already (``EntropyCoef(0.01)``) or plain JSON/YAML data (``{"init": 0.01}``,
    ``[128, 128]`` for a tuple, ``"elu"`` for an enum).

    Raises:
        ValueError: Naming an unknown field (listing the known ones) or a value of the wrong type.
    """
    hints = typing.get_type_hints(type(params))
    known = sorted(hints)
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {unknown}; fields: {known}")
    out = {}
    for key, value in overrides.items():
        current = getattr(params, key)
        typed = isinstance(value, type(current)) and not (isinstance(value, bool) and not isinstance(current, bool))
        if isinstance(current, float) and isinstance(value, LinearSchedule):
            typed = True
        out[key] = value if typed else _convert(list(value) if isinstance(value, tuple) else value, hints[key], key)
    return out


def _params_to_dict(params: AlgoParams) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(params):
        value = getattr(params, f.name)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, EntropyCoef | LinearSchedule):
            value = {g.name: getattr(value, g.name) for g in fields(value)}
        out[f.name] = value
    return out


def preset_to_dict(preset: Preset) -> dict[str, Any]:
    """The preset as a preset-file mapping (every hyperparameter written out)."""
    bounds: dict[str, Any] = {"mode": preset.bounds.mode.value}
    if preset.bounds.fraction is not None:
        bounds["fraction"] = preset.bounds.fraction
    if preset.bounds.ramp_fraction > 0:
        bounds.update(start_scale=preset.bounds.start_scale, ramp_fraction=preset.bounds.ramp_fraction)
    return {
        "schema_version": PRESET_SCHEMA_VERSION,
        "name": preset.name,
        "algo": preset.algo.value,
        "bounds": bounds,
        "source": preset.source,
        "learns": preset.learns,
        "gpu": _params_to_dict(preset.gpu) if preset.gpu is not None else None,
        "cpu": _params_to_dict(preset.cpu),
    }


def preset_from_dict(raw: Any, where: str = "preset") -> Preset:
    """Validate a decoded preset file.

    Raises:
        PresetFileError: Naming the bad field.
    """
    if not isinstance(raw, dict):
        raise PresetFileError(f"{where}: expected a mapping")
    known = {"schema_version", "name", "algo", "bounds", "source", "learns", "gpu", "cpu"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PresetFileError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
    if raw.get("schema_version") != PRESET_SCHEMA_VERSION:
        raise PresetFileError(
            f"{where}: schema_version is {raw.get('schema_version')!r}; expected {PRESET_SCHEMA_VERSION}"
        )
    for key in ("name", "algo", "source"):
        if not isinstance(raw.get(key), str):
            raise PresetFileError(f"{where}: field {key!r} must be a string, got {raw.get(key)!r}")
    algo = _convert(raw["algo"], Algo, f"{where}: field 'algo'")
    params_cls: type[Any] = OffPolicyParams if algo.off_policy else OnPolicyParams
    bounds_raw = raw.get("bounds", {"mode": "legacy"})
    bound_keys = {"mode", "fraction", "start_scale", "ramp_fraction"}
    if not isinstance(bounds_raw, dict) or set(bounds_raw) - bound_keys:
        raise PresetFileError(f"{where}: field 'bounds' must be a mapping with keys among {sorted(bound_keys)}")
    mode = _convert(bounds_raw.get("mode"), BoundsMode, f"{where}: field 'bounds.mode'")
    try:
        bounds = ActionBounds(
            mode,
            bounds_raw.get("fraction"),
            start_scale=float(bounds_raw.get("start_scale", 1.0)),
            ramp_fraction=float(bounds_raw.get("ramp_fraction", 0.0)),
        )
    except (TypeError, ValueError) as exc:
        raise PresetFileError(f"{where}: field 'bounds': {exc}") from None
    if raw.get("cpu") is None:
        raise PresetFileError(f"{where}: field 'cpu' (the CPU-scale hyperparameters) is required")
    cpu = _from_mapping(params_cls, raw["cpu"], f"{where}: field 'cpu'")
    gpu = _from_mapping(params_cls, raw["gpu"], f"{where}: field 'gpu'") if raw.get("gpu") is not None else None
    learns = raw.get("learns", True)
    if not isinstance(learns, bool):
        raise PresetFileError(f"{where}: field 'learns' must be true or false")
    return Preset(raw["name"], algo, bounds, gpu, cpu, raw["source"], learns=learns)


def load_preset_file(path: Path) -> Preset:
    """Read a preset file with ``yaml.safe_load`` (data only, never code) and validate it.

    Raises:
        PresetFileError: Naming the file and the bad field.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PresetFileError(f"{path}: cannot read preset file: {exc}") from exc
    return preset_from_dict(raw, where=str(path))


def write_preset_file(preset: Preset, path: Path) -> Path:
    """Write a preset file (YAML, keys in field order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(preset_to_dict(preset), sort_keys=False), encoding="utf-8")
    return path


def _packaged_presets() -> dict[str, Preset]:
    """Presets shipped as files in ``sacbench/data/presets/`` (results of ``sacbench tune``)."""
    folder = Path(str(resources.files("sacbench") / "data" / "presets"))
    loaded = [load_preset_file(p) for p in sorted(folder.glob("*.yaml"))] if folder.is_dir() else []
    return {p.name: p for p in loaded}


PRESETS.update(_packaged_presets())
