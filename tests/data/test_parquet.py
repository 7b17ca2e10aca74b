"""The Parquet source (gtl_ray.data.parquet)."""

from __future__ import annotations

import io
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from gtl_ray import storage
from gtl_ray.config import DataConfig, SplitsConfig
from gtl_ray.data import load_splits
from gtl_ray.errors import DataError

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
