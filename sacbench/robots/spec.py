"""The shape of a robot's table of facts.

A robot is data: a kinematic tree of links made of primitive geoms, the joint order of Isaac Lab's
task, the actuator model and its gains, and which bodies the task's contact terms look at.  The
MuJoCo builder (`sacbench.sim.mujoco.model`) turns a `RobotSpec` into a model; nothing here
behaves.  Every table lists its sources and, separately, which of its numbers are approximations.

Conventions: lengths in metres, masses in kilograms, angles in radians, MuJoCo frames (z up, x
forward).  A link's ``pos`` is its frame origin in the parent's frame with all joints at zero.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

Vec3 = tuple[float, float, float]


class GeomKind(enum.StrEnum):
    """Primitive shapes (MuJoCo semantics for ``size``)."""

    BOX = "box"
    """``size`` = half extents (x, y, z)."""
    SPHERE = "sphere"
    """``size`` = (radius,)."""
    CAPSULE = "capsule"
    """``size`` = (radius,); the segment is given by ``fromto``."""
    CYLINDER = "cylinder"
    """``size`` = (radius,); the axis segment is given by ``fromto``."""


@dataclass(frozen=True)
class GeomSpec:
    """One primitive geom of a link."""

    kind: GeomKind
    size: tuple[float, ...]
    mass: float
    """Mass carried by this geom; a link's mass, CoM and inertia are the sum over its geoms."""
    pos: Vec3 = (0.0, 0.0, 0.0)
    fromto: tuple[float, float, float, float, float, float] | None = None
    collide: bool = True
    """Whether the geom touches the terrain (robots never collide with each other or themselves)."""


@dataclass(frozen=True)
class JointSpec:
    """A hinge joint between a link and its parent."""

    name: str
    axis: Vec3
    range: tuple[float, float]
    """Hard position limits, enforced by the solver."""
    default: float
    """Isaac Lab's ``init_state.joint_pos``: the standing pose, and the action offset."""


@dataclass(frozen=True)
class LinkSpec:
    """A rigid body: the floating base when ``parent`` is ``None``, else hinged (or welded) to it."""

    name: str
    parent: str | None
    pos: Vec3
    geoms: tuple[GeomSpec, ...]
    joint: JointSpec | None = None
    """``None`` welds the link to its parent (a foot body, say)."""

    @property
    def mass(self) -> float:
        """Total mass of the link's geoms."""
        return sum(g.mass for g in self.geoms)


class ActuatorModel(enum.StrEnum):
    """How joint position targets become torques (Isaac Lab's actuator classes)."""

    DC_MOTOR = "dc_motor"
    """Explicit PD every physics step, clipped by a torque-speed curve (Isaac Lab ``DCMotorCfg``)."""
    IMPLICIT_PD = "implicit_pd"
    """PD inside the physics solver, effort-clipped (Isaac Lab ``ImplicitActuatorCfg``)."""


@dataclass(frozen=True)
class ActuatorSpec:
    """Per-joint actuator gains and limits, in the task's joint order."""

    model: ActuatorModel
    stiffness: tuple[float, ...]
    damping: tuple[float, ...]
    effort_limit: tuple[float, ...]
    """Isaac Lab ``effort_limit``: the torque clip (N m)."""
    saturation_effort: tuple[float, ...]
    """Stall torque of the DC motor's torque-speed line (N m); unused by implicit PD."""
    velocity_limit: tuple[float, ...]
    """Speed at which the DC motor's torque reaches zero (rad/s); unused by implicit PD."""
    armature: float
    """Reflected rotor inertia added to every joint (kg m^2)."""


@dataclass(frozen=True)
class RobotSpec:
    """Everything the mirror needs to know about one robot."""

    name: str
    """Registry name (``a1``, ``go1``, ...)."""
    display_name: str
    links: tuple[LinkSpec, ...]
    """Parents before children; the first link is the floating base."""
    joint_order: tuple[str, ...]
    """Isaac Lab's joint order (PhysX, breadth-first), which actions and observations follow."""
    actuator: ActuatorSpec
    action_scale: float
    """Joint target = default + action_scale * action (Isaac Lab ``JointPositionActionCfg.scale``)."""
    soft_limit_factor: float
    """Isaac Lab ``soft_joint_pos_limit_factor`` (reward and reset clamp, never the solver)."""
    init_height: float
    """Root height above the spawn origin at reset (Isaac Lab ``init_state.pos`` z)."""
    foot_links: tuple[str, ...]
    """Bodies whose air time the task rewards."""
    termination_links: tuple[str, ...]
    """Bodies whose contact with the ground ends the episode ("base contact")."""
    undesired_contact_links: tuple[str, ...] = ()
    """Bodies penalised for touching the ground (ANYmal thighs)."""
    sources: tuple[str, ...] = ()
    approximations: tuple[str, ...] = field(default=())
    """Facts that are not public or could not be checked, and the value chosen instead."""

    @property
    def num_joints(self) -> int:
        """Number of actuated joints (the action dimension)."""
        return len(self.joint_order)

    @property
    def base_link(self) -> LinkSpec:
        """The floating base."""
        return self.links[0]

    @property
    def joints(self) -> dict[str, JointSpec]:
        """Joint specs by name."""
        return {link.joint.name: link.joint for link in self.links if link.joint is not None}

    @property
    def default_joint_pos(self) -> tuple[float, ...]:
        """Standing pose in the task's joint order."""
        joints = self.joints
        return tuple(joints[name].default for name in self.joint_order)

    @property
    def joint_limits(self) -> tuple[tuple[float, float], ...]:
        """Hard limits in the task's joint order."""
        joints = self.joints
        return tuple(joints[name].range for name in self.joint_order)

    @property
    def soft_joint_limits(self) -> tuple[tuple[float, float], ...]:
        """Soft limits in the task's joint order: the range shrunk about its middle by `soft_limit_factor`.

        Isaac Lab's ``soft_joint_pos_limits`` (isaaclab 3.0.0: ``compute_soft_joint_pos_limits_func``
        in isaaclab_physx/assets/articulation/kernels.py and isaaclab_newton's).
        """
        soft = []
        for low, high in self.joint_limits:
            middle, half = (low + high) / 2, (high - low) / 2 * self.soft_limit_factor
            soft.append((middle - half, middle + half))
        return tuple(soft)

    @property
    def total_mass(self) -> float:
        """Sum of all link masses."""
        return sum(link.mass for link in self.links)

    def __post_init__(self) -> None:
        names = [link.name for link in self.links]
        if self.links[0].parent is not None:
            raise ValueError(f"{self.name}: the first link must be the floating base (parent=None)")
        seen: set[str] = set()
        for link in self.links:
            if link.parent is not None and link.parent not in seen:
                raise ValueError(f"{self.name}: link {link.name!r} comes before its parent {link.parent!r}")
            seen.add(link.name)
        joints = self.joints
        if sorted(joints) != sorted(self.joint_order):
            raise ValueError(f"{self.name}: joint_order {self.joint_order} != joints of the links {sorted(joints)}")
        for per_joint in ("stiffness", "damping", "effort_limit", "saturation_effort", "velocity_limit"):
            if len(getattr(self.actuator, per_joint)) != self.num_joints:
                raise ValueError(f"{self.name}: actuator.{per_joint} needs {self.num_joints} values")
        for body in (*self.foot_links, *self.termination_links, *self.undesired_contact_links):
            if body not in names:
                raise ValueError(f"{self.name}: contact body {body!r} is not a link; links: {names}")
