"""Unitree A1, Go1 and Go2.

Isaac Lab facts (pose, actuators, action scale, contact bodies) from ``isaaclab_assets/robots/
unitree.py`` and the velocity task configs of the ``isaaclab`` 3.0.0 wheel; link geometry and masses
from the public Unitree URDFs as mirrored in MuJoCo Menagerie (``unitree_a1``, ``unitree_go1``,
``unitree_go2``).  Isaac Lab's USD assets could not be read here: their inertias, armature and joint
friction are unknown, so those are approximations below.
"""

from __future__ import annotations

from sacbench.robots.quadruped import LegNames, LegTable, grouped_joint_order, quadruped_links
from sacbench.robots.spec import ActuatorModel, ActuatorSpec, GeomKind, GeomSpec, LinkSpec, RobotSpec

UNITREE_LEGS = LegNames(
    legs=("FL", "FR", "RL", "RR"),
    hip="{leg}_hip",
    thigh="{leg}_thigh",
    calf="{leg}_calf",
    foot="{leg}_foot",
    hip_joint="{leg}_hip_joint",
    thigh_joint="{leg}_thigh_joint",
    calf_joint="{leg}_calf_joint",
)
UNITREE_JOINT_ORDER = grouped_joint_order(UNITREE_LEGS, ("FL", "FR", "RL", "RR"))
"""PhysX order: hips FL, FR, RL, RR, then thighs, then calves (the order of the post's A1 bounds)."""

# Isaac Lab's UNITREE_*_CFG init_state.joint_pos: ".*L_hip_joint" 0.1, ".*R_hip_joint" -0.1,
# "F[L,R]_thigh_joint" 0.8, "R[L,R]_thigh_joint" 1.0, ".*_calf_joint" -1.5.
_HIP_DEFAULT = 0.1
_THIGH_DEFAULT = (0.8, 1.0)
_CALF_DEFAULT = (-1.5, -1.5)

_COMMON_SOURCES = (
    "isaaclab 3.0.0: isaaclab_assets/robots/unitree.py (init_state, actuators, soft limits)",
    "isaaclab 3.0.0: isaaclab_tasks/contrib/velocity/config/{a1,go1}/, core/velocity/config/go2/",
)
_COMMON_APPROX = (
    "link inertias: computed from primitive geoms carrying the URDF link masses",
    "thigh and calf capsule radii, hip sphere radius: chosen to match the link envelopes",
    "armature 0.01 kg m^2 on every joint: Isaac Lab takes it from the USD, which is not public",
)


def _per_joint(hip: float, thigh: float, calf: float) -> tuple[float, ...]:
    """Values in UNITREE_JOINT_ORDER (four hips, four thighs, four calves)."""
    return (hip,) * 4 + (thigh,) * 4 + (calf,) * 4


def _dc_motor(
    kp: float, kd: float, effort: tuple[float, float, float], vel: tuple[float, float, float]
) -> ActuatorSpec:
    return ActuatorSpec(
        model=ActuatorModel.DC_MOTOR,
        stiffness=(kp,) * 12,
        damping=(kd,) * 12,
        effort_limit=_per_joint(*effort),
        saturation_effort=_per_joint(*effort),
        velocity_limit=_per_joint(*vel),
        armature=0.01,
    )


A1 = RobotSpec(
    name="a1",
    display_name="Unitree A1",
    links=quadruped_links(
        LinkSpec(
            name="trunk",
            parent=None,
            pos=(0.0, 0.0, 0.0),
            geoms=(GeomSpec(GeomKind.BOX, (0.1335, 0.097, 0.057), 4.713),),
        ),
        UNITREE_LEGS,
        LegTable(
            hip_pos=(0.183, 0.047, 0.0),
            thigh_pos=(0.0, 0.08505, 0.0),
            knee_pos=(0.0, 0.0, -0.2),
            foot_pos=(0.0, 0.0, -0.2),
            hip_mass=0.696,
            thigh_mass=1.013,
            calf_mass=0.166,
            foot_mass=0.06,
            hip_radius=0.046,
            thigh_radius=0.022,
            calf_radius=0.013,
            foot_radius=0.02,
            hip_range=(-0.802851, 0.802851),
            thigh_range=((-1.0472, 4.18879), (-1.0472, 4.18879)),
            calf_range=((-2.69653, -0.916298), (-2.69653, -0.916298)),
            hip_default=_HIP_DEFAULT,
            thigh_default=_THIGH_DEFAULT,
            calf_default=_CALF_DEFAULT,
            mirror_hind_x=False,
        ),
    ),
    joint_order=UNITREE_JOINT_ORDER,
    # UNITREE_A1_CFG: DCMotorCfg(stiffness=25, damping=0.5, saturation_effort=33.5, effort_limit=33.5,
    # velocity_limit=21.0, friction=0.0)
    actuator=_dc_motor(25.0, 0.5, (33.5, 33.5, 33.5), (21.0, 21.0, 21.0)),
    action_scale=0.25,
    soft_limit_factor=0.9,
    init_height=0.42,
    foot_links=("FL_foot", "FR_foot", "RL_foot", "RR_foot"),
    termination_links=("trunk",),
    sources=(
        *_COMMON_SOURCES,
        "MuJoCo Menagerie unitree_a1/a1.xml = unitree_ros a1 URDF (geometry, masses, limits)",
    ),
    approximations=(
        *_COMMON_APPROX,
        "trunk collision box 0.267 x 0.194 x 0.114 m (URDF) instead of Menagerie's box + cylinders",
    ),
)

