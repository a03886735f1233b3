"""Isaac Lab 3.0 assets written from sacbench's robot facts, so that the real tasks run offline.

Isaac Lab's velocity tasks load their robots, the ground plane and two actuator networks from
NVIDIA's asset server (``{ISAACLAB_NUCLEUS_DIR}/Robots/...``, a root read from
``ISAACSIM_ASSET_ROOT`` when ``isaaclab.utils.assets`` is imported).  No package registry serves
them.  This module writes the same paths under a local root from the tables in `sacbench.robots`,
the one description the MuJoCo mirror is built from:

- every body, its mass, centre of mass and principal inertia are those of the mirror's compiled
  robot (`sacbench.sim.mujoco.model.build_robot`), and every collision geom is the mirror's geom;
- the prim layout is NVIDIA's: each rigid body is a direct child of the robot prim, so the tasks'
  own regexes (``{ENV_REGEX_NS}/Robot/.*`` for the contact sensor, ``.*_foot``, ``trunk``,
  ``.*THIGH``) bind to the bodies they bind to on NVIDIA's assets; feet stay separate bodies on
  fixed joints, and joints live under ``joints/`` with the robot's joint names;
- the ground plane is a ``Plane`` collider, which is what ``spawn_ground_plane`` looks for.

Actuator networks (Go1's MLP, ANYmal's LSTM) are not written: their weights are not public.  The
adapter replaces them with the robot's actuator facts instead (`actuator_deviation`), and every
record names the replacement.

The files are text USD (``.usda`` contents, with the file names Isaac Lab asks for) and ship as
package data (`PACKAGED_ROOT`); ``tests/isaaclab_cpu`` regenerates them with the real ``pxr`` and
compares, so no converter runs at benchmark time.  Writing needs ``pxr`` (Isaac Lab's venv has it);
reading the packaged root needs nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from sacbench.robots.spec import RobotSpec
from sacbench.sim.mujoco.model import build_robot
from sacbench.tasks.registry import Robot, get_task

PACKAGED_ROOT = Path(__file__).resolve().parent.parent / "data" / "isaaclab_assets"
"""The local asset root shipped with sacbench (point ``ISAACSIM_ASSET_ROOT`` here)."""

ROBOT_USD = {
    # isaaclab 3.0.0: isaaclab_assets/robots/{unitree,anymal}.py, ``spawn.usd_path``
    Robot.A1: "Isaac/IsaacLab/Robots/Unitree/A1/a1.usd",
    Robot.GO1: "Isaac/IsaacLab/Robots/Unitree/Go1/go1.usd",
    Robot.GO2: "Isaac/IsaacLab/Robots/Unitree/Go2/go2.usd",
    Robot.ANYMAL_B: "Isaac/IsaacLab/Robots/ANYbotics/ANYmal-B/anymal_b.usd",
    Robot.ANYMAL_C: "Isaac/IsaacLab/Robots/ANYbotics/ANYmal-C/anymal_c.usd",
    # BD-X is not NVIDIA's: the community port keeps its USD in Git LFS; sacbench writes its own.
    Robot.BDX: "Sacbench/Robots/DisneyBDX/bdx.usd",
}
"""Each robot's USD, relative to the asset root, at the path Isaac Lab's cfg names."""

GROUND_PLANE_USD = "Isaac/IsaacLab/Environments/Grid/default_ground_plane_checker_v1/default_ground_plane.usda"
"""``isaaclab/sim/spawners/from_files/from_files_cfg.py``: ``_DEFAULT_GROUND_PLANE_USD``."""

_AXES = {0: "X", 1: "Y", 2: "Z"}


@dataclass(frozen=True)
class AssetSource:
    """Where a run's Isaac Lab assets came from (recorded with the run)."""

    name: str
    """``"sacbench"`` (written from the robot facts) or ``"nvidia"`` (NVIDIA's asset server)."""
    root: str
    """The asset root (``ISAACSIM_ASSET_ROOT``), or ``""`` for NVIDIA's default."""
    digest: str
    """SHA-256 over the local asset files (``""`` for NVIDIA's)."""


def asset_digest(root: Path = PACKAGED_ROOT) -> str:
    """SHA-256 over every file under ``root``, by relative path: one value names one asset set."""
    sha = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        sha.update(path.relative_to(root).as_posix().encode())
        sha.update(b"\0")
        sha.update(path.read_bytes())
    return sha.hexdigest()


# ----------------------------------------------------------------------------------------- writing


