"""The glyphs data source (gtl_ray.data.glyphs, gtl_ray.data.fonts): one class per Unicode
character, one image per (font file, character) render with a seeded jitter."""

from __future__ import annotations

import shutil
import unicodedata

import numpy as np
import pytest
from PIL import Image

from gtl_ray.config import DataConfig, SplitsConfig
from gtl_ray.data import load_splits
from gtl_ray.data.fonts import default_font_dir, fit_square, font_files, load_font, render_glyph, trusted_code_points
from gtl_ray.data.glyph_catalogue import (
    DESCRIPTOR_FONT_SIZE,
    DESCRIPTOR_SIZE,
    LOOKALIKE_DIFF,
    LOOKALIKE_FONTS,
    LOOKALIKE_SHARE,
    MIN_FONTS,
    choose_classes,
    glyph_catalogue,
)
from gtl_ray.data.glyphs import render_glyphs
from gtl_ray.errors import ConfigError, DataError
from gtl_ray.preflight import load_config

SMALL = dict(format="glyphs", num_classes=12, images_per_class=4, splits=SplitsConfig(base=6, val=2, novel=4))
TEX_FONTS = ("cmr10.ttf", "cmss10.ttf", "cmtt10.ttf")  #: small fonts (ASCII only): a fast user folder


@pytest.fixture(scope="module")
def catalogue():
    return glyph_catalogue(None)


@pytest.fixture()
def user_fonts(tmp_path):
    """A user font folder: three of matplotlib's fonts, one of them in a sub-folder."""
    root = tmp_path / "fonts"
    (root / "mono").mkdir(parents=True)
    shutil.copy(default_font_dir() / TEX_FONTS[0], root)
    shutil.copy(default_font_dir() / TEX_FONTS[1], root)
    shutil.copy(default_font_dir() / TEX_FONTS[2], root / "mono")
    (root / "README.txt").write_text("not a font")
    return root


def test_same_config_same_bytes_other_seed_other_bytes():
    a, b = load_splits(DataConfig(**SMALL)), load_splits(DataConfig(**SMALL))
    for part in ("base", "val", "novel"):
        assert getattr(a, part).class_names == getattr(b, part).class_names
        assert np.array_equal(getattr(a, part).images.numpy(), getattr(b, part).images.numpy())
    c = load_splits(DataConfig(**{**SMALL, "seed": 1}))
    assert a.base.class_names != c.base.class_names


def test_instances_do_not_depend_on_how_many_are_drawn(catalogue):
    classes = choose_classes(catalogue, 3, seed=0)
    few, many = render_glyphs(classes, 2, 32, seed=0), render_glyphs(classes, 5, 32, seed=0)
    assert np.array_equal(
        few.images.numpy().reshape(3, 2, 3, 32, 32), many.images.numpy().reshape(3, 5, 3, 32, 32)[:, :2]
    )
    other = render_glyphs(classes, 2, 32, seed=1)
    assert not np.array_equal(few.images.numpy(), other.images.numpy())


@pytest.mark.parametrize("size", [32, 40])
def test_shapes_dtypes_and_grey_channels(catalogue, size):
    data = render_glyphs(choose_classes(catalogue, 4, seed=0), 3, size, seed=0)
    assert data.images.dtype.is_floating_point is False and str(data.images.dtype) == "torch.uint8"
    assert tuple(data.images.shape) == (12, 3, size, size)
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert np.array_equal(data.images[:, 0].numpy(), data.images[:, 2].numpy())
    grey = data.images[:, 0].numpy().astype(int)
    assert (grey.max(axis=(1, 2)) - grey.min(axis=(1, 2)) > 80).all()  # ink shows on the paper
    for i in range(len(grey)):  # every instance differs (jitter, font)
        assert not any(np.array_equal(grey[i], grey[j]) for j in range(i))