GO1 = RobotSpec(
    name="go1",
    display_name="Unitree Go1",
    links=quadruped_links(
        LinkSpec(
            name="trunk",
            parent=None,
            pos=(0.0, 0.0, 0.0),
            geoms=(GeomSpec(GeomKind.BOX, (0.1881, 0.04675, 0.057), 5.204),),
        ),
        UNITREE_LEGS,
        LegTable(
            hip_pos=(0.1881, 0.04675, 0.0),
            thigh_pos=(0.0, 0.08, 0.0),
            knee_pos=(0.0, 0.0, -0.213),
            foot_pos=(0.0, 0.0, -0.213),
            hip_mass=0.68,
            thigh_mass=1.009,
            calf_mass=0.1359,
            foot_mass=0.06,
            hip_radius=0.046,
            thigh_radius=0.022,
            calf_radius=0.013,
            foot_radius=0.023,
            hip_range=(-0.863, 0.863),
            thigh_range=((-0.686, 4.501), (-0.686, 4.501)),
            calf_range=((-2.818, -0.888), (-2.818, -0.888)),
            hip_default=_HIP_DEFAULT,
            thigh_default=_THIGH_DEFAULT,
            calf_default=_CALF_DEFAULT,
            mirror_hind_x=False,
        ),
    ),
    joint_order=UNITREE_JOINT_ORDER,
    # Isaac Lab drives Go1 with an MLP actuator net (unitree_go1.pt, from walk-these-ways) followed by
    # the DC-motor clip; the net is not public, so the mirror uses the A1/Go2 DC-motor PD gains.
    actuator=_dc_motor(25.0, 0.5, (23.7, 23.7, 35.55), (30.1, 30.1, 20.06)),
    action_scale=0.25,
    soft_limit_factor=0.9,
    init_height=0.4,
    foot_links=("FL_foot", "FR_foot", "RL_foot", "RR_foot"),
    termination_links=("trunk",),
    sources=(*_COMMON_SOURCES, "MuJoCo Menagerie unitree_go1/go1.xml = unitree_ros go1 URDF"),
    approximations=(
        *_COMMON_APPROX,
        "actuator: Isaac Lab's Go1 uses an MLP actuator network (not public); here DC-motor PD Kp 25, Kd 0.5"
        " with Isaac Lab's Go1 effort (23.7/23.7/35.55 N m) and velocity (30.1/30.1/20.06 rad/s) limits",
        "calf mass 0.1959 kg split into calf 0.1359 + foot 0.06",
    ),
)

GO2 = RobotSpec(
    name="go2",
    display_name="Unitree Go2",
    links=quadruped_links(
        LinkSpec(
            name="base",
            parent=None,
            pos=(0.0, 0.0, 0.0),
            geoms=(GeomSpec(GeomKind.BOX, (0.1881, 0.04675, 0.057), 6.921),),
        ),
        UNITREE_LEGS,
        LegTable(
            hip_pos=(0.1934, 0.0465, 0.0),
            thigh_pos=(0.0, 0.0955, 0.0),
            knee_pos=(0.0, 0.0, -0.213),
            foot_pos=(0.0, 0.0, -0.213),
            hip_mass=0.678,
            thigh_mass=1.152,
            calf_mass=0.1814,
            foot_mass=0.06,
            hip_radius=0.046,
            thigh_radius=0.024,
            calf_radius=0.014,
            foot_radius=0.022,
            hip_range=(-1.0472, 1.0472),
            thigh_range=((-1.5708, 3.4907), (-0.5236, 4.5379)),
            calf_range=((-2.7227, -0.83776), (-2.7227, -0.83776)),
            hip_default=_HIP_DEFAULT,
            thigh_default=_THIGH_DEFAULT,
            calf_default=_CALF_DEFAULT,
            mirror_hind_x=False,
        ),
    ),
    joint_order=UNITREE_JOINT_ORDER,
    # UNITREE_GO2_CFG: DCMotorCfg(stiffness=25, damping=0.5); hip/thigh 23.7 N m, 30.1 rad/s;
    # calf 45.43 N m, 15.70 rad/s (an extra 1.92:1 reduction on the knee).
    actuator=_dc_motor(25.0, 0.5, (23.7, 23.7, 45.43), (30.1, 30.1, 15.70)),
    action_scale=0.25,
    soft_limit_factor=0.9,
    init_height=0.4,
    foot_links=("FL_foot", "FR_foot", "RL_foot", "RR_foot"),
    termination_links=("base",),
    sources=(*_COMMON_SOURCES, "MuJoCo Menagerie unitree_go2/go2.xml"),
    approximations=(
        *_COMMON_APPROX,
        "joint order: Isaac Lab 3.0 runs Go2 on Newton (depth-first order); the mirror uses the PhysX"
        " grouped order of the other Unitree robots",
        "calf mass 0.2414 kg split into calf 0.1814 + foot 0.06; head cylinder omitted",
    ),
)