def _quat(wxyz: np.ndarray) -> Any:
    from pxr import Gf

    return Gf.Quatf(float(wxyz[0]), Gf.Vec3f(*(float(v) for v in wxyz[1:])))


def _vec(v: np.ndarray) -> Any:
    from pxr import Gf

    return Gf.Vec3f(*(float(x) for x in v))


def _place(xformable: Any, pos: np.ndarray, quat: np.ndarray, scale: np.ndarray | None = None) -> None:
    """Translate, then rotate (then scale) a prim, as MuJoCo places a body or geom in its parent."""
    from pxr import UsdGeom

    xformable.AddTranslateOp(UsdGeom.XformOp.PrecisionFloat).Set(_vec(pos))
    if not np.allclose(quat, (1.0, 0.0, 0.0, 0.0)):
        xformable.AddOrientOp().Set(_quat(quat))
    if scale is not None:
        xformable.AddScaleOp().Set(_vec(scale))


def _add_geom(stage: Any, body_path: str, model: mujoco.MjModel, geom: int, index: int) -> None:
    """One MuJoCo geom as a USD primitive; colliding geoms get ``CollisionAPI``."""
    from pxr import UsdGeom, UsdPhysics

    kind = mujoco.mjtGeom(model.geom_type[geom])
    size = model.geom_size[geom]
    collide = bool(model.geom_contype[geom] or model.geom_conaffinity[geom])
    path = f"{body_path}/{'collisions' if collide else 'visuals'}/{kind.name.removeprefix('mjGEOM_').lower()}_{index}"
    scale = None
    if kind == mujoco.mjtGeom.mjGEOM_BOX:
        prim: Any = UsdGeom.Cube.Define(stage, path)
        prim.CreateSizeAttr(2.0)  # a unit half extent, scaled to the box's half extents
        scale = size
    elif kind == mujoco.mjtGeom.mjGEOM_SPHERE:
        prim = UsdGeom.Sphere.Define(stage, path)
        prim.CreateRadiusAttr(float(size[0]))
    elif kind in (mujoco.mjtGeom.mjGEOM_CAPSULE, mujoco.mjtGeom.mjGEOM_CYLINDER):
        prim = (UsdGeom.Capsule if kind == mujoco.mjtGeom.mjGEOM_CAPSULE else UsdGeom.Cylinder).Define(stage, path)
        prim.CreateRadiusAttr(float(size[0]))
        prim.CreateHeightAttr(float(2 * size[1]))  # MuJoCo's size[1] is the half length
        prim.CreateAxisAttr("Z")
    else:  # pragma: no cover - the robot tables only use the four kinds above
        raise ValueError(f"geom {geom} of kind {kind.name} has no USD primitive here")
    _place(prim, model.geom_pos[geom], model.geom_quat[geom], scale)
    if collide:
        UsdPhysics.CollisionAPI.Apply(prim.GetPrim())


def _add_joint(stage: Any, root: str, model: mujoco.MjModel, body: int) -> None:
    """The joint between ``body`` and its parent: revolute with its limits, or fixed (a welded foot)."""
    from pxr import Gf, Sdf, UsdPhysics

    parent = int(model.body_parentid[body])
    name = model.body(body).name
    frame = np.array([1.0, 0.0, 0.0, 0.0])  # the joint frame in the child body
    if model.body_jntnum[body] == 0:
        joint: Any = UsdPhysics.FixedJoint.Define(stage, f"{root}/joints/{name}_fixed")
    else:
        j = int(model.body_jntadr[body])
        axis = model.jnt_axis[j]
        (dims,) = np.nonzero(axis)
        if len(dims) != 1 or abs(axis[dims[0]]) != 1.0:
            raise ValueError(f"joint {model.joint(j).name}: axis {axis.tolist()} is not along X, Y or Z")
        joint = UsdPhysics.RevoluteJoint.Define(stage, f"{root}/joints/{model.joint(j).name}")
        joint.CreateAxisAttr(_AXES[int(dims[0])])
        if axis[dims[0]] < 0:
            # USD axes are tokens: a joint about -Z is one about +Z in a joint frame turned half a
            # turn about a perpendicular axis, which keeps the angle's sign and the limits.
            frame = np.zeros(4)
            frame[1 + (int(dims[0]) + 1) % 3] = 1.0
        low, high = np.degrees(model.jnt_range[j])  # USD joint limits are in degrees
        joint.CreateLowerLimitAttr(float(low))
        joint.CreateUpperLimitAttr(float(high))
        armature = float(model.dof_armature[model.jnt_dofadr[j]])
        joint.GetPrim().CreateAttribute("newton:armature", Sdf.ValueTypeNames.Float).Set(armature)
        joint.GetPrim().CreateAttribute("physxJoint:armature", Sdf.ValueTypeNames.Float).Set(armature)
    joint.CreateBody0Rel().SetTargets([Sdf.Path(f"{root}/{model.body(parent).name}")])
    joint.CreateBody1Rel().SetTargets([Sdf.Path(f"{root}/{name}")])
    rot0 = np.empty(4)
    mujoco.mju_mulQuat(rot0, model.body_quat[body], frame)
    joint.CreateLocalPos0Attr(_vec(model.body_pos[body]))
    joint.CreateLocalRot0Attr(_quat(rot0))
    joint.CreateLocalPos1Attr(Gf.Vec3f(0.0, 0.0, 0.0))
    joint.CreateLocalRot1Attr(_quat(frame))


