"""CIFAR-100 binary, Parquet and image-folder sources (gtl_ray.data.cifar / parquet / folder)."""

from __future__ import annotations

import io
import tarfile
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from gtl_ray import storage
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


# ---------------------------------------------------------------- Parquet


def png(colour: tuple[int, int, int], size: int = 6, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (size, size), colour if mode == "RGB" else colour[0]).save(buffer, format="PNG")
    return buffer.getvalue()


def image_table(labels: list, layout: str) -> pa.Table:
    blobs = [png((10 * i, 0, 0)) for i in range(len(labels))]
    if layout == "struct":
        images = pa.array([{"bytes": b, "path": f"{i}.png"} for i, b in enumerate(blobs)])
    else:
        images = pa.array(blobs, type=pa.binary())
    return pa.table({"image": images, "label": labels, "extra": list(range(len(labels)))})


@pytest.mark.parametrize("layout", ["struct", "binary"])
def test_parquet_single_files(tmp_path, layout):
    pq.write_table(image_table([3, 1, 3, 1, 2], layout), tmp_path / "train.parquet")
    pq.write_table(image_table(["cat", "dog", "cat"], layout), tmp_path / "test.parquet")
    config = DataConfig(
        format="parquet",
        image_size=8,
        splits=SplitsConfig(base=str(tmp_path / "train.parquet"), val=0, novel=str(tmp_path / "test.parquet")),
    )
    splits = load_splits(config)
    assert splits.base.class_names == ("1", "2", "3") and splits.base.labels.tolist() == [2, 0, 2, 0, 1]
    assert splits.novel.class_names == ("cat", "dog") and splits.novel.labels.tolist() == [0, 1, 0]
    assert splits.val is None and splits.base.images.shape == (5, 3, 8, 8)
    assert splits.base.images[:, 0, 4, 4].tolist() == [0, 10, 20, 30, 40] and splits.base.images[:, 1:].eq(0).all()


def test_parquet_shards_relative_paths_and_grey_images(tmp_path):
    (tmp_path / "base").mkdir()
    pq.write_table(image_table([0, 1], "struct"), tmp_path / "base" / "part-0.parquet")
    pq.write_table(image_table([2, 0], "struct"), tmp_path / "base" / "part-1.parquet")
    grey = pa.table({"img": pa.array([png((200, 0, 0), mode="L")] * 2), "y": ["a", "b"]})
    pq.write_table(grey, tmp_path / "novel.parquet")
    splits = load_splits(
        DataConfig(
            format="parquet",
            path=str(tmp_path),
            image_size=6,
            splits=SplitsConfig(base="base", val=0, novel="base/part-1.parquet"),
        )
    )
    assert splits.base.labels.tolist() == [0, 1, 2, 0] and len(splits.novel) == 2
    grey_splits = load_splits(
        DataConfig(
            format="parquet",
            image_size=6,
            image_column="img",
            label_column="y",
            splits=SplitsConfig(base=str(tmp_path / "novel.parquet"), val=0, novel=str(tmp_path / "novel.parquet")),
        )
    )
    assert grey_splits.base.images.eq(200).all()  # grey repeated to 3 channels


def test_parquet_through_mock_uri():
    root = f"mock://gtl-test-{uuid.uuid4().hex}"
    fs, path = storage.resolve(root)
    fs.create_dir(f"{path}/train", recursive=True)
    pq.write_table(image_table([0, 1, 1], "binary"), f"{path}/train/0.parquet", filesystem=fs)
    pq.write_table(image_table([2], "binary"), f"{path}/train/1.parquet", filesystem=fs)
    pq.write_table(image_table(["x", "y"], "struct"), f"{path}/test.parquet", filesystem=fs)
    config = DataConfig(
        format="parquet", image_size=6, splits=SplitsConfig(base=f"{root}/train", val=0, novel=f"{root}/test.parquet")
    )
    splits = load_splits(config)
    assert splits.base.class_names == ("0", "1", "2") and len(splits.base) == 4
    assert splits.novel.class_names == ("x", "y")


