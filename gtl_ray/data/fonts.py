"""Font files for the `glyphs` data source: where they are, which characters each one really draws,
and how to rasterise one glyph.

A font's cmap says which glyph it draws for a code point, but not every cmap can be taken at its
word: TeX fonts re-encode ASCII slots (matplotlib's `cmsy10` draws an arrow for `!`), and fallback
fonts (`LastResortHE`) map a million code points onto a few placeholder boxes. So a cmap entry is
trusted only when its glyph name agrees with the code point (Adobe Glyph List / `uniXXXX`
names), and a glyph that serves many code points is never trusted.

Rendering uses Pillow's basic layout engine (no shaping, no dependency on libraqm), so the same
font file gives the same pixels on any machine with the same Pillow and FreeType.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gtl_ray.errors import DataError

FONT_EXTENSIONS = (".ttf", ".otf")
MAX_SHARED_GLYPH = 4  #: a glyph mapped from more code points than this is a placeholder, not a character
MIN_NAME_AGREEMENT = 0.9  #: share of decodable glyph names that must match the cmap to trust undecodable ones
INK_LEVEL = 64  #: a glyph with no pixel (0..255) this dark draws nothing


def default_font_dir() -> Path:
    """The fonts shipped inside matplotlib (DejaVu, STIX, Computer Modern), found without importing it."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "data.path: null means matplotlib's fonts, but matplotlib is not installed (pip install matplotlib)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"


def font_files(path: str | None) -> list[Path]:
    """The .ttf/.otf files under `path` (recursively; `None`: matplotlib's fonts), sorted by path."""
    if path is not None and "://" in str(path):
        raise DataError(f"data.path: data.format=glyphs reads a local folder of .ttf/.otf files, got {path!r}")
    folder = default_font_dir() if path is None else Path(path).expanduser()
    if not folder.exists():
        raise DataError(f"data.path: font folder {str(folder)!r} not found")
    if not folder.is_dir():
        raise DataError(f"data.path: {str(folder)!r} is not a folder of .ttf/.otf files")
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in FONT_EXTENSIONS and p.is_file() and not p.name.startswith(".")
    )
    if not files:
        raise DataError(f"data.path: font folder {str(folder)!r} has no font files ({', '.join(FONT_EXTENSIONS)})")
    return files


def trusted_code_points(path: Path) -> list[int]:
    """Code points whose cmap entry in the font at `path` names the glyph of that very character.

    Kept: entries whose glyph name decodes (fontTools.agl) to the code point's character; entries
    with undecodable names (`glyph123`) only when the font's decodable names agree with its cmap in
    at least MIN_NAME_AGREEMENT of cases. Dropped: glyphs shared by more than MAX_SHARED_GLYPH code
    points and format-13 (many-to-one) cmaps, both the mark of placeholder boxes.
    """
    from fontTools import agl
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            table = font["cmap"]
            table.tables = [t for t in table.tables if t.format != 13]  # many-to-one: last-resort fonts
            cmap = font.getBestCmap() or {}
    except (TTLibError, OSError, ValueError, KeyError, AssertionError, IndexError, TypeError) as exc:
        raise DataError(f"data.path: cannot read font file {str(path)!r}: {exc}") from None
    uses = Counter(cmap.values())
    agree: list[int] = []
    unnamed: list[int] = []
    disagree = 0
    for code, glyph in cmap.items():
        if uses[glyph] > MAX_SHARED_GLYPH:
            continue
        text = agl.toUnicode(glyph)
        if text == chr(code):
            agree.append(code)
        elif text:
            disagree += 1
        else:
            unnamed.append(code)
    if agree and len(agree) >= MIN_NAME_AGREEMENT * (len(agree) + disagree):
        agree.extend(unnamed)
    return sorted(agree)


def load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """The font at `path` at `size` pixels per em, with Pillow's basic (unshaped) layout."""
    try:
        return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
    except OSError as exc:
        raise DataError(f"data.path: cannot read font file {str(path)!r}: {exc}") from None


def render_glyph(font: ImageFont.FreeTypeFont, char: str) -> Image.Image | None:
    """The ink of `char` in `font`: an "L" coverage image cropped to its ink, or None if it draws nothing."""
    left, top, right, bottom = font.getbbox(char)
    if right <= left or bottom <= top:
        return None
    canvas = Image.new("L", (right - left, bottom - top))
    ImageDraw.Draw(canvas).text((-left, -top), char, fill=255, font=font)
    if canvas.getextrema()[1] < INK_LEVEL:
        return None
    return canvas.crop(canvas.getbbox())


def fit_square(glyph: Image.Image, size: int) -> Image.Image:
    """`glyph` scaled (aspect kept) so that its longer side spans `size`, centred exactly in a
    size x size square; exact centring makes a mirrored glyph compare fairly."""
    w, h = glyph.size
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    nw = min(size, nw + (size - nw) % 2)  # same parity as `size`: equal margins on both sides
    nh = min(size, nh + (size - nh) % 2)
    out = Image.new("L", (size, size))
    out.paste(glyph.resize((nw, nh), Image.Resampling.BILINEAR), ((size - nw) // 2, (size - nh) // 2))
    return out


def stack(images: list[Image.Image]) -> np.ndarray:
    """Equal-sized "L" images -> uint8 (n, h, w), converted to numpy in one go (per-image
    conversion costs more than drawing a glyph)."""
    w, h = images[0].size
    sheet = Image.new("L", (w, h * len(images)))
    for k, image in enumerate(images):
        sheet.paste(image, (0, k * h))
    return np.asarray(sheet).reshape(len(images), h, w)
