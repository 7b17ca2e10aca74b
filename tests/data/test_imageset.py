"""Hostile data files: a CIFAR archive bomb, images whose header declares a huge size, FIFOs and
oversized files among the data, Parquet declaring more than it holds — each refused with a
DataError naming the file (exit 2 before Ray starts through the CLI)."""

from __future__ import annotations

import gzip
import io
import os
import struct
import tarfile
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from gtl_ray.config import DataConfig, SplitsConfig
from gtl_ray.data import load_splits
from gtl_ray.data.imageset import decode_image, decode_many
from gtl_ray.errors import DataError
from tests.end_to_end.test_bad_input import assert_refused, nothing_written, run_cli
from tests.helpers import write_config


def png_declaring(width: int, height: int) -> bytes:
    """A 2x2 PNG whose IHDR chunk claims width x height (CRC fixed, so only the size lies)."""
    out = io.BytesIO()
    Image.new("RGB", (2, 2)).save(out, format="PNG")
    data = bytearray(out.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize(
    "size,message", [((8000, 8000), "header declares 8000x8000 pixels"), ((100_000, 100_000), "cannot decode image")]
)
def test_an_image_declaring_a_huge_size_is_refused_before_decoding(size, message):
    with pytest.raises(DataError, match=message) as info:
        decode_image(png_declaring(*size), 32, "folder/cat/huge.png")
    assert "folder/cat/huge.png" in str(info.value)


def test_only_plain_image_formats_are_decoded():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(DataError, match="cannot decode image x.eps"):
        decode_image(eps, 32, "x.eps")


def test_decoded_size_is_bounded(monkeypatch):
    monkeypatch.setenv("GTL_RAY_MAX_DECODED_BYTES", "1000000")
    with pytest.raises(DataError, match="data.image_size"):
        decode_many(1000, lambda i: b"", lambda i: str(i), 84)


def cifar_bomb(path: Path, inflated: int) -> Path:
    """A .tar.gz whose train.bin is `inflated` zero bytes (compresses ~1000x)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo("cifar-100-binary/train.bin")
        info.size = inflated
        archive.addfile(info, io.BytesIO(bytes(inflated)))
    path.write_bytes(gzip.compress(raw.getvalue()))
    return path


def test_cifar_archive_bomb_is_refused(capsys, tmp_path, monkeypatch):
    bomb = cifar_bomb(tmp_path / "cifar-100-binary.tar.gz", 20_000_000)
    assert bomb.stat().st_size < 100_000
    monkeypatch.setenv("GTL_RAY_MAX_UNPACKED_BYTES", "5000000")
    with pytest.raises(DataError, match="inflates to more than 5000000 bytes"):
        load_splits(DataConfig(format="cifar100", path=str(bomb)))
    config = write_config(tmp_path / "c.yaml", tmp_path / "runs", "bomb")
    args = [
        "--set",
        "data.format=cifar100",
        "--set",
        f"data.path={bomb}",
        "--set",
        "data.splits={base: 20, val: 0, novel: 10}",
    ]
    assert_refused(*run_cli(capsys, "evolve", config, *args), "cifar-100-binary.tar.gz", "inflates")
    assert nothing_written(tmp_path / "runs")


def test_cifar_ratio_limit_applies_beyond_the_free_allowance(tmp_path, monkeypatch):
    from gtl_ray import formats

    monkeypatch.setattr(formats, "INFLATE_FREE", 1_000_000)
    with pytest.raises(DataError, match="inflates to more than"):
        load_splits(DataConfig(format="cifar100", path=str(cifar_bomb(tmp_path / "c.tar.gz", 5_000_000))))


def test_cifar_files_that_are_fifos_or_not_utf8(tmp_path):
    folder = tmp_path / "cifar"
    folder.mkdir()
    for name in ("train.bin", "test.bin"):
        (folder / name).write_bytes(bytes(3074))
    os.mkfifo(folder / "fine_label_names.txt")
    with pytest.raises(DataError, match="fine_label_names.txt: a FIFO"):
        load_splits(DataConfig(format="cifar100", path=str(folder)))
    (folder / "fine_label_names.txt").unlink()
    (folder / "fine_label_names.txt").write_bytes(b"\xff\xfe\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_splits(DataConfig(format="cifar100", path=str(folder)))


def image_folder(root: Path, classes: int = 4, per_class: int = 2) -> Path:
    rng = np.random.default_rng(0)
    for c in range(classes):
        (root / f"c{c}").mkdir(parents=True)
        for i in range(per_class):
            out = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(out, format="PNG")
            (root / f"c{c}" / f"{i}.png").write_bytes(out.getvalue())
    return root


def folder_config(root: Path) -> DataConfig:
    return DataConfig(format="folder", path=str(root), image_size=8, splits=SplitsConfig(base=2, val=0, novel=2))


def test_image_folder_with_a_fifo_an_oversized_or_a_huge_image(tmp_path, monkeypatch):
    root = image_folder(tmp_path / "images")
    os.mkfifo(root / "c1" / "trap.png")
    with pytest.raises(DataError, match="trap.png.*FIFO"):
        load_splits(folder_config(root))
    (root / "c1" / "trap.png").unlink()
    (root / "c2" / "huge.png").write_bytes(png_declaring(8000, 8000))
    with pytest.raises(DataError, match="huge.png.*8000x8000"):
        load_splits(folder_config(root))
    monkeypatch.setenv("GTL_RAY_MAX_IMAGE_BYTES", "10")
    with pytest.raises(DataError, match="limit for image files"):
        load_splits(folder_config(root))


def test_parquet_fifo_and_declared_size(tmp_path, monkeypatch):
    images = [png_declaring(2, 2)] * 4
    pq.write_table(pa.table({"image": images, "label": [0, 0, 1, 1]}), tmp_path / "base.parquet")
    pq.write_table(pa.table({"image": images, "label": [2, 2, 3, 3]}), tmp_path / "novel.parquet")
    config = DataConfig(
        format="parquet",
        path=str(tmp_path),
        image_size=8,
        splits=SplitsConfig(base="base.parquet", val=0, novel="fifo.parquet"),
    )
    os.mkfifo(tmp_path / "fifo.parquet")
    with pytest.raises(DataError, match="fifo.parquet.*neither a file nor a folder"):
        load_splits(config)
    (tmp_path / "fifo.parquet").unlink()
    (tmp_path / "fifo.parquet").symlink_to("/dev/zero")
    with pytest.raises(DataError, match="fifo.parquet"):
        load_splits(config)
    config = DataConfig(
        format="parquet",
        path=str(tmp_path),
        image_size=8,
        splits=SplitsConfig(base="base.parquet", val=0, novel="novel.parquet"),
    )
    assert len(load_splits(config).base) == 4
    monkeypatch.setenv("GTL_RAY_MAX_DATA_BYTES", str((tmp_path / "base.parquet").stat().st_size + 1))
    monkeypatch.setattr(pq.ParquetFile, "metadata", property(lambda self: _Declares(10**13)))
    with pytest.raises(DataError, match="declares 10000000000000 bytes uncompressed"):
        load_splits(config)


class _Declares:
    """Parquet metadata that declares `size` bytes in one row group."""

    def __init__(self, size: int):
        self.num_row_groups = 1
        self._size = size

    def row_group(self, i: int):
        return type("RowGroup", (), {"total_byte_size": self._size})()
