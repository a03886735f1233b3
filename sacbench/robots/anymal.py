"""ANYbotics ANYmal-B and ANYmal-C.

Isaac Lab facts from ``isaaclab_assets/robots/anymal.py`` and the velocity task configs of the
``isaaclab`` 3.0.0 wheel.  Isaac Lab drives ANYmal with an LSTM actuator network
(``anydrive_3_lstm_jit.pt``, not public).  Isaac Lab's own DC-motor stand-in,
``ANYDRIVE_3_SIMPLE_ACTUATOR_CFG`` (Kp 40, Kd 5), cannot hold the robot up in this mirror: with zero
action ANYmal-C sinks from 0.55 m to 0.20 m, its hips splayed to the joint limit (measured).  The
mirror keeps that config's DC-motor limits (saturation 120 N m, effort 80 N m, 7.5 rad/s) with the
plain-PD gains of legged_gym's ANYmal-C (Kp 80, Kd 2), under which it stands at 0.44 m.  Geometry and
masses from the legged_gym ANYmal URDFs and MuJoCo Menagerie.
"""

from __future__ import annotations

from sacbench.robots.quadruped import LegNames, LegTable, grouped_joint_order, quadruped_links
from sacbench.robots.spec import ActuatorModel, ActuatorSpec, GeomKind, GeomSpec, LinkSpec, RobotSpec

ANYMAL_LEGS = LegNames(
    legs=("LF", "RF", "LH", "RH"),
    hip="{leg}_HIP",
    thigh="{leg}_THIGH",
    calf="{leg}_SHANK",
    foot="{leg}_FOOT",
    hip_joint="{leg}_HAA",
    thigh_joint="{leg}_HFE",
    calf_joint="{leg}_KFE",
)
ANYMAL_JOINT_ORDER = grouped_joint_order(ANYMAL_LEGS, ("LF", "LH", "RF", "RH"))
"""PhysX order, as in Isaac Lab's test ``ANYMAL_C_PHYSX_JOINT_NAMES``: LF, LH, RF, RH per joint type."""

# ANYDRIVE_3_SIMPLE_ACTUATOR_CFG (Isaac Lab): DCMotorCfg(saturation_effort=120, effort_limit=80,
# velocity_limit=7.5, stiffness=40, damping=5); gains from legged_gym's anymal_c PD config instead.
ANYDRIVE_DC_MOTOR = ActuatorSpec(
    model=ActuatorModel.DC_MOTOR,
    stiffness=(80.0,) * 12,
    damping=(2.0,) * 12,
    effort_limit=(80.0,) * 12,
    saturation_effort=(120.0,) * 12,
    velocity_limit=(7.5,) * 12,
    armature=0.05,
)

# ANYMAL_*_CFG init_state.joint_pos: ".*HAA" 0.0, ".*F_HFE" 0.4, ".*H_HFE" -0.4, ".*F_KFE" -0.8,
# ".*H_KFE" 0.8.  HFE/KFE are continuous in the URDF (+-3 pi).
_UNLIMITED = (-9.42478, 9.42478)
_FEET = ("LF_FOOT", "RF_FOOT", "LH_FOOT", "RH_FOOT")
_THIGHS = ("LF_THIGH", "RF_THIGH", "LH_THIGH", "RH_THIGH")
_SOURCES = (
    "isaaclab 3.0.0: isaaclab_assets/robots/anymal.py (init_state, ANYDRIVE_3_SIMPLE_ACTUATOR_CFG)",
    "isaaclab 3.0.0: isaaclab_tasks/contrib/velocity/config/anymal_{b,c}/",
    "isaaclab 3.0.0: isaaclab/test/utils/articulation_ordering.py (PhysX joint order)",
)
_APPROX = (
    "actuator: Isaac Lab's default is the ANYdrive LSTM network (not public); here a DC motor with the"
    " limits of Isaac Lab's ANYDRIVE_3_SIMPLE_ACTUATOR_CFG (120/80 N m, 7.5 rad/s) and legged_gym's"
    " ANYmal-C PD gains (Kp 80, Kd 2), since that config's Kp 40, Kd 5 lets the robot sink to 0.20 m",
    "armature 0.05 kg m^2 per joint (USD value not public)",
    "link inertias from primitive geoms carrying the URDF link masses; hip spheres do not collide",
)

