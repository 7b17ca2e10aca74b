"""The CIFAR-100 binary source (gtl_ray.data.cifar)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from gtl_ray.config import DataConfig, SplitsConfig
from gtl_ray.data import load_splits
from gtl_ray.data.splits import read_class_list
from gtl_ray.errors import DataError

# ---------------------------------------------------------------- CIFAR-100 binary

FS_TRAIN, FS_VAL, FS_TEST = (read_class_list(f"cifar_fs_{s}") for s in ("train", "val", "test"))
FINE_NAMES = sorted(FS_TRAIN + FS_VAL + FS_TEST)  # CIFAR-100 fine labels are in alphabetical order


def cifar_records(per_class: int, seed: int) -> bytes:
    """Records whose R plane holds the fine label and G plane the record's index within its file."""
    rows = []
    for fine in range(100):
        for k in range(per_class):
            pixels = np.zeros((3, 32, 32), np.uint8)
            pixels[0], pixels[1], pixels[2] = fine, k + seed, 7
            rows.append(bytes([fine // 5, fine]) + pixels.tobytes())
    return b"".join(rows)


def cifar_files() -> dict[str, bytes]:
    return {
        "train.bin": cifar_records(2, seed=0),
        "test.bin": cifar_records(1, seed=100),
        "fine_label_names.txt": "".join(n + "\n" for n in FINE_NAMES).encode(),
    }


def write_cifar_folder(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir()
    for name, data in files.items():
        (root / name).write_bytes(data)
    return root


def write_cifar_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"cifar-100-binary/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("layout", ["tar", "folder"])
def test_cifar_fs_split(tmp_path, layout):
    files = cifar_files()
    path = (
        write_cifar_tar(tmp_path / "c.tar.gz", files) if layout == "tar" else write_cifar_folder(tmp_path / "c", files)
    )
    splits = load_splits(DataConfig(format="cifar100", path=str(path)))
    assert splits.base.class_names == tuple(FS_TRAIN) and splits.novel.class_names == tuple(FS_TEST)
    assert splits.val.class_names == tuple(FS_VAL)
    assert len(splits.base) == 64 * 3 and splits.base.images.shape[1:] == (3, 32, 32)
    for part in (splits.base, splits.val, splits.novel):
        fine = part.images[:, 0, 0, 0].long()
        assert [FINE_NAMES[f] for f in fine.tolist()] == [part.class_names[y] for y in part.labels.tolist()]
        assert part.images[:, 2].eq(7).all()
    # train.bin then test.bin for each class: G plane 0, 1, then 100.
    assert splits.novel.images[splits.novel.labels == 0][:, 1, 0, 0].tolist() == [0, 1, 100]


def test_cifar_resize_counts_and_names(tmp_path):
    path = write_cifar_folder(tmp_path / "c", cifar_files())
    config = DataConfig(
        format="cifar100", path=str(path), image_size=16, splits=SplitsConfig(base=10, val=0, novel=["rose", "worm"])
    )
    splits = load_splits(config)
    assert splits.base.images.shape == (30, 3, 16, 16) and splits.val is None
    assert set(splits.base.class_names) <= set(FS_TRAIN) and splits.base.num_classes == 10
    assert splits.novel.class_names == ("rose", "worm")
    assert splits.novel.images[:, 0].eq(FINE_NAMES.index("rose")).sum() == 3 * 16 * 16


def test_cifar_errors(tmp_path):
    def load(path, **splits):
        return load_splits(DataConfig(format="cifar100", path=str(path), splits=SplitsConfig(**splits)))

    with pytest.raises(DataError, match="nowhere"):
        load(tmp_path / "nowhere")
    files = cifar_files()
    partial = write_cifar_folder(tmp_path / "partial", {k: v for k, v in files.items() if k != "test.bin"})
    with pytest.raises(DataError, match="has no test.bin"):
        load(partial)
    broken = write_cifar_folder(tmp_path / "broken", {**files, "train.bin": files["train.bin"][:-10]})
    with pytest.raises(DataError, match="train.bin.*not a whole number"):
        load(broken)
    tar = write_cifar_tar(tmp_path / "wrong.tar.gz", {"readme.txt": b"x"})
    with pytest.raises(DataError, match="has no train.bin, test.bin, fine_label_names.txt"):
        load(tar)
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="cannot read CIFAR-100 archive"):
        load(tmp_path / "junk.tar.gz")
    good = write_cifar_folder(tmp_path / "good", files)
    with pytest.raises(DataError, match=r"\['unicorn'\] are not CIFAR-100 fine labels"):
        load(good, novel=["rose", "unicorn"])
    with pytest.raises(DataError, match="65 classes asked but the CIFAR-FS base split has 64"):
        load(good, base=65)
    with pytest.raises(DataError, match="'rose' is also in split 'base'"):
        load(good, base=["rose", "worm"], novel=["rose"])