def test_splits_are_disjoint_and_named_by_code_point():
    splits = load_splits(DataConfig(**SMALL))
    names = [set(getattr(splits, part).class_names) for part in ("base", "val", "novel")]
    assert [len(n) for n in names] == [6, 2, 4]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    for name in set.union(*names):
        code, char = name.split(" ", 1)
        assert code == f"U+{ord(char):04X}"


def test_default_fonts_yield_over_a_thousand_clean_classes(catalogue):
    assert len(catalogue.fonts) >= 30 and catalogue.min_fonts == MIN_FONTS
    assert len(catalogue.classes) > 1000
    codes = [c.code_point for c in catalogue.classes]
    assert codes == sorted(set(codes))
    for glyph_class in catalogue.classes:
        assert len(set(glyph_class.fonts)) == len(glyph_class.fonts) >= MIN_FONTS
        assert unicodedata.category(glyph_class.char)[0] in "LNPS"  # no space, control, combining mark
    kept = set(codes)
    for group in ("AΑА", "oοо", "OΟО", "BΒВ", "pρр", "bd", "()", "<>", "←→"):  # homoglyphs, mirror pairs
        assert sum(ord(c) in kept for c in group) == 1, group
    assert {ord(c) for c in "AaBb0O8&?QRg"} <= kept
    assert not {0x20, 0xA0, 0x0301, 0x00C0, 0x2800, 0x2500} & kept  # space, nbsp, combining acute, À, Braille, box


def test_every_class_font_draws_ink(catalogue):
    for glyph_class in catalogue.classes[::50]:
        for path in glyph_class.fonts:
            assert render_glyph(load_font(path, 24), glyph_class.char) is not None, (glyph_class.name, path.name)


def test_no_two_classes_look_alike(catalogue):
    """Brute force over the classes of configs/glyphs.yaml, without the search's pruning: no pair
    looks alike (as is or mirrored) in as many fonts as the rule allows."""
    data = load_config("configs/glyphs.yaml").data
    classes = choose_classes(catalogue, data.num_classes, data.seed)
    fonts = sorted({path for c in classes for path in c.fonts})
    near = np.zeros((len(classes), len(classes)), int)
    shared = np.zeros_like(near)
    for path in fonts:
        members = [k for k, c in enumerate(classes) if path in c.fonts]
        font = load_font(path, DESCRIPTOR_FONT_SIZE)
        x = np.stack(
            [
                np.asarray(fit_square(render_glyph(font, classes[k].char), DESCRIPTOR_SIZE), np.float32) / 255
                for k in members
            ]
        )
        flat, mirror = x.reshape(len(x), -1), x[:, :, ::-1].reshape(len(x), -1)
        same = np.abs(flat[:, None] - flat[None]).mean(-1) < LOOKALIKE_DIFF
        mirrored = np.abs(flat[:, None] - mirror[None]).mean(-1) < LOOKALIKE_DIFF
        idx = np.ix_(members, members)
        near[idx] += same | mirrored
        shared[idx] += 1
    need = np.minimum(shared, np.maximum(LOOKALIKE_FONTS, LOOKALIKE_SHARE * shared))
    np.fill_diagonal(near, 0)
    bad = [(classes[i].name, classes[j].name) for i, j in zip(*np.nonzero(near >= need)) if i < j]
    assert not bad


def test_user_font_folder(user_fonts):
    files = font_files(str(user_fonts))
    assert sorted(f.name for f in files) == sorted(TEX_FONTS)
    catalogue = glyph_catalogue(str(user_fonts))
    assert catalogue.min_fonts == 3 and 40 < len(catalogue.classes) < 100
    assert all(len(c.fonts) == 3 and all(user_fonts in p.parents for p in c.fonts) for c in catalogue.classes)
    splits = load_splits(
        DataConfig(
            format="glyphs",
            path=str(user_fonts),
            num_classes=20,
            images_per_class=5,
            splits=SplitsConfig(base=10, val=0, novel=10),
        )
    )
    assert splits.val is None and splits.base.num_classes == 10 and len(splits.novel) == 50
    assert all(ord(name.split(" ", 1)[1]) < 128 for name in splits.base.class_names)  # TeX fonts: ASCII only


