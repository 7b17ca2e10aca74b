"""Which Unicode characters are the classes of the `glyphs` data set (`gtl_ray.data.glyphs`).

Classes are the characters that
- are letters, digits, punctuation or symbols (no spaces, controls, combining marks, private use),
  equal to their own NFKD form (no precomposed accented letters, ligatures, super/subscripts:
  each repeats another class's shape plus a mark) and outside the Braille, box-drawing and
  block-element blocks (dot and line patterns every font draws alike);
- are drawn, with ink, by at least MIN_FONTS font files (every file, when there are fewer), per a
  cmap entry `fonts.trusted_code_points` believes;
- do not look like an earlier character (by code point): two characters look alike when their
  renders, scaled to fill a square, differ by less than LOOKALIKE_DIFF (mean absolute difference
  of coverage), as they are or one of them mirrored left-right (training flips images at random,
  so a mirror pair would be one class), in LOOKALIKE_FONTS fonts or LOOKALIKE_SHARE of the fonts
  that draw both, whichever is more. One design drawing two characters alike is enough.
  This removes Greek Alpha and Cyrillic A beside Latin A, omicron beside o, d beside b, l beside I...
The analysis is cached in memory per process.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from gtl_ray.data.fonts import fit_square, font_files, load_font, render_glyph, stack, trusted_code_points
from gtl_ray.errors import DataError
from gtl_ray.seeding import numpy_rng

logger = logging.getLogger(__name__)

MIN_FONTS = 8  #: font files that must draw a character for it to be a class (all files, if fewer)
CATEGORIES = ("L", "N", "P", "S")  #: Unicode major categories kept: letters, numbers, punctuation, symbols
EXCLUDED_BLOCKS = ((0x2500, 0x259F), (0x2800, 0x28FF))  #: box drawing + block elements, Braille patterns
DESCRIPTOR_FONT_SIZE = 40  #: pixels per em of the renders compared for look-alikes
DESCRIPTOR_SIZE = 32  #: side of the square those renders are scaled into
LOOKALIKE_DIFF = 0.03  #: mean absolute coverage difference (0..1) below which two renders look alike
LOOKALIKE_FONTS = 2  #: fonts in which two characters must look alike to count as look-alikes ...
LOOKALIKE_SHARE = 0.10  #: ... or this share of the fonts that draw both, if more (but never more than all)


@dataclass(frozen=True)
class GlyphClass:
    """One character and the font files that draw it (sorted by path)."""

    code_point: int
    fonts: tuple[Path, ...]

    @property
    def char(self) -> str:
        return chr(self.code_point)

    @property
    def name(self) -> str:
        """Class name, e.g. "U+0041 A"."""
        return f"U+{self.code_point:04X} {self.char}"


@dataclass(frozen=True)
class GlyphCatalogue:
    """Every class a set of fonts yields, with what was left out and why.

    Args:
        classes: the classes, by code point.
        fonts: the font files read.
        min_fonts: font files each class is drawn by, at least.
        lookalikes: dropped code point -> the earlier kept code point it looks like.
    """

    classes: tuple[GlyphClass, ...]
    fonts: tuple[Path, ...]
    min_fonts: int
    lookalikes: dict[int, int]


def eligible(code_point: int) -> bool:
    """Whether a character may be a class at all, before looking at any font."""
    char = chr(code_point)
    if any(lo <= code_point <= hi for lo, hi in EXCLUDED_BLOCKS):
        return False
    return unicodedata.category(char)[0] in CATEGORIES and unicodedata.normalize("NFKD", char) == char


def glyph_catalogue(path: str | None) -> GlyphCatalogue:
    """The classes the fonts under `path` (None: matplotlib's) yield; analysed once per process
    for the same files (same paths, sizes and modification times)."""
    files = font_files(path)
    key = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    return _catalogue(key)


@lru_cache(maxsize=4)
def _catalogue(key: tuple[tuple[str, int, int], ...]) -> GlyphCatalogue:
    start = time.perf_counter()
    files = tuple(Path(name) for name, _, _ in key)
    min_fonts = min(MIN_FONTS, len(files))
    drawn_by: dict[int, list[int]] = defaultdict(list)  # code point -> font indices (cmap)
    for index, file in enumerate(files):
        for code in trusted_code_points(file):
            if eligible(code):
                drawn_by[code].append(index)
    candidates = sorted(c for c, fonts in drawn_by.items() if len(fonts) >= min_fonts)

    # Render every candidate in every font that claims it: empty renders drop out, the rest are
    # the descriptors the look-alike test compares.
    per_font: dict[int, list[int]] = defaultdict(list)
    for code in candidates:
        for index in drawn_by[code]:
            per_font[index].append(code)
    inked: dict[int, list[int]] = defaultdict(list)
    descriptors: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for index, codes in sorted(per_font.items()):
        font = load_font(files[index], DESCRIPTOR_FONT_SIZE)
        kept, renders = [], []
        for code in codes:
            glyph = render_glyph(font, chr(code))
            if glyph is not None:
                kept.append(code)
                renders.append(fit_square(glyph, DESCRIPTOR_SIZE))
                inked[code].append(index)
        if kept:
            descriptors[index] = (np.asarray(kept), stack(renders).astype(np.float32) / 255.0)
    covered = [c for c in candidates if len(inked[c]) >= min_fonts]
    lookalikes = _lookalikes(covered, inked, descriptors)
    classes = tuple(
        GlyphClass(code, tuple(files[i] for i in sorted(inked[code]))) for code in covered if code not in lookalikes
    )
    logger.info(
        "glyphs: %d font files, %d characters in >= %d fonts, %d with ink, %d look-alikes dropped -> %d classes "
        "(%.1f s)",
        len(files),
        len(candidates),
        min_fonts,
        len(covered),
        len(lookalikes),
        len(classes),
        time.perf_counter() - start,
    )
    return GlyphCatalogue(classes=classes, fonts=files, min_fonts=min_fonts, lookalikes=lookalikes)


def _lookalikes(
    codes: list[int], fonts_of: dict[int, list[int]], descriptors: dict[int, tuple[np.ndarray, np.ndarray]]
) -> dict[int, int]:
    """Greedy by code point: a character is dropped when it looks like an earlier kept one."""
    wanted = set(codes)
    near: Counter[tuple[int, int]] = Counter()
    for codes_f, renders in descriptors.values():
        mask = np.fromiter((c in wanted for c in codes_f), bool, len(codes_f))
        codes_f, renders = codes_f[mask], renders[mask]
        for i, j in _near_pairs(renders):
            a, b = int(codes_f[i]), int(codes_f[j])
            near[(min(a, b), max(a, b))] += 1
    bits = {c: sum(1 << i for i in fonts_of[c]) for c in codes}
    partners: dict[int, list[int]] = defaultdict(list)
    for (a, b), count in near.items():
        shared = (bits[a] & bits[b]).bit_count()
        if count >= min(shared, max(LOOKALIKE_FONTS, LOOKALIKE_SHARE * shared)):
            partners[b].append(a)
    dropped: dict[int, int] = {}
    for code in codes:
        earlier = sorted(a for a in partners.get(code, ()) if a not in dropped)
        if earlier:
            dropped[code] = earlier[0]
    return dropped


def _near_pairs(renders: np.ndarray, rows: int = 256) -> list[tuple[int, int]]:
    """Index pairs i < j of renders (n, D, D) in [0, 1] that differ by < LOOKALIKE_DIFF (mean
    absolute difference), as they are or with j mirrored.

    Pruned exactly, cheapest test first, with lower bounds of that difference: the difference of
    the mean inks (so only a band of the renders sorted by ink is compared), the squared L2 of
    4x4 block means (a matrix product; every difference lies in [-1, 1]), their mean absolute
    difference.
    """
    n, size, _ = renders.shape
    order = np.argsort(renders.reshape(n, -1).mean(1), kind="stable")
    renders = renders[order]
    ink = renders.reshape(n, -1).mean(1)
    fine = {False: renders.reshape(n, -1), True: np.ascontiguousarray(renders[:, :, ::-1]).reshape(n, -1)}
    coarse = {m: x.reshape(n, size // 4, 4, size // 4, 4).mean(axis=(2, 4)).reshape(n, -1) for m, x in fine.items()}
    limit = LOOKALIKE_DIFF * coarse[False].shape[1]
    pairs: set[tuple[int, int]] = set()
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        c1 = int(np.searchsorted(ink, ink[r1 - 1] + LOOKALIKE_DIFF, side="left"))
        a_rows = coarse[False][r0:r1]
        for mirrored in (False, True):
            b_rows = coarse[mirrored][r0:c1]
            l2 = a_rows @ b_rows.T
            l2 *= -2
            l2 += (a_rows * a_rows).sum(1)[:, None]
            l2 += (b_rows * b_rows).sum(1)[None, :]
            a, b = np.nonzero(l2 < limit)
            a, b = a + r0, b + r0
            a, b = a[a < b], b[a < b]
            close = np.abs(coarse[False][a] - coarse[mirrored][b]).sum(1) < limit
            a, b = a[close], b[close]
            same = np.abs(fine[False][a] - fine[mirrored][b]).mean(1) < LOOKALIKE_DIFF
            pairs.update((min(i, j), max(i, j)) for i, j in zip(order[a[same]].tolist(), order[b[same]].tolist()))
    return sorted(pairs)


def choose_classes(catalogue: GlyphCatalogue, num_classes: int, seed: int) -> list[GlyphClass]:
    """`num_classes` classes, a seeded prefix of a permutation (so the first k are the same whatever
    num_classes is), ordered by code point."""
    available = len(catalogue.classes)
    if not 1 <= num_classes <= available:
        where = str(catalogue.fonts[0].parent) if catalogue.fonts else "?"
        raise DataError(
            f"data.num_classes: {num_classes} asked, but the {len(catalogue.fonts)} font files in {where!r} draw "
            f"1..{available} glyph classes (characters in >= {catalogue.min_fonts} fonts, look-alikes removed)"
        )
    picked = numpy_rng(seed, "glyph-classes").permutation(available)[:num_classes]
    return [catalogue.classes[i] for i in sorted(picked)]
