"""Disney BD-X, the bipedal character robot (community model).

BD-X is not part of Isaac Lab.  The task and actuator facts come from the public Isaac Lab port by
Louis Le Lay (``louislelay/disney_bdx_rl_isaaclab``; read through its sibling
``louislelay/bdx_nao_rl_isaaclab``, ``source/disney_bdx/disney_bdx/robots/disney.py``), the geometry
and masses from the community's reverse-engineered description (``rimim/AWD`` ``go_bdx.xml`` =
``louislelay/Disney-BDX-USD-Description`` ``bdx.urdf``).  Disney has published the kinematic
structure (5 DoF per leg, a 4 DoF neck and head, 2 antennas; Grandia et al., RSS 2024) but not the
masses or actuator data, so much of this table is a plausible community estimate.
"""

from __future__ import annotations

from sacbench.robots.spec import (
    ActuatorModel,
    ActuatorSpec,
    GeomKind,
    GeomSpec,
    JointSpec,
    LinkSpec,
    RobotSpec,
    Vec3,
)

_LIMIT = (-0.7853982, 0.7853982)  # every BD-X joint: +-45 degrees (URDF)
_X, _Y, _Z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
_NEG_Y, _NEG_Z = (0.0, -1.0, 0.0), (0.0, 0.0, -1.0)


def _side(v: Vec3, left: bool) -> Vec3:
    return v if left else (v[0], -v[1], v[2])


def _axis(axis: Vec3, left: bool) -> Vec3:
    """Pitch axes flip between the legs in the URDF (left +y, right -y for the hip pitch)."""
    return axis if left else (axis[0], -axis[1], axis[2])


def _leg(left: bool) -> tuple[LinkSpec, ...]:
    s = "left" if left else "right"
    knee = (-0.079306, 0.0, -0.077708)
    ankle = _side((0.045, -0.0152, -0.13), left)
    return (
        LinkSpec(
            f"{s}_hip_rotation",
            "pelvis",
            _side((-0.033111, 0.046658, 0.363959), left),
            geoms=(GeomSpec(GeomKind.SPHERE, (0.035,), 0.633, collide=False),),
            joint=JointSpec(f"{s}_hip_yaw", _NEG_Z, _LIMIT, 0.0),
        ),
        LinkSpec(
            f"{s}_hip",
            f"{s}_hip_rotation",
            _side((-0.0073, 0.00275, -0.076), left),
            geoms=(GeomSpec(GeomKind.SPHERE, (0.035,), 0.633, collide=False),),
            joint=JointSpec(f"{s}_hip_roll", _X, _LIMIT, 0.0),
        ),
        LinkSpec(
            f"{s}_thigh",
            f"{s}_hip",
            _side((0.017466, 0.069601, 0.000785), left),
            geoms=(GeomSpec(GeomKind.CAPSULE, (0.03,), 0.633, fromto=(0.0, 0.0, 0.0, *knee)),),
            joint=JointSpec(f"{s}_hip_pitch", _axis(_Y, left), _LIMIT, 0.0),
        ),
        LinkSpec(
            f"{s}_shin",
            f"{s}_thigh",
            knee,
            geoms=(GeomSpec(GeomKind.CAPSULE, (0.025,), 0.633, fromto=(0.0, 0.0, 0.0, *ankle)),),
            joint=JointSpec(f"{s}_knee", _axis(_NEG_Y, left), _LIMIT, 0.0),
        ),
        LinkSpec(
            f"{s}_foot_link",
            f"{s}_shin",
            ankle,
            # Sole 12 x 6 cm, bottom 7.85 cm below the ankle (the URDF's sole frame).
            geoms=(GeomSpec(GeomKind.BOX, (0.06, 0.03, 0.0085), 0.678, pos=(0.025, 0.0, -0.07)),),
            joint=JointSpec(f"{s}_ankle", _axis(_Y, left), _LIMIT, 0.0),
        ),
    )


_HEAD = (
    LinkSpec(
        "neck",
        "pelvis",
        (0.056339, 0.0119, 0.395171),
        geoms=(GeomSpec(GeomKind.CAPSULE, (0.03,), 0.633, fromto=(0.0, 0.0, 0.0, -0.065, -0.012, 0.111)),),
        joint=JointSpec("neck_pitch", _NEG_Y, _LIMIT, 0.0),
    ),
    LinkSpec(
        "head_body_pitch",
        "neck",
        (-0.065022, -0.01175, 0.11088),
        geoms=(GeomSpec(GeomKind.SPHERE, (0.03,), 0.2, collide=False),),
        joint=JointSpec("head_pitch", _NEG_Y, _LIMIT, 0.0),
    ),
    LinkSpec(
        "head_body_yaw",
        "head_body_pitch",
        (0.000299, 0.0007, 0.02897),
        geoms=(GeomSpec(GeomKind.SPHERE, (0.03,), 0.2, collide=False),),
        joint=JointSpec("head_yaw", _Z, _LIMIT, 0.0),
    ),
    LinkSpec(
        "head_body_roll",
        "head_body_yaw",
        (0.039892, 0.0, 0.02715),
        geoms=(GeomSpec(GeomKind.BOX, (0.1, 0.075, 0.05), 0.4, pos=(-0.06, 0.0, 0.0)),),
        joint=JointSpec("head_roll", _X, _LIMIT, 0.0),
    ),
    LinkSpec(
        "ear_left",
        "head_body_roll",
        (-0.16665, 0.0683, 0.001231),
        geoms=(GeomSpec(GeomKind.CAPSULE, (0.01,), 0.0964, fromto=(0.0, 0.0, 0.0, -0.02, 0.01, 0.08)),),
        joint=JointSpec("left_antenna", _NEG_Y, _LIMIT, 0.0),
    ),
    LinkSpec(
        "ear_right",
        "head_body_roll",
        (-0.16665, -0.0697, 0.001231),
        geoms=(GeomSpec(GeomKind.CAPSULE, (0.01,), 0.0964, fromto=(0.0, 0.0, 0.0, -0.02, -0.01, 0.08)),),
        joint=JointSpec("right_antenna", _NEG_Y, _LIMIT, 0.0),
    ),
)

