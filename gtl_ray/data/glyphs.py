"""A data set of real typography: every class is one Unicode character, every image that character
drawn by one real font file (like Omniglot, with fonts in place of people's hands).

Fonts: matplotlib's own (`data.path: null`: DejaVu Sans/Serif/Sans Mono in four styles, STIX,
Computer Modern), or every .ttf/.otf under `data.path`. Pillow draws, fontTools reads the cmaps.

Which characters are classes: `gtl_ray.data.glyph_catalogue`.

Instance i of a class is drawn by font i mod F of a seeded order of the class's F fonts, with a
jitter drawn from numpy_rng(data.seed, "glyph", code point, i): size, aspect, rotation, shift,
stroke weight, ink and paper grey, pixel noise. When F < data.images_per_class, instances of one
font differ only by that jitter. Deterministic; nothing is cached on disk (the class analysis is
cached in memory per process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageFilter, ImageFont

from gtl_ray.config import DataConfig
from gtl_ray.data.fonts import load_font, render_glyph, stack
from gtl_ray.data.glyph_catalogue import GlyphClass, choose_classes, glyph_catalogue
from gtl_ray.data.imageset import ImageSet
from gtl_ray.data.splits import Splits, register_source, split_imageset, split_specs
from gtl_ray.errors import DataError
from gtl_ray.seeding import numpy_rng

# Instance jitter (uniform ranges).
FILL = (0.55, 0.85)  #: the glyph's longer side, as a share of the image side
ASPECT = 1.15  #: width / height stretched by a factor in [1/ASPECT, ASPECT]
ROTATION_DEG = 15.0  #: rotation in [-ROTATION_DEG, ROTATION_DEG]
BOLD_P = 0.25  #: probability of thickening strokes by one pixel at twice the image size
PAPER = (0.70, 1.00)  #: background grey level (0 black, 1 white)
INK = (0.00, 0.35)  #: glyph grey level
NOISE = (0.00, 0.05)  #: standard deviation of Gaussian pixel noise
SUPERSAMPLE = 2  #: glyphs are drawn at this multiple of the image size, then box-reduced
FIELDS = (
    "fill",
    "aspect",
    "rotation",
    "dx",
    "dy",
    "bold",
    "paper",
    "ink",
    "noise",
)  #: draw order (part of determinism)


def render_glyphs(classes: Sequence[GlyphClass], images_per_class: int, image_size: int, seed: int) -> ImageSet:
    """`images_per_class` jittered renders of every class, uint8 grey replicated to 3 channels."""
    if images_per_class < 1:
        raise DataError(f"data.images_per_class must be >= 1, got {images_per_class}")
    if image_size < 8:
        raise DataError(f"data.image_size must be >= 8, got {image_size}")
    fonts: dict[Path, ImageFont.FreeTypeFont] = {}
    out = np.empty((len(classes), images_per_class, image_size, image_size), dtype=np.uint8)
    for c, glyph_class in enumerate(classes):
        order = numpy_rng(seed, "glyph", glyph_class.code_point, "fonts").permutation(len(glyph_class.fonts))
        masters: dict[int, Image.Image] = {}
        draws = np.empty((images_per_class, len(FIELDS)))
        noise = np.empty((images_per_class, image_size, image_size), dtype=np.float32)
        coverage = []
        for i in range(images_per_class):
            f = int(order[i % len(order)])
            if f not in masters:
                path = glyph_class.fonts[f]
                if path not in fonts:
                    fonts[path] = load_font(path, SUPERSAMPLE * image_size)
                glyph = render_glyph(fonts[path], glyph_class.char)
                # Inked at the catalogue's size; a hairline might fade out at a tiny one: draw a dot.
                masters[f] = glyph if glyph is not None else Image.new("L", (1, 1), 255)
            rng = numpy_rng(seed, "glyph", glyph_class.code_point, i)
            draws[i] = rng.random(len(FIELDS))
            noise[i] = rng.standard_normal((image_size, image_size), dtype=np.float32)
            coverage.append(_place(masters[f], dict(zip(FIELDS, draws[i])), image_size))
        out[c] = _shade(stack(coverage).astype(np.float32) / 255.0, draws, noise)
    images = np.repeat(out.reshape(-1, 1, image_size, image_size), 3, axis=1)
    labels = np.repeat(np.arange(len(classes), dtype=np.int64), images_per_class)
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels), tuple(g.name for g in classes))


def _uniform(bounds: tuple[float, float], u: np.ndarray | float) -> np.ndarray | float:
    return bounds[0] + (bounds[1] - bounds[0]) * u


def _place(glyph: Image.Image, p: dict[str, float], size: int) -> Image.Image:
    """The glyph's coverage on a size x size canvas: scaled, stretched, rotated, shifted, maybe bolder."""
    canvas = SUPERSAMPLE * size
    fill = _uniform(FILL, p["fill"])
    stretch = ASPECT ** (2 * p["aspect"] - 1)
    w, h = glyph.size
    scale = fill * canvas / max(h, w)
    width, height = max(1, round(w * scale * np.sqrt(stretch))), max(1, round(h * scale / np.sqrt(stretch)))
    image = glyph.resize((width, height), Image.Resampling.BILINEAR)
    # Rotate about the glyph's centre and put that centre at the canvas centre plus a shift that
    # keeps the glyph (about) inside; PIL's affine maps output to input coordinates.
    angle = np.deg2rad(ROTATION_DEG * (2 * p["rotation"] - 1))
    cos, sin = np.cos(angle), np.sin(angle)
    room = max(0.0, (1 - fill) / 2) * canvas
    cx, cy = canvas / 2 + room * (2 * p["dx"] - 1), canvas / 2 + room * (2 * p["dy"] - 1)
    gx, gy = width / 2, height / 2
    coeffs = (cos, sin, gx - cos * cx - sin * cy, -sin, cos, gy + sin * cx - cos * cy)
    image = image.transform((canvas, canvas), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR)
    if p["bold"] < BOLD_P:
        image = image.filter(ImageFilter.MaxFilter(3))
    return image.reduce(SUPERSAMPLE)


def _shade(coverage: np.ndarray, draws: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Coverage (n, S, S) in [0, 1] -> uint8 grey images: ink on paper plus pixel noise."""
    col = lambda name: draws[:, FIELDS.index(name), None, None]  # noqa: E731
    paper, ink, sigma = _uniform(PAPER, col("paper")), _uniform(INK, col("ink")), _uniform(NOISE, col("noise"))
    pixels = paper + (ink - paper) * coverage + sigma * noise
    return np.clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8)


@register_source("glyphs")
def load_glyphs(config: DataConfig) -> Splits:
    """Render data.num_classes glyph classes, then split them by counts with numpy_rng(config.seed, "split")."""
    classes = choose_classes(glyph_catalogue(config.path), config.num_classes, config.seed)
    images = render_glyphs(classes, config.images_per_class, config.image_size, config.seed)
    return split_imageset(images, split_specs(config), config.seed, "glyph data")
