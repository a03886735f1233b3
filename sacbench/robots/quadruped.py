"""Quadruped trees from one leg table: the front-left leg is described, the others are mirrors.

Both families here have hip abduction (axis x), hip flexion and knee (axis y) joints.  Left/right
legs are mirror images in y (so the abduction angle changes sign); ANYmal's hind legs are also
mirror images of its front legs in x (``mirror_hind_x``), Unitree's are not.
"""

from __future__ import annotations

from dataclasses import dataclass

from sacbench.robots.spec import GeomKind, GeomSpec, JointSpec, LinkSpec, Vec3

Range = tuple[float, float]


@dataclass(frozen=True)
class LegNames:
    """Name templates; ``{leg}`` is replaced by a leg prefix such as ``FL`` or ``LF``."""

    legs: tuple[str, str, str, str]
    """Leg prefixes in the model's (depth-first) order: front-left, front-right, hind-left, hind-right."""
    hip: str
    thigh: str
    calf: str
    foot: str
    hip_joint: str
    thigh_joint: str
    calf_joint: str


@dataclass(frozen=True)
class LegTable:
    """Geometry, masses, limits and standing pose of the front-left leg."""

    hip_pos: Vec3
    """Abduction joint in the base frame."""
    thigh_pos: Vec3
    """Flexion joint in the hip frame."""
    knee_pos: Vec3
    """Knee joint in the thigh frame (the thigh segment)."""
    foot_pos: Vec3
    """Foot sphere centre in the calf frame (the calf segment)."""
    hip_mass: float
    thigh_mass: float
    calf_mass: float
    foot_mass: float
    hip_radius: float
    thigh_radius: float
    calf_radius: float
    foot_radius: float
    hip_range: Range
    """Left legs; right legs get the mirrored range."""
    thigh_range: tuple[Range, Range]
    """(front, hind)."""
    calf_range: tuple[Range, Range]
    """(front, hind)."""
    hip_default: float
    """Left legs; right legs get the negated value."""
    thigh_default: tuple[float, float]
    """(front, hind)."""
    calf_default: tuple[float, float]
    """(front, hind)."""
    mirror_hind_x: bool


def _mirror(v: Vec3, flip_x: bool, flip_y: bool) -> Vec3:
    return (-v[0] if flip_x else v[0], -v[1] if flip_y else v[1], v[2])


def _shorten(v: Vec3, by: float) -> Vec3:
    """``v`` shortened by ``by``.

    The calf capsule stops where the foot sphere starts, so that a foot on the ground is one
    contact: a capsule reaching the foot centre would touch the ground too (and double the cost).
    """
    length = sum(c * c for c in v) ** 0.5
    k = max(length - by, 0.0) / length
    return (v[0] * k, v[1] * k, v[2] * k)


def quadruped_links(base: LinkSpec, names: LegNames, table: LegTable) -> tuple[LinkSpec, ...]:
    """The base followed by hip, thigh, calf and foot links of the four legs (depth-first)."""
    links = [base]
    for leg in names.legs:
        front = names.legs.index(leg) < 2
        left = names.legs.index(leg) % 2 == 0
        right = not left
        hind_x = (not front) and table.mirror_hind_x
        side = 0 if front else 1
        hip_range = table.hip_range if left else (-table.hip_range[1], -table.hip_range[0])
        hip_pos = (
            table.hip_pos[0] * (1 if front else -1),
            table.hip_pos[1] * (1 if left else -1),
            table.hip_pos[2],
        )
        knee = _mirror(table.knee_pos, hind_x, right)
        foot = _mirror(table.foot_pos, hind_x, right)
        fmt = {"leg": leg}
        hip = LinkSpec(
            name=names.hip.format(**fmt),
            parent=base.name,
            pos=hip_pos,
            joint=JointSpec(
                names.hip_joint.format(**fmt),
                (1.0, 0.0, 0.0),
                hip_range,
                table.hip_default if left else -table.hip_default,
            ),
            geoms=(GeomSpec(GeomKind.SPHERE, (table.hip_radius,), table.hip_mass, collide=False),),
        )
        thigh = LinkSpec(
            name=names.thigh.format(**fmt),
            parent=hip.name,
            pos=_mirror(table.thigh_pos, hind_x, right),
            joint=JointSpec(
                names.thigh_joint.format(**fmt),
                (0.0, 1.0, 0.0),
                table.thigh_range[side],
                table.thigh_default[side],
            ),
            geoms=(GeomSpec(GeomKind.CAPSULE, (table.thigh_radius,), table.thigh_mass, fromto=(0.0, 0.0, 0.0, *knee)),),
        )
        calf = LinkSpec(
            name=names.calf.format(**fmt),
            parent=thigh.name,
            pos=knee,
            joint=JointSpec(
                names.calf_joint.format(**fmt),
                (0.0, 1.0, 0.0),
                table.calf_range[side],
                table.calf_default[side],
            ),
            geoms=(
                GeomSpec(
                    GeomKind.CAPSULE,
                    (table.calf_radius,),
                    table.calf_mass,
                    fromto=(0.0, 0.0, 0.0, *_shorten(foot, table.foot_radius + table.calf_radius)),
                ),
            ),
        )
        foot_link = LinkSpec(
            name=names.foot.format(**fmt),
            parent=calf.name,
            pos=foot,
            geoms=(GeomSpec(GeomKind.SPHERE, (table.foot_radius,), table.foot_mass),),
        )
        links += [hip, thigh, calf, foot_link]
    return tuple(links)


def grouped_joint_order(names: LegNames, physx_legs: tuple[str, str, str, str]) -> tuple[str, ...]:
    """Isaac Lab's PhysX (breadth-first) order: all hips, then all thighs, then all calves.

    Args:
        names: Name templates.
        physx_legs: Leg prefixes in PhysX's sibling order (alphabetical: ``FL, FR, RL, RR`` for
            Unitree, ``LF, LH, RF, RH`` for ANYmal).
    """
    return tuple(
        template.format(leg=leg)
        for template in (names.hip_joint, names.thigh_joint, names.calf_joint)
        for leg in physx_legs
    )