_PELVIS = LinkSpec(
    "pelvis",
    None,
    (0.0, 0.0, 0.0),
    # The pelvis frame sits at ground level (Isaac Lab init pos z = 0); the body is ~0.34 m above it.
    geoms=(GeomSpec(GeomKind.BOX, (0.14, 0.09, 0.065), 5.713, pos=(-0.05, 0.0, 0.36)),),
)

# Predicted PhysX (breadth-first) order: the children of the pelvis (left leg, neck, right leg)
# level by level.  The real order of the Isaac Lab port is not published.
BDX_JOINT_ORDER = (
    "left_hip_yaw", "neck_pitch", "right_hip_yaw",
    "left_hip_roll", "head_pitch", "right_hip_roll",
    "left_hip_pitch", "head_yaw", "right_hip_pitch",
    "left_knee", "head_roll", "right_knee",
    "left_ankle", "left_antenna", "right_antenna", "right_ankle",
)  # fmt: skip

# The port's base_contact bodies: "pelvis, .*_shin, .*_thigh, .*_hip, .*_hip_rotation, ear_.*,
# head_body_roll, head_body_yaw, head_body_pitch, neck".
_TERMINATION_LINKS = (
    "pelvis", "left_shin", "right_shin", "left_thigh", "right_thigh", "left_hip", "right_hip",
    "left_hip_rotation", "right_hip_rotation", "ear_left", "ear_right",
    "head_body_roll", "head_body_yaw", "head_body_pitch", "neck",
)  # fmt: skip

_GAINS = {  # joint -> (Kp, Kd, effort limit N m) from disney.py and the URDF
    "hip_yaw": (100.0, 3.0, 23.7),
    "hip_roll": (80.0, 3.0, 23.7),
    "hip_pitch": (120.0, 6.0, 23.7),
    "knee": (200.0, 6.0, 23.7),
    "ankle": (200.0, 6.0, 23.7),
    "neck_pitch": (20.0, 1.0, 23.7),
    "head_pitch": (20.0, 1.0, 7.3),
    "head_yaw": (20.0, 1.0, 7.3),
    "head_roll": (20.0, 1.0, 7.3),
    "antenna": (20.0, 1.0, 0.2943),
}


def _gain(joint: str, column: int) -> float:
    key = joint.removeprefix("left_").removeprefix("right_")
    return _GAINS[key][column]


BDX = RobotSpec(
    name="bdx",
    display_name="Disney BD-X",
    links=(_PELVIS, *_leg(left=True), *_HEAD, *_leg(left=False)),
    joint_order=BDX_JOINT_ORDER,
    actuator=ActuatorSpec(
        model=ActuatorModel.IMPLICIT_PD,
        stiffness=tuple(_gain(j, 0) for j in BDX_JOINT_ORDER),
        damping=tuple(_gain(j, 1) for j in BDX_JOINT_ORDER),
        effort_limit=tuple(_gain(j, 2) for j in BDX_JOINT_ORDER),
        saturation_effort=tuple(_gain(j, 2) for j in BDX_JOINT_ORDER),
        velocity_limit=(30.0,) * len(BDX_JOINT_ORDER),
        armature=0.01,
    ),
    action_scale=0.5,
    soft_limit_factor=0.95,
    init_height=0.0,
    foot_links=("left_foot_link", "right_foot_link"),
    termination_links=_TERMINATION_LINKS,
    sources=(
        "louislelay/bdx_nao_rl_isaaclab: source/disney_bdx/disney_bdx/robots/disney.py (gains, pose)",
        "louislelay/bdx_nao_rl_isaaclab: disney_bdx_env_cfg.py (task overrides, contact bodies)",
        "rimim/AWD awd/data/assets/go_bdx/go_bdx.xml = louislelay/Disney-BDX-USD-Description urdf/bdx.urdf",
        "Grandia et al., Design and Control of a Bipedal Robotic Character, RSS 2024 (structure)",
    ),
    approximations=(
        "all masses and link offsets: the community's reverse-engineered model (13.76 kg), not Disney data",
        "joint order: predicted PhysX breadth-first order; the port does not publish it",
        "effort limits: URDF values (legs and neck 23.7, head 7.3, antennas 0.29 N m); the USD is not public",
        "armature 0.01 kg m^2 per joint; implicit PD velocity limits are not enforced",
        "pelvis, head and soles as boxes, legs as capsules (the real shapes are meshes)",
    ),
)
