"""Build one MuJoCo world holding ``num_envs`` copies of a robot, with MjSpec.

All robots share one model and one ``mj_step``: the batch is stepped by a single C call, and the
state of every robot is a strided numpy view (robot ``k`` owns ``qpos[k * (7 + J) : (k + 1) * (7 +
J)]``).  Robots never touch each other: robot geoms have ``contype=2, conaffinity=1`` and terrain
geoms ``contype=1, conaffinity=2`` (MuJoCo collides two geoms when ``contype & conaffinity`` of
either pair is non-zero), like Isaac Lab's per-env collision groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from sacbench.robots.spec import ActuatorModel, GeomKind, GeomSpec, LinkSpec, RobotSpec
from sacbench.sim.mujoco.terrain import TerrainMap

ROBOT_CONTYPE, ROBOT_CONAFFINITY = 2, 1
TERRAIN_CONTYPE, TERRAIN_CONAFFINITY = 1, 2
_GEOM_TYPE = {
    GeomKind.BOX: mujoco.mjtGeom.mjGEOM_BOX,
    GeomKind.SPHERE: mujoco.mjtGeom.mjGEOM_SPHERE,
    GeomKind.CAPSULE: mujoco.mjtGeom.mjGEOM_CAPSULE,
    GeomKind.CYLINDER: mujoco.mjtGeom.mjGEOM_CYLINDER,
}
_ROBOT_RGBA = (0.85, 0.55, 0.2, 1.0)
_FOOT_RGBA = (0.15, 0.15, 0.15, 1.0)


@dataclass(frozen=True)
class SolverSettings:
    """MuJoCo options of the mirror (timestep from the task; the rest chosen for speed, measured)."""

    iterations: int = 10
    ls_iterations: int = 10
    tolerance: float = 1e-6
    integrator: int = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    cone: int = mujoco.mjtCone.mjCONE_PYRAMIDAL
    impratio: float = 10.0
    """Frictional-to-normal impedance ratio.  At 1 (MuJoCo's default) soft friction lets loaded feet
    creep outward: ANYmal-C standing at zero action sinks from 0.44 m to 0.23 m in 10 s; at 10 it
    holds 0.44 m (measured; elliptic cones were slower or unstable at high ratios)."""


@dataclass(frozen=True)
class World:
    """A compiled world and the index arrays the batched env needs."""

    model: mujoco.MjModel
    num_envs: int
    num_joints: int
    joint_perm: np.ndarray
    """``(J,)``: column ``i`` of the task's joint order is MuJoCo joint ``joint_perm[i]`` of a robot."""
    base_body: np.ndarray
    """``(N,)`` body id of each robot's base."""
    tracked_links: tuple[str, ...]
    """Links whose contact forces are measured (feet, termination and undesired-contact links)."""
    geom_slot: np.ndarray
    """``(ngeom,)``: ``env * len(tracked_links) + slot`` for tracked robot geoms, else -1."""
    mass_links: dict[str, np.ndarray]
    """Body ids per env ``(N,)`` of each link, for mass randomisation."""


def _add_geom(body: mujoco.MjsBody, geom: GeomSpec, friction: float, rgba: tuple[float, ...]) -> None:
    g = body.add_geom()
    g.type = _GEOM_TYPE[geom.kind]
    size = list(geom.size) + [0.0] * (3 - len(geom.size))
    g.size = size
    g.pos = list(geom.pos)
    if geom.fromto is not None:
        g.fromto = list(geom.fromto)
    g.mass = geom.mass
    g.friction = [friction, 0.005, 0.0001]
    g.rgba = list(rgba)
    if geom.collide:
        g.contype, g.conaffinity, g.condim = ROBOT_CONTYPE, ROBOT_CONAFFINITY, 3
    else:
        g.contype, g.conaffinity = 0, 0


def _add_link(
    spec: mujoco.MjSpec, bodies: dict[str, mujoco.MjsBody], link: LinkSpec, robot: RobotSpec, *, prefix: str,
    friction: float,
) -> None:  # fmt: skip
    parent = spec.worldbody if link.parent is None else bodies[link.parent]
    body = parent.add_body(name=prefix + link.name, pos=list(link.pos))
    bodies[link.name] = body
    if link.parent is None:
        body.add_freejoint(name=prefix + "root")
    elif link.joint is not None:
        j = body.add_joint(name=prefix + link.joint.name)
        j.type = mujoco.mjtJoint.mjJNT_HINGE
        j.axis = list(link.joint.axis)
        j.range = list(link.joint.range)
        j.limited = mujoco.mjtLimited.mjLIMITED_TRUE
        j.armature = robot.actuator.armature
    is_foot = link.name in robot.foot_links
    for geom in link.geoms:
        _add_geom(body, geom, friction, _FOOT_RGBA if is_foot else _ROBOT_RGBA)


def _add_actuators(spec: mujoco.MjSpec, robot: RobotSpec, prefix: str) -> None:
    """One actuator per joint, in the task's joint order (so ``ctrl`` reshapes to ``(N, J)``)."""
    act = robot.actuator
    for i, name in enumerate(robot.joint_order):
        a = spec.add_actuator(name=prefix + name, target=prefix + name)
        a.trntype = mujoco.mjtTrn.mjTRN_JOINT
        if act.model is ActuatorModel.IMPLICIT_PD:
            a.set_to_position(kp=act.stiffness[i], kv=act.damping[i])
            a.forcerange = [-act.effort_limit[i], act.effort_limit[i]]
            a.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
            a.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE
        else:  # DC motor: the env computes torques; the motor passes them through unchanged
            a.set_to_motor()
            a.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE


def _add_visuals(spec: mujoco.MjSpec) -> None:
    """Lights and a grid texture for renders (no effect on the physics)."""
    spec.worldbody.add_light(pos=[0, 0, 10], dir=[0.3, 0.3, -1], diffuse=[0.7, 0.7, 0.7], castshadow=False)
    texture = spec.add_texture(
        name="grid", type=mujoco.mjtTexture.mjTEXTURE_2D, builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.55, 0.6, 0.65], rgb2=[0.45, 0.5, 0.55], width=256, height=256,
    )  # fmt: skip
    material = spec.add_material(name="ground", texrepeat=[1, 1], texuniform=True)
    material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = texture.name