def test_only_trusted_cmap_entries_count():
    fonts = default_font_dir()
    assert ord("!") not in trusted_code_points(fonts / "cmsy10.ttf")  # TeX symbol font: '!' is an arrow
    cmr = set(trusted_code_points(fonts / "cmr10.ttf"))
    assert ord("A") in cmr and ord("<") not in cmr and 0xA1 not in cmr  # OT1: '<' is ¡, U+00A1 is Gamma
    assert trusted_code_points(fonts / "LastResortHE-Regular.ttf") == []  # placeholder boxes
    assert {ord("A"), 0x391, 0x410} <= set(trusted_code_points(fonts / "DejaVuSans.ttf"))


def test_fit_square_centres_exactly():
    bar = Image.new("L", (4, 10), 255)  # 12.8 px wide at 32: rounding to an odd width would shift it
    square = np.asarray(fit_square(bar, 32))
    assert np.array_equal(square, square[:, ::-1]) and np.array_equal(square, square[::-1])


def test_a_glyph_without_ink_is_none():
    dejavu = default_font_dir() / "DejaVuSans.ttf"
    assert render_glyph(load_font(dejavu, 24), ".") is not None
    assert render_glyph(load_font(dejavu, 2), ".") is None  # a box, but only faint grey in it
    assert render_glyph(load_font(dejavu, 24), "\u2800") is None  # Braille blank: an empty box


def test_bad_font_folders_name_the_culprit(tmp_path, user_fonts):
    with pytest.raises(DataError, match=r"data.path: font folder '.*nowhere' not found"):
        glyph_catalogue(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"font folder '.*empty' has no font files \(.ttf, .otf\)"):
        glyph_catalogue(str(tmp_path / "empty"))
    with pytest.raises(DataError, match="local folder of .ttf/.otf files, got 's3://bucket/fonts'"):
        glyph_catalogue("s3://bucket/fonts")
    (user_fonts / "broken.otf").write_bytes(b"definitely not a font")
    with pytest.raises(DataError, match=r"cannot read font file '.*broken.otf'"):
        glyph_catalogue(str(user_fonts))


def test_too_many_classes_says_how_many_there_are(user_fonts):
    available = len(glyph_catalogue(str(user_fonts)).classes)
    config = DataConfig(
        format="glyphs", path=str(user_fonts), num_classes=500, splits=SplitsConfig(base=400, val=0, novel=100)
    )
    with pytest.raises(
        DataError, match=rf"data.num_classes: 500 asked, but the 3 font files in .* draw 1..{available} glyph classes"
    ):
        load_splits(config)
    with pytest.raises(DataError, match="data.images_per_class must be >= 1, got 0"):
        render_glyphs([], 0, 32, seed=0)


def test_config_checks():
    config = load_config("configs/glyphs.yaml")
    assert config.data.format == "glyphs" and config.data.path is None
    with pytest.raises(ConfigError, match=r"data.splits: base\+val\+novel = 130 classes but data.num_classes is 100"):
        load_config("configs/glyphs.yaml", ["data.splits.base=94"])
    with pytest.raises(ConfigError, match="data.splits: glyphs data takes class counts"):
        load_config("configs/glyphs.yaml", ["data.splits.novel=['U+0041 A', 'U+0042 B']"])
    with pytest.raises(
        ConfigError,
        match="lifetime.train_per_class: train_per_class \\+ query_per_class = 45 but data.images_per_class is 40",
    ):
        load_config("configs/glyphs.yaml", ["lifetime.train_per_class=30", "data.images_per_class=40"])
    expected = "data.format: 'glyph' is not allowed \\(did you mean glyphs\\?\\); choose one of procedural, glyphs"
    with pytest.raises(ConfigError, match=expected):
        load_config("configs/glyphs.yaml", ["data.format=glyph"])
