"""Isaac Lab's rough terrain grid as one heightfield.

The grid has ``num_rows`` difficulty levels along x and ``num_cols`` columns along y whose types
follow Isaac Lab's curriculum mode: column ``c`` gets the first sub-terrain whose cumulative
proportion exceeds ``c / num_cols``, and cell ``(row, col)`` gets difficulty ``(row + U(0, 1)) /
num_rows``.  Each sub-terrain is a height function of local coordinates in ``[-size/2, size/2]^2``
restating ``isaaclab/terrains/trimesh/mesh_terrains.py`` and ``height_field/hf_terrains.py``
(Isaac Lab 3.0.0), including their quirks: the stair platform comes out 2.4 m wide, the slope
"pyramid" is the product ``xx * yy``, and random-rough ignores the difficulty.

Coordinates: the grid is centred on the world origin, as Isaac Lab's terrain importer centres it;
heights are in metres; ``heights[iy, ix]`` is the height of the vertex at ``(x0 + ix * h, y0 + iy * h)``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sacbench.tasks.velocity import RoughTerrainCfg

FloatArray = np.ndarray


class SubTerrain(enum.IntEnum):
    """Sub-terrain types, in the order of ``RoughTerrainCfg.proportions``."""

    PYRAMID_STAIRS = 0
    PYRAMID_STAIRS_INV = 1
    BOXES = 2
    RANDOM_ROUGH = 3
    PYRAMID_SLOPE = 4
    PYRAMID_SLOPE_INV = 5


# Isaac Lab generates its height-field terrains at 0.1 m and lets the mesh interpolate linearly;
# the random-rough noise is drawn on that lattice whatever our own resolution is.
ISAAC_HF_SCALE = 0.1


def column_types(cfg: RoughTerrainCfg) -> np.ndarray:
    """Sub-terrain type of each column, shape ``(num_cols,)`` (Isaac Lab's curriculum assignment)."""
    cumulative = np.cumsum(np.asarray(cfg.proportions) / np.sum(cfg.proportions))
    cols = np.arange(cfg.num_cols) / cfg.num_cols + 0.001
    return np.array([int(np.flatnonzero(c < cumulative)[0]) for c in cols], dtype=np.int64)


def _lerp(bounds: tuple[float, float], difficulty: float) -> float:
    return bounds[0] + difficulty * (bounds[1] - bounds[0])


def stairs_height(x: FloatArray, y: FloatArray, d: float, cfg: RoughTerrainCfg, inverted: bool) -> FloatArray:
    """Pyramid stairs rising towards the centre (a pit when ``inverted``); platform at ``7 h``."""
    h = _lerp(cfg.step_height_range, d)
    half = cfg.size / 2 - cfg.stairs_border_width  # 3 m: the stairs' outer edge
    num_steps = int((cfg.size - 2 * cfg.stairs_border_width - cfg.stairs_platform_width) // (2 * cfg.step_width)) + 1
    r = np.maximum(np.abs(x), np.abs(y))
    level = np.minimum(np.floor((half - r) / cfg.step_width) + 1, num_steps + 1)
    z = np.where(r <= half, level * h, 0.0)
    return -z if inverted else z


def boxes_height(x: FloatArray, y: FloatArray, d: float, cfg: RoughTerrainCfg, rng: np.random.Generator) -> FloatArray:
    """A grid of 0.45 m boxes of heights ``U(-gh, gh)`` with a central platform at ``gh``."""
    gh = _lerp(cfg.box_height_range, d)
    num_cells = int(cfg.size / cfg.box_grid_width)
    margin = (cfg.size - num_cells * cfg.box_grid_width) / 2
    tops = rng.uniform(-gh, gh, size=(num_cells, num_cells))
    ix = np.floor((x + cfg.size / 2 - margin) / cfg.box_grid_width).astype(np.int64)
    iy = np.floor((y + cfg.size / 2 - margin) / cfg.box_grid_width).astype(np.int64)
    inside = (ix >= 0) & (ix < num_cells) & (iy >= 0) & (iy < num_cells)
    z = np.where(inside, tops[np.clip(iy, 0, num_cells - 1), np.clip(ix, 0, num_cells - 1)], 0.0)
    platform = (np.abs(x) <= cfg.box_platform_width / 2) & (np.abs(y) <= cfg.box_platform_width / 2)
    return np.where(platform, gh, z)


def random_rough_height(
    x: FloatArray, y: FloatArray, d: float, cfg: RoughTerrainCfg, rng: np.random.Generator
) -> FloatArray:
    """Uniform noise from ``{lo, lo + step, ..., hi}`` on a 0.1 m lattice, interpolated bilinearly."""
    del d  # Isaac Lab's random_uniform_terrain ignores the difficulty
    levels = np.arange(cfg.rough_noise_range[0], cfg.rough_noise_range[1] + 1e-9, cfg.rough_noise_step)
    inner = cfg.size / 2 - cfg.hf_border_width
    n = round(2 * inner / ISAAC_HF_SCALE) + 1
    lattice = rng.choice(levels, size=(n, n))
    u = np.clip((x + inner) / ISAAC_HF_SCALE, 0, n - 1)
    v = np.clip((y + inner) / ISAAC_HF_SCALE, 0, n - 1)
    z = bilinear(lattice, u, v)
    return np.where((np.abs(x) <= inner) & (np.abs(y) <= inner), z, 0.0)


def slope_height(x: FloatArray, y: FloatArray, d: float, cfg: RoughTerrainCfg, inverted: bool) -> FloatArray:
    """Isaac Lab's "pyramid" slope ``h_max * xx * yy``, flattened into a central platform."""
    slope = _lerp(cfg.slope_range, d) * (-1 if inverted else 1)
    inner = cfg.size / 2 - cfg.hf_border_width
    h_max = slope * inner
    xx = np.clip(1 - np.abs(x) / inner, 0, 1)
    yy = np.clip(1 - np.abs(y) / inner, 0, 1)
    z = h_max * xx * yy
    z_platform = h_max * (1 - cfg.slope_platform_width / 2 / inner) ** 2
    return np.clip(z, min(0.0, z_platform), max(0.0, z_platform))


def bilinear(grid: FloatArray, u: FloatArray, v: FloatArray) -> FloatArray:
    """Bilinear interpolation of ``grid[v, u]`` at fractional indices (clipped inside the grid)."""
    ny, nx = grid.shape
    u = np.clip(u, 0, nx - 1)
    v = np.clip(v, 0, ny - 1)
    u0 = np.minimum(u.astype(np.int64), nx - 2)
    v0 = np.minimum(v.astype(np.int64), ny - 2)
    fu, fv = u - u0, v - v0
    z00, z01 = grid[v0, u0], grid[v0, u0 + 1]
    z10, z11 = grid[v0 + 1, u0], grid[v0 + 1, u0 + 1]
    return (z00 * (1 - fu) + z01 * fu) * (1 - fv) + (z10 * (1 - fu) + z11 * fu) * fv


HeightFn = Callable[[FloatArray, FloatArray, float, RoughTerrainCfg, np.random.Generator], FloatArray]

_GENERATORS: dict[SubTerrain, HeightFn] = {
    SubTerrain.PYRAMID_STAIRS: lambda x, y, d, c, _: stairs_height(x, y, d, c, inverted=False),
    SubTerrain.PYRAMID_STAIRS_INV: lambda x, y, d, c, _: stairs_height(x, y, d, c, inverted=True),
    SubTerrain.BOXES: boxes_height,
    SubTerrain.RANDOM_ROUGH: random_rough_height,
    SubTerrain.PYRAMID_SLOPE: lambda x, y, d, c, _: slope_height(x, y, d, c, inverted=False),
    SubTerrain.PYRAMID_SLOPE_INV: lambda x, y, d, c, _: slope_height(x, y, d, c, inverted=True),
}


def origin_height(kind: SubTerrain, local: FloatArray, x: FloatArray, y: FloatArray, cfg: RoughTerrainCfg) -> float:
    """Spawn height of a cell: its centre platform (random-rough: the highest point within 1 m)."""
    if kind is SubTerrain.RANDOM_ROUGH:
        window = (np.abs(x) <= 1.0) & (np.abs(y) <= 1.0)
        return float(local[window].max())
    centre = np.unravel_index(np.argmin(x**2 + y**2), x.shape)
    return float(local[centre])


@dataclass(frozen=True)
class TerrainMap:
    """The generated grid: heights, cell origins and types."""

    heights: FloatArray
    """Vertex heights ``(ny, nx)``; ``x = x0 + ix * scale``, ``y = y0 + iy * scale``."""
    x0: float
    y0: float
    scale: float
    origins: FloatArray
    """Spawn origin of each cell ``(num_rows, num_cols, 3)``."""
    types: np.ndarray
    """Sub-terrain type of each column ``(num_cols,)``."""
    difficulty: FloatArray
    """Difficulty in [0, 1] of each cell ``(num_rows, num_cols)``."""
    cfg: RoughTerrainCfg

    @property
    def extent(self) -> tuple[float, float]:
        """Length of the grid along x and y (m)."""
        ny, nx = self.heights.shape
        return ((nx - 1) * self.scale, (ny - 1) * self.scale)

    def height_at(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Terrain height under world points (any shape); 0 on the flat border around the grid."""
        u = (x - self.x0) / self.scale
        v = (y - self.y0) / self.scale
        ny, nx = self.heights.shape
        inside = (u >= 0) & (u <= nx - 1) & (v >= 0) & (v <= ny - 1)
        return np.where(inside, bilinear(self.heights, u, v), 0.0)


def generate_terrain(cfg: RoughTerrainCfg, rng: np.random.Generator) -> TerrainMap:
    """Generate the whole grid.

    Args:
        cfg: Terrain configuration.
        rng: Source of the difficulties, box heights and noise (seeded by the env).
    """
    cells = round(cfg.size / cfg.horizontal_scale)
    nx, ny = cfg.num_rows * cells + 1, cfg.num_cols * cells + 1
    heights = np.zeros((ny, nx))
    local = (np.arange(cells + 1) * cfg.horizontal_scale) - cfg.size / 2
    lx, ly = np.meshgrid(local, local, indexing="xy")  # (cells+1, cells+1), x fastest
    x0, y0 = -cfg.num_rows * cfg.size / 2, -cfg.num_cols * cfg.size / 2
    types = column_types(cfg)
    difficulty = (np.arange(cfg.num_rows)[:, None] + rng.uniform(size=(cfg.num_rows, cfg.num_cols))) / cfg.num_rows
    origins = np.zeros((cfg.num_rows, cfg.num_cols, 3))
    for col in range(cfg.num_cols):
        kind = SubTerrain(int(types[col]))
        for row in range(cfg.num_rows):
            z = _GENERATORS[kind](lx, ly, float(difficulty[row, col]), cfg, rng)
            heights[col * cells : (col + 1) * cells + 1, row * cells : (row + 1) * cells + 1] = z
            origins[row, col] = (
                x0 + (row + 0.5) * cfg.size,
                y0 + (col + 0.5) * cfg.size,
                origin_height(kind, z, lx, ly, cfg),
            )
    return TerrainMap(heights, x0, y0, cfg.horizontal_scale, origins, types, difficulty, cfg)