def _add_body(stage: Any, root: str, model: mujoco.MjModel, data: mujoco.MjData, body: int) -> None:
    """A rigid body directly under the robot prim, at its pose with every joint at zero."""
    from pxr import UsdGeom, UsdPhysics

    path = f"{root}/{model.body(body).name}"
    xform = UsdGeom.Xform.Define(stage, path)
    _place(xform, data.xpos[body], data.xquat[body])
    UsdPhysics.RigidBodyAPI.Apply(xform.GetPrim())
    mass = UsdPhysics.MassAPI.Apply(xform.GetPrim())
    mass.CreateMassAttr(float(model.body_mass[body]))
    mass.CreateCenterOfMassAttr(_vec(model.body_ipos[body]))
    mass.CreateDiagonalInertiaAttr(_vec(model.body_inertia[body]))
    mass.CreatePrincipalAxesAttr(_quat(model.body_iquat[body]))
    geoms = np.flatnonzero(model.geom_bodyid == body)
    for index, geom in enumerate(geoms):
        _add_geom(stage, path, model, int(geom), index)


def robot_stage(robot: RobotSpec) -> Any:
    """An in-memory USD stage of ``robot``, from the mirror's compiled model.

    Args:
        robot: The robot's table of facts.

    Returns:
        A ``pxr.Usd.Stage`` whose default prim (named after the robot) is the articulation root.
    """
    from pxr import Usd, UsdGeom, UsdPhysics

    model = build_robot(robot)
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)  # qpos0: every joint at zero, the base at the origin
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdPhysics.SetStageKilogramsPerUnit(stage, 1.0)
    root = f"/{robot.name}"
    root_prim = UsdGeom.Xform.Define(stage, root).GetPrim()
    stage.SetDefaultPrim(root_prim)
    UsdPhysics.ArticulationRootAPI.Apply(root_prim)
    root_prim.SetDocumentation(f"{robot.display_name}, written by sacbench from sacbench.robots ({robot.name})")
    for body in range(1, model.nbody):  # body 0 is MuJoCo's world
        _add_body(stage, root, model, data, body)
    for body in range(2, model.nbody):  # body 1 is the floating base: no joint
        _add_joint(stage, root, model, body)
    return stage


def ground_plane_stage() -> Any:
    """An in-memory stage with the collision ``Plane`` that ``spawn_ground_plane`` binds its material to."""
    from pxr import Usd, UsdGeom, UsdPhysics

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    root = UsdGeom.Xform.Define(stage, "/GroundPlane").GetPrim()
    stage.SetDefaultPrim(root)
    plane = UsdGeom.Plane.Define(stage, "/GroundPlane/CollisionPlane")
    plane.CreateAxisAttr(UsdGeom.Tokens.z)
    UsdPhysics.CollisionAPI.Apply(plane.GetPrim())
    return stage


def _export(stage: Any, path: Path) -> None:
    """Write ``stage``'s root layer as text USD, whatever the file's extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = stage.GetRootLayer().ExportToString()
    path.write_text(text, encoding="utf-8")


def write_assets(root: Path) -> list[Path]:
    """Write every robot of the suite and the ground plane under ``root``; returns the files written.

    Raises:
        ModuleNotFoundError: If ``pxr`` is not installed (it comes with Isaac Lab 3.0's venv).
    """
    written = []
    for robot, relative in ROBOT_USD.items():
        path = root / relative
        _export(robot_stage(get_task(f"{robot.value}-flat").robot_spec), path)
        written.append(path)
    path = root / GROUND_PLANE_USD
    _export(ground_plane_stage(), path)
    written.append(path)
    return written
