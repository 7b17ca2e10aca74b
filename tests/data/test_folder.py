"""The image-folder source (gtl_ray.data.folder)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from gtl_ray.config import DataConfig, SplitsConfig
from gtl_ray.data import load_splits
from gtl_ray.errors import DataError

# ---------------------------------------------------------------- image folders


def write_tree(root: Path, classes: list[str], per_class: int = 2) -> Path:
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            ext = "png" if i % 2 == 0 else "jpg"
            Image.new("RGB", (10, 7), (20 * c, 5, 5)).save(root / name / f"{i}.{ext}")
    return root


def test_folder_count_split(tmp_path):
    root = write_tree(tmp_path / "data", ["a", "b", "c", "d", "e", "f"])
    (root / "a" / "notes.txt").write_text("ignored")
    config = DataConfig(format="folder", path=str(root), image_size=8, splits=SplitsConfig(base=3, val=1, novel=2))
    splits = load_splits(config)
    names = splits.base.class_names + splits.val.class_names + splits.novel.class_names
    assert sorted(names) == ["a", "b", "c", "d", "e", "f"]
    assert load_splits(config).base.class_names == splits.base.class_names  # seeded
    assert splits.base.images.shape == (6, 3, 8, 8)
    for part in (splits.base, splits.novel):  # class k's images have red = 20 * k (give or take JPEG)
        from_pixels = ["abcdef"[round(red / 20)] for red in part.images[:, 0, 4, 4].tolist()]
        assert [part.class_names[y] for y in part.labels.tolist()] == from_pixels


def test_folder_name_lists_and_sub_paths(tmp_path):
    root = write_tree(tmp_path / "data", ["a", "b", "c", "d"])
    splits = load_splits(
        DataConfig(format="folder", path=str(root), image_size=8, splits=SplitsConfig(base=["d", "a"], val=0, novel=2))
    )
    assert splits.base.class_names == ("d", "a") and sorted(splits.novel.class_names) == ["b", "c"]
    with pytest.raises(DataError, match=r"classes \['zebra'\] not found"):
        load_splits(
            DataConfig(format="folder", path=str(root), splits=SplitsConfig(base=["a", "zebra"], val=0, novel=2))
        )
    write_tree(tmp_path / "mini" / "train", ["t1", "t2"])
    write_tree(tmp_path / "mini" / "test", ["n1", "n2", "n3"])
    mini = DataConfig(
        format="folder",
        path=str(tmp_path / "mini"),
        image_size=8,
        splits=SplitsConfig(base="train", val=0, novel="test"),
    )
    splits = load_splits(mini)
    assert splits.base.class_names == ("t1", "t2") and splits.novel.class_names == ("n1", "n2", "n3")


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="nowhere.*not found"):
        load_splits(DataConfig(format="folder", path=str(tmp_path / "nowhere")))
    root = write_tree(tmp_path / "data", ["a", "b", "c"])
    with pytest.raises(DataError, match=r"base=2, val=1, novel=2 need 5 classes but image folder .* has only 3"):
        load_splits(DataConfig(format="folder", path=str(root), splits=SplitsConfig(base=2, val=1, novel=2)))
    (root / "b" / "1.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=r"cannot decode image .*b/1.jpg"):
        load_splits(DataConfig(format="folder", path=str(root), splits=SplitsConfig(base=2, val=0, novel=1)))
    (root / "empty").mkdir()
    with pytest.raises(DataError, match="class folder .*empty' has no images"):
        load_splits(
            DataConfig(format="folder", path=str(root), splits=SplitsConfig(base=["empty"], val=0, novel=["a"]))
        )
    with pytest.raises(DataError, match="missing.*not found"):
        load_splits(DataConfig(format="folder", path=str(root), splits=SplitsConfig(base="missing", val=0, novel="a")))