ANYMAL_B = RobotSpec(
    name="anymal_b",
    display_name="ANYmal-B",
    links=quadruped_links(
        LinkSpec(
            name="base",
            parent=None,
            pos=(0.0, 0.0, 0.0),
            geoms=(GeomSpec(GeomKind.BOX, (0.2655, 0.135, 0.12), 16.79, pos=(0.0, 0.0, 0.08)),),
        ),
        ANYMAL_LEGS,
        LegTable(
            hip_pos=(0.277, 0.116, 0.0),
            thigh_pos=(0.0635, 0.041, 0.0),
            knee_pos=(0.0, 0.109, -0.25),
            foot_pos=(0.1, -0.02, -0.298),
            hip_mass=1.425,
            thigh_mass=1.635,
            calf_mass=0.347,
            foot_mass=0.05,
            hip_radius=0.06,
            thigh_radius=0.04,
            calf_radius=0.03,
            foot_radius=0.031,
            hip_range=_UNLIMITED,
            thigh_range=(_UNLIMITED, _UNLIMITED),
            calf_range=(_UNLIMITED, _UNLIMITED),
            hip_default=0.0,
            thigh_default=(0.4, -0.4),
            calf_default=(-0.8, 0.8),
            mirror_hind_x=True,
        ),
    ),
    joint_order=ANYMAL_JOINT_ORDER,
    actuator=ANYDRIVE_DC_MOTOR,
    action_scale=0.5,
    soft_limit_factor=0.95,
    init_height=0.6,
    foot_links=_FEET,
    termination_links=("base",),
    undesired_contact_links=_THIGHS,
    sources=(
        *_SOURCES,
        "legged_gym resources/robots/anymal_b/urdf/anymal_b.urdf; Menagerie anybotics_anymal_b",
    ),
    approximations=(*_APPROX, "base mass 16.79 kg (URDF; Menagerie says 19.2 kg)"),
)

ANYMAL_C = RobotSpec(
    name="anymal_c",
    display_name="ANYmal-C",
    links=quadruped_links(
        LinkSpec(
            name="base",
            parent=None,
            pos=(0.0, 0.0, 0.0),
            geoms=(GeomSpec(GeomKind.BOX, (0.29, 0.11, 0.09), 26.2),),
        ),
        ANYMAL_LEGS,
        LegTable(
            hip_pos=(0.2999, 0.104, 0.0),
            thigh_pos=(0.0599, 0.08381, 0.0),
            knee_pos=(0.0, 0.1003, -0.285),
            foot_pos=(0.08795, 0.01305, -0.31547),
            hip_mass=2.781,
            thigh_mass=3.071,
            calf_mass=0.337,
            foot_mass=0.25,
            hip_radius=0.07,
            thigh_radius=0.045,
            calf_radius=0.03,
            foot_radius=0.03,
            # Left HAA: 0.49 rad outward, 0.72 rad inward (ANYbotics' simple description).
            hip_range=(-0.72, 0.49),
            thigh_range=(_UNLIMITED, _UNLIMITED),
            calf_range=(_UNLIMITED, _UNLIMITED),
            hip_default=0.0,
            thigh_default=(0.4, -0.4),
            calf_default=(-0.8, 0.8),
            mirror_hind_x=True,
        ),
    ),
    joint_order=ANYMAL_JOINT_ORDER,
    actuator=ANYDRIVE_DC_MOTOR,
    action_scale=0.5,
    soft_limit_factor=0.95,
    init_height=0.6,
    foot_links=_FEET,
    termination_links=("base",),
    undesired_contact_links=_THIGHS,
    sources=(
        *_SOURCES,
        "legged_gym resources/robots/anymal_c/urdf/anymal_c.urdf; Menagerie anybotics_anymal_c",
    ),
    approximations=(
        *_APPROX,
        "base: one box 0.58 x 0.22 x 0.18 m of 26.2 kg (URDF sum of the base and everything fixed to it)"
        " instead of the shell, battery and sensor meshes",
        "HAA limit signs mapped to the +x axis convention by hand",
    ),
)