def _add_terrain(spec: mujoco.MjSpec, terrain: TerrainMap | None, friction: float) -> None:
    ground = {
        "contype": TERRAIN_CONTYPE,
        "conaffinity": TERRAIN_CONAFFINITY,
        "condim": 3,
        "material": "ground",
    }
    if terrain is None:
        spec.worldbody.add_geom(
            type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 1], friction=[friction, 0.005, 0.0001], **ground
        )
        return
    zmin, zmax = float(terrain.heights.min()), float(terrain.heights.max())
    (lx, ly), (ny, nx) = terrain.extent, terrain.heights.shape
    span = max(zmax - zmin, 1e-3)
    hfield = spec.add_hfield(name="terrain", size=[lx / 2, ly / 2, span, 1.0], nrow=ny, ncol=nx)
    # MuJoCo stores elevations normalised to [0, 1] and scales them by size[2] at run time.
    hfield.userdata = ((terrain.heights - zmin) / span).astype(np.float32).ravel()
    spec.worldbody.add_geom(
        type=mujoco.mjtGeom.mjGEOM_HFIELD, hfieldname="terrain",
        pos=[terrain.x0 + lx / 2, terrain.y0 + ly / 2, zmin],
        friction=[friction, 0.005, 0.0001], **ground,
    )  # fmt: skip
    # Isaac Lab's flat border around the grid (top at z = 0), as four boxes.
    b = terrain.cfg.border_width
    for cx, cy, hx, hy in (
        (0.0, -ly / 2 - b / 2, lx / 2 + b, b / 2),
        (0.0, ly / 2 + b / 2, lx / 2 + b, b / 2),
        (-lx / 2 - b / 2, 0.0, b / 2, ly / 2),
        (lx / 2 + b / 2, 0.0, b / 2, ly / 2),
    ):
        spec.worldbody.add_geom(
            type=mujoco.mjtGeom.mjGEOM_BOX, size=[hx, hy, 0.5],
            pos=[terrain.x0 + lx / 2 + cx, terrain.y0 + ly / 2 + cy, -0.5],
            friction=[friction, 0.005, 0.0001], **ground,
        )  # fmt: skip


