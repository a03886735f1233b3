"""Offscreen pictures of the embedded backend.

MuJoCo's renderer needs an OpenGL context: ``MUJOCO_GL=egl`` works on CPU-only machines through
Mesa's software EGL.
"""

from __future__ import annotations

import os
from pathlib import Path

import mujoco
import numpy as np

from sacbench.sim.mujoco.env import MujocoVelocityEnv


def _robot_geoms(env: MujocoVelocityEnv, env_id: int) -> np.ndarray:
    bodies = {int(ids[env_id]) for ids in env.world.mass_links.values()}
    return np.array([g for g in range(env.model.ngeom) if int(env.model.geom_bodyid[g]) in bodies])


def render_robot(
    env: MujocoVelocityEnv, env_id: int = 0, width: int = 640, height: int = 480, azimuth: float = 135.0
) -> np.ndarray:
    """An RGB picture ``(height, width, 3)`` of robot ``env_id``, framed to fit the robot.

    Raises:
        RuntimeError: If no OpenGL context can be made (set ``MUJOCO_GL=egl`` or ``osmesa``).
    """
    mujoco.mj_forward(env.model, env.data)
    geoms = _robot_geoms(env, env_id)
    centre = env.data.geom_xpos[geoms].mean(axis=0)
    radius = float(np.max(np.linalg.norm(env.data.geom_xpos[geoms] - centre, axis=1))) + 0.1
    camera = mujoco.MjvCamera()
    camera.lookat[:] = centre
    camera.distance = 3.2 * radius
    camera.azimuth = azimuth
    camera.elevation = -20.0
    # MuJoCo's near plane is a fraction of the model's extent: ~1 m for the 160 m rough grid, which
    # would clip the robot away.  Put it at 5 cm.
    env.model.vis.map.znear = 0.05 / env.model.stat.extent
    try:
        renderer = mujoco.Renderer(env.model, height, width)
    except Exception as exc:  # mujoco raises plain Exceptions for GL failures
        raise RuntimeError(
            f"MuJoCo could not create an OpenGL context (MUJOCO_GL={os.environ.get('MUJOCO_GL')!r}): {exc}. "
            "Fix: export MUJOCO_GL=egl (Mesa's software EGL works without a GPU) or MUJOCO_GL=osmesa."
        ) from exc
    with renderer:
        renderer.update_scene(env.data, camera)
        return renderer.render()


def save_png(image: np.ndarray, path: Path) -> Path:
    """Write an RGB array as a PNG (through matplotlib, already a dependency)."""
    import matplotlib.image

    path.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(path, image)
    return path
