"""Isaac Lab's rough sub-terrains as height functions, and the grid."""

from __future__ import annotations

import numpy as np
import pytest

from sacbench.sim.mujoco.terrain import (
    SubTerrain,
    bilinear,
    boxes_height,
    column_types,
    generate_terrain,
    random_rough_height,
    slope_height,
    stairs_height,
)
from sacbench.tasks.velocity import RoughTerrainCfg

CFG = RoughTerrainCfg()


def test_columns_follow_isaac_lab_proportions() -> None:
    types = column_types(CFG)
    assert types.tolist() == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 2 + [5] * 2


def test_pyramid_stairs_levels() -> None:
    # difficulty 0.5: step height 0.05 + 0.5 * 0.18 = 0.14 m; ring k of 0.3 m (k = 0..5, from r = 3 m
    # inwards) has its top at (k + 1) h, then the 2.4 m platform at 7 h.
    h = 0.14
    x = np.array([3.5, 2.95, 2.65, 1.55, 1.25, 0.0])
    z = stairs_height(x, np.zeros_like(x), 0.5, CFG, inverted=False)
    np.testing.assert_allclose(z, [0.0, h, 2 * h, 5 * h, 6 * h, 7 * h])
    np.testing.assert_allclose(stairs_height(x, np.zeros_like(x), 0.5, CFG, inverted=True), -z)


def test_boxes_platform_and_range() -> None:
    rng = np.random.default_rng(0)
    x, y = np.meshgrid(np.linspace(-4, 4, 161), np.linspace(-4, 4, 161))
    z = boxes_height(x, y, 1.0, CFG, rng)  # difficulty 1: gh = 0.2
    assert np.all(np.abs(z) <= 0.2 + 1e-12)
    assert np.all(z[(np.abs(x) <= 1) & (np.abs(y) <= 1)] == 0.2)
    assert np.all(z[(np.abs(x) > 3.9) | (np.abs(y) > 3.9)] == 0.0)  # 0.175 m border at ground level


def test_random_rough_draws_from_the_configured_levels() -> None:
    rng = np.random.default_rng(0)
    lattice_points = -3.75 + 0.1 * np.arange(1, 75)  # vertices of the 0.1 m noise lattice
    x, y = np.meshgrid(lattice_points, lattice_points)
    z = random_rough_height(x, y, 0.0, CFG, rng)
    levels = {0.02, 0.04, 0.06, 0.08, 0.10}
    assert set(np.round(z.ravel(), 6)) <= {round(v, 6) for v in levels}


def test_slope_is_a_product_with_a_flat_top() -> None:
    z_centre = slope_height(np.array([0.0, 0.5, 1.0]), np.zeros(3), 1.0, CFG, inverted=False)
    inner = 3.75
    expected_platform = 0.4 * inner * (1 - 1 / inner) ** 2
    np.testing.assert_allclose(z_centre, expected_platform)  # clipped: the whole platform is flat
    x = np.array([2.0])
    np.testing.assert_allclose(
        slope_height(x, np.zeros(1), 1.0, CFG, inverted=False), 0.4 * inner * (1 - 2 / inner) * 1.0
    )


def test_bilinear_interpolates_and_clips() -> None:
    grid = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert bilinear(grid, np.array([0.5]), np.array([0.5]))[0] == pytest.approx(1.5)
    assert bilinear(grid, np.array([5.0]), np.array([5.0]))[0] == pytest.approx(3.0)


def test_grid_origins_on_the_platforms() -> None:
    terrain = generate_terrain(CFG, np.random.default_rng(0))
    assert terrain.heights.shape == (20 * 80 + 1, 10 * 80 + 1)
    assert terrain.origins.shape == (10, 20, 3)
    # Rows are difficulty along x, columns types along y, centred on the world origin.
    np.testing.assert_allclose(terrain.origins[0, 0, :2], (-36.0, -76.0))
    np.testing.assert_allclose(terrain.origins[9, 19, :2], (36.0, 76.0))
    # The height under each origin is the origin's height (the spawn platform), except on random
    # rough, where the origin is the highest point within 1 m (so a robot never spawns inside it).
    rough = terrain.types == SubTerrain.RANDOM_ROUGH
    ox, oy, oz = (terrain.origins[:, ~rough].reshape(-1, 3)).T
    np.testing.assert_allclose(terrain.height_at(ox, oy), oz, atol=1e-9)
    rx, ry, rz = (terrain.origins[:, rough].reshape(-1, 3)).T
    assert (terrain.height_at(rx, ry) <= rz + 1e-12).all()
    # Stairs (column 0) rise with difficulty: the top platform of the hardest row is the highest.
    assert terrain.origins[9, 0, 2] > terrain.origins[0, 0, 2] > 0
    assert terrain.origins[9, 4, 2] < 0  # inverted stairs are a pit
    assert int(terrain.types[12]) == SubTerrain.RANDOM_ROUGH
    assert terrain.height_at(np.array([1000.0]), np.array([0.0]))[0] == 0.0  # the flat border