def build_world(
    robot: RobotSpec,
    num_envs: int,
    spawn: np.ndarray,
    *,
    dt: float,
    friction: float,
    terrain: TerrainMap | None = None,
    solver: SolverSettings | None = None,
) -> World:
    """Compile a world with ``num_envs`` robots standing at ``spawn``.

    Args:
        robot: The robot's table of facts.
        num_envs: Number of robots.
        spawn: ``(num_envs, 3)`` initial base positions (the env resets them before use).
        dt: Physics timestep (s).
        friction: Sliding friction of robot and terrain geoms.
        terrain: Heightfield grid, or ``None`` for a plane.
        solver: MuJoCo solver options.
    """
    solver = solver or SolverSettings()
    spec = mujoco.MjSpec()
    spec.option.timestep = dt
    spec.option.iterations = solver.iterations
    spec.option.ls_iterations = solver.ls_iterations
    spec.option.tolerance = solver.tolerance
    spec.option.integrator = solver.integrator
    spec.option.cone = solver.cone
    spec.option.impratio = solver.impratio
    # MuJoCo's auto-reset would reset *every* robot of the world when one goes unstable; the env
    # detects non-finite states itself and resets only the robots concerned.
    spec.option.disableflags |= mujoco.mjtDisableBit.mjDSBL_AUTORESET
    spec.compiler.inertiafromgeom = mujoco.mjtInertiaFromGeom.mjINERTIAFROMGEOM_TRUE
    spec.compiler.degree = False  # joint ranges are in radians
    spec.visual.global_.offwidth = 1280
    spec.visual.global_.offheight = 960
    _add_visuals(spec)
    _add_terrain(spec, terrain, friction)
    for k in range(num_envs):
        prefix = f"r{k}/"
        bodies: dict[str, mujoco.MjsBody] = {}
        for link in robot.links:
            _add_link(spec, bodies, link, robot, prefix=prefix, friction=friction)
        bodies[robot.base_link.name].pos = list(spawn[k])
    for k in range(num_envs):
        _add_actuators(spec, robot, f"r{k}/")
    return _index(spec.compile(), robot, num_envs)


def build_robot(robot: RobotSpec) -> mujoco.MjModel:
    """Compile one robot alone, with the mass properties the mirror gives it.

    Its bodies, joints and geoms are those of every robot in `build_world` (inertia from the geoms,
    limits in radians), without terrain, actuators or visuals: the description that the Isaac Lab
    assets (`sacbench.sim.isaaclab_assets`) are written from, so both backends load one robot.
    """
    spec = mujoco.MjSpec()
    spec.compiler.inertiafromgeom = mujoco.mjtInertiaFromGeom.mjINERTIAFROMGEOM_TRUE
    spec.compiler.degree = False
    bodies: dict[str, mujoco.MjsBody] = {}
    for link in robot.links:
        _add_link(spec, bodies, link, robot, prefix="", friction=1.0)
    return spec.compile()


def _index(model: mujoco.MjModel, robot: RobotSpec, num_envs: int) -> World:
    """Index arrays of a compiled world."""
    mj_joint_names = [link.joint.name for link in robot.links if link.joint is not None]
    joint_perm = np.array([mj_joint_names.index(name) for name in robot.joint_order], dtype=np.int64)
    tracked = tuple(dict.fromkeys((*robot.foot_links, *robot.termination_links, *robot.undesired_contact_links)))
    geom_slot = np.full(model.ngeom, -1, dtype=np.int64)
    body_ids = {
        link.name: np.array(
            [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f"r{k}/{link.name}") for k in range(num_envs)]
        )
        for link in robot.links
    }
    for slot, name in enumerate(tracked):
        for k, body in enumerate(body_ids[name]):
            geom_slot[model.geom_bodyid == body] = k * len(tracked) + slot
    # Robots must be laid out contiguously for the strided state views.
    assert model.nq == num_envs * (7 + robot.num_joints)
    assert model.nu == num_envs * robot.num_joints
    return World(
        model=model,
        num_envs=num_envs,
        num_joints=robot.num_joints,
        joint_perm=joint_perm,
        base_body=body_ids[robot.base_link.name],
        tracked_links=tracked,
        geom_slot=geom_slot,
        mass_links=body_ids,
    )
