"""The visual primitives of the procedural data set (`gtl_ray.data.procedural`): colours, shapes
(signed distances), textures, the per-image random fields, each class's combination of them, and
painting one object of given primitives onto a batch of images."""

from __future__ import annotations

import numpy as np

from gtl_ray.errors import DataError
from gtl_ray.seeding import numpy_rng

COLOURS = np.array(
    [
        [0.90, 0.15, 0.15],
        [0.95, 0.55, 0.10],
        [0.95, 0.90, 0.20],
        [0.20, 0.75, 0.25],
        [0.20, 0.80, 0.85],
        [0.20, 0.30, 0.90],
        [0.55, 0.25, 0.80],
        [0.90, 0.35, 0.70],
        [0.95, 0.95, 0.95],
        [0.08, 0.08, 0.08],
    ],
    dtype=np.float32,
)
NUM_PALETTES = 12  #: ordered colour pairs (fill, pattern) drawn once per seed; few, so classes share them


def _r(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.sqrt(u * u + v * v)


# Signed distance (approximate; negative inside) in object units, object radius about 1.
SHAPES = {
    "circle": lambda u, v: _r(u, v) - 0.85,
    "ring": lambda u, v: np.abs(_r(u, v) - 0.66) - 0.26,
    "square": lambda u, v: np.maximum(np.abs(u), np.abs(v)) - 0.75,
    "frame": lambda u, v: np.abs(np.maximum(np.abs(u), np.abs(v)) - 0.68) - 0.22,
    "diamond": lambda u, v: (np.abs(u) + np.abs(v) - 0.95) * 0.707,
    "triangle": lambda u, v: np.maximum(np.maximum(-v, 0.866 * u + 0.5 * v), -0.866 * u + 0.5 * v) - 0.45,
    "hexagon": lambda u, v: np.maximum(0.866 * np.abs(u) + 0.5 * np.abs(v), np.abs(v)) - 0.8,
    "cross": lambda u, v: np.minimum(
        np.maximum(np.abs(u) - 0.28, np.abs(v) - 0.92), np.maximum(np.abs(u) - 0.92, np.abs(v) - 0.28)
    ),
    "star": lambda u, v: (_r(u, v) - 0.62 - 0.32 * np.cos(5 * np.arctan2(v, u))) * 0.6,
    "bar": lambda u, v: np.maximum(np.abs(u) - 0.95, np.abs(v) - 0.3),
    "crescent": lambda u, v: np.maximum(_r(u, v) - 0.9, 0.7 - _r(u - 0.45, v)),
    "half_disc": lambda u, v: np.maximum(_r(u, v) - 0.95, v - 0.15),
}
SHAPE_NAMES = tuple(SHAPES)


def _soft(z: np.ndarray) -> np.ndarray:
    return np.clip(0.5 + 2.0 * z, 0.0, 1.0)


def _stripes(freq: float, angle_deg: float):
    a = np.deg2rad(angle_deg)
    return lambda u, v, ph, jit: _soft(np.sin(2 * np.pi * freq * (u * np.cos(a + jit) + v * np.sin(a + jit)) + ph))


# Pattern weight in [0, 1] (0: fill colour, 1: pattern colour) at unrotated object coordinates.
TEXTURES = {
    "solid": lambda u, v, ph, jit: np.zeros_like(u),
    **{f"stripes_f{f}_a{a}": _stripes(f, a) for f in (0.9, 1.6) for a in (0, 45, 90, 135)},
    "checker_coarse": lambda u, v, ph, jit: _soft(np.sin(2 * np.pi * 0.8 * u + ph) * np.sin(2 * np.pi * 0.8 * v + ph)),
    "checker_fine": lambda u, v, ph, jit: _soft(np.sin(2 * np.pi * 1.4 * u + ph) * np.sin(2 * np.pi * 1.4 * v + ph)),
    "dots": lambda u, v, ph, jit: _soft(np.cos(2 * np.pi * 1.2 * u + ph) + np.cos(2 * np.pi * 1.2 * v + ph) - 1.0),
    "rings": lambda u, v, ph, jit: _soft(np.sin(2 * np.pi * 1.5 * _r(u, v) + ph)),
    "spokes": lambda u, v, ph, jit: _soft(np.sin(4 * np.arctan2(v, u) + ph)),
    "gradient": lambda u, v, ph, jit: np.clip(0.5 + 0.6 * (u * np.cos(jit) + v * np.sin(jit)), 0.0, 1.0),
}
TEXTURE_NAMES = tuple(TEXTURES)

# Per-instance uniform draws, one row per image (column order is part of the determinism contract).
FIELDS = (
    "cx",
    "cy",
    "scale",
    "rot",
    "tex_jit",
    "phase",
    "c1r",
    "c1g",
    "c1b",
    "c2r",
    "c2g",
    "c2b",
    "bgr",
    "bgg",
    "bgb",
    "bg_angle",
    "bg_freq",
    "bg_contrast",
    "bg_phase",
    "d_on",
    "d_shape",
    "d_texture",
    "d_c1",
    "d_c2",
    "d_shade",
    "d_x",
    "d_y",
    "d_scale",
    "d_rot",
    "d_phase",
    "l1_angle",
    "l1_off",
    "l1_grey",
    "l2_angle",
    "l2_off",
    "l2_grey",
    "bright",
    "noise",
)
F = {name: i for i, name in enumerate(FIELDS)}


def class_definitions(num_classes: int, seed: int) -> np.ndarray:
    """(num_classes, 4) int array: shape id, texture id, fill colour id, pattern colour id.

    A seeded prefix of a permutation of all combinations, so the first k classes are the same
    whatever num_classes is.
    """
    rng = numpy_rng(seed, "classes")
    pairs = np.array([(a, b) for a in range(len(COLOURS)) for b in range(len(COLOURS)) if a != b])
    palettes = pairs[rng.choice(len(pairs), size=NUM_PALETTES, replace=False)]
    total = len(SHAPES) * len(TEXTURES) * NUM_PALETTES
    if not 1 <= num_classes <= total:
        raise DataError(f"data.num_classes: procedural data has 1..{total} distinct classes, got {num_classes}")
    combos = rng.permutation(total)[:num_classes]
    shape, rest = np.divmod(combos, len(TEXTURES) * NUM_PALETTES)
    texture, palette = np.divmod(rest, NUM_PALETTES)
    return np.stack([shape, texture, palettes[palette, 0], palettes[palette, 1]], axis=1)


def _shape_mask(ids: np.ndarray, u: np.ndarray, v: np.ndarray, scale: np.ndarray, pixel: float) -> np.ndarray:
    """Anti-aliased coverage (n, S, S) of shape ids[j] in object coordinates u[j], v[j]."""
    sdf = np.empty_like(u)
    for k, name in enumerate(SHAPE_NAMES):
        sel = np.nonzero(ids == k)[0]
        if len(sel):
            sdf[sel] = SHAPES[name](u[sel], v[sel])
    return np.clip(0.5 - sdf * scale / pixel, 0.0, 1.0)


def _object_coords(x, y, cx, cy, scale, rot):
    """Rotated (u, v) and unrotated (tu, tv) object coordinates, object radius 1."""
    dx, dy = (x - cx) / scale, (y - cy) / scale
    dx, dy = np.broadcast_arrays(dx, dy)
    c, s = np.cos(rot), np.sin(rot)
    return c * dx + s * dy, -s * dx + c * dy, dx, dy


def over(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Paint `colour` over `img` in place with coverage `alpha`."""
    img *= 1 - alpha
    img += colour * alpha


def pick(u: np.ndarray, n: int) -> np.ndarray:
    """Uniform draws in [0, 1) -> ids in 0..n-1."""
    return np.minimum((u * n).astype(int), n - 1)


def paint_object(img, x, y, pixel, shape, texture, c1, c2, cx, cy, scale, rot, phase, jitter, present=None) -> None:
    """Paint shape ids `shape` filled with textures `texture` in colours c1/c2 (n, 3) over img."""
    u, v, tu, tv = _object_coords(x, y, cx, cy, scale, rot)
    alpha = _shape_mask(shape, u, v, scale, pixel)
    if present is not None:
        alpha *= present
    pattern = np.empty_like(tu)
    for k, name in enumerate(TEXTURE_NAMES):
        sel = np.nonzero(texture == k)[0]
        if len(sel):
            pattern[sel] = TEXTURES[name](tu[sel], tv[sel], phase[sel], jitter[sel])
    pattern = pattern[:, None]
    fill = c1[:, :, None, None] * (1 - pattern) + c2[:, :, None, None] * pattern
    over(img, alpha[:, None], fill)