def test_parquet_errors(tmp_path):
    def load(base, novel=None):
        novel = novel or base
        return load_splits(
            DataConfig(format="parquet", image_size=6, splits=SplitsConfig(base=str(base), val=0, novel=str(novel)))
        )

    good = tmp_path / "good.parquet"
    pq.write_table(image_table([0, 1], "struct"), good)
    with pytest.raises(DataError, match="missing.parquet.*not found"):
        load(tmp_path / "missing.parquet")
    pq.write_table(pa.table({"picture": [png((1, 2, 3))], "label": [0]}), tmp_path / "nocol.parquet")
    with pytest.raises(DataError, match=r"nocol.parquet: no column 'image' \(columns: \['picture', 'label'\]\)"):
        load(tmp_path / "nocol.parquet")
    pq.write_table(pa.table({"image": [png((1, 2, 3)), b"garbage"], "label": [0, 1]}), tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=r"cannot decode image Parquet file .*bad.parquet row 1"):
        load(good, tmp_path / "bad.parquet")
    pq.write_table(
        pa.table({"image": pa.array([], pa.binary()), "label": pa.array([], pa.int64())}), tmp_path / "empty.parquet"
    )
    with pytest.raises(DataError, match=r"empty.parquet' is empty \(0 rows\)"):
        load(good, tmp_path / "empty.parquet")
    (tmp_path / "nofiles").mkdir()
    with pytest.raises(DataError, match="no .parquet files in folder"):
        load(tmp_path / "nofiles")
    pq.write_table(pa.table({"image": [png((1, 2, 3))], "label": [0.5]}), tmp_path / "float.parquet")
    with pytest.raises(DataError, match="label column 'label' has type double"):
        load(tmp_path / "float.parquet")
    pq.write_table(pa.table({"image": [png((1, 2, 3)), None], "label": [0, 1]}), tmp_path / "null.parquet")
    with pytest.raises(DataError, match="image is null in .*null.parquet row 1"):
        load(tmp_path / "null.parquet")
    (tmp_path / "notparquet.parquet").write_bytes(b"hello")
    with pytest.raises(DataError, match="cannot read Parquet file .*notparquet.parquet"):
        load(tmp_path / "notparquet.parquet")


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


def test_unknown_format_lists_known_ones():
    config = DataConfig(format="tfrecord")
    with pytest.raises(DataError, match="cifar100, folder, glyphs, parquet, procedural"):
        load_splits(config)


# ---------------------------------------------------------------- no val split, per-split label spaces


def test_val_null_in_the_config_for_parquet_and_folder(tmp_path, caplog):
    from gtl_ray.preflight import load_config

    pq.write_table(image_table([0, 1, 0], "binary"), tmp_path / "train.parquet")
    pq.write_table(image_table([1, 0], "binary"), tmp_path / "test.parquet")  # labels restart at 0: its own label space
    parquet = load_config(
        None,
        [
            "data.format=parquet",
            f"data.path={tmp_path}",
            "data.image_size=32",
            "lifetime.n_way=2",
            "evaluation.n_way=2",
            "data.splits={base: train.parquet, val: null, novel: test.parquet}",
        ],
    )
    assert parquet.data.splits.val is None
    with caplog.at_level("WARNING", logger="gtl_ray.data.splits"):
        splits = load_splits(parquet.data)
    assert splits.val is None and splits.base.class_names == splits.novel.class_names == ("0", "1")
    assert "share class names" not in caplog.text  # int labels are per-split ids, not names
    write_tree(tmp_path / "tree" / "train", ["a", "b"])
    write_tree(tmp_path / "tree" / "test", ["c", "d"])
    folder = load_config(
        None,
        [
            "data.format=folder",
            f"data.path={tmp_path / 'tree'}",
            "data.image_size=32",
            "lifetime.n_way=2",
            "evaluation.n_way=2",
            "data.splits={base: train, val: null, novel: test}",
        ],
    )
    splits = load_splits(folder.data)
    assert splits.val is None and splits.novel.class_names == ("c", "d")
    write_tree(tmp_path / "flat", ["a", "b", "c", "d"])
    counts = load_config(
        None,
        [
            "data.format=folder",
            f"data.path={tmp_path / 'flat'}",
            "data.image_size=32",
            "lifetime.n_way=2",
            "evaluation.n_way=2",
            "data.splits={base: 2, val: null, novel: 2}",
        ],
    )
    assert load_splits(counts.data).val is None
    assert load_config(None, ["data.splits.val=null"]).data.splits.val is None  # procedural too


def test_shared_string_class_names_are_still_warned_about(tmp_path, caplog):
    pq.write_table(image_table(["cat", "dog"], "binary"), tmp_path / "train.parquet")
    pq.write_table(image_table(["cat", "7"], "binary"), tmp_path / "test.parquet")
    config = DataConfig(
        format="parquet",
        path=str(tmp_path),
        image_size=8,
        splits=SplitsConfig(base="train.parquet", val=None, novel="test.parquet"),
    )
    with caplog.at_level("WARNING", logger="gtl_ray.data.splits"):
        load_splits(config)
    assert "share class names ['cat']" in caplog.text
